//! Security headers, in one place, on every response. Nothing is kept in a browser's or a
//! proxy's cache unless its handler says so (only the embedded assets do): pages and answers
//! carry taxpayers' data, and offices share computers.

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;

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
