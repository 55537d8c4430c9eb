//! The taxpayer's own endpoints: profile, platform password and its recovery, selections,
//! confirmations (确定 / 提交 / history) and 回退税款所属期.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::domain::rules::DeclarationAnswer;
use crate::domain::{Actor, InvoiceKey, TaxPeriod, TaxpayerId};
use crate::error::{AppError, AppResult, Code};
use crate::http::blocking;
use crate::http::extract::{self, TaxpayerUser};
use crate::service::portal::confirmation::BatchView;
use crate::service::portal::profile::PasswordChange;
use crate::service::portal::selection::SelectionView;
use crate::service::App;
use crate::service::{office, portal, settle};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/me", web::get().to(me))
        .route("/me/password", web::put().to(set_password))
        .route("/me/changes", web::get().to(rating_changes))
        .route("/session/recover", web::get().to(recovery_question))
        .route("/session/recover", web::post().to(recover))
        .route("/selections", web::post().to(select))
        .route("/confirmations", web::post().to(make_batch))
        .route("/confirmations", web::get().to(list_batches))
        .route(
            "/confirmations/{period}/{batch}/submit",
            web::post().to(submit),
        )
        .route(
            "/confirmations/{period}/{batch}",
            web::get().to(batch_detail),
        )
        .route("/period/rollback", web::post().to(rollback))
        .route("/statistics/{period}", web::get().to(statistics))
        .route("/workbench/{year}", web::get().to(workbench));
}

async fn me(req: HttpRequest, app: web::Data<App>, user: TaxpayerUser) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let who = extract::who(&req, &app, user.actor());
    let p = blocking(move || portal::profile::profile(&app, &who, &user.id)).await?;
    Ok(HttpResponse::Ok().json(p))
}

