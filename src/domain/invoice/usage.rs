//! 勾选用途: what a selected invoice is used for — 抵扣, 不抵扣 (with its reason), 退税 or 代办退税
//! — with the 有效税额 it deducts, the taxpayer's registration that allows 退税, and the
//! numeric use codes of vendor files (data, since older lists number the uses differently).

use serde::{Deserialize, Serialize};

use crate::domain::{DomainError, Fen};

/// 勾选用途. Stored by [`InvoiceUse::code`]; the enum's order is never changed.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceUse {
    /// 抵扣 (用途 1): deducted in the period's declaration.
    #[default]
    Deduct,
    /// 退税 (用途 2): for the export rebate; only an enterprise registered for 出口退税.
    Refund,
    /// 代办退税 (用途 3): the rebate a 外贸综合服务企业 claims for its clients.
    AgentRefund,
    /// 不抵扣 (用途 6): certified but not deducted, with a reason the declaration needs.
    NoDeduct,
}

impl InvoiceUse {
    pub const ALL: [Self; 4] = [
        Self::Deduct,
        Self::NoDeduct,
        Self::Refund,
        Self::AgentRefund,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deduct => "deduct",
            Self::Refund => "refund",
            Self::AgentRefund => "agent_refund",
            Self::NoDeduct => "no_deduct",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Deduct => "抵扣",
            Self::Refund => "退税",
            Self::AgentRefund => "代办退税",
            Self::NoDeduct => "不抵扣",
        }
    }

    /// The use code of the successor platform (1 抵扣, 2 退税, 3 代办退税, 6 不抵扣); also the
    /// stored code. Never renumber.
    pub fn code(self) -> u8 {
        match self {
            Self::Deduct => 1,
            Self::Refund => 2,
            Self::AgentRefund => 3,
            Self::NoDeduct => 6,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|u| u.code() == code)
    }

    /// 退税 or 代办退税: selections that belong to the current month and need a registration.
    pub fn is_refund(self) -> bool {
        matches!(self, Self::Refund | Self::AgentRefund)
    }

    /// Accepts the API name or the Chinese label.
    pub fn parse_api(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        Self::ALL
            .into_iter()
            .find(|u| u.as_str() == s || u.label_zh() == s)
            .ok_or_else(|| {
                DomainError::new(
                    "use",
                    "勾选用途不正确：应为 deduct（抵扣）、no_deduct（不抵扣）、refund（退税）或 agent_refund（代办退税）",
                )
            })
    }
}

display_as_str!(InvoiceUse);

/// 不抵扣原因. Stored by [`NoDeductReason::code`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoDeductReason {
    /// 用于非应税项目
    NonTaxable,
    /// 用于免税项目
    TaxExempt,
    /// 用于集体福利或者个人消费
    Welfare,
    /// 遭受非正常损失
    AbnormalLoss,
    /// 其他 (needs a description)
    Other,
}

impl NoDeductReason {
    pub const ALL: [Self; 5] = [
        Self::NonTaxable,
        Self::TaxExempt,
        Self::Welfare,
        Self::AbnormalLoss,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NonTaxable => "non_taxable",
            Self::TaxExempt => "tax_exempt",
            Self::Welfare => "welfare",
            Self::AbnormalLoss => "abnormal_loss",
            Self::Other => "other",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::NonTaxable => "用于非应税项目",
            Self::TaxExempt => "用于免税项目",
            Self::Welfare => "用于集体福利或者个人消费",
            Self::AbnormalLoss => "遭受非正常损失",
            Self::Other => "其他",
        }
    }

    /// Stored code (1..=5). Never renumber.
    pub fn code(self) -> u8 {
        match self {
            Self::NonTaxable => 1,
            Self::TaxExempt => 2,
            Self::Welfare => 3,
            Self::AbnormalLoss => 4,
            Self::Other => 5,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Accepts the API name, the Chinese label or the code (1–5).
    pub fn parse_api(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s || r.label_zh() == s || r.code().to_string() == s)
            .ok_or_else(|| {
                let names = Self::ALL
                    .iter()
                    .map(|r| format!("{}（{}）", r.as_str(), r.label_zh()))
                    .collect::<Vec<_>>()
                    .join("、");
                DomainError::new("reason", format!("不抵扣原因不正确：应为{names}之一"))
            })
    }
}

display_as_str!(NoDeductReason);

/// The longest 不抵扣 description (其他) kept, in characters.
pub const REASON_TEXT_MAX: usize = 200;

