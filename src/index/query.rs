//! Turning query conditions into a tantivy query and collecting one page with totals.

use std::ops::Bound;

use chrono::{Datelike, Months, NaiveDate};
use tantivy::query::{BooleanQuery, EmptyQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::Term;

use std::cmp::Reverse;

use super::cells::{Plan, PlanTerm};
use super::collect::{Checks, Fruit, Order, PageCollector, Values};
use super::{code_ord, days, key_from_pair, key_pair, tantivy_err, InvoiceIndex, MIN_CODE_ORD};
use crate::domain::{CertMethod, Invoice, InvoiceKey, InvoiceStatus, InvoiceType, TaxpayerId};
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

/// The half of a key's [`key_pair`] a condition is on.
#[derive(Debug, Clone, Copy)]
enum KeyPart {
    Code,
    Number,
}

/// The conditions a filter's code and number put on the key pair, each an inclusive range
/// (for the tantivy query and for [`InvoiceIndex::matches`] alike).
fn key_conditions(q: &InvoiceFilter) -> Vec<(KeyPart, u64, u64)> {
    let mut out = Vec::new();
    if let Some(c) = &q.code {
        let v = code_ord(c);
        out.push((KeyPart::Code, v, v));
    }
    if let Some(n) = &q.number {
        let eight = n.len() == 8 && n.bytes().all(|b| b.is_ascii_digit());
        if eight || q.code.is_some() {
            let v = n.parse().unwrap_or(u64::MAX);
            out.push((KeyPart::Number, v, v));
            if q.code.is_none() {
                // Only coded keys: a code-less key's low half could equal the number.
                out.push((KeyPart::Code, MIN_CODE_ORD, (1 << 63) - 1));
            }
        } else {
            // A 数电票号码 or 缴款书号码: its pair, or (unparsable) nothing.
            let (code, number) = InvoiceKey::parse_any(None, n)
                .map(|k| key_pair(&k))
                .unwrap_or((0, u64::MAX));
            out.push((KeyPart::Code, code, code));
            out.push((KeyPart::Number, number, number));
        }
    }
    out
}

fn range_u64(f: Field, lo: u64, hi: u64) -> Box<dyn Query> {
    Box::new(RangeQuery::new(
        Bound::Included(Term::from_field_u64(f, lo)),
        Bound::Included(Term::from_field_u64(f, hi)),
    ))
}

/// Months spanned by a range, at most this many, are driven by their scope terms; a longer
/// range is driven by the buyer's whole posting list.
const MAX_SCOPE_MONTHS: usize = 48;

/// The months (YYYYMM) from `from` to `to`, both included; `None` when more than
/// [`MAX_SCOPE_MONTHS`].
fn months(from: NaiveDate, to: NaiveDate) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    let mut m = from.with_day(1)?;
    while m <= to {
        if out.len() >= MAX_SCOPE_MONTHS {
            return None;
        }
        out.push(super::yyyymm(m));
        m = m.checked_add_months(Months::new(1))?;
    }
    Some(out)
}

/// The scope terms of `buyer`'s documents issued in `months` in the selection states
/// `sel` (sorted; empty = any).
fn issued_terms(buyer: &str, months: &[u32], sel: &[u64]) -> Vec<String> {
    let all = [0, 1, 2, 3];
    let sels = if sel.is_empty() { &all[..] } else { sel };
    months
        .iter()
        .flat_map(|m| sels.iter().map(move |s| super::scope_issued(buyer, *m, *s)))
        .collect()
}

/// Any of the scope terms (none: nothing matches).
fn any_of(f: Field, terms: impl Iterator<Item = String>) -> Box<dyn Query> {
    let clauses: Vec<(Occur, Box<dyn Query>)> =
        terms.map(|t| (Occur::Should, term_str(f, &t))).collect();
    if clauses.is_empty() {
        return Box::new(EmptyQuery);
    }
    Box::new(BooleanQuery::new(clauses))
}

