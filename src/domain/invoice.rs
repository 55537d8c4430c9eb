//! Invoice identity, kinds and states.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::error::DomainError;
use super::period::TaxPeriod;

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

// ---------------------------------------------------------------------------
// Enums
// ---------------------------------------------------------------------------

/// Implements `Display` as `as_str()`.
macro_rules! display_as_str {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Invoice type (发票类型).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceType {
    /// 增值税专用发票
    Special,
    /// 货物运输业增值税专用发票
    Freight,
    /// 机动车销售统一发票
    MotorVehicle,
}

impl InvoiceType {
    pub const ALL: [Self; 3] = [Self::Special, Self::Freight, Self::MotorVehicle];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Special => "special",
            Self::Freight => "freight",
            Self::MotorVehicle => "motor_vehicle",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Special => "增值税专用发票",
            Self::Freight => "货物运输业增值税专用发票",
            Self::MotorVehicle => "机动车销售统一发票",
        }
    }

    pub fn short_label_zh(self) -> &'static str {
        match self {
            Self::Special => "专用发票",
            Self::Freight => "货运专用发票",
            Self::MotorVehicle => "机动车发票",
        }
    }

    /// Accepts the snake_case name, the full or the short Chinese label.
    pub fn parse_api(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s || t.label_zh() == s || t.short_label_zh() == s)
            .ok_or_else(|| {
                DomainError::new(
                    "type",
                    "发票类型不正确：应为 special（增值税专用发票）、freight（货物运输业增值税专用发票）或 motor_vehicle（机动车销售统一发票）",
                )
            })
    }

    /// Compact storage code (1, 2, 3).
    pub fn code(self) -> u8 {
        match self {
            Self::Special => 1,
            Self::Freight => 2,
            Self::MotorVehicle => 3,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == code)
    }
}

display_as_str!(InvoiceType);

/// Invoice status (发票状态) as reported by the issuing system.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// 正常
    Normal,
    /// 作废
    Voided,
    /// 红冲
    RedReversed,
    /// 失控
    OutOfControl,
    /// 异常
    Abnormal,
}

impl InvoiceStatus {
    pub const ALL: [Self; 5] = [
        Self::Normal,
        Self::Voided,
        Self::RedReversed,
        Self::OutOfControl,
        Self::Abnormal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Voided => "voided",
            Self::RedReversed => "red_reversed",
            Self::OutOfControl => "out_of_control",
            Self::Abnormal => "abnormal",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Normal => "正常",
            Self::Voided => "作废",
            Self::RedReversed => "红冲",
            Self::OutOfControl => "失控",
            Self::Abnormal => "异常",
        }
    }

    /// Accepts the snake_case name or the Chinese label.
    pub fn parse_api(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s || t.label_zh() == s)
            .ok_or_else(|| {
                DomainError::new(
                    "status",
                    "发票状态不正确：应为 normal（正常）、voided（作废）、red_reversed（红冲）、out_of_control（失控）或 abnormal（异常）",
                )
            })
    }

    /// Every status but `Normal` is an exception (异常发票) that may not be
    /// selected for deduction.
    pub fn is_exception(self) -> bool {
        self != Self::Normal
    }

    /// Compact storage code (1..=5).
    pub fn code(self) -> u8 {
        match self {
            Self::Normal => 1,
            Self::Voided => 2,
            Self::RedReversed => 3,
            Self::OutOfControl => 4,
            Self::Abnormal => 5,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == code)
    }
}

display_as_str!(InvoiceStatus);

/// How an invoice was certified (认证方式).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertMethod {
    /// 勾选认证
    Selection,
    /// 扫描认证
    Scan,
}

impl CertMethod {
    pub const ALL: [Self; 2] = [Self::Selection, Self::Scan];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Selection => "selection",
            Self::Scan => "scan",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Selection => "勾选认证",
            Self::Scan => "扫描认证",
        }
    }

    /// Accepts the snake_case name or the Chinese label.
    pub fn parse_api(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s || t.label_zh() == s)
            .ok_or_else(|| {
                DomainError::new(
                    "cert_method",
                    "认证方式不正确：应为 selection（勾选认证）或 scan（扫描认证）",
                )
            })
    }
}

