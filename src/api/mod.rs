//! JSON API (`/api/v1`, API.md) and health. Handlers are thin: parse the request into domain
//! types, run the service off the async executor, serialise the result. Errors are
//! `AppError`, rendered once as `{"error": {...}}`.
//! May depend on: service, domain, `server::extract`, error. Never on the store directly.

mod invoices;
mod office;
mod session;

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
    cfg.route("/healthz", web::get().to(healthz)).service(
        web::scope("/api/v1")
            .configure(session::routes)
            .configure(invoices::routes)
            .configure(office::routes),
    );
}

/// Paging of lists: `page` 1-based, `per_page` default 50, at most 500.
pub(crate) fn paging(page: Option<usize>, per_page: Option<usize>) -> AppResult<(usize, usize)> {
    let page = page.unwrap_or(1);
    let per_page = per_page.unwrap_or(50);
    if page == 0 {
        return Err(crate::error::AppError::invalid("page", "页码应从1开始"));
    }
    if per_page == 0 || per_page > 500 {
        return Err(crate::error::AppError::invalid(
            "per_page",
            "每页条数应在1至500之间",
        ));
    }
    Ok((page, per_page))
}

async fn healthz(app: web::Data<App>) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    blocking(move || app.health()).await?;
    Ok(HttpResponse::Ok().json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
    })))
}
