//! 抵扣统计 (S-T9): the deduction statistics table of a taxpayer's period — count, amount and
//! tax by invoice type × certification method — and its exception list, as plain data with
//! one way to add an invoice to it. Every computation (the index pipeline, the recomputation
//! from redb, the tests' hand-made expectations) goes through [`Tally::add`], and partial
//! tallies merge by addition, so a parallel pipeline gives the same table as a sequential one.

use std::ops::AddAssign;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::{CertMethod, Fen, InvoiceKey, InvoiceStatus, InvoiceType};

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

/// The raw figures of a period: certified invoices by type × method, and of those the ones
/// that have since become 作废, 失控, 红冲 or 异常 (not valid for deduction), with their keys.
/// `K` is how exception invoices are named: their [`InvoiceKey`] by default; a pipeline may
/// carry a cheaper form and [`map_keys`](Tally::map_keys) at the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally<K = InvoiceKey> {
    /// `[type][method]`, all certified invoices.
    pub certified: [[Cell; 2]; KINDS],
    /// `[type][method]`, the exceptions among them.
    pub exceptions: [[Cell; 2]; KINDS],
    /// Keys of the exception invoices (sorted by [`finish`](Tally::finish)).
    pub exception_keys: Vec<K>,
}

impl<K> Default for Tally<K> {
    fn default() -> Self {
        Tally {
            certified: Default::default(),
            exceptions: Default::default(),
            exception_keys: Vec::new(),
        }
    }
}

impl<K> Tally<K> {
    /// Adds one invoice certified in the period; `key` is only called for an exception.
    pub fn add(
        &mut self,
        key: impl FnOnce() -> K,
        kind: InvoiceType,
        method: CertMethod,
        status: InvoiceStatus,
        amount: Fen,
        tax: Fen,
    ) {
        let (t, m) = (type_index(kind), method_index(method));
        // 农产品 deduct the computed tax, every other kind its face tax.
        let tax = super::invoice::deductible_tax(kind, amount, tax);
        self.certified[t][m].add(amount, tax);
        if status.is_exception() {
            self.exceptions[t][m].add(amount, tax);
            self.exception_keys.push(key());
        }
    }

    /// Adds a partial tally (from another segment or thread).
    pub fn merge(&mut self, other: Tally<K>) {
        for t in 0..KINDS {
            for m in 0..2 {
                self.certified[t][m] += other.certified[t][m];
                self.exceptions[t][m] += other.exceptions[t][m];
            }
        }
        self.exception_keys.extend(other.exception_keys);
    }

    /// Renames the exception keys.
    pub fn map_keys<K2, E>(self, f: impl FnMut(K) -> Result<K2, E>) -> Result<Tally<K2>, E> {
        Ok(Tally {
            certified: self.certified,
            exceptions: self.exceptions,
            exception_keys: self
                .exception_keys
                .into_iter()
                .map(f)
                .collect::<Result<_, _>>()?,
        })
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
    /// The table as the API and page show it: one row per type and a total row, each with
    /// 勾选认证, 扫描认证 and 合计, certified and valid for deduction.
    pub fn rows(&self) -> Vec<Row> {
        let mut out = Vec::with_capacity(KINDS + 1);
        let mut total = Row::default();
        for (t, kind) in TYPES.iter().enumerate() {
            // The manual's three kinds always have their row (zeros when empty); today's
            // documents have theirs when the period has any.
            let any = self.certified[t].iter().any(|c| c.count > 0);
            if t >= STANDARD_KINDS && !any {
                continue;
            }
            let row = Row::of(Some(*kind), self.certified[t], self.exceptions[t]);
            total.add(&row);
            out.push(row);
        }
        out.push(total);
        out
    }

    /// Certified count and tax of the period (勾选 + 扫描), as the workbench card shows.
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
    pub exception_count: u64,
    pub computed_at: DateTime<FixedOffset>,
}

impl Cached {
    pub fn new<K>(tally: &Tally<K>, computed_at: DateTime<FixedOffset>) -> Cached {
        Cached {
            certified: tally.certified,
            exceptions: tally.exceptions,
            exception_count: tally.exception_keys.len() as u64,
            computed_at,
        }
    }

