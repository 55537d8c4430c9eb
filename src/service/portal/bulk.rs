//! 批量勾选 (S-T5): download the selectable invoices as zipped spreadsheets; upload one back.
//!
//! Download: the 发票勾选 conditions restricted to 未认证 and 正常 (开票日期, 销方税号, 勾选标志),
//! at most 2,000 invoices per `.xlsx`, the files zipped as `<taxpayerID>_<random>.zip`.
//! Upload: the file is read completely before anything changes (a malformed file changes
//! nothing); then one write transaction applies every valid row, records the summary in the
//! taxpayer's operation log and the audit log.

use std::io::{Cursor, Write};

use chrono::{Datelike, Timelike};
use rand::Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::domain::query::RawConditions;
use crate::domain::{
    engine, engine::SelectionRow, BulkRejection, BulkUpload, KeyShape, SelectionState, TaxpayerId,
};
use crate::error::{AppError, AppResult, Code};
use crate::formats::sheet::selection::{self, DownloadRow, RowUsage, ROWS_PER_FILE};
use crate::formats::sheet::Limits;
use crate::service::settle::{ctx, settled};
use crate::service::App;
use crate::store::prelude::*;
use crate::store::Who;

/// Entries of the operation log shown on the page.
pub const LOG_SHOWN: usize = 20;

/// The download conditions (the manual: 开票日期, 销方税号, 勾选标志).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    #[param(required = true)]
    pub issued_from: Option<String>,
    #[param(required = true)]
    pub issued_to: Option<String>,
    pub seller_id: Option<String>,
    /// `all` (default), `true` (已勾选) or `false` (未勾选).
    pub selected: Option<String>,
}

/// A finished download.
#[derive(Debug)]
pub struct Download {
    pub file_name: String,
    pub zip: Vec<u8>,
    pub invoices: usize,
    pub files: usize,
}

/// 下载发票文件.
pub fn export(app: &App, who: &Who, id: &TaxpayerId, q: &ExportQuery) -> AppResult<Download> {
    let raw = RawConditions {
        issued_from: q.issued_from.clone(),
        issued_to: q.issued_to.clone(),
        seller_id: q.seller_id.clone(),
        certified: Some("false".into()),
        selected: Some(q.selected.clone().unwrap_or_else(|| "all".into())),
        status: Some("normal".into()),
        ..RawConditions::default()
    };
    let keys = crate::service::portal::selection::all_keys(
        app,
        who,
        id,
        &raw,
        app.settings.bulk.max_download,
    )?;
    if keys.is_empty() {
        return Err(AppError::new(Code::NotFound).with_message("没有查询到符合条件的发票记录"));
    }
    let (rows, registered) = {
        let r = app.store.read()?;
        let reg = r.refund_registration(id)?;
        let mut rows = Vec::with_capacity(keys.len());
        for k in &keys {
            let Some(inv) = r.invoice(k)? else { continue };
            rows.push(DownloadRow {
                code: inv.key.code().unwrap_or_default().to_string(),
                number: match inv.key.shape() {
                    KeyShape::Digital => String::new(),
                    _ => inv.key.number().to_string(),
                },
                digital: match inv.key.shape() {
                    KeyShape::Digital => inv.key.number().to_string(),
                    _ => String::new(),
                },
                issued_on: inv.issued_on,
                kind: inv.kind.label_zh().to_string(),
                seller_id: inv.seller_id.as_str().to_string(),
                seller_name: inv.seller_name.clone(),
                amount: inv.amount.value(),
                tax: inv.tax.value(),
                status: inv.status.label_zh().to_string(),
                selected: matches!(inv.selection, SelectionState::Selected { .. }),
                usage: match (&inv.selection, inv.use_()) {
                    (SelectionState::Selected { .. }, Some(u)) => Some(RowUsage {
                        use_label: u.label_zh().to_string(),
                        plain: inv.usage.is_none(),
                        effective_tax: inv.effective_tax().value(),
                        reason: inv
                            .usage
                            .as_ref()
                            .and_then(|x| x.reason)
                            .map(|x| x.label_zh().to_string())
                            .unwrap_or_default(),
                        reason_text: inv
                            .usage
                            .as_ref()
                            .and_then(|x| x.reason_text.clone())
                            .unwrap_or_default(),
                    }),
                    _ => None,
                },
            });
        }
        (rows, reg.exporter || reg.trade_service)
    };
    // The 用途 columns when any row is used otherwise than for plain 抵扣, or the taxpayer may
    // select for 退税: the same columns in every file of the download.
    let uses = registered
        || rows
            .iter()
            .any(|r| r.usage.as_ref().is_some_and(|u| !u.plain));
    let random: u32 = rand::thread_rng().gen_range(10_000_000..100_000_000);
    let stem = format!("{}_{random}", id.as_str());
    let books: Vec<Vec<u8>> = rows
        .par_chunks(ROWS_PER_FILE)
        .map(|chunk| selection::workbook_with(chunk, uses))
        .collect::<Result<_, _>>()?;
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    // Entries carry the local (business) time of the download, not the zip default of 1980.
    let t = who.now;
    let stamp = u16::try_from(t.year()).ok().and_then(|y| {
        zip::DateTime::from_date_and_time(
            y,
            t.month() as u8,
            t.day() as u8,
            t.hour() as u8,
            t.minute() as u8,
            t.second() as u8,
        )
        .ok()
    });
    let mut opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    if let Some(stamp) = stamp {
        opts = opts.last_modified_time(stamp);
    }
    let files = books.len();
    for (i, book) in books.iter().enumerate() {
        let name = if files == 1 {
            format!("{stem}.xlsx")
        } else {
            format!("{stem}_{}.xlsx", i + 1)
        };
        zip.start_file(name, opts)
            .map_err(|e| AppError::internal(format!("zip: {e}")))?;
        zip.write_all(book)
            .map_err(|e| AppError::internal(format!("zip: {e}")))?;
    }
    let zip = zip
        .finish()
        .map_err(|e| AppError::internal(format!("zip: {e}")))?
        .into_inner();
    Ok(Download {
        file_name: format!("{stem}.zip"),
        zip,
        invoices: rows.len(),
        files,
    })
}

