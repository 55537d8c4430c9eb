//! 征纳互动 over WebSocket (`/api/v1/interact/ws`, protocol in `docs/interaction.md`) and the
//! transcripts (`/api/v1/interactions`). The socket task only moves frames: parsing to
//! `In`, heartbeats and timeouts here; every decision is the hub's, the flood budget (per
//! person, whatever the socket) and the caps on open sockets included.

use std::time::{Duration, Instant};

use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::AggregatedMessage;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::router::Routes;
use crate::domain::Role;
use crate::error::{AppError, AppResult, Code};
use crate::http::blocking;
use crate::http::extract::{self, Acting, Session, StaffUser};
use crate::service::interact::{reports, In, Out};
use crate::service::App;

/// Largest frame a client may send (a chat message is at most a few KB; SDP a few more).
const MAX_FRAME: usize = 64 * 1024;

pub(super) fn routes(r: &mut Routes<'_>) {
    r.get("/interact/ws", ws)
        .get("/interactions", list)
        .get("/interactions/{id}", transcript);
}

#[utoipa::path(
    get,
    path = "/api/v1/interact/ws",
    tag = "interaction",
    summary = "征纳互动 WebSocket（纳税人，或征纳互动坐席/管理员；帧格式见 docs/interaction.md）",
    responses((status = 101, description = "WebSocket 已建立"))
)]
async fn ws(req: HttpRequest, body: web::Payload, app: web::Data<App>) -> AppResult<HttpResponse> {
    // A WebSocket is not covered by SameSite for every browser: the origin must be ours.
    let own = crate::http::origin::own_origin(&req);
    if let Some(origin) = req.headers().get("origin").and_then(|v| v.to_str().ok()) {
        let ws_own = own.replacen("http", "ws", 1);
        if origin != own && origin != ws_own {
            return Err(AppError::new(Code::Forbidden)
                .with_message("请求来源不是本平台，已拒绝（跨站请求）"));
        }
    }
    let session = extract::session_from(&req)?;
    let app = app.into_inner();
    if app.store.is_read_only() {
        return Err(AppError::new(Code::ReadOnly).with_message("只读副本不提供征纳互动"));
    }
    let key = crate::service::auth::session_key(&session.token);
    let subject = {
        let app = app.clone();
        blocking(move || crate::service::interact::subject_for(&app, &session.subject)).await?
    };
    let (res, session, stream) = actix_ws::handle(&req, body)
        .map_err(|e| AppError::new(Code::Malformed).with_message(e.to_string()))?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let address = extract::address_of(&req);
    let Some(conn) = app.interact.connect(subject, key, address, tx) else {
        return Err(AppError::internal("the interaction hub is not running"));
    };
    let stream = stream
        .max_frame_size(MAX_FRAME)
        .aggregate_continuations()
        .max_continuation_size(MAX_FRAME);
    actix_web::rt::spawn(pump(app, conn, session, stream, rx));
    Ok(res)
}

