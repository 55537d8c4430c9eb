//! 档案信息维护 (S-T2, S-T11): enterprise basic information and 办税人员 (confirmed at the first
//! login), the platform password (enable, change, disable) with its recovery question, and
//! the credit rating change records.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::html;
use crate::domain::{Contact, Enterprise, Taxpayer};
use crate::error::AppResult;
use crate::http::blocking;
use crate::http::extract::{Acting, TaxpayerUser};
use crate::service::portal::profile::PasswordChange;
use crate::service::{self, App};
use crate::web::layout::{notice, page, writes_allowed, Page, Viewer};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/profile", web::get().to(profile_page))
        .route("/profile", web::post().to(save_profile))
        .route("/profile/password", web::post().to(save_password));
}

fn view(t: &Taxpayer, message: Option<(&str, &str)>) -> Markup {
    let e = &t.enterprise;
    let c = &t.contact;
    page(
        Page {
            title: "档案信息维护",
            viewer: Viewer::Taxpayer {
                name: t.name.clone(),
            },
            active: "/profile",
        },
        html! {
            @if let Some((kind, text)) = message { (notice(kind, text)) }
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
            section.card {
                h2 { "平台密码" }
                p.hint { "平台密码是证书登录之外的第二道保护：设置后，每次登录除税务数字证书外还需输入平台密码。密码至少8位，不能为纯字母或纯数字；一天内输错超过10次将被锁定。" }
                p { "当前状态：" strong { @if t.platform_password.is_some() { "已启用" } @else { "未启用" } } }
                @if writes_allowed() {
                    form.stack method="post" action="/profile/password" {
                        input type="hidden" name="enabled" value="true";
                        label { "新平台密码" input name="password" type="password" autocomplete="new-password" required; }
                        label { "密保问题" input name="question" required value=(t.platform_password.as_ref().map_or("", |p| p.question.as_str())); }
                        label { "密保答案" input name="answer" required autocomplete="off"; }
                        button type="submit" { @if t.platform_password.is_some() { "修改平台密码" } @else { "启用平台密码" } }
                    }
                }
                @if t.platform_password.is_some() {
                    @if writes_allowed() {
                        form method="post" action="/profile/password" {
                            input type="hidden" name="enabled" value="false";
                            button.secondary type="submit" { "取消平台密码" }
                        }
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
                                    td { (r.at.format("%Y-%m-%d %H:%M")) }
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

async fn load(app: &std::sync::Arc<App>, user: &TaxpayerUser) -> AppResult<Taxpayer> {
    let (app, id) = (app.clone(), user.id.clone());
    blocking(move || service::office::taxpayers::get(&app, &id)).await
}

async fn profile_page(app: web::Data<App>, user: TaxpayerUser) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let t = load(&app, &user).await?;
    Ok(html(StatusCode::OK, view(&t, None)))
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

async fn save_profile(
    _req: HttpRequest,
    Acting { app, who, user }: Acting<TaxpayerUser>,
    form: web::Form<ProfileForm>,
) -> AppResult<HttpResponse> {
    let f = form.into_inner();
    let (a2, id) = (app.clone(), user.id.clone());
    let result = blocking(move || {
        service::portal::profile::update_own(
            &a2,
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
    match result {
        Ok(t) => Ok(html(
            StatusCode::OK,
            view(&t, Some(("success", "保存成功。"))),
        )),
        Err(e) => {
            let t = load(&app, &user).await?;
            Ok(html(e.status(), view(&t, Some(("error", &e.message)))))
        }
    }
}

#[derive(Debug, Deserialize)]
struct PasswordForm {
    enabled: String,
    password: Option<String>,
    question: Option<String>,
    answer: Option<String>,
}

async fn save_password(
    _req: HttpRequest,
    Acting { app, who, user }: Acting<TaxpayerUser>,
    form: web::Form<PasswordForm>,
) -> AppResult<HttpResponse> {
    let f = form.into_inner();
    let change = if f.enabled == "true" {
        PasswordChange::Enable {
            password: f.password.unwrap_or_default(),
            question: f.question.unwrap_or_default(),
            answer: f.answer.unwrap_or_default(),
        }
    } else {
        PasswordChange::Disable
    };
    let (a2, id) = (app.clone(), user.id.clone());
    let result =
        blocking(move || service::portal::profile::set_password(&a2, &who, &id, change)).await;
    let t = load(&app, &user).await?;
    Ok(match result {
        Ok(true) => html(
            StatusCode::OK,
            view(
                &t,
                Some(("success", "平台密码已设置，下次登录时需输入平台密码。")),
            ),
        ),
        Ok(false) => html(
            StatusCode::OK,
            view(&t, Some(("success", "平台密码已取消。"))),
        ),
        Err(e) => html(e.status(), view(&t, Some(("error", &e.message)))),
    })
}
