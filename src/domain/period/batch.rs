//! Confirmation batches (确认批次, S-T6): the n-th 确认 of a period.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::TaxPeriod;
use crate::domain::rules::VoidReason;
use crate::domain::{Fen, InvoiceKey, TaxpayerId};

/// State of a confirmation batch (S-T6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    /// 待提交
    Pending,
    /// 已提交
    Submitted,
    /// 作废 (declaration found at submit)
    Void,
}

impl BatchStatus {
    /// The manual's words: 待提交, 已提交, and 确认不成功 for a void batch.
    pub fn label_zh(self) -> &'static str {
        match self {
            BatchStatus::Pending => "待提交",
            BatchStatus::Submitted => "已提交",
            BatchStatus::Void => "确认不成功",
        }
    }
}

/// A confirmation batch: the n-th 确认 of a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmationBatch {
    pub taxpayer: TaxpayerId,
    pub period: TaxPeriod,
    pub number: u32,
    pub status: BatchStatus,
    pub invoices: Vec<InvoiceKey>,
    pub count: u64,
    pub amount: Fen,
    pub tax: Fen,
    pub made_at: DateTime<FixedOffset>,
    pub submitted_at: Option<DateTime<FixedOffset>>,
    /// Why the batch is void, when it is.
    pub void_reason: Option<VoidReason>,
}
