//! Domain core: plain types and rules, no HTTP, no storage, no clock reads;
//! may depend only on std, chrono, serde, thiserror.
//!
//! Every type here *parses* rather than validates: fields are private and the
//! constructors return `Result<_, DomainError>`, so a value that exists is
//! always well-formed.

pub mod error;
pub mod hours;
pub mod interaction;
pub mod invoice;
pub mod money;
pub mod period;
pub mod region;
pub mod taxpayer_id;

pub use error::DomainError;
pub use hours::WorkingHours;
pub use invoice::{
    CertMethod, CreditRating, DeclarationStatus, InvoiceCode, InvoiceKey, InvoiceNumber,
    InvoiceStatus, InvoiceType, SelectionState,
};
pub use money::Fen;
pub use period::{FilingPeriod, TaxPeriod};
pub use region::Region;
pub use taxpayer_id::{credit_code_check_char, TaxpayerId, TaxpayerIdKind};

pub mod engine;
pub mod login;
pub mod query;
pub mod records;
pub mod rules;
pub mod statistics;

pub use records::{
    Actor, AuditEntry, BatchStatus, BulkRejection, BulkUpload, ConfirmationBatch, Contact,
    Enterprise, Invoice, InvoiceChange, InvoiceEvent, PasswordFailures, PlatformPassword,
    ProfileChange, RatingChange, Role, ScanRecord, Staff, Taxpayer, UnselectReason,
};
