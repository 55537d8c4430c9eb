//! 进项税额转出: the input tax a taxpayer gives back when an invoice it deducted later became
//! 失控, 异常, 作废 or 红冲 — recorded once per invoice, for the period it is declared in.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::{InvoiceKey, InvoiceStatus};
use crate::domain::{Fen, TaxPeriod, TaxpayerId};

/// One recorded transfer-out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferOut {
    pub taxpayer: TaxpayerId,
    pub key: InvoiceKey,
    /// The period whose declaration carries the transfer.
    pub period: TaxPeriod,
    /// The tax transferred out: what the invoice deducted (its 有效税额).
    pub tax: Fen,
    /// The invoice's status when the transfer was recorded.
    pub status: InvoiceStatus,
    pub at: DateTime<FixedOffset>,
    pub by: String,
}

/// Why one invoice of a transfer-out request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferRefusal {
    /// Not one of the taxpayer's invoices.
    UnknownInvoice,
    /// Not certified for 抵扣, or still 正常: nothing to transfer out.
    NotRequired,
    /// Recorded before.
    AlreadyTransferred(TaxPeriod),
    /// The same invoice twice in one request.
    DuplicateRow,
}

impl TransferRefusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::UnknownInvoice => "unknown_invoice",
            Self::NotRequired => "not_required",
            Self::AlreadyTransferred(_) => "already_transferred",
            Self::DuplicateRow => "duplicate_row",
        }
    }

    pub fn message(self) -> String {
        match self {
            Self::UnknownInvoice => "发票不存在，请核对发票代码和发票号码".into(),
            Self::NotRequired => {
                "该发票不需要进项税额转出：只有已认证抵扣后发生失控、异常、作废或红冲的发票需要转出"
                    .into()
            }
            Self::AlreadyTransferred(p) => {
                format!("该发票已在税款所属期{}做进项税额转出", p.label_zh())
            }
            Self::DuplicateRow => "同一发票在本次提交中重复出现".into(),
        }
    }
}

/// A seller the office flagged as a risk (风险纳税人): taxpayers are warned about its
/// invoices, and selecting one asks for confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskySeller {
    pub seller_id: TaxpayerId,
    pub reason: String,
    pub by: String,
    pub at: DateTime<FixedOffset>,
}

/// The longest reason kept for a flagged seller, in characters.
pub const RISK_REASON_MAX: usize = 200;

/// Checks the reason the office gives for flagging a seller: not empty, at most
/// [`RISK_REASON_MAX`] characters. Returns it trimmed.
pub fn check_risk_reason(reason: &str) -> Result<String, crate::domain::DomainError> {
    let r = reason.trim();
    if r.is_empty() {
        return Err(crate::domain::DomainError::new(
            "reason",
            "请填写标记为风险纳税人的原因",
        ));
    }
    if r.chars().count() > RISK_REASON_MAX {
        return Err(crate::domain::DomainError::new(
            "reason",
            format!("原因最多{RISK_REASON_MAX}个字"),
        ));
    }
    Ok(r.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risk_reasons_are_required_and_bounded() {
        assert_eq!(
            check_risk_reason("  虚开发票嫌疑 ").unwrap(),
            "虚开发票嫌疑"
        );
        assert_eq!(check_risk_reason(" ").unwrap_err().field, "reason");
        assert!(check_risk_reason(&"长".repeat(RISK_REASON_MAX)).is_ok());
        assert!(check_risk_reason(&"长".repeat(RISK_REASON_MAX + 1)).is_err());
    }

    #[test]
    fn transfer_refusals_have_codes_and_messages() {
        let p = TaxPeriod::parse("202611").unwrap();
        for (r, code) in [
            (TransferRefusal::UnknownInvoice, "unknown_invoice"),
            (TransferRefusal::NotRequired, "not_required"),
            (
                TransferRefusal::AlreadyTransferred(p),
                "already_transferred",
            ),
            (TransferRefusal::DuplicateRow, "duplicate_row"),
        ] {
            assert_eq!(r.code(), code);
            assert!(!r.message().is_empty());
        }
        assert!(TransferRefusal::AlreadyTransferred(p)
            .message()
            .contains("2026年11月"));
    }
}
