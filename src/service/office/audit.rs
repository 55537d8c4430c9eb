//! The audit log (S-O6): every state change, newest first.

use crate::domain::{AuditEntry, Paging};
use crate::error::{AppError, AppResult};
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

/// Every entry `filter` selects as a CSV file (see `formats::table_csv`: UTF-8 with a BOM,
/// formula-like cells neutralised — a username or detail typed by anyone is never a formula).
pub fn export_csv(app: &App, filter: &AuditFilter) -> AppResult<Vec<u8>> {
    let (_, items) = list(app, filter)?;
    let header = [
        "序号",
        "时间",
        "业务时间",
        "操作人",
        "地址",
        "操作",
        "对象",
        "详情",
    ];
    let rows = items.iter().map(|e| {
        [
            e.seq.to_string(),
            e.at.to_rfc3339(),
            e.business_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            e.actor.to_string(),
            e.address.clone().unwrap_or_default(),
            e.action.clone(),
            e.target.clone(),
            e.detail.clone(),
        ]
    });
    crate::formats::table_csv::write(&header, rows).map_err(AppError::internal)
}

/// An entry with its chain hash and the previous entry's (hex).
pub type Chained = (AuditEntry, String, String);

/// Like [`page`], each entry with its chain hash and the previous entry's (hex), read from
/// one snapshot.
pub fn page_chained(
    app: &App,
    filter: &AuditFilter,
    paging: Paging,
) -> AppResult<(usize, Vec<Chained>)> {
    let filter = AuditFilter {
        limit: paging.per_page(),
        offset: paging.offset(),
        ..filter.clone()
    };
    let r = app.store.read()?;
    let (total, items) = r.audit_entries(&filter)?;
    paging.within(total as u64)?;
    let hex = |h: Option<crate::domain::audit::chain::Hash>| {
        crate::domain::audit::chain::hex(&h.unwrap_or(crate::domain::audit::chain::GENESIS))
    };
    let mut out = Vec::with_capacity(items.len());
    for e in items {
        let hash = hex(r.audit_hash(e.seq)?);
        let prev = hex(r.audit_hash(e.seq.saturating_sub(1))?);
        out.push((e, hash, prev));
    }
    Ok((total, out))
}

/// The newest entry's sequence number and chain hash.
pub fn head(app: &App) -> AppResult<crate::store::backup::AuditHead> {
    let (seq, hash) = app.store.read()?.audit_head()?;
    Ok(crate::store::backup::AuditHead::new(seq, &hash))
}
