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

/// Whether a state-changing request comes from another site. Browsers send `Origin` with
/// every cross-origin (and same-origin) POST; when one is present it must be this server's
/// own origin (scheme, host and port), else `Referer` must start with it. Requests with
/// neither (API clients, scripts) are not browser form posts and pass — together with the
/// `SameSite=Strict` session cookie this is the CSRF protection of every form (OWASP's
/// "verifying origin with standard headers").
pub fn cross_site(
    method: &actix_web::http::Method,
    headers: &actix_web::http::header::HeaderMap,
    own_origin: &str,
) -> bool {
    use actix_web::http::Method;
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let get = |h: header::HeaderName| headers.get(h).and_then(|v| v.to_str().ok());
    match (get(header::ORIGIN), get(header::REFERER)) {
        (Some(o), _) => o != own_origin,
        (None, Some(r)) => !(r == own_origin || r.starts_with(&format!("{own_origin}/"))),
        (None, None) => false,
    }
}

/// Refuses cross-site state-changing requests (see [`cross_site`]) with 403.
pub async fn csrf(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let info = req.connection_info().clone();
    let own = format!("{}://{}", info.scheme(), info.host());
    if cross_site(req.method(), req.headers(), &own) {
        let e = AppError::new(crate::error::Code::Forbidden)
            .with_message("请求来源不是本平台，已拒绝（跨站请求）");
        let (req, _) = req.into_parts();
        let res = if is_machine_path(req.path()) {
            actix_web::ResponseError::error_response(&e)
        } else {
            crate::web::error_response(StatusCode::FORBIDDEN, Some(&e.message))
        };
        return Ok(ServiceResponse::new(req, res).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderMap, HeaderValue};
    use actix_web::http::Method;

    fn h(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        m
    }

    #[test]
    fn cross_site_requests_are_recognised() {
        let own = "https://127.0.0.1:8443";
        assert!(!cross_site(
            &Method::POST,
            &h(&[(header::ORIGIN, own)]),
            own
        ));
        assert!(cross_site(
            &Method::POST,
            &h(&[(header::ORIGIN, "https://evil.example")]),
            own
        ));
        assert!(cross_site(
            &Method::POST,
            &h(&[(header::ORIGIN, "null")]),
            own
        ));
        assert!(!cross_site(
            &Method::POST,
            &h(&[(header::REFERER, "https://127.0.0.1:8443/select?x=1")]),
            own
        ));
        assert!(cross_site(
            &Method::POST,
            &h(&[(header::REFERER, "https://127.0.0.1:8443.evil.example/")]),
            own
        ));
        assert!(!cross_site(&Method::POST, &h(&[]), own));
        assert!(!cross_site(
            &Method::GET,
            &h(&[(header::ORIGIN, "https://evil.example")]),
            own
        ));
        assert!(cross_site(
            &Method::DELETE,
            &h(&[(header::ORIGIN, "http://127.0.0.1:8443")]),
            own
        ));
    }
}
