//! Changes that are durable in the store but not yet in an index commit, as queries see them.
//!
//! A group-committed change (a selection save) is answered once the store's durable flush
//! covers it; the index commits such changes later, many at a time (see
//! [`InvoiceIndex::start_committer`](super::InvoiceIndex::start_committer)). Until then each
//! changed invoice is an [`Entry`] here: its new version, and where its version of the last
//! index commit sits among the searcher's documents. A query leaves that document out of its
//! count, totals and page and tests the new version itself — so it answers exactly as it will
//! once the change is committed.
//!
//! An overlay belongs to one searcher (the document addresses are that searcher's): when the
//! reader moves on to a new commit, [`Overlay::settle`] drops what the commit holds and finds
//! the rest again.

use std::collections::HashMap;
use std::sync::Arc;

use tantivy::{DocAddress, DocId, Searcher};

use super::keys::{locate, At};
use crate::domain::{Invoice, InvoiceKey};

/// One changed invoice.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    /// The store's invoice change counter of the change (an index commit recording this
    /// counter or a later one holds it).
    pub seq: u64,
    pub inv: Arc<Invoice>,
    /// The invoice's document in the searcher, if it has one (a new invoice has none).
    pub old: Option<DocAddress>,
}

#[derive(Debug, Clone, Default)]
pub(super) struct Overlay {
    by_key: HashMap<InvoiceKey, Entry>,
    /// The `old` documents by segment ordinal, each list sorted: what collectors skip.
    excluded: HashMap<u32, Vec<DocId>>,
}

impl Overlay {
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.by_key.values()
    }

    /// The sorted documents of segment `ord` that the overlay replaces.
    pub fn excluded(&self) -> &HashMap<u32, Vec<DocId>> {
        &self.excluded
    }

    /// Records `inv`'s new version, changed by commit `seq`; `at` is where its documents
    /// are (see [`super::keys`]).
    pub fn put(&mut self, searcher: &Searcher, at: At, seq: u64, inv: Invoice) {
        let key = inv.key.clone();
        let inv = Arc::new(inv);
        if let Some(e) = self.by_key.get_mut(&key) {
            // The searcher is the same: so is the committed document.
            e.seq = seq;
            e.inv = inv;
            return;
        }
        let old = locate(searcher, at);
        if let Some(a) = old {
            let docs = self.excluded.entry(a.segment_ord).or_default();
            if let Err(at) = docs.binary_search(&a.doc_id) {
                docs.insert(at, a.doc_id);
            }
        }
        self.by_key.insert(key, Entry { seq, inv, old });
    }

    /// Moves the overlay onto `searcher`, whose commit holds every change up to counter
    /// `through`: those entries go, the others' documents are found again.
    pub fn settle(&mut self, searcher: &Searcher, through: u64, at_of: impl Fn(&Invoice) -> At) {
        self.by_key.retain(|_, e| e.seq > through);
        self.excluded.clear();
        for e in self.by_key.values_mut() {
            e.old = locate(searcher, at_of(&e.inv));
            if let Some(a) = e.old {
                self.excluded
                    .entry(a.segment_ord)
                    .or_default()
                    .push(a.doc_id);
            }
        }
        for docs in self.excluded.values_mut() {
            docs.sort_unstable();
            docs.dedup();
        }
    }
}