/// Moves frames between one socket and the hub until either side is done.
async fn pump(
    app: std::sync::Arc<App>,
    conn: u64,
    mut session: actix_ws::Session,
    mut stream: actix_ws::AggregatedMessageStream,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Out>,
) {
    let s = &app.settings.interaction;
    let mut beat = actix_web::rt::time::interval(Duration::from_secs(s.heartbeat_secs));
    let timeout = Duration::from_secs(s.client_timeout_secs);
    let mut heard = Instant::now();
    let reason = loop {
        tokio::select! {
            msg = stream.recv() => {
                heard = Instant::now();
                match msg {
                    Some(Ok(AggregatedMessage::Text(text))) => match In::parse(&text) {
                        Ok(frame) => app.interact.frame(conn, frame),
                        Err(e) => {
                            let err = json!({"t": "error", "i": null, "code": "bad_frame",
                                "message": format!("消息格式不正确：{e}"), "cid": null});
                            if session.text(err.to_string()).await.is_err() { break None; }
                        }
                    },
                    Some(Ok(AggregatedMessage::Ping(b))) => {
                        if session.pong(&b).await.is_err() { break None; }
                    }
                    Some(Ok(AggregatedMessage::Pong(_))) => {}
                    Some(Ok(AggregatedMessage::Binary(_))) => {
                        let err = json!({"t": "error", "i": null, "code": "bad_frame",
                            "message": "只接受文本消息", "cid": null});
                        if session.text(err.to_string()).await.is_err() { break None; }
                    }
                    Some(Ok(AggregatedMessage::Close(r))) => break r,
                    Some(Err(_)) | None => break None,
                }
            }
            out = rx.recv() => match out {
                Some(Out::Text(t)) => {
                    if session.text(t.to_string()).await.is_err() { break None; }
                }
                Some(Out::Close) | None => break None,
            },
            _ = beat.tick() => {
                if heard.elapsed() > timeout { break None; }
                if session.ping(b"").await.is_err() { break None; }
            }
        }
    };
    app.interact.disconnect(conn);
    let _ = session.close(reason).await;
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Interactions before this id (paging backwards).
    #[serde(default)]
    before: Option<u64>,
    /// At most this many (default 50).
    #[serde(default)]
    limit: Option<usize>,
    /// Only this agent's (admins and auditors).
    #[serde(default)]
    agent: Option<String>,
    /// Only this taxpayer's.
    #[serde(default)]
    taxpayer: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct InteractionList {
    items: Vec<reports::Summary>,
    figures: reports::Figures,
}

/// Transcripts with their figures: agents see their own, admins and auditors everyone's.
#[utoipa::path(
    get,
    path = "/api/v1/interactions",
    tag = "interaction",
    summary = "征纳互动记录与统计（等待、首次响应、服务时长、满意度；坐席只看自己接待的）",
    params(ListQuery),
    responses((status = 200, description = "征纳互动记录与统计", body = InteractionList))
)]
async fn list(a: Acting<StaffUser>, q: web::Query<ListQuery>) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    let agent = match a.user.role {
        Role::Admin | Role::Auditor => q.agent,
        Role::Agent => Some(a.user.username.clone()),
        Role::Operator => return Err(AppError::new(Code::WrongRole)),
    };
    let filter = reports::Filter {
        agent,
        taxpayer: q.taxpayer,
        closed_only: false,
        before: q.before,
        limit: q.limit.unwrap_or(50),
    };
    let items = a.run(move |app, _, _| reports::list(app, &filter)).await?;
    let figures = reports::figures(&items);
    Ok(HttpResponse::Ok().json(InteractionList { items, figures }))
}

#[derive(Serialize, ToSchema)]
struct Transcript {
    interaction: reports::Summary,
    #[schema(value_type = Vec<super::schema::ChatMessageShape>)]
    messages: Vec<serde_json::Value>,
}

/// One transcript: the owning taxpayer, the agent who served it, admins and auditors.
#[utoipa::path(
    get,
    path = "/api/v1/interactions/{id}",
    tag = "interaction",
    summary = "一次征纳互动的完整记录（本人纳税人、接待坐席、管理员、审计员）",
    params(("id" = u64, Path, description = "征纳互动编号", example = 1)),
    responses((status = 200, description = "征纳互动记录", body = Transcript))
)]
async fn transcript(
    session: Session,
    id: web::Path<u64>,
    app: web::Data<App>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let app = app.into_inner();
    let subject = session.subject.clone();
    let (rec, msgs) = blocking(move || reports::transcript_for(&app, id, &subject)).await?;
    let name = rec.taxpayer_name.clone();
    let messages: Vec<_> = msgs
        .iter()
        .map(|m| crate::service::interact::protocol::message(rec.id, m, &name))
        .collect();
    Ok(HttpResponse::Ok().json(Transcript {
        interaction: reports::Summary::of(&rec),
        messages,
    }))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(ws, list, transcript))]
pub(super) struct Doc;
