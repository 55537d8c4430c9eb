//! Invoices as the office handles them (S-O1, S-O3): import, status changes, search.

use rayon::prelude::*;
use serde::Serialize;

use crate::domain::engine::{self};
use crate::domain::{Invoice, InvoiceKey, InvoiceStatus, SelectionState, TaxpayerId};
use crate::error::{AppError, AppResult, Code};
pub use crate::formats::invoice_file::Rejected;
use crate::index::InvoiceFilter;
use crate::service::listing::{paging, search, InvoicePage};
use crate::service::settle::ctx;
use crate::service::App;
use crate::store::prelude::*;
use crate::store::Who;

/// The import file formats, as the callers name them.
pub use crate::formats::invoice_file::FileFormat;

/// Changes the status of invoices (S-O3), singly or in bulk, in one transaction.
pub fn change_status(
    app: &App,
    who: &Who,
    keys: &[InvoiceKey],
    status: InvoiceStatus,
) -> AppResult<Vec<crate::domain::Invoice>> {
    let c = ctx(app, who);
    app.store.write(who, |tx| {
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            out.push(engine::change_status(tx, &c, k, status)?);
        }
        Ok(out)
    })
}

/// Records the 稽核比对 result of 海关缴款书 (one write transaction).
pub fn change_audit(
    app: &App,
    who: &Who,
    key: &InvoiceKey,
    audit: crate::domain::CustomsAudit,
) -> AppResult<crate::domain::Invoice> {
    let c = ctx(app, who);
    app.store
        .write(who, |tx| engine::change_audit(tx, &c, key, audit))
}

/// Filters of the office's invoice search.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OfficeSearchRaw {
    pub buyer_id: Option<String>,
    pub seller_id: Option<String>,
    /// Part of the seller's name (at least two characters).
    pub seller_name: Option<String>,
    pub issued_from: Option<String>,
    pub issued_to: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

/// The office's invoice search: by buyer, seller ID or seller name (Chinese words), any state.
pub fn office_search(app: &App, raw: &OfficeSearchRaw) -> AppResult<InvoicePage> {
    use crate::domain::query::parse_date;
    let paging = paging(raw.page.as_deref(), raw.per_page.as_deref())?;
    let opt = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let id = |field: &'static str, v: &Option<String>| {
        opt(v)
            .map(|s| TaxpayerId::parse(&s).map_err(|e| AppError::invalid(field, e.message)))
            .transpose()
    };
    let seller_name = opt(&raw.seller_name);
    if seller_name.as_ref().is_some_and(|n| n.chars().count() < 2) {
        return Err(AppError::invalid("seller_name", "销方名称至少输入两个字"));
    }
    let f = InvoiceFilter {
        buyer: id("buyer_id", &raw.buyer_id)?,
        seller: id("seller_id", &raw.seller_id)?,
        seller_name,
        issued_from: opt(&raw.issued_from)
            .map(|s| parse_date("issued_from", "开票日期起", &s))
            .transpose()?,
        issued_to: opt(&raw.issued_to)
            .map(|s| parse_date("issued_to", "开票日期止", &s))
            .transpose()?,
        ..InvoiceFilter::default()
    };
    if f.buyer.is_none() && f.seller.is_none() && f.seller_name.is_none() {
        return Err(AppError::invalid(
            "seller_name",
            "请输入购方税号、销方税号或销方名称",
        ));
    }
    search(app, &f, paging)
}

// (import) Invoice data loading (S-O3, import part). One path for the office's import and the demo
// (import) generator: every invoice is checked, then the whole batch is written in one transaction or
// (import) nothing is. Re-importing an identical invoice is a no-op; a different invoice under an
// (import) existing key is rejected.

/// What an import keeps of the incoming records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// From the invoicing system: selection state is ignored (every new invoice 未勾选).
    Office,
    /// Generated training data: selection/certification states are kept as given.
    Generated,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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
    // Encode in parallel, in key order, before the (single-threaded) write transaction. Each
    // key is computed once (a sort by `to_u128` computed it at every comparison: a tenth of a
    // bulk load's CPU).
    let mut keyed: Vec<(u128, (usize, Invoice))> = rows
        .into_par_iter()
        .map(|row| (row.1.key.to_u128(), row))
        .collect();
    keyed.par_sort_unstable_by_key(|(k, _)| *k);
    let encoded = keyed
        .into_par_iter()
        .map(|(_, (line, inv))| {
            crate::store::codec::encode_invoice(&inv)
                .map(|bytes| (line, inv, bytes))
                .map_err(AppError::internal)
        })
        .collect::<AppResult<Vec<_>>>()?;
    let write = move |tx: &mut crate::store::Tx| {
        let (imported, unchanged, conflicts) = tx.insert_new_invoices(encoded)?;
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
    format: FileFormat,
) -> AppResult<ImportReport> {
    let parsed = crate::formats::invoice_file::parse(bytes, format).map_err(|e| {
        AppError::new(Code::InvalidValue)
            .with_message(e.to_string())
            .with_extra("rejected", serde_json::json!([]))
    })?;
    if !parsed.rejected.is_empty() {
        return Err(rejection(parsed.rejected));
    }
    import(app, who, parsed.invoices, ImportMode::Office, false)
}

