//! Taxpayer login (training list in training mode), logout with confirmation.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::{html, see_other};
use crate::domain::{Actor, Taxpayer, TaxpayerId};
use crate::error::{AppError, AppResult};
use crate::http::blocking;
use crate::http::extract::{self, Session};
use crate::service::{self, App};
use crate::web::layout::{notice, page, Page, Viewer};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::get().to(login_page))
        .route("/login/training", web::post().to(training_login))
        .route("/login/certificate", web::post().to(certificate_login))
        .route("/login/recover", web::get().to(recover_page))
        .route("/login/recover", web::post().to(recover))
        .route("/logout", web::get().to(logout_confirm))
        .route("/logout", web::post().to(logout));
}

/// What the connection's client certificate says, for the login page.
enum CertState {
    /// None presented (or plain HTTP).
    Absent,
    /// Presented and acceptable: the taxpayer it names.
    Taxpayer(TaxpayerId),
    /// Presented and refused: why.
    Refused(String),
}

fn cert_state(req: &HttpRequest, app: &App) -> CertState {
    match extract::certificate_taxpayer(req, app) {
        Ok(Some(id)) => CertState::Taxpayer(id),
        Ok(None) => CertState::Absent,
        Err(e) => CertState::Refused(e.message.to_string()),
    }
}

