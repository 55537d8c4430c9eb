//! Finding an invoice's documents by columns every document has, without a term of its own.
//!
//! A unique term per invoice (its code and number) was the largest single cost of building
//! the index: ten million distinct terms, each with a dictionary entry and a posting list of
//! one document, written when a segment is flushed and again at every merge. Deletes and the
//! overlay are the only readers of such a term, and they know the whole invoice. So a
//! document is found through its columns instead: segments keep their documents sorted by
//! `cluster` (the buyer's hash and the issue day, neither of which an invoice ever changes),
//! a binary search finds the run of that buyer's documents of that day, and the `code` and
//! `number` columns (which together give the key back, see [`super::key_pair`]) pick the
//! invoice out of the run.

use std::sync::Arc;

use tantivy::query::{ConstScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{
    DocAddress, DocId, DocSet, Score, Searcher, SegmentReader, TantivyError, TERMINATED,
};

/// Where an invoice's documents are: its `cluster`, `code` and `number` column values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct At {
    pub cluster: u64,
    pub code: u64,
    pub number: u64,
}

/// The documents of the invoices at `keys` in one segment, deleted ones included, sorted.
pub(super) fn docs_of(reader: &SegmentReader, keys: &[At]) -> tantivy::Result<Vec<DocId>> {
    let ff = reader.fast_fields();
    let cluster = ff.u64("cluster")?;
    let code = ff.u64("code")?;
    let number = ff.u64("number")?;
    let max = reader.max_doc();
    let mut out = Vec::new();
    for k in keys {
        // The first document whose cluster is not below the key's (every document has one).
        let (mut lo, mut hi) = (0, max);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if cluster.first(mid).unwrap_or(0) < k.cluster {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let mut doc = lo;
        while doc < max && cluster.first(doc) == Some(k.cluster) {
            if code.first(doc) == Some(k.code) && number.first(doc) == Some(k.number) {
                out.push(doc);
            }
            doc += 1;
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// The live document of the invoice at `at` in `searcher`, if it has one.
pub(super) fn locate(searcher: &Searcher, at: At) -> Option<DocAddress> {
    for (ord, r) in searcher.segment_readers().iter().enumerate() {
        let Ok(docs) = docs_of(r, std::slice::from_ref(&at)) else {
            continue;
        };
        for doc in docs {
            if r.alive_bitset().is_none_or(|b| b.is_alive(doc)) {
                return Some(DocAddress::new(u32::try_from(ord).ok()?, doc));
            }
        }
    }
    None
}

/// Matches the documents of the invoices at the given places: what a writer deletes before
/// it adds their new versions (`IndexWriter::delete_query`).
#[derive(Debug, Clone)]
pub(super) struct KeysQuery(Arc<[At]>);

impl KeysQuery {
    pub fn new(keys: Vec<At>) -> KeysQuery {
        KeysQuery(keys.into())
    }
}

impl Query for KeysQuery {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(KeysWeight(self.0.clone())))
    }
}

struct KeysWeight(Arc<[At]>);

impl Weight for KeysWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let docs = docs_of(reader, &self.0)?;
        Ok(Box::new(ConstScorer::new(Docs { docs, at: 0 }, boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        if docs_of(reader, &self.0)?.binary_search(&doc).is_ok() {
            Ok(Explanation::new("an invoice's document", 1.0))
        } else {
            Err(TantivyError::InvalidArgument(format!(
                "document {doc} is not one of the invoices'"
            )))
        }
    }
}

/// Sorted documents as a `DocSet` (tantivy's own is for its tests only).
struct Docs {
    docs: Vec<DocId>,
    at: usize,
}

impl DocSet for Docs {
    fn advance(&mut self) -> DocId {
        self.at = (self.at + 1).min(self.docs.len());
        self.doc()
    }

    fn doc(&self) -> DocId {
        self.docs.get(self.at).copied().unwrap_or(TERMINATED)
    }

    fn size_hint(&self) -> u32 {
        u32::try_from(self.docs.len()).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::collector::Count;
    use tantivy::query::AllQuery;
    use tantivy::schema::{Schema, FAST};
    use tantivy::{doc, Index, IndexSettings, IndexSortByField, IndexWriter, Order};

    fn at(cluster: u64, number: u64) -> At {
        At {
            cluster,
            code: 7,
            number,
        }
    }

    /// Among documents of one code, several of one cluster (a buyer's day), in two segments
    /// sorted by cluster, each invoice is found by its own cluster and number, a number under
    /// another cluster is not, and a delete by key removes exactly the invoices asked for.
    #[test]
    fn an_invoice_is_found_by_its_day_and_key_among_its_neighbours() {
        let mut b = Schema::builder();
        let cluster = b.add_u64_field("cluster", FAST);
        let code = b.add_u64_field("code", FAST);
        let number = b.add_u64_field("number", FAST);
        let index = Index::builder()
            .schema(b.build())
            .settings(IndexSettings {
                sort_by_field: Some(IndexSortByField {
                    field: "cluster".into(),
                    order: Order::Asc,
                }),
                ..IndexSettings::default()
            })
            .create_in_ram()
            .unwrap();
        let mut w: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        let segments = [
            vec![(20, 1), (10, 1), (30, 1), (20, 2), (20, 3)],
            vec![(20, 4), (10, 2)],
        ];
        for docs in &segments {
            for &(c, n) in docs {
                w.add_document(doc!(cluster => c, code => 7u64, number => n))
                    .unwrap();
            }
            w.commit().unwrap();
        }
        let reader = index.reader().unwrap();
        let s = reader.searcher();
        assert_eq!(s.segment_readers().len(), 2);
        for &(c, n) in segments.iter().flatten() {
            let a = locate(&s, at(c, n)).unwrap();
            let ff = s.segment_reader(a.segment_ord).fast_fields();
            assert_eq!(ff.u64("cluster").unwrap().first(a.doc_id), Some(c));
            assert_eq!(ff.u64("number").unwrap().first(a.doc_id), Some(n));
        }
        assert_eq!(locate(&s, at(10, 3)), None);
        assert_eq!(locate(&s, at(20, 9)), None);
        assert_eq!(
            locate(
                &s,
                At {
                    code: 8,
                    ..at(20, 1)
                }
            ),
            None
        );

        w.delete_query(Box::new(KeysQuery::new(vec![at(20, 2), at(10, 2)])))
            .unwrap();
        w.commit().unwrap();
        reader.reload().unwrap();
        let s = reader.searcher();
        assert_eq!(s.search(&AllQuery, &Count).unwrap(), 5);
        assert_eq!(locate(&s, at(20, 2)), None);
        assert_eq!(locate(&s, at(10, 2)), None);
        for (c, n) in [(20, 1), (10, 1), (30, 1), (20, 3), (20, 4)] {
            assert!(locate(&s, at(c, n)).is_some(), "{c} {n}");
        }
    }
}
