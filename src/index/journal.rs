//! Bringing the index in step with the store ([`InvoiceIndex::catch_up`]).
//!
//! An index behind the store by a few commits — the process stopped between a redb commit and
//! the index's own commit of the same change (kill -9, a crash, a power cut; group commit
//! holds index changes back until the next flush) — is caught up by *replaying* the store's
//! index journal (`store::tables::index_journal`): the invoices the missing commits touched
//! are read from the store and their documents replaced. Everything else — an index without a
//! counter (new, re-created, after a failed commit), of another lineage of the data file,
//! ahead of the store, a journal with a gap, or so many changed invoices that a full pass is
//! as cheap — is rebuilt from every invoice, as is a replay whose result does not hold as
//! many documents as the store holds invoices.

use std::sync::atomic::Ordering;

use super::keys::KeysQuery;
use super::{at_of, tantivy_err, InvoiceIndex};
use crate::error::{AppError, AppResult};
use crate::store::prelude::*;
use crate::store::{JournalSpan, Store};

/// A replay may touch up to half the invoices (then one pass over all of them costs about
/// the same), and always this many.
const REPLAY_MIN_LIMIT: usize = 100_000;
/// Invoices read from the store at a time during a replay.
const REPLAY_BATCH: usize = 10_000;

/// How [`InvoiceIndex::catch_up_how`] brought the index in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchUp {
    /// It already was.
    InStep,
    /// The journal was replayed: `commits` commits, touching `invoices` invoices.
    Replayed { commits: u64, invoices: u64 },
    /// Rebuilt from the store's `invoices` invoices, for reason `why`.
    Rebuilt { invoices: u64, why: RebuildWhy },
}

/// Why an index was rebuilt rather than caught up from the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebuildWhy {
    /// The index records no change counter: new, re-created, or its last commit failed.
    NoCounter,
    /// The index belongs to another history of the data file (another lineage: the file was
    /// replaced by a snapshot or a restore, or the index is another store's), or to none
    /// the store knows.
    OtherLineage,
    /// The index is ahead of the store (the store lost commits the index had).
    Ahead,
    /// A commit since the index's is not in the journal (pruned, a bulk load).
    Gap,
    /// The commits since the index's touched so many invoices that a full pass is as cheap.
    TooMany,
    /// The replay failed, or left the index with another number of documents than the
    /// store has invoices.
    ReplayFailed,
}

/// The commit payload: the change counter and, when known, the lineage (16 hex digits).
pub(super) fn payload(seq: u64, lineage: Option<u64>) -> String {
    match lineage {
        Some(l) => format!("{seq} {l:016x}"),
        None => seq.to_string(),
    }
}

/// A payload back as (counter, lineage); an unreadable counter is 0 (the index is rebuilt).
pub(super) fn parse_payload(p: &str) -> (u64, Option<u64>) {
    let (seq, lineage) = match p.split_once(' ') {
        Some((s, l)) => (s, u64::from_str_radix(l, 16).ok()),
        None => (p, None),
    };
    (seq.parse().unwrap_or(0), lineage)
}

impl InvoiceIndex {
    /// Whether the index holds every change the store has committed, from one read of the
    /// store and without the writers' lock that catching up takes.
    pub fn in_step(&self, store: &Store) -> AppResult<bool> {
        let (truth, lineage) = Self::store_state(store)?;
        Ok(!self.is_loading() && self.applied_seq() == truth && self.lineage() == lineage)
    }

    /// [`InvoiceIndex::catch_up`], saying how: already in step, caught up by replaying the
    /// store's index journal, or rebuilt (and why). Logged when not in step.
    pub fn catch_up_how(&self, store: &Store) -> AppResult<CatchUp> {
        if self.in_step(store)? {
            return Ok(CatchUp::InStep);
        }
        let how = store.serialized(|| {
            let (truth, lineage) = Self::store_state(store)?;
            if self.applied_seq() == truth {
                let mine = self.lineage();
                if mine == lineage {
                    // A bulk load's documents are all in the writer: committed, they are seen.
                    self.finish_load()?;
                    return Ok(CatchUp::InStep);
                }
                if mine.is_none() {
                    // Written before lineages were recorded: trusted, as counters always
                    // were, and of the store's lineage from now on — on disk at once, so
                    // that a crash before the next change can already be replayed.
                    self.set_lineage(lineage);
                    self.record_lineage()?;
                    return Ok(CatchUp::InStep);
                }
            }
            self.replay_or_rebuild(store, truth, lineage)
        })?;
        if how != CatchUp::InStep {
            if let Ok(mut last) = self.last_catch_up.lock() {
                *last = Some(how);
            }
        }
        Ok(how)
    }

    /// How the index was last brought in step when it was not (`None`: it always was).
    pub fn last_catch_up(&self) -> Option<CatchUp> {
        self.last_catch_up.lock().ok().and_then(|g| *g)
    }

    /// The store's invoice change counter and lineage.
    fn store_state(store: &Store) -> AppResult<(u64, Option<u64>)> {
        let r = store.read()?;
        Ok((r.invoice_seq()?, r.lineage()?))
    }

    /// The lineage of the data file this index's documents come from.
    pub(super) fn lineage(&self) -> Option<u64> {
        self.lineage.lock().ok().and_then(|g| *g)
    }

    pub(super) fn set_lineage(&self, lineage: Option<u64>) {
        if let Ok(mut g) = self.lineage.lock() {
            *g = lineage;
        }
    }

    /// With the store's commit lock held: replays the journal when it can, else rebuilds.
    fn replay_or_rebuild(
        &self,
        store: &Store,
        truth: u64,
        lineage: Option<u64>,
    ) -> AppResult<CatchUp> {
        let started = std::time::Instant::now();
        let ms = |since: std::time::Instant| u64::try_from(since.elapsed().as_millis()).ok();
        let why = match self.replay(store, truth, lineage) {
            Ok(Ok((commits, invoices))) => {
                tracing::info!(
                    commits,
                    invoices,
                    seq = truth,
                    ms = ms(started),
                    "index caught up from the journal"
                );
                return Ok(CatchUp::Replayed { commits, invoices });
            }
            Ok(Err(why)) => why,
            Err(e) => {
                tracing::warn!(error = %e, "index journal replay failed; rebuilding");
                self.discard_uncommitted()?;
                RebuildWhy::ReplayFailed
            }
        };
        let n = self.rebuild(store)?;
        tracing::info!(
            invoices = n,
            seq = truth,
            why = ?why,
            ms = ms(started),
            "index rebuilt from the store"
        );
        Ok(CatchUp::Rebuilt { invoices: n, why })
    }

