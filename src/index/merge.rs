//! Which segments the index writer merges: tantivy's log merge policy (segments of about
//! the same size, eight at a time), with the size of a merge capped.
//!
//! Uncapped, the last merges of a large load combine segments holding most of the index: a
//! merge reads its segments through their memory maps, so near the end of a 10M-invoice load
//! some 500 MB of index pages were resident at once (on top of the store's cache and the
//! writer's heap). Capped, no merge takes in more than [`MAX_MERGED_DOCS`] live documents, so
//! a large index ends as a handful of segments of about that size: a query visits each, but
//! a buyer's documents sit together in every one (see [`super::cluster`]), so that costs a few
//! term lookups, not a scan.
//!
//! A bulk load ends with a packing of its own ([`tail_merges`]) under a larger cap,
//! [`MAX_PACKED_DOCS`]: by then the load's memory is freed.
//!
//! A segment that can no longer merge with others still sheds its deleted documents (every
//! selection change deletes and re-adds a document): once more than
//! [`MAX_DELETED_RATIO`] of it is deleted, it is merged on its own.

use tantivy::index::SegmentMeta;
use tantivy::merge_policy::{LogMergePolicy, MergeCandidate, MergePolicy};

/// The most live documents a merge of the writer's policy may produce.
pub(crate) const MAX_MERGED_DOCS: u32 = 2_000_000;
/// The most live documents the packing that ends a bulk load
/// ([`super::InvoiceIndex::compact`]) puts in one segment. It runs once the load's writer
/// memory is freed, so it can afford larger merges than the policy's during the load: a
/// 10,000,000-invoice index ends as two segments instead of six (each segment costs every
/// query its term lookups and per-segment collection; see the benchmarks' eleventh round),
/// and the 10M demo's resident memory during the packing stays below its peak during the
/// load (about 780 MB against 880 MB).
pub(crate) const MAX_PACKED_DOCS: u32 = 6_000_000;
/// The share of deleted documents above which a segment is rewritten without them.
const MAX_DELETED_RATIO: f32 = 0.25;

#[derive(Debug)]
pub(crate) struct CappedMerges {
    inner: LogMergePolicy,
    max_docs: u32,
}

impl CappedMerges {
    pub(crate) fn new(max_docs: u32) -> CappedMerges {
        let mut inner = LogMergePolicy::default();
        inner.set_max_docs_before_merge(max_docs as usize);
        CappedMerges { inner, max_docs }
    }
}

fn deleted_ratio(s: &SegmentMeta) -> f32 {
    if s.max_doc() == 0 {
        return 0.0;
    }
    s.num_deleted_docs() as f32 / s.max_doc() as f32
}

impl MergePolicy for CappedMerges {
    fn compute_merge_candidates(&self, segments: &[SegmentMeta]) -> Vec<MergeCandidate> {
        let docs = |id: &tantivy::index::SegmentId| {
            segments
                .iter()
                .find(|s| s.id() == *id)
                .map(|s| s.num_docs())
                .unwrap_or(0)
        };
        let mut out = Vec::new();
        let mut taken = std::collections::HashSet::new();
        for MergeCandidate(mut ids) in self.inner.compute_merge_candidates(segments) {
            // The smallest first, as many as fit under the cap; the rest wait for a later
            // round (or are already as large as a merge may make them).
            ids.sort_by_key(|id| docs(id));
            let mut sum = 0u64;
            let fit: Vec<_> = ids
                .into_iter()
                .take_while(|id| {
                    sum += u64::from(docs(id));
                    sum <= u64::from(self.max_docs)
                })
                .collect();
            if fit.len() >= 2 {
                taken.extend(fit.iter().copied());
                out.push(MergeCandidate(fit));
            }
        }
        for s in segments {
            if !taken.contains(&s.id()) && deleted_ratio(s) > MAX_DELETED_RATIO {
                out.push(MergeCandidate(vec![s.id()]));
            }
        }
        out
    }
}

