//! Tax office endpoints: taxpayers, invoice status, declarations, deadlines, the training
//! clock, the audit log and the 常见问题 knowledge base. Every write needs a role that may
//! change data (the knowledge base: 管理员 or 征纳互动坐席); reading the knowledge base is
//! public.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, FixedOffset};
use serde::Deserialize;
use serde_json::json;

use crate::domain::{
    Contact, CreditRating, DeclarationStatus, InvoiceKey, InvoiceStatus, Region, TaxPeriod,
    Taxpayer, TaxpayerId,
};
use crate::error::{AppError, AppResult};
use crate::http::blocking;
use crate::http::extract::{self, StaffUser};
use crate::service::interact::faq::{self, FaqEntry};
use crate::service::office::declarations::DeclarationRow;
use crate::service::office::taxpayers::NewTaxpayer;
use crate::service::office::taxpayers::TaxpayerUpdate;
use crate::service::store_reads::*;
use crate::service::App;
use crate::service::AuditFilter;
use crate::service::{office, portal, settle};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/office/taxpayers", web::post().to(create_taxpayer))
        .route("/office/taxpayers", web::get().to(search_taxpayers))
        .route("/office/taxpayers/{id}", web::get().to(get_taxpayer))
        .route("/office/taxpayers/{id}", web::put().to(update_taxpayer))
        .route(
            "/office/taxpayers/{id}/unlock",
            web::post().to(unlock_taxpayer),
        )
        .route(
            "/office/invoices/{code}/{number}/status",
            web::put().to(set_status),
        )
        .route("/office/invoices/status", web::post().to(set_status_bulk))
        .route(
            "/office/declarations/{taxpayer_id}/{period}",
            web::put().to(set_declaration),
        )
        .route(
            "/office/declarations/{taxpayer_id}/{period}",
            web::get().to(get_declaration),
        )
        .route("/office/declarations", web::post().to(import_declarations))
        .route(
            "/office/deadlines/{region}/{period}",
            web::put().to(set_deadline),
        )
        .route("/office/deadlines/{region}", web::get().to(list_deadlines))
        .route("/office/scans", web::post().to(import_scans))
        .route(
            "/office/statistics/refresh",
            web::post().to(refresh_statistics),
        )
        .route("/office/clock", web::get().to(get_clock))
        .route("/office/clock", web::put().to(set_clock))
        .route("/office/audit", web::get().to(audit))
        .route("/office/audit/export.csv", web::get().to(audit_csv))
        .route("/faq", web::get().to(list_faq))
        .route("/office/faq/reset", web::post().to(reset_faq))
        .route("/office/faq/{id}", web::put().to(put_faq))
        .route("/office/faq/{id}", web::delete().to(delete_faq));
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
    blocking(move || {
        app2.clock.set(&app2.store, &who, to)?;
        // Windows the new time has closed close now, not at the next tick.
        let sys = app2.system("period");
        settle::settle_all(&app2, &sys)
    })
    .await?;
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

/// The audit log as CSV (UTF-8 with a BOM so spreadsheet programs read the Chinese), every
/// entry matching the filters, newest first.
async fn audit_csv(
    app: web::Data<App>,
    _staff: StaffUser,
    q: web::Query<AuditQuery>,
) -> AppResult<HttpResponse> {
    let filter = AuditFilter {
        from: parse_time("from", &q.from)?,
        to: parse_time("to", &q.to)?,
        actor: q.actor.clone().filter(|a| !a.is_empty()),
        limit: usize::MAX,
        offset: 0,
    };
    let app = app.into_inner();
    let (_, items) = blocking(move || crate::service::office::audit::list(&app, &filter)).await?;
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    w.write_record([
        "序号",
        "时间",
        "业务时间",
        "操作人",
        "地址",
        "操作",
        "对象",
        "详情",
    ])
    .map_err(AppError::internal)?;
    for e in &items {
        w.write_record([
            e.seq.to_string(),
            e.at.to_rfc3339(),
            e.business_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            e.actor.to_string(),
            e.address.clone().unwrap_or_default(),
            e.action.clone(),
            e.target.clone(),
            e.detail.clone(),
        ])
        .map_err(AppError::internal)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| AppError::internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            "attachment; filename=\"audit.csv\"",
        ))
        .body(bytes))
}

