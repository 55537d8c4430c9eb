//! Invoice identity. Three shapes, one key type:
//! - 发票代码 + 发票号码 (10/12-digit code, 8-digit number): the paper and electronic 专票/普票
//!   family, 机动车票, 通行费, 农产品;
//! - 数电票号码 (20 digits, no code): 数电专票 and 数电普票;
//! - 缴款书号码 (up to 22 characters, no code): 海关进口增值税专用缴款书.
//!
//! Each shape parses its own way with its own Chinese messages; the compact store key
//! ([`InvoiceKey::to_u128`]) keeps the three disjoint, so no two documents ever share a key.

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

/// 数电票号码: 20 digits = year (2) + provincial tax bureau (2) + issuing channel (1) +
/// sequence (15).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DigitalNumber(String);

/// 海关缴款书号码: 1–22 characters of digits, capital letters and `-` (usually the 18-digit
/// customs declaration number, `-`, the tax kind letter and a sequence, e.g.
/// `530120261000123456-L01`). Never exactly 20 digits: that is a 数电票号码.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CustomsNumber(String);

/// Provincial tax bureau codes (the first two digits of the administrative division code,
/// GB/T 2260) that digits 3–4 of a 数电票号码 may carry.
pub const PROVINCES: [(&str, &str); 31] = [
    ("11", "北京"),
    ("12", "天津"),
    ("13", "河北"),
    ("14", "山西"),
    ("15", "内蒙古"),
    ("21", "辽宁"),
    ("22", "吉林"),
    ("23", "黑龙江"),
    ("31", "上海"),
    ("32", "江苏"),
    ("33", "浙江"),
    ("34", "安徽"),
    ("35", "福建"),
    ("36", "江西"),
    ("37", "山东"),
    ("41", "河南"),
    ("42", "湖北"),
    ("43", "湖南"),
    ("44", "广东"),
    ("45", "广西"),
    ("46", "海南"),
    ("50", "重庆"),
    ("51", "四川"),
    ("52", "贵州"),
    ("53", "云南"),
    ("54", "西藏"),
    ("61", "陕西"),
    ("62", "甘肃"),
    ("63", "青海"),
    ("64", "宁夏"),
    ("65", "新疆"),
];

/// The first year of 数电票 (the pilot began in December 2021).
const FIRST_DIGITAL_YEAR: u32 = 21;

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

    /// Digits 11–12 of a 12-digit code (the kind on electronic 普票/专票 lines: `11` 电子普票,
    /// `12` 通行费电子普票, `13` 电子专票); `None` for a 10-digit code.
    pub fn kind_digits(&self) -> Option<&str> {
        (self.0.len() == 12).then(|| &self.0[10..12])
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

impl DigitalNumber {
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(DomainError::new("number", "数电票号码不能为空"));
        }
        if s.len() != 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DomainError::new("number", "数电票号码应为20位数字"));
        }
        if digits_value(&s[..2]) < u64::from(FIRST_DIGITAL_YEAR) {
            return Err(DomainError::new(
                "number",
                format!(
                    "数电票号码前两位是开票年份，应不早于{FIRST_DIGITAL_YEAR}（2021年），而不是{}",
                    &s[..2]
                ),
            ));
        }
        if province_name(&s[2..4]).is_none() {
            return Err(DomainError::new(
                "number",
                format!(
                    "数电票号码第3—4位应为省级税务局代码（如11北京、44广东），而不是{}",
                    &s[2..4]
                ),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The two-digit year of issue (`24` for 2024).
    pub fn year(&self) -> u32 {
        u32::try_from(digits_value(&self.0[..2])).unwrap_or(0)
    }

    /// The provincial tax bureau code and its name.
    pub fn province(&self) -> (&str, &'static str) {
        let code = &self.0[2..4];
        (code, province_name(code).unwrap_or(""))
    }

    /// The issuing channel digit.
    pub fn channel(&self) -> u8 {
        self.0.as_bytes()[4].wrapping_sub(b'0')
    }
}

/// The name of a provincial tax bureau code, if it is one.
pub fn province_name(code: &str) -> Option<&'static str> {
    PROVINCES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

const CUSTOMS_MAX: usize = 22;

impl CustomsNumber {
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let s = input.trim().to_ascii_uppercase();
        if s.is_empty() {
            return Err(DomainError::new("number", "缴款书号码不能为空"));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase() || b == b'-')
        {
            return Err(DomainError::new(
                "number",
                "缴款书号码只能包含数字、字母和“-”",
            ));
        }
        if s.len() > CUSTOMS_MAX {
            return Err(DomainError::new("number", "缴款书号码最长22位"));
        }
        if s.len() == 20 && s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DomainError::new(
                "number",
                "20位数字是数电票号码，不是缴款书号码",
            ));
        }
        Ok(Self(s))
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
string_newtype_impls!(DigitalNumber);
string_newtype_impls!(CustomsNumber);

/// Parses a string of ASCII digits (already validated) into a number.
fn digits_value(s: &str) -> u64 {
    s.bytes()
        .fold(0u64, |acc, b| acc * 10 + u64::from(b.wrapping_sub(b'0')))
}

/// The shape of a document's identity.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeyShape {
    /// 发票代码 + 8-digit 发票号码.
    Coded,
    /// 20-digit 数电票号码, no code.
    Digital,
    /// 缴款书号码, no code.
    Customs,
}

