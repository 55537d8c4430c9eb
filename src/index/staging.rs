//! Group-committed changes on their way into the index: staged when the store commits them,
//! *ready* once its durable flush covers them — seen by queries through the overlay when
//! commits are deferred — and committed to the index by the group itself or, deferred, by
//! the committer thread (see `docs/architecture.md`, *Index*).

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

use tantivy::indexer::UserOperation;
use tantivy::{IndexWriter, TantivyDocument};

use super::keys::{At, KeysQuery};
use super::{at_of, tantivy_err, InvoiceIndex};
use crate::domain::Invoice;
use crate::error::{AppError, AppResult};
use crate::store::ChangeSink;

/// Index operations of changes, kept so that they go to the writer as one batch: the
/// invoices whose earlier documents are deleted, and the documents added, in the order of
/// the changes.
#[derive(Default)]
pub(super) struct Ops {
    deletes: Vec<At>,
    adds: Vec<(At, TantivyDocument)>,
}

impl Ops {
    /// An invoice's new version replaces its earlier documents.
    fn replace(&mut self, at: At, doc: TantivyDocument) {
        self.deletes.push(at);
        self.adds.push((at, doc));
    }

    /// A new invoice's first document.
    fn add(&mut self, at: At, doc: TantivyDocument) {
        self.adds.push((at, doc));
    }

    fn append(&mut self, mut later: Ops) {
        self.deletes.append(&mut later.deletes);
        self.adds.append(&mut later.adds);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.deletes.is_empty() && self.adds.is_empty()
    }

    /// Hands the operations to `w`: the deletes first, as one query, then the newest
    /// document of each invoice, as one batch (which one indexing thread takes, writing one
    /// segment). An invoice changed twice keeps only its second document: with the deletes
    /// ahead of every add, the first would otherwise stay beside it.
    pub(super) fn run(self, w: &IndexWriter) -> tantivy::Result<()> {
        if !self.deletes.is_empty() {
            w.delete_query(Box::new(KeysQuery::new(self.deletes)))?;
        }
        let mut seen = HashSet::with_capacity(self.adds.len());
        let mut adds: Vec<UserOperation> = self
            .adds
            .into_iter()
            .rev()
            .filter(|(at, _)| seen.insert(*at))
            .map(|(_, doc)| UserOperation::Add(doc))
            .collect();
        adds.reverse();
        if !adds.is_empty() {
            w.run(adds)?;
        }
        Ok(())
    }
}

/// Operations staged by group-committed changes, and the counter they bring the index to.
#[derive(Default)]
pub(super) struct Pending {
    /// Committed in the store, not yet known durable: nobody sees them.
    ops: Ops,
    seq: u64,
    /// The invoices of `ops`, with their change counters (for the overlay).
    invoices: Vec<(u64, Invoice)>,
    /// Durable, and seen by queries through the overlay (when commits are deferred): for the
    /// next index commit.
    ready: Ops,
    ready_seq: u64,
}

impl Pending {
    /// Every operation, ready first (the older), and the counter they bring the index to.
    pub(super) fn into_ops(mut self) -> (Ops, u64) {
        let seq = self.seq.max(self.ready_seq);
        self.ready.append(self.ops);
        (self.ready, seq)
    }
}

/// Wakes the committer thread (see [`InvoiceIndex::start_committer`]).
#[derive(Default)]
pub(super) struct Kick {
    /// (changes are ready, the index is gone)
    state: Mutex<(bool, bool)>,
    cv: Condvar,
}

impl Kick {
    fn set(&self, ready: bool, closed: bool) {
        if let Ok(mut g) = self.state.lock() {
            g.0 |= ready;
            g.1 |= closed;
            self.cv.notify_all();
        }
    }

    /// Waits until changes are ready (true) or the index is gone (false).
    fn wait(&self) -> bool {
        let Ok(mut g) = self.state.lock() else {
            return false;
        };
        loop {
            if g.1 {
                return false;
            }
            if g.0 {
                g.0 = false;
                return true;
            }
            g = match self.cv.wait(g) {
                Ok(g) => g,
                Err(_) => return false,
            };
        }
    }
}