async fn audit(
    app: web::Data<App>,
    _staff: StaffUser,
    q: web::Query<AuditQuery>,
) -> AppResult<HttpResponse> {
    let (page, per_page) =
        crate::service::listing::paging(q.page.as_deref(), q.per_page.as_deref())?;
    let filter = AuditFilter {
        from: parse_time("from", &q.from)?,
        to: parse_time("to", &q.to)?,
        actor: q.actor.clone().filter(|a| !a.is_empty()),
        limit: per_page,
        offset: (page - 1) * per_page,
    };
    let app = app.into_inner();
    let (total, items) =
        blocking(move || crate::service::office::audit::list(&app, &filter)).await?;
    Ok(HttpResponse::Ok().json(json!({
        "total": total,
        "page": page,
        "per_page": per_page,
        "items": items,
    })))
}

/// The office's view of a taxpayer.
fn taxpayer_json(t: &Taxpayer) -> serde_json::Value {
    json!({
        "taxpayer_id": t.id,
        "name": t.name,
        "region": t.region.code(),
        "region_name": t.region.name(),
        "authority": t.authority,
        "eligible": t.eligible,
        "credit_rating": t.credit_rating,
        "credit_rating_changes": t.rating_history,
        "contact": {"name": t.contact.name, "phone": t.contact.phone, "email": t.contact.email},
        "current_period": t.current_period,
        "platform_password": t.platform_password.is_some(),
        "password_failures_today": t.password_failures.count,
        "first_login_done": t.first_login_done,
        "training": t.training,
        "created_at": t.created_at.to_rfc3339(),
    })
}

