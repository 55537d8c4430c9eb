//! The index journal: for each commit that changed invoices, the keys of the invoices it
//! added or changed, under the invoice change counter the commit set. An index a few commits
//! behind the store (the process stopped between a redb commit and the index's own) is
//! brought in step by re-reading only those invoices ([`IndexJournalReads::journal_span`])
//! instead of being rebuilt from every invoice.
//!
//! The journal is written in the transaction that bumps the counter
//! ([`record`], called by `Store::write_staged`), so it is exactly as durable as the change
//! it describes. It is bounded: the newest [`KEEP`] commits are kept, and a commit changing
//! more than [`MAX_KEYS`] invoices, or written by a bulk load (`Store::write_bulk`: the demo,
//! the benches; its commits are not flushed one by one either), writes no entry — it leaves a
//! gap, and an index behind it is rebuilt, which is then about as cheap anyway.
//!
//! Counter values only mean something within one history of the data file: the `meta` key
//! `lineage` names that history (a random number, chosen when a data file without one is
//! opened for writing and again whenever the file's contents are replaced by another's — a
//! training snapshot, a restore). The index records the lineage with its counter and replays
//! the journal only for its own lineage.

use std::collections::BTreeSet;

use redb::{ReadableTable, WriteTransaction};

use super::{Tables, INDEX_JOURNAL, META};
use crate::domain::{Invoice, InvoiceKey};
use crate::error::AppResult;

/// Commits kept in the journal.
pub const KEEP: u64 = 20_000;
/// A commit that adds or changes more invoices than this records no entry.
pub const MAX_KEYS: usize = 200_000;
/// The encoding's version byte (then the keys, ascending, as LEB128 deltas).
const VERSION: u8 = 1;
/// Key in `meta` of the data file's lineage (a little-endian `u64`).
pub(in crate::store) const LINEAGE: &str = "lineage";

/// The keys changed by a run of commits, or why they are not all known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalSpan {
    /// Every commit of the run is journalled: the invoices they touched, each once, in key
    /// order, and how many commits that was.
    Keys { commits: u64, keys: Vec<InvoiceKey> },
    /// A commit of the run has no entry (pruned, a bulk load, or written before the journal
    /// existed) or an unreadable one.
    Gap { missing: u64 },
    /// More than the limit of distinct invoices.
    TooMany,
}

/// Getters of the index journal, on a [`Reader`](crate::store::Reader) or a
/// [`Tx`](crate::store::Tx).
pub trait IndexJournalReads: Tables {
    /// The data file's lineage (`None` for a file never opened for writing by a version that
    /// keeps one).
    fn lineage(&self) -> AppResult<Option<u64>> {
        let t = self.table(META)?;
        let v = t.get(LINEAGE)?;
        Ok(v.and_then(|g| <[u8; 8]>::try_from(g.value()).ok().map(u64::from_le_bytes)))
    }

    /// The invoices changed by the commits after counter `after` up to and including
    /// `through`, each once — or [`JournalSpan::Gap`] when one of those commits is not in
    /// the journal, or [`JournalSpan::TooMany`] past `limit` distinct invoices.
    fn journal_span(&self, after: u64, through: u64, limit: usize) -> AppResult<JournalSpan> {
        if through <= after {
            return Ok(JournalSpan::Keys {
                commits: 0,
                keys: Vec::new(),
            });
        }
        let t = self.table(INDEX_JOURNAL)?;
        let mut keys = BTreeSet::new();
        let mut next = after + 1;
        for row in t.range(after + 1..=through)? {
            let (k, v) = row?;
            if k.value() != next {
                break;
            }
            if !decode_into(v.value(), &mut keys) {
                break;
            }
            if keys.len() > limit {
                return Ok(JournalSpan::TooMany);
            }
            next += 1;
        }
        if next <= through {
            return Ok(JournalSpan::Gap { missing: next });
        }
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            match InvoiceKey::from_u128(k) {
                Some(key) => out.push(key),
                None => return Ok(JournalSpan::Gap { missing: after + 1 }),
            }
        }
        Ok(JournalSpan::Keys {
            commits: through - after,
            keys: out,
        })
    }
}

impl<T: Tables> IndexJournalReads for T {}

