//! The page of a 发票勾选 query read from day lists: each day's documents of a scope term in
//! one segment, sorted in the page's order, worked out once and kept.
//!
//! A segment keeps a buyer's documents newest first by issue day only (see
//! [`super::cluster`]); within a day the page orders by code, then number, so the first `k`
//! of a day are known only once the whole day is read. A taxpayer with thousands of invoices
//! a day paid for reading its newest day whole on every page. Segments never change: the
//! documents of one scope term on one day, sorted by code and number, are listed the first
//! time a query needs that day and kept while the segment lives; the days of a term are
//! listed newest first, only as far back as queries have gone. Deleted documents and the
//! overlay's replaced ones (which grow after a day is listed) are skipped when a list is read.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tantivy::index::SegmentId;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, DocSet, Searcher, SegmentReader, Term, TERMINATED};

use super::cells::Plan;
use super::collect::{merge_sorted, Checks, ColumnCache, Merged, Order, PageColumns};

/// A listed document: its code and number columns, then its id in the segment.
type Entry = (u64, u64, DocId);

/// The most listed documents kept; past it every list is dropped and listed again as
/// queries need (24 bytes each, about 48 MB).
const MAX_ENTRIES: usize = 2_000_000;

/// The days of one scope term in one segment, listed so far.
struct TermDays {
    /// Newest first; each day's documents in the page order (code, then number).
    days: Vec<(i64, Arc<[Entry]>)>,
    /// The first document of the days not listed yet (`TERMINATED`: all are).
    next: DocId,
    /// Every day from this one on is listed (`i64::MAX`: none yet).
    listed_from: i64,
    /// The term's documents were found not newest first: its lists are never used.
    unordered: bool,
}

impl Default for TermDays {
    fn default() -> TermDays {
        TermDays {
            days: Vec::new(),
            next: 0,
            listed_from: i64::MAX,
            unordered: false,
        }
    }
}

type Slot = Arc<Mutex<TermDays>>;

/// The day lists of the terms queries have read, by segment and term.
#[derive(Default)]
pub struct DayCache {
    slots: Mutex<HashMap<SegmentId, HashMap<String, Slot>>>,
    entries: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a list leaves at worst a day not listed yet.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl TermDays {
    /// Lists the days of `term` in segment `r` down to day `until`, going on from where
    /// the last listing stopped. Like the collector's early stop, this relies on the
    /// segment's sort (`cluster`; `InvoiceIndex::open` re-creates an index sorted otherwise):
    /// a document met out of order makes the term's lists unusable for good, and the caller
    /// reads the page another way.
    fn list_until(
        &mut self,
        r: &SegmentReader,
        c: &PageColumns,
        field: Field,
        term: &str,
        until: i64,
    ) -> tantivy::Result<ListedOrNot> {
        let mut added = 0;
        if self.unordered {
            return Ok(ListedOrNot::NotNewestFirst);
        }
        if self.next == TERMINATED || self.listed_from <= until {
            return Ok(ListedOrNot::Listed(added));
        }
        let inverted = r.inverted_index(field)?;
        let Some(mut postings) = inverted.read_postings(
            &Term::from_field_text(field, term),
            IndexRecordOption::Basic,
        )?
        else {
            self.next = TERMINATED;
            return Ok(ListedOrNot::Listed(added));
        };
        let mut doc = postings.doc();
        if doc < self.next {
            doc = postings.seek(self.next);
        }
        let mut day: Option<i64> = None;
        let mut of_day: Vec<DocId> = Vec::new();
        let mut block: Vec<DocId> = Vec::with_capacity(64);
        let mut packed: Vec<u64> = Vec::with_capacity(64);
        loop {
            block.clear();
            while doc != TERMINATED && block.len() < 64 {
                block.push(doc);
                doc = postings.advance();
            }
            if block.is_empty() {
                break;
            }
            packed.resize(block.len(), 0);
            c.packed_vals(&block, &mut packed);
            for (d, p) in block.iter().zip(&packed) {
                let issued = c.issued_of(*d, *p);
                if issued >= day.unwrap_or(self.listed_from) {
                    if Some(issued) == day {
                        of_day.push(*d);
                        continue;
                    }
                    // The days listed so far may miss documents of this one.
                    self.unordered = true;
                    return Ok(ListedOrNot::NotNewestFirst);
                }
                // A new, older day: the one before it is complete.
                if let Some(done) = day {
                    added += self.add_day(c, done, &of_day);
                }
                if issued < until {
                    self.next = *d;
                    self.listed_from = issued + 1;
                    return Ok(ListedOrNot::Listed(added));
                }
                day = Some(issued);
                of_day.clear();
                of_day.push(*d);
            }
        }
        if let Some(done) = day {
            added += self.add_day(c, done, &of_day);
        }
        self.next = TERMINATED;
        self.listed_from = i64::MIN;
        Ok(ListedOrNot::Listed(added))
    }

    /// How many documents the lists hold.
    fn listed(&self) -> usize {
        self.days.iter().map(|(_, l)| l.len()).sum()
    }

    /// Keeps day `day`'s documents `docs` sorted in the page order; returns how many.
    fn add_day(&mut self, c: &PageColumns, day: i64, docs: &[DocId]) -> usize {
        let mut code = vec![0u64; docs.len()];
        let mut number = vec![0u64; docs.len()];
        c.code_number_vals(docs, &mut code, &mut number);
        let mut list: Vec<Entry> = docs
            .iter()
            .enumerate()
            .map(|(i, d)| (code[i], number[i], *d))
            .collect();
        list.sort_unstable();
        self.days.push((day, list.into()));
        docs.len()
    }
}

enum ListedOrNot {
    /// Listed, with this many documents more.
    Listed(usize),
    NotNewestFirst,
}

impl DayCache {
    fn slot(&self, segment: SegmentId, term: &str) -> Slot {
        let mut m = lock(&self.slots);
        if let Some(s) = m.get(&segment).and_then(|terms| terms.get(term)) {
            return s.clone();
        }
        if self.entries.load(Ordering::Relaxed) > MAX_ENTRIES {
            m.clear();
            self.entries.store(0, Ordering::Relaxed);
        }
        let s = Slot::default();
        m.entry(segment)
            .or_default()
            .insert(term.to_string(), s.clone());
        s
    }

