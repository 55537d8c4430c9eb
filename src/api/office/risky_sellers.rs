//! 风险纳税人: the sellers the office flags, with the reason taxpayers are shown.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::router::Routes;
use crate::error::AppResult;
use crate::http::extract::{Acting, JsonObject, StaffUser};
use crate::service::office::risky_sellers::{self, RiskySellerView};

pub(super) fn routes(r: &mut Routes<'_>) {
    r.get("/office/risky-sellers", list_risky_sellers)
        .put("/office/risky-sellers/{seller_id}", flag_risky_seller)
        .delete("/office/risky-sellers/{seller_id}", unflag_risky_seller);
}

#[derive(Serialize, ToSchema)]
struct RiskySellers {
    items: Vec<RiskySellerView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/office/risky-sellers",
    tag = "office",
    summary = "风险纳税人列表（含标记原因）",
    responses((status = 200, description = "风险纳税人（新标记的在前）", body = RiskySellers))
)]
async fn list_risky_sellers(a: Acting<StaffUser>) -> AppResult<HttpResponse> {
    let all = a.run(|app, _, _| risky_sellers::list(app)).await?;
    Ok(HttpResponse::Ok().json(RiskySellers {
        items: all
            .into_iter()
            .map(|(s, name)| RiskySellerView::of(&s, name))
            .collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct FlagBody {
    /// 标记原因（必填，最多200字），纳税人在风险提醒中可以看到。
    #[schema(example = "走逃（失联）企业，开具的发票存在虚开嫌疑")]
    reason: String,
}

#[utoipa::path(
    put,
    path = "/api/v1/office/risky-sellers/{seller_id}",
    tag = "office",
    summary = "标记风险纳税人（或修改原因）",
    description = super::WRITER,
    params(("seller_id" = String, Path, description = "销方纳税人识别号", example = "91330100716105852F")),
    request_body = FlagBody,
    responses((status = 200, description = "标记", body = RiskySellerView))
)]
async fn flag_risky_seller(
    a: Acting<StaffUser>,
    path: web::Path<String>,
    body: JsonObject<FlagBody>,
) -> AppResult<HttpResponse> {
    let seller = path.into_inner();
    let reason = body.into_inner().reason;
    let s = a
        .run(move |app, who, _| risky_sellers::flag(app, who, &seller, &reason))
        .await?;
    Ok(HttpResponse::Ok().json(RiskySellerView::of(&s, None)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/office/risky-sellers/{seller_id}",
    tag = "office",
    summary = "取消风险纳税人标记",
    description = super::WRITER,
    params(("seller_id" = String, Path, description = "销方纳税人识别号", example = "91330100716105852F")),
    responses((status = 200, description = "取消的标记", body = RiskySellerView))
)]
async fn unflag_risky_seller(
    a: Acting<StaffUser>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let seller = path.into_inner();
    let s = a
        .run(move |app, who, _| risky_sellers::unflag(app, who, &seller))
        .await?;
    Ok(HttpResponse::Ok().json(RiskySellerView::of(&s, None)))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(list_risky_sellers, flag_risky_seller, unflag_risky_seller))]
pub(super) struct Doc;
