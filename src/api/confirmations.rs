//! 确认勾选: 确定 makes a batch, 提交 certifies it; the period's batches and one batch's
//! invoices. The batch's spreadsheet and print are in `files`.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::router::Routes;
use crate::domain::rules::DeclarationAnswer;
use crate::domain::{InvoiceUse, TaxPeriod};
use crate::error::{AppError, AppResult};
use crate::http::extract::{Acting, JsonObject, TaxpayerUser};
use crate::service::listing::InvoiceView;
use crate::service::portal::confirmation::BatchView;
use crate::service::{portal, settle};

pub(super) fn routes(r: &mut Routes<'_>) {
    r.post("/confirmations", make_batch)
        .get("/confirmations", list_batches)
        .post("/confirmations/{period}/{batch}/submit", submit)
        .get("/confirmations/{period}/{batch}", batch_detail);
}

#[utoipa::path(
    post,
    path = "/api/v1/confirmations",
    tag = "taxpayer",
    summary = "确定：生成待提交的确认批次（按勾选用途）",
    request_body(content = Option<MakeBatchBody>),
    responses((status = 200, description = "待提交的确认批次", body = BatchView))
)]
async fn make_batch(
    a: Acting<TaxpayerUser>,
    body: Option<JsonObject<MakeBatchBody>>,
) -> AppResult<HttpResponse> {
    let use_ = body
        .and_then(|b| b.into_inner().use_)
        .map(|s| InvoiceUse::parse_api(&s))
        .transpose()?
        .unwrap_or_default();
    let o = a
        .run(move |app, who, user| portal::confirmation::make_batch(app, who, &user.id, use_))
        .await?;
    Ok(HttpResponse::Ok().json(BatchView::from(&o)))
}

#[derive(Debug, Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
struct MakeBatchBody {
    /// 勾选用途：`deduct`（抵扣，默认）、`no_deduct`（不抵扣）、`refund`（退税）或 `agent_refund`（代办退税）。
    #[serde(rename = "use")]
    #[schema(example = "deduct")]
    use_: Option<String>,
}

/// `{period}/{batch}` of a confirmation path.
pub(super) fn batch_path(path: (String, String)) -> AppResult<(TaxPeriod, u32)> {
    let period = TaxPeriod::parse(&path.0)?;
    let n = path
        .1
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| AppError::invalid("batch", "确认批次应为正整数"))?;
    Ok((period, n))
}

#[derive(Debug, Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
struct SubmitBody {
    /// 申报情况（征期内必填）：`declared`（已完成申报）、`not_declared`（未完成申报）或 `unsure`（不确定）。
    declaration: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/confirmations/{period}/{batch}/submit",
    tag = "taxpayer",
    summary = "提交确认批次（征期内需选择申报情况）",
    params(
        ("period" = String, Path, description = "税款所属期 YYYYMM", example = "202611"),
        ("batch" = String, Path, description = "确认批次（正整数）", example = "1")
    ),
    request_body(content = Option<SubmitBody>),
    responses((status = 200, description = "提交后的确认批次", body = BatchView))
)]
async fn submit(
    a: Acting<TaxpayerUser>,
    path: web::Path<(String, String)>,
    body: Option<JsonObject<SubmitBody>>,
) -> AppResult<HttpResponse> {
    let (period, n) = batch_path(path.into_inner())?;
    let answer = body
        .and_then(|b| b.into_inner().declaration)
        .map(|s| DeclarationAnswer::parse_api(&s))
        .transpose()?;
    let o = a
        .run(move |app, who, user| {
            portal::confirmation::submit(app, who, &user.id, period, n, answer)
        })
        .await?;
    Ok(HttpResponse::Ok().json(BatchView::from(&o)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PeriodQuery {
    /// 税款所属期 YYYYMM（默认当前税款所属期）。
    period: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct BatchList {
    #[schema(value_type = String, example = "202611")]
    period: TaxPeriod,
    total: usize,
    items: Vec<BatchView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/confirmations",
    tag = "taxpayer",
    summary = "确认历史（按税款所属期）",
    params(PeriodQuery),
    responses((status = 200, description = "税款所属期的确认批次", body = BatchList))
)]
async fn list_batches(
    a: Acting<TaxpayerUser>,
    q: web::Query<PeriodQuery>,
) -> AppResult<HttpResponse> {
    let given = q
        .period
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(TaxPeriod::parse)
        .transpose()?;
    let (period, list) = a
        .run(move |app, who, user| {
            let period = match given {
                Some(p) => p,
                None => settle::settled(app, who, &user.id)?.current_period,
            };
            Ok((
                period,
                portal::confirmation::batches(app, who, &user.id, period)?,
            ))
        })
        .await?;
    let items: Vec<BatchView> = list.iter().map(BatchView::from).collect();
    Ok(HttpResponse::Ok().json(BatchList {
        period,
        total: items.len(),
        items,
    }))
}

/// A batch with its invoices.
#[derive(Serialize, ToSchema)]
struct BatchDetail {
    #[serde(flatten)]
    batch: BatchView,
    invoices: Vec<InvoiceView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/confirmations/{period}/{batch}",
    tag = "taxpayer",
    summary = "确认批次明细",
    params(
        ("period" = String, Path, description = "税款所属期 YYYYMM", example = "202611"),
        ("batch" = String, Path, description = "确认批次（正整数）", example = "1")
    ),
    responses((status = 200, description = "确认批次及其发票", body = BatchDetail))
)]
async fn batch_detail(
    a: Acting<TaxpayerUser>,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (period, n) = batch_path(path.into_inner())?;
    let (o, invoices) = a
        .run(move |app, who, user| {
            portal::confirmation::batch_detail(app, who, &user.id, period, n)
        })
        .await?;
    Ok(HttpResponse::Ok().json(BatchDetail {
        batch: BatchView::from(&o),
        invoices,
    }))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(make_batch, list_batches, submit, batch_detail))]
pub(super) struct Doc;