display_as_str!(CertMethod);

/// Where an invoice stands in the selection/confirmation workflow.
///
/// JSON: `{"state":"confirmed","period":"202611","batch":1,"on":"2026-12-03"}`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SelectionState {
    /// 未勾选
    #[default]
    Unselected,
    /// 已勾选 for `period`, not yet confirmed.
    Selected { period: TaxPeriod },
    /// 已确认: selected and confirmed in confirmation `batch` on date `on`.
    Confirmed {
        period: TaxPeriod,
        batch: u32,
        on: NaiveDate,
    },
    /// 扫描认证: certified by scanning the paper invoice on date `on`.
    Scanned { period: TaxPeriod, on: NaiveDate },
}

impl SelectionState {
    pub fn api_name(&self) -> &'static str {
        match self {
            Self::Unselected => "unselected",
            Self::Selected { .. } => "selected",
            Self::Confirmed { .. } => "confirmed",
            Self::Scanned { .. } => "scanned",
        }
    }

    pub fn label_zh(&self) -> &'static str {
        match self {
            Self::Unselected => "未勾选",
            Self::Selected { .. } => "已勾选",
            Self::Confirmed { .. } => "已确认",
            Self::Scanned { .. } => "扫描认证",
        }
    }

    pub fn period(&self) -> Option<TaxPeriod> {
        match *self {
            Self::Unselected => None,
            Self::Selected { period }
            | Self::Confirmed { period, .. }
            | Self::Scanned { period, .. } => Some(period),
        }
    }

    /// Certified = confirmed after selection, or scan-certified.
    pub fn is_certified(&self) -> bool {
        matches!(self, Self::Confirmed { .. } | Self::Scanned { .. })
    }

    pub fn cert_method(&self) -> Option<CertMethod> {
        match self {
            Self::Confirmed { .. } => Some(CertMethod::Selection),
            Self::Scanned { .. } => Some(CertMethod::Scan),
            Self::Unselected | Self::Selected { .. } => None,
        }
    }

    pub fn certified_on(&self) -> Option<NaiveDate> {
        match *self {
            Self::Confirmed { on, .. } | Self::Scanned { on, .. } => Some(on),
            Self::Unselected | Self::Selected { .. } => None,
        }
    }

    pub fn batch(&self) -> Option<u32> {
        match *self {
            Self::Confirmed { batch, .. } => Some(batch),
            _ => None,
        }
    }
}

/// Taxpayer credit rating (纳税信用等级).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CreditRating {
    A,
    B,
    C,
    D,
    M,
}

impl CreditRating {
    pub const ALL: [Self; 5] = [Self::A, Self::B, Self::C, Self::D, Self::M];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::B => "B",
            Self::C => "C",
            Self::D => "D",
            Self::M => "M",
        }
    }

    /// Accepts `A`, `B`, `C`, `D`, `M` (case-insensitive, optionally
    /// followed by `级`, e.g. `"A级"`).
    pub fn parse_api(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        let s = s.strip_suffix('级').unwrap_or(s);
        Self::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                DomainError::new("credit_rating", "纳税信用等级不正确：应为 A、B、C、D 或 M")
            })
    }
}

display_as_str!(CreditRating);

/// Whether the period's VAT return has been filed (申报状态).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclarationStatus {
    /// 已申报
    Declared,
    /// 未申报
    NotDeclared,
    /// 未获取 (not yet known)
    Unknown,
}

impl DeclarationStatus {
    pub const ALL: [Self; 3] = [Self::Declared, Self::NotDeclared, Self::Unknown];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Declared => "declared",
            Self::NotDeclared => "not_declared",
            Self::Unknown => "unknown",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Declared => "已申报",
            Self::NotDeclared => "未申报",
            Self::Unknown => "未获取",
        }
    }

    /// Accepts the snake_case name or the Chinese label.
    pub fn parse_api(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s || t.label_zh() == s)
            .ok_or_else(|| {
                DomainError::new(
                    "status",
                    "申报状态不正确：应为 declared（已申报）、not_declared（未申报）或 unknown（未获取）",
                )
            })
    }

    /// Compact storage code (1..=3).
    pub fn code(self) -> u8 {
        match self {
            Self::Declared => 1,
            Self::NotDeclared => 2,
            Self::Unknown => 3,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == code)
    }
}