async fn rating_changes(app: web::Data<App>, user: TaxpayerUser) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let t = blocking(move || office::taxpayers::get(&app, &user.id)).await?;
    Ok(HttpResponse::Ok().json(json!({ "credit_rating_changes": t.rating_history })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    enabled: bool,
    password: Option<String>,
    question: Option<String>,
    answer: Option<String>,
}

async fn set_password(
    req: HttpRequest,
    app: web::Data<App>,
    user: TaxpayerUser,
    body: web::Json<PasswordBody>,
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
    let app = app.into_inner();
    let who = extract::who(&req, &app, user.actor());
    let enabled =
        blocking(move || portal::profile::set_password(&app, &who, &user.id, change)).await?;
    Ok(HttpResponse::Ok().json(json!({ "enabled": enabled })))
}

#[derive(Debug, Deserialize)]
struct RecoverQuery {
    taxpayer_id: Option<String>,
}

/// Whom a recovery request is for: the certificate's taxpayer (the ID given, if any, must
/// match), or in training mode the ID given.
fn recovering(req: &HttpRequest, app: &App, given: Option<&str>) -> AppResult<TaxpayerId> {
    let given = given
        .filter(|s| !s.trim().is_empty())
        .map(TaxpayerId::parse)
        .transpose()?;
    match (extract::certificate_taxpayer(req, app)?, given) {
        (Some(id), Some(g)) if g != id => Err(AppError::new(Code::CertificateInvalid)
            .with_message("证书中的纳税人识别号与填写的纳税人识别号不一致")
            .with_extra("reason", "taxpayer_mismatch")),
        (Some(id), _) => Ok(id),
        (None, Some(g)) if app.training() => Ok(g),
        (None, None) if app.training() => {
            Err(AppError::invalid("taxpayer_id", "请输入纳税人识别号"))
        }
        (None, _) => Err(AppError::new(Code::CertificateRequired)),
    }
}

/// The recovery question of a taxpayer.
async fn recovery_question(
    req: HttpRequest,
    app: web::Data<App>,
    q: web::Query<RecoverQuery>,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let id = recovering(&req, &app, q.taxpayer_id.as_deref())?;
    let question = blocking(move || portal::profile::recovery_question(&app, &id)).await?;
    Ok(HttpResponse::Ok().json(json!({ "question": question })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecoverBody {
    taxpayer_id: Option<String>,
    answer: String,
}

async fn recover(
    req: HttpRequest,
    app: web::Data<App>,
    body: web::Json<RecoverBody>,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let id = recovering(&req, &app, body.taxpayer_id.as_deref())?;
    let who = extract::who(&req, &app, Actor::Anonymous);
    let answer = body.into_inner().answer;
    let id2 = id.clone();
    blocking(move || portal::profile::recover(&app, &who, &id2, &answer)).await?;
    Ok(HttpResponse::Ok().json(json!({
        "taxpayer_id": id,
        "platform_password": false,
        "message": "密保问题回答正确，平台密码已取消，请重新登录",
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyBody {
    code: String,
    number: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SelectionBody {
    #[serde(default)]
    select: Vec<KeyBody>,
    #[serde(default)]
    unselect: Vec<KeyBody>,
}

/// Parses keys; a malformed key is rejected as a row (it names no invoice).
fn keys(rows: Vec<KeyBody>, bad: &mut Vec<serde_json::Value>) -> Vec<InvoiceKey> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        match InvoiceKey::parse(&r.code, &r.number) {
            Ok(k) => out.push(k),
            Err(e) => bad.push(json!({
                "code": r.code,
                "number": r.number,
                "reason": "invalid_key",
                "message": e.message,
            })),
        }
    }
    out
}

async fn select(
    req: HttpRequest,
    app: web::Data<App>,
    user: TaxpayerUser,
    body: web::Json<SelectionBody>,
) -> AppResult<HttpResponse> {
    let b = body.into_inner();
    let mut bad = Vec::new();
    let sel = keys(b.select, &mut bad);
    let unsel = keys(b.unselect, &mut bad);
    let app = app.into_inner();
    let who = extract::who(&req, &app, user.actor());
    let report =
        blocking(move || portal::selection::select(&app, &who, &user.id, &sel, &unsel)).await?;
    let view = SelectionView::from(report);
    let mut body = serde_json::to_value(&view).map_err(AppError::internal)?;
    if let Some(list) = body["rejected"].as_array_mut() {
        list.extend(bad);
    }
    Ok(HttpResponse::Ok().json(body))
}

async fn make_batch(
    req: HttpRequest,
    app: web::Data<App>,
    user: TaxpayerUser,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let who = extract::who(&req, &app, user.actor());
    let o = blocking(move || portal::confirmation::make_batch(&app, &who, &user.id)).await?;
    Ok(HttpResponse::Ok().json(BatchView::from(&o)))
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

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SubmitBody {
    declaration: Option<String>,
}

async fn submit(
    req: HttpRequest,
    app: web::Data<App>,
    user: TaxpayerUser,
    path: web::Path<(String, String)>,
    body: Option<web::Json<SubmitBody>>,
) -> AppResult<HttpResponse> {
    let (period, n) = batch_path(path.into_inner())?;
    let answer = body
        .and_then(|b| b.into_inner().declaration)
        .map(|s| DeclarationAnswer::parse_api(&s))
        .transpose()?;
    let app = app.into_inner();
    let who = extract::who(&req, &app, user.actor());
    let o = blocking(move || portal::confirmation::submit(&app, &who, &user.id, period, n, answer))
        .await?;
    Ok(HttpResponse::Ok().json(BatchView::from(&o)))
}

#[derive(Debug, Deserialize)]
struct PeriodQuery {
    period: Option<String>,
}

async fn list_batches(
    req: HttpRequest,
    app: web::Data<App>,
    user: TaxpayerUser,
    q: web::Query<PeriodQuery>,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let who = extract::who(&req, &app, user.actor());
    let given = q
        .period
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(TaxPeriod::parse)
        .transpose()?;
    let list = blocking(move || {
        let period = match given {
            Some(p) => p,
            None => settle::settled(&app, &who, &user.id)?.current_period,
        };
        Ok((
            period,
            portal::confirmation::batches(&app, &who, &user.id, period)?,
        ))
    })
    .await?;
    let items: Vec<BatchView> = list.1.iter().map(BatchView::from).collect();
    Ok(HttpResponse::Ok().json(json!({
        "period": list.0,
        "total": items.len(),
        "items": items,
    })))
}

async fn batch_detail(
    req: HttpRequest,
    app: web::Data<App>,
    user: TaxpayerUser,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (period, n) = batch_path(path.into_inner())?;
    let app = app.into_inner();
    let who = extract::who(&req, &app, user.actor());
    let (o, items) =
        blocking(move || portal::confirmation::batch_detail(&app, &who, &user.id, period, n))
            .await?;
    let mut body = serde_json::to_value(BatchView::from(&o)).map_err(AppError::internal)?;
    body["invoices"] = serde_json::to_value(items).map_err(AppError::internal)?;
    Ok(HttpResponse::Ok().json(body))
}

async fn rollback(
    req: HttpRequest,
    app: web::Data<App>,
    user: TaxpayerUser,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let who = extract::who(&req, &app, user.actor());
    let p = blocking(move || portal::profile::rollback(&app, &who, &user.id)).await?;
    Ok(HttpResponse::Ok().json(json!({
        "current_period": p,
        "logged_out": true,
        "message": "回退成功，请重新登录",
    })))
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    page: Option<String>,
    per_page: Option<String>,
}

async fn statistics(
    req: HttpRequest,
    app: web::Data<App>,
    user: TaxpayerUser,
    path: web::Path<String>,
    q: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let period = TaxPeriod::parse(&path.into_inner())?;
    let (page, per_page) =
        crate::service::listing::paging(q.page.as_deref(), q.per_page.as_deref())?;
    let app = app.into_inner();
    let who = extract::who(&req, &app, user.actor());
    let v = blocking(move || {
        crate::service::portal::statistics::statistics(&app, &who, &user.id, period, page, per_page)
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

async fn workbench(
    req: HttpRequest,
    app: web::Data<App>,
    user: TaxpayerUser,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let year: i32 = path
        .trim()
        .parse()
        .ok()
        .filter(|y| (2000..=2099).contains(y))
        .ok_or_else(|| AppError::invalid("year", "年份应为2000至2099之间的四位数字"))?;
    let app = app.into_inner();
    let who = extract::who(&req, &app, user.actor());
    let (t, cards) =
        blocking(move || crate::service::portal::statistics::workbench(&app, &who, &user.id, year))
            .await?;
    Ok(HttpResponse::Ok().json(json!({
        "year": year,
        "current_period": t.current_period,
        "cards": cards,
    })))
}
