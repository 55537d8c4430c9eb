//! The 抵扣统计 pipeline over the index: the buyer's posting list, filtered on the columns to
//! the invoices certified in the period, tallied per segment in parallel (rayon) and merged.
//! Every figure goes through `Tally::add`, the same code the recomputation from redb uses.

use std::sync::Arc;

use rayon::prelude::*;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::ColumnValues;
use tantivy::query::{EnableScoring, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, Score, SegmentReader, Term};

use super::{key_from_pair, tantivy_err, InvoiceIndex};
use crate::domain::statistics::{Entry, Tally};
use crate::domain::{
    CertMethod, Fen, InvoiceStatus, InvoiceType, InvoiceUse, TaxPeriod, TaxpayerId,
};
use crate::error::{AppError, AppResult};

/// A segment's tally, with exception keys as (code ordinal, number) until the merge.
type Part = Tally<(u64, u64)>;

/// The use of the `use` column (抵扣 for a certified document without one).
fn use_of(code: u64) -> InvoiceUse {
    u8::try_from(code)
        .ok()
        .and_then(InvoiceUse::from_code)
        .unwrap_or_default()
}

struct StatsCollector {
    period: u64,
}

struct StatsSegment {
    period_wanted: u64,
    /// Selection state, status and kind (see [`super::packed`]).
    packed: Arc<dyn ColumnValues<u64>>,
    period: Arc<dyn ColumnValues<u64>>,
    amount: Arc<dyn ColumnValues<i64>>,
    tax: Arc<dyn ColumnValues<i64>>,
    use_: Arc<dyn ColumnValues<u64>>,
    effective_tax: Arc<dyn ColumnValues<i64>>,
    code: Arc<dyn ColumnValues<u64>>,
    number: Arc<dyn ColumnValues<u64>>,
    part: Part,
}

impl Collector for StatsCollector {
    type Fruit = Part;
    type Child = StatsSegment;

    fn for_segment(&self, _: u32, r: &SegmentReader) -> tantivy::Result<StatsSegment> {
        let ff = r.fast_fields();
        Ok(StatsSegment {
            period_wanted: self.period,
            packed: ff.u64("packed")?.first_or_default_col(0),
            period: ff.u64("period")?.first_or_default_col(0),
            amount: ff.i64("amount")?.first_or_default_col(0),
            tax: ff.i64("tax")?.first_or_default_col(0),
            use_: ff.u64("use")?.first_or_default_col(0),
            effective_tax: ff.i64("effective_tax")?.first_or_default_col(0),
            code: ff.u64("code")?.first_or_default_col(0),
            number: ff.u64("number")?.first_or_default_col(0),
            part: Part::default(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Part>) -> tantivy::Result<Part> {
        let mut out = Part::default();
        for f in fruits {
            out.merge(f);
        }
        Ok(out)
    }
}

impl SegmentCollector for StatsSegment {
    type Fruit = Part;

    fn collect(&mut self, doc: DocId, _: Score) {
        let packed = self.packed.get_val(doc);
        let method = match super::packed::sel(packed) {
            2 => CertMethod::Selection,
            3 => CertMethod::Scan,
            _ => return,
        };
        if self.period.get_val(doc) != self.period_wanted {
            return;
        }
        let code = |v: u64| u8::try_from(v).unwrap_or(0);
        let kind = InvoiceType::from_code(code(super::packed::kind(packed)))
            .unwrap_or(InvoiceType::Special);
        let status = InvoiceStatus::from_code(code(super::packed::status(packed)))
            .unwrap_or(InvoiceStatus::Normal);
        let (c, n) = (&self.code, &self.number);
        self.part.add(
            || (c.get_val(doc), n.get_val(doc)),
            Entry {
                kind,
                method,
                status,
                use_: use_of(self.use_.get_val(doc)),
                amount: Fen::new(self.amount.get_val(doc)),
                tax: Fen::new(self.tax.get_val(doc)),
                effective_tax: Fen::new(self.effective_tax.get_val(doc)),
            },
        );
    }

    /// Blocks of matching documents: the columns are read for the whole block at once
    /// (`get_vals`), the packed state (selection, status, kind) and the period first, the
    /// rest only for the documents that are certified in the period.
    fn collect_block(&mut self, docs: &[DocId]) {
        const B: usize = 64;
        let mut packed = [0u64; B];
        let mut period = [0u64; B];
        let mut hit = [0u32; B];
        let mut method = [CertMethod::Selection; B];
        let mut state = [0u64; B];
        let mut amount = [0i64; B];
        let mut tax = [0i64; B];
        let mut use_ = [0u64; B];
        let mut effective_tax = [0i64; B];
        for chunk in docs.chunks(B) {
            let n = chunk.len();
            self.packed.get_vals(chunk, &mut packed[..n]);
            self.period.get_vals(chunk, &mut period[..n]);
            let mut k = 0;
            for i in 0..n {
                let m = match super::packed::sel(packed[i]) {
                    2 => CertMethod::Selection,
                    3 => CertMethod::Scan,
                    _ => continue,
                };
                if period[i] == self.period_wanted {
                    hit[k] = chunk[i];
                    method[k] = m;
                    state[k] = packed[i];
                    k += 1;
                }
            }
            if k == 0 {
                continue;
            }
            let hits = &hit[..k];
            self.amount.get_vals(hits, &mut amount[..k]);
            self.tax.get_vals(hits, &mut tax[..k]);
            self.use_.get_vals(hits, &mut use_[..k]);
            self.effective_tax.get_vals(hits, &mut effective_tax[..k]);
            for j in 0..k {
                let code = |v: u64| u8::try_from(v).unwrap_or(0);
                let (c, n) = (&self.code, &self.number);
                let doc = hits[j];
                self.part.add(
                    || (c.get_val(doc), n.get_val(doc)),
                    Entry {
                        kind: InvoiceType::from_code(code(super::packed::kind(state[j])))
                            .unwrap_or(InvoiceType::Special),
                        method: method[j],
                        status: InvoiceStatus::from_code(code(super::packed::status(state[j])))
                            .unwrap_or(InvoiceStatus::Normal),
                        use_: use_of(use_[j]),
                        amount: Fen::new(amount[j]),
                        tax: Fen::new(tax[j]),
                        effective_tax: Fen::new(effective_tax[j]),
                    },
                );
            }
        }
    }

    fn harvest(self) -> Part {
        self.part
    }
}

impl InvoiceIndex {
    /// The period's tally for `buyer`, computed from the index (segments in parallel).
    pub fn tally(&self, buyer: &TaxpayerId, period: TaxPeriod) -> AppResult<Tally> {
        let searcher = self.settled_searcher()?;
        let query = TermQuery::new(
            Term::from_field_text(self.fields().buyer, buyer.as_str()),
            IndexRecordOption::Basic,
        );
        let weight = query
            .weight(EnableScoring::disabled_from_searcher(&searcher))
            .map_err(tantivy_err)?;
        let collector = StatsCollector {
            period: u64::from(period.as_u32()),
        };
        let parts = searcher
            .segment_readers()
            .par_iter()
            .enumerate()
            .map(|(ord, seg)| {
                collector.collect_segment(weight.as_ref(), u32::try_from(ord).unwrap_or(0), seg)
            })
            .collect::<tantivy::Result<Vec<Part>>>()
            .map_err(tantivy_err)?;
        let merged = collector.merge_fruits(parts).map_err(tantivy_err)?;
        let tally = merged.map_keys(|(code, number)| {
            key_from_pair(code, number).ok_or_else(|| AppError::internal("bad key in the index"))
        })?;
        Ok(tally.finish())
    }
}
