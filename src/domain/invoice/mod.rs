//! The invoice aggregate: identity (code + number), kinds and states, the record the platform
//! keeps, and its history.

mod history;
mod key;
mod record;
mod state;

pub use history::{InvoiceChange, InvoiceEvent, UnselectReason};
pub use key::{InvoiceCode, InvoiceKey, InvoiceNumber};
pub use record::{Invoice, ScanRecord};
pub use state::{CertMethod, InvoiceStatus, InvoiceType, SelectionState};
