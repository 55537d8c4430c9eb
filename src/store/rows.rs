//! The decoded invoices of recent pages, kept in memory in front of redb.
//!
//! A page of 发票勾选 shows 50 invoices; reading and decoding them from redb was about a fifth
//! of a page's server time under load (see `docs/benchmarks.md`), and the same pages are asked
//! for again and again. A cache is only correct if no reader can put back a row a commit has
//! just replaced: the store counts its invoice-changing commits (the generation), and every
//! commit that changes invoices first counts itself, then removes their rows. A reader notes the
//! generation before its read transaction begins and, having offered a row read in it, takes it
//! out again if the generation has moved since — so a row from before a commit is either
//! removed by that commit or by its own reader.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::domain::Invoice;

/// How many decoded invoices are kept (a few hundred bytes each: tens of megabytes).
pub(super) const CAPACITY: usize = 100_000;

pub(super) struct RowCache {
    rows: quick_cache::sync::Cache<u128, Arc<Invoice>>,
    generation: AtomicU64,
    /// Rows asked for since start: found here, and read from redb.
    hits: AtomicU64,
    misses: AtomicU64,
}

impl RowCache {
    pub(super) fn new(capacity: usize) -> RowCache {
        RowCache {
            rows: quick_cache::sync::Cache::new(capacity.max(1)),
            generation: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The generation to note before a read transaction begins.
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub(super) fn get(&self, key: u128) -> Option<Arc<Invoice>> {
        let found = self.rows.get(&key);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Rows found here and rows read from redb since start.
    pub(super) fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    /// Keeps `row`, read in a transaction begun at generation `read_at`, unless a commit that
    /// changed invoices has come since (then the row may be older than the stored one).
    pub(super) fn offer(&self, read_at: u64, key: u128, row: Arc<Invoice>) {
        self.rows.insert(key, row);
        if self.generation.load(Ordering::SeqCst) != read_at {
            self.rows.remove(&key);
        }
    }

    /// After a commit that changed the invoices `keys`: counts it, then forgets their rows.
    pub(super) fn forget(&self, keys: impl Iterator<Item = u128>) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        for k in keys {
            self.rows.remove(&k);
        }
    }

    /// After a commit that replaced every table (a training snapshot restored).
    pub(super) fn forget_all(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.rows.clear();
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.rows.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::engine::tests::{at, day, invoice, key, me, tp};
    use crate::domain::SelectionState;
    use crate::store::{Store, Who};

    fn row(n: u32) -> Arc<Invoice> {
        Arc::new(invoice(n, me(), day(2026, 11, 1)))
    }

    #[test]
    fn a_row_read_before_a_commit_is_not_kept_after_it() {
        let c = RowCache::new(10);
        let before = c.generation();
        // A commit changes invoice 1 while a reader holds its old row.
        c.forget([key(1).to_u128()].into_iter());
        c.offer(before, key(1).to_u128(), row(1));
        assert!(c.get(key(1).to_u128()).is_none());
        // A row read after the commit is kept, until a commit that changes it.
        let now = c.generation();
        c.offer(now, key(1).to_u128(), row(1));
        assert!(c.get(key(1).to_u128()).is_some());
        c.forget([key(2).to_u128()].into_iter());
        assert!(c.get(key(1).to_u128()).is_some());
        c.forget([key(1).to_u128()].into_iter());
        assert!(c.get(key(1).to_u128()).is_none());
        // A restore forgets every row.
        let now = c.generation();
        c.offer(now, key(3).to_u128(), row(3));
        c.forget_all();
        assert_eq!(c.len(), 0);
    }

    /// A page's rows come from memory once read, and a commit that changes one of them is
    /// shown by the next page (the row is read again); unknown keys are left out.
    #[test]
    fn page_rows_show_every_committed_change() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("f.redb"), false).unwrap();
        let who = Who::system("test", at(2026, 11, 23, 10, 0, 0));
        let put = |invoices: &[Invoice]| {
            store
                .write(&who, |tx| {
                    tx.put_invoices(invoices)?;
                    tx.audit("test.put", "", "");
                    Ok(())
                })
                .unwrap();
        };
        let all: Vec<Invoice> = (1..=3).map(|n| (*row(n)).clone()).collect();
        put(&all);
        let keys = [key(3), key(9), key(1), key(2)];
        assert_eq!(store.row_cache_counts(), (0, 0));
        assert_eq!(
            store.page_rows(&keys).unwrap(),
            vec![all[2].clone(), all[0].clone(), all[1].clone()]
        );
        assert_eq!(store.rows.len(), 3);
        assert_eq!(store.row_cache_counts(), (0, 4));
        let mut changed = all[1].clone();
        changed.selection = SelectionState::Selected {
            period: tp("202611"),
        };
        put(std::slice::from_ref(&changed));
        assert_eq!(store.rows.len(), 2);
        // Two rows still here; invoice 2 (changed) and 9 (unknown) read again.
        assert_eq!(
            store.page_rows(&keys).unwrap(),
            vec![all[2].clone(), all[0].clone(), changed.clone()]
        );
        assert_eq!(store.row_cache_counts(), (2, 6));
        assert_eq!(store.page_rows(&keys).unwrap()[2], changed);
        assert_eq!(store.row_cache_counts(), (5, 7));
        // New invoices are shown too.
        let new = (*row(9)).clone();
        put(std::slice::from_ref(&new));
        assert_eq!(store.page_rows(&keys).unwrap().len(), 4);
        // A snapshot taken now, a change, the snapshot restored: the rows are its own.
        let snap = dir.path().join("s.fapiao-backup");
        store
            .backup_to(&snap, at(2026, 11, 23, 11, 0, 0), &|_, _| {})
            .unwrap();
        let mut again = changed.clone();
        again.selection = SelectionState::Unselected;
        put(std::slice::from_ref(&again));
        assert_eq!(store.page_rows(&keys).unwrap()[3], again);
        let (_, slice) = crate::store::backup::open(&snap).unwrap();
        store
            .replace_with(slice, &who, "snapshot.restore", "s", String::new())
            .unwrap();
        assert_eq!(store.page_rows(&keys).unwrap()[3], changed);
    }
}
