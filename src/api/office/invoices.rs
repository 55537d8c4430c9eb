//! Invoice status changes by the office, one invoice or many (all or nothing). The import
//! and the search are with the other invoice endpoints (`api::invoices`).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::router::Routes;
use super::super::taxpayer::KeyBody;
use crate::domain::{InvoiceKey, InvoiceStatus};
use crate::error::{AppError, AppResult};
use crate::http::extract::{Acting, JsonObject, StaffUser};
use crate::service::listing::InvoiceView;
use crate::service::{office, portal};

pub(super) fn routes(r: &mut Routes<'_>) {
    r.put("/office/invoices/{code}/{number}/status", set_status)
        .put("/office/invoices/{code}/{number}/audit", set_audit)
        .post("/office/invoices/status", set_status_bulk);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    /// 发票状态：`normal`、`voided`、`red_reversed`、`out_of_control` 或 `abnormal`。
    status: String,
}

#[utoipa::path(
    put,
    path = "/api/v1/office/invoices/{code}/{number}/status",
    tag = "office",
    summary = "变更发票状态",
    description = super::WRITER,
    params(
        ("code" = String, Path, description = "发票代码", example = "3500261130"),
        ("number" = String, Path, description = "发票号码", example = "00000001")
    ),
    request_body = StatusBody,
    responses((status = 200, description = "变更后的发票", body = InvoiceView))
)]
async fn set_status(
    a: Acting<StaffUser>,
    path: web::Path<(String, String)>,
    body: JsonObject<StatusBody>,
) -> AppResult<HttpResponse> {
    let (code, number) = path.into_inner();
    let key = InvoiceKey::parse_any(Some(&code), &number)?;
    let status = InvoiceStatus::parse_api(&body.status)?;
    let mut out = a
        .run(move |app, who, _| office::invoices::change_status(app, who, &[key], status))
        .await?;
    let inv = out
        .pop()
        .ok_or_else(|| AppError::internal("status change returned nothing"))?;
    Ok(HttpResponse::Ok().json(InvoiceView::from(&inv)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AuditBody {
    /// 稽核比对结果：`match`（相符）、`mismatch`（不符）、`pending`（滞留）、`missing`（缺联）或
    /// `duplicate`（重号）。
    audit_result: String,
}

#[utoipa::path(
    put,
    path = "/api/v1/office/invoices/{code}/{number}/audit",
    tag = "office",
    summary = "登记海关缴款书稽核比对结果",
    description = super::WRITER,
    params(
        ("code" = String, Path, description = "发票代码（缴款书没有，写 `-`）", example = "-"),
        ("number" = String, Path, description = "缴款书号码", example = "530120261000123456-L01")
    ),
    request_body = AuditBody,
    responses((status = 200, description = "登记后的缴款书", body = InvoiceView))
)]
async fn set_audit(
    a: Acting<StaffUser>,
    path: web::Path<(String, String)>,
    body: JsonObject<AuditBody>,
) -> AppResult<HttpResponse> {
    let (code, number) = path.into_inner();
    let key = InvoiceKey::parse_any(Some(&code), &number)?;
    let audit = crate::domain::CustomsAudit::parse_api(&body.audit_result)?;
    let inv = a
        .run(move |app, who, _| office::invoices::change_audit(app, who, &key, audit))
        .await?;
    Ok(HttpResponse::Ok().json(InvoiceView::from(&inv)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct BulkStatusBody {
    /// 发票状态：`normal`、`voided`、`red_reversed`、`out_of_control` 或 `abnormal`。
    status: String,
    invoices: Vec<KeyBody>,
}

#[derive(Serialize, ToSchema)]
struct StatusChanged {
    changed: usize,
    #[schema(value_type = String, example = "voided")]
    status: InvoiceStatus,
}

/// Bulk status change: all or nothing (an unknown invoice fails the whole request).
#[utoipa::path(
    post,
    path = "/api/v1/office/invoices/status",
    tag = "office",
    summary = "批量变更发票状态",
    description = super::WRITER,
    request_body = BulkStatusBody,
    responses((status = 200, description = "变更的发票数", body = StatusChanged))
)]
async fn set_status_bulk(
    a: Acting<StaffUser>,
    body: JsonObject<BulkStatusBody>,
) -> AppResult<HttpResponse> {
    let b = body.into_inner();
    let status = InvoiceStatus::parse_api(&b.status)?;
    if b.invoices.is_empty() || b.invoices.len() > portal::selection::MAX_SELECTION_ROWS {
        return Err(AppError::invalid(
            "invoices",
            format!("请提交1至{}张发票", portal::selection::MAX_SELECTION_ROWS),
        ));
    }
    let keys = b
        .invoices
        .iter()
        .map(|k| InvoiceKey::parse_any(k.code.as_deref(), &k.number))
        .collect::<Result<Vec<_>, _>>()?;
    let out = a
        .run(move |app, who, _| office::invoices::change_status(app, who, &keys, status))
        .await?;
    Ok(HttpResponse::Ok().json(StatusChanged {
        changed: out.len(),
        status,
    }))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(set_status, set_audit, set_status_bulk))]
pub(super) struct Doc;
