//! Store: redb is the single source of truth.
//!
//! Every state change goes through [`Store::write`]: one redb write transaction that also
//! appends the change's audit entries (who, when, what, from which address); a change without
//! an audit entry is refused. Reads use [`Store::read`] snapshots. Records are encoded by
//! [`codec`] (a version byte + postcard). The file carries a schema version in the `meta`
//! table; a file newer than this binary understands is refused at open.
//! May depend on: the domain core, `error`.
//!
//! Typed access goes through a [`Reader`] or a [`Tx`] (`access`). The tables are grouped in
//! `tables` (taxpayers, invoices, periods, staff, audit, interactions, settings): each group
//! has a read trait of getters that both offer (bring them into scope with
//! `use crate::store::prelude::*`) and its writes on [`Tx`]. `ledger` makes them the
//! engine's ports.

mod access;
pub mod backup;
pub mod codec;
mod copy;
mod ledger;
mod rows;
pub(crate) mod tables;

#[cfg(test)]
mod engine_model;

use std::path::Path;

use chrono::{DateTime, FixedOffset};
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata};

use std::sync::{Arc, Mutex, OnceLock, RwLock};

use crate::domain::audit::chain;
use crate::domain::{Actor, AuditEntry, Invoice, InvoiceKey};
use crate::error::{AppError, AppResult, Code};

pub use access::{Reader, Tx};
pub use tables::alerts::{AlertReads, StatusNote, Visits};
pub use tables::audit::{audit_targets, AuditFilter, AuditReads};
pub use tables::certificates::{
    CertificateReads, CertificateRecord, IssuedHow, Revocation, RevokedWhy,
};
pub use tables::index_journal::{IndexJournalReads, JournalSpan};

/// redb's page cache (read cache and write buffer together). The operating system caches the
/// file as well, so a miss costs a copy, not a disk read: 128 MB measured the same as 256 MB
/// in the query bench at 1M invoices and under load at 10M, and keeps a 10M-invoice demo
/// load under 1 GiB (see `docs/benchmarks.md`).
const CACHE_BYTES: usize = 128 * 1024 * 1024;
pub use tables::interactions::InteractionReads;
pub use tables::invoices::InvoiceReads;
pub use tables::periods::PeriodReads;
pub use tables::settings::SettingReads;
pub use tables::staff::{SessionRecord, StaffMeta, StaffReads, Subject, Throttle};
pub use tables::taxpayers::TaxpayerReads;
pub use tables::Tables;

use tables::settings::{decode_u64, INVOICE_SEQ};

/// The getters of [`Reader`] and [`Tx`]: `use crate::store::prelude::*;` where they are
/// called.
pub mod prelude {
    pub use super::{
        AlertReads, AuditReads, CertificateReads, IndexJournalReads, InteractionReads,
        InvoiceReads, PeriodReads, SettingReads, StaffReads, TaxpayerReads,
    };
}

/// The `meta` key saying the audit log is hash-chained, from the sequence number stored in
/// it (1: chained from the start; otherwise the entries before it were hashed by a
/// one-time migration, itself recorded as `audit.chain_start`).
const AUDIT_CHAIN_FROM: &str = "audit_chain_from";

/// Schema version of the file layout written by this binary.
pub const SCHEMA_VERSION: u32 = 1;

/// Errors opening the store, before anything is served.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the data file {path}: {source}")]
    Open {
        path: String,
        source: redb::DatabaseError,
    },
    #[error(
        "数据文件的版本（{found}）比本程序支持的版本（{supported}）新，请升级 fapiao 后再打开 \
         (the data file's schema version {found} is newer than this binary supports, {supported})"
    )]
    TooNew { found: u32, supported: u32 },
    #[error("data file: {0}")]
    Redb(#[from] redb::Error),
    #[error("data file: {0}")]
    Corrupt(String),
}

macro_rules! store_from {
    ($($t:ty),*) => { $(impl From<$t> for StoreError {
        fn from(e: $t) -> Self { StoreError::Redb(e.into()) }
    })* };
}
store_from!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// Who makes a change, from where, and at what time (passed in: no clock reads here).
#[derive(Debug, Clone)]
pub struct Who {
    pub actor: Actor,
    pub address: Option<String>,
    /// Wall-clock time.
    pub wall: DateTime<FixedOffset>,
    /// Business time (the training clock when set; otherwise equal to `wall`).
    pub now: DateTime<FixedOffset>,
}

