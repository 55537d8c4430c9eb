//! JSON API (`/api/v1`, API.md) and health. Handlers are thin: parse the request into domain
//! types, run the service off the async executor (`Acting::run`), serialise the result.
//! Errors are `AppError`, rendered once as `{"error": {...}}`. Every route is added through
//! [`router::Routes`] and described by its handler's `#[utoipa::path]`; `openapi` serves the
//! document, and a test checks that the two agree.
//! May depend on: http, service, config, domain, error. Never on the store directly.

mod confirmations;
mod files;
mod interact;
mod invoices;
mod office;
pub mod openapi;
mod pki;
mod router;
mod schema;
mod session;
mod taxpayer;
mod transfers;

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppResult;
use crate::http::blocking;
use crate::service::App;
use router::Routes;

/// The whole route table: health, the document, and `/api/v1`.
fn table(r: &mut Routes<'_>) {
    r.get("/healthz", healthz)
        .get("/api/openapi.json", openapi::serve)
        .scope("/api/v1", |r| {
            session::routes(r);
            taxpayer::routes(r);
            transfers::routes(r);
            confirmations::routes(r);
            files::routes(r);
            interact::routes(r);
            invoices::routes(r);
            office::routes(r);
        });
    pki::routes(r);
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    table(&mut Routes::serve(cfg));
}

/// Every route served, as (lower-case method, full path with `{name}` parameters).
pub fn route_table() -> Vec<(String, String)> {
    let mut out = Vec::new();
    table(&mut Routes::list(&mut out));
    out.into_iter()
        .map(|(m, p)| (m.as_str().to_ascii_lowercase(), p))
        .collect()
}

#[derive(Serialize, ToSchema)]
struct Health {
    /// Always `ok`.
    status: &'static str,
    version: &'static str,
}

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    summary = "健康检查",
    security(()),
    responses((status = 200, description = "存储可读写", body = Health))
)]
async fn healthz(app: web::Data<App>) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    blocking(move || app.health()).await?;
    Ok(HttpResponse::Ok().json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    }))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(healthz))]
struct Doc;
