//! Totals by issue day and state of each scope term, per segment: what lets a 发票勾选 query
//! answer its count and totals without visiting every matching document, and collect its
//! page from the newest days only.
//!
//! A scope term (a buyer's documents issued in one month in one selection state, see
//! [`super::scope_issued`]) holds, in one segment, a few hundred *cells*: one per issue day,
//! status, kind and selection state, with how many live documents fall in it and their
//! amount and tax. A query that only conditions the buyer, the issue dates, the selection
//! states, the status and the kind (the usual 发票勾选 query) sums the cells its conditions
//! admit, instead of reading the columns of every document; the per-day counts then say from
//! which day on the newest documents fill the page, and only those days are collected.
//!
//! Segments never change, but their deleted documents grow with every commit that replaces
//! or removes one of theirs: the cells of a segment are kept for one count of deleted
//! documents (deletions only grow, so the count names the set) and computed again, term by
//! term as queries need them, when it changes. The overlay's replaced documents (see
//! [`super::overlay`]) are taken out of the sums one by one.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use tantivy::fastfield::AliveBitSet;
use tantivy::index::SegmentId;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, DocSet, Searcher, SegmentReader, Term, TERMINATED};

use super::collect::{Checks, ColumnCache, PageColumns, Values};

/// The live documents of one scope term in one segment with the same issue day, status,
/// kind and selection state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    pub day: i64,
    pub status: u64,
    pub kind: u64,
    pub sel: u64,
    pub count: u64,
    pub amount: i64,
    pub tax: i64,
}

impl Cell {
    /// The values the conditions test. The certification date and the period are not in a
    /// cell: queries conditioning them are not answered from cells ([`Plan`]).
    fn values(&self) -> Values {
        Values {
            status: self.status,
            sel: self.sel,
            kind: self.kind,
            issued: self.day,
            cert_on: 0,
            period: 0,
        }
    }
}

/// The cells of `term`'s live documents in segment `r`.
fn compute(
    r: &SegmentReader,
    c: &PageColumns,
    field: Field,
    term: &str,
) -> tantivy::Result<TermCells> {
    let inverted = r.inverted_index(field)?;
    let Some(mut postings) = inverted.read_postings(
        &Term::from_field_text(field, term),
        IndexRecordOption::Basic,
    )?
    else {
        return Ok(TermCells::default());
    };
    let alive = r.alive_bitset();
    let mut groups: HashMap<(i64, u64, u64, u64), Cell> = HashMap::new();
    let mut docs: Vec<DocId> = Vec::with_capacity(128);
    let mut values = Vec::new();
    let mut doc = postings.doc();
    loop {
        docs.clear();
        while doc != TERMINATED && docs.len() < 128 {
            if alive.is_none_or(|b| b.is_alive(doc)) {
                docs.push(doc);
            }
            doc = postings.advance();
        }
        if docs.is_empty() {
            break;
        }
        c.values_of(&docs, &mut values);
        for (v, amount, tax) in &values {
            let g = groups
                .entry((v.issued, v.status, v.kind, v.sel))
                .or_insert(Cell {
                    day: v.issued,
                    status: v.status,
                    kind: v.kind,
                    sel: v.sel,
                    count: 0,
                    amount: 0,
                    tax: 0,
                });
            g.count += 1;
            g.amount += amount;
            g.tax += tax;
        }
    }
    let mut cells: Vec<Cell> = groups.into_values().collect();
    cells.sort_unstable_by_key(|c| (std::cmp::Reverse(c.day), c.status, c.kind, c.sel));
    let mut whole: HashMap<(u64, u64, u64), Cell> = HashMap::new();
    for c in &cells {
        let w = whole.entry((c.status, c.kind, c.sel)).or_insert(Cell {
            count: 0,
            amount: 0,
            tax: 0,
            ..*c
        });
        w.count += c.count;
        w.amount += c.amount;
        w.tax += c.tax;
    }
    Ok(TermCells {
        days: cells,
        whole: whole.into_values().collect(),
    })
}

/// A term's cells in one segment: by day (newest first), and summed over the days (each
/// with the day of one of its cells: for the terms whose whole month a query's range holds).
#[derive(Debug, Default, Clone)]
pub struct TermCells {
    days: Vec<Cell>,
    whole: Vec<Cell>,
}

#[derive(Default)]
struct SegmentCells {
    /// The segment's deleted documents the cells count without.
    deleted: u32,
    /// Which documents those are (`None`: none).
    alive: Option<AliveBitSet>,
    terms: HashMap<String, Arc<TermCells>>,
}

