//! Sessions: taxpayer login and logout, staff login and logout, `GET /api/v1/me`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::domain::{Actor, TaxpayerId};
use crate::error::{AppError, AppResult, Code};
use crate::http::blocking;
use crate::http::extract::{self, Session};
use crate::service::{self, App};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/session", web::post().to(taxpayer_login))
        .route("/session", web::delete().to(logout))
        .route("/office/session", web::post().to(staff_login))
        .route("/office/session", web::delete().to(logout));
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaxpayerLoginBody {
    taxpayer_id: Option<String>,
    password: Option<String>,
}

async fn taxpayer_login(
    req: HttpRequest,
    app: web::Data<App>,
    body: Option<web::Json<TaxpayerLoginBody>>,
) -> AppResult<HttpResponse> {
    let body = body.map(|b| b.into_inner()).unwrap_or(TaxpayerLoginBody {
        taxpayer_id: None,
        password: None,
    });
    let app = app.into_inner();
    let by_cert = extract::certificate_taxpayer(&req, &app)?;
    let given = body
        .taxpayer_id
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(TaxpayerId::parse)
        .transpose()?;
    let who = extract::who(&req, &app, Actor::Anonymous);
    let password = body.password;
    let login = match (by_cert, given) {
        // The certificate names the taxpayer (S-T1).
        (Some(id), given) => {
            if given.as_ref().is_some_and(|g| g != &id) {
                return Err(AppError::new(Code::CertificateInvalid)
                    .with_message("证书中的纳税人识别号与所选纳税人不一致")
                    .with_extra("reason", "taxpayer_mismatch"));
            }
            blocking(move || service::auth::taxpayer_login(&app, &who, &id, password.as_deref()))
                .await?
        }
        // Training mode only: the training list.
        (None, Some(id)) if app.training() => {
            blocking(move || service::auth::training_login(&app, &who, &id, password.as_deref()))
                .await?
        }
        (None, _) if app.training() => {
            return Err(AppError::invalid("taxpayer_id", "请选择要登录的培训纳税人"))
        }
        (None, _) => return Err(AppError::new(Code::CertificateRequired)),
    };
    Ok(HttpResponse::Ok().json(login))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StaffLoginBody {
    username: String,
    password: String,
}

async fn staff_login(
    req: HttpRequest,
    app: web::Data<App>,
    body: web::Json<StaffLoginBody>,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let who = extract::who(&req, &app, Actor::Anonymous);
    let body = body.into_inner();
    let login =
        blocking(move || service::auth::staff_login(&app, &who, &body.username, &body.password))
            .await?;
    Ok(HttpResponse::Ok().json(json!({
        "token": login.token,
        "username": login.username,
        "role": login.role,
    })))
}

async fn logout(
    req: HttpRequest,
    app: web::Data<App>,
    session: Session,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let who = extract::who(&req, &app, session.actor());
    blocking(move || service::auth::logout(&app, &who, &session.token)).await?;
    Ok(HttpResponse::NoContent().finish())
}
