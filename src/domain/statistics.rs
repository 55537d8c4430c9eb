//! 抵扣统计 (S-T9): the deduction statistics table of a taxpayer's period — count, amount and
//! tax by invoice type × certification method — and its exception list, with the figures of
//! each 勾选用途 (抵扣, 不抵扣, 退税, 代办退税), as plain data with one way to add an invoice to
//! it. Every computation (the index pipeline, the recomputation from redb, the tests'
//! hand-made expectations) goes through [`Tally::add`], and partial tallies merge by
//! addition, so a parallel pipeline gives the same table as a sequential one.

use std::ops::AddAssign;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::{
    CertMethod, Fen, Invoice, InvoiceKey, InvoiceStatus, InvoiceType, InvoiceUse, SelectionState,
    TaxPeriod,
};

/// A count with its amount and tax.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    pub count: u64,
    pub amount: Fen,
    pub tax: Fen,
}

impl Cell {
    pub fn add(&mut self, amount: Fen, tax: Fen) {
        self.count += 1;
        self.amount += amount;
        self.tax += tax;
    }

    pub fn minus(self, other: Cell) -> Cell {
        Cell {
            count: self.count.saturating_sub(other.count),
            amount: self.amount - other.amount,
            tax: self.tax - other.tax,
        }
    }
}

impl AddAssign for Cell {
    fn add_assign(&mut self, o: Cell) {
        self.count += o.count;
        self.amount += o.amount;
        self.tax += o.tax;
    }
}

/// How many kinds the table has: one row each, always shown (zero rows when empty).
pub const KINDS: usize = InvoiceType::ALL.len();

/// The manual's three kinds (专票, 货运专票, 机动车票): always a row, zeros when empty.
pub const STANDARD_KINDS: usize = 3;

/// The invoice types of the table: the manual's three first, then today's documents.
pub const TYPES: [InvoiceType; KINDS] = InvoiceType::ALL;

fn type_index(t: InvoiceType) -> usize {
    TYPES.iter().position(|x| *x == t).unwrap_or(0)
}

fn method_index(m: CertMethod) -> usize {
    match m {
        CertMethod::Selection => 0,
        CertMethod::Scan => 1,
    }
}

/// One invoice certified in a period, as the table counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub kind: InvoiceType,
    pub method: CertMethod,
    pub status: InvoiceStatus,
    /// 勾选用途 (a scan-certified invoice is 抵扣).
    pub use_: InvoiceUse,
    pub amount: Fen,
    /// The face tax (what 不抵扣 counts).
    pub tax: Fen,
    /// 有效税额: what 抵扣, 退税 and 代办退税 count — the deductible tax (for 农产品 the
    /// computed deduction) unless the taxpayer lowered it.
    pub effective_tax: Fen,
}

impl Entry {
    /// The entry of a certified invoice (confirmed, of any use, or scan-certified) with the
    /// period it was certified for; `None` for an invoice not certified.
    pub fn of(inv: &Invoice) -> Option<(TaxPeriod, Entry)> {
        let (period, method, effective_tax) = match inv.selection {
            SelectionState::Confirmed { period, .. } => {
                (period, CertMethod::Selection, inv.effective_tax())
            }
            // Scan certification deducts the whole deductible tax.
            SelectionState::Scanned { period, .. } => {
                (period, CertMethod::Scan, inv.deductible_tax())
            }
            SelectionState::Unselected | SelectionState::Selected { .. } => return None,
        };
        Some((
            period,
            Entry {
                kind: inv.kind,
                method,
                status: inv.status,
                use_: inv.use_().unwrap_or_default(),
                amount: inv.amount,
                tax: inv.tax,
                effective_tax,
            },
        ))
    }
}

