//! 征纳互动 for staff (S-I4): the agent console (queue, accept, several conversations, calls —
//! driven by `assets/console.js` over the WebSocket), the list of interactions with their
//! figures, and one transcript.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::html;
use crate::domain::interaction::Party;
use crate::domain::Role;
use crate::error::{AppError, AppResult, Code};
use crate::http::blocking;
use crate::http::extract::StaffUser;
use crate::service::interact::reports::{self, Figures, Summary};
use crate::service::App;
use crate::web::layout::{page, Page, Viewer};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/office/interact", web::get().to(console))
        .route("/office/interact/history", web::get().to(history))
        .route("/office/interact/{id}", web::get().to(transcript));
}

fn viewer(staff: &StaffUser) -> Viewer {
    Viewer::Staff {
        display_name: staff.display_name.clone(),
        role: staff.role,
    }
}

/// `1分05秒`, `2小时03分`.
pub fn secs_zh(s: Option<i64>) -> String {
    match s {
        None => "—".into(),
        Some(s) if s < 60 => format!("{s}秒"),
        Some(s) if s < 3600 => format!("{}分{:02}秒", s / 60, s % 60),
        Some(s) => format!("{}小时{:02}分", s / 3600, (s % 3600) / 60),
    }
}

fn avg_zh(s: Option<f64>) -> String {
    secs_zh(s.map(|x| x.round() as i64))
}

async fn console(app: web::Data<App>, staff: StaffUser) -> AppResult<HttpResponse> {
    if !staff.role.serves_interactions() {
        return Err(
            AppError::new(Code::WrongRole).with_message("征纳互动仅限征纳互动坐席或管理员接待")
        );
    }
    let hours = app.interact.hours().describe_zh();
    let body = html! {
        section.card {
            h1 { "征纳互动坐席" }
            p.aside { "人工服务时间：" (hours) "。保持本页打开即为在线；纳税人发起人工导税后将按先后顺序排队，点击“接入最早的纳税人”开始服务。" }
            noscript { p.notice.error { "坐席工作台需要启用 JavaScript。" } }
            div #console data-me=(staff.username) {
                section #queue-pane aria-labelledby="queue-h" {
                    h2 #queue-h { "等待接入" }
                    p #queue-count {}
                    button #accept-oldest type="button" { "接入最早的纳税人" }
                    ol #queue-list {}
                }
                section #chats-pane aria-labelledby="chats-h" {
                    h2 #chats-h { "我的会话" }
                    ul #chat-tabs role="tablist" {}
                    div #chat-panels {}
                }
                p #console-status role="status" {}
            }
        }
        script src="/assets/console.js" defer {}
    };
    Ok(html(
        StatusCode::OK,
        page(
            Page {
                title: "征纳互动坐席",
                viewer: viewer(&staff),
                active: "/office/interact",
            },
            html! { link rel="stylesheet" href="/assets/chat.css"; (body) },
        ),
    ))
}

#[derive(Debug, Deserialize)]
struct HistoryQuery {
    before: Option<u64>,
}

fn figures_view(f: &Figures) -> Markup {
    html! {
        dl.facts.figures {
            dt { "互动数" } dd { (f.interactions) }
            dt { "人工接待" } dd { (f.served) }
            dt { "平均等待时长" } dd { (avg_zh(f.avg_waiting_secs)) }
            dt { "平均首次响应时长" } dd { (avg_zh(f.avg_first_response_secs)) }
            dt { "平均服务时长" } dd { (avg_zh(f.avg_duration_secs)) }
            dt { "评价数" } dd { (f.rated) }
            dt { "平均满意度" } dd {
                @match f.avg_rating { Some(r) => { (format!("{r:.1}")) " 星" } None => { "—" } }
            }
        }
    }
}

const PAGE: usize = 50;

