//! 纳税人管理: search by ID or name (paged), 新增纳税人, 修改档案 (name, region, authority,
//! eligibility, credit rating, 办税人员), 解锁平台密码, and a taxpayer's page
//! (`taxpayer.rs`, registered after these so that `new` is not read as an ID). The same services as `/api/v1/office/taxpayers`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::{may_write, query_string, rating_label, staff_page};
use crate::domain::{
    Area, Contact, CreditRating, RefundRegistration, Region, TaxPeriod, Taxpayer, TaxpayerId,
};
use crate::error::{AppError, AppResult};
use crate::http::extract::{Acting, StaffUser};
use crate::service::office::taxpayers::{self, NewTaxpayer, TaxpayerUpdate};
use crate::web::components::pager;
use crate::web::layout::notice;
use crate::web::pages::{html, see_other};

const ACTIVE: &str = "/office/taxpayers";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/office/taxpayers", web::get().to(list))
        .route("/office/taxpayers", web::post().to(create))
        // Before `{id}`: `new` is not an ID.
        .route("/office/taxpayers/new", web::get().to(new_form))
        .route("/office/taxpayers/{id}", web::post().to(update))
        .route("/office/taxpayers/{id}/edit", web::get().to(edit_form))
        .route("/office/taxpayers/{id}/unlock", web::post().to(unlock));
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    q: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

async fn list(a: Acting<StaffUser>, q: web::Query<ListQuery>) -> AppResult<HttpResponse> {
    let staff = a.user.clone();
    let paging = crate::service::listing::paging(q.page.as_deref(), q.per_page.as_deref())?;
    let text = q.q.clone().unwrap_or_default();
    let t2 = text.clone();
    let (total, items) = a
        .run(move |app, _, _| taxpayers::search(app, &t2, paging))
        .await?;
    let per_page = paging.per_page().to_string();
    let writer = may_write(&staff, Area::ChangeOffice);
    let body = html! {
        section.card.people {
            h1 { "纳税人管理" }
            form.inline method="get" action="/office/taxpayers" role="search" {
                label { "纳税人识别号或名称 " input name="q" value=(text) maxlength="100"; }
                button type="submit" { "查询" }
                @if writer { a.button.secondary href="/office/taxpayers/new" { "新增纳税人" } }
            }
            p.summary { "共 " (total) " 户" }
            table.grid {
                thead { tr {
                    th { "纳税人识别号" } th { "纳税人名称" } th { "地区" } th { "纳税信用等级" }
                    th { "登录资格" } th { "当前税款所属期" } th { "今日密码错误" }
                } }
                tbody {
                    @for t in &items {
                        tr {
                            td.mono { a href={ "/office/taxpayers/" (t.id) } { (t.id) } }
                            td { (t.name) }
                            td { (t.region.name()) }
                            td { (rating_label(t.credit_rating)) }
                            td { (if t.eligible { "有" } else { "无" }) }
                            td { (t.current_period.label_zh()) }
                            td.num { (t.password_failures.count) }
                        }
                    }
                }
            }
            @if items.is_empty() { p.hint { "没有符合条件的纳税人。" } }
            (pager("纳税人分页", paging.page(), paging.per_page(), total as u64, |p| {
                format!("/office/taxpayers{}", query_string(&[("q", text.as_str()), ("page", p.to_string().as_str()), ("per_page", per_page.as_str())]))
            }))
        }
    };
    Ok(html(
        StatusCode::OK,
        staff_page(&staff, "纳税人管理", ACTIVE, body),
    ))
}

/// The taxpayer form's fields as typed.
#[derive(Debug, Default, Deserialize)]
struct TaxpayerForm {
    #[serde(default)]
    taxpayer_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    authority: String,
    #[serde(default)]
    eligible: String,
    #[serde(default)]
    credit_rating: String,
    #[serde(default)]
    current_period: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_phone: String,
    #[serde(default)]
    contact_email: String,
    /// 出口退税企业 (a checkbox: `1` when ticked).
    #[serde(default)]
    exporter: String,
    /// 外贸综合服务企业 (a checkbox: `1` when ticked).
    #[serde(default)]
    trade_service: String,
}

impl TaxpayerForm {
    fn of(t: &Taxpayer) -> TaxpayerForm {
        TaxpayerForm {
            taxpayer_id: t.id.to_string(),
            name: t.name.clone(),
            region: t.region.code().to_string(),
            authority: t.authority.clone(),
            eligible: if t.eligible { "1" } else { "0" }.into(),
            credit_rating: t
                .credit_rating
                .map(|r| r.as_str().to_string())
                .unwrap_or_default(),
            current_period: t.current_period.to_string(),
            contact_name: t.contact.name.clone(),
            contact_phone: t.contact.phone.clone(),
            contact_email: t.contact.email.clone(),
            exporter: String::new(),
            trade_service: String::new(),
        }
    }