impl Who {
    pub fn system(what: &str, now: DateTime<FixedOffset>) -> Who {
        Who {
            actor: Actor::System {
                what: what.to_string(),
            },
            address: None,
            wall: now,
            now,
        }
    }
}

/// Told of every committed change to invoices, in commit order, with the store's invoice
/// change counter after the commit (the index implements it). Called with the commit lock
/// held, so two calls never interleave.
pub trait ChangeSink: Send + Sync {
    /// `new` were not in the store before this commit; `updated` were.
    fn invoices_changed(&self, new: &[Invoice], updated: &[Invoice], invoice_seq: u64);

    /// Like [`ChangeSink::invoices_changed`] for a grouped commit ([`Store::write_grouped`]):
    /// the change may be held back until the next [`ChangeSink::sync`], which comes before
    /// the writer is answered. By default it is applied at once.
    fn invoices_staged(&self, new: &[Invoice], updated: &[Invoice], invoice_seq: u64) {
        self.invoices_changed(new, updated, invoice_seq);
    }

    /// Makes every staged change visible (called by the group commit, after the store's
    /// durable flush).
    fn sync(&self) {}

    /// Like [`ChangeSink::invoices_changed`] for a bulk load's commit ([`Store::write_bulk`]):
    /// the change need not be visible before the load ends, so the sink may take it in without
    /// making it visible yet. By default it is applied at once.
    fn invoices_loaded(&self, new: &[Invoice], updated: &[Invoice], invoice_seq: u64) {
        self.invoices_changed(new, updated, invoice_seq);
    }
}

/// Group commit ([`Store::write_grouped`]): the writes waiting to be combined, whether a
/// writer is combining, and totals for [`Store::group_stats`].
#[derive(Default)]
struct GroupCommit {
    state: Mutex<Combining>,
    /// Signalled whenever a combining writer is done with a group.
    turn: std::sync::Condvar,
    /// Totals since opening, for [`Store::group_stats`].
    groups: std::sync::atomic::AtomicU64,
    grouped: std::sync::atomic::AtomicU64,
    flush_us: std::sync::atomic::AtomicU64,
    sync_us: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct Combining {
    queue: Vec<GroupedWrite>,
    /// A writer is running a group (the queue's writes wait for the next one).
    leading: bool,
}

/// What a grouped write's change returned, its type erased while it sits in the queue.
type Erased = AppResult<Box<dyn std::any::Any + Send>>;
/// Where a grouped write's outcome is left for its writer.
type Slot = Arc<Mutex<Option<Erased>>>;

/// One change waiting in [`Combining::queue`].
struct GroupedWrite {
    who: Who,
    change: Box<dyn Fn(&mut Tx) -> Erased + Send>,
    slot: Slot,
}

fn take_outcome(slot: &Slot) -> Option<Erased> {
    match slot.lock() {
        Ok(mut g) => g.take(),
        Err(_) => Some(Err(AppError::internal("group commit slot poisoned"))),
    }
}

/// Ends a group however it ends (a change that panics included): every write of the group
/// left without an outcome gets an error, the next writer may lead, and the waiting
/// writers are woken to look at their slots.
struct GroupDone<'a> {
    group: &'a GroupCommit,
    slots: Vec<Slot>,
}

impl Drop for GroupDone<'_> {
    fn drop(&mut self) {
        for slot in &self.slots {
            if let Ok(mut g) = slot.lock() {
                if g.is_none() {
                    *g = Some(Err(AppError::internal("group commit failed")));
                }
            }
        }
        let mut state = match self.group.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        state.leading = false;
        drop(state);
        self.group.turn.notify_all();
    }
}

