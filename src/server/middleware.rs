//! Middleware: security headers in one place, and HTML error pages for everything that is
//! not the JSON API (pages never show a raw JSON or text error).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{Error, HttpResponse};

use crate::error::AppError;

pub fn security_headers(https: bool) -> DefaultHeaders {
    let mut h = DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "same-origin"))
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             connect-src 'self'; media-src 'self' blob:; frame-ancestors 'none'; \
             form-action 'self'; base-uri 'none'",
        ));
    if https {
        h = h.add((
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ));
    }
    h
}

/// Whether a path is served as JSON (API, health, metrics) rather than as pages.
pub fn is_machine_path(path: &str) -> bool {
    path.starts_with("/api/") || path == "/healthz" || path == "/metrics"
}

/// Renders 4xx/5xx responses of page routes as HTML pages; a page that needs a login
/// redirects to the right login page instead.
pub async fn html_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let path = req.path().to_string();
    let res = next.call(req).await?;
    let status = res.status();
    if is_machine_path(&path) || !(status.is_client_error() || status.is_server_error()) {
        return Ok(res.map_into_left_body());
    }
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        return Ok(res.map_into_left_body());
    }
    let message = res
        .response()
        .error()
        .and_then(|e| e.as_error::<AppError>())
        .map(|e| e.message.to_string());
    let (req, _) = res.into_parts();
    let response = if status == StatusCode::UNAUTHORIZED {
        let login = if path.starts_with("/office") {
            "/office/login"
        } else {
            "/login"
        };
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, login))
            .finish()
    } else {
        crate::web::error_response(status, message.as_deref())
    };
    Ok(ServiceResponse::new(req, response).map_into_right_body())
}