/// Rows per transaction of a streamed import.
pub const STREAM_CHUNK: usize = 100_000;

/// Imports an NDJSON or CSV file without holding it whole (`fapiao import`): `open` gives a
/// fresh reader of the file each time it is called. A first pass reads every row and checks it
/// as [`import_file`] does — form, duplicates in the file, the issue rules, and a key already
/// stored with different content — and keeps only the rejected lines (and, for the duplicate
/// check, one compact key per row); when there is any, the import fails with all of them and
/// nothing is written. A second pass imports the rows in durable chunks of [`STREAM_CHUNK`].
/// All or nothing as [`import_file`], provided nobody else writes invoices meanwhile (the
/// command line holds the data file alone). `progress` is told, pass by pass (1 or 2), the
/// rows read (pass 1) or written (pass 2) so far. An `.xlsx` sheet cannot be streamed: 415.
pub fn import_stream<R: std::io::BufRead>(
    app: &App,
    who: &Who,
    format: FileFormat,
    open: impl Fn() -> std::io::Result<R>,
    progress: impl Fn(u8, u64),
) -> AppResult<ImportReport> {
    use crate::formats::invoice_file::{FileError, FileRows, StreamError};
    let file_error = |e: StreamError| match e {
        StreamError::File(e) => AppError::new(Code::InvalidValue)
            .with_message(e.to_string())
            .with_extra("rejected", serde_json::json!([])),
        StreamError::Io(e) => AppError::from(e),
    };
    let rows_of = |reader: R| {
        FileRows::new(format, reader).ok_or_else(|| {
            AppError::new(Code::UnsupportedType)
                .with_message("Excel文件不能逐行导入：请另存为CSV UTF-8文件，或在控制台上传")
        })
    };
    let today = who.now.date_naive();
    // Pass 1: check every row; keep only what is wrong.
    let mut rejected = Vec::new();
    let mut rows = 0u64;
    {
        let r = app.store.read()?;
        for item in rows_of(open()?)? {
            match item.map_err(file_error)? {
                Ok((line, inv)) => {
                    let mut inv = inv;
                    inv.selection = SelectionState::Unselected;
                    if let Err(e) = inv.check_issue(today) {
                        rejected.push(Rejected {
                            line,
                            reason: e.message,
                        });
                    } else if let Some(old) = r.invoice(&inv.key)? {
                        if !old.same_issue(&inv) {
                            rejected.push(Rejected {
                                line,
                                reason: "该发票代码和号码已存在且内容不同".into(),
                            });
                        }
                    }
                }
                Err(bad) => rejected.push(bad),
            }
            rows += 1;
            if rows.is_multiple_of(10_000) {
                progress(1, rows);
            }
        }
        progress(1, rows);
    }
    if rows == 0 {
        return Err(file_error(StreamError::File(FileError::Empty)));
    }
    if !rejected.is_empty() {
        return Err(rejection(rejected));
    }
    // Pass 2: import in chunks.
    let mut report = ImportReport {
        imported: 0,
        unchanged: 0,
    };
    let mut stream = rows_of(open()?)?;
    let mut chunk = Vec::with_capacity(STREAM_CHUNK);
    progress(2, 0);
    loop {
        let item = stream.next();
        let end = item.is_none();
        if let Some(item) = item {
            match item.map_err(file_error)? {
                Ok(row) => chunk.push(row),
                Err(bad) => return Err(rejection(vec![bad])),
            }
        }
        if chunk.len() >= STREAM_CHUNK || (end && !chunk.is_empty()) {
            let r = import(
                app,
                who,
                std::mem::take(&mut chunk),
                ImportMode::Office,
                false,
            )?;
            report.imported += r.imported;
            report.unchanged += r.unchanged;
            progress(2, report.imported + report.unchanged);
        }
        if end {
            break;
        }
    }
    // A bulk load ends with its index segments packed (see `InvoiceIndex::compact`).
    app.index.compact()?;
    Ok(report)
}

/// The format of an uploaded import file: `.xlsx` by its content or name, else by the file
/// name's extension (`.ndjson`/`.jsonl`, `.csv`).
pub fn upload_format(name: &str, bytes: &[u8]) -> AppResult<FileFormat> {
    FileFormat::of_upload(name, bytes).ok_or_else(|| {
        AppError::new(Code::UnsupportedType)
            .with_field("file")
            .with_message("文件类型不正确：请上传 .ndjson、.jsonl、.csv 或 .xlsx 文件")
    })
}

/// Imports an uploaded file (the console's 发票数据 page): its format from [`upload_format`],
/// then [`import_file`] — all or nothing, with every refused line in `rejected`.
pub fn import_upload(app: &App, who: &Who, name: &str, bytes: &[u8]) -> AppResult<ImportReport> {
    let format = upload_format(name, bytes)?;
    import_file(app, who, bytes, format)
}

/// One invoice by its key (code and number), whoever bought it; `None` when unknown.
pub fn find(
    app: &App,
    key: &InvoiceKey,
) -> AppResult<Option<crate::service::listing::InvoiceView>> {
    use crate::store::prelude::*;
    Ok(app
        .store
        .read()?
        .invoice(key)?
        .as_ref()
        .map(crate::service::listing::InvoiceView::from))
}