async fn history(
    app: web::Data<App>,
    staff: StaffUser,
    q: web::Query<HistoryQuery>,
) -> AppResult<HttpResponse> {
    let agent = match staff.role {
        Role::Admin | Role::Auditor => None,
        Role::Agent => Some(staff.username.clone()),
        Role::Operator => return Err(AppError::new(Code::WrongRole)),
    };
    let filter = reports::Filter {
        agent,
        taxpayer: None,
        closed_only: false,
        before: q.before,
        limit: PAGE,
    };
    let app = app.into_inner();
    let rows: Vec<Summary> = blocking(move || reports::list(&app, &filter)).await?;
    let figures = reports::figures(&rows);
    let next = (rows.len() == PAGE)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    let body = html! {
        section.card {
            h1 { "互动记录" }
            p.aside { "本页列出的互动的统计：" }
            (figures_view(&figures))
            @if rows.is_empty() {
                p { "暂无征纳互动记录。" }
            } @else {
                table.grid {
                    thead { tr {
                        th { "编号" } th { "纳税人识别号" } th { "纳税人名称" } th { "状态" }
                        th { "接待人员" } th { "发起时间" } th { "等待时长" } th { "首次响应" }
                        th { "服务时长" } th { "满意度" } th { "评价意见" } th { "记录" }
                    } }
                    tbody {
                        @for r in &rows {
                            tr {
                                td { (r.id) }
                                td.code { (r.taxpayer_id) }
                                td { (r.taxpayer_name) }
                                td { (r.stage_zh) }
                                td { (r.agent_name.as_deref().unwrap_or("—")) }
                                td { (r.opened_at.get(..16).unwrap_or(&r.opened_at).replace('T', " ")) }
                                td { (secs_zh(r.waiting_secs)) }
                                td { (secs_zh(r.first_response_secs)) }
                                td { (secs_zh(r.duration_secs)) }
                                td { @match r.rating { Some(s) => { (s) " 星" } None => { "—" } } }
                                td { (r.comment.as_deref().unwrap_or("")) }
                                td { a href={"/office/interact/" (r.id)} { "查看" } }
                            }
                        }
                    }
                }
                @if let Some(n) = next {
                    nav.pager { a href={"/office/interact/history?before=" (n)} { "更早的记录" } }
                }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        page(
            Page {
                title: "互动记录",
                viewer: viewer(&staff),
                active: "/office/interact/history",
            },
            body,
        ),
    ))
}

async fn transcript(
    app: web::Data<App>,
    staff: StaffUser,
    id: web::Path<u64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let subject = crate::service::Subject::Staff {
        username: staff.username.clone(),
    };
    let app = app.into_inner();
    let (rec, msgs) = blocking(move || reports::transcript_for(&app, id, &subject)).await?;
    let s = Summary::of(&rec);
    let body = html! {
        section.card {
            h1 { "征纳互动记录 #" (rec.id) }
            dl.facts {
                dt { "纳税人" } dd { (rec.taxpayer_name) "（" (rec.taxpayer) "）" }
                dt { "状态" } dd { (s.stage_zh) }
                dt { "接待人员" } dd { (s.agent_name.as_deref().unwrap_or("—")) }
                dt { "等待时长" } dd { (secs_zh(s.waiting_secs)) }
                dt { "首次响应时长" } dd { (secs_zh(s.first_response_secs)) }
                dt { "服务时长" } dd { (secs_zh(s.duration_secs)) }
                dt { "满意度" } dd { @match s.rating { Some(r) => { (r) " 星" } None => { "未评价" } } }
                @if let Some(c) = &s.comment { dt { "评价意见" } dd { (c) } }
            }
            ol.transcript {
                @for m in &msgs {
                    @let (cls, who) = match &m.from {
                        Party::Taxpayer => ("taxpayer", rec.taxpayer_name.clone()),
                        Party::Agent { name, .. } => ("agent", name.clone()),
                        Party::Bot => ("bot", "智能服务".to_string()),
                        Party::System => ("system", "系统消息".to_string()),
                    };
                    li class=(cls) {
                        span.who { (who) }
                        " "
                        time datetime=(m.at.to_rfc3339()) { (m.at.format("%Y-%m-%d %H:%M:%S")) }
                        p { (m.text) }
                        @if !m.suggest.is_empty() {
                            ul { @for q in &m.suggest { li { (q.question) } } }
                        }
                    }
                }
            }
            p { a href="/office/interact/history" { "返回互动记录" } }
        }
    };
    Ok(html(
        StatusCode::OK,
        page(
            Page {
                title: "征纳互动记录",
                viewer: viewer(&staff),
                active: "/office/interact/history",
            },
            body,
        ),
    ))
}
