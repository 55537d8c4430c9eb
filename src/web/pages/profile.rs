//! 档案信息维护 (S-T2, S-T11): enterprise basic information and 办税人员 (confirmed at the first
//! login), the platform password (enable, change, disable) with its recovery question, and
//! the credit rating change records.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::{html, see_other};
use crate::domain::{Contact, Enterprise, RefundRegistration, Taxpayer};
use crate::error::AppResult;
use crate::http::blocking;
use crate::http::extract::{Acting, TaxpayerUser};
use crate::service::portal::profile::PasswordChange;
use crate::service::{self, App};
use crate::web::components::{with_error, Flash};
use crate::web::layout::{notice, page, writes_allowed, Page, Viewer};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/profile", web::get().to(profile_page))
        .route("/profile", web::post().to(save_profile))
        .route("/profile/password", web::post().to(save_password));
}

/// The page's message after a form's redirect (or the first-login gate's).
fn message(q: &ProfileQuery, flash: &Flash) -> Option<(&'static str, String)> {
    if let Some(e) = &flash.error {
        return Some(("error", e.clone()));
    }
    match flash.done.as_deref() {
        Some("saved") => Some(("success", "保存成功。".into())),
        _ if q.first.is_some() => Some((
            "error",
            "首次登录：请先确认档案信息（企业基本信息和办税人员信息）并点击“保存”，之后才能使用平台的其他功能。".into(),
        )),
        _ => None,
    }
}