/// How long the committer lets durable group-committed changes gather before it commits
/// them to the index, one segment for all.
pub const COMMIT_EVERY: Duration = Duration::from_millis(200);

impl InvoiceIndex {
    /// Stages the replacement of `updated` and the addition of `new` without committing: the
    /// change counter moves on at once (so a catch-up does not rebuild); queries see the
    /// change once the store's durable flush covers it ([`ChangeSink::sync`]), through the
    /// overlay or an index commit.
    ///
    /// The operations wait in memory, not in the writer: the commit hands them all to the
    /// writer as one batch, which one indexing thread takes, so it writes one new segment
    /// (each costs a term table to fill and walk, its files, and a reader to open); and
    /// staging never waits for the writer while it commits.
    fn stage(&self, new: &[Invoice], updated: &[Invoice], seq: u64) -> AppResult<()> {
        let mut p = self
            .pending
            .lock()
            .map_err(|_| AppError::internal("index pending lock poisoned"))?;
        for inv in updated {
            p.ops.replace(at_of(inv), self.doc(inv));
        }
        for inv in new {
            p.ops.add(at_of(inv), self.doc(inv));
        }
        if self.deferred.load(Ordering::Acquire) {
            p.invoices
                .extend(updated.iter().chain(new).map(|inv| (seq, inv.clone())));
        }
        p.seq = seq;
        self.applied.store(seq, Ordering::Release);
        Ok(())
    }

    /// Takes the staged operations, ready or not.
    pub(super) fn take_pending(&self) -> AppResult<Pending> {
        let mut p = self
            .pending
            .lock()
            .map_err(|_| AppError::internal("index pending lock poisoned"))?;
        Ok(std::mem::take(&mut *p))
    }

    /// Whether changes are staged but not committed yet.
    pub(super) fn has_staged(&self) -> AppResult<bool> {
        let p = self
            .pending
            .lock()
            .map_err(|_| AppError::internal("index pending lock poisoned"))?;
        Ok(!p.ops.is_empty() || !p.ready.is_empty())
    }

    /// Takes the index back to its last commit, with the writer `w` locked: what the writer
    /// holds uncommitted, the staged operations and the overlay are dropped (their changes
    /// are in the store, which a rebuild or a replay reads).
    pub(super) fn roll_back(&self, w: &mut IndexWriter) -> AppResult<()> {
        w.rollback().map_err(tantivy_err)?;
        if self.loading.swap(false, Ordering::AcqRel) {
            // A bulk load's documents are gone with the rest: the index is back at its
            // last commit, which the next catch-up sees.
            self.applied
                .store(self.committed.load(Ordering::Acquire), Ordering::Release);
        }
        self.take_pending()?;
        let mut v = self
            .view
            .write()
            .map_err(|_| AppError::internal("index view lock poisoned"))?;
        v.overlay = Arc::default();
        Ok(())
    }

    /// Commits every staged operation (nothing to do when nothing is staged): a group's
    /// commit when commits are not deferred.
    fn commit_staged(&self) -> AppResult<bool> {
        self.commit_taken(|p| std::mem::take(p).into_ops())
    }

    /// Commits the ready operations: durable in the store and seen through the overlay
    /// (what the committer thread does). Returns whether there were any.
    pub fn commit_ready(&self) -> AppResult<bool> {
        self.commit_taken(|p| (std::mem::take(&mut p.ready), p.ready_seq))
    }

    /// Commits the operations `take` takes from the pending ones, with the counter it
    /// gives, the writer locked first; whether there were any.
    fn commit_taken(&self, take: impl FnOnce(&mut Pending) -> (Ops, u64)) -> AppResult<bool> {
        let mut w = self
            .writer
            .lock()
            .map_err(|_| AppError::internal("index writer lock poisoned"))?;
        let (ops, seq) = {
            let mut p = self
                .pending
                .lock()
                .map_err(|_| AppError::internal("index pending lock poisoned"))?;
            take(&mut p)
        };
        if ops.is_empty() {
            return Ok(false);
        }
        ops.run(&w).map_err(tantivy_err)?;
        self.commit_and_publish(&mut w, seq, self.lineage())?;
        Ok(true)
    }