impl InvoiceIndex {
    /// The tantivy query (terms only: buyer or its scope terms, seller, key, seller name) and
    /// the conditions the collector checks on each of its documents from cached columns.
    pub(super) fn build_query(&self, q: &InvoiceFilter) -> (Box<dyn Query>, Checks) {
        let f = self.fields();
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut sel = q.sel.clone();
        sel.sort_unstable();
        sel.dedup();
        let checks = Checks {
            issued: (q.issued_from.is_some() || q.issued_to.is_some()).then(|| {
                (
                    q.issued_from.map_or(i64::MIN, days),
                    q.issued_to.map_or(i64::MAX, days),
                )
            }),
            // Uncertified invoices carry 0: a lone upper bound must not match them.
            cert_on: (q.certified_from.is_some() || q.certified_to.is_some()).then(|| {
                (
                    q.certified_from.map(days).unwrap_or(1).max(1),
                    q.certified_to.map_or(i64::MAX, days),
                )
            }),
            status: q.status.map(|s| u64::from(s.code())),
            kind: q.kind.map(|k| u64::from(k.code())),
            period: q.period.map(u64::from),
            sel: (!sel.is_empty()).then(|| {
                sel.iter()
                    .filter(|v| **v < 64)
                    .fold(0u64, |m, v| m | (1 << v))
            }),
        };
        if let Some(b) = &q.buyer {
            let b = b.as_str();
            let certified = match (q.certified_from, q.certified_to) {
                (Some(from), Some(to)) => months(from, to),
                _ => None,
            };
            let issued = match (q.issued_from, q.issued_to) {
                (Some(from), Some(to)) => months(from, to),
                _ => None,
            };
            let driving = match (certified, issued) {
                // A certification range is the narrower: only certified documents, and
                // seldom more than a few months.
                (Some(ms), _) => any_of(
                    f.scope,
                    ms.into_iter().map(|m| super::scope_certified(b, m)),
                ),
                (None, Some(ms)) => any_of(f.scope, issued_terms(b, &ms, &sel).into_iter()),
                (None, None) => term_str(f.buyer, b),
            };
            must.push((Occur::Must, driving));
        }
        if let Some(s) = &q.seller {
            must.push((Occur::Must, term_str(f.seller, s.as_str())));
        }
        for (part, lo, hi) in key_conditions(q) {
            let field = match part {
                KeyPart::Code => f.code,
                KeyPart::Number => f.number,
            };
            must.push((Occur::Must, range_u64(field, lo, hi)));
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
            return (Box::new(tantivy::query::AllQuery), checks);
        }
        (Box::new(BooleanQuery::new(must)), checks)
    }

    /// The scope terms of a query the cells can answer (see [`super::cells`]): one that
    /// conditions only the buyer, the issue dates (a bounded range), the selection states,
    /// the status and the kind.
    fn cell_terms(&self, q: &InvoiceFilter, checks: &Checks) -> Option<Vec<PlanTerm>> {
        if !self
            .totals_from_cells
            .load(std::sync::atomic::Ordering::Relaxed)
            || checks.cert_on.is_some()
            || checks.period.is_some()
            || q.seller.is_some()
            || q.seller_name.is_some()
            || !key_conditions(q).is_empty()
        {
            return None;
        }
        let ms = months(q.issued_from?, q.issued_to?)?;
        let mut sel = q.sel.clone();
        sel.sort_unstable();
        sel.dedup();
        let buyer = q.buyer.as_ref()?.as_str();
        let mut out = Vec::new();
        for m in ms.iter().rev() {
            let first = NaiveDate::from_ymd_opt(i32::try_from(m / 100).ok()?, m % 100, 1)?;
            let last = first.checked_add_months(Months::new(1))?.pred_opt()?;
            for term in issued_terms(buyer, &[*m], &sel) {
                out.push(PlanTerm {
                    term,
                    first: days(first),
                    last: days(last),
                });
            }
        }
        Some(out)
    }

    /// Whether `inv` matches `q`, tested on the invoice itself: what the index finds for `q`
    /// among its documents (for the changes not committed yet, see [`super::overlay`]).
    pub(super) fn matches(&self, q: &InvoiceFilter, checks: &Checks, inv: &Invoice) -> bool {
        let (code, number) = key_pair(&inv.key);
        let term_conditions = q.buyer.as_ref().is_none_or(|b| *b == inv.buyer_id)
            && q.seller.as_ref().is_none_or(|s| *s == inv.seller_id)
            && key_conditions(q).iter().all(|(part, lo, hi)| {
                let v = match part {
                    KeyPart::Code => code,
                    KeyPart::Number => number,
                };
                (*lo..=*hi).contains(&v)
            })
            && q.seller_name.as_ref().is_none_or(|name| {
                let have = self.name_terms(&inv.seller_name);
                self.name_terms(name).iter().all(|t| have.contains(t))
            });
        term_conditions
            && checks.admit(&Values {
                status: u64::from(inv.status.code()),
                sel: super::sel_code(&inv.selection),
                kind: u64::from(inv.kind.code()),
                issued: days(inv.issued_on),
                cert_on: inv.selection.certified_on().map(days).unwrap_or(0),
                period: inv
                    .selection
                    .period()
                    .map(|p| u64::from(p.as_u32()))
                    .unwrap_or(0),
            })
    }

    /// The page `page` (1-based) of `per_page` matches, in the 发票勾选 order, with totals.
    /// A page past the end has no keys (the totals still count every match); the keys kept
    /// while collecting never exceed the documents in the index, whatever the page number.
    ///
    /// Changes not committed to the index yet count as they will once committed: their
    /// committed documents are left out and their new versions tested one by one.
    pub fn search(&self, q: &InvoiceFilter, page: usize, per_page: usize) -> AppResult<SearchPage> {
        Ok(self.search_reading(q, page, per_page)?.0)
    }

