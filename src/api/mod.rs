//! JSON API (`/api/v1`, API.md) and health. Handlers are thin: parse the request into domain
//! types, run the service off the async executor, serialise the result. Errors are
//! `AppError`, rendered once as `{"error": {...}}`.
//! May depend on: service, domain, `server::extract`, error. Never on the store directly.

pub mod files;
mod interact;
mod invoices;
mod office;
pub mod openapi;
mod session;
mod taxpayer;

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::error::AppResult;
use crate::service::App;

/// Runs blocking service work (redb, argon2, …) on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    web::block(f).await?
}

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
