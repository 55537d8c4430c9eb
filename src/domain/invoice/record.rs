//! The invoice record (S-D2–S-D7) and the scan-certification records waiting to be applied.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use chrono::Datelike;

use super::{
    check_kind, deductible_tax, CustomsAudit, InvoiceKey, InvoiceStatus, InvoiceType, InvoiceUse,
    SelectionState, Usage,
};
use crate::domain::{DomainError, Fen, TaxPeriod, TaxpayerId};

/// One incoming VAT invoice as the platform sees it (S-D2–S-D7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    pub key: InvoiceKey,
    pub kind: InvoiceType,
    pub issued_on: NaiveDate,
    pub seller_id: TaxpayerId,
    pub seller_name: String,
    pub buyer_id: TaxpayerId,
    pub amount: Fen,
    pub tax: Fen,
    pub status: InvoiceStatus,
    pub selection: SelectionState,
    /// 稽核比对 result: `Some` exactly for a 海关缴款书.
    pub audit: Option<CustomsAudit>,
    /// 勾选用途 while 已勾选 or 已确认 (`None` otherwise; a scan-certified invoice is deducted
    /// in full).
    pub usage: Option<Usage>,
}

impl Invoice {
    /// The same invoice as issued, ignoring what has happened to it since (status, selection).
    /// Used to tell an identical re-import from a conflicting one.
    pub fn same_issue(&self, other: &Invoice) -> bool {
        self.key == other.key
            && self.kind == other.kind
            && self.issued_on == other.issued_on
            && self.seller_id == other.seller_id
            && self.seller_name == other.seller_name
            && self.buyer_id == other.buyer_id
            && self.amount == other.amount
            && self.tax == other.tax
    }

    /// The tax this invoice deducts: the face tax, or for 农产品 the computed deduction.
    pub fn deductible_tax(&self) -> Fen {
        deductible_tax(self.kind, self.amount, self.tax)
    }

    /// The use of a selected or confirmed invoice (抵扣 for one certified without a recorded
    /// use); `None` when neither.
    pub fn use_(&self) -> Option<InvoiceUse> {
        match self.selection {
            SelectionState::Unselected => None,
            SelectionState::Scanned { .. } => Some(InvoiceUse::Deduct),
            SelectionState::Selected { .. } | SelectionState::Confirmed { .. } => {
                Some(self.usage.as_ref().map_or(InvoiceUse::Deduct, |u| u.use_))
            }
        }
    }

    /// The tax the invoice counts in its use's statistics: 有效税额, or the deductible tax
    /// when no use was recorded.
    pub fn effective_tax(&self) -> Fen {
        self.usage
            .as_ref()
            .map_or_else(|| self.deductible_tax(), |u| u.effective_tax)
    }

    /// Checks an invoice as received from the invoicing system: amounts not negative, tax
    /// not above the amount, seller and buyer different, not issued after `today`, and what
    /// its kind requires ([`check_kind`]).
    pub fn check_issue(&self, today: NaiveDate) -> Result<(), DomainError> {
        check_kind(self.kind, &self.key, self.issued_on.year(), self.audit)?;
        if self.amount.value() < 0 {
            return Err(DomainError::new("amount", "金额不能为负数"));
        }
        if self.tax.value() < 0 {
            return Err(DomainError::new("tax", "税额不能为负数"));
        }
        if self.tax > self.amount {
            return Err(DomainError::new("tax", "税额不能大于金额"));
        }
        if self.seller_id == self.buyer_id {
            return Err(DomainError::new("seller_id", "销方税号不能与购方税号相同"));
        }
        if self.seller_name.trim().is_empty() {
            return Err(DomainError::new("seller_name", "销方名称不能为空"));
        }
        if self.issued_on > today {
            return Err(DomainError::new("issued_on", "开票日期不能晚于今天"));
        }
        Ok(())
    }
}

/// A scan-certification record (扫描认证) imported by the office, waiting for the statistics
/// job to apply it (S-O3, S-T9: "当天扫描认证的数据会第二天在本统计表中体现").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanRecord {
    pub period: TaxPeriod,
    pub scanned_on: NaiveDate,
    pub imported_at: DateTime<FixedOffset>,
    pub by: String,
}
