//! Invoice data loading (S-O3, import part). One path for the office's import and the demo
//! generator: every invoice is checked, then the whole batch is written in one transaction or
//! nothing is. Re-importing an identical invoice is a no-op; a different invoice under an
//! existing key is rejected.

use rayon::prelude::*;
use serde::Serialize;

use crate::domain::{Invoice, SelectionState};
use crate::error::{AppError, AppResult, Code};
use crate::store::Who;

use super::App;

/// What an import keeps of the incoming records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// From the invoicing system: selection state is ignored (every new invoice 未勾选).
    Office,
    /// Generated training data: selection/certification states are kept as given.
    Generated,
}

pub use super::invoice_files::Rejected;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub imported: u64,
    pub unchanged: u64,
}

/// Checks and writes `rows` (parsed invoices with their line numbers in the file).
/// Any rejection leaves the store untouched and returns 422 with the `rejected` list.
pub fn import(
    app: &App,
    who: &Who,
    mut rows: Vec<(usize, Invoice)>,
    mode: ImportMode,
    bulk: bool,
) -> AppResult<ImportReport> {
    let today = who.now.date_naive();
    let mut rejected = Vec::new();
    let mut seen = std::collections::HashMap::with_capacity(rows.len());
    for (line, inv) in rows.iter_mut() {
        let line = *line;
        if mode == ImportMode::Office {
            inv.selection = SelectionState::Unselected;
        }
        if let Err(e) = inv.check_issue(today) {
            rejected.push(Rejected {
                line,
                reason: e.message,
            });
        }
        if let Some(prev) = seen.insert(inv.key.to_u128(), line) {
            rejected.push(Rejected {
                line,
                reason: format!("发票代码和号码与第{prev}行重复"),
            });
        }
    }
    if !rejected.is_empty() {
        return Err(rejection(rejected));
    }
    // Encode in parallel, in key order, before the (single-threaded) write transaction.
    rows.par_sort_unstable_by_key(|(_, inv)| inv.key.to_u128());
    let encoded = rows
        .par_iter()
        .map(|(line, inv)| {
            crate::store::codec::encode_invoice(inv)
                .map(|bytes| (*line, inv, bytes))
                .map_err(AppError::internal)
        })
        .collect::<AppResult<Vec<_>>>()?;
    let write = |tx: &mut crate::store::Tx| {
        let (imported, unchanged, conflicts) = tx.insert_new_invoices(&encoded)?;
        if !conflicts.is_empty() {
            return Err(rejection(
                conflicts
                    .into_iter()
                    .map(|line| Rejected {
                        line,
                        reason: "该发票代码和号码已存在且内容不同".into(),
                    })
                    .collect(),
            ));
        }
        tx.audit(
            "invoice.import",
            format!("{imported} invoices"),
            format!("imported={imported} unchanged={unchanged}"),
        );
        Ok(ImportReport {
            imported,
            unchanged,
        })
    };
    if bulk {
        app.store.write_bulk(who, write)
    } else {
        app.store.write(who, write)
    }
}

pub(crate) fn rejection(mut rejected: Vec<Rejected>) -> AppError {
    rejected.sort_by_key(|r| r.line);
    let first = rejected
        .first()
        .map(|r| format!("第{}行：{}", r.line, r.reason))
        .unwrap_or_default();
    AppError::new(Code::InvalidValue)
        .with_message(format!(
            "导入失败，共{}行有误，未导入任何发票。{first}",
            rejected.len()
        ))
        .with_extra(
            "rejected",
            serde_json::to_value(&rejected).unwrap_or_default(),
        )
}

/// Imports a whole file from the invoicing system (ndjson or CSV): every row is checked,
/// and the file is written in one transaction or not at all.
pub fn import_file(
    app: &App,
    who: &Who,
    bytes: &[u8],
    format: super::invoice_files::FileFormat,
) -> AppResult<ImportReport> {
    let parsed = super::invoice_files::parse(bytes, format).map_err(|e| {
        AppError::new(Code::InvalidValue)
            .with_message(e.to_string())
            .with_extra("rejected", serde_json::json!([]))
    })?;
    if !parsed.rejected.is_empty() {
        return Err(rejection(parsed.rejected));
    }
    import(app, who, parsed.invoices, ImportMode::Office, false)
}
