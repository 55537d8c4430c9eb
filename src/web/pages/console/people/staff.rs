//! 人员管理 (administrators): the staff accounts, 新增 with a role, 停用 and 启用, 重置密码 (the
//! user must change it at the next login). The same service as `/api/v1/office/staff`; the
//! last-active-administrator rule's refusal is shown as a message.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::{may_write, staff_page, when};
use crate::domain::{Area, Role};
use crate::error::{AppError, AppResult};
use crate::http::extract::{Acting, StaffUser};
use crate::service::office::staff::{self, NewStaff, StaffAccount, StaffUpdate};
use crate::web::layout::notice;
use crate::web::pages::{html, see_other};

const ACTIVE: &str = "/office/staff";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/office/staff", web::get().to(list))
        .route("/office/staff", web::post().to(create))
        .route("/office/staff/{username}/disable", web::post().to(disable))
        .route("/office/staff/{username}/enable", web::post().to(enable))
        .route("/office/staff/{username}/password", web::post().to(reset))
        .route(
            "/office/staff/{username}/regions",
            web::post().to(set_regions),
        );
}

/// The 新增 form as typed (the password is never shown again).
#[derive(Debug, Default, Deserialize)]
struct NewForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    done: Option<String>,
    user: Option<String>,
}

/// What the last change did, for an account that exists.
fn done_text(done: &str, user: &str) -> Option<String> {
    Some(match done {
        "created" => format!("已新增账号 {user}。"),
        "disabled" => format!("已停用账号 {user}，其登录已结束。"),
        "enabled" => format!("已启用账号 {user}。"),
        "reset" => format!("已重置账号 {user} 的密码，该用户下次登录须先修改密码。"),
        "regions" => format!("已保存账号 {user} 的征纳互动服务地区。"),
        _ => return None,
    })
}

