//! Confirmation batches (确认批次, S-T6): the n-th 确认 of a period.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::TaxPeriod;
use crate::domain::{Fen, InvoiceKey, InvoiceUse, TaxpayerId};

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
    /// The use of every invoice in the batch: batches are made per use. Not part of the
    /// postcard record (the store keeps it after it, so older batches read as 抵扣).
    #[serde(skip)]
    pub use_: InvoiceUse,
}

/// Why a batch became void.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoidReason {
    /// The recorded declaration status of the period is 已申报.
    PeriodDeclared,
    /// The taxpayer answered 已完成申报.
    TaxpayerDeclared,
    /// The window closed at the deadline while the batch was pending.
    WindowClosed,
    /// The period was rolled back while the batch was pending (S-T8).
    RolledBack,
    /// The office withdrew the 退税 registration of a pending 退税 batch.
    RegistrationWithdrawn,
}

impl VoidReason {
    pub fn as_str(self) -> &'static str {
        match self {
            VoidReason::PeriodDeclared => "period_declared",
            VoidReason::TaxpayerDeclared => "taxpayer_declared",
            VoidReason::WindowClosed => "window_closed",
            VoidReason::RolledBack => "rolled_back",
            VoidReason::RegistrationWithdrawn => "registration_withdrawn",
        }
    }

    /// The manual's message for the void batch of `period`.
    pub fn message(self, period: TaxPeriod) -> String {
        match self {
            VoidReason::PeriodDeclared => format!(
                "本次确认不成功，原因：您税款所属期{}的申报工作已完成，本批次发票请您在下期进行勾选认证操作！",
                period.label_zh()
            ),
            VoidReason::TaxpayerDeclared => format!(
                "您已选择已完成税款所属期{}的申报，本次确认的数据无效，发票已回退至未勾选状态，税款所属期已变更为下期，请重新进行勾选和确认操作。",
                period.label_zh()
            ),
            VoidReason::WindowClosed => format!(
                "税款所属期{}的勾选确认期限已过，本次确认的数据无效，发票已回退至未勾选状态。",
                period.label_zh()
            ),
            VoidReason::RolledBack => format!(
                "税款所属期已回退，{}的待提交确认作废，发票已回退至未勾选状态。",
                period.label_zh()
            ),
            VoidReason::RegistrationWithdrawn => format!(
                "贵单位的退税登记已取消，{}的待提交退税确认作废，发票已回退至未勾选状态。",
                period.label_zh()
            ),
        }
    }
}
