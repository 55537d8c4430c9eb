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
use crate::web::components::with_error;
use crate::web::layout::{notice, page, writes_allowed, Page, Viewer};

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

/// The login page's top right (manual §1.1.5–§1.1.7): 检测环境, 流程指引, 常见问题 and 收藏本站.
/// Browsers no longer let a page add a bookmark, so 收藏本站 opens the keyboard shortcut.
fn login_tools() -> Markup {
    html! {
        nav.login-tools aria-label="登录帮助" {
            a href="/help/check" { "检测环境" }
            a href="/help" { "流程指引" }
            a href="/help/faq" { "常见问题" }
            details.bookmark {
                summary { "收藏本站" }
                p { "请按 " kbd { "Ctrl" } "+" kbd { "D" } "（Mac：" kbd { "⌘" } "+" kbd { "D" } "）将本平台地址加入浏览器收藏夹，以后从收藏夹点击地址即可登录。平台升级（版本号变更）后，建议重新收藏。" }
            }
        }
    }
}

/// 升级内容说明 (manual §1.1.1(3)): shown on the login page until 关闭 (for this visit) or
/// 下次不再提醒我 with 确认 (for good, in a cookie). Works without scripts.
fn upgrade_note() -> Markup {
    html! {
        aside.upgrade-note #upgrade-note role="note" aria-labelledby="upgrade-h" {
            div.note-head {
                h2 #upgrade-h { (crate::web::layout::PLATFORM_NAME) "V" (env!("CARGO_PKG_VERSION")) "升级内容说明" }
                a.close href="/login?note=closed" { "关闭" }
            }
            ul {
                li { "支持税务数字证书（客户端证书）登录，设置平台密码后需输入平台密码。" }
                li { "确认勾选：可按确认标志查询已勾选未确认和已确认的发票；提交前再次提示当次确认的发票份数和税额。" }
                li { "征期内确认时选择申报情况；误选“已完成申报”时可回退税款所属期。" }
                li { "抵扣统计增加异常发票清单、发票明细分页和近12个月税额图。" }
                li { "各功能模块右上角增加“帮助”，可查看该模块的关注要点。" }
            }
            @if writes_allowed() {
                form.inline method="post" action="/help/whats-new/dismiss" {
                    input type="hidden" name="back" value="/login";
                    label { input type="checkbox" name="never" value="1"; " 下次不再提醒我" }
                    button type="submit" { "确认" }
                }
            }
        }
    }
}

