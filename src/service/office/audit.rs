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
    csv(&items)
}

/// The CSV file of `items` (as [`export_csv`] writes it).
fn csv(items: &[AuditEntry]) -> AppResult<Vec<u8>> {
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

/// The console's search of the audit log: the store's filter (actor, time range) and what
/// the store does not filter on — the action (`taxpayer.` matches every taxpayer action) and
/// the target. Empty fields select everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditSearch {
    /// Part of the actor's display form (`staff:admin`, `taxpayer:<ID>`).
    pub actor: String,
    /// The action, or its beginning.
    pub action: String,
    /// Part of the target (a taxpayer ID, a username, `<region> <period>`).
    pub target: String,
    pub from: Option<chrono::DateTime<chrono::FixedOffset>>,
    pub to: Option<chrono::DateTime<chrono::FixedOffset>>,
}

impl AuditSearch {
    fn filter(&self) -> AuditFilter {
        AuditFilter {
            from: self.from,
            to: self.to,
            actor: Some(self.actor.trim().to_string()).filter(|a| !a.is_empty()),
            limit: usize::MAX,
            offset: 0,
        }
    }

    fn matches(&self, e: &AuditEntry) -> bool {
        let action = self.action.trim();
        let target = self.target.trim().to_uppercase();
        e.action.starts_with(action) && e.target.to_uppercase().contains(&target)
    }
}

/// Every entry `s` selects, newest first.
pub fn search_all(app: &App, s: &AuditSearch) -> AppResult<Vec<AuditEntry>> {
    let (_, items) = list(app, &s.filter())?;
    Ok(items.into_iter().filter(|e| s.matches(e)).collect())
}

/// The page `paging` of the entries `s` selects, with their number; a page past the end is
/// refused.
pub fn search(app: &App, s: &AuditSearch, paging: Paging) -> AppResult<(usize, Vec<AuditEntry>)> {
    let all = search_all(app, s)?;
    let total = all.len();
    paging.within(total as u64)?;
    let items = all
        .into_iter()
        .skip(paging.offset())
        .take(paging.per_page())
        .collect();
    Ok((total, items))
}

/// Every entry `s` selects as a CSV file (as [`export_csv`]).
pub fn search_csv(app: &App, s: &AuditSearch) -> AppResult<Vec<u8>> {
    csv(&search_all(app, s)?)
}

/// The newest `limit` entries about the taxpayer `id`: those naming it as their target and
/// those it made itself.
pub fn about_taxpayer(
    app: &App,
    id: &crate::domain::TaxpayerId,
    limit: usize,
) -> AppResult<(usize, Vec<AuditEntry>)> {
    let (_, items) = list(app, &AuditSearch::default().filter())?;
    let own = format!("taxpayer:{id}");
    let about: Vec<AuditEntry> = items
        .into_iter()
        .filter(|e| e.target.contains(id.as_str()) || e.actor.to_string() == own)
        .collect();
    let total = about.len();
    Ok((total, about.into_iter().take(limit).collect()))
}