/// The merges that end a bulk load (see [`super::InvoiceIndex::compact`]): the segments
/// below `cap` live documents, largest first, each put into the first group it fits in under
/// `cap` (first-fit decreasing); the groups of two or more. `segments` are `(id, live docs)`.
///
/// The log policy leaves up to seven segments at each of its levels below the cap when a
/// load stops; a query visits each segment, and from a cold start each costs it some
/// hundreds of cache misses (its term dictionary, postings and column blocks).
pub(crate) fn tail_merges<Id: Copy>(segments: &[(Id, u32)], cap: u32) -> Vec<Vec<Id>> {
    let mut small: Vec<(Id, u32)> = segments.iter().copied().filter(|(_, n)| *n < cap).collect();
    small.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let mut groups: Vec<(u64, Vec<Id>)> = Vec::new();
    for (id, n) in small {
        let n = u64::from(n);
        match groups.iter_mut().find(|(sum, _)| sum + n <= u64::from(cap)) {
            Some((sum, ids)) => {
                *sum += n;
                ids.push(id);
            }
            None => groups.push((n, vec![id])),
        }
    }
    groups
        .into_iter()
        .filter(|(_, ids)| ids.len() >= 2)
        .map(|(_, ids)| ids)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::index::SegmentId;
    use tantivy::schema::{Schema, STRING};
    use tantivy::Index;

    fn metas(index: &Index, sizes: &[u32]) -> Vec<SegmentMeta> {
        sizes
            .iter()
            .map(|n| index.new_segment_meta(SegmentId::generate_random(), *n))
            .collect()
    }

    fn index() -> Index {
        let mut b = Schema::builder();
        b.add_text_field("id", STRING);
        Index::create_in_ram(b.build())
    }

    fn merged_docs(all: &[SegmentMeta], c: &MergeCandidate) -> u64 {
        c.0.iter()
            .map(|id| {
                all.iter()
                    .find(|s| s.id() == *id)
                    .map(|s| u64::from(s.num_docs()))
                    .unwrap_or(0)
            })
            .sum()
    }

    #[test]
    fn small_segments_merge_as_the_log_policy_would() {
        let index = index();
        let all = metas(&index, &[50_000; 8]);
        let c = CappedMerges::new(MAX_MERGED_DOCS).compute_merge_candidates(&all);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].0.len(), 8);
    }

    #[test]
    fn no_merge_makes_more_than_the_cap() {
        let index = index();
        // Eight segments of one level, 4M documents in all: uncapped, one merge of all.
        let all = metas(&index, &[500_000; 8]);
        assert_eq!(
            LogMergePolicy::default().compute_merge_candidates(&all)[0]
                .0
                .len(),
            8
        );
        let c = CappedMerges::new(MAX_MERGED_DOCS).compute_merge_candidates(&all);
        assert_eq!(c.len(), 1);
        assert_eq!(merged_docs(&all, &c[0]), 2_000_000);
        // Segments at the cap are never merged again.
        let full = metas(&index, &[MAX_MERGED_DOCS; 8]);
        assert!(CappedMerges::new(MAX_MERGED_DOCS)
            .compute_merge_candidates(&full)
            .is_empty());
    }

    #[test]
    fn the_tail_of_a_load_packs_into_as_few_segments_as_fit_under_the_cap() {
        let cap = 2_000_000;
        let segs = [
            (1, cap),
            (2, cap),
            (3, 1_500_000),
            (4, 300_000),
            (5, 200_000),
            (6, 100_000),
            (7, 50_000),
        ];
        let g = tail_merges(&segs, cap);
        assert_eq!(g, vec![vec![3, 4, 5], vec![6, 7]]);
        // Full segments are left alone; a lone segment below the cap has nothing to merge with.
        assert!(tail_merges(&[(1, cap), (2, 10)], cap).is_empty());
        assert!(tail_merges(&[(1, cap - 1), (2, 2)], cap).is_empty());
        // Every group stays under the cap, and nothing is merged twice.
        let many: Vec<(u32, u32)> = (0..40).map(|i| (i, 37_000 * (i % 9 + 1))).collect();
        let g = tail_merges(&many, cap);
        let mut seen: Vec<u32> = g.iter().flatten().copied().collect();
        let total = seen.len();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), total);
        for group in &g {
            let sum: u64 = group.iter().map(|i| u64::from(many[*i as usize].1)).sum();
            assert!(sum <= u64::from(cap));
        }
        assert!(g.len() < 10, "{} groups", g.len());
    }

    #[test]
    fn a_segment_mostly_deleted_is_rewritten_alone() {
        let index = index();
        let seg = index.new_segment_meta(SegmentId::generate_random(), MAX_MERGED_DOCS);
        let few = seg.clone().with_delete_meta(100_000, 1);
        let many = seg.with_delete_meta(600_000, 1);
        let p = CappedMerges::new(MAX_MERGED_DOCS);
        assert!(p.compute_merge_candidates(&[few]).is_empty());
        let c = p.compute_merge_candidates(std::slice::from_ref(&many));
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].0, vec![many.id()]);
    }
}