/// What group commit has done since the store was opened ([`Store::group_stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupStats {
    /// Durable transactions made for grouped writes.
    pub groups: u64,
    /// The grouped writes they committed.
    pub writes: u64,
    /// Time spent in those transactions (the changes and the durable commit), in microseconds.
    pub flush_us: u64,
    /// Time spent making the groups' changes visible in the sink (the index), in microseconds.
    pub sync_us: u64,
}

pub struct Store {
    db: Database,
    read_only: bool,
    /// A replica's source, as it was when opened.
    replica: Option<ReplicaOf>,
    /// Serialises commit + notification so the sink sees changes in commit order.
    commit_lock: Mutex<()>,
    sink: RwLock<Option<Arc<dyn ChangeSink>>>,
    group: GroupCommit,
    /// The decoded rows of recent pages ([`Store::page_rows`]).
    rows: rows::RowCache,
    /// How long opening the file took when redb had to rebuild its allocator state by walking
    /// every tree (an unclean stop whose last durable commit recorded no state); `None` when
    /// it did not.
    full_repair: Option<std::time::Duration>,
}

/// Test hook: `FAPIAO_FAILPOINT=after_store_commit` aborts the process right after a redb
/// commit that changed invoices, before anyone is told; `after_group_flush`, right after a
/// group commit's durable flush, before the index commits the group's staged changes
/// (crash-consistency tests).
fn failpoint(name: &str) -> bool {
    static FAILPOINT: OnceLock<Option<String>> = OnceLock::new();
    FAILPOINT
        .get_or_init(|| std::env::var("FAPIAO_FAILPOINT").ok())
        .as_deref()
        == Some(name)
}

