//! 扫描认证 records and applying them to 抵扣统计 now (what the nightly job does).

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::super::router::Routes;
use crate::error::AppResult;
use crate::http::extract::{Acting, StaffUser};
use crate::service::office::statistics::{self, ApplyReport};

pub(super) fn routes(r: &mut Routes<'_>) {
    r.post("/office/scans", import_scans)
        .post("/office/statistics/refresh", refresh_statistics);
}

/// A 扫描认证 record (one line of the ndjson body).
#[derive(ToSchema)]
#[allow(dead_code)] // Schema only: `service::office::statistics` reads the lines.
struct ScanLine {
    #[schema(example = "3500261130")]
    code: String,
    #[schema(example = "00000001")]
    number: String,
    /// 扫描认证日期 YYYY-MM-DD.
    #[schema(example = "2026-11-20")]
    scanned_on: String,
    /// 税款所属期 YYYYMM.
    #[schema(example = "202611")]
    period: String,
}

#[derive(Serialize, ToSchema)]
struct ScansImported {
    imported: usize,
    /// Always true: the records wait for the statistics job or a refresh.
    pending: bool,
}

/// 扫描认证 records (ndjson), waiting for the statistics job or a refresh.
#[utoipa::path(
    post,
    path = "/api/v1/office/scans",
    tag = "office",
    summary = "导入扫描认证记录（由统计作业或刷新生效）",
    description = super::WRITER,
    request_body(content = ScanLine, content_type = "application/x-ndjson"),
    responses((status = 200, description = "导入的记录数", body = ScansImported))
)]
async fn import_scans(a: Acting<StaffUser>, body: web::Bytes) -> AppResult<HttpResponse> {
    let imported = a
        .run(move |app, who, _| statistics::import_scans(app, who, &body))
        .await?;
    Ok(HttpResponse::Ok().json(ScansImported {
        imported,
        pending: true,
    }))
}

/// Applies pending scan certifications now (what the nightly job does).
#[utoipa::path(
    post,
    path = "/api/v1/office/statistics/refresh",
    tag = "office",
    summary = "立即应用扫描认证记录",
    description = super::WRITER,
    responses((status = 200, description = "应用结果", body = ApplyReport))
)]
async fn refresh_statistics(a: Acting<StaffUser>) -> AppResult<HttpResponse> {
    let report = a
        .run(|app, who, _| statistics::apply_scans(app, who))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(import_scans, refresh_statistics))]
pub(super) struct Doc;
