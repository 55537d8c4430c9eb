//! The same-origin check of state-changing requests (the CSRF protection of every form).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::Error;

use crate::error::{AppError, Code};

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

/// This server's origin as the client addressed it: the connection's scheme and the `Host`
/// header. What a proxy says about the original host and scheme (`Forwarded`,
/// `X-Forwarded-Host`, `X-Forwarded-Proto`) is believed only from the configured
/// `trusted_proxies`; from anyone else those headers could make a foreign origin look like
/// ours.
pub fn own_origin(req: &actix_web::HttpRequest) -> String {
    let from_proxy = req.peer_addr().is_some_and(|peer| {
        req.app_data::<actix_web::web::Data<crate::service::App>>()
            .is_some_and(|app| app.settings.trusted_proxies.contains(&peer.ip()))
    });
    if from_proxy {
        let info = req.connection_info();
        return format!("{}://{}", info.scheme(), info.host());
    }
    let config = req.app_config();
    let scheme = if config.secure() { "https" } else { "http" };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| config.host());
    format!("{scheme}://{host}")
}

/// Refuses cross-site state-changing requests (see [`cross_site`]) with 403.
pub async fn csrf(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let own = own_origin(req.request());
    if cross_site(req.method(), req.headers(), &own) {
        // Answered as the error itself: the page layer's error middleware, outside this one,
        // renders it as an HTML page for page paths.
        let e =
            AppError::new(Code::Forbidden).with_message("请求来源不是本平台，已拒绝（跨站请求）");
        return Ok(req.error_response(e).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

#[cfg(test)]
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
