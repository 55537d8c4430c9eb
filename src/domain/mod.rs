//! Domain core: plain types and rules, no HTTP, no storage, no clock reads;
//! may depend only on std, chrono, serde, thiserror.
//!
//! Every type here *parses* rather than validates: fields are private and the
//! constructors return `Result<_, DomainError>`, so a value that exists is
//! always well-formed.
//!
//! # Layout, by aggregate
//!
//! - [`invoice`]: code, number and key; type, status, certification method and selection
//!   state; the [`Invoice`] record, its history ([`InvoiceEvent`]) and [`ScanRecord`].
//! - [`taxpayer`]: [`TaxpayerId`] and [`Region`]; [`CreditRating`]; the [`Taxpayer`] record
//!   with its contact, enterprise information and platform password.
//! - [`period`]: [`TaxPeriod`] and [`FilingPeriod`]; [`DeclarationStatus`]; the
//!   [`ConfirmationBatch`] records; the period rules (deadline and window, S-P1/S-P2;
//!   rollback, S-T8).
//! - [`staff`] ([`Role`], [`Staff`]), [`audit`] ([`Actor`], [`AuditEntry`]), [`bulk`]
//!   ([`BulkUpload`]).
//! - [`rules`] (the decisions of S-P1–S-P3, S-T6, S-T8), [`query`] (发票勾选 conditions),
//!   [`statistics`] (抵扣统计), [`login`] (S-T1): plain functions over the records.
//! - [`engine`]: applies the rules to a taxpayer's records through its `Ledger`/`Book` ports.
//! - [`interaction`] (征纳互动) and [`hours`] (人工导税 working hours): on their own;
//!   [`paging`]: the page and page size of every list.
//!
//! # What depends on what
//!
//! 1. [`error`] and [`hours`]: nothing else in the domain; [`money`]: [`error`] only.
//! 2. The values: [`TaxPeriod`], [`TaxpayerId`], [`Region`], the invoice key, the kind and
//!    state enums, [`CreditRating`], [`DeclarationStatus`] — on [`error`] and each other only
//!    (a [`SelectionState`] names its period, a [`Region`] is read from a taxpayer ID).
//! 3. The records: [`Invoice`], [`Taxpayer`], [`ConfirmationBatch`], [`Actor`], the history,
//!    audit and bulk records — built from the values (and [`Fen`]) across the aggregates (a
//!    [`Taxpayer`] names its current period, a [`ConfirmationBatch`] its taxpayer and invoice
//!    keys, an [`InvoiceEvent`] its [`Actor`]). Plain data; storage encodes them (see
//!    `store::codec`).
//! 4. The rules: the period rules in [`period`] on the period values; [`rules`] (which
//!    re-exports them), [`query`], [`statistics`], [`login`] on the values and records.
//! 5. [`engine`]: on everything above; nothing in the domain depends on it.
//! 6. [`interaction`]: on nothing else in the domain.
//!
//! Everything callers need is re-exported here (`domain::Invoice`, `domain::TaxPeriod`, …);
//! the modules `engine`, `rules`, `query`, `statistics`, `interaction`, `login`, `hours`,
//! `money`, `period`, `region`, `taxpayer_id` and `error` keep their paths.

/// Implements `Display` as `as_str()`.
macro_rules! display_as_str {
    ($t:ty) => {
        impl ::std::fmt::Display for $t {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod audit;
pub mod bulk;
pub mod calendar;
pub mod engine;
pub mod error;
pub mod hours;
pub mod interaction;
pub mod invoice;
pub mod login;
pub mod money;
pub mod paging;
pub mod period;
pub mod query;
pub mod rules;
pub mod staff;
pub mod statistics;
pub mod taxpayer;

// `domain::region::…` and `domain::taxpayer_id::…` as before the taxpayer aggregate.
pub use taxpayer::{region, taxpayer_id};

pub use audit::{Actor, AuditEntry};
pub use bulk::{BulkRejection, BulkUpload};
pub use error::DomainError;
pub use hours::WorkingHours;
pub use invoice::{
    check_kind, check_risk_reason, CertMethod, CustomsAudit, CustomsNumber, DigitalNumber, Invoice,
    InvoiceChange, InvoiceCode, InvoiceEvent, InvoiceKey, InvoiceNumber, InvoiceStatus,
    InvoiceType, InvoiceUse, KeyShape, NoDeductReason, RefundRegistration, RiskySeller, ScanRecord,
    SelectionState, TransferOut, TransferRefusal, TypeCodes, UnselectReason, Usage, UseCodes,
    UseRequest, REASON_TEXT_MAX,
};
pub use money::Fen;
pub use paging::Paging;
pub use period::{BatchStatus, ConfirmationBatch, DeclarationStatus, FilingPeriod, TaxPeriod};
pub use staff::{Area, Role, Staff};
pub use taxpayer::{
    credit_code_check_char, Contact, CreditRating, Enterprise, PasswordFailures, PlatformPassword,
    ProfileChange, RatingChange, Region, Taxpayer, TaxpayerId, TaxpayerIdKind,
};
