//! Taxpayer login (training list in training mode), logout with confirmation.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::{html, see_other};
use crate::api::blocking;
use crate::domain::{Actor, Taxpayer, TaxpayerId};
use crate::error::{AppError, AppResult};
use crate::server::extract::{self, Session};
use crate::service::{self, App};
use crate::web::layout::{notice, page, Page, Viewer};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::get().to(login_page))
        .route("/login/training", web::post().to(training_login))
        .route("/logout", web::get().to(logout_confirm))
        .route("/logout", web::post().to(logout));
}

fn login_view(training: bool, taxpayers: &[Taxpayer], error: Option<&str>) -> Markup {
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
                                        form method="post" action="/login/training" {
                                            input type="hidden" name="taxpayer_id" value=(t.id);
                                            button type="submit" { "登录" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                p.aside { a href="/office/login" { "税务人员登录" } }
            }
        },
    )
}

async fn login_page(app: web::Data<App>) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let training = app.training();
    let list = if training {
        blocking(move || service::taxpayers::training_list(&app)).await?
    } else {
        Vec::new()
    };
    Ok(html(StatusCode::OK, login_view(training, &list, None)))
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
            let training = app.training();
            let list = if training {
                blocking(move || service::taxpayers::training_list(&app)).await?
            } else {
                Vec::new()
            };
            Ok(html(
                e.status(),
                login_view(training, &list, Some(&e.message)),
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
