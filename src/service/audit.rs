//! The audit log (S-O6): every state change, newest first.

use crate::domain::AuditEntry;
use crate::error::AppResult;
use crate::store::repo::AuditFilter;

use super::App;

pub fn list(app: &App, filter: &AuditFilter) -> AppResult<(usize, Vec<AuditEntry>)> {
    app.store.read()?.audit_entries(filter)
}
