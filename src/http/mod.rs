//! The request layer shared by the JSON API (`api`) and the pages (`web`): extractors for the
//! session, the logged-in taxpayer or staff member and the acting person; running service work
//! on the blocking pool; uploads and downloads; the same-origin check.

pub mod extract;
pub mod files;
pub mod origin;

use actix_web::web;

use crate::error::AppResult;

/// Runs blocking service work (redb, argon2, tantivy, spreadsheets, PDF) on the blocking pool,
/// inside the current tracing span (so its logs carry the request id).
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    let span = tracing::Span::current();
    web::block(move || span.in_scope(f)).await?
}

/// Whether a path is served as JSON (API, health, metrics) rather than as pages.
pub fn is_machine_path(path: &str) -> bool {
    path.starts_with("/api/") || path == "/healthz" || path == "/metrics"
}