    /// Commits the counter and the lineage without changing a document, unless changes are
    /// staged (their commit records both).
    fn record_lineage(&self) -> AppResult<()> {
        let mut w = self
            .writer
            .lock()
            .map_err(|_| AppError::internal("index writer lock poisoned"))?;
        if self.has_staged()? {
            return Ok(());
        }
        self.commit_and_publish(&mut w, self.applied_seq(), self.lineage())
    }

    /// Drops whatever the writer holds uncommitted.
    fn discard_uncommitted(&self) -> AppResult<()> {
        let mut w = self
            .writer
            .lock()
            .map_err(|_| AppError::internal("index writer lock poisoned"))?;
        self.roll_back(&mut w)
    }

    /// Replays the journal from the index's last commit to `truth`: (commits, invoices), or
    /// why the index must be rebuilt instead.
    fn replay(
        &self,
        store: &Store,
        truth: u64,
        lineage: Option<u64>,
    ) -> AppResult<Result<(u64, u64), RebuildWhy>> {
        if self.applied_seq() == 0 {
            return Ok(Err(RebuildWhy::NoCounter));
        }
        let Some(lineage) = lineage else {
            return Ok(Err(RebuildWhy::OtherLineage));
        };
        let mut w = self
            .writer
            .lock()
            .map_err(|_| AppError::internal("index writer lock poisoned"))?;
        // Start from the last commit: staged changes, or those of a failed apply, are in the
        // journal too.
        self.roll_back(&mut w)?;
        let metas = self.index.load_metas().map_err(tantivy_err)?;
        let (base, mine) = metas
            .payload
            .as_deref()
            .map(parse_payload)
            .unwrap_or((0, None));
        if base == 0 {
            return Ok(Err(RebuildWhy::NoCounter));
        }
        if mine != Some(lineage) {
            return Ok(Err(RebuildWhy::OtherLineage));
        }
        if base > truth {
            return Ok(Err(RebuildWhy::Ahead));
        }
        let r = store.read()?;
        let total = r.invoice_count()?;
        let limit = usize::try_from(total / 2)
            .unwrap_or(usize::MAX)
            .max(REPLAY_MIN_LIMIT);
        let (commits, keys) = match r.journal_span(base, truth, limit)? {
            JournalSpan::Keys { commits, keys } => (commits, keys),
            JournalSpan::Gap { .. } => return Ok(Err(RebuildWhy::Gap)),
            JournalSpan::TooMany => return Ok(Err(RebuildWhy::TooMany)),
        };
        for chunk in keys.chunks(REPLAY_BATCH) {
            // Documents are found through the invoice (see `keys`): one no longer in the store
            // (none are removed today) would keep its document, and the count below then
            // asks for a rebuild.
            let invoices = r.invoices_by_keys(chunk)?;
            if !invoices.is_empty() {
                w.delete_query(Box::new(KeysQuery::new(
                    invoices.iter().map(at_of).collect(),
                )))
                .map_err(tantivy_err)?;
            }
            for inv in &invoices {
                w.add_document(self.doc(inv)).map_err(tantivy_err)?;
            }
        }
        self.applied.store(truth, Ordering::Release);
        self.set_lineage(Some(lineage));
        self.commit_and_publish(&mut w, truth, Some(lineage))?;
        drop(w);
        let docs = self.doc_count();
        if docs != total {
            tracing::warn!(
                docs,
                invoices = total,
                "index after the journal replay does not count the store's invoices"
            );
            return Ok(Err(RebuildWhy::ReplayFailed));
        }
        Ok(Ok((commits, keys.len() as u64)))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::engine::tests::{at, day, invoice, me, other, tp};
    use crate::domain::{Invoice, InvoiceStatus, SelectionState};
    use crate::index::InvoiceFilter;
    use crate::store::{ChangeSink, Who};

    fn who() -> Who {
        Who::system("test", at(2026, 11, 23, 10, 0, 0))
    }

    /// One audited commit writing `invoices`.
    fn put(store: &Store, invoices: &[Invoice]) {
        store
            .write(&who(), |tx| {
                tx.put_invoices(invoices)?;
                tx.audit("test.put", "", "");
                Ok(())
            })
            .unwrap();
    }

    /// A store with invoices 1..=40 of two buyers (one commit), and an index in step with it.
    fn setup() -> (tempfile::TempDir, Store, InvoiceIndex) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("f.redb"), false).unwrap();
        let all: Vec<Invoice> = (1..=40)
            .map(|n| {
                let buyer = if n % 3 == 0 { other() } else { me() };
                invoice(n, buyer, day(2026, 10, n % 28 + 1))
            })
            .collect();
        put(&store, &all);
        let index = InvoiceIndex::open(&dir.path().join("index")).unwrap();
        assert!(matches!(
            index.catch_up_how(&store).unwrap(),
            CatchUp::Rebuilt {
                invoices: 40,
                why: RebuildWhy::NoCounter
            }
        ));
        (dir, store, index)
    }

    fn changed(store: &Store, n: u32, f: impl FnOnce(&mut Invoice)) -> Invoice {
        let mut inv = store
            .read()
            .unwrap()
            .invoice(&crate::domain::engine::tests::key(n))
            .unwrap()
            .unwrap();
        f(&mut inv);
        inv
    }

    /// Selects invoice `n` for 202611 in a commit of its own and hands the change to the
    /// index (a new segment, and a deletion in the segment of the old version).
    fn select_in_own_commit(store: &Store, index: &InvoiceIndex, n: u32) {
        let inv = changed(store, n, |i| {
            i.selection = SelectionState::Selected {
                period: tp("202611"),
            }
        });
        put(store, std::slice::from_ref(&inv));
        let seq = store.read().unwrap().invoice_seq().unwrap();
        index.invoices_changed(&[], std::slice::from_ref(&inv), seq);
    }

    /// Commits the index is not told of (as if the process died after each redb commit):
    /// selections, a confirmation, a status change, the same invoice changed twice, new
    /// invoices. Returns how many commits.
    fn commits_behind_the_index(store: &Store) -> u64 {
        let sel = |p| SelectionState::Selected { period: tp(p) };
        put(
            store,
            &[
                changed(store, 1, |i| i.selection = sel("202611")),
                changed(store, 2, |i| i.selection = sel("202611")),
            ],
        );
        put(
            store,
            &[changed(store, 4, |i| {
                i.selection = SelectionState::Confirmed {
                    period: tp("202611"),
                    batch: 1,
                    on: day(2026, 11, 20),
                }
            })],
        );
        put(
            store,
            &[
                changed(store, 1, |i| i.selection = SelectionState::Unselected),
                changed(store, 5, |i| i.status = InvoiceStatus::Voided),
                invoice(41, me(), day(2026, 11, 2)),
                invoice(42, other(), day(2026, 11, 3)),
            ],
        );
        put(
            store,
            &[changed(store, 41, |i| i.selection = sel("202611"))],
        );
        4
    }

    /// Every live document's fast fields, sorted: two indexes with the same rows hold the
    /// same invoices the same way.
    fn rows(index: &InvoiceIndex) -> Vec<Vec<i128>> {
        const U: [&str; 6] = ["code", "number", "packed", "period", "use", "cert_on"];
        const I: [&str; 4] = ["issued", "amount", "tax", "effective_tax"];
        let searcher = index.settled_searcher().unwrap();
        let mut out = Vec::new();
        for seg in searcher.segment_readers() {
            let ff = seg.fast_fields();
            let us: Vec<_> = U
                .iter()
                .filter(|n| **n != "cert_on")
                .map(|n| ff.u64(n).unwrap())
                .collect();
            let is: Vec<_> = I
                .iter()
                .chain(["cert_on"].iter())
                .map(|n| ff.i64(n).unwrap())
                .collect();
            for d in seg.doc_ids_alive() {
                let mut row: Vec<i128> = us
                    .iter()
                    .map(|c| i128::from(c.first(d).unwrap_or(u64::MAX)))
                    .collect();
                row.extend(
                    is.iter()
                        .map(|c| i128::from(c.first(d).unwrap_or(i64::MIN))),
                );
                out.push(row);
            }
        }
        out.sort();
        out
    }

    /// A fresh index rebuilt from the store.
    fn fresh(store: &Store) -> (tempfile::TempDir, InvoiceIndex) {
        let dir = tempfile::tempdir().unwrap();
        let index = InvoiceIndex::open(dir.path()).unwrap();
        index.rebuild(store).unwrap();
        (dir, index)
    }

    fn same_as_rebuilt(index: &InvoiceIndex, store: &Store) {
        let (_dir, want) = fresh(store);
        assert_eq!(rows(index), rows(&want));
        assert_eq!(rows(index).len(), 42);
        for buyer in [me(), other()] {
            for sel in [vec![], vec![0], vec![1], vec![2]] {
                let f = InvoiceFilter {
                    buyer: Some(buyer.clone()),
                    sel,
                    ..Default::default()
                };
                assert_eq!(
                    index.search(&f, 1, 100).unwrap(),
                    want.search(&f, 1, 100).unwrap()
                );
            }
        }
        let truth = store.read().unwrap().invoice_seq().unwrap();
        assert_eq!(index.applied_seq(), truth);
    }

    /// After commits the index missed (a restart after kill -9): reopened at its older
    /// counter, it replays those commits — no rebuild — and holds what a rebuild would.
    #[test]
    fn an_index_a_few_commits_behind_is_caught_up_by_replay() {
        let (dir, store, index) = setup();
        drop(index);
        let behind = commits_behind_the_index(&store);
        let index = InvoiceIndex::open(&dir.path().join("index")).unwrap();
        assert_eq!(index.applied_seq(), 1);
        // Invoices 1, 2, 4, 5, 41, 42.
        assert_eq!(
            index.catch_up_how(&store).unwrap(),
            CatchUp::Replayed {
                commits: behind,
                invoices: 6
            }
        );
        assert_eq!(
            index.last_catch_up(),
            Some(CatchUp::Replayed {
                commits: behind,
                invoices: 6
            })
        );
        same_as_rebuilt(&index, &store);
        // Committed with its counter and lineage: reopened, it is in step.
        drop(index);
        let index = InvoiceIndex::open(&dir.path().join("index")).unwrap();
        assert_eq!(index.catch_up_how(&store).unwrap(), CatchUp::InStep);
        same_as_rebuilt(&index, &store);
    }

    /// The change counter the index's last commit recorded.
    fn committed(i: &InvoiceIndex) -> u64 {
        parse_payload(&i.index.load_metas().unwrap().payload.unwrap()).0
    }

    /// One chunk of a bulk load: `new` invoices and `updated` ones written by
    /// `Store::write_bulk` and handed to the index as a bulk load's (not committed).
    fn load_chunk(store: &Store, index: &InvoiceIndex, new: &[Invoice], updated: &[Invoice]) {
        store
            .write_bulk(&who(), |tx| {
                tx.put_invoices(new)?;
                tx.put_invoices(updated)?;
                tx.audit("test.load", "", "");
                Ok(())
            })
            .unwrap();
        let seq = store.read().unwrap().invoice_seq().unwrap();
        index.invoices_loaded(new, updated, seq);
    }

    /// A search by seller name finds the invoices whose name has every bigram of the text,
    /// ignoring case, taking the text's characters literally (no pattern), and agrees with
    /// the test on the invoice itself that changes not committed yet go through.
    #[test]
    fn a_seller_name_search_takes_its_text_literally_and_ignores_case() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("f.redb"), false).unwrap();
        let names = [
            "ACME (Shanghai) Co.",
            "Acme Trading",
            "上海ab贸易有限公司",
            "上海a.b贸易有限公司",
        ];
        let all: Vec<Invoice> = names
            .iter()
            .zip(1..)
            .map(|(name, n)| {
                let mut i = invoice(n, me(), day(2026, 11, n));
                i.seller_name = (*name).into();
                i
            })
            .collect();
        put(&store, &all);
        let index = InvoiceIndex::open(&dir.path().join("index")).unwrap();
        index.catch_up(&store).unwrap();
        let found = |text: &str| -> Vec<String> {
            let f = InvoiceFilter {
                seller_name: Some(text.into()),
                ..Default::default()
            };
            let page = index.search(&f, 1, 10).unwrap();
            let (_, checks) = index.build_query(&f);
            let by_model: Vec<&Invoice> = all
                .iter()
                .filter(|i| index.matches(&f, &checks, i))
                .collect();
            assert_eq!(page.total as usize, by_model.len(), "{text}");
            let mut n: Vec<String> = page.keys.iter().map(|k| k.number().to_string()).collect();
            n.sort();
            n
        };
        assert_eq!(found("acme"), ["00000001", "00000002"]);
        assert_eq!(found("(SH"), ["00000001"]);
        assert_eq!(found("co."), ["00000001"]);
        assert_eq!(found("a."), ["00000004"]);
        assert_eq!(found("贸易有限"), ["00000003", "00000004"]);
        assert_eq!(found("海a"), ["00000003", "00000004"]);
        assert!(found("贸易ac").is_empty());
    }

    /// A bulk load's chunks are not committed one by one: until the load is finished the
    /// index is not in step (queries do not see the chunks yet), a catch-up commits them
    /// (without a rebuild), and so does closing the index; chunks dropped before their
    /// commit leave the index at its last commit, which the next catch-up brings in step.
    #[test]
    fn a_bulk_load_is_committed_once_whatever_ends_it() {
        let (dir, store, index) = setup();
        let mine = InvoiceFilter {
            buyer: Some(me()),
            ..Default::default()
        };
        let before = index.search(&mine, 1, 100).unwrap().total;
        let at_setup = committed(&index);
        let chunk = |from: u32| -> Vec<Invoice> {
            (from..from + 10)
                .map(|n| invoice(n, me(), day(2026, 11, n % 28 + 1)))
                .collect()
        };
        let voided = changed(&store, 1, |i| i.status = InvoiceStatus::Voided);
        load_chunk(&store, &index, &chunk(41), &[voided]);
        load_chunk(&store, &index, &chunk(51), &[]);
        assert!(!index.in_step(&store).unwrap());
        assert_eq!(committed(&index), at_setup, "no commit per chunk");
        assert_eq!(index.search(&mine, 1, 100).unwrap().total, before);
        // Ended by a catch-up (a query that may wait): committed, no replay, no rebuild.
        assert_eq!(index.catch_up_how(&store).unwrap(), CatchUp::InStep);
        assert!(index.in_step(&store).unwrap());
        assert_eq!(index.search(&mine, 1, 100).unwrap().total, before + 20);
        let (_fresh_dir, want) = fresh(&store);
        assert_eq!(rows(&index), rows(&want));
        assert_eq!(
            committed(&index),
            store.read().unwrap().invoice_seq().unwrap()
        );

        // Ended by closing the index: committed as it closes.
        load_chunk(&store, &index, &chunk(61), &[]);
        drop(index);
        let index = InvoiceIndex::open(&dir.path().join("index")).unwrap();
        assert_eq!(index.catch_up_how(&store).unwrap(), CatchUp::InStep);
        let (_fresh_dir, want) = fresh(&store);
        assert_eq!(rows(&index), rows(&want));
        assert_eq!(index.search(&mine, 1, 100).unwrap().total, before + 30);

        // Dropped before its commit: back at the last commit; a bulk load journals
        // nothing, so the catch-up rebuilds.
        load_chunk(&store, &index, &chunk(71), &[]);
        index.discard_uncommitted().unwrap();
        assert_eq!(index.applied_seq(), committed(&index));
        assert_eq!(index.search(&mine, 1, 100).unwrap().total, before + 30);
        assert_eq!(
            index.catch_up_how(&store).unwrap(),
            CatchUp::Rebuilt {
                invoices: 80,
                why: RebuildWhy::Gap
            }
        );
        let (_fresh_dir, want) = fresh(&store);
        assert_eq!(rows(&index), rows(&want));
        assert_eq!(index.search(&mine, 1, 100).unwrap().total, before + 40);
    }

    /// Group commit stages changes until its commit. A catch-up while one is staged and later
    /// commits were missed starts from the index's last commit — the staged change is
    /// dropped — and replays them all, the staged one included.
    #[test]
    fn staged_changes_not_committed_are_replayed_from_the_last_commit() {
        let (_dir, store, index) = setup();
        let index = Arc::new(index);
        let first = changed(&store, 7, |i| {
            i.selection = SelectionState::Selected {
                period: tp("202611"),
            }
        });
        put(&store, std::slice::from_ref(&first));
        index.invoices_staged(&[], std::slice::from_ref(&first), 2);
        assert_eq!(index.applied_seq(), 2);
        commits_behind_the_index(&store);
        // Commits 2..=6: invoices 7, 1, 2, 4, 5, 41, 42.
        assert_eq!(
            index.catch_up_how(&store).unwrap(),
            CatchUp::Replayed {
                commits: 5,
                invoices: 7
            }
        );
        same_as_rebuilt(&index, &store);
        // Nothing is left staged to commit twice.
        index.sync();
        same_as_rebuilt(&index, &store);
    }

    /// A group of staged changes (eight saves, staged one by one) is committed as one batch:
    /// exactly one new segment, however many indexing threads the writer has, and with the
    /// newest staged counter as its payload. A change staged after the group was taken waits
    /// for the next commit.
    #[test]
    fn a_staged_group_commits_as_one_segment() {
        let (dir, store, index) = setup();
        // The ids of the live segments (a segment whose documents were all replaced goes).
        let segments = |i: &InvoiceIndex| -> std::collections::BTreeSet<String> {
            i.reader
                .searcher()
                .segment_readers()
                .iter()
                .map(|r| r.segment_id().uuid_string())
                .collect()
        };
        let before = segments(&index);
        let mut seq = store.read().unwrap().invoice_seq().unwrap();
        for n in [1, 2, 4, 5, 7, 8, 10, 11] {
            let inv = changed(&store, n, |i| {
                i.selection = SelectionState::Selected {
                    period: tp("202611"),
                }
            });
            put(&store, std::slice::from_ref(&inv));
            seq += 1;
            index.invoices_staged(&[], std::slice::from_ref(&inv), seq);
        }
        index.sync();
        let after = segments(&index);
        assert_eq!(
            after.difference(&before).count(),
            1,
            "one segment for the group"
        );
        let (_fresh_dir, want) = fresh(&store);
        assert_eq!(rows(&index), rows(&want));
        let payload = index.index.load_metas().unwrap().payload.unwrap();
        assert_eq!(parse_payload(&payload).0, seq);
        // Nothing staged: the next sync commits nothing.
        index.sync();
        assert_eq!(segments(&index), after);
        drop(index);
        let index = InvoiceIndex::open(&dir.path().join("index")).unwrap();
        assert_eq!(index.catch_up_how(&store).unwrap(), CatchUp::InStep);
    }

    /// A commit missing from the journal (pruned, or a bulk load that writes none) makes
    /// the catch-up rebuild, still correctly.
    #[test]
    fn a_gap_in_the_journal_rebuilds() {
        let (dir, store, index) = setup();
        drop(index);
        commits_behind_the_index(&store);
        store.journal_forget(3);
        let index = InvoiceIndex::open(&dir.path().join("index")).unwrap();
        assert_eq!(
            index.catch_up_how(&store).unwrap(),
            CatchUp::Rebuilt {
                invoices: 42,
                why: RebuildWhy::Gap
            }
        );
        same_as_rebuilt(&index, &store);
    }

    /// A data file with another lineage (its contents replaced, or another store's) is
    /// never replayed into an index, not even one at the same counter.
    #[test]
    fn another_lineage_rebuilds() {
        let (dir, store, index) = setup();
        drop(index);
        commits_behind_the_index(&store);
        store.new_lineage().unwrap();
        let index = InvoiceIndex::open(&dir.path().join("index")).unwrap();
        assert!(matches!(
            index.catch_up_how(&store).unwrap(),
            CatchUp::Rebuilt {
                why: RebuildWhy::OtherLineage,
                ..
            }
        ));
        same_as_rebuilt(&index, &store);
        // In step by counter, but of another lineage: rebuilt too.
        store.new_lineage().unwrap();
        assert!(matches!(
            index.catch_up_how(&store).unwrap(),
            CatchUp::Rebuilt {
                why: RebuildWhy::OtherLineage,
                ..
            }
        ));
        assert_eq!(index.catch_up_how(&store).unwrap(), CatchUp::InStep);
    }

    /// An index ahead of the store (the store lost commits the index had: here the data
    /// file is put back as it was after its first commit) is rebuilt.
    #[test]
    fn an_index_ahead_rebuilds() {
        let (dir, store, index) = setup();
        drop(store);
        let file = dir.path().join("f.redb");
        let old = dir.path().join("old.redb");
        std::fs::copy(&file, &old).unwrap();
        let store = Store::open(&file, false).unwrap();
        commits_behind_the_index(&store);
        index.catch_up_how(&store).unwrap();
        assert_eq!(index.applied_seq(), 5);
        drop(store);
        let store = Store::open(&old, false).unwrap();
        assert_eq!(
            index.catch_up_how(&store).unwrap(),
            CatchUp::Rebuilt {
                invoices: 40,
                why: RebuildWhy::Ahead
            }
        );
        assert_eq!(index.applied_seq(), 1);
        assert_eq!(rows(&index), rows(&fresh(&store).1));
    }

    /// An index written before lineages were recorded (its payload the bare counter) is
    /// trusted when in step, records the store's lineage at once, and so is caught up by a
    /// replay after the next crash.
    #[test]
    fn an_index_without_a_lineage_adopts_the_stores() {
        let (dir, store, index) = setup();
        {
            let mut w = index.writer.lock().unwrap();
            let mut p = w.prepare_commit().unwrap();
            p.set_payload("1");
            p.commit().unwrap();
        }
        drop(index);
        let index = InvoiceIndex::open(&dir.path().join("index")).unwrap();
        assert_eq!(index.lineage(), None);
        assert_eq!(index.catch_up_how(&store).unwrap(), CatchUp::InStep);
        drop(index);
        let behind = commits_behind_the_index(&store);
        let index = InvoiceIndex::open(&dir.path().join("index")).unwrap();
        assert_eq!(index.lineage(), store.read().unwrap().lineage().unwrap());
        assert_eq!(
            index.catch_up_how(&store).unwrap(),
            CatchUp::Replayed {
                commits: behind,
                invoices: 6
            }
        );
        same_as_rebuilt(&index, &store);
    }

    #[test]
    fn payloads_round_trip() {
        assert_eq!(parse_payload(&payload(42, Some(0xabc))), (42, Some(0xabc)));
        assert_eq!(parse_payload(&payload(7, None)), (7, None));
        assert_eq!(parse_payload("7"), (7, None));
        assert_eq!(parse_payload("x y"), (0, None));
    }

    /// The 发票勾选 conditions the overlay is compared on: each of them, alone and together.
    fn overlay_filters() -> Vec<InvoiceFilter> {
        let mut out = Vec::new();
        for buyer in [Some(me()), Some(other()), None] {
            let base = InvoiceFilter {
                buyer: buyer.clone(),
                ..Default::default()
            };
            out.push(base.clone());
            for sel in [vec![0], vec![1], vec![2, 3], vec![0, 1]] {
                out.push(InvoiceFilter {
                    sel,
                    ..base.clone()
                });
            }
            out.push(InvoiceFilter {
                issued_from: Some(day(2026, 10, 5)),
                issued_to: Some(day(2026, 10, 20)),
                sel: vec![0],
                ..base.clone()
            });
            // The queries the per-day totals answer (see `cells`): issue dates, states,
            // status and kind only.
            for (from, to, sel, status, kind) in [
                (day(2026, 9, 1), day(2026, 11, 30), vec![], None, None),
                (
                    day(2026, 9, 15),
                    day(2026, 10, 15),
                    vec![0, 1],
                    Some(InvoiceStatus::Normal),
                    None,
                ),
                (day(2026, 10, 1), day(2026, 10, 31), vec![2, 3], None, None),
                (
                    day(2026, 10, 10),
                    day(2026, 12, 31),
                    vec![],
                    None,
                    Some(crate::domain::InvoiceType::Freight),
                ),
                (
                    day(2026, 10, 1),
                    day(2026, 10, 31),
                    vec![0],
                    Some(InvoiceStatus::Voided),
                    None,
                ),
            ] {
                out.push(InvoiceFilter {
                    issued_from: Some(from),
                    issued_to: Some(to),
                    sel,
                    status,
                    kind,
                    ..base.clone()
                });
            }
            out.push(InvoiceFilter {
                certified_from: Some(day(2026, 11, 1)),
                certified_to: Some(day(2026, 11, 30)),
                ..base.clone()
            });
            out.push(InvoiceFilter {
                certified_to: Some(day(2026, 11, 15)),
                ..base.clone()
            });
            out.push(InvoiceFilter {
                status: Some(InvoiceStatus::Voided),
                ..base.clone()
            });
            out.push(InvoiceFilter {
                kind: Some(crate::domain::InvoiceType::Freight),
                ..base.clone()
            });
            out.push(InvoiceFilter {
                period: Some(202611),
                ..base.clone()
            });
            out.push(InvoiceFilter {
                seller_name: Some("新销".into()),
                ..base.clone()
            });
            out.push(InvoiceFilter {
                code: Some("1100162130".into()),
                number: Some("00000007".into()),
                ..base.clone()
            });
            out.push(InvoiceFilter {
                number: Some("00000009".into()),
                ..base.clone()
            });
        }
        out
    }

    /// One change of the property test below: invoice `n` (1..=44; 41.. are new) gets
    /// variant `what`.
    fn overlay_change(store: &Store, n: u32, what: u8) -> Invoice {
        let exists = n <= 40
            || store
                .read()
                .unwrap()
                .invoice(&crate::domain::engine::tests::key(n))
                .unwrap()
                .is_some();
        let edit = |i: &mut Invoice| match what % 9 {
            0 => i.selection = SelectionState::Unselected,
            1 | 2 => {
                i.selection = SelectionState::Selected {
                    period: tp("202611"),
                }
            }
            3 => {
                i.selection = SelectionState::Confirmed {
                    period: tp("202611"),
                    batch: 1,
                    on: day(2026, 11, u32::from(what % 28) + 1),
                }
            }
            4 => {
                i.selection = SelectionState::Scanned {
                    period: tp("202610"),
                    on: day(2026, 10, 30),
                }
            }
            5 => i.status = InvoiceStatus::Voided,
            6 => i.kind = crate::domain::InvoiceType::Freight,
            // Another month: another scope term (an invoice's issue date never changes once
            // stored, see `Tx::put_invoices`: only a new one's).
            7 if !exists => i.issued_on = day(2026, 9, u32::from(what % 28) + 1),
            7 => i.amount = crate::domain::Fen::new(i64::from(what) * 100 + 1),
            _ => i.seller_name = "新销方".into(),
        };
        if exists {
            changed(store, n, edit)
        } else {
            let mut inv = invoice(n, me(), day(2026, 10, n % 28 + 1));
            edit(&mut inv);
            inv
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 12, .. proptest::prelude::ProptestConfig::default()
        })]

        /// With index commits deferred, every query answers as an index rebuilt from the
        /// store and visiting every match does — count, totals and every page, this index
        /// answering from its per-day totals where it can — after each group's flush (changes
        /// seen through the overlay), after a commit of the ready changes, and after a
        /// non-grouped commit; an invoice changed again before the commit counts once. The
        /// index ends as a rebuilt one, its counter the store's.
        #[test]
        fn the_overlay_answers_as_a_rebuilt_index(
            groups in proptest::collection::vec(
                (proptest::collection::vec((1u32..=44, 0u8..=255), 1..5), 0u8..4),
                1..6,
            )
        ) {
            let (_dir, store, index) = setup();
            index.defer_commits();
            let mut seq = store.read().unwrap().invoice_seq().unwrap();
            for (changes, then) in groups {
                for (n, what) in changes {
                    let existed = store
                        .read()
                        .unwrap()
                        .invoice(&crate::domain::engine::tests::key(n))
                        .unwrap()
                        .is_some();
                    let inv = overlay_change(&store, n, what);
                    put(&store, std::slice::from_ref(&inv));
                    seq += 1;
                    if existed {
                        index.invoices_staged(&[], std::slice::from_ref(&inv), seq);
                    } else {
                        index.invoices_staged(std::slice::from_ref(&inv), &[], seq);
                    }
                }
                index.sync();
                match then {
                    0 => { index.commit_ready().unwrap(); }
                    1 => {
                        // A non-grouped change commits everything with it.
                        let inv = changed(&store, 3, |i| i.amount = crate::domain::Fen::new(77));
                        put(&store, std::slice::from_ref(&inv));
                        seq += 1;
                        index.invoices_changed(&[], std::slice::from_ref(&inv), seq);
                    }
                    _ => {}
                }
                let (_fresh_dir, want) = fresh(&store);
                // The rebuilt index visits every match; this one answers what it can from
                // its per-day totals.
                want.set_totals_from_cells(false);
                for f in overlay_filters() {
                    for (page, per) in [(1, 7), (2, 7), (3, 7), (1, 100), (9, 7)] {
                        proptest::prop_assert_eq!(
                            index.search(&f, page, per).unwrap(),
                            want.search(&f, page, per).unwrap(),
                            "{:?} page {} of {}", f, page, per
                        );
                    }
                }
            }
            same_as_rebuilt_any(&index, &store);
        }
    }

    /// A query of issue dates and states is answered from the per-day totals, kept while
    /// the segment's deletions stay the same and computed again when they grow; with them
    /// switched off nothing is kept.
    #[test]
    fn per_day_totals_are_used_and_follow_deletions() {
        let (_dir, store, index) = setup();
        // (A merge would take the segment whose deletions are followed away.)
        index.no_merges();
        let f = InvoiceFilter {
            buyer: Some(me()),
            issued_from: Some(day(2026, 9, 1)),
            issued_to: Some(day(2026, 10, 31)),
            sel: vec![0, 1],
            ..Default::default()
        };
        let kept = |index: &InvoiceIndex| -> Vec<(u32, usize)> {
            let m = index.cells.lock_for_tests();
            let mut v: Vec<(u32, usize)> = m.values().map(|s| (s.0, s.1)).collect();
            v.sort_unstable();
            v
        };
        index.set_totals_from_cells(false);
        let scanned = index.search(&f, 2, 5).unwrap();
        assert!(kept(&index).is_empty());
        index.set_totals_from_cells(true);
        assert_eq!(index.search(&f, 2, 5).unwrap(), scanned);
        // Each segment without deletions, with the four terms (two months, two states).
        let before = kept(&index);
        assert!(!before.is_empty());
        assert!(before.iter().all(|s| *s == (0, 4)), "{before:?}");
        // An invoice of this buyer in a segment that keeps other documents (a segment whose
        // every document is deleted goes; which invoices share a segment varies with the
        // indexing threads).
        let (searcher, _) = index.view().unwrap();
        let n = (1..=40)
            .filter(|n| n % 3 != 0)
            .find(|n| {
                let key = crate::domain::engine::tests::key(*n);
                let inv = store.read().unwrap().invoice(&key).unwrap().unwrap();
                let at = crate::index::keys::locate(&searcher, crate::index::at_of(&inv)).unwrap();
                searcher.segment_reader(at.segment_ord).num_docs() > 1
            })
            .unwrap();
        drop(searcher);
        select_in_own_commit(&store, &index, n);
        let kept_terms = |index: &InvoiceIndex| -> usize {
            index.cells.lock_for_tests().values().map(|s| s.1).sum()
        };
        let computed = kept_terms(&index);
        let after = index.search(&f, 1, 100).unwrap();
        index.set_totals_from_cells(false);
        assert_eq!(index.search(&f, 1, 100).unwrap(), after);
        assert_eq!(after.total, scanned.total);
        // The segment that held the old version has one deletion now; a new segment.
        let now = kept(&index);
        assert_eq!(now.len(), before.len() + 1, "{now:?}");
        assert_eq!(now.iter().filter(|s| **s == (1, 4)).count(), 1, "{now:?}");
        assert_eq!(kept_terms(&index), computed + 4);
    }

    /// A page answered from the per-day totals reads each segment's newest documents of the
    /// buyer, no older than the page needs, and keeps their days listed in the page's order
    /// (see [`super::super::days`]): asked again, it reads about the page itself. The page
    /// is the one collecting every document gives, also with deletions in a segment.
    #[test]
    fn a_page_reads_only_the_newest_documents_it_needs() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("f.redb"), false).unwrap();
        let all: Vec<Invoice> = (1..=2000)
            .map(|n| invoice(n, me(), day(2026, 10, n % 30 + 1)))
            .collect();
        put(&store, &all);
        let index = InvoiceIndex::open(&dir.path().join("index")).unwrap();
        index.catch_up(&store).unwrap();
        index.no_merges();
        for n in [3, 17, 250, 1999] {
            select_in_own_commit(&store, &index, n);
        }
        let segments = index.segment_count() as u64;
        for sel in [vec![0, 1], vec![0]] {
            let f = InvoiceFilter {
                buyer: Some(me()),
                issued_from: Some(day(2026, 9, 1)),
                issued_to: Some(day(2026, 10, 31)),
                sel,
                ..Default::default()
            };
            for (page, per) in [(1, 10), (2, 10), (1, 50), (3, 100)] {
                let (fast, read) = index.search_reading(&f, page, per).unwrap();
                index.set_totals_from_cells(false);
                let (full, read_all) = index.search_reading(&f, page, per).unwrap();
                index.set_totals_from_cells(true);
                assert_eq!(fast, full, "page {page} of {per}");
                assert_eq!(full.keys.len(), per);
                assert!(read_all >= 1996, "{read_all}");
                // Per segment: the page, the rest of its last day (67 a day) and the rest
                // of a block of 64.
                let bound = segments * (page * per) as u64 + segments * (67 + 64);
                assert!(
                    read <= bound && read * 3 < read_all,
                    "page {page} of {per}: read {read} of {read_all} ({segments} segments)"
                );
                // Asked again, the days are listed already: each segment reads its part of
                // the page in order, and the 4 documents the selections deleted at most.
                let (again, read_again) = index.search_reading(&f, page, per).unwrap();
                assert_eq!(again, full);
                assert!(
                    read_again <= segments * (page * per) as u64 + 4,
                    "page {page} of {per} again: read {read_again} ({segments} segments)"
                );
            }
        }
        // The lists of segments merged away are dropped, and no longer counted towards the
        // cache's bound.
        let (counted, listed) = index.days.counted_and_listed();
        assert!(
            listed > 0 && counted == listed,
            "{counted} counted, {listed} listed"
        );
        assert!(index.compact().unwrap() > 0);
        let f = InvoiceFilter {
            buyer: Some(me()),
            issued_from: Some(day(2026, 9, 1)),
            issued_to: Some(day(2026, 10, 31)),
            ..Default::default()
        };
        index.search(&f, 1, 10).unwrap();
        let (counted, listed) = index.days.counted_and_listed();
        assert!(
            listed > 0 && counted == listed,
            "{counted} counted, {listed} listed"
        );
    }

    /// The index holds what a rebuilt one does once its ready changes are committed.
    /// A bulk load ends with its segments packed: the small segments of many commits merge
    /// into one (all of them fit under the cap), queries move onto it, and every answer —
    /// totals and pages — stays what it was.
    #[test]
    fn compaction_packs_the_segments_and_changes_no_answer() {
        let (_dir, store, index) = setup();
        index.no_merges();
        for n in [1, 2, 4, 5, 7] {
            select_in_own_commit(&store, &index, n);
        }
        let before = index.segment_count();
        assert!(before >= 5, "{before} segments");
        let answers = |index: &InvoiceIndex| -> Vec<crate::index::SearchPage> {
            overlay_filters()
                .iter()
                .flat_map(|f| {
                    [(1, 7), (2, 7), (1, 100)].map(|(p, k)| index.search(f, p, k).unwrap())
                })
                .collect()
        };
        let was = answers(&index);
        assert_eq!(index.compact().unwrap(), before - 1);
        assert_eq!(index.segment_count(), 1);
        assert_eq!(answers(&index), was);
        same_as_rebuilt_any(&index, &store);
        // Nothing left to pack: a second compaction merges nothing.
        assert_eq!(index.compact().unwrap(), 0);
    }

    /// A compaction that finds its segments already being merged by the writer's policy
    /// waits for that merge and leaves the searcher on its outcome, though it merged
    /// nothing itself: queries visit the segments the index has, not the ones it had.
    #[test]
    fn compaction_moves_the_searcher_onto_a_merge_it_waited_for() {
        let (_dir, store, index) = setup();
        index.no_merges();
        for n in [1, 2, 4] {
            select_in_own_commit(&store, &index, n);
        }
        let ids = index.index.searchable_segment_ids().unwrap();
        assert!(ids.len() >= 4, "{} segments", ids.len());
        // A merge of them all, running in the background as the policy's would.
        let running = index.writer.lock().unwrap().merge(&ids);
        index.compact().unwrap();
        assert_eq!(index.segment_count(), 1);
        assert_eq!(index.index.searchable_segment_ids().unwrap().len(), 1);
        drop(running);
        same_as_rebuilt_any(&index, &store);
    }

    /// The packing that ends a bulk load merges past the writer's own merge cap, up to the
    /// packing cap: fewer segments for every query to visit, none larger than the cap.
    #[test]
    fn compaction_packs_segments_past_the_writers_merge_cap() {
        let (_dir, store, index) = setup();
        index.set_merge_caps(4, 12);
        for n in 1..=30 {
            select_in_own_commit(&store, &index, n);
        }
        index.compact().unwrap();
        let live: Vec<u32> = index
            .index
            .searchable_segment_metas()
            .unwrap()
            .iter()
            .map(|m| m.num_docs())
            .collect();
        assert_eq!(live.iter().sum::<u32>(), 40, "{live:?}");
        assert!(live.iter().all(|n| *n <= 12), "{live:?}");
        // Under the writer's cap alone, no segment would hold more than 4 of the 40.
        assert!(live.iter().any(|n| *n > 4), "{live:?}");
        assert!(live.len() <= 5, "{live:?}");
        assert_eq!(index.segment_count(), live.len());
        same_as_rebuilt_any(&index, &store);
    }

    fn same_as_rebuilt_any(index: &InvoiceIndex, store: &Store) {
        let (_dir, want) = fresh(store);
        assert_eq!(rows(index), rows(&want));
        assert_eq!(
            index.applied_seq(),
            store.read().unwrap().invoice_seq().unwrap()
        );
    }

    /// The committer thread commits ready changes on its own, soon after a group's flush:
    /// the index's commit then records the group's counter and holds the change; and an
    /// index closed with changes still ready commits them as it closes (reopened, it is in
    /// step without a replay).
    #[test]
    fn ready_changes_are_committed_in_the_background_and_at_close() {
        let (dir, store, index) = setup();
        let index = Arc::new(index);
        index
            .start_committer(std::time::Duration::from_millis(20))
            .unwrap();
        let mut seq = store.read().unwrap().invoice_seq().unwrap();
        let select = |n| {
            changed(&store, n, |i| {
                i.selection = SelectionState::Selected {
                    period: tp("202611"),
                }
            })
        };
        let inv = select(1);
        put(&store, std::slice::from_ref(&inv));
        seq += 1;
        index.invoices_staged(&[], std::slice::from_ref(&inv), seq);
        index.sync();
        let selected = InvoiceFilter {
            buyer: Some(me()),
            sel: vec![1],
            ..Default::default()
        };
        // Seen at once, through the overlay.
        assert_eq!(index.search(&selected, 1, 10).unwrap().total, 1);
        let waited = std::time::Instant::now();
        while committed(&index) != seq {
            assert!(waited.elapsed() < std::time::Duration::from_secs(10));
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(index.search(&selected, 1, 10).unwrap().total, 1);
        // Closed with a change ready: committed as it closes.
        let inv = select(2);
        put(&store, std::slice::from_ref(&inv));
        seq += 1;
        index.invoices_staged(&[], std::slice::from_ref(&inv), seq);
        index.sync();
        drop(index);
        let index = InvoiceIndex::open(&dir.path().join("index")).unwrap();
        assert_eq!(committed(&index), seq);
        assert_eq!(index.catch_up_how(&store).unwrap(), CatchUp::InStep);
        assert_eq!(index.search(&selected, 1, 10).unwrap().total, 2);
    }

    /// An index still open elsewhere in the process (its writer's lock taken) is waited for
    /// when opened again, not re-created: the documents and the counter are kept.
    #[test]
    fn an_index_still_open_elsewhere_is_waited_for_not_recreated() {
        let (dir, store, index) = setup();
        let seq = index.applied_seq();
        let holder = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(index);
        });
        let again = InvoiceIndex::open(&dir.path().join("index")).unwrap();
        holder.join().unwrap();
        assert_eq!(again.doc_count(), 40);
        assert_eq!(again.applied_seq(), seq);
        assert_eq!(again.catch_up_how(&store).unwrap(), CatchUp::InStep);
    }
}
