//! The tax office's use cases: taxpayer records ([`taxpayers`]), invoice data — import, status,
//! search ([`invoices`]), declarations and deadlines ([`declarations`]), scan certifications
//! and the nightly statistics job ([`statistics`]), staff accounts ([`staff`]) and the audit
//! log ([`audit`]); what the console's 工作台 shows ([`dashboard`]) and a taxpayer's state at a
//! glance ([`overview`]).

pub mod audit;
pub mod backups;
pub mod certificates;
pub mod dashboard;
pub mod declarations;
pub mod invoices;
pub mod overview;
pub mod risky_sellers;
pub mod snapshots;
pub mod staff;
pub mod statistics;
pub mod taxpayers;
pub mod verify;
