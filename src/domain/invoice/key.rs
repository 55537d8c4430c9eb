//! Invoice identity: 发票代码 + 发票号码.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::domain::error::DomainError;

// ---------------------------------------------------------------------------
// Invoice code and number
// ---------------------------------------------------------------------------

/// 发票代码: 10 or 12 ASCII digits, leading zeros kept.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InvoiceCode(String);

/// 发票号码: exactly 8 ASCII digits, leading zeros kept.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InvoiceNumber(String);

impl InvoiceCode {
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(DomainError::new("code", "发票代码不能为空"));
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) || !matches!(s.len(), 10 | 12) {
            return Err(DomainError::new("code", "发票代码应为10位或12位数字"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl InvoiceNumber {
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(DomainError::new("number", "发票号码不能为空"));
        }
        if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DomainError::new("number", "发票号码应为8位数字"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_newtype_impls {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $t {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $t {
            type Error = DomainError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$t> for String {
            fn from(v: $t) -> Self {
                v.0
            }
        }
    };
}

string_newtype_impls!(InvoiceCode);
string_newtype_impls!(InvoiceNumber);

/// Parses a string of ASCII digits (already validated) into a number.
fn digits_value(s: &str) -> u64 {
    s.bytes()
        .fold(0u64, |acc, b| acc * 10 + u64::from(b.wrapping_sub(b'0')))
}

/// The identity of an invoice: code + number.
///
/// Ordered by code string, then number string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InvoiceKey {
    pub code: InvoiceCode,
    pub number: InvoiceNumber,
}

const NUMBER_BITS: u32 = 32;
const CODE_SHIFT: u32 = 32;
const CODE_MASK: u128 = (1 << 48) - 1;
const FLAG_SHIFT: u32 = 80;

impl InvoiceKey {
    pub fn parse(code: &str, number: &str) -> Result<Self, DomainError> {
        Ok(Self {
            code: InvoiceCode::parse(code)?,
            number: InvoiceNumber::parse(number)?,
        })
    }

    /// A compact, collision-free store key:
    /// `(len_flag << 80) | (code_value << 32) | number_value`, where
    /// `len_flag` is 1 for 10-digit and 2 for 12-digit codes (so
    /// `"0123456789"` and `"000123456789"` differ). Order-preserving among
    /// keys whose codes have the same length; all 10-digit codes sort before
    /// all 12-digit codes.
    pub fn to_u128(&self) -> u128 {
        let flag: u128 = if self.code.0.len() == 10 { 1 } else { 2 };
        (flag << FLAG_SHIFT)
            | (u128::from(digits_value(&self.code.0)) << CODE_SHIFT)
            | u128::from(digits_value(&self.number.0))
    }

    /// Inverse of [`Self::to_u128`]; `None` for values it never produces.
    pub fn from_u128(v: u128) -> Option<Self> {
        let flag = v >> FLAG_SHIFT;
        let code_value = u64::try_from((v >> CODE_SHIFT) & CODE_MASK).ok()?;
        let number_value = u64::try_from(v & ((1 << NUMBER_BITS) - 1)).ok()?;
        let code = match flag {
            1 if code_value < 10_000_000_000 => format!("{code_value:010}"),
            2 if code_value < 1_000_000_000_000 => format!("{code_value:012}"),
            _ => return None,
        };
        if number_value >= 100_000_000 {
            return None;
        }
        Some(Self {
            code: InvoiceCode(code),
            number: InvoiceNumber(format!("{number_value:08}")),
        })
    }
}

impl fmt::Display for InvoiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn invoice_code_parses() {
        assert_eq!(
            InvoiceCode::parse("3300171130").unwrap().as_str(),
            "3300171130"
        );
        assert_eq!(
            InvoiceCode::parse(" 044031900111 ").unwrap().as_str(),
            "044031900111"
        );
        assert_eq!(
            InvoiceCode::parse("0000000000").unwrap().to_string(),
            "0000000000"
        );
        assert_eq!(
            "1100171320".parse::<InvoiceCode>().unwrap().as_str(),
            "1100171320"
        );
    }

    #[test]
    fn invoice_code_errors() {
        let e = InvoiceCode::parse("").unwrap_err();
        assert_eq!((e.field, e.message.as_str()), ("code", "发票代码不能为空"));
        for s in [
            "123456789",
            "12345678901",
            "1234567890123",
            "33001711a0",
            "３３００１７１１３０",
            "3300-71130",
        ] {
            let e = InvoiceCode::parse(s).unwrap_err();
            assert_eq!(e.field, "code");
            assert_eq!(e.message, "发票代码应为10位或12位数字", "{s}");
        }
    }

    #[test]
    fn invoice_number_parses_and_errors() {
        assert_eq!(
            InvoiceNumber::parse("00012345").unwrap().as_str(),
            "00012345"
        );
        assert_eq!(
            InvoiceNumber::parse(" 12345678\t").unwrap().to_string(),
            "12345678"
        );
        let e = InvoiceNumber::parse(" ").unwrap_err();
        assert_eq!(
            (e.field, e.message.as_str()),
            ("number", "发票号码不能为空")
        );
        for s in ["1234567", "123456789", "1234567a", "１２３４５６７８"] {
            let e = InvoiceNumber::parse(s).unwrap_err();
            assert_eq!(e.field, "number");
            assert_eq!(e.message, "发票号码应为8位数字", "{s}");
        }
    }

    #[test]
    fn invoice_key() {
        let k = InvoiceKey::parse("3300171130", "00012345").unwrap();
        assert_eq!(k.to_string(), "3300171130 00012345");
        assert_eq!(InvoiceKey::from_u128(k.to_u128()), Some(k.clone()));
        assert_eq!(
            k.to_u128(),
            (1u128 << 80) | (3_300_171_130u128 << 32) | 12_345
        );
        let e = InvoiceKey::parse("330017113", "00012345").unwrap_err();
        assert_eq!(e.field, "code");
        let e = InvoiceKey::parse("3300171130", "0012345").unwrap_err();
        assert_eq!(e.field, "number");
    }

    #[test]
    fn invoice_key_leading_zeros_distinct() {
        let a = InvoiceKey::parse("0123456789", "00000001").unwrap();
        let b = InvoiceKey::parse("000123456789", "00000001").unwrap();
        assert_ne!(a.to_u128(), b.to_u128());
        assert_eq!(
            InvoiceKey::from_u128(a.to_u128()).unwrap().code.as_str(),
            "0123456789"
        );
        assert_eq!(
            InvoiceKey::from_u128(b.to_u128()).unwrap().code.as_str(),
            "000123456789"
        );
    }

    #[test]
    fn invoice_key_from_u128_rejects_garbage() {
        assert_eq!(InvoiceKey::from_u128(0), None);
        assert_eq!(InvoiceKey::from_u128(3 << 80), None);
        assert_eq!(InvoiceKey::from_u128(u128::MAX), None);
        assert_eq!(
            InvoiceKey::from_u128((1 << 80) | (10_000_000_000u128 << 32)),
            None
        );
        assert_eq!(
            InvoiceKey::from_u128((2 << 80) | (1_000_000_000_000u128 << 32)),
            None
        );
        assert_eq!(InvoiceKey::from_u128((1 << 80) | 100_000_000), None);
        assert!(InvoiceKey::from_u128((1 << 80) | 99_999_999).is_some());
        assert!(InvoiceKey::from_u128((2 << 80) | (999_999_999_999u128 << 32)).is_some());
    }

    #[test]
    fn invoice_key_serde() {
        let k = InvoiceKey::parse("044031900111", "00012345").unwrap();
        let v = serde_json::to_value(&k).unwrap();
        assert_eq!(v, json!({"code": "044031900111", "number": "00012345"}));
        let back: InvoiceKey = serde_json::from_value(v).unwrap();
        assert_eq!(back, k);
        assert!(
            serde_json::from_value::<InvoiceKey>(json!({"code": "1", "number": "00012345"}))
                .is_err()
        );
        assert!(serde_json::from_str::<InvoiceNumber>("\"1234\"").is_err());
    }

    prop_compose! {
        fn key()(twelve in any::<bool>(), code in 0u64..1_000_000_000_000, number in 0u64..100_000_000) -> InvoiceKey {
            let code = if twelve { format!("{code:012}") } else { format!("{:010}", code % 10_000_000_000) };
            InvoiceKey::parse(&code, &format!("{number:08}")).unwrap()
        }
    }

    proptest! {
        #[test]
        fn key_u128_round_trip(k in key()) {
            prop_assert_eq!(InvoiceKey::from_u128(k.to_u128()), Some(k));
        }

        #[test]
        fn key_leading_zero_codes_round_trip(zeros in 1usize..10, rest in "[1-9][0-9]{0,8}", number in "[0-9]{8}", twelve in any::<bool>()) {
            let len = if twelve { 12 } else { 10 };
            let body: String = rest.chars().take(len - zeros.min(len - 1)).collect();
            let code = format!("{body:0>len$}");
            let k = InvoiceKey::parse(&code, &number).unwrap();
            let back = InvoiceKey::from_u128(k.to_u128()).unwrap();
            prop_assert_eq!(back.code.as_str(), code.as_str());
            prop_assert_eq!(back.number.as_str(), number.as_str());
        }

        #[test]
        fn key_order_preserved_within_length(a in key(), b in key()) {
            if a.code.as_str().len() == b.code.as_str().len() {
                prop_assert_eq!(a.cmp(&b), a.to_u128().cmp(&b.to_u128()));
            } else {
                prop_assert_eq!(a.code.as_str().len().cmp(&b.code.as_str().len()), a.to_u128().cmp(&b.to_u128()));
            }
        }
    }
}
