//! Invoices: the taxpayer's 发票勾选 query, 单票查询, 未到期发票查询; the office's import
//! and search.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::router::{Methods, Routes};
use crate::domain::query::RawConditions;
use crate::domain::InvoiceKey;
use crate::error::{AppError, AppResult, Code};
use crate::http::extract::{Acting, StaffUser, TaxpayerUser};
use crate::service::listing::InvoicePage;
use crate::service::office::invoices::{FileFormat, ImportReport, OfficeSearchRaw};
use crate::service::portal::query::{NotYetDueRaw, SingleView};
use crate::service::{office, portal};

/// Largest accepted import body.
const IMPORT_LIMIT: usize = 512 * 1024 * 1024;

pub(super) fn routes(r: &mut Routes<'_>) {
    r.get("/invoices", query)
        .get("/invoices/not-yet-due", not_yet_due)
        .get("/invoices/{code}/{number}", single)
        .limited(
            "/office/invoices",
            IMPORT_LIMIT,
            Methods::default().post(import).get(office_search),
        );
}

/// The conditions of 发票勾选 as the query string gives them (`domain::query::RawConditions`,
/// which checks them).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct InvoiceQuery {
    /// 开票日期起 YYYY-MM-DD。
    #[param(required = true, example = "2026-11-01")]
    issued_from: Option<String>,
    /// 开票日期止 YYYY-MM-DD。
    #[param(required = true, example = "2026-11-30")]
    issued_to: Option<String>,
    /// 发票代码
    code: Option<String>,
    /// 发票号码：8位；不填发票代码时也可为20位数电票号码或缴款书号码。
    number: Option<String>,
    /// 数电票号码（20位，不填发票代码）。
    digital_number: Option<String>,
    /// 销方税号
    seller_id: Option<String>,
    /// 认证状态：`false`（未认证，默认）或 `true`（已认证）。
    certified: Option<String>,
    /// 认证方式（仅已认证）：`selection`（默认）、`scan` 或 `all`。
    method: Option<String>,
    /// 确认/扫描日期起（仅已认证）。
    certified_from: Option<String>,
    /// 确认/扫描日期止（仅已认证）。
    certified_to: Option<String>,
    /// 勾选状态（仅未认证）：`false`（默认）、`true` 或 `all`。
    selected: Option<String>,
    /// 发票类型，或 `all`（默认）。
    #[serde(rename = "type")]
    kind: Option<String>,
    /// 发票状态：`normal`（默认）、其他状态或 `all`。
    status: Option<String>,
    /// 页码，从1开始（默认1）。
    page: Option<String>,
    /// 每页条数，1至500（默认50）。
    per_page: Option<String>,
}

impl From<InvoiceQuery> for RawConditions {
    fn from(q: InvoiceQuery) -> RawConditions {
        RawConditions {
            issued_from: q.issued_from,
            issued_to: q.issued_to,
            code: q.code,
            number: q.number,
            digital_number: q.digital_number,
            seller_id: q.seller_id,
            certified: q.certified,
            method: q.method,
            certified_from: q.certified_from,
            certified_to: q.certified_to,
            selected: q.selected,
            kind: q.kind,
            status: q.status,
            page: q.page,
            per_page: q.per_page,
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/invoices",
    tag = "taxpayer",
    summary = "发票勾选查询（金额、税额为全部结果的合计）",
    params(InvoiceQuery),
    responses((status = 200, description = "一页发票及合计", body = InvoicePage))
)]
async fn query(a: Acting<TaxpayerUser>, q: web::Query<InvoiceQuery>) -> AppResult<HttpResponse> {
    let raw = RawConditions::from(q.into_inner());
    a.read_json(move |app, who, user, wait| {
        portal::selection::query_as(app, who, &user.id, &raw, wait)
    })
    .await
}

#[utoipa::path(
    get,
    path = "/api/v1/invoices/not-yet-due",
    tag = "taxpayer",
    summary = "未到期发票查询",
    params(NotYetDueRaw),
    responses((status = 200, description = "一页发票及合计", body = InvoicePage))
)]
async fn not_yet_due(
    a: Acting<TaxpayerUser>,
    q: web::Query<NotYetDueRaw>,
) -> AppResult<HttpResponse> {
    a.read_json(move |app, who, user, wait| {
        portal::query::not_yet_due_as(app, who, &user.id, &q, wait)
    })
    .await
}

#[utoipa::path(
    get,
    path = "/api/v1/invoices/{code}/{number}",
    tag = "taxpayer",
    summary = "单票查询（含状态变更历史）",
    params(
        ("code" = String, Path, description = "发票代码", example = "3500261130"),
        ("number" = String, Path, description = "发票号码", example = "00000001")
    ),
    responses((status = 200, description = "发票及其历史", body = SingleView))
)]
async fn single(
    a: Acting<TaxpayerUser>,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (code, number) = path.into_inner();
    let key = InvoiceKey::parse_any(Some(&code), &number)?;
    let view = a
        .run(move |app, who, user| portal::query::single(app, who, &user.id, &key))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(
    post,
    path = "/api/v1/office/invoices",
    tag = "office",
    summary = "导入发票（ndjson 或 CSV，全部成功或全部不导入）",
    description = "需要可修改数据的税务人员角色（管理员、业务操作员）；审计员只读。",
    request_body(content(
        (String = "application/x-ndjson"),
        (String = "text/csv")
    )),
    responses((status = 200, description = "导入结果", body = ImportReport))
)]
async fn import(
    req: HttpRequest,
    a: Acting<StaffUser>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let ct = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = FileFormat::from_content_type(ct).ok_or_else(|| {
        AppError::new(Code::UnsupportedType)
            .with_message("请以 application/x-ndjson 或 text/csv 格式提交发票数据")
    })?;
    let report = a
        .run(move |app, who, _| office::invoices::import_file(app, who, &body, format))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

#[utoipa::path(
    get,
    path = "/api/v1/office/invoices",
    tag = "office",
    summary = "按购方、销方或销方名称查询发票",
    params(OfficeSearchRaw),
    responses((status = 200, description = "一页发票及合计", body = InvoicePage))
)]
async fn office_search(
    a: Acting<StaffUser>,
    q: web::Query<OfficeSearchRaw>,
) -> AppResult<HttpResponse> {
    let page = a
        .run(move |app, _, _| office::invoices::office_search(app, &q))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(query, not_yet_due, single, import, office_search))]
pub(super) struct Doc;
