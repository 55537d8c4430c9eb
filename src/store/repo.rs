//! Typed access to the tables: [`Reader`] over a read snapshot, [`Tx`] inside a write
//! transaction. Both offer the same getters (generated once by `getters!`).

use redb::{ReadTransaction, ReadableTable, ReadableTableMetadata, WriteTransaction};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::codec::{self, date_to_days, days_to_date};
use super::tables::*;
use crate::domain::engine::{Book, Ledger};
use crate::domain::interaction::{ChatMessage, InteractionRecord};
use crate::domain::statistics::Cached;
use crate::domain::{
    AuditEntry, BulkUpload, ConfirmationBatch, DeclarationStatus, Invoice, InvoiceEvent,
    InvoiceKey, ProfileChange, Region, ScanRecord, SelectionState, Staff, TaxPeriod, Taxpayer,
    TaxpayerId,
};
use crate::error::{AppError, AppResult};

/// A login session as stored (keyed by the SHA-256 of its token; the token itself is never
/// stored). Times are Unix seconds of the wall clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub subject: Subject,
    pub created_at: i64,
    pub last_seen: i64,
    pub address: Option<String>,
}

/// Whom a session belongs to. (Externally tagged: postcard cannot read internal tags.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Subject {
    Staff { username: String },
    Taxpayer { id: TaxpayerId },
}

/// Failed-attempt counter used to throttle logins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throttle {
    /// Unix seconds when the current window began.
    pub window_start: i64,
    pub failures: u32,
}

fn dec<T: DeserializeOwned>(bytes: &[u8]) -> AppResult<T> {
    codec::decode(bytes).map_err(AppError::internal)
}

fn enc<T: Serialize>(value: &T) -> AppResult<Vec<u8>> {
    codec::encode(value).map_err(AppError::internal)
}

/// Filters of the audit log listing.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub from: Option<chrono::DateTime<chrono::FixedOffset>>,
    pub to: Option<chrono::DateTime<chrono::FixedOffset>>,
    pub actor: Option<String>,
    pub limit: usize,
    pub offset: usize,
}

