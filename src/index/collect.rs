//! One pass over the matching documents: count, amount and tax totals, and the top `k`
//! documents in the 发票勾选 order (issue date newest first, then code, then number).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::ColumnValues;
use tantivy::index::SegmentId;
use tantivy::{DocId, Score, SegmentReader};

/// Sort key: best first when ascending.
pub type Order = (Reverse<i64>, u64, u64);

#[derive(Debug, Default)]
pub struct Fruit {
    pub count: u64,
    pub amount: i64,
    pub tax: i64,
    /// The best `k` keys, sorted best first.
    pub top: Vec<Order>,
}

pub struct PageCollector<'a> {
    pub k: usize,
    pub columns: &'a ColumnCache,
}

/// The columns a page is collected from, opened once per segment.
#[derive(Clone)]
pub struct PageColumns {
    issued: Arc<dyn ColumnValues<i64>>,
    code: Arc<dyn ColumnValues<u64>>,
    number: Arc<dyn ColumnValues<u64>>,
    amount: Arc<dyn ColumnValues<i64>>,
    tax: Arc<dyn ColumnValues<i64>>,
}

impl PageColumns {
    fn open(r: &SegmentReader) -> tantivy::Result<PageColumns> {
        let ff = r.fast_fields();
        Ok(PageColumns {
            issued: ff.i64("issued")?.first_or_default_col(0),
            code: ff.u64("code")?.first_or_default_col(0),
            number: ff.u64("number")?.first_or_default_col(0),
            amount: ff.i64("amount")?.first_or_default_col(0),
            tax: ff.i64("tax")?.first_or_default_col(0),
        })
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
    fn get(&self, r: &SegmentReader) -> tantivy::Result<PageColumns> {
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
    issued: Arc<dyn ColumnValues<i64>>,
    code: Arc<dyn ColumnValues<u64>>,
    number: Arc<dyn ColumnValues<u64>>,
    amount: Arc<dyn ColumnValues<i64>>,
    tax: Arc<dyn ColumnValues<i64>>,
    heap: BinaryHeap<Order>,
    count: u64,
    sum_amount: i64,
    sum_tax: i64,
}

impl Collector for PageCollector<'_> {
    type Fruit = Fruit;
    type Child = PageSegment;

    fn for_segment(&self, _: u32, r: &SegmentReader) -> tantivy::Result<PageSegment> {
        let c = self.columns.get(r)?;
        Ok(PageSegment {
            k: self.k,
            issued: c.issued,
            code: c.code,
            number: c.number,
            amount: c.amount,
            tax: c.tax,
            // Reserve no more than the segment can fill: `k` comes from a user's page number.
            heap: BinaryHeap::with_capacity(self.k.min(r.max_doc() as usize).saturating_add(1)),
            count: 0,
            sum_amount: 0,
            sum_tax: 0,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Fruit>) -> tantivy::Result<Fruit> {
        let mut out = Fruit::default();
        for f in fruits {
            out.count += f.count;
            out.amount += f.amount;
            out.tax += f.tax;
            out.top.extend(f.top);
        }
        out.top.sort_unstable();
        out.top.truncate(self.k);
        Ok(out)
    }
}

impl SegmentCollector for PageSegment {
    type Fruit = Fruit;

    fn collect(&mut self, doc: DocId, _: Score) {
        self.count += 1;
        self.sum_amount += self.amount.get_val(doc);
        self.sum_tax += self.tax.get_val(doc);
        if self.k == 0 {
            return;
        }
        let issued = Reverse(self.issued.get_val(doc));
        // Most documents of a large result fall behind the page on the date alone.
        if self.heap.len() >= self.k && self.heap.peek().is_some_and(|w| issued > w.0) {
            return;
        }
        let key = (issued, self.code.get_val(doc), self.number.get_val(doc));
        if self.heap.len() < self.k {
            self.heap.push(key);
        } else if self.heap.peek().is_some_and(|worst| key < *worst) {
            self.heap.pop();
            self.heap.push(key);
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
        }
    }
}
