//! The training clock: read it, set it (training mode), or return to real time.

use actix_web::HttpResponse;
use chrono::DateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::router::Routes;
use crate::error::{AppError, AppResult};
use crate::http::extract::{Acting, JsonObject, StaffUser};
use crate::service::settle;

pub(super) fn routes(r: &mut Routes<'_>) {
    r.get("/office/clock", get_clock)
        .put("/office/clock", set_clock);
}

#[derive(Serialize, ToSchema)]
struct Clock {
    /// Business time now (RFC 3339).
    now: String,
    training: bool,
    /// Whether a training time is set.
    set: bool,
}

#[utoipa::path(
    get,
    path = "/api/v1/office/clock",
    tag = "office",
    summary = "培训时钟",
    responses((status = 200, description = "业务时间", body = Clock))
)]
async fn get_clock(a: Acting<StaffUser>) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(Clock {
        now: a.app.clock.now().to_rfc3339(),
        training: a.app.training(),
        set: a.app.clock.setting().is_some(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ClockBody {
    /// RFC 3339; `null` returns to real time.
    #[schema(example = "2026-12-15T23:59:59+08:00")]
    now: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct ClockSet {
    /// Business time now (RFC 3339).
    now: String,
}

#[utoipa::path(
    put,
    path = "/api/v1/office/clock",
    tag = "office",
    summary = "设置培训时钟（仅培训模式）",
    description = super::WRITER,
    request_body = ClockBody,
    responses((status = 200, description = "设置后的业务时间", body = ClockSet))
)]
async fn set_clock(a: Acting<StaffUser>, body: JsonObject<ClockBody>) -> AppResult<HttpResponse> {
    let to = match &body.now {
        Some(s) => Some(DateTime::parse_from_rfc3339(s.trim()).map_err(|_| {
            AppError::invalid("now", "时间格式应为 RFC 3339，如 2026-12-15T23:59:59+08:00")
        })?),
        None => None,
    };
    a.run(move |app, who, _| {
        app.clock.set(&app.store, who, to)?;
        // Windows the new time has closed close now, not at the next tick.
        let sys = app.system("period");
        settle::settle_all(app, &sys)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ClockSet {
        now: a.app.clock.now().to_rfc3339(),
    }))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(get_clock, set_clock))]
pub(super) struct Doc;
