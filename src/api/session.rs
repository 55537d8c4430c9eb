//! Sessions: taxpayer login and logout, the platform password's recovery, staff login and
//! logout.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::router::{Methods, Routes};
use crate::domain::{Actor, TaxpayerId};
use crate::error::{AppError, AppResult, Code};
use crate::http::blocking;
use crate::http::extract::{self, JsonObject, Session};
use crate::service::auth::{StaffLogin, TaxpayerLogin};
use crate::service::portal;
use crate::service::{self, App};

/// Login and recovery bodies hold an ID, a name and a password or answer: a few hundred
/// bytes. Anything near this cap is not a login (anonymous requests store nothing large).
const LOGIN_BODY_LIMIT: usize = 4 * 1024;

pub(super) fn routes(r: &mut Routes<'_>) {
    r.limited(
        "/session",
        LOGIN_BODY_LIMIT,
        Methods::default().post(taxpayer_login).delete(logout),
    )
    .limited(
        "/session/recover",
        LOGIN_BODY_LIMIT,
        Methods::default().get(recovery_question).post(recover),
    )
    .limited(
        "/office/session",
        LOGIN_BODY_LIMIT,
        Methods::default().post(staff_login).delete(staff_logout),
    );
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TaxpayerLoginBody {
    /// 培训模式：所选培训纳税人；有证书时须与证书一致。
    taxpayer_id: Option<String>,
    /// 平台密码（已设置时）。
    password: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/session",
    tag = "sessions",
    summary = "纳税人登录（客户端证书；培训模式可选择培训纳税人）",
    security(()),
    request_body(content = Option<TaxpayerLoginBody>),
    responses((status = 200, description = "已登录", body = TaxpayerLogin))
)]
async fn taxpayer_login(
    req: HttpRequest,
    app: web::Data<App>,
    body: Option<JsonObject<TaxpayerLoginBody>>,
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
    let login: TaxpayerLogin = match (by_cert, given) {
        // The certificate names the taxpayer (S-T1).
        (Some(id), given) => {
            if given.as_ref().is_some_and(|g| g != &id) {
                return Err(AppError::new(Code::CertificateInvalid)
                    .with_message("证书中的纳税人识别号与所选纳税人不一致")
                    .with_extra("reason", "taxpayer_mismatch"));
            }
            let fingerprint = extract::certificate_fingerprint(&req).unwrap_or_default();
            blocking(move || {
                service::auth::certificate_login(&app, &who, &id, password.as_deref(), &fingerprint)
            })
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct StaffLoginBody {
    username: String,
    password: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/office/session",
    tag = "sessions",
    summary = "税务人员登录",
    security(()),
    request_body = StaffLoginBody,
    responses((status = 200, description = "已登录", body = StaffLogin))
)]
async fn staff_login(
    req: HttpRequest,
    app: web::Data<App>,
    body: JsonObject<StaffLoginBody>,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let who = extract::who(&req, &app, Actor::Anonymous);
    let body = body.into_inner();
    let login: StaffLogin =
        blocking(move || service::auth::staff_login(&app, &who, &body.username, &body.password))
            .await?;
    Ok(HttpResponse::Ok().json(login))
}

#[utoipa::path(
    delete,
    path = "/api/v1/session",
    tag = "sessions",
    summary = "退出",
    responses((status = 204, description = "已退出"))
)]
async fn logout(
    req: HttpRequest,
    app: web::Data<App>,
    session: Session,
) -> AppResult<HttpResponse> {
    end_session(req, app, session).await
}

#[utoipa::path(
    delete,
    path = "/api/v1/office/session",
    tag = "sessions",
    summary = "税务人员退出",
    responses((status = 204, description = "已退出"))
)]
async fn staff_logout(
    req: HttpRequest,
    app: web::Data<App>,
    session: Session,
) -> AppResult<HttpResponse> {
    end_session(req, app, session).await
}

/// Ends the request's session (a taxpayer's or a staff member's: either path ends either).
async fn end_session(
    req: HttpRequest,
    app: web::Data<App>,
    session: Session,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let who = extract::who(&req, &app, session.actor());
    blocking(move || service::auth::logout(&app, &who, &session.token)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct RecoverQuery {
    /// 纳税人识别号（培训模式；有证书时须与证书一致）。
    taxpayer_id: Option<String>,
}

/// Whom a recovery request is for: the certificate's taxpayer (the ID given, if any, must
/// match), or in training mode the ID given.
fn recovering(req: &HttpRequest, app: &App, given: Option<&str>) -> AppResult<TaxpayerId> {
    let given = given
        .filter(|s| !s.trim().is_empty())
        .map(TaxpayerId::parse)
        .transpose()?;
    match (extract::certificate_taxpayer(req, app)?, given) {
        (Some(id), Some(g)) if g != id => Err(AppError::new(Code::CertificateInvalid)
            .with_message("证书中的纳税人识别号与填写的纳税人识别号不一致")
            .with_extra("reason", "taxpayer_mismatch")),
        (Some(id), _) => Ok(id),
        (None, Some(g)) if app.training() => Ok(g),
        (None, None) if app.training() => {
            Err(AppError::invalid("taxpayer_id", "请输入纳税人识别号"))
        }
        (None, _) => Err(AppError::new(Code::CertificateRequired)),
    }
}

#[derive(Serialize, ToSchema)]
struct RecoveryQuestion {
    question: String,
}

/// The recovery question of a taxpayer.
#[utoipa::path(
    get,
    path = "/api/v1/session/recover",
    tag = "sessions",
    summary = "密保问题（找回平台密码）",
    security(()),
    params(RecoverQuery),
    responses((status = 200, description = "密保问题", body = RecoveryQuestion))
)]
async fn recovery_question(
    req: HttpRequest,
    app: web::Data<App>,
    q: web::Query<RecoverQuery>,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let id = recovering(&req, &app, q.taxpayer_id.as_deref())?;
    let question = blocking(move || portal::profile::recovery_question(&app, &id)).await?;
    Ok(HttpResponse::Ok().json(RecoveryQuestion { question }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RecoverBody {
    /// 纳税人识别号（培训模式；有证书时须与证书一致）。
    taxpayer_id: Option<String>,
    /// 密保问题的答案。
    answer: String,
}

#[derive(Serialize, ToSchema)]
struct Recovered {
    #[schema(value_type = String)]
    taxpayer_id: TaxpayerId,
    /// Always false: the platform password is cancelled.
    platform_password: bool,
    message: &'static str,
}

#[utoipa::path(
    post,
    path = "/api/v1/session/recover",
    tag = "sessions",
    summary = "回答密保问题，取消平台密码",
    security(()),
    request_body = RecoverBody,
    responses((status = 200, description = "平台密码已取消", body = Recovered))
)]
async fn recover(
    req: HttpRequest,
    app: web::Data<App>,
    body: JsonObject<RecoverBody>,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let id = recovering(&req, &app, body.taxpayer_id.as_deref())?;
    let who = extract::who(&req, &app, Actor::Anonymous);
    let answer = body.into_inner().answer;
    let id2 = id.clone();
    blocking(move || portal::profile::recover(&app, &who, &id2, &answer)).await?;
    Ok(HttpResponse::Ok().json(Recovered {
        taxpayer_id: id,
        platform_password: false,
        message: "密保问题回答正确，平台密码已取消，请重新登录",
    }))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    taxpayer_login,
    logout,
    recovery_question,
    recover,
    staff_login,
    staff_logout
))]
pub(super) struct Doc;
