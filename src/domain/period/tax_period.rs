//! Tax periods (税款所属期): a calendar month, written `YYYYMM`.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::domain::error::DomainError;

const FIELD: &str = "period";
const MIN_YEAR: i32 = 2000;
const MAX_YEAR: i32 = 2099;

/// A tax period: one calendar month with year in `2000..=2099`.
///
/// Ordering is chronological. Month arithmetic ([`next`](Self::next),
/// [`prev`](Self::prev), [`add_months`](Self::add_months)) saturates at
/// 200001 / 209912 so it never fails; use
/// [`checked_add_months`](Self::checked_add_months) to detect the bounds.
// Field order (year, month) makes the derived Ord chronological.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TaxPeriod {
    year: i32,
    month: u32,
}

/// The window in which a period's selection/confirmation may be done:
/// from the 1st of the month after the period up to the deadline, inclusive.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FilingPeriod {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl FilingPeriod {
    /// Whether `date` lies within `from..=to`.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }
}

/// Builds a date from components the caller has already validated.
fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    // Unreachable fallback: every caller passes a valid calendar date.
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or(NaiveDate::MIN)
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl TaxPeriod {
    /// First and last representable periods.
    pub const MIN: TaxPeriod = TaxPeriod {
        year: MIN_YEAR,
        month: 1,
    };
    pub const MAX: TaxPeriod = TaxPeriod {
        year: MAX_YEAR,
        month: 12,
    };

    pub fn new(year: i32, month: u32) -> Result<Self, DomainError> {
        if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
            return Err(DomainError::new(
                FIELD,
                format!("税款所属期年份应在{MIN_YEAR}至{MAX_YEAR}之间"),
            ));
        }
        if !(1..=12).contains(&month) {
            return Err(DomainError::new(FIELD, "税款所属期月份应在01至12之间"));
        }
        Ok(Self { year, month })
    }

    /// Parses `"YYYYMM"` (surrounding whitespace trimmed).
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(DomainError::new(FIELD, "税款所属期不能为空"));
        }
        if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DomainError::new(FIELD, "税款所属期格式应为YYYYMM"));
        }
        let n: u32 = s
            .parse()
            .map_err(|_| DomainError::new(FIELD, "税款所属期格式应为YYYYMM"))?;
        let year = i32::try_from(n / 100)
            .map_err(|_| DomainError::new(FIELD, "税款所属期格式应为YYYYMM"))?;
        Self::new(year, n % 100)
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u32 {
        self.month
    }

    /// `YYYYMM` as a number, e.g. `202611`.
    pub fn as_u32(self) -> u32 {
        // year is within 2000..=2099, so the cast is lossless.
        self.year.unsigned_abs() * 100 + self.month
    }

    pub fn from_u32(v: u32) -> Option<Self> {
        let year = i32::try_from(v / 100).ok()?;
        Self::new(year, v % 100).ok()
    }

    /// Months since 200001 (0-based).
    fn index(self) -> i32 {
        // month is 1..=12, so the cast is lossless.
        (self.year - MIN_YEAR) * 12 + self.month as i32 - 1
    }

    fn from_index(index: i32) -> Option<Self> {
        if !(0..=(MAX_YEAR - MIN_YEAR + 1) * 12 - 1).contains(&index) {
            return None;
        }
        Some(Self {
            year: MIN_YEAR + index / 12,
            month: index.rem_euclid(12).unsigned_abs() + 1,
        })
    }

    /// The period containing `date`, clamped to [`MIN`](Self::MIN) ..=
    /// [`MAX`](Self::MAX) for dates outside 2000–2099.
    pub fn of_date(date: NaiveDate) -> Self {
        if date.year() < MIN_YEAR {
            Self::MIN
        } else if date.year() > MAX_YEAR {
            Self::MAX
        } else {
            Self {
                year: date.year(),
                month: date.month(),
            }
        }
    }

    pub fn first_day(self) -> NaiveDate {
        ymd(self.year, self.month, 1)
    }

    pub fn last_day(self) -> NaiveDate {
        ymd(self.year, self.month, days_in_month(self.year, self.month))
    }

    /// The following month (saturates at 209912).
    pub fn next(self) -> Self {
        self.add_months(1)
    }

    /// The preceding month (saturates at 200001).
    pub fn prev(self) -> Self {
        self.add_months(-1)
    }

    /// `None` if the result would leave 200001..=209912.
    pub fn checked_add_months(self, months: i32) -> Option<Self> {
        Self::from_index(self.index().checked_add(months)?)
    }

    /// Adds (or with a negative argument subtracts) months, saturating at
    /// 200001 / 209912.
    pub fn add_months(self, months: i32) -> Self {
        self.checked_add_months(months)
            .unwrap_or(if months < 0 { Self::MIN } else { Self::MAX })
    }

    /// Number of months from `self` to `other` (negative if `other` is
    /// earlier): `self.add_months(self.months_until(other)) == other`.
    pub fn months_until(self, other: TaxPeriod) -> i32 {
        other.index() - self.index()
    }

    /// The statutory default deadline: the 15th of the following month.
    /// (Holiday extensions are configured elsewhere and passed in.)
    pub fn default_deadline(self) -> NaiveDate {
        let (y, m) = if self.month == 12 {
            (self.year + 1, 1)
        } else {
            (self.year, self.month + 1)
        };
        ymd(y, m, 15)
    }

    /// The filing window for this period: from the 1st of the following
    /// month to `deadline` (inclusive).
    pub fn filing_period(self, deadline: NaiveDate) -> FilingPeriod {
        let (y, m) = if self.month == 12 {
            (self.year + 1, 1)
        } else {
            (self.year, self.month + 1)
        };
        FilingPeriod {
            from: ymd(y, m, 1),
            to: deadline,
        }
    }

    /// `"2026年11月"`.
    pub fn label_zh(self) -> String {
        format!("{}年{}月", self.year, self.month)
    }
}

