//! Tax office endpoints available so far: the training clock and the audit log.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, FixedOffset};
use serde::Deserialize;
use serde_json::json;

use super::blocking;
use crate::error::{AppError, AppResult};
use crate::server::extract::{self, StaffUser};
use crate::service::App;
use crate::store::repo::AuditFilter;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/office/clock", web::get().to(get_clock))
        .route("/office/clock", web::put().to(set_clock))
        .route("/office/audit", web::get().to(audit));
}

async fn get_clock(app: web::Data<App>, _staff: StaffUser) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(json!({
        "now": app.clock.now().to_rfc3339(),
        "training": app.training(),
        "set": app.clock.setting().is_some(),
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockBody {
    /// RFC 3339; `null` returns to real time.
    now: Option<String>,
}

async fn set_clock(
    req: HttpRequest,
    app: web::Data<App>,
    staff: StaffUser,
    body: web::Json<ClockBody>,
) -> AppResult<HttpResponse> {
    staff.require_writer()?;
    let to = match &body.now {
        Some(s) => Some(DateTime::parse_from_rfc3339(s.trim()).map_err(|_| {
            AppError::invalid("now", "时间格式应为 RFC 3339，如 2026-12-15T23:59:59+08:00")
        })?),
        None => None,
    };
    let app = app.into_inner();
    let who = extract::who(&req, &app, staff.actor());
    let app2 = app.clone();
    blocking(move || app2.clock.set(&app2.store, &who, to)).await?;
    Ok(HttpResponse::Ok().json(json!({ "now": app.clock.now().to_rfc3339() })))
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    from: Option<String>,
    to: Option<String>,
    actor: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

fn parse_time(field: &'static str, s: &Option<String>) -> AppResult<Option<DateTime<FixedOffset>>> {
    s.as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            DateTime::parse_from_rfc3339(s.trim())
                .map_err(|_| AppError::invalid(field, "时间格式应为 RFC 3339"))
        })
        .transpose()
}

async fn audit(
    app: web::Data<App>,
    _staff: StaffUser,
    q: web::Query<AuditQuery>,
) -> AppResult<HttpResponse> {
    let (page, per_page) =
        crate::service::invoice_query::paging(q.page.as_deref(), q.per_page.as_deref())?;
    let filter = AuditFilter {
        from: parse_time("from", &q.from)?,
        to: parse_time("to", &q.to)?,
        actor: q.actor.clone().filter(|a| !a.is_empty()),
        limit: per_page,
        offset: (page - 1) * per_page,
    };
    let app = app.into_inner();
    let (total, items) = blocking(move || crate::service::audit::list(&app, &filter)).await?;
    Ok(HttpResponse::Ok().json(json!({
        "total": total,
        "page": page,
        "per_page": per_page,
        "items": items,
    })))
}
