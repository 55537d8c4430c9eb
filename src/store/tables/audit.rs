//! The audit log: append-only, one entry per state change. Entries are drafted in the
//! transaction ([`Tx::audit`]) and appended by the store at commit.

use redb::ReadableTable;

use super::{dec, Tables, AUDIT};
use crate::domain::{Actor, AuditEntry};
use crate::error::AppResult;
use crate::store::Tx;

/// Filters of the audit log listing.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub from: Option<chrono::DateTime<chrono::FixedOffset>>,
    pub to: Option<chrono::DateTime<chrono::FixedOffset>>,
    pub actor: Option<String>,
    pub limit: usize,
    pub offset: usize,
}

/// An audit entry recorded in a transaction, before the store completes it at commit.
pub(in crate::store) struct AuditDraft {
    /// Someone other than the transaction's `Who` (several changes committed together).
    pub by: Option<(Actor, Option<String>)>,
    pub action: String,
    pub target: String,
    pub detail: String,
}

/// Getters of the audit log, on a [`Reader`](crate::store::Reader) or a [`Tx`].
pub trait AuditReads: Tables {
    /// Audit entries, newest first, filtered.
    fn audit_entries(&self, f: &AuditFilter) -> AppResult<(usize, Vec<AuditEntry>)> {
        let t = self.table(AUDIT)?;
        let mut total = 0usize;
        let mut out = Vec::new();
        for row in t.iter()?.rev() {
            let (_, v) = row?;
            let e: AuditEntry = dec(v.value())?;
            if f.from.is_some_and(|from| e.at < from) || f.to.is_some_and(|to| e.at > to) {
                continue;
            }
            if let Some(a) = &f.actor {
                if !e.actor.to_string().contains(a.as_str()) {
                    continue;
                }
            }
            if total >= f.offset && out.len() < f.limit {
                out.push(e);
            }
            total += 1;
        }
        Ok((total, out))
    }

    /// Sequence number of the newest audit entry (0 when none): the store's change
    /// counter, since every state change appends one.
    fn last_audit_seq(&self) -> AppResult<u64> {
        let t = self.table(AUDIT)?;
        let last = t.last()?;
        Ok(last.map(|(k, _)| k.value()).unwrap_or(0))
    }
}

impl<T: Tables> AuditReads for T {}

impl Tx {
    /// Records what this change does; appended to the audit log at commit.
    pub fn audit(
        &mut self,
        action: &str,
        target: impl std::fmt::Display,
        detail: impl Into<String>,
    ) {
        self.audits.push(AuditDraft {
            by: None,
            action: action.to_string(),
            target: target.to_string(),
            detail: detail.into(),
        });
    }

    /// Like [`Tx::audit`] for a change made by `actor` from `address` when one transaction
    /// commits the changes of several people (the 征纳互动 hub's group commits).
    pub fn audit_as(
        &mut self,
        actor: Actor,
        address: Option<String>,
        action: &str,
        target: impl std::fmt::Display,
        detail: impl Into<String>,
    ) {
        self.audits.push(AuditDraft {
            by: Some((actor, address)),
            action: action.to_string(),
            target: target.to_string(),
            detail: detail.into(),
        });
    }
}