macro_rules! getters {
    ($ty:ty) => {
        impl $ty {
            pub fn taxpayer(&self, id: &TaxpayerId) -> AppResult<Option<Taxpayer>> {
                let t = self.open(TAXPAYERS)?;
                let v = t.get(id.as_str())?;
                v.map(|g| dec(g.value())).transpose()
            }

            pub fn taxpayers(&self) -> AppResult<Vec<Taxpayer>> {
                let t = self.open(TAXPAYERS)?;
                let mut out = Vec::new();
                for row in t.iter()? {
                    let (_, v) = row?;
                    out.push(dec(v.value())?);
                }
                Ok(out)
            }

            pub fn staff(&self, username: &str) -> AppResult<Option<Staff>> {
                let t = self.open(STAFF)?;
                let v = t.get(username)?;
                v.map(|g| dec(g.value())).transpose()
            }

            pub fn staff_list(&self) -> AppResult<Vec<Staff>> {
                let t = self.open(STAFF)?;
                let mut out = Vec::new();
                for row in t.iter()? {
                    let (_, v) = row?;
                    out.push(dec(v.value())?);
                }
                Ok(out)
            }

            pub fn session(&self, token_hash: &[u8]) -> AppResult<Option<SessionRecord>> {
                let t = self.open(SESSIONS)?;
                let v = t.get(token_hash)?;
                v.map(|g| dec(g.value())).transpose()
            }

            pub fn setting<T: DeserializeOwned>(&self, key: &str) -> AppResult<Option<T>> {
                let t = self.open(SETTINGS)?;
                let v = t.get(key)?;
                v.map(|g| dec(g.value())).transpose()
            }

            pub fn throttle(&self, key: &str) -> AppResult<Option<Throttle>> {
                let t = self.open(THROTTLE)?;
                let v = t.get(key)?;
                v.map(|g| dec(g.value())).transpose()
            }

            pub fn invoice(&self, key: &InvoiceKey) -> AppResult<Option<Invoice>> {
                let t = self.open(INVOICES)?;
                let v = t.get(key.to_u128())?;
                v.map(|g| codec::decode_invoice(key.clone(), g.value()).map_err(AppError::internal))
                    .transpose()
            }

            /// The invoices of `keys` that exist, in the order given (one table open).
            pub fn invoices_by_keys(&self, keys: &[InvoiceKey]) -> AppResult<Vec<Invoice>> {
                let t = self.open(INVOICES)?;
                let mut out = Vec::with_capacity(keys.len());
                for key in keys {
                    if let Some(g) = t.get(key.to_u128())? {
                        out.push(
                            codec::decode_invoice(key.clone(), g.value())
                                .map_err(AppError::internal)?,
                        );
                    }
                }
                Ok(out)
            }

            pub fn invoice_count(&self) -> AppResult<u64> {
                Ok(self.open(INVOICES)?.len()?)
            }

            /// Every invoice bought by `buyer`, in key order. A full scan: for tools and
            /// tests; queries go through the index.
            pub fn invoices_of(&self, buyer: &TaxpayerId) -> AppResult<Vec<Invoice>> {
                let mut out = Vec::new();
                self.for_each_invoice_batch(50_000, |batch| {
                    out.extend(batch.into_iter().filter(|i| &i.buyer_id == buyer));
                    Ok(())
                })?;
                Ok(out)
            }

            pub fn declaration(
                &self,
                taxpayer: &TaxpayerId,
                period: TaxPeriod,
            ) -> AppResult<Option<DeclarationStatus>> {
                let t = self.open(DECLARATIONS)?;
                let v = t.get((taxpayer.as_str(), period.as_u32()))?;
                match v {
                    None => Ok(None),
                    Some(g) => DeclarationStatus::from_code(g.value())
                        .map(Some)
                        .ok_or_else(|| AppError::internal("bad declaration code")),
                }
            }

            /// A deadline recorded by the office for a region and period, if any.
            pub fn deadline(
                &self,
                region: &Region,
                period: TaxPeriod,
            ) -> AppResult<Option<chrono::NaiveDate>> {
                let t = self.open(DEADLINES)?;
                let v = t.get((region.code(), period.as_u32()))?;
                v.map(|g| days_to_date(g.value()).map_err(AppError::internal))
                    .transpose()
            }

            pub fn batches(
                &self,
                taxpayer: &TaxpayerId,
                period: TaxPeriod,
            ) -> AppResult<Vec<ConfirmationBatch>> {
                let t = self.open(BATCHES)?;
                let p = period.as_u32();
                let mut out = Vec::new();
                for row in
                    t.range((taxpayer.as_str(), p, 0u32)..=(taxpayer.as_str(), p, u32::MAX))?
                {
                    let (_, v) = row?;
                    out.push(dec(v.value())?);
                }
                Ok(out)
            }

            /// Audit entries, newest first, filtered.
            pub fn audit_entries(&self, f: &AuditFilter) -> AppResult<(usize, Vec<AuditEntry>)> {
                let t = self.open(AUDIT)?;
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

            /// The invoice change counter: bumped by every commit that changes invoices.
            pub fn invoice_seq(&self) -> AppResult<u64> {
                let t = self.open(META)?;
                let v = t.get("invoice_seq")?;
                Ok(
                    v.map(|g| g.value().try_into().map(u64::from_le_bytes).unwrap_or(0))
                        .unwrap_or(0),
                )
            }

            /// Every invoice, in key order, in batches of `batch` (for rebuilding the index).
            pub fn for_each_invoice_batch(
                &self,
                batch: usize,
                mut f: impl FnMut(Vec<Invoice>) -> AppResult<()>,
            ) -> AppResult<()> {
                let t = self.open(INVOICES)?;
                let mut buf = Vec::with_capacity(batch);
                for row in t.iter()? {
                    let (k, v) = row?;
                    let key = InvoiceKey::from_u128(k.value())
                        .ok_or_else(|| AppError::internal("bad invoice key"))?;
                    buf.push(codec::decode_invoice(key, v.value()).map_err(AppError::internal)?);
                    if buf.len() >= batch {
                        f(std::mem::take(&mut buf))?;
                    }
                }
                if !buf.is_empty() {
                    f(buf)?;
                }
                Ok(())
            }

            /// Keys of the taxpayer's 已勾选 invoices issued before `before` (all if `None`),
            /// oldest issue first.
            pub fn selected_keys(
                &self,
                taxpayer: &TaxpayerId,
                before: Option<chrono::NaiveDate>,
            ) -> AppResult<Vec<InvoiceKey>> {
                let t = self.open(SELECTED)?;
                let end = before.map_or(i32::MAX, date_to_days);
                let mut out = Vec::new();
                for row in
                    t.range((taxpayer.as_str(), i32::MIN, 0u128)..(taxpayer.as_str(), end, 0u128))?
                {
                    let (k, _) = row?;
                    let (_, _, key) = k.value();
                    out.push(
                        InvoiceKey::from_u128(key)
                            .ok_or_else(|| AppError::internal("bad invoice key"))?,
                    );
                }
                Ok(out)
            }

            /// The recorded history of an invoice, oldest first.
            pub fn invoice_events(&self, key: &InvoiceKey) -> AppResult<Vec<InvoiceEvent>> {
                let t = self.open(INVOICE_EVENTS)?;
                let k = key.to_u128();
                let mut out = Vec::new();
                for row in t.range((k, 0u32)..=(k, u32::MAX))? {
                    let (_, v) = row?;
                    out.push(dec(v.value())?);
                }
                Ok(out)
            }

            /// The office's changes to a taxpayer's record, oldest first.
            pub fn taxpayer_changes(&self, taxpayer: &TaxpayerId) -> AppResult<Vec<ProfileChange>> {
                let t = self.open(TAXPAYER_CHANGES)?;
                let mut out = Vec::new();
                for row in t.range((taxpayer.as_str(), 0u32)..=(taxpayer.as_str(), u32::MAX))? {
                    let (_, v) = row?;
                    out.push(dec(v.value())?);
                }
                Ok(out)
            }

            /// One interaction.
            pub fn interaction(&self, id: u64) -> AppResult<Option<InteractionRecord>> {
                let t = self.open(INTERACTIONS)?;
                let v = t.get(id)?;
                v.map(|v| dec(v.value())).transpose()
            }

            /// The interactions not yet closed, oldest first.
            pub fn open_interactions(&self) -> AppResult<Vec<InteractionRecord>> {
                let open = self.open(OPEN_INTERACTIONS)?;
                let all = self.open(INTERACTIONS)?;
                let mut out = Vec::new();
                for row in open.iter()? {
                    let (k, _) = row?;
                    if let Some(v) = all.get(k.value())? {
                        out.push(dec(v.value())?);
                    }
                }
                Ok(out)
            }

            /// The largest interaction id used so far (0 when none).
            pub fn last_interaction_id(&self) -> AppResult<u64> {
                let t = self.open(INTERACTIONS)?;
                let last = t.last()?;
                Ok(last.map(|(k, _)| k.value()).unwrap_or(0))
            }

            /// Interactions newest first, those with an id below `before` (all when `None`),
            /// kept by `keep`, at most `limit`.
            pub fn interactions(
                &self,
                before: Option<u64>,
                limit: usize,
                keep: &dyn Fn(&InteractionRecord) -> bool,
            ) -> AppResult<Vec<InteractionRecord>> {
                let t = self.open(INTERACTIONS)?;
                let mut out = Vec::new();
                for row in t.range(..before.unwrap_or(u64::MAX))?.rev() {
                    let (_, v) = row?;
                    let r: InteractionRecord = dec(v.value())?;
                    if keep(&r) {
                        out.push(r);
                        if out.len() >= limit {
                            break;
                        }
                    }
                }
                Ok(out)
            }

            /// The messages of an interaction after `after_seq`, in order.
            pub fn chat_messages(
                &self,
                interaction: u64,
                after_seq: u64,
            ) -> AppResult<Vec<ChatMessage>> {
                let t = self.open(CHAT)?;
                let mut out = Vec::new();
                for row in
                    t.range((interaction, after_seq.saturating_add(1))..=(interaction, u64::MAX))?
                {
                    let (_, v) = row?;
                    out.push(dec(v.value())?);
                }
                Ok(out)
            }

            /// The taxpayer's 批量勾选 operation log, newest first, at most `limit` entries.
            pub fn bulk_log(
                &self,
                taxpayer: &TaxpayerId,
                limit: usize,
            ) -> AppResult<Vec<BulkUpload>> {
                let t = self.open(BULK_LOG)?;
                let mut out = Vec::new();
                for row in t
                    .range((taxpayer.as_str(), 0u32)..=(taxpayer.as_str(), u32::MAX))?
                    .rev()
                    .take(limit)
                {
                    let (_, v) = row?;
                    out.push(dec(v.value())?);
                }
                Ok(out)
            }

            /// The cached statistics of a taxpayer's period, if current.
            pub fn stats(
                &self,
                taxpayer: &TaxpayerId,
                period: TaxPeriod,
            ) -> AppResult<Option<Cached>> {
                let t = self.open(STATS)?;
                let v = t.get((taxpayer.as_str(), period.as_u32()))?;
                v.map(|g| dec(g.value())).transpose()
            }

            /// `limit` cached exception keys from `offset` (reads only those bytes).
            pub fn stats_keys(
                &self,
                taxpayer: &TaxpayerId,
                period: TaxPeriod,
                offset: usize,
                limit: usize,
            ) -> AppResult<Vec<InvoiceKey>> {
                let t = self.open(STATS_KEYS)?;
                let Some(g) = t.get((taxpayer.as_str(), period.as_u32()))? else {
                    return Ok(Vec::new());
                };
                let bytes = g.value();
                let start = offset.saturating_mul(16).min(bytes.len());
                let end = offset
                    .saturating_add(limit)
                    .saturating_mul(16)
                    .min(bytes.len());
                bytes[start..end]
                    .chunks_exact(16)
                    .map(|c| {
                        let v = u128::from_le_bytes(c.try_into().unwrap_or([0; 16]));
                        InvoiceKey::from_u128(v).ok_or_else(|| AppError::internal("bad cached key"))
                    })
                    .collect()
            }

            /// Every cached statistic (for the integrity check).
            pub fn all_stats(&self) -> AppResult<Vec<(TaxpayerId, TaxPeriod, Cached)>> {
                let t = self.open(STATS)?;
                let mut out = Vec::new();
                for row in t.iter()? {
                    let (k, v) = row?;
                    let (tp, p) = k.value();
                    let tp = TaxpayerId::parse(tp).map_err(|e| AppError::internal(e.message))?;
                    let p =
                        TaxPeriod::from_u32(p).ok_or_else(|| AppError::internal("bad period"))?;
                    out.push((tp, p, dec(v.value())?));
                }
                Ok(out)
            }

            /// The change generation of a taxpayer's period statistics.
            pub fn stats_gen(&self, taxpayer: &TaxpayerId, period: TaxPeriod) -> AppResult<u64> {
                let t = self.open(STATS_GEN)?;
                let v = t.get((taxpayer.as_str(), period.as_u32()))?;
                Ok(v.map(|g| g.value()).unwrap_or(0))
            }

            /// Scan records waiting for the statistics job, in key order.
            pub fn pending_scans(&self) -> AppResult<Vec<(InvoiceKey, ScanRecord)>> {
                let t = self.open(PENDING_SCANS)?;
                let mut out = Vec::new();
                for row in t.iter()? {
                    let (k, v) = row?;
                    let key = InvoiceKey::from_u128(k.value())
                        .ok_or_else(|| AppError::internal("bad invoice key"))?;
                    out.push((key, dec(v.value())?));
                }
                Ok(out)
            }

            pub fn pending_scan(&self, key: &InvoiceKey) -> AppResult<Option<ScanRecord>> {
                let t = self.open(PENDING_SCANS)?;
                let v = t.get(key.to_u128())?;
                v.map(|g| dec(g.value())).transpose()
            }

            /// Sequence number of the newest audit entry (0 when none): the store's change
            /// counter, since every state change appends one.
            pub fn last_audit_seq(&self) -> AppResult<u64> {
                let t = self.open(AUDIT)?;
                let last = t.last()?;
                Ok(last.map(|(k, _)| k.value()).unwrap_or(0))
            }
        }
    };
}

/// The period an invoice is certified in, if it is (its statistics depend on it).
fn certified_period(s: &SelectionState) -> Option<u32> {
    match s {
        SelectionState::Confirmed { period, .. } | SelectionState::Scanned { period, .. } => {
            Some(period.as_u32())
        }
        SelectionState::Unselected | SelectionState::Selected { .. } => None,
    }
}

/// The invoices a transaction touched, each once in its last written version: an invoice
/// written several times (say its status changed, then its selection) reaches the index
/// once, and one inserted then changed counts as new.
fn latest_versions(mut new: Vec<Invoice>, updated: Vec<Invoice>) -> (Vec<Invoice>, Vec<Invoice>) {
    if updated.is_empty() {
        return (new, updated);
    }
    let mut last: std::collections::HashMap<u128, usize> = std::collections::HashMap::new();
    for (i, inv) in updated.iter().enumerate() {
        last.insert(inv.key.to_u128(), i);
    }
    for inv in new.iter_mut() {
        if let Some(i) = last.remove(&inv.key.to_u128()) {
            *inv = updated[i].clone();
        }
    }
    let mut keep: Vec<usize> = last.into_values().collect();
    keep.sort_unstable();
    let updated = keep.into_iter().map(|i| updated[i].clone()).collect();
    (new, updated)
}

/// A read snapshot.
pub struct Reader {
    txn: ReadTransaction,
}

impl Reader {
    pub(super) fn new(txn: ReadTransaction) -> Self {
        Reader { txn }
    }

    fn open<K: redb::Key + 'static, V: redb::Value + 'static>(
        &self,
        def: redb::TableDefinition<K, V>,
    ) -> AppResult<redb::ReadOnlyTable<K, V>> {
        Ok(self.txn.open_table(def)?)
    }
}

getters!(Reader);

macro_rules! ledger {
    ($ty:ty) => {
        impl Ledger for $ty {
            type Error = AppError;

            fn taxpayer(&self, id: &TaxpayerId) -> AppResult<Option<Taxpayer>> {
                <$ty>::taxpayer(self, id)
            }

            fn invoice(&self, key: &InvoiceKey) -> AppResult<Option<Invoice>> {
                <$ty>::invoice(self, key)
            }

            fn selected(
                &self,
                taxpayer: &TaxpayerId,
                before: Option<chrono::NaiveDate>,
            ) -> AppResult<Vec<InvoiceKey>> {
                self.selected_keys(taxpayer, before)
            }

            fn batches(
                &self,
                taxpayer: &TaxpayerId,
                period: TaxPeriod,
            ) -> AppResult<Vec<ConfirmationBatch>> {
                <$ty>::batches(self, taxpayer, period)
            }

            fn declaration(
                &self,
                taxpayer: &TaxpayerId,
                period: TaxPeriod,
            ) -> AppResult<Option<DeclarationStatus>> {
                <$ty>::declaration(self, taxpayer, period)
            }

            fn recorded_deadline(
                &self,
                region: Region,
                period: TaxPeriod,
            ) -> AppResult<Option<chrono::NaiveDate>> {
                self.deadline(&region, period)
            }
        }
    };
}

ledger!(Reader);
ledger!(Tx);

impl Book for Tx {
    fn put_taxpayer(&mut self, t: &Taxpayer) -> AppResult<()> {
        Tx::put_taxpayer(self, t)
    }

    fn put_invoice(&mut self, invoice: &Invoice) -> AppResult<()> {
        self.put_invoices(std::iter::once(invoice)).map(|_| ())
    }

    fn put_batch(&mut self, batch: &ConfirmationBatch) -> AppResult<()> {
        Tx::put_batch(self, batch)
    }

    fn put_declaration(
        &mut self,
        taxpayer: &TaxpayerId,
        period: TaxPeriod,
        status: DeclarationStatus,
    ) -> AppResult<()> {
        Tx::put_declaration(self, taxpayer, period, status)
    }

    fn record(&mut self, key: &InvoiceKey, event: InvoiceEvent) -> AppResult<()> {
        self.add_invoice_event(key, &event)
    }

    fn audit(&mut self, action: &str, target: &str, detail: String) {
        Tx::audit(self, action, target, detail);
    }
}

pub(super) struct AuditDraft {
    /// Someone other than the transaction's `Who` (several changes committed together).
    pub by: Option<(crate::domain::Actor, Option<String>)>,
    pub action: String,
    pub target: String,
    pub detail: String,
}

/// An open write transaction with its pending audit entries.
pub struct Tx {
    txn: WriteTransaction,
    audits: Vec<AuditDraft>,
    /// Invoices inserted by this transaction.
    new: Vec<Invoice>,
    /// Invoices changed by this transaction.
    updated: Vec<Invoice>,
    /// (taxpayer, period) whose statistics this transaction made stale.
    stale: std::collections::BTreeSet<(String, u32)>,
}

getters!(Tx);

impl Tx {
    pub(super) fn new(txn: WriteTransaction) -> Self {
        Tx {
            txn,
            audits: Vec::new(),
            new: Vec::new(),
            updated: Vec::new(),
            stale: std::collections::BTreeSet::new(),
        }
    }

    #[allow(clippy::type_complexity)]
    pub(super) fn into_parts(
        self,
    ) -> (
        WriteTransaction,
        Vec<AuditDraft>,
        (Vec<Invoice>, Vec<Invoice>),
    ) {
        let (new, updated) = latest_versions(self.new, self.updated);
        (self.txn, self.audits, (new, updated))
    }

    pub(super) fn abort(self) -> AppResult<()> {
        self.txn.abort()?;
        Ok(())
    }

    fn open<K: redb::Key + 'static, V: redb::Value + 'static>(
        &self,
        def: redb::TableDefinition<K, V>,
    ) -> AppResult<redb::Table<'_, K, V>> {
        Ok(self.txn.open_table(def)?)
    }

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
        actor: crate::domain::Actor,
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

    /// Stores an interaction and keeps the open-interactions table in step with its stage.
    pub fn put_interaction(&mut self, r: &InteractionRecord) -> AppResult<()> {
        let bytes = enc(r)?;
        self.open(INTERACTIONS)?.insert(r.id, bytes.as_slice())?;
        let mut open = self.open(OPEN_INTERACTIONS)?;
        if r.state.stage.is_closed() {
            open.remove(r.id)?;
        } else {
            open.insert(r.id, r.taxpayer.as_str())?;
        }
        Ok(())
    }

    /// Appends a message to an interaction's transcript (the caller assigns the seq).
    pub fn put_chat_message(&mut self, interaction: u64, m: &ChatMessage) -> AppResult<()> {
        let bytes = enc(m)?;
        self.open(CHAT)?
            .insert((interaction, m.seq), bytes.as_slice())?;
        Ok(())
    }

    pub fn put_taxpayer(&mut self, t: &Taxpayer) -> AppResult<()> {
        let bytes = enc(t)?;
        self.open(TAXPAYERS)?
            .insert(t.id.as_str(), bytes.as_slice())?;
        Ok(())
    }

    pub fn put_staff(&mut self, s: &Staff) -> AppResult<()> {
        let bytes = enc(s)?;
        self.open(STAFF)?
            .insert(s.username.as_str(), bytes.as_slice())?;
        Ok(())
    }

    pub fn put_session(&mut self, token_hash: &[u8], s: &SessionRecord) -> AppResult<()> {
        let bytes = enc(s)?;
        self.open(SESSIONS)?.insert(token_hash, bytes.as_slice())?;
        Ok(())
    }

    pub fn delete_session(&mut self, token_hash: &[u8]) -> AppResult<bool> {
        Ok(self.open(SESSIONS)?.remove(token_hash)?.is_some())
    }

    /// Removes sessions for which `expired` holds; returns how many.
    pub fn purge_sessions(&mut self, expired: impl Fn(&SessionRecord) -> bool) -> AppResult<usize> {
        let mut t = self.open(SESSIONS)?;
        let mut n = 0usize;
        t.retain(|_, v| match codec::decode::<SessionRecord>(v) {
            Ok(s) if expired(&s) => {
                n += 1;
                false
            }
            Ok(_) => true,
            Err(_) => {
                n += 1;
                false
            }
        })?;
        Ok(n)
    }

    pub fn put_setting<T: Serialize>(&mut self, key: &str, value: &T) -> AppResult<()> {
        let bytes = enc(value)?;
        self.open(SETTINGS)?.insert(key, bytes.as_slice())?;
        Ok(())
    }

    pub fn delete_setting(&mut self, key: &str) -> AppResult<()> {
        self.open(SETTINGS)?.remove(key)?;
        Ok(())
    }

    pub fn put_throttle(&mut self, key: &str, t: &Throttle) -> AppResult<()> {
        let bytes = enc(t)?;
        self.open(THROTTLE)?.insert(key, bytes.as_slice())?;
        Ok(())
    }

    pub fn clear_throttle(&mut self, key: &str) -> AppResult<()> {
        self.open(THROTTLE)?.remove(key)?;
        Ok(())
    }

    /// Writes invoices (new or changed) and keeps the table of selected invoices in step.
    pub fn put_invoices<'a>(
        &mut self,
        invoices: impl IntoIterator<Item = &'a Invoice>,
    ) -> AppResult<u64> {
        let mut inv = self.txn.open_table(INVOICES)?;
        let mut selected = self.txn.open_table(SELECTED)?;
        let mut n = 0;
        for i in invoices {
            let k = i.key.to_u128();
            let sel_key = (i.buyer_id.as_str(), date_to_days(i.issued_on), k);
            match i.selection {
                SelectionState::Selected { period } => {
                    selected.insert(sel_key, period.as_u32())?;
                }
                _ => {
                    selected.remove(sel_key)?;
                }
            }
            let bytes = codec::encode_invoice(i).map_err(AppError::internal)?;
            let old = inv.insert(k, bytes.as_slice())?.map(|g| g.value().to_vec());
            if let Some(p) = certified_period(&i.selection) {
                self.stale.insert((i.buyer_id.as_str().to_string(), p));
            }
            if let Some(old) = &old {
                let old = codec::decode_invoice(i.key.clone(), old).map_err(AppError::internal)?;
                if let Some(p) = certified_period(&old.selection) {
                    self.stale.insert((old.buyer_id.as_str().to_string(), p));
                }
            }
            if old.is_some() {
                self.updated.push(i.clone());
            } else {
                self.new.push(i.clone());
            }
            n += 1;
        }
        Ok(n)
    }

    /// Inserts new invoices given with their encoded rows (see `codec::encode_invoice`), in
    /// one pass: a key already present keeps its stored row and is reported as unchanged
    /// when the invoice is the same issue, or by its line as a conflict otherwise (the caller
    /// then fails the transaction).
    pub fn insert_new_invoices(
        &mut self,
        rows: &[(usize, &Invoice, Vec<u8>)],
    ) -> AppResult<(u64, u64, Vec<usize>)> {
        let mut inv = self.txn.open_table(INVOICES)?;
        let mut selected = self.txn.open_table(SELECTED)?;
        let (mut inserted, mut unchanged, mut conflicts) = (0u64, 0u64, Vec::new());
        for (line, i, bytes) in rows {
            let k = i.key.to_u128();
            let old = inv.insert(k, bytes.as_slice())?.map(|g| g.value().to_vec());
            match old {
                None => {
                    if let Some(p) = certified_period(&i.selection) {
                        self.stale.insert((i.buyer_id.as_str().to_string(), p));
                    }
                    if let SelectionState::Selected { period } = i.selection {
                        selected.insert(
                            (i.buyer_id.as_str(), date_to_days(i.issued_on), k),
                            period.as_u32(),
                        )?;
                    }
                    self.new.push((*i).clone());
                    inserted += 1;
                }
                Some(old) => {
                    let existing =
                        codec::decode_invoice(i.key.clone(), &old).map_err(AppError::internal)?;
                    inv.insert(k, old.as_slice())?;
                    if existing.same_issue(i) {
                        unchanged += 1;
                    } else {
                        conflicts.push(*line);
                    }
                }
            }
        }
        Ok((inserted, unchanged, conflicts))
    }

    pub fn put_declaration(
        &mut self,
        taxpayer: &TaxpayerId,
        period: TaxPeriod,
        status: DeclarationStatus,
    ) -> AppResult<()> {
        self.open(DECLARATIONS)?
            .insert((taxpayer.as_str(), period.as_u32()), status.code())?;
        Ok(())
    }

    pub fn put_deadline(
        &mut self,
        region: &Region,
        period: TaxPeriod,
        deadline: chrono::NaiveDate,
    ) -> AppResult<()> {
        self.open(DEADLINES)?
            .insert((region.code(), period.as_u32()), date_to_days(deadline))?;
        Ok(())
    }

    pub fn put_batch(&mut self, b: &ConfirmationBatch) -> AppResult<()> {
        let bytes = enc(b)?;
        self.open(BATCHES)?.insert(
            (b.taxpayer.as_str(), b.period.as_u32(), b.number),
            bytes.as_slice(),
        )?;
        Ok(())
    }

    /// Appends an event to an invoice's history.
    pub fn add_invoice_event(&mut self, key: &InvoiceKey, event: &InvoiceEvent) -> AppResult<()> {
        let bytes = enc(event)?;
        let mut t = self.open(INVOICE_EVENTS)?;
        let k = key.to_u128();
        let next = match t.range((k, 0u32)..=(k, u32::MAX))?.next_back() {
            Some(row) => row?.0.value().1 + 1,
            None => 0,
        };
        t.insert((k, next), bytes.as_slice())?;
        Ok(())
    }

    /// Appends a 批量勾选 upload to the taxpayer's operation log.
    pub fn add_bulk_upload(&mut self, taxpayer: &TaxpayerId, u: &BulkUpload) -> AppResult<()> {
        let bytes = enc(u)?;
        let mut t = self.open(BULK_LOG)?;
        let next = match t
            .range((taxpayer.as_str(), 0u32)..=(taxpayer.as_str(), u32::MAX))?
            .next_back()
        {
            Some(row) => row?.0.value().1 + 1,
            None => 0,
        };
        t.insert((taxpayer.as_str(), next), bytes.as_slice())?;
        Ok(())
    }

    /// Appends a change of a taxpayer's record.
    pub fn add_taxpayer_change(
        &mut self,
        taxpayer: &TaxpayerId,
        c: &ProfileChange,
    ) -> AppResult<()> {
        let bytes = enc(c)?;
        let mut t = self.open(TAXPAYER_CHANGES)?;
        let next = match t
            .range((taxpayer.as_str(), 0u32)..=(taxpayer.as_str(), u32::MAX))?
            .next_back()
        {
            Some(row) => row?.0.value().1 + 1,
            None => 0,
        };
        t.insert((taxpayer.as_str(), next), bytes.as_slice())?;
        Ok(())
    }

    /// Removes the cached statistics this transaction made stale and bumps their
    /// generations (called by the store just before commit).
    pub(super) fn flush_stale(&mut self) -> AppResult<()> {
        if self.stale.is_empty() {
            return Ok(());
        }
        let stale = std::mem::take(&mut self.stale);
        let mut cache = self.txn.open_table(STATS)?;
        let mut cache_keys = self.txn.open_table(STATS_KEYS)?;
        let mut gens = self.txn.open_table(STATS_GEN)?;
        for (tp, p) in &stale {
            cache.remove((tp.as_str(), *p))?;
            cache_keys.remove((tp.as_str(), *p))?;
            let g = gens.get((tp.as_str(), *p))?.map(|g| g.value()).unwrap_or(0);
            gens.insert((tp.as_str(), *p), g + 1)?;
        }
        Ok(())
    }

    /// Caches a period's figures and its exception keys (in key order).
    pub fn put_stats(
        &mut self,
        taxpayer: &TaxpayerId,
        period: TaxPeriod,
        c: &Cached,
        keys: &[InvoiceKey],
    ) -> AppResult<()> {
        let bytes = enc(c)?;
        self.open(STATS)?
            .insert((taxpayer.as_str(), period.as_u32()), bytes.as_slice())?;
        let mut flat = Vec::with_capacity(keys.len() * 16);
        for k in keys {
            flat.extend_from_slice(&k.to_u128().to_le_bytes());
        }
        self.open(STATS_KEYS)?
            .insert((taxpayer.as_str(), period.as_u32()), flat.as_slice())?;
        Ok(())
    }

    pub fn put_pending_scan(&mut self, key: &InvoiceKey, r: &ScanRecord) -> AppResult<()> {
        let bytes = enc(r)?;
        self.open(PENDING_SCANS)?
            .insert(key.to_u128(), bytes.as_slice())?;
        Ok(())
    }

    pub fn remove_pending_scan(&mut self, key: &InvoiceKey) -> AppResult<()> {
        self.open(PENDING_SCANS)?.remove(key.to_u128())?;
        Ok(())
    }
}
