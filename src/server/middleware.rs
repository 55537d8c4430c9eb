//! Security headers, in one place, on every response. Nothing is kept in a browser's or a
//! proxy's cache unless its handler says so (only the embedded assets do): pages and answers
//! carry taxpayers' data, and offices share computers.

use std::net::IpAddr;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{DefaultHeaders, Next};

use crate::error::{AppError, Code};
use crate::service::App;

pub fn security_headers(https: bool) -> DefaultHeaders {
    let mut h = DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "same-origin"))
        .add((header::CACHE_CONTROL, "no-store"))
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

/// Who may read `/metrics`: with a `metrics_token` configured, a request bearing it; without
/// one, only the machine itself (a loopback peer). The figures are the office's, and the
/// listener is the taxpayers' port.
pub fn metrics_allowed(
    peer: Option<IpAddr>,
    authorization: Option<&str>,
    token: Option<&str>,
) -> bool {
    match token {
        Some(t) => authorization
            .and_then(|a| a.strip_prefix("Bearer "))
            .is_some_and(|given| {
                // Compared in full whatever the first difference (no early exit to time).
                given.len() == t.len()
                    && given
                        .bytes()
                        .zip(t.bytes())
                        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                        == 0
            }),
        None => peer.is_some_and(|p| p.is_loopback()),
    }
}

/// Refuses `/metrics` to anyone [`metrics_allowed`] does not let in (403).
pub async fn metrics_guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if req.path() == "/metrics" {
        let token = req
            .app_data::<actix_web::web::Data<App>>()
            .and_then(|app| app.settings.metrics_token.clone());
        let authorization = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let peer = req.peer_addr().map(|a| a.ip());
        if !metrics_allowed(peer, authorization, token.as_deref()) {
            let e = AppError::new(Code::Forbidden)
                .with_message("运行指标仅限本机或持有监控令牌的系统读取");
            return Ok(req.error_response(e).map_into_right_body());
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// The writes a read-only replica still takes: logging in and out (their sessions live in
/// the replica's memory).
const REPLICA_WRITES: &[(&str, &str)] = &[
    ("POST", "/api/v1/session"),
    ("DELETE", "/api/v1/session"),
    ("POST", "/api/v1/office/session"),
    ("DELETE", "/api/v1/office/session"),
    ("POST", "/login/training"),
    ("POST", "/login/certificate"),
    ("POST", "/logout"),
    ("POST", "/office/login"),
];

/// On a read-only replica: refuses every write but logging in and out (403 `read_only`),
/// before anything else looks at it, and runs the request with the replica's banner set, so
/// every page shows it and hides its write controls (`web::layout::writes_allowed`).
pub async fn replica(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let banner = req
        .app_data::<actix_web::web::Data<App>>()
        .and_then(|app| app.replica_banner());
    let Some(banner) = banner else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let m = req.method().as_str();
    let write = !matches!(m, "GET" | "HEAD" | "OPTIONS");
    if write
        && !REPLICA_WRITES
            .iter()
            .any(|(wm, p)| *wm == m && *p == req.path())
    {
        return Ok(req
            .error_response(AppError::new(Code::ReadOnly))
            .map_into_right_body());
    }
    let res = crate::web::layout::REPLICA
        .scope(Some(banner), next.call(req))
        .await?;
    Ok(res.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::metrics_allowed;

    #[test]
    fn metrics_need_the_token_or_loopback() {
        let lo = Some("127.0.0.1".parse().unwrap());
        let lan = Some("192.168.1.20".parse().unwrap());
        assert!(metrics_allowed(lo, None, None));
        assert!(!metrics_allowed(lan, None, None));
        assert!(!metrics_allowed(None, None, None));
        let t = Some("s3cret-token");
        assert!(metrics_allowed(lan, Some("Bearer s3cret-token"), t));
        assert!(
            !metrics_allowed(lo, None, t),
            "with a token, loopback needs it too"
        );
        assert!(!metrics_allowed(lan, Some("Bearer s3cret-tokem"), t));
        assert!(!metrics_allowed(lan, Some("s3cret-token"), t));
    }
}
