//! Money as an exact integer number of fen (分, 0.01 yuan). Never floats.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

use serde::{Deserialize, Serialize};

use super::error::DomainError;

const FIELD: &str = "amount";

/// An amount of money in fen. Serialized as a bare JSON integer.
///
/// The operator impls use plain `i64` arithmetic (overflow panics in debug
/// builds); use [`Fen::checked_add`] / [`Fen::checked_sub`] for untrusted sums.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Fen(i64);

fn amount_err(message: impl Into<String>) -> DomainError {
    DomainError::new(FIELD, message)
}

/// Full-width digits and the full-width sign / separators a user may paste.
fn is_full_width_numeric(c: char) -> bool {
    matches!(c, '０'..='９' | '．' | '，' | '－' | '＋' | '。')
}

impl Fen {
    pub const ZERO: Fen = Fen(0);

    pub const fn new(fen: i64) -> Self {
        Fen(fen)
    }

    pub const fn value(self) -> i64 {
        self.0
    }

    /// Parses a yuan amount such as `"2995"`, `"2995.5"`, `"2,995.50"`,
    /// `"-0.05"`.
    ///
    /// Rules: surrounding whitespace is trimmed; an optional leading `-`;
    /// the integer part is required (`".5"` is rejected, write `"0.5"`);
    /// thousands separators `,` are optional but, if used, must separate
    /// correct groups of three digits; at most two decimals after a `.`
    /// (a trailing `.` alone is rejected). Full-width digits, letters, and
    /// amounts outside the `i64` fen range are rejected.
    pub fn from_yuan_str(input: &str) -> Result<Fen, DomainError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(amount_err("金额不能为空"));
        }
        if s.chars().any(is_full_width_numeric) {
            return Err(amount_err(
                "金额格式不正确：请使用半角数字，不能包含全角字符",
            ));
        }
        let (negative, unsigned) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        if let Some(c) = unsigned
            .chars()
            .find(|c| !(c.is_ascii_digit() || *c == ',' || *c == '.'))
        {
            return Err(amount_err(format!("金额格式不正确：包含非法字符“{c}”")));
        }
        let (int_part, frac_part) = match unsigned.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (unsigned, None),
        };
        if int_part.is_empty() {
            return Err(amount_err("金额格式不正确：小数点前须有整数部分"));
        }
        let digits = Self::integer_digits(int_part)?;
        let frac = match frac_part {
            None => 0i128,
            Some(f) => {
                if f.is_empty() {
                    return Err(amount_err("金额格式不正确：小数点后须有数字"));
                }
                if f.contains(['.', ',']) {
                    return Err(amount_err("金额格式不正确：小数部分只能包含数字"));
                }
                if f.len() > 2 {
                    return Err(amount_err("金额格式不正确：最多两位小数"));
                }
                let v: i128 = f.bytes().fold(0, |acc, b| acc * 10 + i128::from(b - b'0'));
                if f.len() == 1 {
                    v * 10
                } else {
                    v
                }
            }
        };
        let overflow = || amount_err("金额超出允许范围");
        let mut yuan: i128 = 0;
        for b in digits.bytes() {
            yuan = yuan
                .checked_mul(10)
                .and_then(|y| y.checked_add(i128::from(b - b'0')))
                .ok_or_else(overflow)?;
        }
        let magnitude = yuan
            .checked_mul(100)
            .and_then(|y| y.checked_add(frac))
            .ok_or_else(overflow)?;
        let signed = if negative { -magnitude } else { magnitude };
        i64::try_from(signed).map(Fen).map_err(|_| overflow())
    }

    /// Validates the integer part (plain digits or correctly grouped with
    /// `,`) and returns it without separators.
    fn integer_digits(int_part: &str) -> Result<String, DomainError> {
        if !int_part.contains(',') {
            return Ok(int_part.to_owned());
        }
        let grouping = || amount_err("金额格式不正确：千位分隔符位置不正确");
        let mut groups = int_part.split(',');
        let first = groups.next().unwrap_or_default();
        if first.is_empty() || first.len() > 3 {
            return Err(grouping());
        }
        let mut out = first.to_owned();
        for g in groups {
            if g.len() != 3 {
                return Err(grouping());
            }
            out.push_str(g);
        }
        Ok(out)
    }

    /// `"2995.00"`, `"-0.05"`.
    pub fn format_plain(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }

    /// `"2,995.00"`, `"-1,234,567.89"`.
    pub fn format_grouped(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let int = (abs / 100).to_string();
        // `int` is ASCII digits, so byte slicing is safe.
        let lead = match int.len() % 3 {
            0 => 3,
            r => r,
        };
        let mut grouped = String::with_capacity(int.len() + int.len() / 3);
        grouped.push_str(int.get(..lead).unwrap_or(&int));
        for chunk in int.get(lead..).unwrap_or_default().as_bytes().chunks(3) {
            grouped.push(',');
            grouped.extend(chunk.iter().map(|&b| char::from(b)));
        }
        format!("{sign}{grouped}.{:02}", abs % 100)
    }

    pub fn checked_add(self, other: Fen) -> Option<Fen> {
        self.0.checked_add(other.0).map(Fen)
    }

    pub fn checked_sub(self, other: Fen) -> Option<Fen> {
        self.0.checked_sub(other.0).map(Fen)
    }

    /// Tax on `amount` at `rate_permille` (e.g. 130 for 13%, 90, 60, 30),
    /// i.e. `amount × rate / 1000`, rounded half away from zero, using
    /// integer arithmetic only. Saturates at the `i64` range (only reachable
    /// with rates above 100%).
    pub fn tax_at_rate(amount: Fen, rate_permille: u32) -> Fen {
        let product = i128::from(amount.0) * i128::from(rate_permille);
        let q = product / 1000;
        let r = product % 1000;
        let rounded = if r.abs() * 2 >= 1000 {
            q + product.signum()
        } else {
            q
        };
        Fen(i64::try_from(rounded).unwrap_or(if rounded < 0 { i64::MIN } else { i64::MAX }))
    }
}

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format_plain())
    }
}

