//! The taxpayer's 进项税额转出 (candidates, recording, the recorded list) and 风险提醒.

use actix_web::HttpResponse;
use serde::Deserialize;
use utoipa::ToSchema;

use super::router::Routes;
use super::taxpayer::{keys, KeyBody};
use crate::domain::TaxPeriod;
use crate::error::{AppError, AppResult};
use crate::http::extract::{Acting, JsonObject, TaxpayerUser};
use crate::service::portal;
use crate::service::portal::alerts::{AlertView, AlertsView};
use crate::service::portal::transfers::{RecordedView, TransfersView};

pub(super) fn routes(r: &mut Routes<'_>) {
    r.get("/transfers-out", list_transfers_out)
        .post("/transfers-out", record_transfers_out)
        .get("/alerts", list_alerts);
}

#[utoipa::path(
    get,
    path = "/api/v1/transfers-out",
    tag = "taxpayer",
    summary = "进项税额转出：需要转出的发票（应转出税额）与已记录的转出",
    responses((status = 200, description = "待转出的发票与已记录的转出", body = TransfersView))
)]
async fn list_transfers_out(a: Acting<TaxpayerUser>) -> AppResult<HttpResponse> {
    let v = a
        .run(|app, who, user| portal::transfers::overview(app, who, &user.id))
        .await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TransferBody {
    /// 税款所属期 YYYYMM：只能是当前税款所属期。
    #[schema(example = "202611")]
    period: String,
    /// 需要转出的发票。
    invoices: Vec<KeyBody>,
}

#[utoipa::path(
    post,
    path = "/api/v1/transfers-out",
    tag = "taxpayer",
    summary = "记录进项税额转出（当前税款所属期，逐张结果）",
    description = "已认证抵扣后变为失控、异常、作废或红冲的发票，按其有效税额记录转出；其他发票逐张拒绝（`unknown_invoice`、`not_required`、`already_transferred`、`duplicate_row`、`invalid_key`）。税款所属期不是当前所属期时整体拒绝（422）。",
    request_body = TransferBody,
    responses((status = 200, description = "已记录的转出与拒绝的发票", body = RecordedView))
)]
async fn record_transfers_out(
    a: Acting<TaxpayerUser>,
    body: JsonObject<TransferBody>,
) -> AppResult<HttpResponse> {
    let b = body.into_inner();
    let period = TaxPeriod::parse(b.period.trim())?;
    let mut bad = Vec::new();
    let keys = keys(b.invoices, &mut bad);
    if keys.is_empty() {
        if let Some(first) = bad.first() {
            return Err(AppError::invalid("invoices", first.message.clone()));
        }
    }
    let report = a
        .run(move |app, who, user| portal::transfers::record(app, who, &user.id, period, &keys))
        .await?;
    let mut view = RecordedView::from(report);
    view.rejected.extend(bad);
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(
    get,
    path = "/api/v1/alerts",
    tag = "taxpayer",
    summary = "风险提醒：上次登录后状态变化的发票、已认证转为异常的发票、风险纳税人开具的未确认发票",
    responses((status = 200, description = "提醒（新的在前，最多200条）", body = AlertsView))
)]
async fn list_alerts(a: Acting<TaxpayerUser>) -> AppResult<HttpResponse> {
    let items = a
        .run(|app, who, user| portal::alerts::alerts(app, who, &user.id))
        .await?;
    Ok(HttpResponse::Ok().json(AlertsView {
        items: items.iter().map(AlertView::from).collect(),
    }))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(list_transfers_out, record_transfers_out, list_alerts))]
pub(super) struct Doc;