/// The identity of a document: code + number, a 数电票号码, or a 缴款书号码.
///
/// JSON: `{"code": "3300171130", "number": "00012345"}`, or `{"code": null, "number": …}` for
/// the documents without a code. Ordered by shape (coded, 数电, 缴款书), then code, then number.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InvoiceKey {
    Coded {
        code: InvoiceCode,
        number: InvoiceNumber,
    },
    Digital(DigitalNumber),
    Customs(CustomsNumber),
}

const NUMBER_BITS: u32 = 32;
const CODE_SHIFT: u32 = 32;
const CODE_MASK: u128 = (1 << 48) - 1;
const FLAG_SHIFT: u32 = 80;
const DIGITAL_FLAG: u128 = 3;
const CUSTOMS_BIT: u128 = 1 << 127;
/// Characters of a 缴款书号码 in ASCII order, each as its digit (1-based; 0 pads).
const CUSTOMS_ALPHABET: &[u8; 37] = b"-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const CUSTOMS_BASE: u128 = 38;

impl InvoiceKey {
    /// A code + number key (the original three kinds and every coded kind).
    pub fn parse(code: &str, number: &str) -> Result<Self, DomainError> {
        Ok(Self::Coded {
            code: InvoiceCode::parse(code)?,
            number: InvoiceNumber::parse(number)?,
        })
    }