fn view(
    me: &StaffUser,
    all: &[StaffAccount],
    done: Option<String>,
    error: Option<&str>,
    form: &NewForm,
) -> Markup {
    let writer = may_write(me, Area::ManageStaff);
    let body = html! {
        section.card.people.staff {
            h1 { "人员管理" }
            @if let Some(d) = done { (notice("success", &d)) }
            @if let Some(e) = error { (notice("error", e)) }
            table.grid {
                thead { tr {
                    th { "用户名" } th { "姓名" } th { "角色" } th { "状态" } th { "服务地区" } th { "最近登录" } th { "创建时间" }
                    @if writer { th { "操作" } }
                } }
                tbody {
                    @for a in all {
                        @let s = &a.staff;
                        tr id={ "staff-" (s.username) } {
                            td.mono { (s.username) }
                            td { (s.display_name) }
                            td { (s.role.label_zh()) }
                            td {
                                (if s.disabled { "已停用" } else { "启用" })
                                @if a.must_change_password { "（须修改密码）" }
                            }
                            td.regions {
                                (regions_text(&a.regions))
                                @if writer && s.role.serves_interactions() {
                                    form.inline.regions method="post" action={ "/office/staff/" (s.username) "/regions" } {
                                        input name="regions" value=(regions_codes(&a.regions)) maxlength="400"
                                            placeholder="如 350000 440000" aria-label={ (s.username) " 的服务地区" };
                                        button.secondary type="submit" aria-label={ "保存 " (s.username) " 的服务地区" } { "保存地区" }
                                    }
                                }
                            }
                            td { (a.last_login_at.as_ref().map(when).unwrap_or_else(|| "从未登录".into())) }
                            td { (when(&s.created_at)) }
                            @if writer {
                                td {
                                    div.actions {
                                        @if s.disabled {
                                            form method="post" action={ "/office/staff/" (s.username) "/enable" } {
                                                input type="hidden" name="confirm" value="1";
                                                button.secondary type="submit" aria-label={ "启用 " (s.username) } { "启用" }
                                            }
                                        } @else {
                                            form method="post" action={ "/office/staff/" (s.username) "/disable" } {
                                                input type="hidden" name="confirm" value="1";
                                                button.secondary type="submit" aria-label={ "停用 " (s.username) } { "停用" }
                                            }
                                        }
                                        form.inline.reset method="post" action={ "/office/staff/" (s.username) "/password" } {
                                            input name="password" type="password" autocomplete="new-password" required minlength="8"
                                                placeholder="新密码" aria-label={ (s.username) " 的新密码" };
                                            button.secondary type="submit" { "重置密码" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p.hint { "停用账号或重置密码会结束该账号的登录；重置后该用户下次登录须先修改密码。至少保留一名启用的管理员。" }
            p.hint { "服务地区：征纳互动坐席接待哪些地区（省级税务机关代码或名称，以空格或逗号分隔）的纳税人转人工；留空即接待全部地区。修改后，坐席重新打开征纳互动工作台时生效。" }
        }
        @if writer {
            section.card.people {
                h2 { "新增账号" }
                form.stack method="post" action="/office/staff" {
                    label { "用户名" input name="username" value=(form.username) required maxlength="32" autocomplete="off"
                        pattern="[A-Za-z0-9._\\-]{3,32}"; }
                    label { "姓名" input name="name" value=(form.name) maxlength="50"; }
                    label {
                        "角色"
                        select name="role" required {
                            @for r in Role::ALL {
                                option value=(r.as_str()) selected[form.role == r.as_str()] { (r.label_zh()) }
                            }
                        }
                    }
                    label { "初始密码" input name="password" type="password" required minlength="8" autocomplete="new-password"; }
                    p.aside { "用户名为3至32位字母、数字、点、下划线或连字符；密码至少8位，不能全部为字母或全部为数字。" }
                    button type="submit" { "新增" }
                }
            }
        }
    };
    staff_page(me, "人员管理", ACTIVE, body)
}

async fn list(a: Acting<StaffUser>, q: web::Query<ListQuery>) -> AppResult<HttpResponse> {
    let me = a.user.clone();
    let all = a.run(|app, _, _| staff::list(app)).await?;
    // Only a name that is an account is echoed back.
    let done = match (&q.done, &q.user) {
        (Some(d), Some(u)) if all.iter().any(|a| a.staff.username == *u) => done_text(d, u),
        _ => None,
    };
    Ok(html(
        StatusCode::OK,
        view(&me, &all, done, None, &NewForm::default()),
    ))
}

/// A refusal (4xx) shows the list again with the reason (and the 新增 input); anything else
/// is an error page.
async fn refused(a: Acting<StaffUser>, e: AppError, form: &NewForm) -> AppResult<HttpResponse> {
    if e.status().is_server_error() {
        return Err(e);
    }
    let me = a.user.clone();
    let all = a.run(|app, _, _| staff::list(app)).await?;
    Ok(html(
        e.status(),
        view(&me, &all, None, Some(&e.message), form),
    ))
}

fn done(what: &str, username: &str) -> HttpResponse {
    let q = serde_urlencoded::to_string([("done", what), ("user", username)]).unwrap_or_default();
    see_other(&format!("/office/staff?{q}"))
}

async fn create(a: Acting<StaffUser>, form: web::Form<NewForm>) -> AppResult<HttpResponse> {
    let f = form.into_inner();
    let role = match Role::parse(&f.role) {
        Ok(r) => r,
        Err(e) => return refused(a, e.into(), &f).await,
    };
    let new = NewStaff {
        username: f.username.clone(),
        display_name: f.name.clone(),
        role,
        password: f.password.clone(),
    };
    let result = a.run(move |app, who, _| staff::create(app, who, new)).await;
    match result {
        Ok(s) => Ok(done("created", &s.username)),
        Err(e) => {
            let kept = NewForm {
                password: String::new(),
                ..f
            };
            refused(a, e, &kept).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    confirm: String,
}

/// 停用 and 启用 carry `confirm=1` (the button's form has it): a bare POST changes nothing.
async fn set_disabled(
    a: Acting<StaffUser>,
    username: String,
    disabled: bool,
    confirm: ConfirmForm,
) -> AppResult<HttpResponse> {
    if confirm.confirm != "1" {
        let e = AppError::invalid("confirm", "请通过人员管理页面的按钮确认操作");
        return refused(a, e, &NewForm::default()).await;
    }
    let u = StaffUpdate {
        disabled: Some(disabled),
        ..StaffUpdate::default()
    };
    let name = username.clone();
    let result = a
        .run(move |app, who, _| staff::update(app, who, &name, u))
        .await;
    match result {
        Ok(s) => Ok(done(
            if disabled { "disabled" } else { "enabled" },
            &s.staff.username,
        )),
        Err(e) => refused(a, e, &NewForm::default()).await,
    }
}

async fn disable(
    a: Acting<StaffUser>,
    path: web::Path<String>,
    form: web::Form<ConfirmForm>,
) -> AppResult<HttpResponse> {
    set_disabled(a, path.into_inner(), true, form.into_inner()).await
}

async fn enable(
    a: Acting<StaffUser>,
    path: web::Path<String>,
    form: web::Form<ConfirmForm>,
) -> AppResult<HttpResponse> {
    set_disabled(a, path.into_inner(), false, form.into_inner()).await
}

/// The regions as shown: names, or 全部地区 for none.
fn regions_text(regions: &[crate::domain::Region]) -> String {
    if regions.is_empty() {
        return "全部地区".into();
    }
    regions
        .iter()
        .map(|r| r.name())
        .collect::<Vec<_>>()
        .join("、")
}

/// The regions as the form holds them: codes separated by spaces.
fn regions_codes(regions: &[crate::domain::Region]) -> String {
    regions
        .iter()
        .map(|r| r.code())
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug, Default, Deserialize)]
struct RegionsForm {
    #[serde(default)]
    regions: String,
}

/// 保存地区: the regions an agent serves in 征纳互动 (blank: every region).
async fn set_regions(
    a: Acting<StaffUser>,
    path: web::Path<String>,
    form: web::Form<RegionsForm>,
) -> AppResult<HttpResponse> {
    let username = path.into_inner();
    let typed: Vec<String> = form
        .regions
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '，' | '、' | ';' | '；'))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let regions = match crate::domain::interaction::routing::parse_regions(&typed) {
        Ok(r) => r,
        Err(e) => return refused(a, e.into(), &NewForm::default()).await,
    };
    let u = StaffUpdate {
        regions: Some(regions),
        ..StaffUpdate::default()
    };
    let result = a
        .run(move |app, who, _| staff::update(app, who, &username, u))
        .await;
    match result {
        Ok(s) => Ok(done("regions", &s.staff.username)),
        Err(e) => refused(a, e, &NewForm::default()).await,
    }
}

#[derive(Debug, Default, Deserialize)]
struct ResetForm {
    #[serde(default)]
    password: String,
}

async fn reset(
    a: Acting<StaffUser>,
    path: web::Path<String>,
    form: web::Form<ResetForm>,
) -> AppResult<HttpResponse> {
    let username = path.into_inner();
    let password = form.into_inner().password;
    let result = a
        .run(move |app, who, _| staff::reset_password(app, who, &username, &password))
        .await;
    match result {
        Ok(s) => Ok(done("reset", &s.staff.username)),
        Err(e) => refused(a, e, &NewForm::default()).await,
    }
}