/// The raw figures of a period. 抵扣: certified invoices by type × method, and of those the
/// ones that have since become 作废, 失控, 红冲 or 异常 (not valid for deduction), with their
/// keys — counting 有效税额. The other uses by type: 不抵扣 (counting the face tax), 退税 and
/// 代办退税 (counting 有效税额); those are not deducted, so they are neither certified nor
/// exceptions here.
/// `K` is how exception invoices are named: their [`InvoiceKey`] by default; a pipeline may
/// carry a cheaper form and [`map_keys`](Tally::map_keys) at the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally<K = InvoiceKey> {
    /// `[type][method]`, the invoices certified for 抵扣.
    pub certified: [[Cell; 2]; KINDS],
    /// `[type][method]`, the exceptions among them.
    pub exceptions: [[Cell; 2]; KINDS],
    /// `[type]`, confirmed for 不抵扣 (tax: the face tax).
    pub no_deduct: [Cell; KINDS],
    /// `[type]`, confirmed for 退税 (tax: 有效税额).
    pub refund: [Cell; KINDS],
    /// `[type]`, confirmed for 代办退税 (tax: 有效税额).
    pub agent_refund: [Cell; KINDS],
    /// Keys of the exception invoices (sorted by [`finish`](Tally::finish)).
    pub exception_keys: Vec<K>,
}

impl<K> Default for Tally<K> {
    fn default() -> Self {
        Tally {
            certified: Default::default(),
            exceptions: Default::default(),
            no_deduct: Default::default(),
            refund: Default::default(),
            agent_refund: Default::default(),
            exception_keys: Vec::new(),
        }
    }
}

fn add_cells<const N: usize>(to: &mut [Cell; N], from: &[Cell; N]) {
    for (a, b) in to.iter_mut().zip(from) {
        *a += *b;
    }
}

impl<K> Tally<K> {
    /// Adds one invoice certified in the period; `key` is only called for an exception
    /// (of 抵扣).
    pub fn add(&mut self, key: impl FnOnce() -> K, e: Entry) {
        let t = type_index(e.kind);
        match e.use_ {
            InvoiceUse::Deduct => {
                let m = method_index(e.method);
                self.certified[t][m].add(e.amount, e.effective_tax);
                if e.status.is_exception() {
                    self.exceptions[t][m].add(e.amount, e.effective_tax);
                    self.exception_keys.push(key());
                }
            }
            InvoiceUse::NoDeduct => self.no_deduct[t].add(e.amount, e.tax),
            InvoiceUse::Refund => self.refund[t].add(e.amount, e.effective_tax),
            InvoiceUse::AgentRefund => self.agent_refund[t].add(e.amount, e.effective_tax),
        }
    }

    /// Adds a partial tally (from another segment or thread).
    pub fn merge(&mut self, other: Tally<K>) {
        for t in 0..KINDS {
            add_cells(&mut self.certified[t], &other.certified[t]);
            add_cells(&mut self.exceptions[t], &other.exceptions[t]);
        }
        add_cells(&mut self.no_deduct, &other.no_deduct);
        add_cells(&mut self.refund, &other.refund);
        add_cells(&mut self.agent_refund, &other.agent_refund);
        self.exception_keys.extend(other.exception_keys);
    }

    /// Renames the exception keys.
    pub fn map_keys<K2, E>(self, f: impl FnMut(K) -> Result<K2, E>) -> Result<Tally<K2>, E> {
        Ok(Tally {
            certified: self.certified,
            exceptions: self.exceptions,
            no_deduct: self.no_deduct,
            refund: self.refund,
            agent_refund: self.agent_refund,
            exception_keys: self
                .exception_keys
                .into_iter()
                .map(f)
                .collect::<Result<_, _>>()?,
        })
    }

    /// Whether the figures (every cell, not the keys) equal `other`'s.
    pub fn same_figures<K2>(&self, other: &Tally<K2>) -> bool {
        self.certified == other.certified
            && self.exceptions == other.exceptions
            && self.no_deduct == other.no_deduct
            && self.refund == other.refund
            && self.agent_refund == other.agent_refund
    }
}

impl<K: Ord> Tally<K> {
    /// Sorts the exception keys (call once, after the last merge).
    pub fn finish(mut self) -> Tally<K> {
        self.exception_keys.sort();
        self
    }
}