/// Records that commit `seq` added `new` and changed `updated` (in the commit's own write
/// transaction) unless it is a `bulk` load's, and drops the entries older than [`KEEP`]
/// commits.
pub(in crate::store) fn record(
    txn: &WriteTransaction,
    seq: u64,
    new: &[Invoice],
    updated: &[Invoice],
    bulk: bool,
) -> AppResult<()> {
    let mut t = txn.open_table(INDEX_JOURNAL)?;
    if let Some(floor) = seq.checked_sub(KEEP) {
        t.retain_in(..=floor, |_, _| false)?;
    }
    if !bulk && new.len() + updated.len() <= MAX_KEYS {
        let mut keys: Vec<u128> = new.iter().chain(updated).map(|i| i.key.to_u128()).collect();
        keys.sort_unstable();
        keys.dedup();
        t.insert(seq, encode(&keys).as_slice())?;
    }
    Ok(())
}

/// A new random lineage for the data file (see the module's documentation).
pub(in crate::store) fn new_lineage(txn: &WriteTransaction) -> AppResult<()> {
    let mut meta = txn.open_table(META)?;
    meta.insert(LINEAGE, rand::random::<u64>().to_le_bytes().as_slice())?;
    Ok(())
}

/// Gives the data file a lineage when it has none.
pub(in crate::store) fn ensure_lineage(txn: &WriteTransaction) -> AppResult<()> {
    let missing = txn.open_table(META)?.get(LINEAGE)?.is_none();
    if missing {
        new_lineage(txn)?;
    }
    Ok(())
}

/// Sorted, distinct keys as the version byte and LEB128 deltas (a few bytes a key when
/// keys are close, at most 19).
fn encode(sorted: &[u128]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + sorted.len() * 8);
    out.push(VERSION);
    let mut prev = 0u128;
    for &k in sorted {
        let mut d = k - prev;
        prev = k;
        loop {
            let byte = (d & 0x7f) as u8;
            d >>= 7;
            if d == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
    }
    out
}

