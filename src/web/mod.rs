//! Web pages (maud): the layout, small components, one module per page group, and the
//! embedded `assets/`. Pages call the same services as the API; handlers stay thin.
//! May depend on: service, domain, `server::extract`, error. Never on the store directly.

pub mod components;
pub mod errors;
pub mod layout;
mod pages;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};

/// Files of `assets/`, embedded in the binary.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/app.css"),
    ),
    (
        "select.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/select.js"),
    ),
    (
        "zn.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/zn.js"),
    ),
    (
        "chat.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/chat.js"),
    ),
    (
        "chat.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/chat.css"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/console.js"),
    ),
    (
        "upload.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/upload.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../../assets/favicon.svg"),
    ),
];

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/assets/{name}", web::get().to(asset));
    pages::routes(cfg);
}

async fn asset(name: web::Path<String>) -> HttpResponse {
    match ASSETS.iter().find(|(n, _, _)| *n == name.as_str()) {
        Some((_, mime, body)) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, *mime))
            .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
            .body(*body),
        None => errors::error_response(StatusCode::NOT_FOUND, None),
    }
}
