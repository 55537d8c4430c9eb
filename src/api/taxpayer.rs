//! The taxpayer's own endpoints: profile and platform password, the workbench, 勾选,
//! 回退税款所属期 and 抵扣统计. Confirmations are in `confirmations`.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::router::Routes;
use crate::domain::engine::SelectionRow;
use crate::domain::{
    Fen, InvoiceKey, NoDeductReason, RatingChange, TaxPeriod, UseCodes, UseRequest,
};
use crate::error::{AppError, AppResult};
use crate::http::extract::{Acting, JsonObject, TaxpayerUser};
use crate::service::portal::profile::{PasswordChange, Profile};
use crate::service::portal::selection::{RejectedView, SelectionView};
use crate::service::portal::statistics::{Card, StatisticsView};
use crate::service::{office, portal};

pub(super) fn routes(r: &mut Routes<'_>) {
    r.get("/me", me)
        .put("/me/password", set_password)
        .get("/me/changes", rating_changes)
        .post("/selections", select)
        .post("/period/rollback", rollback)
        .get("/statistics/{period}", statistics)
        .get("/workbench/{year}", workbench);
}

#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "taxpayer",
    summary = "纳税人信息、当前税款所属期、勾选截止日期、征期、可否回退",
    responses((status = 200, description = "纳税人信息", body = Profile))
)]
async fn me(a: Acting<TaxpayerUser>) -> AppResult<HttpResponse> {
    let p = a
        .run(|app, who, user| portal::profile::profile(app, who, &user.id))
        .await?;
    Ok(HttpResponse::Ok().json(p))
}

#[derive(Serialize, ToSchema)]
struct RatingChanges {
    #[schema(value_type = Vec<super::schema::RatingChangeShape>)]
    credit_rating_changes: Vec<RatingChange>,
}

#[utoipa::path(
    get,
    path = "/api/v1/me/changes",
    tag = "taxpayer",
    summary = "信用等级变更记录",
    responses((status = 200, description = "信用等级变更记录", body = RatingChanges))
)]
async fn rating_changes(a: Acting<TaxpayerUser>) -> AppResult<HttpResponse> {
    let t = a
        .run(|app, _, user| office::taxpayers::get(app, &user.id))
        .await?;
    Ok(HttpResponse::Ok().json(RatingChanges {
        credit_rating_changes: t.rating_history,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    /// true：设置或修改平台密码；false：取消。
    enabled: bool,
    password: Option<String>,
    question: Option<String>,
    answer: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct PasswordState {
    enabled: bool,
}

#[utoipa::path(
    put,
    path = "/api/v1/me/password",
    tag = "taxpayer",
    summary = "设置、修改或取消平台密码与密保问题",
    request_body = PasswordBody,
    responses((status = 200, description = "平台密码是否启用", body = PasswordState))
)]
async fn set_password(
    a: Acting<TaxpayerUser>,
    body: JsonObject<PasswordBody>,
) -> AppResult<HttpResponse> {
    let b = body.into_inner();
    let change = if b.enabled {
        PasswordChange::Enable {
            password: b
                .password
                .ok_or_else(|| AppError::invalid("password", "请输入平台密码"))?,
            question: b.question.unwrap_or_default(),
            answer: b.answer.unwrap_or_default(),
        }
    } else {
        PasswordChange::Disable
    };
    let enabled = a
        .run(move |app, who, user| portal::profile::set_password(app, who, &user.id, change))
        .await?;
    Ok(HttpResponse::Ok().json(PasswordState { enabled }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct KeyBody {
    /// 发票代码；数电票、海关缴款书没有发票代码：`null` 或不填。
    #[schema(example = "3500261130")]
    #[serde(default)]
    pub code: Option<String>,
    /// 发票号码（8位），或20位数电票号码、缴款书号码。
    #[schema(example = "00000001")]
    pub number: String,
}

/// A row to select, with its 勾选用途.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SelectRowBody {
    /// 发票代码；数电票、海关缴款书没有发票代码：`null` 或不填。
    #[schema(example = "3500261130")]
    #[serde(default)]
    pub code: Option<String>,
    /// 发票号码（8位），或20位数电票号码、缴款书号码。
    #[schema(example = "00000001")]
    pub number: String,
    /// 勾选用途：`deduct`（抵扣，默认）、`no_deduct`（不抵扣）、`refund`（退税）、`agent_refund`（代办退税）。
    #[serde(rename = "use", default)]
    #[schema(example = "deduct")]
    pub use_: Option<String>,
    /// 有效税额（分）：抵扣、退税时可调低，默认为发票税额；不大于发票税额，且大于 0。
    #[serde(default)]
    #[schema(example = 13000)]
    pub effective_tax: Option<i64>,
    /// 不抵扣原因：`non_taxable`、`tax_exempt`、`welfare`、`abnormal_loss` 或 `other`。
    #[serde(default)]
    pub reason: Option<String>,
    /// 原因为 `other`（其他）时的具体说明。
    #[serde(default)]
    pub reason_text: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SelectionBody {
    #[serde(default)]
    select: Vec<SelectRowBody>,
    #[serde(default)]
    unselect: Vec<KeyBody>,
}

/// Parses select rows; a malformed key, use or reason is rejected as a row.
fn select_rows(rows: Vec<SelectRowBody>, bad: &mut Vec<RejectedView>) -> Vec<SelectionRow> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let parsed = (|| {
            let key = InvoiceKey::parse_any(r.code.as_deref(), &r.number)
                .map_err(|e| ("invalid_key", e.message))?;
            let use_ = r
                .use_
                .as_deref()
                .map(|u| UseCodes::installed().parse(u))
                .transpose()
                .map_err(|e| ("invalid_use", e.message))?;
            let reason = r
                .reason
                .as_deref()
                .filter(|x| !x.trim().is_empty())
                .map(NoDeductReason::parse_api)
                .transpose()
                .map_err(|e| ("invalid_reason", e.message))?;
            Ok::<_, (&'static str, String)>(SelectionRow::Select(
                key,
                UseRequest {
                    use_,
                    effective_tax: r.effective_tax.map(Fen::new),
                    reason,
                    reason_text: r.reason_text.clone(),
                },
            ))
        })();
        match parsed {
            Ok(row) => out.push(row),
            Err((reason, message)) => bad.push(RejectedView {
                code: r.code,
                number: r.number,
                reason,
                message,
                row: None,
            }),
        }
    }
    out
}

/// Parses keys; a malformed key is rejected as a row (it names no invoice).
pub(super) fn keys(rows: Vec<KeyBody>, bad: &mut Vec<RejectedView>) -> Vec<InvoiceKey> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        match InvoiceKey::parse_any(r.code.as_deref(), &r.number) {
            Ok(k) => out.push(k),
            Err(e) => bad.push(RejectedView {
                code: r.code,
                number: r.number,
                reason: "invalid_key",
                message: e.message,
                row: None,
            }),
        }
    }
    out
}