impl Add for Fen {
    type Output = Fen;
    fn add(self, rhs: Fen) -> Fen {
        Fen(self.0 + rhs.0)
    }
}

impl Sub for Fen {
    type Output = Fen;
    fn sub(self, rhs: Fen) -> Fen {
        Fen(self.0 - rhs.0)
    }
}

impl AddAssign for Fen {
    fn add_assign(&mut self, rhs: Fen) {
        self.0 += rhs.0;
    }
}

impl SubAssign for Fen {
    fn sub_assign(&mut self, rhs: Fen) {
        self.0 -= rhs.0;
    }
}

impl Neg for Fen {
    type Output = Fen;
    fn neg(self) -> Fen {
        Fen(-self.0)
    }
}

impl Sum for Fen {
    fn sum<I: Iterator<Item = Fen>>(iter: I) -> Fen {
        iter.fold(Fen::ZERO, Add::add)
    }
}

impl<'a> Sum<&'a Fen> for Fen {
    fn sum<I: Iterator<Item = &'a Fen>>(iter: I) -> Fen {
        iter.copied().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> i64 {
        Fen::from_yuan_str(s).unwrap().value()
    }

    fn e(s: &str) -> String {
        let err = Fen::from_yuan_str(s).unwrap_err();
        assert_eq!(err.field, "amount");
        err.message
    }

    #[test]
    fn parses_normal_amounts() {
        assert_eq!(p("2995"), 299_500);
        assert_eq!(p("2995.5"), 299_550);
        assert_eq!(p("2995.50"), 299_550);
        assert_eq!(p("2,995.00"), 299_500);
        assert_eq!(p("0.05"), 5);
        assert_eq!(p("0.5"), 50);
        assert_eq!(p("-0.05"), -5);
        assert_eq!(p("-1,234,567.89"), -123_456_789);
        assert_eq!(p("1,000"), 100_000);
        assert_eq!(p(" 12.3 "), 1_230);
        assert_eq!(p("0"), 0);
        assert_eq!(p("-0"), 0);
        assert_eq!(p("007.10"), 710);
    }

    #[test]
    fn parses_extremes() {
        assert_eq!(p("92233720368547758.07"), i64::MAX);
        assert_eq!(p("-92233720368547758.08"), i64::MIN);
        assert_eq!(Fen::new(i64::MIN).format_plain(), "-92233720368547758.08");
    }

    #[test]
    fn rejects_empty() {
        assert_eq!(e(""), "金额不能为空");
        assert_eq!(e("   "), "金额不能为空");
    }

    #[test]
    fn rejects_bad_shapes() {
        assert!(e(".5").contains("整数部分"));
        assert!(e("-.5").contains("整数部分"));
        assert!(e("-").contains("整数部分"));
        assert!(e("12.").contains("小数点后"));
        assert!(e("1.2.3").contains("小数部分"));
        assert!(e("1.2,3").contains("小数部分"));
        assert_eq!(e("2995.123"), "金额格式不正确：最多两位小数");
        assert!(e("12a").contains("“a”"));
        assert!(e("1e5").contains("非法字符"));
        assert!(e("+5").contains("非法字符"));
        assert!(e("--5").contains("非法字符"));
        assert!(e("1 000").contains("非法字符"));
        assert!(e("¥100").contains("非法字符"));
    }

    #[test]
    fn rejects_bad_grouping() {
        for s in [
            "1,23,4.00",
            ",123",
            "1234,567",
            "1,2345",
            "1,",
            "1,,000",
            "12,34",
        ] {
            assert!(e(s).contains("千位分隔符"), "{s}");
        }
    }

    #[test]
    fn rejects_full_width() {
        for s in ["２９９５", "2995．00", "１,000", "－5"] {
            assert!(e(s).contains("全角"), "{s}");
        }
    }

    #[test]
    fn rejects_overflow() {
        assert!(e("92233720368547758.08").contains("超出"));
        assert!(e("-92233720368547758.09").contains("超出"));
        assert!(e("99999999999999999999999999999999999999999999").contains("超出"));
    }

