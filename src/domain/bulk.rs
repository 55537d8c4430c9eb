//! 批量勾选 uploads as kept in the taxpayer's operation log (S-T5).

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::TaxPeriod;

/// One 批量勾选 upload as kept in the taxpayer's operation log (S-T5): what the file asked
/// for and what became of it, row by row for the refusals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkUpload {
    pub at: DateTime<FixedOffset>,
    pub file_name: String,
    /// `xlsx` or `xls`.
    pub format: String,
    pub period: TaxPeriod,
    /// Rows with content below the header.
    pub rows: u64,
    pub selected: u64,
    pub unselected: u64,
    pub unchanged: u64,
    pub rejected: Vec<BulkRejection>,
}

/// A refused row of a 批量勾选 file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkRejection {
    /// The sheet row as a spreadsheet program numbers it.
    pub row: u64,
    pub code: String,
    pub number: String,
    pub reason: String,
    pub message: String,
}
