//! The audit log (S-O6): every state change, newest first.

use crate::domain::AuditEntry;
use crate::error::AppResult;
use crate::service::App;
use crate::store::prelude::*;
use crate::store::AuditFilter;

pub fn list(app: &App, filter: &AuditFilter) -> AppResult<(usize, Vec<AuditEntry>)> {
    app.store.read()?.audit_entries(filter)
}
