//! The audit log (S-O6): every state change, newest first.

use crate::domain::{AuditEntry, Paging};
use crate::error::AppResult;
use crate::service::App;
use crate::store::prelude::*;
use crate::store::AuditFilter;

pub fn list(app: &App, filter: &AuditFilter) -> AppResult<(usize, Vec<AuditEntry>)> {
    app.store.read()?.audit_entries(filter)
}

/// The page `paging` of the entries `filter` selects (its own limit and offset are replaced);
/// a page past the end is refused.
pub fn page(
    app: &App,
    filter: &AuditFilter,
    paging: Paging,
) -> AppResult<(usize, Vec<AuditEntry>)> {
    let filter = AuditFilter {
        limit: paging.per_page(),
        offset: paging.offset(),
        ..filter.clone()
    };
    let (total, items) = list(app, &filter)?;
    paging.within(total as u64)?;
    Ok((total, items))
}
