//! One pass over the matching documents: count, amount and tax totals, and the top `k`
//! documents in the 发票勾选 order (issue date newest first, then code, then number).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, ColumnIndex, ColumnValues};
use tantivy::index::SegmentId;
use tantivy::query::{EnableScoring, Query};
use tantivy::{DocId, DocSet, Score, Searcher, SegmentReader, COLLECT_BLOCK_BUFFER_LEN};

use super::packed;

/// Sort key: best first when ascending.
pub type Order = (Reverse<i64>, u64, u64);

#[derive(Debug, Default)]
pub struct Fruit {
    pub count: u64,
    pub amount: i64,
    pub tax: i64,
    /// The best `k` keys, sorted best first.
    pub top: Vec<Order>,
    /// The documents read from the segments (after deletions), to find the above.
    pub read: u64,
}

pub struct PageCollector<'a> {
    pub k: usize,
    pub columns: &'a ColumnCache,
    pub checks: &'a Checks,
    /// Documents to leave out, sorted, by segment ordinal (an overlay's replaced versions).
    pub excluded: &'a HashMap<u32, Vec<DocId>>,
}

/// The conditions checked on each document the query's terms find, from the cached
/// columns (tantivy's fast-field range queries would reopen their columns on every query).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Checks {
    /// Issue date range in days, both included.
    pub issued: Option<(i64, i64)>,
    /// Certification date range in days, both included.
    pub cert_on: Option<(i64, i64)>,
    pub status: Option<u64>,
    pub kind: Option<u64>,
    pub period: Option<u64>,
    /// The selection state codes allowed, as a bit set (bit `s` for state `s`).
    pub sel: Option<u64>,
}

impl Checks {
    /// Whether document `doc`, whose `packed` value is `p`, meets every condition.
    pub(super) fn pass(&self, c: &PageColumns, doc: DocId, p: u64) -> bool {
        let within = |v: i64, (lo, hi): (i64, i64)| lo <= v && v <= hi;
        self.status.is_none_or(|s| packed::status(p) == s)
            && self.sel.is_none_or(|m| m & (1 << packed::sel(p)) != 0)
            && self.kind.is_none_or(|k| packed::kind(p) == k)
            && self.issued.is_none_or(|r| {
                within(c.issued_of(doc, p), r)
            })
            // The range starts at day 1 or later (see `build_query`).
            && self.cert_on.is_none_or(|r| {
                packed::certified(p)
                    && within(
                    packed::cert_on(p).unwrap_or_else(|| c.cert_on.get_val(doc)),
                    r,
                )
            })
            && self.period.is_none_or(|want| c.period.get_val(doc) == want)
    }

    /// Whether document `doc`, whose `packed` value is `p`, was issued before the issue date
    /// range.
    fn issued_before(&self, c: &PageColumns, doc: DocId, p: u64) -> bool {
        self.issued.is_some_and(|(lo, _)| c.issued_of(doc, p) < lo)
    }
}

/// The values [`Checks`] reads, of a document held outside the segments (an overlay's).
#[derive(Debug, Clone, Copy)]
pub struct Values {
    pub status: u64,
    pub sel: u64,
    pub kind: u64,
    /// Days, as in the columns; `cert_on` is 0 when not certified.
    pub issued: i64,
    pub cert_on: i64,
    pub period: u64,
}

impl Checks {
    /// [`Checks::pass`] for a document given by its values.
    pub fn admit(&self, v: &Values) -> bool {
        let within = |d: i64, (lo, hi): (i64, i64)| lo <= d && d <= hi;
        self.status.is_none_or(|s| v.status == s)
            && self.sel.is_none_or(|m| v.sel < 64 && m & (1 << v.sel) != 0)
            && self.kind.is_none_or(|k| v.kind == k)
            && self.issued.is_none_or(|r| within(v.issued, r))
            // The range starts at day 1 or later: an uncertified 0 never falls in it.
            && self.cert_on.is_none_or(|r| within(v.cert_on, r))
            && self.period.is_none_or(|want| v.period == want)
    }
}

/// The columns a page is collected from, opened once per segment.
#[derive(Clone)]
pub struct PageColumns {
    packed: Arc<dyn ColumnValues<u64>>,
    issued: Arc<dyn ColumnValues<i64>>,
    code: Arc<dyn ColumnValues<u64>>,
    number: Arc<dyn ColumnValues<u64>>,
    amount: Arc<dyn ColumnValues<i64>>,
    tax: Arc<dyn ColumnValues<i64>>,
    cert_on: Arc<dyn ColumnValues<i64>>,
    period: Arc<dyn ColumnValues<u64>>,
}