fn view(t: &Taxpayer, reg: RefundRegistration, message: Option<(&str, String)>) -> Markup {
    let e = &t.enterprise;
    let c = &t.contact;
    let enabled = t.platform_password.is_some();
    page(
        Page {
            title: "档案信息维护",
            viewer: Viewer::Taxpayer {
                name: t.name.clone(),
            },
            active: "/profile",
        },
        html! {
            @if let Some((kind, text)) = &message { (notice(kind, text)) }
            @if !t.first_login_done {
                (notice("info", "首次登录：请确认或补充企业基本信息和办税人员信息，并选择是否设置平台密码。"))
            }
            section.card {
                h1 { "档案信息维护" }
                dl.facts {
                    dt { "纳税人识别号" } dd.mono { (t.id) }
                    dt { "纳税人名称" } dd { (t.name) }
                    dt { "所属地区" } dd { (t.region.name()) }
                    dt { "主管税务机关" } dd { (t.authority) }
                    dt { "纳税信用等级" } dd { (t.credit_rating.map_or("未设置", |r| r.as_str())) }
                    dt { "退税登记" } dd { (reg.label_zh()) }
                }
                @if writes_allowed() {
                    form.stack method="post" action="/profile" {
                        h2 { "企业基本信息" }
                        label { "注册地址" input name="address" value=(e.address); }
                        label { "企业电话" input name="phone" value=(e.phone); }
                        label { "法定代表人" input name="legal_representative" value=(e.legal_representative); }
                        h2 { "办税人员信息" }
                        label { "姓名" input name="contact_name" required value=(c.name); }
                        label { "联系电话" input name="contact_phone" required value=(c.phone); }
                        label { "电子邮箱" input name="contact_email" type="email" value=(c.email); }
                        button type="submit" { "保存" }
                    }
                }
            }
            section.card #password-card {
                h2 { "平台密码维护" }
                p.hint { "平台密码是证书登录之外的第二道保护：设置后，每次登录除税务数字证书外还需输入平台密码。密码至少8位，不能为纯字母或纯数字；一天内输错超过10次将被锁定。" }
                p { "当前状态：" strong { @if enabled { "已启用" } @else { "未启用" } } }
                @if writes_allowed() {
                    // 是否启用 (default 否 as in the manual): 是 shows the password, 确认密码 and
                    // the recovery question (by the stylesheet, no script needed).
                    form.stack.password method="post" action="/profile/password" {
                        fieldset.switch {
                            legend { "是否启用" }
                            label.inline { input type="radio" name="enabled" value="true" checked[enabled]; " 是" }
                            label.inline { input type="radio" name="enabled" value="false" checked[!enabled]; " 否" }
                        }
                        div.when-enabled {
                            label { "平台密码" input name="password" type="password" autocomplete="new-password"; }
                            label { "确认密码" input name="confirm" type="password" autocomplete="new-password"; }
                            label { "密码找回问题" input name="question" value=(t.platform_password.as_ref().map_or("", |p| p.question.as_str())); }
                            label { "问题答案" input name="answer" autocomplete="off"; }
                        }
                        button type="submit" { "保存" }
                    }
                }
            }
            section.card {
                h2 { "信用等级变更记录" }
                @if t.rating_history.is_empty() {
                    p.hint { "暂无变更记录。" }
                } @else {
                    table.grid {
                        thead { tr { th { "变更时间" } th { "变更前" } th { "变更后" } } }
                        tbody {
                            @for r in &t.rating_history {
                                tr {
                                    td { (r.at.format("%Y-%m-%d %H:%M:%S")) }
                                    td { (r.from.map_or("未设置", |x| x.as_str())) }
                                    td { (r.to.map_or("未设置", |x| x.as_str())) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

async fn load(
    app: &std::sync::Arc<App>,
    user: &TaxpayerUser,
) -> AppResult<(Taxpayer, RefundRegistration)> {
    let (app, id) = (app.clone(), user.id.clone());
    blocking(move || {
        Ok((
            service::office::taxpayers::get(&app, &id)?,
            service::portal::selection::registration(&app, &id)?,
        ))
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
struct ProfileQuery {
    /// Set by the first-login gate when it sent the taxpayer here.
    first: Option<String>,
}

async fn profile_page(
    req: HttpRequest,
    app: web::Data<App>,
    user: TaxpayerUser,
    q: web::Query<ProfileQuery>,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let (t, reg) = load(&app, &user).await?;
    let m = message(&q, &Flash::of(&req));
    Ok(html(StatusCode::OK, view(&t, reg, m)))
}

#[derive(Debug, Deserialize)]
struct ProfileForm {
    #[serde(default)]
    address: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    legal_representative: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_phone: String,
    #[serde(default)]
    contact_email: String,
}

/// 保存 of the basic information (the first-login confirmation), then back to the page.
async fn save_profile(
    Acting { app, who, user }: Acting<TaxpayerUser>,
    form: web::Form<ProfileForm>,
) -> AppResult<HttpResponse> {
    let f = form.into_inner();
    let id = user.id.clone();
    let result = blocking(move || {
        service::portal::profile::update_own(
            &app,
            &who,
            &id,
            Enterprise {
                address: f.address.trim().to_string(),
                phone: f.phone.trim().to_string(),
                legal_representative: f.legal_representative.trim().to_string(),
            },
            Contact {
                name: f.contact_name.trim().to_string(),
                phone: f.contact_phone.trim().to_string(),
                email: f.contact_email.trim().to_string(),
            },
        )
    })
    .await;
    Ok(match result {
        Ok(_) => see_other("/profile?done=saved"),
        Err(e) => see_other(&with_error("/profile", &e.message)),
    })
}

#[derive(Debug, Deserialize)]
struct PasswordForm {
    enabled: Option<String>,
    password: Option<String>,
    confirm: Option<String>,
    question: Option<String>,
    answer: Option<String>,
}

/// 平台密码维护's 保存: 是 sets (or changes) the password — 确认密码 must repeat it — and 否
/// removes it; after saving, the manual goes to 首页.
async fn save_password(
    Acting { app, who, user }: Acting<TaxpayerUser>,
    form: web::Form<PasswordForm>,
) -> AppResult<HttpResponse> {
    let f = form.into_inner();
    let back = "/profile#password-card";
    let change = match f.enabled.as_deref() {
        Some("true") => {
            let password = f.password.unwrap_or_default();
            if f.confirm.as_deref() != Some(password.as_str()) {
                return Ok(see_other(&with_error(
                    back,
                    "两次输入的平台密码不一致，请重新输入",
                )));
            }
            PasswordChange::Enable {
                password,
                question: f.question.unwrap_or_default(),
                answer: f.answer.unwrap_or_default(),
            }
        }
        Some("false") => PasswordChange::Disable,
        _ => return Ok(see_other(&with_error(back, "请选择是否启用平台密码"))),
    };
    let id = user.id.clone();
    let result =
        blocking(move || service::portal::profile::set_password(&app, &who, &id, change)).await;
    Ok(match result {
        Ok(true) => see_other("/?done=password_on"),
        Ok(false) => see_other("/?done=password_off"),
        Err(e) => see_other(&with_error(back, &e.message)),
    })
}
