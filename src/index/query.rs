//! Turning query conditions into a tantivy query and collecting one page with totals.

use std::ops::Bound;

use chrono::NaiveDate;
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::Term;

use super::collect::{Order, PageCollector};
use super::{code_ord, days, key_from_pair, key_pair, tantivy_err, InvoiceIndex, MIN_CODE_ORD};
use crate::domain::{CertMethod, InvoiceKey, InvoiceStatus, InvoiceType, TaxpayerId};
use crate::error::{AppError, AppResult};

/// What to look for, already narrowed by the service (scope, selectability).
#[derive(Debug, Clone, Default)]
pub struct InvoiceFilter {
    pub buyer: Option<TaxpayerId>,
    pub issued_from: Option<NaiveDate>,
    pub issued_to: Option<NaiveDate>,
    pub code: Option<String>,
    pub number: Option<String>,
    pub seller: Option<TaxpayerId>,
    /// Selection state codes allowed (0 unselected, 1 selected, 2 confirmed, 3 scanned);
    /// empty = any.
    pub sel: Vec<u64>,
    pub certified_from: Option<NaiveDate>,
    pub certified_to: Option<NaiveDate>,
    pub kind: Option<InvoiceType>,
    pub status: Option<InvoiceStatus>,
    /// Only this period (selection/certification period).
    pub period: Option<u32>,
    /// Words of the seller's name (office search): every bigram must occur.
    pub seller_name: Option<String>,
}

impl InvoiceFilter {
    pub fn cert_method(m: Option<CertMethod>) -> Vec<u64> {
        match m {
            None => vec![2, 3],
            Some(CertMethod::Selection) => vec![2],
            Some(CertMethod::Scan) => vec![3],
        }
    }
}

/// One page of results with totals over all matches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchPage {
    pub total: u64,
    pub amount: i64,
    pub tax: i64,
    pub keys: Vec<InvoiceKey>,
}

fn term_str(f: Field, v: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(f, v),
        IndexRecordOption::Basic,
    ))
}

/// Equality on a fast-only field.
fn exact_u64(f: Field, v: u64) -> Box<dyn Query> {
    range_u64(f, v, v)
}

fn range_u64(f: Field, lo: u64, hi: u64) -> Box<dyn Query> {
    Box::new(RangeQuery::new(
        Bound::Included(Term::from_field_u64(f, lo)),
        Bound::Included(Term::from_field_u64(f, hi)),
    ))
}

fn range_i64(f: Field, from: Option<i64>, to: Option<i64>) -> Box<dyn Query> {
    let lo = from.map_or(Bound::Unbounded, |v| {
        Bound::Included(Term::from_field_i64(f, v))
    });
    let hi = to.map_or(Bound::Unbounded, |v| {
        Bound::Included(Term::from_field_i64(f, v))
    });
    Box::new(RangeQuery::new(lo, hi))
}

impl InvoiceIndex {
    fn build_query(&self, q: &InvoiceFilter) -> Box<dyn Query> {
        let f = self.fields();
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if let Some(b) = &q.buyer {
            must.push((Occur::Must, term_str(f.buyer, b.as_str())));
        }
        if let Some(s) = &q.seller {
            must.push((Occur::Must, term_str(f.seller, s.as_str())));
        }
        if let Some(c) = &q.code {
            must.push((Occur::Must, exact_u64(f.code, code_ord(c))));
        }
        if let Some(n) = &q.number {
            let eight = n.len() == 8 && n.bytes().all(|b| b.is_ascii_digit());
            if eight || q.code.is_some() {
                must.push((
                    Occur::Must,
                    exact_u64(f.number, n.parse().unwrap_or(u64::MAX)),
                ));
                if q.code.is_none() {
                    // Only coded keys: a code-less key's low half could equal the number.
                    must.push((Occur::Must, range_u64(f.code, MIN_CODE_ORD, (1 << 63) - 1)));
                }
            } else {
                // A 数电票号码 or 缴款书号码: its pair, or (unparsable) nothing.
                let (code, number) = InvoiceKey::parse_any(None, n)
                    .map(|k| key_pair(&k))
                    .unwrap_or((0, u64::MAX));
                must.push((Occur::Must, exact_u64(f.code, code)));
                must.push((Occur::Must, exact_u64(f.number, number)));
            }
        }
        if let Some(k) = q.kind {
            must.push((Occur::Must, exact_u64(f.kind, u64::from(k.code()))));
        }
        if let Some(s) = q.status {
            must.push((Occur::Must, exact_u64(f.status, u64::from(s.code()))));
        }
        if let Some(p) = q.period {
            must.push((Occur::Must, exact_u64(f.period, u64::from(p))));
        }
        let mut sel = q.sel.clone();
        sel.sort_unstable();
        sel.dedup();
        match sel.as_slice() {
            [] => {}
            [one] => must.push((Occur::Must, exact_u64(f.sel, *one))),
            [lo, .., hi] if hi - lo + 1 == sel.len() as u64 => {
                must.push((Occur::Must, range_u64(f.sel, *lo, *hi)))
            }
            many => must.push((
                Occur::Must,
                Box::new(BooleanQuery::new(
                    many.iter()
                        .map(|v| (Occur::Should, exact_u64(f.sel, *v)))
                        .collect(),
                )),
            )),
        }
        if q.issued_from.is_some() || q.issued_to.is_some() {
            must.push((
                Occur::Must,
                range_i64(f.issued, q.issued_from.map(days), q.issued_to.map(days)),
            ));
        }
        if q.certified_from.is_some() || q.certified_to.is_some() {
            must.push((
                Occur::Must,
                // Uncertified invoices carry 0: a lone upper bound must not match them.
                range_i64(
                    f.cert_on,
                    Some(q.certified_from.map(days).unwrap_or(1).max(1)),
                    q.certified_to.map(days),
                ),
            ));
        }
        if let Some(name) = &q.seller_name {
            for term in self.name_terms(name) {
                must.push((
                    Occur::Must,
                    Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
                ));
            }
        }
        if must.is_empty() {
            return Box::new(tantivy::query::AllQuery);
        }
        Box::new(BooleanQuery::new(must))
    }

    /// The page `page` (1-based) of `per_page` matches, in the 发票勾选 order, with totals.
    /// A page past the end has no keys (the totals still count every match); the keys kept
    /// while collecting never exceed the documents in the index, whatever the page number.
    pub fn search(&self, q: &InvoiceFilter, page: usize, per_page: usize) -> AppResult<SearchPage> {
        let offset = page.saturating_sub(1).saturating_mul(per_page);
        let query = self.build_query(q);
        let searcher = self.searcher();
        let docs = usize::try_from(searcher.num_docs()).unwrap_or(usize::MAX);
        let k = if offset >= docs {
            0
        } else {
            offset.saturating_add(per_page).min(docs)
        };
        let live: Vec<_> = searcher
            .segment_readers()
            .iter()
            .map(|r| r.segment_id())
            .collect();
        self.columns.retain(&live);
        let fruit = searcher
            .search(
                &*query,
                &PageCollector {
                    k,
                    columns: &self.columns,
                },
            )
            .map_err(tantivy_err)?;
        let keys = fruit
            .top
            .iter()
            .skip(offset)
            .map(|(_, code, number): &Order| {
                key_from_pair(*code, *number)
                    .ok_or_else(|| AppError::internal("bad key in the index"))
            })
            .collect::<AppResult<Vec<_>>>()?;
        Ok(SearchPage {
            total: fruit.count,
            amount: fruit.amount,
            tax: fruit.tax,
            keys,
        })
    }
}