    /// A key whose code may be missing (`None`, empty or `-`, as in
    /// `/api/v1/invoices/-/{number}`): without a code, 20 digits are a 数电票号码 and anything
    /// else a 缴款书号码.
    pub fn parse_any(code: Option<&str>, number: &str) -> Result<Self, DomainError> {
        match code.map(str::trim).filter(|c| !c.is_empty() && *c != "-") {
            Some(code) => Self::parse(code, number),
            None => {
                let n = number.trim();
                if n.len() == 20 && n.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(Self::Digital(DigitalNumber::parse(n)?))
                } else if n.len() == 8 && n.bytes().all(|b| b.is_ascii_digit()) {
                    Err(DomainError::new("code", "发票代码不能为空"))
                } else {
                    Ok(Self::Customs(CustomsNumber::parse(n)?))
                }
            }
        }
    }

    /// A key of the given shape; the messages name what that shape needs.
    pub fn parse_shape(
        shape: KeyShape,
        code: Option<&str>,
        number: &str,
    ) -> Result<Self, DomainError> {
        let code = code.map(str::trim).filter(|c| !c.is_empty() && *c != "-");
        match (shape, code) {
            (KeyShape::Coded, Some(code)) => Self::parse(code, number),
            (KeyShape::Coded, None) => Err(DomainError::new("code", "发票代码不能为空")),
            (KeyShape::Digital, None) => Ok(Self::Digital(DigitalNumber::parse(number)?)),
            (KeyShape::Customs, None) => Ok(Self::Customs(CustomsNumber::parse(number)?)),
            (KeyShape::Digital, Some(_)) => Err(DomainError::new(
                "code",
                "数电票没有发票代码：发票代码留空，发票号码填20位数电票号码",
            )),
            (KeyShape::Customs, Some(_)) => Err(DomainError::new(
                "code",
                "海关缴款书没有发票代码：发票代码留空，发票号码填缴款书号码",
            )),
        }
    }

    pub fn shape(&self) -> KeyShape {
        match self {
            Self::Coded { .. } => KeyShape::Coded,
            Self::Digital(_) => KeyShape::Digital,
            Self::Customs(_) => KeyShape::Customs,
        }
    }

    /// The 发票代码, `None` for documents without one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Coded { code, .. } => Some(code.as_str()),
            Self::Digital(_) | Self::Customs(_) => None,
        }
    }

    /// The parsed 发票代码, `None` for documents without one.
    pub fn invoice_code(&self) -> Option<&InvoiceCode> {
        match self {
            Self::Coded { code, .. } => Some(code),
            Self::Digital(_) | Self::Customs(_) => None,
        }
    }

    /// The 发票号码, 数电票号码 or 缴款书号码.
    pub fn number(&self) -> &str {
        match self {
            Self::Coded { number, .. } => number.as_str(),
            Self::Digital(n) => n.as_str(),
            Self::Customs(n) => n.as_str(),
        }
    }

    /// The code as written in paths and files: the code, or `-` when there is none.
    pub fn code_or_dash(&self) -> &str {
        self.code().unwrap_or("-")
    }

    /// A compact, collision-free store key. Coded keys:
    /// `(len_flag << 80) | (code_value << 32) | number_value`, where `len_flag` is 1 for
    /// 10-digit and 2 for 12-digit codes (so `"0123456789"` and `"000123456789"` differ).
    /// 数电票: `(3 << 80) | number_value` (20 digits < 2^67). 缴款书: bit 127 set, the
    /// characters in base 38 (22 places, right-padded), so keys of one shape (and coded keys
    /// with codes of one length) keep their order.
    pub fn to_u128(&self) -> u128 {
        match self {
            Self::Coded { code, number } => {
                let flag: u128 = if code.0.len() == 10 { 1 } else { 2 };
                (flag << FLAG_SHIFT)
                    | (u128::from(digits_value(&code.0)) << CODE_SHIFT)
                    | u128::from(digits_value(&number.0))
            }
            Self::Digital(n) => (DIGITAL_FLAG << FLAG_SHIFT) | digits_value_u128(&n.0),
            Self::Customs(n) => {
                let mut v = 0u128;
                for i in 0..CUSTOMS_MAX {
                    let d =
                        n.0.as_bytes()
                            .get(i)
                            .and_then(|b| CUSTOMS_ALPHABET.iter().position(|a| a == b))
                            .map_or(0, |p| p as u128 + 1);
                    v = v * CUSTOMS_BASE + d;
                }
                CUSTOMS_BIT | v
            }
        }
    }

    /// Inverse of [`Self::to_u128`]; `None` for values it never produces.
    pub fn from_u128(v: u128) -> Option<Self> {
        if v & CUSTOMS_BIT != 0 {
            let mut rest = v & !CUSTOMS_BIT;
            let mut digits = [0u8; CUSTOMS_MAX];
            for d in digits.iter_mut().rev() {
                *d = u8::try_from(rest % CUSTOMS_BASE).ok()?;
                rest /= CUSTOMS_BASE;
            }
            if rest != 0 {
                return None;
            }
            let len = digits.iter().take_while(|d| **d != 0).count();
            if len == 0 || digits[len..].iter().any(|d| *d != 0) {
                return None;
            }
            let s: String = digits[..len]
                .iter()
                .map(|d| char::from(CUSTOMS_ALPHABET[usize::from(*d) - 1]))
                .collect();
            let n = CustomsNumber::parse(&s).ok()?;
            return (n.0 == s).then_some(Self::Customs(n));
        }
        let flag = v >> FLAG_SHIFT;
        if flag == DIGITAL_FLAG {
            let value = v & ((1 << FLAG_SHIFT) - 1);
            if value >= 100_000_000_000_000_000_000 {
                return None;
            }
            let s = padded_digits(value, 20);
            // The checks of `DigitalNumber::parse` (year, province) on the 20 digits, without
            // building its messages.
            let valid = digits_value(&s[..2]) >= u64::from(FIRST_DIGITAL_YEAR)
                && province_name(&s[2..4]).is_some();
            return valid.then_some(Self::Digital(DigitalNumber(s)));
        }
        let code_value = u64::try_from((v >> CODE_SHIFT) & CODE_MASK).ok()?;
        let number_value = u64::try_from(v & ((1 << NUMBER_BITS) - 1)).ok()?;
        let code = match flag {
            1 if code_value < 10_000_000_000 => padded_digits(code_value.into(), 10),
            2 if code_value < 1_000_000_000_000 => padded_digits(code_value.into(), 12),
            _ => return None,
        };
        if number_value >= 100_000_000 {
            return None;
        }
        Some(Self::Coded {
            code: InvoiceCode(code),
            number: InvoiceNumber(padded_digits(number_value.into(), 8)),
        })
    }
}

