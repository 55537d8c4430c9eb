//! The period aggregate: tax periods (税款所属期) and their filing periods, the declaration
//! status of a period, the confirmation batches made in it, and the period rules: when its
//! selection window closes (S-P1, S-P2) and when the taxpayer may go back to it (S-T8).

mod batch;
mod declaration;
mod rollback;
mod tax_period;
mod window;

pub use batch::{BatchStatus, ConfirmationBatch, VoidReason};
pub use declaration::DeclarationStatus;
pub use rollback::{rollback_check, RollbackFacts, RollbackRefusal};
pub use tax_period::{FilingPeriod, TaxPeriod};
pub use window::{deadline, periods_to_close, window_close_reason, CloseReason};
