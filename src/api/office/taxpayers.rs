//! 纳税人档案: create, search, read (with its changes), update, unlock the platform password.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::super::router::Routes;
use super::super::schema::{ProfileChangeShape, RatingChangeShape};
use crate::domain::{
    Contact, CreditRating, ProfileChange, RatingChange, RefundRegistration, Region, TaxPeriod,
    Taxpayer, TaxpayerId,
};
use crate::error::{AppError, AppResult};
use crate::http::extract::{Acting, JsonObject, StaffUser};
use crate::service::office::taxpayers::{NewTaxpayer, TaxpayerUpdate};
use crate::service::{office, settle};

pub(super) fn routes(r: &mut Routes<'_>) {
    r.post("/office/taxpayers", create_taxpayer)
        .get("/office/taxpayers", search_taxpayers)
        .get("/office/taxpayers/{id}", get_taxpayer)
        .put("/office/taxpayers/{id}", update_taxpayer)
        .post("/office/taxpayers/{id}/unlock", unlock_taxpayer)
        .put(
            "/office/taxpayers/{id}/refund-registration",
            set_refund_registration,
        );
}

#[derive(Serialize, ToSchema)]
struct ContactView {
    name: String,
    phone: String,
    email: String,
}

/// The office's view of a taxpayer.
#[derive(Serialize, ToSchema)]
struct TaxpayerRecord {
    #[schema(value_type = String, example = "91350100M000100Y43")]
    taxpayer_id: TaxpayerId,
    name: String,
    /// 地区代码
    #[schema(example = "350000")]
    region: &'static str,
    region_name: &'static str,
    /// 主管税务机关
    authority: String,
    eligible: bool,
    #[schema(value_type = Option<String>, example = "A")]
    credit_rating: Option<CreditRating>,
    #[schema(value_type = Vec<RatingChangeShape>)]
    credit_rating_changes: Vec<RatingChange>,
    contact: ContactView,
    #[schema(value_type = String, example = "202611")]
    current_period: TaxPeriod,
    platform_password: bool,
    password_failures_today: u32,
    first_login_done: bool,
    training: bool,
    created_at: String,
}

impl From<&Taxpayer> for TaxpayerRecord {
    fn from(t: &Taxpayer) -> TaxpayerRecord {
        TaxpayerRecord {
            taxpayer_id: t.id.clone(),
            name: t.name.clone(),
            region: t.region.code(),
            region_name: t.region.name(),
            authority: t.authority.clone(),
            eligible: t.eligible,
            credit_rating: t.credit_rating,
            credit_rating_changes: t.rating_history.clone(),
            contact: ContactView {
                name: t.contact.name.clone(),
                phone: t.contact.phone.clone(),
                email: t.contact.email.clone(),
            },
            current_period: t.current_period,
            platform_password: t.platform_password.is_some(),
            password_failures_today: t.password_failures.count,
            first_login_done: t.first_login_done,
            training: t.training,
            created_at: t.created_at.to_rfc3339(),
        }
    }
}

/// The taxpayer's 退税 registration: 出口退税企业 may select for 退税, 外贸综合服务企业 for 代办退税.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RegistrationView {
    /// 出口退税企业
    exporter: bool,
    /// 外贸综合服务企业
    trade_service: bool,
}

impl From<RefundRegistration> for RegistrationView {
    fn from(r: RefundRegistration) -> Self {
        RegistrationView {
            exporter: r.exporter,
            trade_service: r.trade_service,
        }
    }
}