    /// Forgets the lists of segments no longer in `live` (merged away or deleted).
    /// The documents they listed no longer count towards the bound.
    pub fn retain(&self, live: &[SegmentId]) {
        let mut m = lock(&self.slots);
        if m.keys().all(|s| live.contains(s)) {
            return;
        }
        let mut dropped = 0;
        m.retain(|s, terms| {
            if live.contains(s) {
                return true;
            }
            dropped += terms.values().map(|t| lock(t).listed()).sum::<usize>();
            false
        });
        // Under the map's lock, as `slot`'s reset is: the counter cannot be cleared between.
        let _ = self
            .entries
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(dropped))
            });
    }

    /// The documents counted as listed, and those the lists hold (for tests).
    #[cfg(test)]
    pub fn counted_and_listed(&self) -> (usize, usize) {
        let m = lock(&self.slots);
        let listed = m
            .values()
            .flat_map(|terms| terms.values())
            .map(|t| lock(t).listed())
            .sum();
        (self.entries.load(Ordering::Relaxed), listed)
    }

    /// The first `k` in the page order of the documents under `plan`'s terms (a buyer's
    /// scope terms, each with its month's first and last day) that meet `checks` (its issue-date
    /// range says which days are listed and read), leaving out `excluded` (by segment
    /// ordinal); and how many documents were read (listed, then looked at in the lists).
    /// `None` when a segment does not keep the terms' documents newest first.
    pub fn page(
        &self,
        columns: &ColumnCache,
        searcher: &Searcher,
        plan: &Plan<'_>,
        checks: &Checks,
        excluded: &HashMap<u32, Vec<DocId>>,
        k: usize,
    ) -> tantivy::Result<Option<(Vec<Order>, u64)>> {
        let (from, hi) = checks.issued.unwrap_or((i64::MIN, i64::MAX));
        let mut tops = Vec::with_capacity(searcher.segment_readers().len());
        let mut read = 0u64;
        for (ord, r) in searcher.segment_readers().iter().enumerate() {
            let c = columns.get(r)?;
            let mut days: Vec<(i64, Arc<[Entry]>)> = Vec::new();
            for t in plan
                .terms
                .iter()
                .filter(|t| t.last >= from && t.first <= hi)
            {
                let slot = self.slot(r.segment_id(), &t.term);
                let mut td = lock(&slot);
                match td.list_until(r, &c, plan.field, &t.term, from.max(t.first))? {
                    ListedOrNot::Listed(n) => {
                        self.entries.fetch_add(n, Ordering::Relaxed);
                        read += n as u64;
                    }
                    ListedOrNot::NotNewestFirst => return Ok(None),
                }
                days.extend(
                    td.days
                        .iter()
                        .filter(|(d, _)| (from..=hi).contains(d))
                        .cloned(),
                );
            }
            // Newest first; a day's lists (one per term of its month) side by side.
            days.sort_by_key(|(d, _)| Reverse(*d));
            let excluded = u32::try_from(ord)
                .ok()
                .and_then(|o| excluded.get(&o))
                .map_or(&[][..], Vec::as_slice);
            let alive = r.alive_bitset();
            let mut top: Vec<Order> = Vec::with_capacity(k.min(1024));
            let mut at = 0;
            while at < days.len() && top.len() < k {
                let day = days[at].0;
                let end = at + days[at..].iter().take_while(|(d, _)| *d == day).count();
                let lists: Vec<&[Entry]> = days[at..end].iter().map(|(_, l)| &l[..]).collect();
                for (code, number, doc) in Merged::new(lists) {
                    read += 1;
                    if alive.is_some_and(|b| b.is_deleted(doc))
                        || excluded.binary_search(&doc).is_ok()
                        || !checks.pass(&c, doc, c.packed_of(doc))
                    {
                        continue;
                    }
                    top.push((Reverse(day), code, number));
                    if top.len() >= k {
                        break;
                    }
                }
                at = end;
            }
            tops.push(top);
        }
        Ok(Some((merge_sorted(tops, k), read)))
    }
}
