//! The invoice aggregate: identity (code + number, 数电票号码 or 缴款书号码), kinds and states,
//! the record the platform keeps, and its history.

mod history;
mod key;
mod kind;
mod record;
mod state;
mod transfer;
mod usage;

pub use history::{InvoiceChange, InvoiceEvent, UnselectReason};
pub use key::{
    province_name, CustomsNumber, DigitalNumber, InvoiceCode, InvoiceKey, InvoiceNumber, KeyShape,
    PROVINCES,
};
pub use kind::{
    check_kind, deductible_tax, CustomsAudit, TypeCodes, AGRICULTURAL_PROCESSING_RATE_PERMILLE,
    AGRICULTURAL_RATE_PERMILLE, DEFAULT_TYPE_CODES,
};
pub use record::{Invoice, ScanRecord};
pub use state::{CertMethod, InvoiceStatus, InvoiceType, SelectionState};
pub use transfer::{check_risk_reason, RiskySeller, TransferOut, TransferRefusal, RISK_REASON_MAX};
pub use usage::{
    InvoiceUse, NoDeductReason, RefundRegistration, Usage, UseCodes, UseRequest, REASON_TEXT_MAX,
};