/// Adds the keys of an entry to `into`; false when the entry is not readable.
fn decode_into(bytes: &[u8], into: &mut BTreeSet<u128>) -> bool {
    let Some((&VERSION, mut rest)) = bytes.split_first() else {
        return false;
    };
    let mut prev = 0u128;
    while !rest.is_empty() {
        let mut d = 0u128;
        let mut shift = 0u32;
        loop {
            let Some((&b, tail)) = rest.split_first() else {
                return false;
            };
            rest = tail;
            if shift > 126 {
                return false;
            }
            d |= u128::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        let Some(k) = prev.checked_add(d) else {
            return false;
        };
        prev = k;
        into.insert(k);
    }
    true
}

/// Test hook: removes commit `seq`'s entry, as pruning would.
#[cfg(test)]
impl crate::store::Store {
    pub(crate) fn journal_forget(&self, seq: u64) {
        let txn = self.db.begin_write().unwrap();
        txn.open_table(INDEX_JOURNAL).unwrap().remove(seq).unwrap();
        txn.commit().unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::engine::tests::{at, day, invoice, key, me};
    use crate::store::prelude::*;
    use crate::store::{Store, Who};

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("f.redb"), false).unwrap();
        (dir, store)
    }

    fn put(store: &Store, invoices: &[Invoice]) {
        let who = Who::system("test", at(2026, 11, 23, 10, 0, 0));
        store
            .write(&who, |tx| {
                tx.put_invoices(invoices)?;
                tx.audit("test.put", "", "");
                Ok(())
            })
            .unwrap();
    }

    fn keys(span: JournalSpan) -> Vec<u32> {
        match span {
            JournalSpan::Keys { keys, .. } => {
                keys.iter().map(|k| k.number().parse().unwrap()).collect()
            }
            other => panic!("{other:?}"),
        }
    }

    /// Each commit that changes invoices journals the new and the changed ones under the
    /// counter it sets; a run of commits reads back each invoice once.
    #[test]
    fn commits_journal_their_invoices() {
        let (_dir, store) = store();
        let inv = |n| invoice(n, me(), day(2026, 11, 1));
        put(&store, &[inv(3), inv(1), inv(2)]);
        let mut two = inv(2);
        two.amount = crate::domain::Fen::new(1);
        put(&store, &[two, inv(4)]);
        // A write that changes no invoice journals nothing and keeps the counter.
        let who = Who::system("test", at(2026, 11, 23, 10, 0, 0));
        store
            .write(&who, |tx| {
                tx.put_setting("x", &1u32)?;
                tx.audit("test.setting", "", "");
                Ok(())
            })
            .unwrap();
        let r = store.read().unwrap();
        assert_eq!(r.invoice_seq().unwrap(), 2);
        assert!(r.lineage().unwrap().is_some());
        assert_eq!(keys(r.journal_span(0, 1, 100).unwrap()), [1, 2, 3]);
        assert_eq!(keys(r.journal_span(1, 2, 100).unwrap()), [2, 4]);
        assert_eq!(
            r.journal_span(0, 2, 100).unwrap(),
            JournalSpan::Keys {
                commits: 2,
                keys: vec![key(1), key(2), key(3), key(4)]
            }
        );
        assert_eq!(keys(r.journal_span(2, 2, 100).unwrap()), Vec::<u32>::new());
        assert_eq!(r.journal_span(0, 2, 3).unwrap(), JournalSpan::TooMany);
        // Past the newest commit, or with one removed: a gap.
        assert_eq!(
            r.journal_span(1, 3, 100).unwrap(),
            JournalSpan::Gap { missing: 3 }
        );
        drop(r);
        store.journal_forget(1);
        let r = store.read().unwrap();
        assert_eq!(
            r.journal_span(0, 2, 100).unwrap(),
            JournalSpan::Gap { missing: 1 }
        );
        assert_eq!(keys(r.journal_span(1, 2, 100).unwrap()), [2, 4]);
    }

    /// A bulk load's commit (`write_bulk`) bumps the counter but journals nothing: a gap.
    #[test]
    fn a_bulk_commit_leaves_a_gap() {
        let (_dir, store) = store();
        let inv = |n| invoice(n, me(), day(2026, 11, 1));
        put(&store, &[inv(1)]);
        let who = Who::system("test", at(2026, 11, 23, 10, 0, 0));
        store
            .write_bulk(&who, |tx| {
                tx.put_invoices(&[inv(2)])?;
                tx.audit("test.put", "", "");
                Ok(())
            })
            .unwrap();
        store.flush().unwrap();
        let r = store.read().unwrap();
        assert_eq!(r.invoice_seq().unwrap(), 2);
        assert_eq!(keys(r.journal_span(0, 1, 100).unwrap()), [1]);
        assert_eq!(
            r.journal_span(1, 2, 100).unwrap(),
            JournalSpan::Gap { missing: 2 }
        );
    }

    /// The journal keeps the newest `KEEP` commits, and a large or bulk commit leaves a gap.
    #[test]
    fn the_journal_is_bounded() {
        let (_dir, store) = store();
        let one = [invoice(1, me(), day(2026, 11, 1))];
        let txn = store.db.begin_write().unwrap();
        for seq in 1..=5 {
            record(&txn, seq, &one, &[], false).unwrap();
        }
        let seqs = |txn: &WriteTransaction| -> Vec<u64> {
            let t = txn.open_table(INDEX_JOURNAL).unwrap();
            let out = t.iter().unwrap().map(|r| r.unwrap().0.value()).collect();
            out
        };
        record(&txn, KEEP + 3, &one, &[], false).unwrap();
        assert_eq!(seqs(&txn), [4, 5, KEEP + 3]);
        let bulk = vec![one[0].clone(); MAX_KEYS + 1];
        record(&txn, KEEP + 4, &bulk, &[], false).unwrap();
        assert_eq!(seqs(&txn), [5, KEEP + 3]);
        record(&txn, KEEP + 5, &[], &bulk[..MAX_KEYS], false).unwrap();
        assert_eq!(seqs(&txn), [KEEP + 3, KEEP + 5]);
        // A bulk load's commit of one invoice leaves a gap too.
        record(&txn, KEEP + 6, &one, &[], true).unwrap();
        assert_eq!(seqs(&txn), [KEEP + 3, KEEP + 5]);
    }

    #[test]
    fn entries_round_trip() {
        let keys = [0u128, 1, 2, 300, 1 << 70, u128::MAX];
        let bytes = encode(&keys);
        let mut back = BTreeSet::new();
        assert!(decode_into(&bytes, &mut back));
        assert_eq!(back.into_iter().collect::<Vec<_>>(), keys);
        let mut none = BTreeSet::new();
        assert!(decode_into(&encode(&[]), &mut none));
        assert!(none.is_empty());
        // Truncated, unknown version, overlong: unreadable, never a panic.
        assert!(!decode_into(
            &bytes[..bytes.len() - 1],
            &mut BTreeSet::new()
        ));
        assert!(!decode_into(&[2, 1], &mut BTreeSet::new()));
        assert!(!decode_into(&[], &mut BTreeSet::new()));
        assert!(!decode_into(
            &[
                VERSION, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
            ],
            &mut BTreeSet::new()
        ));
    }
}