    #[test]
    fn formats() {
        assert_eq!(Fen::new(299_500).format_plain(), "2995.00");
        assert_eq!(Fen::new(-5).format_plain(), "-0.05");
        assert_eq!(Fen::new(299_500).format_grouped(), "2,995.00");
        assert_eq!(Fen::new(-123_456_789).format_grouped(), "-1,234,567.89");
        assert_eq!(Fen::new(99_999).format_grouped(), "999.99");
        assert_eq!(Fen::new(100_000_000).format_grouped(), "1,000,000.00");
        assert_eq!(Fen::ZERO.format_grouped(), "0.00");
        assert_eq!(Fen::new(7).to_string(), "0.07");
    }

    #[test]
    fn arithmetic() {
        let a = Fen::new(150);
        let b = Fen::new(-50);
        assert_eq!(a + b, Fen::new(100));
        assert_eq!(a - b, Fen::new(200));
        assert_eq!(-a, Fen::new(-150));
        let mut c = a;
        c += b;
        c -= Fen::new(1);
        assert_eq!(c, Fen::new(99));
        assert_eq!([a, b, c].iter().sum::<Fen>(), Fen::new(199));
        assert_eq!([a, b].into_iter().sum::<Fen>(), Fen::new(100));
        assert_eq!(Fen::new(i64::MAX).checked_add(Fen::new(1)), None);
        assert_eq!(Fen::new(i64::MIN).checked_sub(Fen::new(1)), None);
        assert_eq!(a.checked_add(b), Some(Fen::new(100)));
        assert!(Fen::new(-1) < Fen::ZERO);
        assert_eq!(Fen::default(), Fen::ZERO);
    }

    #[test]
    fn tax_rounding() {
        // 2995.00 × 13% = 389.35
        assert_eq!(Fen::tax_at_rate(Fen::new(299_500), 130), Fen::new(38_935));
        // 0.05 × 9% = 0.0045 → 0.00; 0.06 × 9% = 0.0054 → 0.01
        assert_eq!(Fen::tax_at_rate(Fen::new(5), 90), Fen::new(0));
        assert_eq!(Fen::tax_at_rate(Fen::new(6), 90), Fen::new(1));
        // exactly half: 0.50 × 3% = 0.015 → 0.02, and -0.015 → -0.02
        assert_eq!(Fen::tax_at_rate(Fen::new(50), 30), Fen::new(2));
        assert_eq!(Fen::tax_at_rate(Fen::new(-50), 30), Fen::new(-2));
        // just below half: 0.49 × 3% = 0.0147 → 0.01
        assert_eq!(Fen::tax_at_rate(Fen::new(49), 30), Fen::new(1));
        assert_eq!(Fen::tax_at_rate(Fen::new(-49), 30), Fen::new(-1));
        assert_eq!(Fen::tax_at_rate(Fen::new(100_000), 60), Fen::new(6_000));
        assert_eq!(Fen::tax_at_rate(Fen::ZERO, 130), Fen::ZERO);
        assert_eq!(
            Fen::tax_at_rate(Fen::new(i64::MAX), 2000),
            Fen::new(i64::MAX)
        );
        assert_eq!(
            Fen::tax_at_rate(Fen::new(i64::MIN), 2000),
            Fen::new(i64::MIN)
        );
    }

    #[test]
    fn serde_is_integer_fen() {
        assert_eq!(serde_json::to_string(&Fen::new(299_500)).unwrap(), "299500");
        let f: Fen = serde_json::from_str("-5").unwrap();
        assert_eq!(f, Fen::new(-5));
        assert!(serde_json::from_str::<Fen>("\"12.00\"").is_err());
    }

    const BOUND: i64 = 1_000_000_000_000_000;

    proptest! {
        #[test]
        fn plain_round_trips(v in -BOUND..=BOUND) {
            let f = Fen::new(v);
            prop_assert_eq!(Fen::from_yuan_str(&f.format_plain()).unwrap(), f);
        }

        #[test]
        fn grouped_round_trips(v in -BOUND..=BOUND) {
            let f = Fen::new(v);
            prop_assert_eq!(Fen::from_yuan_str(&f.format_grouped()).unwrap(), f);
        }

        #[test]
        fn any_i64_round_trips(v in any::<i64>()) {
            let f = Fen::new(v);
            prop_assert_eq!(Fen::from_yuan_str(&f.format_plain()).unwrap(), f);
            prop_assert_eq!(Fen::from_yuan_str(&f.format_grouped()).unwrap(), f);
        }

        #[test]
        fn tax_matches_reference(v in -BOUND..=BOUND, rate in prop::sample::select(vec![130u32, 90, 60, 30])) {
            // Reference: round(|v| × rate / 1000) half up on the magnitude.
            let mag = i128::from(v).abs() * i128::from(rate);
            let expected = (mag + 500) / 1000 * i128::from(v.signum());
            prop_assert_eq!(i128::from(Fen::tax_at_rate(Fen::new(v), rate).value()), expected);
        }
    }
}