fn login_view(
    training: bool,
    taxpayers: &[Taxpayer],
    error: Option<&str>,
    cert: &CertState,
    note: bool,
) -> Markup {
    page(
        Page {
            title: "登录",
            viewer: Viewer::Anonymous,
            active: "",
        },
        html! {
            @if note { (upgrade_note()) }
            section.card.login {
                div.card-head {
                    h1 { "纳税人登录" }
                    (login_tools())
                }
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
                @if training {
                    p.aside { a href="/login/recover" { "忘记平台密码？" } }
                }
                p.aside {
                    a href="/help/manual" { "操作手册" } " · "
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

#[derive(Debug, Default, Deserialize)]
struct LoginQuery {
    /// `closed`: 关闭 of the 升级内容说明 note, for this visit.
    note: Option<String>,
    error: Option<String>,
}

/// Whether the login page shows 升级内容说明: not after 下次不再提醒我 (the cookie of this
/// version) nor after 关闭.
fn shows_note(req: &HttpRequest, q: &LoginQuery) -> bool {
    q.note.as_deref() != Some("closed") && super::help::whats_new(req).is_some()
}

async fn login_page(
    req: HttpRequest,
    app: web::Data<App>,
    q: web::Query<LoginQuery>,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let cert = cert_state(&req, &app);
    let list = training_list(&app).await?;
    Ok(html(
        StatusCode::OK,
        login_view(
            app.training(),
            &list,
            q.error.as_deref(),
            &cert,
            shows_note(&req, &q),
        ),
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
        // Back to the login page with the reason (Post/Redirect/Get: a reload does not try
        // the password again).
        Err(e) => Ok(see_other(&with_error("/login?note=closed", &e.message))),
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
        // Back to the login page with the reason (Post/Redirect/Get: a reload does not try
        // the password again).
        Err(e) => Ok(see_other(&with_error("/login?note=closed", &e.message))),
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

/// Who is recovering: the taxpayer of the connection's certificate, or in training mode the
/// one chosen on the page (no certificate there).
enum Recovering {
    Taxpayer(TaxpayerId),
    /// Training mode without a certificate: the training taxpayers with a platform password.
    Choose(Vec<Taxpayer>),
}

fn recover_view(
    who: Option<&Recovering>,
    question: Option<(&TaxpayerId, &str)>,
    message: Option<(&str, &str)>,
) -> Markup {
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
                @if let Some(Recovering::Choose(list)) = who {
                    form.inline method="get" action="/login/recover" {
                        label for="taxpayer_id" { "培训纳税人 " }
                        select #taxpayer_id name="taxpayer_id" {
                            @for t in list {
                                option value=(t.id) selected[question.is_some_and(|(id, _)| *id == t.id)] { (t.id) " " (t.name) }
                            }
                        }
                        button.secondary type="submit" { "选择" }
                    }
                    @if list.is_empty() { p.hint { "没有设置了平台密码的培训纳税人。" } }
                }
                @if let Some((id, q)) = question {
                    p { "回答您设置的密保问题，回答正确后将取消平台密码，之后可仅凭税务数字证书登录。" }
                    form method="post" action="/login/recover" {
                        @if let Some(Recovering::Choose(_)) = who {
                            input type="hidden" name="taxpayer_id" value=(id);
                        }
                        p { "密保问题：" strong { (q) } }
                        label for="answer" { "答案" }
                        input #answer type="text" name="answer" required autocomplete="off";
                        button type="submit" { "提交" }
                    }
                }
                p.aside { a href="/login" { "返回登录" } }
            }
        },
    )
}

/// The taxpayer recovering: the connection's certificate's, or — in training mode without one
/// — the list to choose from.
async fn recovering(req: &HttpRequest, app: &std::sync::Arc<App>) -> AppResult<Recovering> {
    match extract::certificate_taxpayer(req, app)? {
        Some(id) => Ok(Recovering::Taxpayer(id)),
        None if app.training() => {
            let list = training_list(app).await?;
            Ok(Recovering::Choose(
                list.into_iter()
                    .filter(|t| t.platform_password.is_some())
                    .collect(),
            ))
        }
        None => Err(AppError::new(crate::error::Code::CertificateRequired)),
    }
}

#[derive(Debug, Default, Deserialize)]
struct RecoverQuery {
    taxpayer_id: Option<String>,
    done: Option<String>,
    error: Option<String>,
}

/// The taxpayer the recovery is for: the certificate's, or the chosen training taxpayer (only
/// one of the list).
fn chosen(who: &Recovering, given: Option<&str>) -> AppResult<Option<TaxpayerId>> {
    match who {
        Recovering::Taxpayer(id) => Ok(Some(id.clone())),
        Recovering::Choose(list) => match given.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => {
                let id = TaxpayerId::parse(s)?;
                if list.iter().any(|t| t.id == id) {
                    Ok(Some(id))
                } else {
                    Err(AppError::invalid(
                        "taxpayer_id",
                        "请选择设置了平台密码的培训纳税人",
                    ))
                }
            }
        },
    }
}

async fn recover_page(
    req: HttpRequest,
    app: web::Data<App>,
    q: web::Query<RecoverQuery>,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let who = match recovering(&req, &app).await {
        Ok(w) => w,
        Err(e) => {
            return Ok(html(
                e.status(),
                recover_view(None, None, Some(("error", &e.message))),
            ))
        }
    };
    let message = match (&q.error, q.done.as_deref()) {
        (Some(e), _) => Some(("error", e.as_str())),
        (None, Some("1")) => Some(("ok", "密保问题回答正确，平台密码已取消，请返回登录。")),
        _ => None,
    };
    if q.done.is_some() {
        return Ok(html(StatusCode::OK, recover_view(None, None, message)));
    }
    let id = match chosen(&who, q.taxpayer_id.as_deref()) {
        Ok(id) => id,
        Err(e) => {
            return Ok(html(
                e.status(),
                recover_view(Some(&who), None, Some(("error", &e.message))),
            ))
        }
    };
    let Some(id) = id else {
        return Ok(html(
            StatusCode::OK,
            recover_view(Some(&who), None, message),
        ));
    };
    let (app2, id2) = (app.clone(), id.clone());
    match blocking(move || service::portal::profile::recovery_question(&app2, &id2)).await {
        Ok(question) => Ok(html(
            StatusCode::OK,
            recover_view(Some(&who), Some((&id, &question)), message),
        )),
        Err(e) => Ok(html(
            e.status(),
            recover_view(Some(&who), None, Some(("error", &e.message))),
        )),
    }
}

#[derive(Debug, Deserialize)]
struct RecoverForm {
    answer: String,
    taxpayer_id: Option<String>,
}

/// The answer, then back to the page (Post/Redirect/Get) with the outcome.
async fn recover(
    req: HttpRequest,
    app: web::Data<App>,
    form: web::Form<RecoverForm>,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let form = form.into_inner();
    let who = match recovering(&req, &app).await {
        Ok(w) => w,
        Err(e) => return Ok(see_other(&with_error("/login/recover", &e.message))),
    };
    let id = match chosen(&who, form.taxpayer_id.as_deref()) {
        Ok(Some(id)) => id,
        Ok(None) => return Ok(see_other(&with_error("/login/recover", "请选择培训纳税人"))),
        Err(e) => return Ok(see_other(&with_error("/login/recover", &e.message))),
    };
    let back = match who {
        Recovering::Taxpayer(_) => "/login/recover".to_string(),
        Recovering::Choose(_) => format!("/login/recover?taxpayer_id={id}"),
    };
    let actor = extract::who(&req, &app, Actor::Anonymous);
    let answer = form.answer;
    match blocking(move || service::portal::profile::recover(&app, &actor, &id, &answer)).await {
        Ok(()) => Ok(see_other("/login/recover?done=1")),
        Err(e) => Ok(see_other(&with_error(&back, &e.message))),
    }
}