/// What a selected or confirmed invoice is used for: the use, the tax it counts (有效税额 for
/// 抵扣 and 退税, the face tax for 不抵扣), and the 不抵扣 reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    #[serde(rename = "use")]
    pub use_: InvoiceUse,
    pub effective_tax: Fen,
    pub reason: Option<NoDeductReason>,
    pub reason_text: Option<String>,
}

impl Usage {
    /// 抵扣 of the whole deductible tax: what every selection was before uses existed.
    pub fn deduct(tax: Fen) -> Usage {
        Usage {
            use_: InvoiceUse::Deduct,
            effective_tax: tax,
            reason: None,
            reason_text: None,
        }
    }
}

/// What the taxpayer asks for with a selection row: the use (抵扣 when not given), a 有效税额
/// (the full deductible tax when not given) and, for 不抵扣, the reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UseRequest {
    pub use_: Option<InvoiceUse>,
    pub effective_tax: Option<Fen>,
    pub reason: Option<NoDeductReason>,
    pub reason_text: Option<String>,
}

impl UseRequest {
    /// A plain 抵扣 selection.
    pub fn deduct() -> UseRequest {
        UseRequest::default()
    }

    pub fn of(use_: InvoiceUse) -> UseRequest {
        UseRequest {
            use_: Some(use_),
            ..UseRequest::default()
        }
    }

    pub fn use_or_default(&self) -> InvoiceUse {
        self.use_.unwrap_or(InvoiceUse::Deduct)
    }
}

/// The taxpayer's registration for the export rebate, recorded by the office: only a
/// registered enterprise may select for 退税 (出口退税企业) or 代办退税 (外贸综合服务企业).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRegistration {
    /// 出口退税企业: may select for 退税.
    pub exporter: bool,
    /// 外贸综合服务企业: may select for 代办退税.
    pub trade_service: bool,
}

impl RefundRegistration {
    pub fn allows(self, use_: InvoiceUse) -> bool {
        match use_ {
            InvoiceUse::Refund => self.exporter,
            InvoiceUse::AgentRefund => self.trade_service,
            InvoiceUse::Deduct | InvoiceUse::NoDeduct => true,
        }
    }

    /// One byte for the store: bit 0 exporter, bit 1 trade service.
    pub fn bits(self) -> u8 {
        u8::from(self.exporter) | (u8::from(self.trade_service) << 1)
    }

    pub fn from_bits(b: u8) -> Self {
        RefundRegistration {
            exporter: b & 1 != 0,
            trade_service: b & 2 != 0,
        }
    }

    pub fn label_zh(self) -> String {
        match (self.exporter, self.trade_service) {
            (false, false) => "未登记".into(),
            (true, false) => "出口退税企业".into(),
            (false, true) => "外贸综合服务企业".into(),
            (true, true) => "出口退税企业、外贸综合服务企业".into(),
        }
    }
}

/// The use codes of vendor files and older platforms, mapped to uses. The defaults are the
/// successor platform's (1, 2, 3, 6); an office adds others in the configuration
/// (`[uses] codes = { "0" = "deduct" }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UseCodes {
    codes: Vec<(String, InvoiceUse)>,
}

static INSTALLED: std::sync::OnceLock<UseCodes> = std::sync::OnceLock::new();

impl Default for UseCodes {
    fn default() -> Self {
        Self {
            codes: InvoiceUse::ALL
                .iter()
                .map(|u| (u.code().to_string(), *u))
                .collect(),
        }
    }
}

