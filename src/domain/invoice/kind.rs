//! What each document kind adds to an invoice: the identity its kind requires (and the kind
//! digits of a 12-digit code), the 稽核比对 result of a 海关缴款书, the computed deduction of a
//! 农产品 invoice, and the table of type codes that invoicing systems use — data, since every
//! vendor numbers the kinds differently.

use serde::{Deserialize, Serialize};

use super::{InvoiceKey, InvoiceType, KeyShape};
use crate::domain::{DomainError, Fen};

/// 稽核比对 result of a 海关进口增值税专用缴款书: only 相符 may be deducted.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomsAudit {
    /// 相符
    Match,
    /// 不符
    Mismatch,
    /// 滞留 (not yet compared)
    Pending,
    /// 缺联
    Missing,
    /// 重号
    Duplicate,
}

impl CustomsAudit {
    pub const ALL: [Self; 5] = [
        Self::Match,
        Self::Mismatch,
        Self::Pending,
        Self::Missing,
        Self::Duplicate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Match => "match",
            Self::Mismatch => "mismatch",
            Self::Pending => "pending",
            Self::Missing => "missing",
            Self::Duplicate => "duplicate",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Match => "相符",
            Self::Mismatch => "不符",
            Self::Pending => "滞留",
            Self::Missing => "缺联",
            Self::Duplicate => "重号",
        }
    }

    /// Accepts the snake_case name or the Chinese label.
    pub fn parse_api(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s || a.label_zh() == s)
            .ok_or_else(|| {
                DomainError::new(
                    "audit_result",
                    "稽核比对结果不正确：应为 match（相符）、mismatch（不符）、pending（滞留）、missing（缺联）或 duplicate（重号）",
                )
            })
    }

    /// Compact storage code (1..=5; 0 is "none").
    pub fn code(self) -> u8 {
        match self {
            Self::Match => 1,
            Self::Mismatch => 2,
            Self::Pending => 3,
            Self::Missing => 4,
            Self::Duplicate => 5,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.code() == code)
    }
}

display_as_str!(CustomsAudit);

/// The statutory deduction rate of 农产品, in per mille: 9 %, or 10 % when the produce is
/// processed into goods taxed at 13 %.
pub const AGRICULTURAL_RATE_PERMILLE: u32 = 90;
pub const AGRICULTURAL_PROCESSING_RATE_PERMILLE: u32 = 100;

/// The deductible tax of an invoice of `kind`: the face tax, except for 农产品, whose
/// deduction is computed from the amount at the statutory 9 % (the suggested figure).
pub fn deductible_tax(kind: InvoiceType, amount: Fen, face_tax: Fen) -> Fen {
    match kind {
        InvoiceType::Agricultural => Fen::tax_at_rate(amount, AGRICULTURAL_RATE_PERMILLE),
        _ => face_tax,
    }
}

/// The checks a document of `kind` needs beyond the common ones: its identity has the kind's
/// shape, a 12-digit code carries the kind digits of 电子专票 (`13`) or 通行费 (`12`), a
/// 数电票号码's year is the year of issue, and only a 缴款书 has a 稽核比对 result.
pub fn check_kind(
    kind: InvoiceType,
    key: &InvoiceKey,
    issued_year: i32,
    audit: Option<CustomsAudit>,
) -> Result<(), DomainError> {
    let shape = kind.key_shape();
    if key.shape() != shape {
        let message = match shape {
            KeyShape::Digital => format!(
                "{}没有发票代码，发票号码应为20位数电票号码",
                kind.short_label_zh()
            ),
            KeyShape::Customs => "海关缴款书没有发票代码，发票号码应为缴款书号码".to_string(),
            KeyShape::Coded => format!(
                "{}应有发票代码（10位或12位）和8位发票号码",
                kind.short_label_zh()
            ),
        };
        return Err(DomainError::new("type", message));
    }
    let digits = |want: &str, name: &str| {
        let ok = key
            .invoice_code()
            .and_then(|c| c.kind_digits())
            .is_some_and(|d| d == want);
        if ok {
            Ok(())
        } else {
            Err(DomainError::new(
                "code",
                format!("{name}的发票代码应为12位，第11—12位为{want}"),
            ))
        }
    };
    match (kind, key) {
        (InvoiceType::ESpecial, _) => digits("13", "电子专票")?,
        (InvoiceType::Toll, _) => digits("12", "通行费电子普票")?,
        (_, InvoiceKey::Digital(n)) => {
            let year = issued_year.rem_euclid(100);
            if i64::from(n.year()) != i64::from(year) {
                return Err(DomainError::new(
                    "number",
                    format!(
                        "数电票号码前两位为开票年份{:02}，与开票日期（{issued_year}年）不符",
                        n.year()
                    ),
                ));
            }
        }
        _ => {}
    }
    if kind != InvoiceType::Customs && audit.is_some() {
        return Err(DomainError::new(
            "audit_result",
            "只有海关缴款书有稽核比对结果",
        ));
    }
    Ok(())
}