    /// [`InvoiceIndex::search`], and how many documents it read from the segments.
    pub(crate) fn search_reading(
        &self,
        q: &InvoiceFilter,
        page: usize,
        per_page: usize,
    ) -> AppResult<(SearchPage, u64)> {
        let offset = page.saturating_sub(1).saturating_mul(per_page);
        let (query, checks) = self.build_query(q);
        let (searcher, overlay) = self.view()?;
        let docs = usize::try_from(searcher.num_docs())
            .unwrap_or(usize::MAX)
            .saturating_add(overlay.len());
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
        self.cells.retain(&live);
        self.days.retain(&live);
        let collect = |query: &dyn Query, checks: &Checks, top_only: bool| {
            PageCollector {
                k,
                columns: &self.columns,
                checks,
                excluded: overlay.excluded(),
            }
            .run(&searcher, query, top_only)
            .map_err(tantivy_err)
        };
        let mut fruit = match self.cell_terms(q, &checks) {
            None => collect(&*query, &checks, false)?,
            Some(terms) => {
                // Count and totals from the cells; the page from the newest days that hold
                // it (all of its documents on those days collected, so that the order among
                // same-day documents is the collector's).
                let plan = Plan {
                    field: self.fields().scope,
                    buyer: q.buyer.as_ref().map(|b| b.as_str()).unwrap_or_default(),
                    terms,
                };
                let a = self
                    .cells
                    .answer(
                        &self.columns,
                        &searcher,
                        &plan,
                        &checks,
                        overlay.excluded(),
                        k,
                    )
                    .map_err(tantivy_err)?;
                let listed = match (k, a.from_day, checks.issued) {
                    // The page from the day lists (see [`super::days`]).
                    (1.., Some(from), Some((lo, hi))) => self
                        .days
                        .page(
                            &self.columns,
                            &searcher,
                            &plan,
                            &Checks {
                                issued: Some((lo.max(from), hi)),
                                ..checks.clone()
                            },
                            overlay.excluded(),
                            k,
                        )
                        .map_err(tantivy_err)?,
                    _ => None,
                };
                let (top, read) = if k == 0 {
                    (Vec::new(), 0)
                } else if let Some(listed) = listed {
                    listed
                } else {
                    let newest = a
                        .from_day
                        .and_then(|d| i32::try_from(d).ok())
                        .and_then(|d| crate::store::codec::days_to_date(d).ok())
                        .map(|d| InvoiceFilter {
                            issued_from: Some(q.issued_from.map_or(d, |f| f.max(d))),
                            ..q.clone()
                        });
                    let f = match newest {
                        Some(n) => {
                            let (query, checks) = self.build_query(&n);
                            collect(&*query, &checks, true)?
                        }
                        None => collect(&*query, &checks, true)?,
                    };
                    (f.top, f.read)
                };
                Fruit {
                    count: a.count,
                    amount: a.amount,
                    tax: a.tax,
                    top,
                    read,
                }
            }
        };
        let mut added = false;
        for e in overlay.entries() {
            let inv = &e.inv;
            if self.matches(q, &checks, inv) {
                fruit.count += 1;
                fruit.amount += inv.amount.value();
                fruit.tax += inv.tax.value();
                let (code, number) = key_pair(&inv.key);
                fruit.top.push((Reverse(days(inv.issued_on)), code, number));
                added = true;
            }
        }
        if added {
            fruit.top.sort_unstable();
            fruit.top.truncate(k);
        }
        let keys = fruit
            .top
            .iter()
            .skip(offset)
            .map(|(_, code, number): &Order| {
                key_from_pair(*code, *number)
                    .ok_or_else(|| AppError::internal("bad key in the index"))
            })
            .collect::<AppResult<Vec<_>>>()?;
        Ok((
            SearchPage {
                total: fruit.count,
                amount: fruit.amount,
                tax: fruit.tax,
                keys,
            },
            fruit.read,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    #[test]
    fn months_of_a_range() {
        assert_eq!(
            months(d(2025, 11, 30), d(2026, 2, 1)),
            Some(vec![202511, 202512, 202601, 202602])
        );
        assert_eq!(months(d(2026, 2, 28), d(2026, 2, 28)), Some(vec![202602]));
        assert_eq!(months(d(2026, 3, 1), d(2026, 2, 28)), Some(vec![]));
        assert_eq!(
            months(d(2022, 1, 1), d(2025, 12, 31)).map(|m| m.len()),
            Some(MAX_SCOPE_MONTHS)
        );
        assert_eq!(months(d(2022, 1, 1), d(2026, 1, 1)), None);
    }
}
