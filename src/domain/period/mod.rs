//! The period aggregate: tax periods (税款所属期) and their filing periods, the declaration
//! status of a period, and the confirmation batches made in it.

mod batch;
mod declaration;
mod tax_period;

pub use batch::{BatchStatus, ConfirmationBatch};
pub use declaration::DeclarationStatus;
pub use tax_period::{FilingPeriod, TaxPeriod};
