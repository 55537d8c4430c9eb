//! JSON API (`/api/v1`, API.md) and health. Handlers are thin: parse the request into domain
//! types, run the service off the async executor, serialise the result. Errors are
//! `AppError`, rendered once as `{"error": {...}}`.
//! May depend on: service, domain, `server::extract`, error. Never on the store directly.

mod files;
mod interact;
mod invoices;
mod office;
pub mod openapi;
mod session;
mod taxpayer;

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::error::AppResult;
use crate::http::blocking;
use crate::service::App;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .configure(openapi::routes)
        .service(
            web::scope("/api/v1")
                .configure(session::routes)
                .configure(taxpayer::routes)
                .configure(files::routes)
                .configure(interact::routes)
                .configure(invoices::routes)
                .configure(office::routes),
        );
}

async fn healthz(app: web::Data<App>) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    blocking(move || app.health()).await?;
    Ok(HttpResponse::Ok().json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
    })))
}