    /// The figures as a tally without keys (for [`Tally::rows`]).
    pub fn figures(&self) -> Tally<()> {
        Tally {
            certified: self.certified,
            exceptions: self.exceptions,
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
    /// 已认证: every invoice certified in the period.
    pub certified: ByMethod,
    /// 异常: certified, since become 作废/失控/红冲/异常.
    pub exceptions: ByMethod,
    /// 可抵扣: certified minus the exceptions.
    pub deductible: ByMethod,
}

impl Row {
    fn of(kind: Option<InvoiceType>, certified: [Cell; 2], exceptions: [Cell; 2]) -> Row {
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
        }
    }

    fn add(&mut self, o: &Row) {
        self.certified.add(&o.certified);
        self.exceptions.add(&o.exceptions);
        self.deductible.add(&o.deductible);
    }
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

    /// Every cell of the table against hand-computed figures.
    #[test]
    fn every_cell_by_hand() {
        use CertMethod::*;
        use InvoiceStatus::*;
        use InvoiceType::*;
        let mut t = Tally::default();
        // special: 勾选 100/13 + 200/26 (voided) ; 扫描 50/6
        t.add(|| k(1), Special, Selection, Normal, f(10_000), f(1_300));
        t.add(|| k(2), Special, Selection, Voided, f(20_000), f(2_600));
        t.add(|| k(3), Special, Scan, Normal, f(5_000), f(650));
        // freight: 扫描 300/27 (失控)
        t.add(|| k(4), Freight, Scan, OutOfControl, f(30_000), f(2_700));
        // motor vehicle: 勾选 1000/130 ×2, one 红冲; 扫描 400/52 (异常)
        t.add(
            || k(5),
            MotorVehicle,
            Selection,
            Normal,
            f(100_000),
            f(13_000),
        );
        t.add(
            || k(6),
            MotorVehicle,
            Selection,
            RedReversed,
            f(100_000),
            f(13_000),
        );
        t.add(|| k(7), MotorVehicle, Scan, Abnormal, f(40_000), f(5_200));
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
            DigitalSpecial,
            Selection,
            Normal,
            f(100_000),
            f(13_000),
        );
        t.add(
            || 2,
            DigitalSpecial,
            Selection,
            OutOfControl,
            f(50_000),
            f(6_500),
        );
        t.add(|| 3, Customs, Selection, Normal, f(1_000_000), f(130_000));
        // 10,000.00 yuan of produce with no tax on the face: 9 % = 900.00 yuan deducted.
        t.add(|| 4, Agricultural, Selection, Normal, f(1_000_000), f(0));
        t.add(|| 5, Toll, Selection, Normal, f(10_300), f(300));
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
        ];
        let statuses = [
            InvoiceStatus::Normal,
            InvoiceStatus::Voided,
            InvoiceStatus::RedReversed,
            InvoiceStatus::OutOfControl,
            InvoiceStatus::Abnormal,
        ];
        proptest!(|(rows in proptest::collection::vec((0usize..3, 0usize..2, 0usize..5, 0i64..1_000_000, 1usize..4), 0..200))| {
            let mut one = Tally::default();
            let mut parts = vec![Tally::default(), Tally::default(), Tally::default(), Tally::default()];
            for (i, (t, m, s, amount, part)) in rows.iter().enumerate() {
                let method = if *m == 0 { CertMethod::Selection } else { CertMethod::Scan };
                let n = u32::try_from(i).unwrap();
                one.add(|| k(n), kinds[*t], method, statuses[*s], f(*amount), f(amount / 10));
                parts[*part].add(|| k(n), kinds[*t], method, statuses[*s], f(*amount), f(amount / 10));
            }
            let mut merged = Tally::default();
            for p in parts {
                merged.merge(p);
            }
            prop_assert_eq!(merged.finish(), one.finish());
        });
    }
}