/// A column's values by document: the values themselves when every document has one (the
/// case of every invoice column), which reads without the index's indirection.
fn by_doc<T>(c: Column<T>, default: T) -> Arc<dyn ColumnValues<T>>
where
    T: PartialOrd + Copy + std::fmt::Debug + Send + Sync + 'static,
{
    match c.index {
        ColumnIndex::Full => c.values,
        _ => c.first_or_default_col(default),
    }
}

impl PageColumns {
    fn open(r: &SegmentReader) -> tantivy::Result<PageColumns> {
        let ff = r.fast_fields();
        Ok(PageColumns {
            packed: by_doc(ff.u64("packed")?, 0),
            issued: by_doc(ff.i64("issued")?, 0),
            code: by_doc(ff.u64("code")?, 0),
            number: by_doc(ff.u64("number")?, 0),
            amount: by_doc(ff.i64("amount")?, 0),
            tax: by_doc(ff.i64("tax")?, 0),
            cert_on: by_doc(ff.i64("cert_on")?, 0),
            period: by_doc(ff.u64("period")?, 0),
        })
    }
}

impl PageColumns {
    /// The issue date (days) of document `doc`, whose `packed` value is `p`: from `p` when
    /// it holds it, else from the column.
    pub(super) fn issued_of(&self, doc: DocId, p: u64) -> i64 {
        packed::issued(p).unwrap_or_else(|| self.issued.get_val(doc))
    }

    /// The `packed` value of document `doc`.
    pub(super) fn packed_of(&self, doc: DocId) -> u64 {
        self.packed.get_val(doc)
    }

    /// The `packed` values of `docs`, into `out` (as long as `docs`).
    pub(super) fn packed_vals(&self, docs: &[DocId], out: &mut [u64]) {
        self.packed.get_vals(docs, out);
    }

    /// The `code` and `number` values of `docs`, into `code` and `number` (each as long as
    /// `docs`).
    pub(super) fn code_number_vals(&self, docs: &[DocId], code: &mut [u64], number: &mut [u64]) {
        self.code.get_vals(docs, code);
        self.number.get_vals(docs, number);
    }

    /// The values [`Checks`] reads, the amount and the tax of each of `docs` (the period
    /// left 0: what reads these answers no period condition, see [`super::cells`]).
    pub(super) fn values_of(&self, docs: &[DocId], out: &mut Vec<(Values, i64, i64)>) {
        let mut packed = vec![0u64; docs.len()];
        let mut amount = vec![0i64; docs.len()];
        let mut tax = vec![0i64; docs.len()];
        self.packed.get_vals(docs, &mut packed);
        self.amount.get_vals(docs, &mut amount);
        self.tax.get_vals(docs, &mut tax);
        out.clear();
        for (i, doc) in docs.iter().enumerate() {
            let p = packed[i];
            let v = Values {
                status: packed::status(p),
                sel: packed::sel(p),
                kind: packed::kind(p),
                issued: self.issued_of(*doc, p),
                cert_on: packed::cert_on(p).unwrap_or_else(|| self.cert_on.get_val(*doc)),
                period: 0,
            };
            out.push((v, amount[i], tax[i]));
        }
    }
}

/// Opened page columns by segment. Opening a column reads its codec's block headers, which
/// costs in proportion to the segment's size on every query; segments never change, so
/// their columns are opened once and kept while the segment is live.
#[derive(Default)]
pub struct ColumnCache {
    by_segment: Mutex<HashMap<SegmentId, PageColumns>>,
}

impl ColumnCache {
    pub(super) fn get(&self, r: &SegmentReader) -> tantivy::Result<PageColumns> {
        let id = r.segment_id();
        if let Some(c) = self.lock().get(&id) {
            return Ok(c.clone());
        }
        let c = PageColumns::open(r)?;
        self.lock().insert(id, c.clone());
        Ok(c)
    }