impl fmt::Display for TaxPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}{:02}", self.year, self.month)
    }
}

impl FromStr for TaxPeriod {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for TaxPeriod {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<TaxPeriod> for String {
    fn from(p: TaxPeriod) -> Self {
        p.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tp(s: &str) -> TaxPeriod {
        TaxPeriod::parse(s).unwrap()
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn parses_and_displays() {
        let p = tp("202611");
        assert_eq!((p.year(), p.month()), (2026, 11));
        assert_eq!(p.to_string(), "202611");
        assert_eq!(p.as_u32(), 202_611);
        assert_eq!(p.label_zh(), "2026年11月");
        assert_eq!(tp("200001").label_zh(), "2000年1月");
        assert_eq!(tp(" 209912\n"), TaxPeriod::MAX);
        assert_eq!("202601".parse::<TaxPeriod>().unwrap(), tp("202601"));
    }

    #[test]
    fn parse_errors() {
        let e = TaxPeriod::parse("").unwrap_err();
        assert_eq!(
            (e.field, e.message.as_str()),
            ("period", "税款所属期不能为空")
        );
        for s in [
            "2026-11",
            "20261",
            "2026111",
            "2026ab",
            "２０２６１１",
            "+20261",
        ] {
            let e = TaxPeriod::parse(s).unwrap_err();
            assert_eq!(e.field, "period");
            assert_eq!(e.message, "税款所属期格式应为YYYYMM", "{s}");
        }
        for s in ["202600", "202613", "202699"] {
            assert!(
                TaxPeriod::parse(s).unwrap_err().message.contains("月份"),
                "{s}"
            );
        }
        for s in ["199912", "210001", "000001"] {
            assert!(
                TaxPeriod::parse(s).unwrap_err().message.contains("年份"),
                "{s}"
            );
        }
    }

    #[test]
    fn new_and_from_u32() {
        assert_eq!(TaxPeriod::new(2026, 11).unwrap(), tp("202611"));
        assert!(TaxPeriod::new(2026, 0).is_err());
        assert!(TaxPeriod::new(1999, 5).is_err());
        assert_eq!(TaxPeriod::from_u32(202_611), Some(tp("202611")));
        assert_eq!(TaxPeriod::from_u32(202_613), None);
        assert_eq!(TaxPeriod::from_u32(0), None);
        assert_eq!(TaxPeriod::from_u32(u32::MAX), None);
    }

    #[test]
    fn ordering_is_chronological() {
        assert!(tp("202512") < tp("202601"));
        assert!(tp("202602") > tp("202601"));
        let mut v = vec![tp("202603"), tp("202412"), tp("202601")];
        v.sort();
        assert_eq!(v, vec![tp("202412"), tp("202601"), tp("202603")]);
    }

    #[test]
    fn days_and_leap_years() {
        assert_eq!(tp("202402").last_day(), d(2024, 2, 29));
        assert_eq!(tp("202502").last_day(), d(2025, 2, 28));
        assert_eq!(tp("200002").last_day(), d(2000, 2, 29)); // divisible by 400
        assert_eq!(tp("202604").last_day(), d(2026, 4, 30));
        assert_eq!(tp("202612").last_day(), d(2026, 12, 31));
        assert_eq!(tp("202612").first_day(), d(2026, 12, 1));
        assert!(!is_leap(2100));
    }

    #[test]
    fn of_date() {
        assert_eq!(TaxPeriod::of_date(d(2026, 11, 30)), tp("202611"));
        assert_eq!(TaxPeriod::of_date(d(1999, 12, 31)), TaxPeriod::MIN);
        assert_eq!(TaxPeriod::of_date(d(2100, 1, 1)), TaxPeriod::MAX);
    }

    #[test]
    fn arithmetic_and_bounds() {
        assert_eq!(tp("202612").next(), tp("202701"));
        assert_eq!(tp("202701").prev(), tp("202612"));
        assert_eq!(tp("202611").add_months(14), tp("202801"));
        assert_eq!(tp("202611").add_months(-23), tp("202412"));
        assert_eq!(tp("202611").months_until(tp("202702")), 3);
        assert_eq!(tp("202702").months_until(tp("202611")), -3);
        assert_eq!(TaxPeriod::MAX.next(), TaxPeriod::MAX);
        assert_eq!(TaxPeriod::MIN.prev(), TaxPeriod::MIN);
        assert_eq!(TaxPeriod::MAX.checked_add_months(1), None);
        assert_eq!(TaxPeriod::MIN.checked_add_months(-1), None);
        assert_eq!(TaxPeriod::MIN.add_months(i32::MAX), TaxPeriod::MAX);
        assert_eq!(TaxPeriod::MAX.add_months(i32::MIN), TaxPeriod::MIN);
        assert_eq!(TaxPeriod::MIN.months_until(TaxPeriod::MAX), 1199);
    }

    #[test]
    fn deadlines_and_filing_period() {
        assert_eq!(tp("202611").default_deadline(), d(2026, 12, 15));
        assert_eq!(tp("202612").default_deadline(), d(2027, 1, 15));
        assert_eq!(TaxPeriod::MAX.default_deadline(), d(2100, 1, 15));
        let fp = tp("202612").filing_period(d(2027, 1, 20));
        assert_eq!(fp.from, d(2027, 1, 1));
        assert_eq!(fp.to, d(2027, 1, 20));
        assert!(fp.contains(d(2027, 1, 1)));
        assert!(fp.contains(d(2027, 1, 20)));
        assert!(!fp.contains(d(2026, 12, 31)));
        assert!(!fp.contains(d(2027, 1, 21)));
    }

    #[test]
    fn serde_as_string() {
        assert_eq!(serde_json::to_string(&tp("202611")).unwrap(), "\"202611\"");
        let p: TaxPeriod = serde_json::from_str("\"202611\"").unwrap();
        assert_eq!(p, tp("202611"));
        assert!(serde_json::from_str::<TaxPeriod>("\"202613\"").is_err());
        assert!(serde_json::from_str::<TaxPeriod>("202611").is_err());
    }

    fn period() -> impl Strategy<Value = TaxPeriod> {
        (MIN_YEAR..=MAX_YEAR, 1u32..=12).prop_map(|(y, m)| TaxPeriod::new(y, m).unwrap())
    }

    proptest! {
        #[test]
        fn next_prev_round_trip(p in period()) {
            if p != TaxPeriod::MAX {
                prop_assert_eq!(p.next().prev(), p);
                prop_assert!(p.next() > p);
                prop_assert_eq!(p.last_day().succ_opt().unwrap(), p.next().first_day());
            }
            if p != TaxPeriod::MIN {
                prop_assert_eq!(p.prev().next(), p);
            }
        }

        #[test]
        fn add_months_round_trip(p in period(), n in -1300i32..=1300) {
            match p.checked_add_months(n) {
                Some(q) => {
                    prop_assert_eq!(q.add_months(-n), p);
                    prop_assert_eq!(p.add_months(n), q);
                    prop_assert_eq!(p.months_until(q), n);
                    prop_assert_eq!(q.months_until(p), -n);
                }
                None => {
                    let q = p.add_months(n);
                    prop_assert!(q == TaxPeriod::MIN || q == TaxPeriod::MAX);
                }
            }
        }

        #[test]
        fn months_until_consistent(p in period(), q in period()) {
            prop_assert_eq!(p.add_months(p.months_until(q)), q);
            prop_assert_eq!(p.months_until(q).signum(), (q.cmp(&p) as i32).signum());
        }

        #[test]
        fn display_parse_round_trip(p in period()) {
            prop_assert_eq!(TaxPeriod::parse(&p.to_string()).unwrap(), p);
            prop_assert_eq!(TaxPeriod::from_u32(p.as_u32()), Some(p));
            prop_assert_eq!(TaxPeriod::of_date(p.first_day()), p);
            prop_assert_eq!(TaxPeriod::of_date(p.last_day()), p);
        }

        #[test]
        fn first_and_last_day_same_month(p in period()) {
            let (f, l) = (p.first_day(), p.last_day());
            prop_assert_eq!((f.year(), f.month(), f.day()), (p.year(), p.month(), 1));
            prop_assert_eq!((l.year(), l.month()), (p.year(), p.month()));
            prop_assert_eq!(l.succ_opt().unwrap().day(), 1);
            prop_assert_eq!(p.default_deadline(), p.filing_period(p.default_deadline()).from + chrono::Days::new(14));
        }
    }
}