/// A taxpayer with the changes of its record.
#[derive(Serialize, ToSchema)]
struct TaxpayerDetail {
    #[serde(flatten)]
    record: TaxpayerRecord,
    /// 退税登记
    refund_registration: RegistrationView,
    #[schema(value_type = Vec<ProfileChangeShape>)]
    changes: Vec<ProfileChange>,
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

#[derive(Debug, Deserialize, ToSchema)]
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateTaxpayerBody {
    #[schema(example = "91350100M000100Y43")]
    taxpayer_id: String,
    name: String,
    /// 地区代码（默认从纳税人识别号推断）。
    region: Option<String>,
    /// 主管税务机关
    #[serde(default)]
    authority: String,
    /// 登录资格（默认 true）。
    #[serde(default = "yes")]
    eligible: bool,
    /// 纳税信用等级 A、B、C、D、M，或 null。
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    credit_rating: serde_json::Value,
    /// 当前税款所属期 YYYYMM。
    current_period: Option<String>,
    contact: Option<ContactBody>,
    #[serde(default)]
    training: bool,
}

fn yes() -> bool {
    true
}

#[utoipa::path(
    post,
    path = "/api/v1/office/taxpayers",
    tag = "office",
    summary = "新增纳税人",
    description = super::WRITER,
    request_body = CreateTaxpayerBody,
    responses((status = 201, description = "已新增", body = TaxpayerRecord))
)]
async fn create_taxpayer(
    a: Acting<StaffUser>,
    body: JsonObject<CreateTaxpayerBody>,
) -> AppResult<HttpResponse> {
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
    let t = a
        .run(move |app, who, _| office::taxpayers::create(app, who, n))
        .await?;
    Ok(HttpResponse::Created().json(TaxpayerRecord::from(&t)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UpdateTaxpayerBody {
    name: Option<String>,
    region: Option<String>,
    authority: Option<String>,
    eligible: Option<bool>,
    /// Absent: unchanged; `null`: cleared.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    credit_rating: Option<serde_json::Value>,
    contact: Option<ContactBody>,
}

/// Keeps an explicit `null` apart from an absent field.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

#[utoipa::path(
    put,
    path = "/api/v1/office/taxpayers/{id}",
    tag = "office",
    summary = "修改纳税人档案（名称、地区、登录资格、信用等级、办税人员）",
    description = super::WRITER,
    params(("id" = String, Path, description = "纳税人识别号", example = "91350100M000100Y43")),
    request_body = UpdateTaxpayerBody,
    responses((status = 200, description = "修改后的档案", body = TaxpayerRecord))
)]
async fn update_taxpayer(
    a: Acting<StaffUser>,
    path: web::Path<String>,
    body: JsonObject<UpdateTaxpayerBody>,
) -> AppResult<HttpResponse> {
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
    let t = a
        .run(move |app, who, _| office::taxpayers::update(app, who, &id, u))
        .await?;
    Ok(HttpResponse::Ok().json(TaxpayerRecord::from(&t)))
}

#[utoipa::path(
    get,
    path = "/api/v1/office/taxpayers/{id}",
    tag = "office",
    summary = "纳税人档案及变更记录",
    params(("id" = String, Path, description = "纳税人识别号", example = "91350100M000100Y43")),
    responses((status = 200, description = "档案及变更记录", body = TaxpayerDetail))
)]
async fn get_taxpayer(a: Acting<StaffUser>, path: web::Path<String>) -> AppResult<HttpResponse> {
    let id = TaxpayerId::parse(&path.into_inner())?;
    let (t, changes, registration) = a
        .run(move |app, who, _| {
            let t = settle::settled(app, who, &id)?;
            Ok((
                t,
                office::taxpayers::changes(app, &id)?,
                office::taxpayers::refund_registration(app, &id)?,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(TaxpayerDetail {
        record: TaxpayerRecord::from(&t),
        refund_registration: registration.into(),
        changes,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SearchQuery {
    /// 纳税人识别号或名称。
    q: Option<String>,
    /// 页码，从1开始（默认1）。
    page: Option<String>,
    /// 每页条数，1至500（默认50）。
    per_page: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct TaxpayerPage {
    total: usize,
    page: usize,
    per_page: usize,
    items: Vec<TaxpayerRecord>,
}

#[utoipa::path(
    get,
    path = "/api/v1/office/taxpayers",
    tag = "office",
    summary = "按纳税人识别号或名称查询纳税人",
    params(SearchQuery),
    responses((status = 200, description = "一页纳税人", body = TaxpayerPage))
)]
async fn search_taxpayers(
    a: Acting<StaffUser>,
    q: web::Query<SearchQuery>,
) -> AppResult<HttpResponse> {
    let paging = crate::service::listing::paging(q.page.as_deref(), q.per_page.as_deref())?;
    let text = q.q.clone().unwrap_or_default();
    let (total, items) = a
        .run(move |app, _, _| office::taxpayers::search(app, &text, paging))
        .await?;
    Ok(HttpResponse::Ok().json(TaxpayerPage {
        total,
        page: paging.page(),
        per_page: paging.per_page(),
        items: items.iter().map(TaxpayerRecord::from).collect(),
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/office/taxpayers/{id}/unlock",
    tag = "office",
    summary = "解锁平台密码",
    description = super::WRITER,
    params(("id" = String, Path, description = "纳税人识别号", example = "91350100M000100Y43")),
    responses((status = 200, description = "解锁后的档案", body = TaxpayerRecord))
)]
async fn unlock_taxpayer(a: Acting<StaffUser>, path: web::Path<String>) -> AppResult<HttpResponse> {
    let id = TaxpayerId::parse(&path.into_inner())?;
    let t = a
        .run(move |app, who, _| office::taxpayers::unlock(app, who, &id))
        .await?;
    Ok(HttpResponse::Ok().json(TaxpayerRecord::from(&t)))
}

#[utoipa::path(
    put,
    path = "/api/v1/office/taxpayers/{id}/refund-registration",
    tag = "office",
    summary = "登记退税资格（出口退税企业、外贸综合服务企业）",
    description = super::WRITER,
    params(("id" = String, Path, description = "纳税人识别号", example = "91350100M000100Y43")),
    request_body = RegistrationView,
    responses((status = 200, description = "登记后的退税资格", body = RegistrationView))
)]
async fn set_refund_registration(
    a: Acting<StaffUser>,
    path: web::Path<String>,
    body: JsonObject<RegistrationView>,
) -> AppResult<HttpResponse> {
    let id = TaxpayerId::parse(&path.into_inner())?;
    let b = body.into_inner();
    let r = RefundRegistration {
        exporter: b.exporter,
        trade_service: b.trade_service,
    };
    let r = a
        .run(move |app, who, _| office::taxpayers::set_refund_registration(app, who, &id, r))
        .await?;
    Ok(HttpResponse::Ok().json(RegistrationView::from(r)))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_taxpayer,
    search_taxpayers,
    get_taxpayer,
    update_taxpayer,
    unlock_taxpayer,
    set_refund_registration
))]
pub(super) struct Doc;
