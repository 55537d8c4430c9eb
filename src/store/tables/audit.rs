//! The audit log: append-only, one entry per state change. Entries are drafted in the
//! transaction ([`Tx::audit`]) and appended by the store at commit.

use chrono::{DateTime, FixedOffset};
use redb::ReadableTable;

use super::{dec, Tables, AUDIT, AUDIT_CHAIN};
use crate::domain::audit::chain::{self, Hash};
use crate::domain::{Actor, AuditEntry};
use crate::error::{AppError, AppResult};
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
    /// The wall-clock and business times of the change, when not the transaction's `Who`'s.
    pub when: Option<(DateTime<FixedOffset>, DateTime<FixedOffset>)>,
    pub action: String,
    pub target: String,
    pub detail: String,
}

impl AuditDraft {
    /// Makes the entry `who`'s, at `who`'s times, where it does not name its own (a change
    /// committed in a group with other people's).
    pub(in crate::store) fn stamp(&mut self, who: &crate::store::Who) {
        if self.by.is_none() {
            self.by = Some((who.actor.clone(), who.address.clone()));
        }
        if self.when.is_none() {
            self.when = Some((who.wall, who.now));
        }
    }
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

    /// The newest entry's sequence number and chain hash (`(0, zeros)` for an empty log).
    fn audit_head(&self) -> AppResult<(u64, Hash)> {
        let seq = self.last_audit_seq()?;
        Ok((seq, self.audit_hash(seq)?.unwrap_or(chain::GENESIS)))
    }

    /// The stored chain hash of entry `seq` (`None` for 0 or an unhashed entry).
    fn audit_hash(&self, seq: u64) -> AppResult<Option<Hash>> {
        if seq == 0 {
            return Ok(None);
        }
        let t = self.table(AUDIT_CHAIN)?;
        let v = t.get(seq)?;
        Ok(v.and_then(|v| v.value().try_into().ok()))
    }

    /// Walks the whole chain: the head, or the first break (an altered, missing or unhashed
    /// entry). Reads one snapshot; holds one entry at a time.
    fn verify_audit_chain(&self) -> AppResult<Result<(u64, Hash), chain::Break>> {
        let entries = self.table(AUDIT)?;
        let hashes = self.table(AUDIT_CHAIN)?;
        let failed: std::cell::RefCell<Option<AppError>> = std::cell::RefCell::new(None);
        let note = |e: redb::StorageError| {
            failed.borrow_mut().get_or_insert(AppError::from(e));
        };
        let e_iter = entries.iter()?.map_while(|r| match r {
            Ok((k, v)) => Some((k.value(), v.value().to_vec())),
            Err(e) => {
                note(e);
                None
            }
        });
        let h_iter = hashes.iter()?.map_while(|r| match r {
            Ok((k, v)) => Some((k.value(), v.value().try_into().unwrap_or([0xff; 32]))),
            Err(e) => {
                note(e);
                None
            }
        });
        let out = chain::walk(e_iter, h_iter);
        if let Some(e) = failed.into_inner() {
            return Err(e);
        }
        Ok(out)
    }

    /// The stored bytes of entry `seq` (for the chain).
    fn audit_entry_bytes(&self, seq: u64) -> AppResult<Option<Vec<u8>>> {
        let t = self.table(AUDIT)?;
        let v = t.get(seq)?;
        Ok(v.map(|v| v.value().to_vec()))
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
            when: None,
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
            when: None,
            by: Some((actor, address)),
            action: action.to_string(),
            target: target.to_string(),
            detail: detail.into(),
        });
    }
}

/// The targets of every audit entry whose action is one of `actions` (the integrity check:
/// which batches have their confirming entry).
pub fn audit_targets(
    r: &impl Tables,
    actions: &[&str],
) -> AppResult<std::collections::HashSet<String>> {
    let t = r.table(AUDIT)?;
    let mut out = std::collections::HashSet::new();
    for row in t.iter()? {
        let (_, v) = row?;
        let e: AuditEntry = dec(v.value())?;
        if actions.contains(&e.action.as_str()) {
            out.insert(e.target);
        }
    }
    Ok(out)
}