    fn with_registration(mut self, r: RefundRegistration) -> TaxpayerForm {
        self.exporter = if r.exporter { "1" } else { "" }.into();
        self.trade_service = if r.trade_service { "1" } else { "" }.into();
        self
    }

    /// The 退税 registration the two checkboxes give.
    fn registration(&self) -> RefundRegistration {
        RefundRegistration {
            exporter: !self.exporter.trim().is_empty(),
            trade_service: !self.trade_service.trim().is_empty(),
        }
    }

    fn rating(&self) -> AppResult<Option<CreditRating>> {
        let r = self.credit_rating.trim();
        if r.is_empty() {
            Ok(None)
        } else {
            Ok(Some(CreditRating::parse_api(r)?))
        }
    }

    fn eligible(&self) -> AppResult<bool> {
        match self.eligible.trim() {
            "1" | "" => Ok(true),
            "0" => Ok(false),
            _ => Err(AppError::invalid("eligible", "登录资格应为“有”或“无”")),
        }
    }

    fn contact(&self) -> Contact {
        Contact {
            name: self.contact_name.trim().to_string(),
            phone: self.contact_phone.trim().to_string(),
            email: self.contact_email.trim().to_string(),
        }
    }

    fn new_taxpayer(&self, training: bool) -> AppResult<NewTaxpayer> {
        let id = TaxpayerId::parse(&self.taxpayer_id)?;
        let region = match self.region.trim() {
            "" => Region::of_taxpayer_id(&id).ok_or_else(|| {
                AppError::invalid("region", "无法从纳税人识别号推断地区，请选择地区")
            })?,
            r => Region::parse(r)?,
        };
        let current_period = match self.current_period.trim() {
            "" => None,
            p => Some(TaxPeriod::parse(p)?),
        };
        Ok(NewTaxpayer {
            id,
            name: self.name.clone(),
            region,
            authority: self.authority.trim().to_string(),
            eligible: self.eligible()?,
            credit_rating: self.rating()?,
            contact: self.contact(),
            enterprise: Default::default(),
            current_period,
            training,
        })
    }

    fn update(&self) -> AppResult<TaxpayerUpdate> {
        Ok(TaxpayerUpdate {
            name: Some(self.name.clone()),
            region: Some(Region::parse(self.region.trim())?),
            authority: Some(self.authority.clone()),
            eligible: Some(self.eligible()?),
            credit_rating: Some(self.rating()?),
            contact: Some(self.contact()),
        })
    }
}

/// 新增纳税人, or editing the taxpayer with this ID.
#[derive(Debug, Clone, Copy)]
enum Mode<'a> {
    New,
    Edit(&'a str),
}

fn form_view(staff: &StaffUser, mode: Mode<'_>, f: &TaxpayerForm, error: Option<&str>) -> Markup {
    let (title, action, back) = match mode {
        Mode::New => (
            "新增纳税人",
            "/office/taxpayers".to_string(),
            "/office/taxpayers".to_string(),
        ),
        Mode::Edit(id) => (
            "修改纳税人档案",
            format!("/office/taxpayers/{id}"),
            format!("/office/taxpayers/{id}"),
        ),
    };
    let editing = matches!(mode, Mode::Edit(_));
    let body = html! {
        section.card.people {
            h1 { (title) }
            @if let Some(e) = error { (notice("error", e)) }
            form.stack.wide method="post" action=(action) {
                label {
                    "纳税人识别号"
                    input.mono name="taxpayer_id" value=(f.taxpayer_id) required maxlength="20"
                        autocomplete="off" readonly[editing];
                }
                label { "纳税人名称" input name="name" value=(f.name) required maxlength="100"; }
                label {
                    "地区"
                    select name="region" {
                        @if !editing { option value="" { "按纳税人识别号推断" } }
                        @for r in Region::all() {
                            option value=(r.code()) selected[f.region.trim() == r.code()] { (r.name()) " (" (r.code()) ")" }
                        }
                    }
                }
                label { "主管税务机关" input name="authority" value=(f.authority) maxlength="100"; }
                label {
                    "登录资格"
                    select name="eligible" {
                        option value="1" selected[f.eligible != "0"] { "有" }
                        option value="0" selected[f.eligible == "0"] { "无" }
                    }
                }
                label {
                    "纳税信用等级"
                    select name="credit_rating" {
                        option value="" selected[f.credit_rating.trim().is_empty()] { "未设置" }
                        @for r in CreditRating::ALL {
                            option value=(r.as_str()) selected[f.credit_rating.trim().eq_ignore_ascii_case(r.as_str())] { (r.as_str()) "级" }
                        }
                    }
                }
                @if !editing {
                    label {
                        "当前税款所属期（YYYYMM，默认为当前月份）"
                        input name="current_period" value=(f.current_period) maxlength="6" pattern="[0-9]{6}" placeholder="如 202611";
                    }
                }
                @if editing {
                    fieldset.refund-registration {
                        legend { "退税登记" }
                        label.check { input type="checkbox" name="exporter" value="1" checked[!f.exporter.is_empty()]; " 出口退税企业（可勾选用途“退税”）" }
                        label.check { input type="checkbox" name="trade_service" value="1" checked[!f.trade_service.is_empty()]; " 外贸综合服务企业（可勾选用途“代办退税”）" }
                    }
                }
                fieldset {
                    legend { "办税人员" }
                    label { "姓名" input name="contact_name" value=(f.contact_name) maxlength="50"; }
                    label { "手机号码" input name="contact_phone" value=(f.contact_phone) maxlength="20"; }
                    label { "电子邮箱" input name="contact_email" type="email" value=(f.contact_email) maxlength="100"; }
                }
                div.actions {
                    button type="submit" { "保存" }
                    a.button.secondary href=(back) { "返回" }
                }
            }
        }
    };
    staff_page(staff, title, ACTIVE, body)
}

