//! Page handlers, one module per group of pages.

mod bulk;
mod confirm;
mod console;
mod faq_admin;
mod help;
mod home;
mod interact;
mod login;
mod office;
mod pki;
mod profile;
mod query;
mod select;
mod statistics;
mod transfers;

use actix_web::http::header;
use actix_web::{web, HttpResponse};

pub fn routes(cfg: &mut web::ServiceConfig) {
    login::routes(cfg);
    home::routes(cfg);
    confirm::routes(cfg);
    statistics::routes(cfg);
    transfers::routes(cfg);
    query::routes(cfg);
    profile::routes(cfg);
    select::routes(cfg);
    bulk::routes(cfg);
    help::routes(cfg);
    office::routes(cfg);
    pki::routes(cfg);
    console::routes(cfg);
    faq_admin::routes(cfg);
    interact::routes(cfg);
}

/// 303 to `to` (after a form post).
pub(crate) fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

/// An HTML page with `status`.
pub(crate) fn html(status: actix_web::http::StatusCode, m: maud::Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(m.into_string())
}