impl UseCodes {
    /// The defaults plus `extra` (code → API name or Chinese label); an extra code replaces a
    /// default one of the same number.
    pub fn with_extra<'a>(
        extra: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, DomainError> {
        let mut table = Self::default();
        for (code, use_) in extra {
            let code = code.trim();
            if code.is_empty() || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(DomainError::new(
                    "uses",
                    format!("勾选用途代码“{code}”应为字母或数字"),
                ));
            }
            let use_ = InvoiceUse::parse_api(use_)?;
            table.codes.retain(|(c, _)| c != code);
            table.codes.push((code.to_string(), use_));
        }
        Ok(table)
    }

    /// A use by its API name, Chinese label, or a code of this table.
    pub fn parse(&self, input: &str) -> Result<InvoiceUse, DomainError> {
        let s = input.trim();
        if let Some((_, u)) = self.codes.iter().find(|(c, _)| c == s) {
            return Ok(*u);
        }
        InvoiceUse::parse_api(s)
    }

    /// Makes `table` the one [`UseCodes::installed`] returns (once, at start-up).
    pub fn install(table: UseCodes) -> bool {
        INSTALLED.set(table).is_ok()
    }

    pub fn installed() -> &'static UseCodes {
        INSTALLED.get_or_init(UseCodes::default)
    }

    pub fn entries(&self) -> &[(String, InvoiceUse)] {
        &self.codes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uses_have_names_labels_and_the_platform_codes() {
        for u in InvoiceUse::ALL {
            assert_eq!(InvoiceUse::parse_api(u.as_str()).unwrap(), u);
            assert_eq!(InvoiceUse::parse_api(u.label_zh()).unwrap(), u);
            assert_eq!(InvoiceUse::from_code(u.code()), Some(u));
            assert_eq!(
                serde_json::to_string(&u).unwrap(),
                format!("\"{}\"", u.as_str())
            );
        }
        let codes: Vec<u8> = [
            InvoiceUse::Deduct,
            InvoiceUse::Refund,
            InvoiceUse::AgentRefund,
            InvoiceUse::NoDeduct,
        ]
        .map(InvoiceUse::code)
        .to_vec();
        assert_eq!(codes, [1, 2, 3, 6]);
        assert_eq!(InvoiceUse::from_code(4), None);
        assert!(InvoiceUse::Refund.is_refund() && InvoiceUse::AgentRefund.is_refund());
        assert!(!InvoiceUse::Deduct.is_refund() && !InvoiceUse::NoDeduct.is_refund());
        let e = InvoiceUse::parse_api("rebate").unwrap_err();
        assert_eq!(e.field, "use");
        assert!(e.message.contains("勾选用途"));
    }

    #[test]
    fn reasons_have_names_labels_and_codes() {
        for r in NoDeductReason::ALL {
            assert_eq!(NoDeductReason::parse_api(r.as_str()).unwrap(), r);
            assert_eq!(NoDeductReason::parse_api(r.label_zh()).unwrap(), r);
            assert_eq!(NoDeductReason::parse_api(&r.code().to_string()).unwrap(), r);
            assert_eq!(NoDeductReason::from_code(r.code()), Some(r));
        }
        assert_eq!(
            NoDeductReason::Welfare.label_zh(),
            "用于集体福利或者个人消费"
        );
        let e = NoDeductReason::parse_api("lost").unwrap_err();
        assert_eq!(e.field, "reason");
        assert!(e.message.contains("遭受非正常损失"));
    }

    #[test]
    fn use_codes_are_data() {
        let t = UseCodes::default();
        assert_eq!(t.parse("1").unwrap(), InvoiceUse::Deduct);
        assert_eq!(t.parse("6").unwrap(), InvoiceUse::NoDeduct);
        assert_eq!(t.parse("退税").unwrap(), InvoiceUse::Refund);
        assert!(t.parse("0").is_err());
        // An older list: 0 抵扣, and 2 replaced by 不抵扣.
        let t = UseCodes::with_extra([("0", "deduct"), ("2", "不抵扣")]).unwrap();
        assert_eq!(t.parse("0").unwrap(), InvoiceUse::Deduct);
        assert_eq!(t.parse("2").unwrap(), InvoiceUse::NoDeduct);
        assert_eq!(t.parse("3").unwrap(), InvoiceUse::AgentRefund);
        assert!(UseCodes::with_extra([("x y", "deduct")]).is_err());
        assert!(UseCodes::with_extra([("9", "rebate")]).is_err());
    }

    #[test]
    fn registration_allows_only_its_refunds() {
        let none = RefundRegistration::default();
        let exp = RefundRegistration {
            exporter: true,
            trade_service: false,
        };
        let ts = RefundRegistration {
            exporter: false,
            trade_service: true,
        };
        for r in [none, exp, ts] {
            assert!(r.allows(InvoiceUse::Deduct) && r.allows(InvoiceUse::NoDeduct));
            assert_eq!(RefundRegistration::from_bits(r.bits()), r);
        }
        assert!(!none.allows(InvoiceUse::Refund) && !none.allows(InvoiceUse::AgentRefund));
        assert!(exp.allows(InvoiceUse::Refund) && !exp.allows(InvoiceUse::AgentRefund));
        assert!(!ts.allows(InvoiceUse::Refund) && ts.allows(InvoiceUse::AgentRefund));
        assert_eq!(exp.label_zh(), "出口退税企业");
    }
}