    /// A group's durable flush covers the staged changes: with commits deferred, they become
    /// ready and queries see them through the overlay; the committer is woken.
    fn make_ready(&self) -> AppResult<()> {
        let mut p = self
            .pending
            .lock()
            .map_err(|_| AppError::internal("index pending lock poisoned"))?;
        if p.ops.is_empty() {
            return Ok(());
        }
        let ops = std::mem::take(&mut p.ops);
        p.ready.append(ops);
        p.ready_seq = p.seq;
        let invoices = std::mem::take(&mut p.invoices);
        let mut v = self
            .view
            .write()
            .map_err(|_| AppError::internal("index view lock poisoned"))?;
        let searcher = v.searcher.clone();
        let o = Arc::make_mut(&mut v.overlay);
        for (seq, inv) in invoices {
            o.put(&searcher, at_of(&inv), seq, inv);
        }
        drop(v);
        drop(p);
        self.kick.set(true, false);
        Ok(())
    }

    /// Defers the index commits of group-committed changes until [`InvoiceIndex::commit_ready`]
    /// (or any other commit); true when they already were.
    pub(crate) fn defer_commits(&self) -> bool {
        self.deferred.swap(true, Ordering::AcqRel)
    }

    /// Defers the index commits of group-committed changes to a thread of their own: a
    /// group is then answered after the store's durable flush alone, queries see its changes
    /// through the overlay at once, and the thread commits what is ready at most every
    /// [`COMMIT_EVERY`] — one index commit (a segment, a reader reopened) for many groups.
    /// Without it (tests, tools) each group commits the index before it is answered.
    pub fn start_committer(self: &Arc<Self>, every: Duration) -> AppResult<()> {
        if self.defer_commits() {
            return Ok(());
        }
        let me: Weak<Self> = Arc::downgrade(self);
        let kick = self.kick.clone();
        std::thread::Builder::new()
            .name("index-commit".into())
            .spawn(move || {
                while kick.wait() {
                    std::thread::sleep(every);
                    let Some(index) = me.upgrade() else {
                        return;
                    };
                    if let Err(e) = index.commit_ready() {
                        // The store is the truth: the next catch-up replays or rebuilds.
                        index.applied.store(0, Ordering::Release);
                        tracing::error!(error = %e, "index commit failed; it will be rebuilt");
                    }
                }
            })?;
        Ok(())
    }
}

impl Drop for InvoiceIndex {
    /// Stops the committer and commits what is ready (what is not would be replayed from
    /// the store's journal at the next start).
    fn drop(&mut self) {
        self.kick.set(false, true);
        if let Err(e) = self.finish_load() {
            tracing::warn!(error = %e, "index: a bulk load's documents not committed at close");
        }
        if let Err(e) = self.commit_ready() {
            tracing::warn!(error = %e, "index: ready changes not committed at close");
        }
    }
}

impl ChangeSink for InvoiceIndex {
    fn invoices_changed(&self, new: &[Invoice], updated: &[Invoice], invoice_seq: u64) {
        if let Err(e) = self.apply(new, updated, invoice_seq) {
            // The store is the truth: the next catch-up (queries check) rebuilds.
            tracing::error!(error = %e, "index update failed; it will be rebuilt");
        }
    }

    fn invoices_staged(&self, new: &[Invoice], updated: &[Invoice], invoice_seq: u64) {
        if let Err(e) = self.stage(new, updated, invoice_seq) {
            tracing::error!(error = %e, "index update failed; it will be rebuilt");
        }
    }

    fn invoices_loaded(&self, new: &[Invoice], updated: &[Invoice], invoice_seq: u64) {
        if let Err(e) = self.load(new, updated, invoice_seq) {
            // Not in the writer: make the next catch-up rebuild from the store.
            self.applied.store(0, Ordering::Release);
            tracing::error!(error = %e, "index update failed; it will be rebuilt");
        }
    }

    fn sync(&self) {
        let done = if self.deferred.load(Ordering::Acquire) {
            self.make_ready()
        } else {
            self.commit_staged().map(drop)
        };
        if let Err(e) = done {
            // Not committed: make the next catch-up rebuild from the store.
            self.applied.store(0, Ordering::Release);
            tracing::error!(error = %e, "index commit failed; it will be rebuilt");
        }
    }
}