impl TermCells {
    /// Takes out one document.
    fn remove(&mut self, v: &Values, amount: i64, tax: i64) {
        let same = |c: &&mut Cell| (c.status, c.kind, c.sel) == (v.status, v.kind, v.sel);
        for c in self
            .days
            .iter_mut()
            .filter(|c| c.day == v.issued)
            .filter(same)
            .take(1)
        {
            c.count = c.count.saturating_sub(1);
            c.amount -= amount;
            c.tax -= tax;
        }
        for c in self.whole.iter_mut().filter(same).take(1) {
            c.count = c.count.saturating_sub(1);
            c.amount -= amount;
            c.tax -= tax;
        }
    }
}

impl SegmentCells {
    /// Brings the kept cells to segment `r`'s deletions, more than those they count
    /// without: the documents deleted since are taken out of the terms that hold them.
    fn follow_deletions(
        &mut self,
        r: &SegmentReader,
        c: &PageColumns,
        field: Field,
    ) -> tantivy::Result<()> {
        let now = r.alive_bitset();
        if self.terms.is_empty() {
            self.deleted = r.num_deleted_docs();
            self.alive = now.cloned();
            return Ok(());
        }
        let gone: Vec<DocId> = (0..r.max_doc())
            .filter(|d| {
                self.alive.as_ref().is_none_or(|b| b.is_alive(*d))
                    && now.is_some_and(|b| b.is_deleted(*d))
            })
            .collect();
        self.deleted = r.num_deleted_docs();
        self.alive = now.cloned();
        if gone.is_empty() {
            return Ok(());
        }
        let mut values = Vec::new();
        c.values_of(&gone, &mut values);
        // A document is under one issue-month term: the terms of the months and states of
        // the deleted documents (whoever their buyer) are searched for them.
        let ends: std::collections::HashSet<String> = values
            .iter()
            .map(|(v, _, _)| super::scope_issued_on("", v.issued, v.sel))
            .collect();
        let inverted = r.inverted_index(field)?;
        for (term, cells) in self.terms.iter_mut() {
            if !ends
                .iter()
                .any(|e| !e.is_empty() && term.ends_with(e.as_str()))
            {
                continue;
            }
            let Some(mut postings) = inverted.read_postings(
                &Term::from_field_text(field, term),
                IndexRecordOption::Basic,
            )?
            else {
                continue;
            };
            let mut changed: Option<TermCells> = None;
            for (doc, (v, amount, tax)) in gone.iter().zip(&values) {
                let at = postings.doc();
                if at == TERMINATED {
                    break;
                }
                if at > *doc || (at < *doc && postings.seek(*doc) != *doc) {
                    continue;
                }
                changed
                    .get_or_insert_with(|| TermCells::clone(cells))
                    .remove(v, *amount, *tax);
            }
            if let Some(t) = changed {
                *cells = Arc::new(t);
            }
        }
        Ok(())
    }
}

/// The cells computed so far, by segment and term.
#[derive(Default)]
pub struct CellCache {
    by_segment: Mutex<HashMap<SegmentId, SegmentCells>>,
}

impl CellCache {
    fn get(
        &self,
        r: &SegmentReader,
        c: &PageColumns,
        field: Field,
        term: &str,
    ) -> tantivy::Result<Arc<TermCells>> {
        let id = r.segment_id();
        let deleted = r.num_deleted_docs();
        if let Some(s) = self.lock().get(&id) {
            if s.deleted == deleted {
                if let Some(cells) = s.terms.get(term) {
                    return Ok(cells.clone());
                }
            }
        }
        {
            let mut m = self.lock();
            let s = m.entry(id).or_default();
            if deleted > s.deleted {
                s.follow_deletions(r, c, field)?;
                if let Some(cells) = s.terms.get(term) {
                    return Ok(cells.clone());
                }
            }
        }
        let cells = Arc::new(compute(r, c, field, term)?);
        let mut m = self.lock();
        let s = m.entry(id).or_default();
        if s.deleted != deleted {
            // An older searcher's view of the segment (a query that began before the last
            // commit), or a newer one's the kept cells were brought to meanwhile: answered,
            // not kept.
            return Ok(cells);
        }
        s.terms.insert(term.to_string(), cells.clone());
        Ok(cells)
    }

    /// Each kept segment's deletion count and number of terms.
    #[cfg(test)]
    pub(super) fn lock_for_tests(&self) -> HashMap<SegmentId, (u32, usize)> {
        self.lock()
            .iter()
            .map(|(k, s)| (*k, (s.deleted, s.terms.len())))
            .collect()
    }