fn parse_rating(v: &serde_json::Value) -> AppResult<Option<CreditRating>> {
    match v {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(s) if s.trim().is_empty() => Ok(None),
        serde_json::Value::String(s) => Ok(Some(CreditRating::parse_api(s)?)),
        _ => Err(AppError::invalid(
            "credit_rating",
            "纳税信用等级应为 A、B、C、D、M 或 null",
        )),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactBody {
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
}

impl From<ContactBody> for Contact {
    fn from(c: ContactBody) -> Contact {
        Contact {
            name: c.name.trim().to_string(),
            phone: c.phone.trim().to_string(),
            email: c.email.trim().to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateTaxpayerBody {
    taxpayer_id: String,
    name: String,
    region: Option<String>,
    #[serde(default)]
    authority: String,
    #[serde(default = "yes")]
    eligible: bool,
    #[serde(default)]
    credit_rating: serde_json::Value,
    current_period: Option<String>,
    contact: Option<ContactBody>,
    #[serde(default)]
    training: bool,
}

fn yes() -> bool {
    true
}

async fn create_taxpayer(
    req: HttpRequest,
    app: web::Data<App>,
    staff: StaffUser,
    body: web::Json<CreateTaxpayerBody>,
) -> AppResult<HttpResponse> {
    staff.require_writer()?;
    let b = body.into_inner();
    let id = TaxpayerId::parse(&b.taxpayer_id)?;
    let region = match b.region.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(r) => Region::parse(r)?,
        None => Region::of_taxpayer_id(&id)
            .ok_or_else(|| AppError::invalid("region", "无法从纳税人识别号推断地区，请填写地区"))?,
    };
    let n = NewTaxpayer {
        id,
        name: b.name,
        region,
        authority: b.authority.trim().to_string(),
        eligible: b.eligible,
        credit_rating: parse_rating(&b.credit_rating)?,
        contact: b.contact.map(Contact::from).unwrap_or_default(),
        enterprise: Default::default(),
        current_period: b
            .current_period
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(TaxPeriod::parse)
            .transpose()?,
        training: b.training,
    };
    let app = app.into_inner();
    let who = extract::who(&req, &app, staff.actor());
    let t = blocking(move || office::taxpayers::create(&app, &who, n)).await?;
    Ok(HttpResponse::Created().json(taxpayer_json(&t)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateTaxpayerBody {
    name: Option<String>,
    region: Option<String>,
    authority: Option<String>,
    eligible: Option<bool>,
    /// Absent: unchanged; `null`: cleared.
    #[serde(default, deserialize_with = "present")]
    credit_rating: Option<serde_json::Value>,
    contact: Option<ContactBody>,
}

/// Keeps an explicit `null` apart from an absent field.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

async fn update_taxpayer(
    req: HttpRequest,
    app: web::Data<App>,
    staff: StaffUser,
    path: web::Path<String>,
    body: web::Json<UpdateTaxpayerBody>,
) -> AppResult<HttpResponse> {
    staff.require_writer()?;
    let id = TaxpayerId::parse(&path.into_inner())?;
    let b = body.into_inner();
    let u = TaxpayerUpdate {
        name: b.name,
        region: b.region.as_deref().map(Region::parse).transpose()?,
        authority: b.authority,
        eligible: b.eligible,
        credit_rating: b.credit_rating.as_ref().map(parse_rating).transpose()?,
        contact: b.contact.map(Contact::from),
    };
    let app = app.into_inner();
    let who = extract::who(&req, &app, staff.actor());
    let t = blocking(move || office::taxpayers::update(&app, &who, &id, u)).await?;
    Ok(HttpResponse::Ok().json(taxpayer_json(&t)))
}

async fn get_taxpayer(
    req: HttpRequest,
    app: web::Data<App>,
    staff: StaffUser,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = TaxpayerId::parse(&path.into_inner())?;
    let app = app.into_inner();
    let who = extract::who(&req, &app, staff.actor());
    let (t, changes) = blocking(move || {
        let t = settle::settled(&app, &who, &id)?;
        Ok((t, office::taxpayers::changes(&app, &id)?))
    })
    .await?;
    let mut body = taxpayer_json(&t);
    body["changes"] = serde_json::to_value(changes).map_err(AppError::internal)?;
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Debug, Deserialize)]
struct SearchQuery {
    q: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

async fn search_taxpayers(
    app: web::Data<App>,
    _staff: StaffUser,
    q: web::Query<SearchQuery>,
) -> AppResult<HttpResponse> {
    let (page, per_page) =
        crate::service::listing::paging(q.page.as_deref(), q.per_page.as_deref())?;
    let text = q.q.clone().unwrap_or_default();
    let app = app.into_inner();
    let (total, items) =
        blocking(move || office::taxpayers::search(&app, &text, page, per_page)).await?;
    let items: Vec<_> = items.iter().map(taxpayer_json).collect();
    Ok(HttpResponse::Ok().json(json!({
        "total": total,
        "page": page,
        "per_page": per_page,
        "items": items,
    })))
}

async fn unlock_taxpayer(
    req: HttpRequest,
    app: web::Data<App>,
    staff: StaffUser,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    staff.require_writer()?;
    let id = TaxpayerId::parse(&path.into_inner())?;
    let app = app.into_inner();
    let who = extract::who(&req, &app, staff.actor());
    let t = blocking(move || office::taxpayers::unlock(&app, &who, &id)).await?;
    Ok(HttpResponse::Ok().json(taxpayer_json(&t)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    status: String,
}

async fn set_status(
    req: HttpRequest,
    app: web::Data<App>,
    staff: StaffUser,
    path: web::Path<(String, String)>,
    body: web::Json<StatusBody>,
) -> AppResult<HttpResponse> {
    staff.require_writer()?;
    let (code, number) = path.into_inner();
    let key = InvoiceKey::parse(&code, &number)?;
    let status = InvoiceStatus::parse_api(&body.status)?;
    let app = app.into_inner();
    let who = extract::who(&req, &app, staff.actor());
    let mut out =
        blocking(move || office::invoices::change_status(&app, &who, &[key], status)).await?;
    let inv = out
        .pop()
        .ok_or_else(|| AppError::internal("status change returned nothing"))?;
    Ok(HttpResponse::Ok().json(crate::service::listing::InvoiceView::from(&inv)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkStatusBody {
    status: String,
    invoices: Vec<KeyBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyBody {
    code: String,
    number: String,
}

/// Bulk status change: all or nothing (an unknown invoice fails the whole request).
async fn set_status_bulk(
    req: HttpRequest,
    app: web::Data<App>,
    staff: StaffUser,
    body: web::Json<BulkStatusBody>,
) -> AppResult<HttpResponse> {
    staff.require_writer()?;
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
        .map(|k| InvoiceKey::parse(&k.code, &k.number))
        .collect::<Result<Vec<_>, _>>()?;
    let app = app.into_inner();
    let who = extract::who(&req, &app, staff.actor());
    let out = blocking(move || office::invoices::change_status(&app, &who, &keys, status)).await?;
    Ok(HttpResponse::Ok().json(json!({ "changed": out.len(), "status": status })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeclarationBody {
    status: String,
}

fn declaration_path(path: (String, String)) -> AppResult<(TaxpayerId, TaxPeriod)> {
    Ok((TaxpayerId::parse(&path.0)?, TaxPeriod::parse(&path.1)?))
}

async fn set_declaration(
    req: HttpRequest,
    app: web::Data<App>,
    staff: StaffUser,
    path: web::Path<(String, String)>,
    body: web::Json<DeclarationBody>,
) -> AppResult<HttpResponse> {
    staff.require_writer()?;
    let (id, period) = declaration_path(path.into_inner())?;
    let status = DeclarationStatus::parse_api(&body.status)?;
    let app = app.into_inner();
    let who = extract::who(&req, &app, staff.actor());
    let t =
        blocking(move || office::declarations::record_declaration(&app, &who, &id, period, status))
            .await?;
    Ok(HttpResponse::Ok().json(json!({
        "taxpayer_id": t.id,
        "period": period,
        "status": status,
        "current_period": t.current_period,
    })))
}

async fn get_declaration(
    app: web::Data<App>,
    _staff: StaffUser,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (id, period) = declaration_path(path.into_inner())?;
    let app = app.into_inner();
    let id2 = id.clone();
    let status = blocking(move || {
        office::taxpayers::get(&app, &id2)?;
        app.store.read()?.declaration(&id2, period)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({
        "taxpayer_id": id,
        "period": period,
        "status": status,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeclarationLine {
    taxpayer_id: String,
    period: String,
    status: String,
}

/// Declaration import: a JSON array or JSON lines of `{"taxpayer_id", "period", "status"}`;
/// any invalid line fails the whole import (422 with `rejected`), nothing half-applied.
async fn import_declarations(
    req: HttpRequest,
    app: web::Data<App>,
    staff: StaffUser,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    staff.require_writer()?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| AppError::invalid("body", "内容应为 UTF-8 编码的 JSON"))?;
    let lines: Vec<(usize, Result<DeclarationLine, String>)> = if text.trim_start().starts_with('[')
    {
        match serde_json::from_str::<Vec<serde_json::Value>>(text) {
            Ok(v) => v
                .into_iter()
                .enumerate()
                .map(|(i, x)| (i + 1, serde_json::from_value(x).map_err(|e| e.to_string())))
                .collect(),
            Err(e) => vec![(1, Err(e.to_string()))],
        }
    } else {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| (i + 1, serde_json::from_str(l).map_err(|e| e.to_string())))
            .collect()
    };
    let mut rows = Vec::new();
    let mut rejected = Vec::new();
    for (line, r) in lines {
        let parsed = r.map_err(|e| format!("格式不正确：{e}")).and_then(|l| {
            Ok(DeclarationRow {
                taxpayer: TaxpayerId::parse(&l.taxpayer_id).map_err(|e| e.message)?,
                period: TaxPeriod::parse(&l.period).map_err(|e| e.message)?,
                status: DeclarationStatus::parse_api(&l.status).map_err(|e| e.message)?,
            })
        });
        match parsed {
            Ok(row) => rows.push(row),
            Err(reason) => rejected.push(json!({"line": line, "reason": reason})),
        }
    }
    if !rejected.is_empty() {
        return Err(
            AppError::invalid("body", "申报状态数据有误，未导入任何记录")
                .with_extra("rejected", serde_json::Value::Array(rejected)),
        );
    }
    if rows.is_empty() {
        return Err(AppError::invalid("body", "没有可导入的申报状态"));
    }
    let app = app.into_inner();
    let who = extract::who(&req, &app, staff.actor());
    let n = blocking(move || office::declarations::import_declarations(&app, &who, &rows)).await?;
    Ok(HttpResponse::Ok().json(json!({ "imported": n })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeadlineBody {
    deadline: String,
}

async fn set_deadline(
    req: HttpRequest,
    app: web::Data<App>,
    staff: StaffUser,
    path: web::Path<(String, String)>,
    body: web::Json<DeadlineBody>,
) -> AppResult<HttpResponse> {
    staff.require_writer()?;
    let (region, period) = path.into_inner();
    let region = Region::parse(&region)?;
    let period = TaxPeriod::parse(&period)?;
    let deadline = crate::domain::query::parse_date("deadline", "申报截止日", &body.deadline)?;
    let app = app.into_inner();
    let who = extract::who(&req, &app, staff.actor());
    blocking(move || office::declarations::set_deadline(&app, &who, region, period, deadline))
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "region": region.code(),
        "period": period,
        "deadline": deadline,
    })))
}

#[derive(Debug, Deserialize)]
struct YearQuery {
    year: Option<i32>,
}

async fn list_deadlines(
    app: web::Data<App>,
    _staff: StaffUser,
    path: web::Path<String>,
    q: web::Query<YearQuery>,
) -> AppResult<HttpResponse> {
    let region = Region::parse(&path.into_inner())?;
    let app = app.into_inner();
    let year = q.year.unwrap_or_else(|| {
        use chrono::Datelike;
        app.clock.now().year()
    });
    let list = blocking(move || office::declarations::deadlines(&app, region, year)).await?;
    let items: Vec<_> = list
        .into_iter()
        .map(|(p, d, recorded)| json!({"period": p, "deadline": d, "recorded": recorded}))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "region": region.code(), "year": year, "items": items })))
}

/// 扫描认证 records (ndjson), waiting for the statistics job or a refresh.
async fn import_scans(
    req: HttpRequest,
    app: web::Data<App>,
    staff: StaffUser,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    staff.require_writer()?;
    let app = app.into_inner();
    let who = extract::who(&req, &app, staff.actor());
    let n = blocking(move || crate::service::office::statistics::import_scans(&app, &who, &body))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "imported": n, "pending": true })))
}

/// Applies pending scan certifications now (what the nightly job does).
async fn refresh_statistics(
    req: HttpRequest,
    app: web::Data<App>,
    staff: StaffUser,
) -> AppResult<HttpResponse> {
    staff.require_writer()?;
    let app = app.into_inner();
    let who = extract::who(&req, &app, staff.actor());
    let report =
        blocking(move || crate::service::office::statistics::apply_scans(&app, &who)).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The 常见问题 knowledge base as it is now (public, like the 常见问题 page).
async fn list_faq(app: web::Data<App>) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let items = blocking(move || faq::current(&app.store)).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

/// A question of the knowledge base; the id is the one of the path. Missing text fields are
/// empty (and refused by the rules with their field).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaqBody {
    id: Option<String>,
    #[serde(default)]
    category: String,
    #[serde(default)]
    question: String,
    #[serde(default)]
    answer: String,
    #[serde(default)]
    aliases: Vec<String>,
}

/// Adds the question `{id}` or replaces it (管理员, 征纳互动坐席); answers the entry as saved.
async fn put_faq(
    req: HttpRequest,
    app: web::Data<App>,
    staff: StaffUser,
    path: web::Path<String>,
    body: web::Json<FaqBody>,
) -> AppResult<HttpResponse> {
    faq::require_editor(staff.role)?;
    let id = path.into_inner();
    let b = body.into_inner();
    if b.id.as_deref().is_some_and(|x| x.trim() != id.trim()) {
        return Err(AppError::invalid("id", "请求中的编号与地址中的编号不一致"));
    }
    let entry = faq::validate(FaqEntry {
        id,
        category: b.category,
        question: b.question,
        answer: b.answer,
        aliases: b.aliases,
    })?;
    let app = app.into_inner();
    let who = extract::who(&req, &app, staff.actor());
    let saved = entry.clone();
    blocking(move || faq::upsert(&app, &who, saved)).await?;
    Ok(HttpResponse::Ok().json(entry))
}

async fn delete_faq(
    req: HttpRequest,
    app: web::Data<App>,
    staff: StaffUser,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    faq::require_editor(staff.role)?;
    let id = path.into_inner();
    let app = app.into_inner();
    let who = extract::who(&req, &app, staff.actor());
    blocking(move || faq::delete(&app, &who, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Back to the default (seed) knowledge base.
async fn reset_faq(
    req: HttpRequest,
    app: web::Data<App>,
    staff: StaffUser,
) -> AppResult<HttpResponse> {
    faq::require_editor(staff.role)?;
    let app = app.into_inner();
    let who = extract::who(&req, &app, staff.actor());
    let count = blocking(move || faq::reset(&app, &who)).await?;
    Ok(HttpResponse::Ok().json(json!({ "reset": true, "count": count })))
}