/// `value`'s last `width` decimal digits, zero-padded (`format!("{value:0width$}")` for a
/// value below `10^width`, without the formatting machinery: keys are turned back into
/// numbers for every row of every page).
fn padded_digits(mut value: u128, width: usize) -> String {
    let mut digits = vec![b'0'; width];
    for d in digits.iter_mut().rev() {
        *d = b'0' + (value % 10) as u8;
        value /= 10;
    }
    digits.into_iter().map(char::from).collect()
}

fn digits_value_u128(s: &str) -> u128 {
    s.bytes()
        .fold(0u128, |acc, b| acc * 10 + u128::from(b.wrapping_sub(b'0')))
}

impl fmt::Display for InvoiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Coded { code, number } => write!(f, "{code} {number}"),
            Self::Digital(n) => write!(f, "{n}"),
            Self::Customs(n) => write!(f, "{n}"),
        }
    }
}

/// The JSON form of a key: `{"code", "number"}` with `code: null` when there is none.
#[derive(Serialize, Deserialize)]
struct KeyJson {
    #[serde(default)]
    code: Option<String>,
    number: String,
}

/// The binary (stored) form: two strings, the code empty when there is none, so records
/// written before the code-less kinds existed read back unchanged.
#[derive(Serialize, Deserialize)]
struct KeyBin {
    code: String,
    number: String,
}

