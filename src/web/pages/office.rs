//! Tax office staff: login, logout and one's own password (the console home, 工作台, is in
//! `console::people`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::{html, see_other};
use crate::domain::Actor;
use crate::error::{AppError, AppResult};
use crate::http::blocking;
use crate::http::extract::{self, Acting, StaffUser};
use crate::service::{self, App};
use crate::web::layout::{notice, page, Page, Viewer};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/office/login", web::get().to(login_page))
        .route("/office/login", web::post().to(login))
        .route("/office/logout", web::get().to(logout))
        .route("/office/password", web::get().to(password_page))
        .route("/office/password", web::post().to(change_password));
}

fn login_view(error: Option<&str>, info: Option<&str>, username: &str) -> Markup {
    page(
        Page {
            title: "税务人员登录",
            viewer: Viewer::Anonymous,
            active: "",
        },
        html! {
            section.card.login {
                h1 { "税务人员登录" }
                @if let Some(e) = error { (notice("error", e)) }
                @if let Some(i) = info { (notice("success", i)) }
                form.stack method="post" action="/office/login" {
                    label { "用户名" input name="username" value=(username) autocomplete="username" required; }
                    label { "密码" input name="password" type="password" autocomplete="current-password" required; }
                    button type="submit" { "登录" }
                }
                p.aside { a href="/login" { "纳税人登录" } }
            }
        },
    )
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    /// A training snapshot was just restored (every session ended with it).
    restored: Option<String>,
}

async fn login_page(q: web::Query<LoginQuery>) -> HttpResponse {
    let note = q
        .restored
        .as_ref()
        .map(|name| format!("已恢复快照“{name}”，所有会话已结束，请重新登录。"));
    html(StatusCode::OK, login_view(None, note.as_deref(), ""))
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

async fn login(
    req: HttpRequest,
    app: web::Data<App>,
    form: web::Form<LoginForm>,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let https = !app.settings.http;
    let who = extract::who(&req, &app, Actor::Anonymous);
    let form = form.into_inner();
    let username = form.username.clone();
    let result =
        blocking(move || service::auth::staff_login(&app, &who, &form.username, &form.password))
            .await;
    match result {
        Ok(login) => {
            // A password reset by an administrator is changed before anything else.
            let to = if login.must_change_password {
                "/office/password?required=1"
            } else {
                "/office"
            };
            let mut res = see_other(to);
            res.add_cookie(&extract::session_cookie(&login.token, https))
                .map_err(AppError::internal)?;
            Ok(res)
        }
        Err(e) => Ok(html(
            e.status(),
            login_view(Some(&e.message), None, &username),
        )),
    }
}

async fn logout(
    _req: HttpRequest,
    Acting {
        app,
        who,
        user: staff,
    }: Acting<StaffUser>,
) -> AppResult<HttpResponse> {
    let https = !app.settings.http;
    blocking(move || service::auth::logout(&app, &who, &staff.token)).await?;
    let mut res = see_other("/office/login");
    res.add_cookie(&extract::clear_session_cookie(https))
        .map_err(AppError::internal)?;
    Ok(res)
}

fn password_view(staff: &StaffUser, required: bool, error: Option<&str>) -> Markup {
    page(
        Page {
            title: "修改密码",
            viewer: Viewer::Staff {
                display_name: staff.display_name.clone(),
                role: staff.role,
            },
            active: "/office/password",
        },
        html! {
            section.card.login {
                h1 { "修改密码" }
                @if required { (notice("info", "管理员已重置您的密码，请先设置新密码。")) }
                @if let Some(e) = error { (notice("error", e)) }
                form.stack method="post" action="/office/password" {
                    label { "原密码" input name="old" type="password" autocomplete="current-password" required; }
                    label { "新密码" input name="new" type="password" autocomplete="new-password" required minlength="8"; }
                    label { "确认新密码" input name="confirm" type="password" autocomplete="new-password" required minlength="8"; }
                    p.aside { "密码至少8位，不能全部为字母或全部为数字。" }
                    button type="submit" { "保存" }
                }
            }
        },
    )
}

#[derive(Debug, Deserialize)]
struct PasswordQuery {
    required: Option<String>,
}

async fn password_page(staff: StaffUser, q: web::Query<PasswordQuery>) -> HttpResponse {
    html(
        StatusCode::OK,
        password_view(&staff, q.required.is_some(), None),
    )
}

#[derive(Debug, Deserialize)]
struct PasswordForm {
    old: String,
    new: String,
    confirm: String,
}

/// 修改密码: the old password, the new one twice; Post/Redirect/Get to the console.
async fn change_password(
    Acting {
        app,
        who,
        user: staff,
    }: Acting<StaffUser>,
    form: web::Form<PasswordForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    if form.new != form.confirm {
        return Ok(html(
            StatusCode::UNPROCESSABLE_ENTITY,
            password_view(&staff, false, Some("两次输入的新密码不一致")),
        ));
    }
    let username = staff.username.clone();
    let result = blocking(move || {
        service::office::staff::change_own_password(&app, &who, &username, &form.old, &form.new)
    })
    .await;
    match result {
        Ok(()) => Ok(see_other("/office?password=changed")),
        Err(e) => Ok(html(
            e.status(),
            password_view(&staff, false, Some(&e.message)),
        )),
    }
}