/// The type codes of invoicing systems and vendor files, mapped to kinds. The defaults are the
/// common national list; an office adds its own (e.g. another vendor's numbers for 数电票)
/// in the configuration (`[invoice_types] codes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeCodes {
    codes: Vec<(String, InvoiceType)>,
}

static INSTALLED: std::sync::OnceLock<TypeCodes> = std::sync::OnceLock::new();

/// The national type codes (发票种类代码) most lists agree on.
pub const DEFAULT_TYPE_CODES: [(&str, InvoiceType); 8] = [
    ("01", InvoiceType::Special),
    ("02", InvoiceType::Freight),
    ("03", InvoiceType::MotorVehicle),
    ("08", InvoiceType::ESpecial),
    ("14", InvoiceType::Toll),
    ("17", InvoiceType::Customs),
    ("81", InvoiceType::DigitalSpecial),
    ("82", InvoiceType::DigitalOrdinary),
];

impl Default for TypeCodes {
    fn default() -> Self {
        Self {
            codes: DEFAULT_TYPE_CODES
                .iter()
                .map(|(c, t)| ((*c).to_string(), *t))
                .collect(),
        }
    }
}

impl TypeCodes {
    /// The defaults plus `extra` (code → API name or Chinese label). An extra code replaces a
    /// default one of the same number.
    pub fn with_extra<'a>(
        extra: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, DomainError> {
        let mut table = Self::default();
        for (code, kind) in extra {
            let code = code.trim();
            if code.is_empty() || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(DomainError::new(
                    "invoice_types",
                    format!("发票种类代码“{code}”应为字母或数字"),
                ));
            }
            let kind = InvoiceType::parse_api(kind)?;
            table.codes.retain(|(c, _)| c != code);
            table.codes.push((code.to_string(), kind));
        }
        Ok(table)
    }

    /// A kind by its API name, Chinese label, or a type code of this table.
    pub fn parse(&self, input: &str) -> Result<InvoiceType, DomainError> {
        let s = input.trim();
        if let Some((_, t)) = self.codes.iter().find(|(c, _)| c == s) {
            return Ok(*t);
        }
        InvoiceType::parse_api(s)
    }

    /// Makes `table` the one [`TypeCodes::installed`] returns: called once at start-up with the
    /// configuration's codes. A second call is refused (`false`): the table does not change
    /// while the process runs.
    pub fn install(table: TypeCodes) -> bool {
        INSTALLED.set(table).is_ok()
    }

    /// The table of this process: the installed one, or the defaults.
    pub fn installed() -> &'static TypeCodes {
        INSTALLED.get_or_init(TypeCodes::default)
    }

    /// The codes of the table, in order.
    pub fn entries(&self) -> &[(String, InvoiceType)] {
        &self.codes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: Option<&str>, number: &str) -> InvoiceKey {
        InvoiceKey::parse_any(code, number).unwrap()
    }

    #[test]
    fn customs_audit_names() {
        for a in CustomsAudit::ALL {
            assert_eq!(CustomsAudit::parse_api(a.as_str()).unwrap(), a);
            assert_eq!(CustomsAudit::parse_api(a.label_zh()).unwrap(), a);
            assert_eq!(CustomsAudit::from_code(a.code()), Some(a));
        }
        assert_eq!(CustomsAudit::from_code(0), None);
        let e = CustomsAudit::parse_api("ok").unwrap_err();
        assert_eq!(e.field, "audit_result");
    }

    #[test]
    fn agricultural_deduction_is_computed_from_the_amount() {
        // 10,000.00 yuan of produce: 9 % is 900.00 yuan whatever the face says.
        let amount = Fen::new(1_000_000);
        assert_eq!(
            deductible_tax(InvoiceType::Agricultural, amount, Fen::ZERO),
            Fen::new(90_000)
        );
        // Rounded to the fen: 333.33 × 9 % = 29.9997 → 30.00.
        assert_eq!(
            deductible_tax(InvoiceType::Agricultural, Fen::new(33_333), Fen::ZERO),
            Fen::new(3_000)
        );
        assert_eq!(
            deductible_tax(InvoiceType::Special, amount, Fen::new(130_000)),
            Fen::new(130_000)
        );
    }

    #[test]
    fn each_kind_needs_its_shape() {
        let coded = key(Some("3300171130"), "00012345");
        let digital = key(None, "25442000000123456789");
        let customs = key(None, "530120251000123456-L01");
        assert!(check_kind(InvoiceType::Special, &coded, 2025, None).is_ok());
        assert!(check_kind(InvoiceType::Agricultural, &coded, 2025, None).is_ok());
        assert!(check_kind(InvoiceType::DigitalSpecial, &digital, 2025, None).is_ok());
        assert!(check_kind(InvoiceType::DigitalOrdinary, &digital, 2025, None).is_ok());
        assert!(check_kind(
            InvoiceType::Customs,
            &customs,
            2025,
            Some(CustomsAudit::Match)
        )
        .is_ok());
        let e = check_kind(InvoiceType::DigitalSpecial, &coded, 2025, None).unwrap_err();
        assert_eq!(
            e.message,
            "数电专票没有发票代码，发票号码应为20位数电票号码"
        );
        let e = check_kind(InvoiceType::Special, &digital, 2025, None).unwrap_err();
        assert_eq!(e.message, "专用发票应有发票代码（10位或12位）和8位发票号码");
        let e = check_kind(InvoiceType::Customs, &digital, 2025, None).unwrap_err();
        assert_eq!(e.message, "海关缴款书没有发票代码，发票号码应为缴款书号码");
        let e = check_kind(InvoiceType::DigitalSpecial, &customs, 2025, None).unwrap_err();
        assert_eq!(e.field, "type");
    }

    #[test]
    fn twelve_digit_codes_carry_the_kind() {
        let e_special = key(Some("044031900113"), "00000001");
        let toll = key(Some("044031900112"), "00000001");
        let ordinary = key(Some("044031900111"), "00000001");
        let ten = key(Some("4403190013"), "00000001");
        assert!(check_kind(InvoiceType::ESpecial, &e_special, 2025, None).is_ok());
        assert!(check_kind(InvoiceType::Toll, &toll, 2025, None).is_ok());
        for k in [&toll, &ordinary, &ten] {
            let e = check_kind(InvoiceType::ESpecial, k, 2025, None).unwrap_err();
            assert_eq!(
                (e.field, e.message.as_str()),
                ("code", "电子专票的发票代码应为12位，第11—12位为13")
            );
        }
        let e = check_kind(InvoiceType::Toll, &e_special, 2025, None).unwrap_err();
        assert_eq!(e.message, "通行费电子普票的发票代码应为12位，第11—12位为12");
    }

    #[test]
    fn digital_number_year_is_the_year_of_issue() {
        let digital = key(None, "25442000000123456789");
        let e = check_kind(InvoiceType::DigitalOrdinary, &digital, 2026, None).unwrap_err();
        assert_eq!(
            (e.field, e.message.as_str()),
            (
                "number",
                "数电票号码前两位为开票年份25，与开票日期（2026年）不符"
            )
        );
    }

    #[test]
    fn only_customs_has_an_audit_result() {
        let coded = key(Some("3300171130"), "00012345");
        let e = check_kind(
            InvoiceType::Special,
            &coded,
            2025,
            Some(CustomsAudit::Match),
        )
        .unwrap_err();
        assert_eq!(e.message, "只有海关缴款书有稽核比对结果");
    }

    #[test]
    fn type_codes_are_data() {
        let t = TypeCodes::default();
        assert_eq!(t.parse("81").unwrap(), InvoiceType::DigitalSpecial);
        assert_eq!(t.parse("17").unwrap(), InvoiceType::Customs);
        assert_eq!(t.parse("数电普票").unwrap(), InvoiceType::DigitalOrdinary);
        assert_eq!(t.parse("toll").unwrap(), InvoiceType::Toll);
        assert!(t.parse("31").is_err());
        // Another vendor's numbering, added by the office; a default code can be remapped.
        let t = TypeCodes::with_extra([("31", "digital_special"), ("95", "农产品发票")]).unwrap();
        assert_eq!(t.parse("31").unwrap(), InvoiceType::DigitalSpecial);
        assert_eq!(t.parse("95").unwrap(), InvoiceType::Agricultural);
        let t = TypeCodes::with_extra([("01", "e_special")]).unwrap();
        assert_eq!(t.parse("01").unwrap(), InvoiceType::ESpecial);
        assert!(TypeCodes::with_extra([("3 1", "toll")]).is_err());
        assert!(TypeCodes::with_extra([("31", "nothing")]).is_err());
    }
}