/// The result of an upload, as the API and the page show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UploadView {
    pub file_name: String,
    pub format: String,
    #[schema(value_type = String, example = "202611")]
    pub period: crate::domain::TaxPeriod,
    pub at: chrono::DateTime<chrono::FixedOffset>,
    pub rows: u64,
    pub selected: u64,
    pub unselected: u64,
    pub unchanged: u64,
    #[schema(value_type = Vec<Object>)]
    pub rejected: Vec<BulkRejection>,
}

impl From<BulkUpload> for UploadView {
    fn from(u: BulkUpload) -> Self {
        UploadView {
            file_name: u.file_name,
            format: u.format,
            period: u.period,
            at: u.at,
            rows: u.rows,
            selected: u.selected,
            unselected: u.unselected,
            unchanged: u.unchanged,
            rejected: u.rejected,
        }
    }
}

/// A file name as shown in the log: the last path component, printable, at most 100 chars.
fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let s: String = base.chars().filter(|c| !c.is_control()).take(100).collect();
    if s.trim().is_empty() {
        "未命名文件".into()
    } else {
        s
    }
}

/// 上传: applies an edited 批量勾选 file.
pub fn upload(
    app: &App,
    who: &Who,
    id: &TaxpayerId,
    file_name: &str,
    bytes: &[u8],
) -> AppResult<UploadView> {
    let limits = Limits {
        max_bytes: app.settings.bulk.max_upload_bytes,
        max_rows: app.settings.bulk.max_upload_rows,
    };
    let parsed = selection::parse(bytes, limits)?;
    settled(app, who, id)?;
    let c = ctx(app, who);
    let file_name = clean_name(file_name);
    let upload = app.store.write(who, |tx| {
        let rows: Vec<SelectionRow> = parsed
            .choices
            .iter()
            .map(|c| {
                if c.tick {
                    SelectionRow::Select(c.key.clone(), c.request.clone())
                } else {
                    SelectionRow::Unselect(c.key.clone())
                }
            })
            .collect();
        let report = engine::save_file_selection(tx, &c, id, &rows)?;
        let period = tx
            .taxpayer(id)?
            .map(|t| t.current_period)
            .ok_or_else(|| AppError::new(Code::NotFound).with_message("纳税人不存在"))?;
        let mut rejected: Vec<BulkRejection> = parsed
            .problems
            .iter()
            .map(|p| BulkRejection {
                row: p.row as u64,
                code: p.code.clone(),
                number: p.number.clone(),
                reason: p.reason.to_string(),
                message: p.message.clone(),
            })
            .collect();
        for (i, r) in &report.rejected {
            let row = parsed.choices.get(*i).map(|c| c.row).unwrap_or(0);
            rejected.push(BulkRejection {
                row: row as u64,
                code: r.key.code().unwrap_or_default().to_string(),
                number: r.key.number().to_string(),
                reason: r.reason.code().to_string(),
                message: r.reason.message(),
            });
        }
        rejected.sort_by_key(|r| r.row);
        let upload = BulkUpload {
            at: who.now,
            file_name: file_name.clone(),
            format: parsed.format.label().to_string(),
            period,
            rows: parsed.rows as u64,
            selected: report.selected,
            unselected: report.unselected,
            unchanged: report.unchanged,
            rejected,
        };
        tx.add_bulk_upload(id, &upload)?;
        tx.audit(
            "bulk.upload",
            id.as_str(),
            format!(
                "file={}; format={}; rows={}; selected={}; unselected={}; unchanged={}; rejected={}",
                upload.file_name,
                upload.format,
                upload.rows,
                upload.selected,
                upload.unselected,
                upload.unchanged,
                upload.rejected.len()
            ),
        );
        Ok(upload)
    })?;
    Ok(upload.into())
}

/// The operation log, newest first.
pub fn log(app: &App, id: &TaxpayerId, limit: usize) -> AppResult<Vec<UploadView>> {
    Ok(app
        .store
        .read()?
        .bulk_log(id, limit)?
        .into_iter()
        .map(UploadView::from)
        .collect())
}