    /// Forgets the columns of segments no longer in `live` (merged away or deleted).
    pub fn retain(&self, live: &[SegmentId]) {
        let mut m = self.lock();
        if m.len() > live.len() || m.keys().any(|k| !live.contains(k)) {
            m.retain(|k, _| live.contains(k));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SegmentId, PageColumns>> {
        // A panic while holding the map leaves nothing half-written in it.
        self.by_segment
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

pub struct PageSegment {
    k: usize,
    c: PageColumns,
    checks: Checks,
    heap: BinaryHeap<Order>,
    count: u64,
    sum_amount: i64,
    sum_tax: i64,
    /// Buffers of one block of documents (reused from block to block).
    packed: Vec<u64>,
    passed: Vec<DocId>,
    passed_packed: Vec<u64>,
    values: Vec<i64>,
    /// This segment's documents to leave out (sorted), and how far the ascending documents
    /// have gone through them.
    excluded: Vec<DocId>,
    excluded_at: usize,
    /// Only the top `k` wanted (no count or totals), documents coming newest first: the
    /// segment is left at the first document older than the `k`th (see [`PageCollector::run`]).
    top_only: bool,
    /// Set when nothing further in the segment can enter the top `k`.
    done: bool,
    read: u64,
}

/// Whether `doc` is one of the sorted `excluded`, documents coming in ascending order; `at`
/// is how far they have gone through the list.
fn is_excluded(excluded: &[DocId], at: &mut usize, doc: DocId) -> bool {
    while excluded.get(*at).is_some_and(|d| *d < doc) {
        *at += 1;
    }
    excluded.get(*at) == Some(&doc)
}

impl Collector for PageCollector<'_> {
    type Fruit = Fruit;
    type Child = PageSegment;

    fn for_segment(&self, ord: u32, r: &SegmentReader) -> tantivy::Result<PageSegment> {
        Ok(PageSegment {
            excluded: self.excluded.get(&ord).cloned().unwrap_or_default(),
            excluded_at: 0,
            k: self.k,
            c: self.columns.get(r)?,
            checks: self.checks.clone(),
            packed: Vec::new(),
            passed: Vec::new(),
            passed_packed: Vec::new(),
            values: Vec::new(),
            // Reserve no more than the segment can fill: `k` comes from a user's page number.
            heap: BinaryHeap::with_capacity(self.k.min(r.max_doc() as usize).saturating_add(1)),
            count: 0,
            sum_amount: 0,
            sum_tax: 0,
            top_only: false,
            done: false,
            read: 0,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Fruit>) -> tantivy::Result<Fruit> {
        let mut out = Fruit::default();
        let mut tops = Vec::with_capacity(fruits.len());
        for f in fruits {
            out.count += f.count;
            out.amount += f.amount;
            out.tax += f.tax;
            out.read += f.read;
            tops.push(f.top);
        }
        out.top = merge_sorted(tops, self.k);
        Ok(out)
    }
}

impl PageCollector<'_> {
    /// Collects `query`'s documents segment by segment, in blocks with the deleted documents
    /// taken out (tantivy's own loop hands a segment with deletions to the collector one
    /// document at a time).
    ///
    /// With `top_only` the fruit holds only the top `k` (count and totals left 0), and every
    /// segment is left as soon as the rest of it cannot enter the top: the caller promises
    /// that the query matches one buyer's documents only, which a segment keeps together in
    /// the issue date's order newest first (see `cluster` in the index module), so the first
    /// document older than the `k`th best so far ends the segment.
    pub fn run(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        top_only: bool,
    ) -> tantivy::Result<Fruit> {
        let weight = query.weight(EnableScoring::disabled_from_searcher(searcher))?;
        let mut fruits = Vec::with_capacity(searcher.segment_readers().len());
        let mut block = [0 as DocId; COLLECT_BLOCK_BUFFER_LEN];
        let mut alive = Vec::with_capacity(COLLECT_BLOCK_BUFFER_LEN);
        for (ord, r) in searcher.segment_readers().iter().enumerate() {
            let ord = u32::try_from(ord).unwrap_or(u32::MAX);
            let mut seg = self.for_segment(ord, r)?;
            seg.top_only = top_only;
            let mut docs = weight.scorer(r, 1.0)?;
            loop {
                let n = docs.fill_buffer(&mut block);
                match r.alive_bitset() {
                    Some(bits) => {
                        alive.clear();
                        alive.extend(block[..n].iter().copied().filter(|d| bits.is_alive(*d)));
                        seg.collect_block(&alive);
                    }
                    None => seg.collect_block(&block[..n]),
                }
                if n < block.len() || seg.done {
                    break;
                }
            }
            fruits.push(seg.harvest());
        }
        self.merge_fruits(fruits)
    }
}

/// The first `k` of lists each sorted best first, in order: a merge that stops after `k`,
/// instead of sorting every segment's `k` together (a deep page of an index of many segments
/// had a tenth of its time in that sort).
pub(crate) fn merge_sorted(lists: Vec<Vec<Order>>, k: usize) -> Vec<Order> {
    let total: usize = lists.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(total.min(k));
    out.extend(Merged::new(lists.iter().map(Vec::as_slice).collect()).take(k));
    out
}

/// The items of lists each sorted, in order, taken one at a time (so that a caller can
/// stop as soon as it has what it needs).
pub(crate) struct Merged<'a, T> {
    lists: Vec<&'a [T]>,
    heads: BinaryHeap<Reverse<(T, usize)>>,
    at: Vec<usize>,
}

impl<'a, T: Ord + Copy> Merged<'a, T> {
    pub(crate) fn new(lists: Vec<&'a [T]>) -> Merged<'a, T> {
        let heads = if lists.len() == 1 {
            BinaryHeap::new()
        } else {
            lists
                .iter()
                .enumerate()
                .filter_map(|(i, l)| l.first().map(|e| Reverse((*e, i))))
                .collect()
        };
        let at = vec![0; lists.len()];
        Merged { lists, heads, at }
    }
}

impl<T: Ord + Copy> Iterator for Merged<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        if let [only] = self.lists[..] {
            // One list (a day of one term, a searcher of one segment): no heap.
            let i = self.at[0];
            self.at[0] += 1;
            return only.get(i).copied();
        }
        let Reverse((e, l)) = self.heads.pop()?;
        self.at[l] += 1;
        if let Some(next) = self.lists[l].get(self.at[l]) {
            self.heads.push(Reverse((*next, l)));
        }
        Some(e)
    }
}

impl SegmentCollector for PageSegment {
    type Fruit = Fruit;

    fn collect(&mut self, doc: DocId, _: Score) {
        self.collect_block(&[doc]);
    }

    /// A block of documents: their packed values read at once and checked, then the amounts
    /// and taxes of those that pass read at once, then the page candidates.
    fn collect_block(&mut self, docs: &[DocId]) {
        self.read += docs.len() as u64;
        self.packed.resize(docs.len(), 0);
        self.c.packed.get_vals(docs, &mut self.packed);
        self.passed.clear();
        self.passed_packed.clear();
        for (doc, p) in docs.iter().zip(&self.packed) {
            if self.checks.pass(&self.c, *doc, *p) {
                self.passed.push(*doc);
                self.passed_packed.push(*p);
            } else if self.top_only && self.checks.issued_before(&self.c, *doc, *p) {
                // Newest first: every later document is older still.
                self.done = true;
                break;
            }
        }
        if !self.excluded.is_empty() {
            // (Apart from the loop above, which stays as it was for the usual case.)
            let mut keep = 0;
            for i in 0..self.passed.len() {
                let doc = self.passed[i];
                if !is_excluded(&self.excluded, &mut self.excluded_at, doc) {
                    self.passed[keep] = doc;
                    self.passed_packed[keep] = self.passed_packed[i];
                    keep += 1;
                }
            }
            self.passed.truncate(keep);
            self.passed_packed.truncate(keep);
        }
        let n = self.passed.len();
        if n == 0 {
            return;
        }
        if !self.top_only {
            self.count += n as u64;
            self.values.resize(n, 0);
            self.c.amount.get_vals(&self.passed, &mut self.values);
            self.sum_amount += self.values.iter().sum::<i64>();
            self.c.tax.get_vals(&self.passed, &mut self.values);
            self.sum_tax += self.values.iter().sum::<i64>();
        }
        if self.k == 0 {
            self.done = self.top_only;
            return;
        }
        for (doc, p) in self.passed.iter().zip(&self.passed_packed) {
            let issued = Reverse(self.c.issued_of(*doc, *p));
            // Most documents of a large result fall behind the page on the date alone.
            if self.heap.len() >= self.k && self.heap.peek().is_some_and(|w| issued > w.0) {
                if self.top_only {
                    // Every later document is at least as old as this one.
                    self.done = true;
                    return;
                }
                continue;
            }
            let key = (
                issued,
                self.c.code.get_val(*doc),
                self.c.number.get_val(*doc),
            );
            if self.heap.len() < self.k {
                self.heap.push(key);
            } else if self.heap.peek().is_some_and(|worst| key < *worst) {
                self.heap.pop();
                self.heap.push(key);
            }
        }
    }

    fn harvest(self) -> Fruit {
        let mut top = self.heap.into_vec();
        top.sort_unstable();
        Fruit {
            count: self.count,
            amount: self.sum_amount,
            tax: self.sum_tax,
            top,
            read: self.read,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The merge gives what sorting every list together and keeping `k` gives.
        #[test]
        fn merging_sorted_lists_is_sorting_them_together(
            lists in proptest::collection::vec(
                proptest::collection::vec((0i64..50, 0u64..5, 0u64..1000), 0..40),
                0..8,
            ),
            k in 0usize..120,
        ) {
            let lists: Vec<Vec<Order>> = lists
                .into_iter()
                .map(|l| {
                    let mut l: Vec<Order> = l.into_iter().map(|(d, c, n)| (Reverse(d), c, n)).collect();
                    l.sort_unstable();
                    l
                })
                .collect();
            let mut want: Vec<Order> = lists.iter().flatten().copied().collect();
            want.sort_unstable();
            want.truncate(k);
            prop_assert_eq!(merge_sorted(lists, k), want);
        }
    }
}