impl Store {
    /// Opens (or creates) the data file and checks its schema version; `read_only` opens an
    /// audit replica of an existing file instead ([`Store::open_replica`]).
    pub fn open(path: &Path, read_only: bool) -> Result<Store, StoreError> {
        if read_only {
            return Store::open_replica(path);
        }
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            }
        }
        // Every durable commit records redb's allocator state (`set_quick_repair`), so that
        // opening after an unclean stop loads it instead of walking every tree of the file
        // (seconds at 10M invoices). The callback only notes that a full repair happened.
        let repaired = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = Arc::clone(&repaired);
        let started = std::time::Instant::now();
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .set_repair_callback(move |_| flag.store(true, std::sync::atomic::Ordering::Relaxed))
            .create(path)
            .map_err(|source| StoreError::Open {
                path: path.display().to_string(),
                source,
            })?;
        let full_repair = repaired
            .load(std::sync::atomic::Ordering::Relaxed)
            .then(|| started.elapsed());
        if let Some(took) = full_repair {
            tracing::warn!(
                ms = took.as_millis() as u64,
                "data file repaired in full after an unclean stop"
            );
        }
        let store = Store {
            db,
            read_only: false,
            replica: None,
            commit_lock: Mutex::new(()),
            sink: RwLock::new(None),
            group: GroupCommit::default(),
            rows: rows::RowCache::new(rows::CAPACITY),
            full_repair,
        };
        store.init_schema()?;
        Ok(store)
    }

    /// An audit replica of the data file at `path` (see [`Store::replica_of`]).
    pub fn open_replica(path: &Path) -> Result<Store, StoreError> {
        let file = std::fs::File::open(path).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Store::replica_of(
            backup::Slice::new(file, 0).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            path.display().to_string(),
        )
    }

    /// A read-only replica: the data file (or the store inside a backup file) is opened
    /// read-only — never written, never locked for writing, not even repaired — and copied
    /// into memory, where logins keep their sessions. Every business write is refused.
    pub fn replica_of(source: backup::Slice, name: String) -> Result<Store, StoreError> {
        let ro = redb::Builder::new()
            .open_read_only_with_backend(source)
            .map_err(|source| StoreError::Open {
                path: name.clone(),
                source,
            })?;
        let src = ro.begin_read()?;
        let found = {
            let meta = src.open_table(tables::META)?;
            let v = meta.get("schema_version")?;
            v.and_then(|v| <[u8; 4]>::try_from(v.value()).ok())
                .map(u32::from_le_bytes)
                .unwrap_or(0)
        };
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(|source| StoreError::Open {
                path: "memory".into(),
                source,
            })?;
        let txn = db.begin_write()?;
        copy::each_table(&mut copy::Copy {
            from: &src,
            to: &txn,
            skip: tables::EPHEMERAL,
            counts: Default::default(),
        })?;
        txn.commit()?;
        drop(src);
        drop(ro);
        let mut store = Store {
            db,
            read_only: true,
            replica: None,
            commit_lock: Mutex::new(()),
            sink: RwLock::new(None),
            group: GroupCommit::default(),
            rows: rows::RowCache::new(rows::CAPACITY),
            full_repair: None,
        };
        let r = store
            .read()
            .map_err(|e| StoreError::Corrupt(e.message.to_string()))?;
        let (seq, hash) = r
            .audit_head()
            .map_err(|e| StoreError::Corrupt(e.message.to_string()))?;
        let at = match r.audit_entry_bytes(seq) {
            Ok(Some(b)) => codec::decode::<AuditEntry>(&b).ok().map(|e| e.at),
            _ => None,
        };
        drop(r);
        store.replica = Some(ReplicaOf {
            source: name,
            head_seq: seq,
            head_hash: hash,
            as_of: at,
        });
        Ok(store)
    }

    /// Whether the audit log is hash-chained (else the next write chains it).
    pub fn audit_chained(&self) -> Result<bool, StoreError> {
        let txn = self.db.begin_read()?;
        let meta = txn.open_table(tables::META)?;
        let found = meta.get(AUDIT_CHAIN_FROM)?.is_some();
        Ok(found)
    }

    /// How long opening took when redb had to repair the file in full (see [`Store::open`]).
    pub fn full_repair(&self) -> Option<std::time::Duration> {
        self.full_repair
    }

    /// A durable write transaction that records the allocator state for a quick repair.
    fn begin_durable(&self) -> Result<redb::WriteTransaction, redb::TransactionError> {
        let mut txn = self.db.begin_write()?;
        txn.set_quick_repair(true);
        Ok(txn)
    }

    /// What a replica was opened from (`None` for the primary).
    pub fn replica(&self) -> Option<&ReplicaOf> {
        self.replica.as_ref()
    }

    fn init_schema(&self) -> Result<(), StoreError> {
        let txn = self.begin_durable()?;
        {
            let mut meta = txn.open_table(tables::META)?;
            let found = match meta.get("schema_version")? {
                Some(v) => {
                    let bytes: [u8; 4] = v
                        .value()
                        .try_into()
                        .map_err(|_| StoreError::Corrupt("schema_version".into()))?;
                    Some(u32::from_le_bytes(bytes))
                }
                None => None,
            };
            match found {
                Some(v) if v > SCHEMA_VERSION => {
                    return Err(StoreError::TooNew {
                        found: v,
                        supported: SCHEMA_VERSION,
                    })
                }
                Some(_) => {}
                None => {
                    meta.insert("schema_version", SCHEMA_VERSION.to_le_bytes().as_slice())?;
                }
            }
            // A new (empty) log is chained from its first entry; an existing unchained one is
            // migrated by its next write (see `write_inner`).
            let audit_empty = txn.open_table(tables::AUDIT)?.is_empty()?;
            if audit_empty && meta.get(AUDIT_CHAIN_FROM)?.is_none() {
                meta.insert(AUDIT_CHAIN_FROM, 1u64.to_le_bytes().as_slice())?;
            }
        }
        // Drop the caches of older layouts (their figures are recomputed under new names).
        for name in tables::RETIRED {
            txn.delete_table(redb::TableDefinition::<(&str, u32), &[u8]>::new(name))?;
        }
        // Create every table so that readers never meet a missing one.
        copy::each_table(&mut copy::Create(&txn))?;
        tables::index_journal::ensure_lineage(&txn)
            .map_err(|e| StoreError::Corrupt(e.message.to_string()))?;
        txn.commit()?;
        Ok(())
    }

    /// Starts a new lineage of the data file (see `tables::index_journal`): for a file put in
    /// place from a backup, whose history branches off the original's here, so that no index
    /// of the original is caught up from this file's journal.
    pub fn new_lineage(&self) -> AppResult<()> {
        if self.read_only {
            return Err(AppError::new(Code::ReadOnly));
        }
        let txn = self.begin_durable()?;
        tables::index_journal::new_lineage(&txn)?;
        txn.commit()?;
        Ok(())
    }

    /// Registers the receiver of invoice changes (the index).
    pub fn set_sink(&self, sink: Arc<dyn ChangeSink>) {
        if let Ok(mut g) = self.sink.write() {
            *g = Some(sink);
        }
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// A consistent snapshot for reading.
    pub fn read(&self) -> AppResult<Reader> {
        Ok(Reader::new(self.db.begin_read()?))
    }

    /// The invoices of `keys` that exist, in the order given, for showing a page: rows
    /// read for earlier pages are taken from memory, the others from one read transaction.
    /// Each row is no older than the last commit answered before this call (the rows are
    /// not of one snapshot: for display, not for a decision).
    pub fn page_rows(&self, keys: &[InvoiceKey]) -> AppResult<Vec<Invoice>> {
        let read_at = self.rows.generation();
        let mut found: Vec<Option<Arc<Invoice>>> =
            keys.iter().map(|k| self.rows.get(k.to_u128())).collect();
        let missing: Vec<InvoiceKey> = keys
            .iter()
            .zip(&found)
            .filter(|(_, f)| f.is_none())
            .map(|(k, _)| k.clone())
            .collect();
        if !missing.is_empty() {
            let read: std::collections::HashMap<u128, Arc<Invoice>> = self
                .read()?
                .invoices_by_keys(&missing)?
                .into_iter()
                .map(|i| (i.key.to_u128(), Arc::new(i)))
                .collect();
            for (k, f) in keys.iter().zip(found.iter_mut()) {
                if f.is_none() {
                    if let Some(row) = read.get(&k.to_u128()) {
                        self.rows.offer(read_at, k.to_u128(), Arc::clone(row));
                        *f = Some(Arc::clone(row));
                    }
                }
            }
        }
        Ok(found
            .into_iter()
            .flatten()
            .map(|i| Invoice::clone(&i))
            .collect())
    }

    /// Page rows found in memory and rows read from redb since start (see [`Store::page_rows`]).
    pub fn row_cache_counts(&self) -> (u64, u64) {
        self.rows.counts()
    }

    /// Runs one state change in one write transaction. `f` must record at least one audit
    /// entry with [`Tx::audit`]; the entries are appended in the same transaction. If `f`
    /// fails, nothing is written.
    pub fn write<T>(&self, who: &Who, f: impl FnOnce(&mut Tx) -> AppResult<T>) -> AppResult<T> {
        if self.read_only {
            return Err(AppError::new(Code::ReadOnly));
        }
        self.write_inner(who, true, false, redb::Durability::Immediate, f)
    }

    /// Like [`Store::write`] — durable when it returns — with group commit for many
    /// concurrent small writes (selection saves). A writer queues its change; if no writer
    /// is running a group, it takes every change queued and runs them in one transaction,
    /// committed durably (each change's audit entries inside it, under its own `Who`), while
    /// the changes queued meanwhile wait for the next group. One fsync, one transaction and
    /// one hand-over of the store's write lock per group instead of one each.
    ///
    /// If any change of a group fails, nothing of the group is kept and each of its changes
    /// runs again in a transaction of its own (hence `Fn`): a change's error is its own. A
    /// change must not write through the store itself: its group would wait for it.
    pub fn write_grouped<T: Send + 'static>(
        &self,
        who: &Who,
        f: impl Fn(&mut Tx) -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        if self.read_only {
            return Err(AppError::new(Code::ReadOnly));
        }
        let poisoned = || AppError::internal("group commit lock poisoned");
        let slot: Slot = Arc::new(Mutex::new(None));
        let mut state = self.group.state.lock().map_err(|_| poisoned())?;
        state.queue.push(GroupedWrite {
            who: who.clone(),
            change: Box::new(move |tx| f(tx).map(|v| Box::new(v) as Box<dyn std::any::Any + Send>)),
            slot: slot.clone(),
        });
        loop {
            if let Some(outcome) = take_outcome(&slot) {
                drop(state);
                return outcome?
                    .downcast::<T>()
                    .map(|v| *v)
                    .map_err(|_| AppError::internal("group commit: an outcome of another type"));
            }
            if !state.leading {
                state.leading = true;
                let group = std::mem::take(&mut state.queue);
                drop(state);
                self.run_group(group);
                state = self.group.state.lock().map_err(|_| poisoned())?;
                continue;
            }
            state = self.group.turn.wait(state).map_err(|_| poisoned())?;
        }
    }

    /// Runs a group of queued writes (see [`Store::write_grouped`]) and leaves each one's
    /// outcome in its slot.
    fn run_group(&self, group: Vec<GroupedWrite>) {
        let _done = GroupDone {
            group: &self.group,
            slots: group.iter().map(|w| w.slot.clone()).collect(),
        };
        let Some(first) = group.first() else {
            return;
        };
        let started = std::time::Instant::now();
        let together = self.write_staged(
            &first.who,
            true,
            false,
            redb::Durability::Immediate,
            true,
            |tx| {
                let mut out = Vec::with_capacity(group.len());
                for w in &group {
                    let from = tx.audits.len();
                    out.push((w.change)(tx)?);
                    for draft in &mut tx.audits[from..] {
                        draft.stamp(&w.who);
                    }
                }
                Ok(out)
            },
        );
        let outcomes: Vec<Erased> = match together {
            Ok(values) => values.into_iter().map(Ok).collect(),
            Err(e) if group.len() == 1 => vec![Err(e)],
            // One change failed, and the group with it: each on its own.
            Err(_) => group
                .iter()
                .map(|w| {
                    self.write_staged(
                        &w.who,
                        true,
                        false,
                        redb::Durability::Immediate,
                        true,
                        |tx| (w.change)(tx),
                    )
                })
                .collect(),
        };
        if failpoint("after_group_flush") {
            std::process::abort();
        }
        let flushed = std::time::Instant::now();
        let sink = self.sink.read().ok().and_then(|g| g.clone());
        if let Some(sink) = sink {
            sink.sync();
        }
        let g = &self.group;
        let relaxed = std::sync::atomic::Ordering::Relaxed;
        let us = |d: std::time::Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        g.groups.fetch_add(1, relaxed);
        g.grouped.fetch_add(group.len() as u64, relaxed);
        g.flush_us.fetch_add(us(flushed - started), relaxed);
        g.sync_us.fetch_add(us(flushed.elapsed()), relaxed);
        for (w, outcome) in group.iter().zip(outcomes) {
            if let Ok(mut slot) = w.slot.lock() {
                *slot = Some(outcome);
            }
        }
    }

    /// How many grouped writes wait for the group in progress (tests).
    #[cfg(test)]
    pub(crate) fn group_queue_len(&self) -> usize {
        self.group.state.lock().map(|s| s.queue.len()).unwrap_or(0)
    }

    /// What group commit has done since the store was opened (for the load bench).
    pub fn group_stats(&self) -> GroupStats {
        let g = &self.group;
        let relaxed = std::sync::atomic::Ordering::Relaxed;
        GroupStats {
            groups: g.groups.load(relaxed),
            writes: g.grouped.load(relaxed),
            flush_us: g.flush_us.load(relaxed),
            sync_us: g.sync_us.load(relaxed),
        }
    }

    /// Like [`Store::write`], for changes that may turn out to be unnecessary once inside the
    /// transaction (another request got there first): when `f` records no audit entry, the
    /// transaction is aborted — by the audit rule it changed nothing — and `f`'s result is
    /// returned.
    pub fn write_if_changed<T>(
        &self,
        who: &Who,
        f: impl FnOnce(&mut Tx) -> AppResult<T>,
    ) -> AppResult<T> {
        if self.read_only {
            return Err(AppError::new(Code::ReadOnly));
        }
        self.write_inner(who, true, true, redb::Durability::Immediate, f)
    }

    /// Like [`Store::write`] but for bulk loads: the commit is not flushed to disk until a
    /// later durable commit (call [`Store::flush`] at the end of the load).
    pub fn write_bulk<T>(
        &self,
        who: &Who,
        f: impl FnOnce(&mut Tx) -> AppResult<T>,
    ) -> AppResult<T> {
        if self.read_only {
            return Err(AppError::new(Code::ReadOnly));
        }
        self.write_inner(who, true, false, redb::Durability::None, f)
    }

    /// A login's or logout's write (sessions, throttles, last-login times). On a replica it
    /// goes to the replica's memory — the file is never written — and its audit entries are
    /// dropped, so the replica's audit log stays the source's.
    pub fn write_session<T>(
        &self,
        who: &Who,
        f: impl FnOnce(&mut Tx) -> AppResult<T>,
    ) -> AppResult<T> {
        if self.read_only {
            return self.write_inner(who, false, false, redb::Durability::None, |tx| {
                let out = f(tx)?;
                tx.audits.clear();
                Ok(out)
            });
        }
        self.write(who, f)
    }

    /// A durable write whose records are their own log (征纳互动 transcripts): audit entries
    /// are appended when `f` records some (state changes), not required for plain messages.
    pub fn write_log<T>(&self, who: &Who, f: impl FnOnce(&mut Tx) -> AppResult<T>) -> AppResult<T> {
        if self.read_only {
            return Err(AppError::new(Code::ReadOnly));
        }
        self.write_inner(who, false, false, redb::Durability::Immediate, f)
    }

    /// Housekeeping that is not a business state change (session last-seen times, expiry
    /// purges): no audit entry required, allowed on read-only replicas, not flushed at once.
    pub fn housekeeping<T>(&self, f: impl FnOnce(&mut Tx) -> AppResult<T>) -> AppResult<T> {
        let who = Who::system(
            "housekeeping",
            DateTime::<FixedOffset>::MIN_UTC.fixed_offset(),
        );
        self.write_inner(&who, false, false, redb::Durability::None, f)
    }

    /// Runs `f` while no write transaction is in progress (holding the commit lock, which
    /// covers a commit and the notification of its changes).
    pub fn serialized<T>(&self, f: impl FnOnce() -> AppResult<T>) -> AppResult<T> {
        let _guard = self
            .commit_lock
            .lock()
            .map_err(|_| AppError::internal("commit lock poisoned"))?;
        f()
    }

    /// Makes every earlier commit durable.
    pub fn flush(&self) -> AppResult<()> {
        let txn = self.begin_durable()?;
        txn.commit()?;
        Ok(())
    }

    fn write_inner<T>(
        &self,
        who: &Who,
        audited: bool,
        allow_unchanged: bool,
        durability: redb::Durability,
        f: impl FnOnce(&mut Tx) -> AppResult<T>,
    ) -> AppResult<T> {
        self.write_staged(who, audited, allow_unchanged, durability, false, f)
    }

    /// [`Store::write_inner`]; `staged` tells the sink it may hold the change until
    /// [`ChangeSink::sync`] (group commit).
    fn write_staged<T>(
        &self,
        who: &Who,
        audited: bool,
        allow_unchanged: bool,
        durability: redb::Durability,
        staged: bool,
        f: impl FnOnce(&mut Tx) -> AppResult<T>,
    ) -> AppResult<T> {
        let _guard = self
            .commit_lock
            .lock()
            .map_err(|_| AppError::internal("commit lock poisoned"))?;
        let mut txn = self.db.begin_write()?;
        if matches!(durability, redb::Durability::Immediate) {
            txn.set_quick_repair(true);
        }
        txn.set_durability(durability)
            .map_err(|e| AppError::internal(e.to_string()))?;
        let mut tx = Tx::new(txn);
        let out = match f(&mut tx).and_then(|v| tx.flush_stale().map(|()| v)) {
            Ok(v) => v,
            Err(e) => {
                tx.abort()?;
                return Err(e);
            }
        };
        let (txn, audits, (new, updated)) = tx.into_parts();
        // A bulk load's commits (`write_bulk`: not flushed, and not staged for a group flush
        // as a selection save is).
        let bulk = matches!(durability, redb::Durability::None) && !staged;
        let invoice_seq = if new.is_empty() && updated.is_empty() {
            None
        } else {
            let mut meta = txn.open_table(tables::META)?;
            let seq = match meta.get(INVOICE_SEQ)? {
                Some(v) => decode_u64(v.value()) + 1,
                None => 1,
            };
            meta.insert(INVOICE_SEQ, seq.to_le_bytes().as_slice())?;
            drop(meta);
            // Which invoices this commit touched, for an index left behind by a crash; not
            // for a bulk load's commits, which leave a gap instead.
            tables::index_journal::record(&txn, seq, &new, &updated, bulk)?;
            Some(seq)
        };
        if audited || !audits.is_empty() {
            if audits.is_empty() {
                txn.abort()?;
                if allow_unchanged {
                    return Ok(out);
                }
                return Err(AppError::internal("state change without an audit entry"));
            }
            let mut table = txn.open_table(tables::AUDIT)?;
            let mut chain = txn.open_table(tables::AUDIT_CHAIN)?;
            let mut meta = txn.open_table(tables::META)?;
            let last = table.last()?.map(|(k, _)| k.value()).unwrap_or(0);
            let mut audits = audits;
            let mut prev = if meta.get(AUDIT_CHAIN_FROM)?.is_some() {
                match chain.get(last)? {
                    Some(v) => v.value().try_into().unwrap_or(chain::GENESIS),
                    // An unhashed newest entry is a break `fapiao verify` reports.
                    None => chain::GENESIS,
                }
            } else {
                // A file written before the chain existed: hash its log once, in this
                // transaction, and say so in the log itself.
                let mut prev = chain::GENESIS;
                for row in table.iter()? {
                    let (k, v) = row?;
                    prev = chain::link(&prev, k.value(), v.value());
                    chain.insert(k.value(), prev.as_slice())?;
                }
                meta.insert(AUDIT_CHAIN_FROM, (last + 1).to_le_bytes().as_slice())?;
                audits.insert(
                    0,
                    tables::audit::AuditDraft {
                        when: None,
                        by: Some((
                            Actor::System {
                                what: "audit-chain".into(),
                            },
                            None,
                        )),
                        action: "audit.chain_start".into(),
                        target: "audit".into(),
                        detail: format!("hashed={last}"),
                    },
                );
                prev
            };
            drop(meta);
            for (seq, draft) in (last + 1..).zip(audits) {
                let (actor, address) = draft
                    .by
                    .unwrap_or_else(|| (who.actor.clone(), who.address.clone()));
                let (wall, now) = draft.when.unwrap_or((who.wall, who.now));
                let entry = AuditEntry {
                    seq,
                    at: wall,
                    business_at: (now != wall).then_some(now),
                    actor,
                    address,
                    action: draft.action,
                    target: draft.target,
                    detail: draft.detail,
                };
                let bytes = codec::encode(&entry).map_err(AppError::internal)?;
                table.insert(seq, bytes.as_slice())?;
                prev = chain::link(&prev, seq, &bytes);
                chain.insert(seq, prev.as_slice())?;
            }
        }
        txn.commit()?;
        if invoice_seq.is_some() {
            // Before anyone is told: a page read after this answer is given shows the change.
            // (New invoices were not stored before, so no row of theirs is kept: a bulk load's
            // chunks have nothing to remove.)
            self.rows.forget(updated.iter().map(|i| i.key.to_u128()));
        }
        if let Some(seq) = invoice_seq {
            if failpoint("after_store_commit") {
                std::process::abort();
            }
            let sink = self.sink.read().ok().and_then(|g| g.clone());
            if let Some(sink) = sink {
                if staged {
                    sink.invoices_staged(&new, &updated, seq);
                } else if bulk {
                    sink.invoices_loaded(&new, &updated, seq);
                } else {
                    sink.invoices_changed(&new, &updated, seq);
                }
            }
        }
        Ok(out)
    }
}

/// The source of a replica and its audit head when it was opened.
#[derive(Debug, Clone)]
pub struct ReplicaOf {
    pub source: String,
    pub head_seq: u64,
    pub head_hash: chain::Hash,
    /// Time of the newest audit entry: the data is as of then.
    pub as_of: Option<DateTime<FixedOffset>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("read_only", &self.read_only)
            .finish()
    }
}