    /// Forgets the cells of segments no longer in `live` (merged away or deleted).
    pub fn retain(&self, live: &[SegmentId]) {
        let mut m = self.lock();
        if m.keys().any(|k| !live.contains(k)) {
            m.retain(|k, _| live.contains(k));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SegmentId, SegmentCells>> {
        // A panic while holding the map leaves nothing half-written in it.
        self.by_segment
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A query the cells answer: its buyer and scope terms.
pub struct Plan<'a> {
    pub field: Field,
    pub buyer: &'a str,
    /// Newest month first.
    pub terms: Vec<PlanTerm>,
}

/// A scope term and the first and last day of its month.
pub struct PlanTerm {
    pub term: String,
    pub first: i64,
    pub last: i64,
}

/// What the cells answer: the count and totals of the matching live documents of the
/// searcher (the overlay's replaced ones left out), and the earliest issue day the first
/// `k` of them in the page order need (`None`: all of them).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Answer {
    pub count: u64,
    pub amount: i64,
    pub tax: i64,
    pub from_day: Option<i64>,
}

/// Whether `doc` of segment `r` is under `term`.
fn has_term(r: &SegmentReader, field: Field, term: &str, doc: DocId) -> tantivy::Result<bool> {
    let inverted = r.inverted_index(field)?;
    let Some(mut postings) = inverted.read_postings(
        &Term::from_field_text(field, term),
        IndexRecordOption::Basic,
    )?
    else {
        return Ok(false);
    };
    // (`seek` wants a target at or after the current document.)
    let first = postings.doc();
    Ok(first == doc || (first < doc && postings.seek(doc) == doc))
}

impl CellCache {
    /// Answers `plan` over `searcher` for documents meeting `checks`, leaving out the
    /// documents in `excluded` (by segment ordinal); `k` is how many of the first documents
    /// in the page order the caller will collect.
    pub fn answer(
        &self,
        columns: &ColumnCache,
        searcher: &Searcher,
        plan: &Plan<'_>,
        checks: &Checks,
        excluded: &HashMap<u32, Vec<DocId>>,
        k: usize,
    ) -> tantivy::Result<Answer> {
        let mut a = Answer::default();
        let inside = |t: &PlanTerm| {
            checks
                .issued
                .is_none_or(|(lo, hi)| lo <= t.first && t.last <= hi)
        };
        // The cells by segment and term, and the days of the left-out documents that match.
        let mut cells: Vec<Vec<Arc<TermCells>>> = Vec::new();
        let mut left_out: Vec<i64> = Vec::new();
        for (ord, r) in searcher.segment_readers().iter().enumerate() {
            let c = columns.get(r)?;
            let mut of_segment = Vec::with_capacity(plan.terms.len());
            for t in &plan.terms {
                let tc = self.get(r, &c, plan.field, &t.term)?;
                let sum = if inside(t) { &tc.whole } else { &tc.days };
                for cell in sum {
                    if checks.admit(&cell.values()) {
                        a.count += cell.count;
                        a.amount += cell.amount;
                        a.tax += cell.tax;
                    }
                }
                of_segment.push(tc);
            }
            cells.push(of_segment);
            let Some(docs) = u32::try_from(ord).ok().and_then(|o| excluded.get(&o)) else {
                continue;
            };
            let mut values = Vec::new();
            c.values_of(docs, &mut values);
            for (doc, (v, amount, tax)) in docs.iter().zip(&values) {
                if !checks.admit(v) {
                    continue;
                }
                let term = super::scope_issued_on(plan.buyer, v.issued, v.sel);
                if plan.terms.iter().any(|t| t.term == term)
                    && has_term(r, plan.field, &term, *doc)?
                {
                    a.count = a.count.saturating_sub(1);
                    a.amount -= amount;
                    a.tax -= tax;
                    left_out.push(v.issued);
                }
            }
        }
        if k == 0 {
            return Ok(a);
        }
        // The newest days, month by month, until they hold `k` documents.
        let mut seen: i64 = 0;
        let mut at = 0;
        while at < plan.terms.len() {
            let month = (plan.terms[at].first, plan.terms[at].last);
            let end = at
                + plan.terms[at..]
                    .iter()
                    .take_while(|t| (t.first, t.last) == month)
                    .count();
            let mut by_day: BTreeMap<i64, i64> = BTreeMap::new();
            for of_segment in &cells {
                for tc in &of_segment[at..end] {
                    for cell in &tc.days {
                        if checks.admit(&cell.values()) {
                            *by_day.entry(cell.day).or_default() += cell.count as i64;
                        }
                    }
                }
            }
            for d in &left_out {
                if (month.0..=month.1).contains(d) {
                    *by_day.entry(*d).or_default() -= 1;
                }
            }
            for (day, n) in by_day.iter().rev() {
                seen += n;
                if seen >= k as i64 {
                    a.from_day = Some(*day);
                    return Ok(a);
                }
            }
            at = end;
        }
        Ok(a)
    }
}
