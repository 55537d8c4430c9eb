//! The audit log, a page at a time or all of it as CSV.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::super::router::Routes;
use super::super::schema::{AuditEntryShape, Binary};
use crate::domain::AuditEntry;
use crate::error::{AppError, AppResult};
use crate::http::extract::{Acting, StaffUser};
use crate::service::office;
use crate::service::AuditFilter;
use crate::service::AuditHead;

pub(super) fn routes(r: &mut Routes<'_>) {
    r.get("/office/audit", audit)
        .get("/office/audit/head", audit_head)
        .get("/office/audit/export.csv", audit_csv);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// 起始时间（RFC 3339）。
    from: Option<String>,
    /// 截止时间（RFC 3339）。
    to: Option<String>,
    /// 操作人，如 `staff:admin`。
    actor: Option<String>,
    /// 页码，从1开始（默认1）。
    page: Option<String>,
    /// 每页条数，1至500（默认50）。
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

/// The audit log as CSV (UTF-8 with a BOM so spreadsheet programs read the Chinese), every
/// entry matching the filters, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/office/audit/export.csv",
    tag = "office",
    summary = "导出审计日志（CSV）",
    params(AuditQuery),
    responses((status = 200, description = "CSV 文件（UTF-8，带 BOM）", body = Binary, content_type = "text/csv"))
)]
async fn audit_csv(a: Acting<StaffUser>, q: web::Query<AuditQuery>) -> AppResult<HttpResponse> {
    let filter = AuditFilter {
        from: parse_time("from", &q.from)?,
        to: parse_time("to", &q.to)?,
        actor: q.actor.clone().filter(|a| !a.is_empty()),
        limit: usize::MAX,
        offset: 0,
    };
    let bytes = a
        .run(move |app, _, _| office::audit::export_csv(app, &filter))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            "attachment; filename=\"audit.csv\"",
        ))
        .body(bytes))
}

#[derive(Serialize, ToSchema)]
struct AuditPage {
    total: usize,
    page: usize,
    per_page: usize,
    items: Vec<ChainedEntry>,
}

/// An audit entry with its place in the hash chain.
#[derive(Serialize, ToSchema)]
struct ChainedEntry {
    #[serde(flatten)]
    #[schema(inline, value_type = AuditEntryShape)]
    entry: AuditEntry,
    /// SHA-256 (hex) of this entry in the chain.
    hash: String,
    /// The previous entry's hash (all zeros for the first).
    prev_hash: String,
}

/// The audit log's head: the newest entry and its chain hash, to compare with a published
/// or printed head.
#[utoipa::path(
    get,
    path = "/api/v1/office/audit/head",
    tag = "office",
    summary = "审计日志链头",
    responses((status = 200, description = "最新一条审计记录的序号与哈希", body = AuditHead))
)]
async fn audit_head(a: Acting<StaffUser>) -> AppResult<HttpResponse> {
    let head = a.run(|app, _, _| office::audit::head(app)).await?;
    Ok(HttpResponse::Ok().json(head))
}

#[utoipa::path(
    get,
    path = "/api/v1/office/audit",
    tag = "office",
    summary = "审计日志",
    params(AuditQuery),
    responses((status = 200, description = "一页审计日志，新的在前", body = AuditPage))
)]
async fn audit(a: Acting<StaffUser>, q: web::Query<AuditQuery>) -> AppResult<HttpResponse> {
    let paging = crate::service::listing::paging(q.page.as_deref(), q.per_page.as_deref())?;
    let filter = AuditFilter {
        from: parse_time("from", &q.from)?,
        to: parse_time("to", &q.to)?,
        actor: q.actor.clone().filter(|a| !a.is_empty()),
        limit: 0,
        offset: 0,
    };
    let (total, items) = a
        .run(move |app, _, _| office::audit::page_chained(app, &filter, paging))
        .await?;
    let items = items
        .into_iter()
        .map(|(entry, hash, prev_hash)| ChainedEntry {
            entry,
            hash,
            prev_hash,
        })
        .collect();
    Ok(HttpResponse::Ok().json(AuditPage {
        total,
        page: paging.page(),
        per_page: paging.per_page(),
        items,
    }))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(audit, audit_head, audit_csv))]
pub(super) struct Doc;