impl<K> Tally<K> {
    /// Whether the kind at `t` has any certified invoice of any use.
    fn any_of_kind(&self, t: usize) -> bool {
        self.certified[t].iter().any(|c| c.count > 0)
            || self.no_deduct[t].count > 0
            || self.refund[t].count > 0
            || self.agent_refund[t].count > 0
    }

    /// The table as the API and page show it: one row per type and a total row, each with
    /// 勾选认证, 扫描认证 and 合计, certified (for 抵扣) and valid for deduction, and the
    /// 抵扣 / 不抵扣 figures.
    pub fn rows(&self) -> Vec<Row> {
        let mut out = Vec::with_capacity(KINDS + 1);
        let mut total = Row::default();
        for (t, kind) in TYPES.iter().enumerate() {
            // The manual's three kinds always have their row (zeros when empty); today's
            // documents have theirs when the period has any, of any use.
            if t >= STANDARD_KINDS && !self.any_of_kind(t) {
                continue;
            }
            let row = Row::of(
                Some(*kind),
                self.certified[t],
                self.exceptions[t],
                self.no_deduct[t],
            );
            total.add(&row);
            out.push(row);
        }
        out.push(total);
        out
    }

    /// The 退税 table: a row per type with any 退税 or 代办退税 invoice, then the total row
    /// (always, zeros when the period has none).
    pub fn refund_rows(&self) -> Vec<RefundRow> {
        let mut out = Vec::new();
        let mut total = RefundRow::default();
        for (t, kind) in TYPES.iter().enumerate() {
            if self.refund[t].count == 0 && self.agent_refund[t].count == 0 {
                continue;
            }
            total.refund += self.refund[t];
            total.agent_refund += self.agent_refund[t];
            out.push(RefundRow {
                kind: Some(*kind),
                refund: self.refund[t],
                agent_refund: self.agent_refund[t],
            });
        }
        out.push(total);
        out
    }

    /// Certified count and tax of the period (勾选 + 扫描, for 抵扣), as the workbench card
    /// shows.
    pub fn certified_total(&self) -> Cell {
        let mut c = Cell::default();
        for t in 0..KINDS {
            for m in 0..2 {
                c += self.certified[t][m];
            }
        }
        c
    }
}

/// The figures of a computed tally kept for its (taxpayer, period), with when they were
/// computed. The exception keys are kept apart (the store keeps them as a flat array so
/// a page of them is read without decoding the rest), so a cached answer decodes in
/// microseconds however long the exception list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cached {
    pub certified: [[Cell; 2]; KINDS],
    pub exceptions: [[Cell; 2]; KINDS],
    pub no_deduct: [Cell; KINDS],
    pub refund: [Cell; KINDS],
    pub agent_refund: [Cell; KINDS],
    pub exception_count: u64,
    pub computed_at: DateTime<FixedOffset>,
}

impl Cached {
    pub fn new<K>(tally: &Tally<K>, computed_at: DateTime<FixedOffset>) -> Cached {
        Cached {
            certified: tally.certified,
            exceptions: tally.exceptions,
            no_deduct: tally.no_deduct,
            refund: tally.refund,
            agent_refund: tally.agent_refund,
            exception_count: tally.exception_keys.len() as u64,
            computed_at,
        }
    }

    /// The figures as a tally without keys (for [`Tally::rows`]).
    pub fn figures(&self) -> Tally<()> {
        Tally {
            certified: self.certified,
            exceptions: self.exceptions,
            no_deduct: self.no_deduct,
            refund: self.refund,
            agent_refund: self.agent_refund,
            exception_keys: Vec::new(),
        }
    }
}

/// By method: 勾选认证, 扫描认证, 合计.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByMethod {
    pub selection: Cell,
    pub scan: Cell,
    pub total: Cell,
}

impl ByMethod {
    fn of(cells: [Cell; 2]) -> ByMethod {
        let mut total = cells[0];
        total += cells[1];
        ByMethod {
            selection: cells[0],
            scan: cells[1],
            total,
        }
    }