async fn new_form(staff: StaffUser) -> HttpResponse {
    html(
        StatusCode::OK,
        form_view(&staff, Mode::New, &TaxpayerForm::default(), None),
    )
}

/// A refusal of the user's input (4xx) shows the form again; anything else is an error page.
fn refused(
    staff: &StaffUser,
    mode: Mode<'_>,
    f: &TaxpayerForm,
    e: AppError,
) -> AppResult<HttpResponse> {
    if e.status().is_server_error() {
        return Err(e);
    }
    Ok(html(
        e.status(),
        form_view(staff, mode, f, Some(&e.message)),
    ))
}

async fn create(a: Acting<StaffUser>, form: web::Form<TaxpayerForm>) -> AppResult<HttpResponse> {
    let staff = a.user.clone();
    let f = form.into_inner();
    let n = match f.new_taxpayer(a.app.training()) {
        Ok(n) => n,
        Err(e) => return refused(&staff, Mode::New, &f, e),
    };
    match a
        .run(move |app, who, _| taxpayers::create(app, who, n))
        .await
    {
        Ok(t) => Ok(see_other(&format!(
            "/office/taxpayers/{}?done=created",
            t.id
        ))),
        Err(e) => refused(&staff, Mode::New, &f, e),
    }
}

async fn edit_form(a: Acting<StaffUser>, path: web::Path<String>) -> AppResult<HttpResponse> {
    let staff = a.user.clone();
    let id = TaxpayerId::parse(&path.into_inner())?;
    let (t, r) = a
        .run(move |app, _, _| {
            Ok((
                taxpayers::get(app, &id)?,
                taxpayers::refund_registration(app, &id)?,
            ))
        })
        .await?;
    let id = t.id.to_string();
    Ok(html(
        StatusCode::OK,
        form_view(
            &staff,
            Mode::Edit(&id),
            &TaxpayerForm::of(&t).with_registration(r),
            None,
        ),
    ))
}

async fn update(
    a: Acting<StaffUser>,
    path: web::Path<String>,
    form: web::Form<TaxpayerForm>,
) -> AppResult<HttpResponse> {
    let staff = a.user.clone();
    let id = TaxpayerId::parse(&path.into_inner())?;
    let shown = id.to_string();
    let mut f = form.into_inner();
    // The ID is the one of the address (the field is read-only).
    f.taxpayer_id = shown.clone();
    let u = match f.update() {
        Ok(u) => u,
        Err(e) => return refused(&staff, Mode::Edit(&shown), &f, e),
    };
    let registration = f.registration();
    match a
        .run(move |app, who, _| {
            let t = taxpayers::update(app, who, &id, u)?;
            taxpayers::set_refund_registration(app, who, &id, registration)?;
            Ok(t)
        })
        .await
    {
        Ok(t) => Ok(see_other(&format!("/office/taxpayers/{}?done=saved", t.id))),
        Err(e) => refused(&staff, Mode::Edit(&shown), &f, e),
    }
}

async fn unlock(a: Acting<StaffUser>, path: web::Path<String>) -> AppResult<HttpResponse> {
    let id = TaxpayerId::parse(&path.into_inner())?;
    let t = a
        .run(move |app, who, _| taxpayers::unlock(app, who, &id))
        .await?;
    Ok(see_other(&format!(
        "/office/taxpayers/{}?done=unlocked",
        t.id
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_reads_ratings_and_eligibility_and_refuses_nonsense() {
        let f = TaxpayerForm {
            taxpayer_id: "91350100M000100Y43".into(),
            name: "甲".into(),
            credit_rating: "b".into(),
            eligible: "0".into(),
            ..Default::default()
        };
        let n = f.new_taxpayer(true).unwrap();
        assert_eq!(n.credit_rating, Some(CreditRating::B));
        assert!(!n.eligible);
        assert_eq!(n.region.code(), "350000");
        let bad = TaxpayerForm {
            taxpayer_id: "123".into(),
            ..Default::default()
        };
        assert!(bad.new_taxpayer(true).is_err());
        let bad = TaxpayerForm {
            eligible: "maybe".into(),
            ..f
        };
        assert!(bad.eligible().is_err());
    }
}