fn login_view(
    training: bool,
    taxpayers: &[Taxpayer],
    error: Option<&str>,
    cert: &CertState,
) -> Markup {
    page(
        Page {
            title: "登录",
            viewer: Viewer::Anonymous,
            active: "",
        },
        html! {
            section.card.login {
                h1 { "纳税人登录" }
                @if let Some(e) = error { (notice("error", e)) }
                p { "请插入金税盘或税控盘（税务数字证书），由浏览器选择证书后登录。" }
                @match cert {
                    CertState::Taxpayer(id) => {
                        form.cert-login method="post" action="/login/certificate" {
                            p { "已检测到税务数字证书，纳税人识别号：" span.mono { (id) } }
                            label for="password" { "平台密码（未设置平台密码可不填）" }
                            input #password type="password" name="password" autocomplete="current-password";
                            button type="submit" { "登录" }
                        }
                        p.aside { a href="/login/recover" { "忘记平台密码？" } }
                    }
                    CertState::Refused(why) => { (notice("error", why)) }
                    CertState::Absent => {
                        p.hint { "未检测到税务数字证书。请确认证书已插入并在浏览器提示时选择证书，然后刷新本页。" }
                    }
                }
                p.hint { "提示：本平台只用到金税盘或税控盘里的身份认证证书功能。每次只能同时插入一个金税盘或税控盘，且不要同时插入其它数字证书，如银行U盾等。" }
                @if training {
                    h2 { "培训纳税人" }
                    p.hint { "培训模式：可选择以下培训纳税人直接进入平台，无需证书。" }
                    table.grid {
                        thead { tr { th { "纳税人识别号" } th { "纳税人名称" } th { "信用等级" } th {} } }
                        tbody {
                            @for t in taxpayers {
                                tr {
                                    td.mono { (t.id) }
                                    td { (t.name) }
                                    td {
                                        @match t.credit_rating {
                                            Some(r) => (r.as_str()),
                                            None => span.hint { "未设置（登录将被拒绝，用于演示）" },
                                        }
                                    }
                                    td {
                                        form.inline method="post" action="/login/training" {
                                            input type="hidden" name="taxpayer_id" value=(t.id);
                                            @if t.platform_password.is_some() {
                                                input type="password" name="password" aria-label={"平台密码（" (t.name) "）"} placeholder="平台密码" autocomplete="current-password";
                                            }
                                            button type="submit" { "登录" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                p.aside {
                    a href="/help" { "流程指引" } " · " a href="/help/faq" { "常见问题" } " · "
                    a href="/help/check" { "检测环境" } " · " a href="/help/manual" { "操作手册" } " · "
                    a href="/pki" { "下载根证书" } " · "
                    a href="/office/login" { "税务人员登录" }
                }
            }
        },
    )
}

async fn training_list(app: &std::sync::Arc<App>) -> AppResult<Vec<Taxpayer>> {
    if app.training() {
        let app = app.clone();
        blocking(move || service::auth::training_list(&app)).await
    } else {
        Ok(Vec::new())
    }
}

async fn login_page(req: HttpRequest, app: web::Data<App>) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let cert = cert_state(&req, &app);
    let list = training_list(&app).await?;
    Ok(html(
        StatusCode::OK,
        login_view(app.training(), &list, None, &cert),
    ))
}

#[derive(Debug, Deserialize)]
struct CertificateForm {
    password: Option<String>,
}

/// Login with the connection's client certificate (and the platform password when set).
async fn certificate_login(
    req: HttpRequest,
    app: web::Data<App>,
    form: web::Form<CertificateForm>,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let https = !app.settings.http;
    let cert = cert_state(&req, &app);
    let result = match &cert {
        CertState::Taxpayer(id) => {
            let who = extract::who(&req, &app, Actor::Anonymous);
            let (app2, id) = (app.clone(), id.clone());
            let password = form.into_inner().password.filter(|p| !p.is_empty());
            let fingerprint = extract::certificate_fingerprint(&req).unwrap_or_default();
            blocking(move || {
                service::auth::certificate_login(
                    &app2,
                    &who,
                    &id,
                    password.as_deref(),
                    &fingerprint,
                )
            })
            .await
        }
        CertState::Refused(_) | CertState::Absent => {
            Err(AppError::new(crate::error::Code::CertificateRequired))
        }
    };
    match result {
        Ok(login) => {
            let mut res = see_other("/");
            res.add_cookie(&extract::session_cookie(&login.token, https))
                .map_err(AppError::internal)?;
            Ok(res)
        }
        Err(e) => {
            let list = training_list(&app).await?;
            Ok(html(
                e.status(),
                login_view(app.training(), &list, Some(&e.message), &cert),
            ))
        }
    }
}

#[derive(Debug, Deserialize)]
struct TrainingForm {
    taxpayer_id: String,
    password: Option<String>,
}

async fn training_login(
    req: HttpRequest,
    app: web::Data<App>,
    form: web::Form<TrainingForm>,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let form = form.into_inner();
    let https = !app.settings.http;
    let who = extract::who(&req, &app, Actor::Anonymous);
    let app2 = app.clone();
    let result = blocking(move || {
        let id = TaxpayerId::parse(&form.taxpayer_id)?;
        service::auth::training_login(&app2, &who, &id, form.password.as_deref())
    })
    .await;
    match result {
        Ok(login) => {
            let mut res = see_other("/");
            res.add_cookie(&extract::session_cookie(&login.token, https))
                .map_err(AppError::internal)?;
            Ok(res)
        }
        Err(e) => {
            let cert = cert_state(&req, &app);
            let list = training_list(&app).await?;
            Ok(html(
                e.status(),
                login_view(app.training(), &list, Some(&e.message), &cert),
            ))
        }
    }
}

async fn logout_confirm(_session: Session) -> HttpResponse {
    html(
        StatusCode::OK,
        page(
            Page {
                title: "退出",
                viewer: Viewer::Anonymous,
                active: "",
            },
            html! {
                section.card {
                    h1 { "退出" }
                    p { "您确定要退出本平台吗？" }
                    form method="post" action="/logout" {
                        button type="submit" { "确定" }
                        " "
                        a.button.secondary href="/" { "取消" }
                    }
                }
            },
        ),
    )
}

async fn logout(
    req: HttpRequest,
    app: web::Data<App>,
    session: Session,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let https = !app.settings.http;
    let who = extract::who(&req, &app, session.actor());
    blocking(move || service::auth::logout(&app, &who, &session.token)).await?;
    let mut res = see_other("/login");
    res.add_cookie(&extract::clear_session_cookie(https))
        .map_err(AppError::internal)?;
    Ok(res)
}

fn recover_view(question: Option<&str>, message: Option<(&str, &str)>) -> Markup {
    page(
        Page {
            title: "找回平台密码",
            viewer: Viewer::Anonymous,
            active: "",
        },
        html! {
            section.card.login {
                h1 { "找回平台密码" }
                @if let Some((kind, text)) = message { (notice(kind, text)) }
                @match question {
                    Some(q) => {
                        p { "回答您设置的密保问题，回答正确后将取消平台密码，之后可仅凭税务数字证书登录。" }
                        form method="post" action="/login/recover" {
                            p { "密保问题：" strong { (q) } }
                            label for="answer" { "答案" }
                            input #answer type="text" name="answer" required autocomplete="off";
                            button type="submit" { "提交" }
                        }
                    }
                    None => {}
                }
                p.aside { a href="/login" { "返回登录" } }
            }
        },
    )
}

/// The taxpayer of the connection's certificate (the recovery page needs one).
fn recover_taxpayer(req: &HttpRequest, app: &App) -> Result<TaxpayerId, AppError> {
    extract::certificate_taxpayer(req, app)?
        .ok_or_else(|| AppError::new(crate::error::Code::CertificateRequired))
}

async fn recover_page(req: HttpRequest, app: web::Data<App>) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let id = match recover_taxpayer(&req, &app) {
        Ok(id) => id,
        Err(e) => {
            return Ok(html(
                e.status(),
                recover_view(None, Some(("error", &e.message))),
            ))
        }
    };
    let app2 = app.clone();
    match blocking(move || service::portal::profile::recovery_question(&app2, &id)).await {
        Ok(q) => Ok(html(StatusCode::OK, recover_view(Some(&q), None))),
        Err(e) => Ok(html(
            e.status(),
            recover_view(None, Some(("error", &e.message))),
        )),
    }
}

#[derive(Debug, Deserialize)]
struct RecoverForm {
    answer: String,
}

async fn recover(
    req: HttpRequest,
    app: web::Data<App>,
    form: web::Form<RecoverForm>,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let id = match recover_taxpayer(&req, &app) {
        Ok(id) => id,
        Err(e) => {
            return Ok(html(
                e.status(),
                recover_view(None, Some(("error", &e.message))),
            ))
        }
    };
    let who = extract::who(&req, &app, Actor::Anonymous);
    let (app2, id2) = (app.clone(), id.clone());
    let answer = form.into_inner().answer;
    match blocking(move || service::portal::profile::recover(&app2, &who, &id2, &answer)).await {
        Ok(()) => Ok(html(
            StatusCode::OK,
            recover_view(
                None,
                Some(("ok", "密保问题回答正确，平台密码已取消，请返回登录。")),
            ),
        )),
        Err(e) => {
            let app3 = app.clone();
            let q = blocking(move || service::portal::profile::recovery_question(&app3, &id))
                .await
                .ok();
            Ok(html(
                e.status(),
                recover_view(q.as_deref(), Some(("error", &e.message))),
            ))
        }
    }
}