    fn add(&mut self, o: &ByMethod) {
        self.selection += o.selection;
        self.scan += o.scan;
        self.total += o.total;
    }
}

/// One row of the table. `kind: None` is the total row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Row {
    pub kind: Option<InvoiceType>,
    /// 已认证: every invoice certified for 抵扣 in the period (tax: 有效税额).
    pub certified: ByMethod,
    /// 异常: certified, since become 作废/失控/红冲/异常.
    pub exceptions: ByMethod,
    /// 可抵扣: certified minus the exceptions.
    pub deductible: ByMethod,
    /// 不抵扣: 份数, 金额, 税额 (the face tax).
    pub no_deduct: Cell,
}

impl Row {
    fn of(
        kind: Option<InvoiceType>,
        certified: [Cell; 2],
        exceptions: [Cell; 2],
        no_deduct: Cell,
    ) -> Row {
        let c = ByMethod::of(certified);
        let e = ByMethod::of(exceptions);
        Row {
            kind,
            certified: c,
            exceptions: e,
            deductible: ByMethod {
                selection: c.selection.minus(e.selection),
                scan: c.scan.minus(e.scan),
                total: c.total.minus(e.total),
            },
            no_deduct,
        }
    }

    /// 抵扣: 份数, 金额, 有效税额 of the 抵扣 invoices (勾选 and 扫描) — the certified total.
    pub fn deduct(&self) -> Cell {
        self.certified.total
    }

    fn add(&mut self, o: &Row) {
        self.certified.add(&o.certified);
        self.exceptions.add(&o.exceptions);
        self.deductible.add(&o.deductible);
        self.no_deduct += o.no_deduct;
    }
}