impl Serialize for InvoiceKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            KeyJson {
                code: self.code().map(str::to_owned),
                number: self.number().to_owned(),
            }
            .serialize(s)
        } else {
            KeyBin {
                code: self.code().unwrap_or_default().to_owned(),
                number: self.number().to_owned(),
            }
            .serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for InvoiceKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (code, number) = if d.is_human_readable() {
            let j = KeyJson::deserialize(d)?;
            (j.code, j.number)
        } else {
            let b = KeyBin::deserialize(d)?;
            (Some(b.code), b.number)
        };
        Self::parse_any(code.as_deref(), &number).map_err(serde::de::Error::custom)
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
            InvoiceKey::from_u128(a.to_u128()).unwrap().code().unwrap(),
            "0123456789"
        );
        assert_eq!(
            InvoiceKey::from_u128(b.to_u128()).unwrap().code().unwrap(),
            "000123456789"
        );
    }

    #[test]
    fn invoice_key_from_u128_rejects_garbage() {
        assert_eq!(InvoiceKey::from_u128(0), None);
        assert_eq!(InvoiceKey::from_u128(4 << 80), None);
        assert_eq!(
            InvoiceKey::from_u128(3 << 80),
            None,
            "year 00 is no 数电票号码"
        );
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

    #[test]
    fn digital_number_parses_its_structure() {
        let n = DigitalNumber::parse(" 25442000000123456789 ").unwrap();
        assert_eq!(n.as_str(), "25442000000123456789");
        assert_eq!(n.year(), 25);
        assert_eq!(n.province(), ("44", "广东"));
        assert_eq!(n.channel(), 2);
        for (s, msg) in [
            ("", "数电票号码不能为空"),
            ("2544200000012345678", "数电票号码应为20位数字"),
            ("254420000001234567890", "数电票号码应为20位数字"),
            ("2544200000012345678a", "数电票号码应为20位数字"),
            (
                "20442000000123456789",
                "数电票号码前两位是开票年份，应不早于21（2021年），而不是20",
            ),
            (
                "25992000000123456789",
                "数电票号码第3—4位应为省级税务局代码（如11北京、44广东），而不是99",
            ),
            (
                "25002000000123456789",
                "数电票号码第3—4位应为省级税务局代码（如11北京、44广东），而不是00",
            ),
        ] {
            let e = DigitalNumber::parse(s).unwrap_err();
            assert_eq!((e.field, e.message.as_str()), ("number", msg), "{s}");
        }
        for (code, _) in PROVINCES {
            assert!(DigitalNumber::parse(&format!("24{code}1000000000000001")).is_ok());
        }
    }

    #[test]
    fn customs_number_parses() {
        let n = CustomsNumber::parse(" 530120261000123456-l01 ").unwrap();
        assert_eq!(n.as_str(), "530120261000123456-L01");
        assert!(CustomsNumber::parse("1234567890123456789012").is_ok());
        for (s, msg) in [
            ("", "缴款书号码不能为空"),
            ("12345678901234567890123", "缴款书号码最长22位"),
            (
                "530120261000123456/L01",
                "缴款书号码只能包含数字、字母和“-”",
            ),
            ("５３０１", "缴款书号码只能包含数字、字母和“-”"),
            (
                "25442000000123456789",
                "20位数字是数电票号码，不是缴款书号码",
            ),
        ] {
            let e = CustomsNumber::parse(s).unwrap_err();
            assert_eq!((e.field, e.message.as_str()), ("number", msg), "{s}");
        }
    }

    #[test]
    fn keys_without_code_by_shape() {
        let d = InvoiceKey::parse_any(None, "25442000000123456789").unwrap();
        assert_eq!(d.shape(), KeyShape::Digital);
        assert_eq!((d.code(), d.number()), (None, "25442000000123456789"));
        assert_eq!(d.to_string(), "25442000000123456789");
        let c = InvoiceKey::parse_any(Some("-"), "530120261000123456-L01").unwrap();
        assert_eq!(c.shape(), KeyShape::Customs);
        assert_eq!(c.code_or_dash(), "-");
        let k = InvoiceKey::parse_any(Some("3300171130"), "00012345").unwrap();
        assert_eq!(k.shape(), KeyShape::Coded);
        // Eight digits without a code: the code was forgotten, not a 缴款书.
        let e = InvoiceKey::parse_any(Some(""), "00012345").unwrap_err();
        assert_eq!((e.field, e.message.as_str()), ("code", "发票代码不能为空"));
        let e =
            InvoiceKey::parse_shape(KeyShape::Digital, Some("3300171130"), "00012345").unwrap_err();
        assert_eq!(e.field, "code");
        assert!(e.message.starts_with("数电票没有发票代码"));
        let e = InvoiceKey::parse_shape(KeyShape::Customs, Some("3300171130"), "1").unwrap_err();
        assert!(e.message.starts_with("海关缴款书没有发票代码"));
        let e = InvoiceKey::parse_shape(KeyShape::Coded, None, "00012345").unwrap_err();
        assert_eq!(e.message, "发票代码不能为空");
        let e = InvoiceKey::parse_shape(KeyShape::Digital, None, "00012345").unwrap_err();
        assert_eq!(e.message, "数电票号码应为20位数字");
        for k in [d, c, k] {
            assert_eq!(InvoiceKey::from_u128(k.to_u128()), Some(k));
        }
    }

    #[test]
    fn keys_serde_json_and_stored_form() {
        let d = InvoiceKey::parse_any(None, "25442000000123456789").unwrap();
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(v, json!({"code": null, "number": "25442000000123456789"}));
        assert_eq!(serde_json::from_value::<InvoiceKey>(v).unwrap(), d);
        let v = json!({"number": "530120261000123456-L01"});
        assert_eq!(
            serde_json::from_value::<InvoiceKey>(v).unwrap().shape(),
            KeyShape::Customs
        );
        // The stored form of a coded key is the one written before the code-less kinds: two
        // strings, so existing records read back unchanged.
        #[derive(Serialize)]
        struct Before {
            code: String,
            number: String,
        }
        let k = InvoiceKey::parse("044031900111", "00012345").unwrap();
        let before = postcard::to_stdvec(&Before {
            code: "044031900111".into(),
            number: "00012345".into(),
        })
        .unwrap();
        assert_eq!(postcard::to_stdvec(&k).unwrap(), before);
        assert_eq!(postcard::from_bytes::<InvoiceKey>(&before).unwrap(), k);
        let c = InvoiceKey::parse_any(None, "530120261000123456-L01").unwrap();
        let bytes = postcard::to_stdvec(&c).unwrap();
        assert_eq!(postcard::from_bytes::<InvoiceKey>(&bytes).unwrap(), c);
    }

    #[test]
    fn customs_u128_garbage_is_none() {
        assert_eq!(InvoiceKey::from_u128(CUSTOMS_BIT), None, "empty");
        // A character after padding.
        assert_eq!(InvoiceKey::from_u128(CUSTOMS_BIT | 1), None);
        assert_eq!(InvoiceKey::from_u128(u128::MAX), None);
    }

    prop_compose! {
        fn digital()(year in 21u32..100, p in 0usize..31, channel in 0u8..10, seq in 0u64..1_000_000_000_000_000) -> InvoiceKey {
            InvoiceKey::parse_any(None, &format!("{year:02}{}{channel}{seq:015}", PROVINCES[p].0)).unwrap()
        }
    }

    prop_compose! {
        fn customs()(s in "[0-9A-Z-]{1,22}") -> Option<InvoiceKey> {
            CustomsNumber::parse(&s).ok().map(InvoiceKey::Customs)
        }
    }

    fn any_key() -> impl Strategy<Value = Option<InvoiceKey>> {
        prop_oneof![key().prop_map(Some), digital().prop_map(Some), customs()]
    }

    prop_compose! {
        fn key()(twelve in any::<bool>(), code in 0u64..1_000_000_000_000, number in 0u64..100_000_000) -> InvoiceKey {
            let code = if twelve { format!("{code:012}") } else { format!("{:010}", code % 10_000_000_000) };
            InvoiceKey::parse(&code, &format!("{number:08}")).unwrap()
        }
    }

    proptest! {
        #[test]
        fn keys_of_every_shape_round_trip_and_never_collide(a in any_key(), b in any_key()) {
            if let (Some(a), Some(b)) = (a, b) {
                prop_assert_eq!(InvoiceKey::from_u128(a.to_u128()), Some(a.clone()));
                prop_assert_eq!(a == b, a.to_u128() == b.to_u128());
                if a.shape() == b.shape() && a.code().map(str::len) == b.code().map(str::len) {
                    prop_assert_eq!(a.cmp(&b), a.to_u128().cmp(&b.to_u128()));
                }
                let json = serde_json::to_string(&a).unwrap();
                prop_assert_eq!(serde_json::from_str::<InvoiceKey>(&json).unwrap(), a.clone());
                let bin = postcard::to_stdvec(&a).unwrap();
                prop_assert_eq!(postcard::from_bytes::<InvoiceKey>(&bin).unwrap(), a);
            }
        }

        #[test]
        fn a_digital_value_reads_back_as_the_parser_would(value in 0u128..100_000_000_000_000_000_000, width in 1usize..=20) {
            let width_value = value % 10u128.pow(u32::try_from(width).unwrap());
            prop_assert_eq!(padded_digits(width_value, width), format!("{width_value:0width$}"));
            // What `from_u128` accepts is exactly what `DigitalNumber::parse` accepts.
            let by_parser = DigitalNumber::parse(&format!("{value:020}")).ok().map(InvoiceKey::Digital);
            prop_assert_eq!(InvoiceKey::from_u128((DIGITAL_FLAG << FLAG_SHIFT) | value), by_parser);
        }

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
            prop_assert_eq!(back.code(), Some(code.as_str()));
            prop_assert_eq!(back.number(), number.as_str());
        }

        #[test]
        fn key_order_preserved_within_length(a in key(), b in key()) {
            let (la, lb) = (a.code().map_or(0, str::len), b.code().map_or(0, str::len));
            if la == lb {
                prop_assert_eq!(a.cmp(&b), a.to_u128().cmp(&b.to_u128()));
            } else {
                prop_assert_eq!(la.cmp(&lb), a.to_u128().cmp(&b.to_u128()));
            }
        }
    }
}