display_as_str!(DeclarationStatus);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn tp(s: &str) -> TaxPeriod {
        TaxPeriod::parse(s).unwrap()
    }

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

    #[test]
    fn invoice_type() {
        assert_eq!(InvoiceType::ALL.len(), 3);
        for t in InvoiceType::ALL {
            assert_eq!(InvoiceType::parse_api(t.as_str()).unwrap(), t);
            assert_eq!(InvoiceType::parse_api(t.label_zh()).unwrap(), t);
            assert_eq!(InvoiceType::parse_api(t.short_label_zh()).unwrap(), t);
            assert_eq!(InvoiceType::from_code(t.code()), Some(t));
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", t.as_str())
            );
            assert_eq!(t.to_string(), t.as_str());
        }
        assert_eq!(InvoiceType::MotorVehicle.label_zh(), "机动车销售统一发票");
        assert_eq!(InvoiceType::Freight.short_label_zh(), "货运专用发票");
        assert_eq!(
            serde_json::to_string(&InvoiceType::MotorVehicle).unwrap(),
            "\"motor_vehicle\""
        );
        assert_eq!(InvoiceType::from_code(0), None);
        assert_eq!(InvoiceType::from_code(4), None);
        let e = InvoiceType::parse_api("MotorVehicle").unwrap_err();
        assert_eq!(e.field, "type");
        assert!(e.message.contains("发票类型"));
        assert!(InvoiceType::parse_api("").is_err());
        assert!(serde_json::from_str::<InvoiceType>("\"Special\"").is_err());
    }

    #[test]
    fn invoice_status() {
        assert_eq!(InvoiceStatus::ALL.len(), 5);
        for s in InvoiceStatus::ALL {
            assert_eq!(InvoiceStatus::parse_api(s.as_str()).unwrap(), s);
            assert_eq!(InvoiceStatus::parse_api(s.label_zh()).unwrap(), s);
            assert_eq!(InvoiceStatus::from_code(s.code()), Some(s));
            assert_eq!(s.is_exception(), s != InvoiceStatus::Normal);
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert_eq!(
            serde_json::to_string(&InvoiceStatus::OutOfControl).unwrap(),
            "\"out_of_control\""
        );
        assert_eq!(InvoiceStatus::RedReversed.label_zh(), "红冲");
        assert_eq!(
            InvoiceStatus::parse_api(" 失控 ").unwrap(),
            InvoiceStatus::OutOfControl
        );
        assert!(!InvoiceStatus::Normal.is_exception());
        assert_eq!(InvoiceStatus::from_code(6), None);
        let e = InvoiceStatus::parse_api("ok").unwrap_err();
        assert_eq!(e.field, "status");
        assert!(e.message.contains("发票状态"));
    }

    #[test]
    fn cert_method() {
        assert_eq!(CertMethod::Selection.label_zh(), "勾选认证");
        assert_eq!(CertMethod::Scan.label_zh(), "扫描认证");
        for m in CertMethod::ALL {
            assert_eq!(CertMethod::parse_api(m.as_str()).unwrap(), m);
            assert_eq!(CertMethod::parse_api(m.label_zh()).unwrap(), m);
        }
        assert_eq!(
            serde_json::to_string(&CertMethod::Scan).unwrap(),
            "\"scan\""
        );
        assert_eq!(
            serde_json::to_string(&CertMethod::Selection).unwrap(),
            "\"selection\""
        );
        assert_eq!(CertMethod::parse_api("x").unwrap_err().field, "cert_method");
    }

    #[test]
    fn selection_state_accessors() {
        let p = tp("202611");
        let on = d(2026, 12, 3);
        let states = [
            SelectionState::Unselected,
            SelectionState::Selected { period: p },
            SelectionState::Confirmed {
                period: p,
                batch: 2,
                on,
            },
            SelectionState::Scanned { period: p, on },
        ];
        let names: Vec<_> = states.iter().map(SelectionState::api_name).collect();
        assert_eq!(names, ["unselected", "selected", "confirmed", "scanned"]);
        let labels: Vec<_> = states.iter().map(SelectionState::label_zh).collect();
        assert_eq!(labels, ["未勾选", "已勾选", "已确认", "扫描认证"]);
        let periods: Vec<_> = states.iter().map(SelectionState::period).collect();
        assert_eq!(periods, [None, Some(p), Some(p), Some(p)]);
        let certified: Vec<_> = states.iter().map(SelectionState::is_certified).collect();
        assert_eq!(certified, [false, false, true, true]);
        let methods: Vec<_> = states.iter().map(SelectionState::cert_method).collect();
        assert_eq!(
            methods,
            [
                None,
                None,
                Some(CertMethod::Selection),
                Some(CertMethod::Scan)
            ]
        );
        let dates: Vec<_> = states.iter().map(SelectionState::certified_on).collect();
        assert_eq!(dates, [None, None, Some(on), Some(on)]);
        let batches: Vec<_> = states.iter().map(SelectionState::batch).collect();
        assert_eq!(batches, [None, None, Some(2), None]);
        assert_eq!(SelectionState::default(), SelectionState::Unselected);
    }

    #[test]
    fn selection_state_serde() {
        let p = tp("202611");
        let on = d(2026, 12, 3);
        let cases = [
            (SelectionState::Unselected, json!({"state": "unselected"})),
            (
                SelectionState::Selected { period: p },
                json!({"state": "selected", "period": "202611"}),
            ),
            (
                SelectionState::Confirmed {
                    period: p,
                    batch: 1,
                    on,
                },
                json!({"state": "confirmed", "period": "202611", "batch": 1, "on": "2026-12-03"}),
            ),
            (
                SelectionState::Scanned { period: p, on },
                json!({"state": "scanned", "period": "202611", "on": "2026-12-03"}),
            ),
        ];
        for (state, expected) in cases {
            assert_eq!(serde_json::to_value(state).unwrap(), expected);
            assert_eq!(
                serde_json::from_value::<SelectionState>(expected).unwrap(),
                state
            );
        }
        assert!(serde_json::from_value::<SelectionState>(
            json!({"state": "selected", "period": "202613"})
        )
        .is_err());
        assert!(serde_json::from_value::<SelectionState>(json!({"state": "unknown"})).is_err());
    }

    #[test]
    fn credit_rating() {
        for r in CreditRating::ALL {
            assert_eq!(CreditRating::parse_api(r.as_str()).unwrap(), r);
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.as_str())
            );
        }
        assert_eq!(CreditRating::parse_api(" b ").unwrap(), CreditRating::B);
        assert_eq!(CreditRating::parse_api("A级").unwrap(), CreditRating::A);
        assert_eq!(
            serde_json::from_str::<CreditRating>("\"M\"").unwrap(),
            CreditRating::M
        );
        for s in ["", "E", "AA", "级"] {
            let e = CreditRating::parse_api(s).unwrap_err();
            assert_eq!(e.field, "credit_rating");
            assert!(e.message.contains("纳税信用等级"));
        }
    }

    #[test]
    fn declaration_status() {
        let labels: Vec<_> = DeclarationStatus::ALL
            .iter()
            .map(|s| s.label_zh())
            .collect();
        assert_eq!(labels, ["已申报", "未申报", "未获取"]);
        for s in DeclarationStatus::ALL {
            assert_eq!(DeclarationStatus::parse_api(s.as_str()).unwrap(), s);
            assert_eq!(DeclarationStatus::parse_api(s.label_zh()).unwrap(), s);
            assert_eq!(DeclarationStatus::from_code(s.code()), Some(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert_eq!(
            serde_json::to_string(&DeclarationStatus::NotDeclared).unwrap(),
            "\"not_declared\""
        );
        assert_eq!(DeclarationStatus::from_code(9), None);
        let e = DeclarationStatus::parse_api("done").unwrap_err();
        assert_eq!(e.field, "status");
        assert!(e.message.contains("申报状态"));
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