/// One row of the 退税 table. `kind: None` is the total row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefundRow {
    pub kind: Option<InvoiceType>,
    /// 退税: 份数, 金额, 有效税额.
    pub refund: Cell,
    /// 代办退税: 份数, 金额, 有效税额.
    pub agent_refund: Cell,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(n: u32) -> InvoiceKey {
        InvoiceKey::parse("1100162130", &format!("{n:08}")).unwrap()
    }

    fn f(v: i64) -> Fen {
        Fen::new(v)
    }

    /// An invoice certified for 抵扣 of its whole deductible tax.
    fn d(
        kind: InvoiceType,
        method: CertMethod,
        status: InvoiceStatus,
        amount: Fen,
        tax: Fen,
    ) -> Entry {
        Entry {
            kind,
            method,
            status,
            use_: InvoiceUse::Deduct,
            amount,
            tax,
            effective_tax: crate::domain::invoice::deductible_tax(kind, amount, tax),
        }
    }

    /// Every cell of the table against hand-computed figures.
    #[test]
    fn every_cell_by_hand() {
        use CertMethod::*;
        use InvoiceStatus::*;
        use InvoiceType::*;
        let mut t = Tally::default();
        // special: 勾选 100/13 + 200/26 (voided) ; 扫描 50/6
        t.add(|| k(1), d(Special, Selection, Normal, f(10_000), f(1_300)));
        t.add(|| k(2), d(Special, Selection, Voided, f(20_000), f(2_600)));
        t.add(|| k(3), d(Special, Scan, Normal, f(5_000), f(650)));
        // freight: 扫描 300/27 (失控)
        t.add(|| k(4), d(Freight, Scan, OutOfControl, f(30_000), f(2_700)));
        // motor vehicle: 勾选 1000/130 ×2, one 红冲; 扫描 400/52 (异常)
        t.add(
            || k(5),
            d(MotorVehicle, Selection, Normal, f(100_000), f(13_000)),
        );
        t.add(
            || k(6),
            d(MotorVehicle, Selection, RedReversed, f(100_000), f(13_000)),
        );
        t.add(
            || k(7),
            d(MotorVehicle, Scan, Abnormal, f(40_000), f(5_200)),
        );
        let t = t.finish();
        let rows = t.rows();
        let cell = |count, amount, tax| Cell {
            count,
            amount: f(amount),
            tax: f(tax),
        };
        // The manual's three kinds and the total: today's documents have no row when the
        // period has none of them.
        assert_eq!(rows.len(), STANDARD_KINDS + 1);
        // 增值税专用发票
        assert_eq!(rows[0].kind, Some(Special));
        assert_eq!(rows[0].certified.selection, cell(2, 30_000, 3_900));
        assert_eq!(rows[0].certified.scan, cell(1, 5_000, 650));
        assert_eq!(rows[0].certified.total, cell(3, 35_000, 4_550));
        assert_eq!(rows[0].exceptions.selection, cell(1, 20_000, 2_600));
        assert_eq!(rows[0].exceptions.scan, cell(0, 0, 0));
        assert_eq!(rows[0].deductible.selection, cell(1, 10_000, 1_300));
        assert_eq!(rows[0].deductible.scan, cell(1, 5_000, 650));
        assert_eq!(rows[0].deductible.total, cell(2, 15_000, 1_950));
        // 货运专用发票
        assert_eq!(rows[1].certified.selection, cell(0, 0, 0));
        assert_eq!(rows[1].certified.scan, cell(1, 30_000, 2_700));
        assert_eq!(rows[1].exceptions.total, cell(1, 30_000, 2_700));
        assert_eq!(rows[1].deductible.total, cell(0, 0, 0));
        // 机动车销售统一发票
        assert_eq!(rows[2].certified.selection, cell(2, 200_000, 26_000));
        assert_eq!(rows[2].certified.scan, cell(1, 40_000, 5_200));
        assert_eq!(rows[2].certified.total, cell(3, 240_000, 31_200));
        assert_eq!(rows[2].deductible.selection, cell(1, 100_000, 13_000));
        assert_eq!(rows[2].deductible.scan, cell(0, 0, 0));
        // 合计
        let total = &rows[STANDARD_KINDS];
        assert_eq!(total.kind, None);
        assert_eq!(total.certified.selection, cell(4, 230_000, 29_900));
        assert_eq!(total.certified.scan, cell(3, 75_000, 8_550));
        assert_eq!(total.certified.total, cell(7, 305_000, 38_450));
        assert_eq!(total.exceptions.total, cell(4, 190_000, 23_500));
        assert_eq!(total.deductible.total, cell(3, 115_000, 14_950));
        assert_eq!(t.certified_total(), cell(7, 305_000, 38_450));
        assert_eq!(t.exception_keys, vec![k(2), k(4), k(6), k(7)]);
    }

    #[test]
    fn todays_documents_have_their_rows_and_agricultural_deducts_the_computed_tax() {
        use CertMethod::*;
        use InvoiceStatus::*;
        use InvoiceType::*;
        let f = Fen::new;
        let mut t = Tally::<u32>::default();
        t.add(
            || 1,
            d(DigitalSpecial, Selection, Normal, f(100_000), f(13_000)),
        );
        t.add(
            || 2,
            d(DigitalSpecial, Selection, OutOfControl, f(50_000), f(6_500)),
        );
        t.add(
            || 3,
            d(Customs, Selection, Normal, f(1_000_000), f(130_000)),
        );
        // 10,000.00 yuan of produce with no tax on the face: 9 % = 900.00 yuan deducted.
        t.add(|| 4, d(Agricultural, Selection, Normal, f(1_000_000), f(0)));
        t.add(|| 5, d(Toll, Selection, Normal, f(10_300), f(300)));
        let rows = t.finish().rows();
        let row = |k: InvoiceType| rows.iter().find(|r| r.kind == Some(k)).copied().unwrap();
        let c = |count, amount, tax| Cell {
            count,
            amount: f(amount),
            tax: f(tax),
        };
        assert_eq!(row(DigitalSpecial).certified.total, c(2, 150_000, 19_500));
        assert_eq!(row(DigitalSpecial).deductible.total, c(1, 100_000, 13_000));
        assert_eq!(row(Customs).deductible.total, c(1, 1_000_000, 130_000));
        assert_eq!(row(Agricultural).deductible.total, c(1, 1_000_000, 90_000));
        assert_eq!(row(Toll).deductible.total, c(1, 10_300, 300));
        // Standard kinds always (zeros), today's kinds when present, then the total.
        let kinds: Vec<_> = rows.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [
                Some(Special),
                Some(Freight),
                Some(MotorVehicle),
                Some(DigitalSpecial),
                Some(Toll),
                Some(Agricultural),
                Some(Customs),
                None
            ]
        );
        assert_eq!(row(Special).certified.total, c(0, 0, 0));
        assert_eq!(rows[7].deductible.total, c(4, 2_110_300, 233_300));
    }

    #[test]
    fn merging_partials_equals_one_pass() {
        use proptest::prelude::*;
        let kinds = [
            InvoiceType::Special,
            InvoiceType::Freight,
            InvoiceType::MotorVehicle,
            InvoiceType::DigitalSpecial,
            InvoiceType::Agricultural,
        ];
        let statuses = [
            InvoiceStatus::Normal,
            InvoiceStatus::Voided,
            InvoiceStatus::RedReversed,
            InvoiceStatus::OutOfControl,
            InvoiceStatus::Abnormal,
        ];
        proptest!(|(rows in proptest::collection::vec((0usize..5, 0usize..2, 0usize..5, 0i64..1_000_000, 1usize..4, 0usize..4, 1i64..=10), 0..200))| {
            let mut one = Tally::default();
            let mut parts = vec![Tally::default(), Tally::default(), Tally::default(), Tally::default()];
            for (i, (t, m, s, amount, part, u, share)) in rows.iter().enumerate() {
                let method = if *m == 0 { CertMethod::Selection } else { CertMethod::Scan };
                let n = u32::try_from(i).unwrap();
                let mut e = d(kinds[*t], method, statuses[*s], f(*amount), f(amount / 10));
                if method == CertMethod::Selection {
                    e.use_ = InvoiceUse::ALL[*u];
                    e.effective_tax = f(e.effective_tax.value() * share / 10);
                }
                one.add(|| k(n), e);
                parts[*part].add(|| k(n), e);
            }
            let mut merged = Tally::default();
            for p in parts {
                merged.merge(p);
            }
            let (merged, one) = (merged.finish(), one.finish());
            prop_assert!(merged.same_figures(&one));
            prop_assert_eq!(merged, one);
        });
    }

    /// Every use, by hand: 抵扣 with a lowered 有效税额 (勾选) and in full (扫描), 不抵扣 (the
    /// face tax), 退税 and 代办退税 (有效税额), 农产品 — the rows, the 抵扣/不抵扣 columns,
    /// the 退税 table and its totals.
    #[test]
    fn every_use_by_hand() {
        use CertMethod::*;
        use InvoiceStatus::*;
        use InvoiceType::*;
        use InvoiceUse::*;
        let e = |kind, method, status, use_, amount: i64, tax: i64, effective_tax: i64| Entry {
            kind,
            method,
            status,
            use_,
            amount: f(amount),
            tax: f(tax),
            effective_tax: f(effective_tax),
        };
        let mut t = Tally::default();
        // 专票: 抵扣 1000.00/130.00 lowered to 100.00; 抵扣 scanned 500.00/65.00; 不抵扣
        // 200.00/26.00; 退税 300.00/39.00 (full); 代办退税 400.00/52.00 lowered to 50.00.
        t.add(
            || k(1),
            e(Special, Selection, Normal, Deduct, 100_000, 13_000, 10_000),
        );
        t.add(
            || k(2),
            e(Special, Scan, Normal, Deduct, 50_000, 6_500, 6_500),
        );
        t.add(
            || k(3),
            e(Special, Selection, Normal, NoDeduct, 20_000, 2_600, 2_600),
        );
        t.add(
            || k(4),
            e(Special, Selection, Normal, Refund, 30_000, 3_900, 3_900),
        );
        t.add(
            || k(5),
            e(
                Special,
                Selection,
                Normal,
                AgentRefund,
                40_000,
                5_200,
                5_000,
            ),
        );
        // 数电专票: 抵扣 lowered and since 失控 (an exception at its 有效税额); 不抵扣 since 作废
        // (not an exception: it deducted nothing); 退税.
        t.add(
            || k(6),
            e(
                DigitalSpecial,
                Selection,
                OutOfControl,
                Deduct,
                80_000,
                10_400,
                8_000,
            ),
        );
        t.add(
            || k(7),
            e(
                DigitalSpecial,
                Selection,
                Voided,
                NoDeduct,
                10_000,
                1_300,
                1_300,
            ),
        );
        t.add(
            || k(8),
            e(
                DigitalSpecial,
                Selection,
                Normal,
                Refund,
                60_000,
                7_800,
                7_000,
            ),
        );
        // 农产品: 抵扣 of the computed 9 % (face tax 0); 不抵扣 counts the face tax (0).
        t.add(
            || k(9),
            e(
                Agricultural,
                Selection,
                Normal,
                Deduct,
                1_000_000,
                0,
                90_000,
            ),
        );
        t.add(
            || k(10),
            e(Agricultural, Selection, Normal, NoDeduct, 500_000, 0, 0),
        );
        // 通行费: only 代办退税 — the kind still gets a row.
        t.add(
            || k(11),
            e(Toll, Selection, Normal, AgentRefund, 10_300, 300, 300),
        );
        let t = t.finish();
        let c = |count, amount: i64, tax: i64| Cell {
            count,
            amount: f(amount),
            tax: f(tax),
        };
        let rows = t.rows();
        let kinds: Vec<_> = rows.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [
                Some(Special),
                Some(Freight),
                Some(MotorVehicle),
                Some(DigitalSpecial),
                Some(Toll),
                Some(Agricultural),
                None
            ]
        );
        let row = |k: InvoiceType| rows.iter().find(|r| r.kind == Some(k)).copied().unwrap();
        // 专票: certified counts 抵扣 only, at 有效税额.
        assert_eq!(row(Special).certified.selection, c(1, 100_000, 10_000));
        assert_eq!(row(Special).certified.scan, c(1, 50_000, 6_500));
        assert_eq!(row(Special).deduct(), c(2, 150_000, 16_500));
        assert_eq!(row(Special).deductible.total, c(2, 150_000, 16_500));
        assert_eq!(row(Special).no_deduct, c(1, 20_000, 2_600));
        // 数电专票: the 失控 抵扣 invoice is an exception; the 作废 不抵扣 one is not.
        assert_eq!(row(DigitalSpecial).deduct(), c(1, 80_000, 8_000));
        assert_eq!(row(DigitalSpecial).exceptions.total, c(1, 80_000, 8_000));
        assert_eq!(row(DigitalSpecial).deductible.total, c(0, 0, 0));
        assert_eq!(row(DigitalSpecial).no_deduct, c(1, 10_000, 1_300));
        assert_eq!(row(Agricultural).deduct(), c(1, 1_000_000, 90_000));
        assert_eq!(row(Agricultural).no_deduct, c(1, 500_000, 0));
        assert_eq!(row(Toll).deduct(), c(0, 0, 0));
        assert_eq!(row(Toll).no_deduct, c(0, 0, 0));
        assert_eq!(row(Freight).deduct(), c(0, 0, 0));
        // 合计
        let total = rows.last().unwrap();
        assert_eq!(total.deduct(), c(4, 1_230_000, 114_500));
        assert_eq!(total.certified.total, c(4, 1_230_000, 114_500));
        assert_eq!(total.exceptions.total, c(1, 80_000, 8_000));
        assert_eq!(total.deductible.total, c(3, 1_150_000, 106_500));
        assert_eq!(total.no_deduct, c(3, 530_000, 3_900));
        assert_eq!(t.certified_total(), c(4, 1_230_000, 114_500));
        assert_eq!(t.exception_keys, vec![k(6)]);
        // 退税 table: 专票, 数电专票, 通行费, then the total.
        let refunds = t.refund_rows();
        let kinds: Vec<_> = refunds.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [Some(Special), Some(DigitalSpecial), Some(Toll), None]
        );
        assert_eq!(refunds[0].refund, c(1, 30_000, 3_900));
        assert_eq!(refunds[0].agent_refund, c(1, 40_000, 5_000));
        assert_eq!(refunds[1].refund, c(1, 60_000, 7_000));
        assert_eq!(refunds[1].agent_refund, c(0, 0, 0));
        assert_eq!(refunds[2].agent_refund, c(1, 10_300, 300));
        assert_eq!(refunds[3].refund, c(2, 90_000, 10_900));
        assert_eq!(refunds[3].agent_refund, c(2, 50_300, 5_300));
        // Through the cache layout, the same figures.
        let cached = Cached::new(
            &t,
            chrono::DateTime::parse_from_rfc3339("2026-11-20T10:00:00+08:00").unwrap(),
        );
        assert!(cached.figures().same_figures(&t));
        assert_eq!(cached.figures().refund_rows(), refunds);
        assert_eq!(cached.exception_count, 1);
    }

    /// Only plain 抵扣: the layout of before uses (three kinds and the total, an empty 退税
    /// table with its zero total).
    #[test]
    fn plain_deductions_keep_the_old_layout() {
        let mut t = Tally::<u32>::default();
        t.add(
            || 1,
            d(
                InvoiceType::Special,
                CertMethod::Selection,
                InvoiceStatus::Normal,
                f(100),
                f(13),
            ),
        );
        assert_eq!(t.rows().len(), STANDARD_KINDS + 1);
        assert_eq!(t.rows()[0].deduct(), t.rows()[0].certified.total);
        assert_eq!(t.refund_rows(), vec![RefundRow::default()]);
    }

    /// An entry from the invoice record: its use, 有效税额, and for 扫描 the whole tax.
    #[test]
    fn entries_of_invoices() {
        use crate::domain::{TaxPeriod, TaxpayerId, Usage};
        let p = TaxPeriod::parse("202611").unwrap();
        let on = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let mut inv = Invoice {
            key: k(1),
            kind: InvoiceType::Special,
            issued_on: on,
            seller_id: TaxpayerId::parse("91330100716105852F").unwrap(),
            seller_name: "杭州宏远信息技术有限公司".into(),
            buyer_id: TaxpayerId::parse("91350100M000100Y43").unwrap(),
            amount: f(100_000),
            tax: f(13_000),
            status: InvoiceStatus::Normal,
            selection: SelectionState::Selected { period: p },
            audit: None,
            usage: None,
        };
        assert_eq!(Entry::of(&inv), None);
        inv.selection = SelectionState::Confirmed {
            period: p,
            batch: 1,
            on,
        };
        let (period, e) = Entry::of(&inv).unwrap();
        assert_eq!(
            (period, e.use_, e.effective_tax),
            (p, InvoiceUse::Deduct, f(13_000))
        );
        inv.usage = Some(Usage {
            effective_tax: f(5_000),
            ..Usage::deduct(f(13_000))
        });
        assert_eq!(Entry::of(&inv).unwrap().1.effective_tax, f(5_000));
        inv.usage = Some(Usage {
            use_: InvoiceUse::NoDeduct,
            effective_tax: f(13_000),
            reason: Some(crate::domain::NoDeductReason::Welfare),
            reason_text: None,
        });
        let e = Entry::of(&inv).unwrap().1;
        assert_eq!((e.use_, e.tax), (InvoiceUse::NoDeduct, f(13_000)));
        inv.usage = None;
        inv.selection = SelectionState::Scanned { period: p, on };
        let e = Entry::of(&inv).unwrap().1;
        assert_eq!(
            (e.method, e.use_, e.effective_tax),
            (CertMethod::Scan, InvoiceUse::Deduct, f(13_000))
        );
    }
}