#[utoipa::path(
    post,
    path = "/api/v1/selections",
    tag = "taxpayer",
    summary = "勾选与撤销勾选（逐行结果）",
    request_body = SelectionBody,
    responses((status = 200, description = "逐行结果", body = SelectionView))
)]
async fn select(
    a: Acting<TaxpayerUser>,
    body: JsonObject<SelectionBody>,
) -> AppResult<HttpResponse> {
    let b = body.into_inner();
    let mut bad = Vec::new();
    let mut rows = select_rows(b.select, &mut bad);
    rows.extend(
        keys(b.unselect, &mut bad)
            .into_iter()
            .map(SelectionRow::Unselect),
    );
    let report = a
        .run(move |app, who, user| portal::selection::select_rows(app, who, &user.id, &rows))
        .await?;
    let mut view = SelectionView::from(report);
    view.rejected.extend(bad);
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Serialize, ToSchema)]
struct RolledBack {
    #[schema(value_type = String, example = "202611")]
    current_period: TaxPeriod,
    /// Always true: the taxpayer's sessions end.
    logged_out: bool,
    message: &'static str,
}

#[utoipa::path(
    post,
    path = "/api/v1/period/rollback",
    tag = "taxpayer",
    summary = "回退税款所属期",
    responses((status = 200, description = "已回退，会话已结束", body = RolledBack))
)]
async fn rollback(a: Acting<TaxpayerUser>) -> AppResult<HttpResponse> {
    let p = a
        .run(|app, who, user| portal::profile::rollback(app, who, &user.id))
        .await?;
    Ok(HttpResponse::Ok().json(RolledBack {
        current_period: p,
        logged_out: true,
        message: "回退成功，请重新登录",
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PageQuery {
    /// 页码，从1开始（默认1）。
    page: Option<String>,
    /// 每页条数，1至500（默认50）。
    per_page: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/statistics/{period}",
    tag = "taxpayer",
    summary = "抵扣统计（异常发票清单分页）",
    params(
        ("period" = String, Path, description = "税款所属期 YYYYMM", example = "202611"),
        PageQuery
    ),
    responses((status = 200, description = "抵扣统计表", body = StatisticsView))
)]
async fn statistics(
    a: Acting<TaxpayerUser>,
    path: web::Path<String>,
    q: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let period = TaxPeriod::parse(&path.into_inner())?;
    let paging = crate::service::listing::paging(q.page.as_deref(), q.per_page.as_deref())?;
    let v = a
        .run(move |app, who, user| {
            portal::statistics::statistics(app, who, &user.id, period, paging)
        })
        .await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Serialize, ToSchema)]
struct Workbench {
    year: i32,
    #[schema(value_type = String, example = "202611")]
    current_period: TaxPeriod,
    cards: Vec<Card>,
}

#[utoipa::path(
    get,
    path = "/api/v1/workbench/{year}",
    tag = "taxpayer",
    summary = "工作台：12个月份卡片",
    params(("year" = String, Path, description = "年份（2000至2099）", example = "2026")),
    responses((status = 200, description = "12个月份卡片", body = Workbench))
)]
async fn workbench(a: Acting<TaxpayerUser>, path: web::Path<String>) -> AppResult<HttpResponse> {
    let year: i32 = path
        .trim()
        .parse()
        .ok()
        .filter(|y| (2000..=2099).contains(y))
        .ok_or_else(|| AppError::invalid("year", "年份应为2000至2099之间的四位数字"))?;
    let (t, cards) = a
        .run(move |app, who, user| portal::statistics::workbench(app, who, &user.id, year))
        .await?;
    Ok(HttpResponse::Ok().json(Workbench {
        year,
        current_period: t.current_period,
        cards,
    }))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    me,
    set_password,
    rating_changes,
    select,
    rollback,
    statistics,
    workbench
))]
pub(super) struct Doc;
