//! The issuing CA, public: its certificate (DER and PEM) for taxpayers to install, and the
//! certificate revocation list.

use actix_web::{web, HttpResponse};

use super::router::Routes;
use super::schema::Binary;
use crate::error::AppResult;
use crate::http::blocking;
use crate::service::office::certificates;
use crate::service::App;

pub(super) fn routes(r: &mut Routes<'_>) {
    r.get("/pki/ca.crt", ca_der)
        .get("/pki/ca.pem", ca_pem)
        .get("/pki/crl", crl);
}

fn attachment(name: &str) -> (actix_web::http::header::HeaderName, String) {
    (
        actix_web::http::header::CONTENT_DISPOSITION,
        format!("attachment; filename=\"{name}\""),
    )
}

#[utoipa::path(
    get,
    path = "/pki/ca.crt",
    tag = "pki",
    summary = "下载根证书（DER）",
    security(()),
    responses((status = 200, description = "签发税务数字证书的 CA 证书", body = Binary, content_type = "application/pkix-cert"))
)]
async fn ca_der(app: web::Data<App>) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let ca = blocking(move || certificates::ca_certificate(&app)).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/pkix-cert")
        .insert_header(attachment("fapiao-ca.crt"))
        .body(ca.der))
}

#[utoipa::path(
    get,
    path = "/pki/ca.pem",
    tag = "pki",
    summary = "下载根证书（PEM）",
    security(()),
    responses((status = 200, description = "签发税务数字证书的 CA 证书（PEM 文本）", body = Binary, content_type = "application/x-pem-file"))
)]
async fn ca_pem(app: web::Data<App>) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let ca = blocking(move || certificates::ca_certificate(&app)).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/x-pem-file")
        .insert_header(attachment("fapiao-ca.pem"))
        .body(ca.pem))
}

#[utoipa::path(
    get,
    path = "/pki/crl",
    tag = "pki",
    summary = "证书吊销列表（CRL，DER）",
    description = "由 CA 签名，列出本系统吊销的全部证书，有效期 7 天（每次请求重新签发）。只配置了 CA 证书而没有私钥时 409 `ca_key_missing`。",
    security(()),
    responses((status = 200, description = "X.509 CRL", body = Binary, content_type = "application/pkix-crl"))
)]
async fn crl(app: web::Data<App>) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let der = blocking(move || certificates::crl(&app)).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/pkix-crl")
        .insert_header(attachment("fapiao.crl"))
        .body(der))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(ca_der, ca_pem, crl))]
pub(super) struct Doc;
