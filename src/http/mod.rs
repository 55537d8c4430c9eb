//! The request layer shared by the JSON API (`api`) and the pages (`web`): extractors for the
//! session, the logged-in taxpayer or staff member and the acting person; running service work
//! on the blocking pool; uploads and downloads; the same-origin check.

pub mod access;
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

/// JSON bodies of at most `limit` bytes (more is 413 `too_large`); a body that does not parse
/// is 400 `malformed`, valid JSON of the wrong shape 422.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|err, _req| {
            use actix_web::error::JsonPayloadError as J;
            let e = match &err {
                J::Deserialize(de) if de.is_data() => {
                    crate::error::AppError::new(crate::error::Code::InvalidValue)
                        .with_message(format!("请求内容不正确：{de}"))
                }
                J::OverflowKnownLength { .. } | J::Overflow { .. } => {
                    crate::error::AppError::new(crate::error::Code::TooLarge)
                }
                J::ContentType => crate::error::AppError::new(crate::error::Code::UnsupportedType)
                    .with_message("请求内容类型应为 application/json"),
                _ => crate::error::AppError::new(crate::error::Code::Malformed)
                    .with_message(format!("请求格式不正确：{err}")),
            };
            e.into()
        })
}

/// Whether a path is served as JSON (API, health, metrics) rather than as pages.
pub fn is_machine_path(path: &str) -> bool {
    path.starts_with("/api/") || path == "/healthz" || path == "/metrics"
}
