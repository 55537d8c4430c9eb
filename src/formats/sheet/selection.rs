//! The 批量勾选 sheet (S-T5): the columns of the downloaded 发票清单 and the reading of an
//! edited one. Reading is forgiving where a spreadsheet program or a person changes things
//! without meaning to (columns in any order, a title above the header, numbers that lost
//! their leading zeros, full-width characters, spaces, merged cells, formulas' values) and
//! strict where it matters: every row is reported on, with its sheet row number.

use chrono::NaiveDate;

use super::read::{self, Format, Limits, Row};
use super::write::{self, Column, Kind, Sheet, Value};
use super::SheetError;
use crate::domain::{Fen, InvoiceKey};

pub const CODE: &str = "发票代码";
pub const NUMBER: &str = "发票号码";
/// The successor platform's template has its own column for the 20-digit number.
pub const DIGITAL: &str = "数电票号码";
pub const CHOICE: &str = "是否勾选";

/// The downloaded sheet's columns, in order.
pub const COLUMNS: [Column; 10] = [
    Column::new(CODE, Kind::Text, 14.0),
    Column::new(NUMBER, Kind::Text, 24.0),
    Column::new("开票日期", Kind::Date, 12.0),
    Column::new("发票类型", Kind::Text, 20.0),
    Column::new("销方税号", Kind::Text, 22.0),
    Column::new("销方名称", Kind::Text, 32.0),
    Column::new("金额", Kind::Money, 14.0),
    Column::new("税额", Kind::Money, 12.0),
    Column::new("发票状态", Kind::Text, 9.0),
    Column::new(CHOICE, Kind::Text, 9.0),
];

/// The 数电票号码 column: added last (so sheets and scripts made for the columns above keep
/// their positions) when the file holds a 数电票.
pub const DIGITAL_COLUMN: Column = Column::new(DIGITAL, Kind::Text, 23.0);

/// Invoices per downloaded file (the manual: more than 2,000 are split into several files).
pub const ROWS_PER_FILE: usize = 2_000;

/// One invoice of the download.
#[derive(Debug, Clone)]
pub struct DownloadRow {
    /// Blank for documents without a code.
    pub code: String,
    /// The 发票号码 or 缴款书号码; blank for a 数电票.
    pub number: String,
    /// The 数电票号码; blank for other documents.
    pub digital: String,
    pub issued_on: NaiveDate,
    pub kind: String,
    pub seller_id: String,
    pub seller_name: String,
    pub amount: i64,
    pub tax: i64,
    pub status: String,
    pub selected: bool,
}

/// One downloaded file: a sheet 发票清单 with the header in row 1.
pub fn workbook(rows: &[DownloadRow]) -> Result<Vec<u8>, SheetError> {
    let digital = rows.iter().any(|r| !r.digital.is_empty());
    let mut columns = COLUMNS.to_vec();
    if digital {
        columns.push(DIGITAL_COLUMN);
    }
    let sheet = Sheet {
        name: "发票清单".into(),
        caption: Vec::new(),
        columns,
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    Value::Text(r.code.clone()),
                    Value::Text(r.number.clone()),
                    Value::Date(r.issued_on),
                    Value::Text(r.kind.clone()),
                    Value::Text(r.seller_id.clone()),
                    Value::Text(r.seller_name.clone()),
                    Value::Money(Fen::new(r.amount)),
                    Value::Money(Fen::new(r.tax)),
                    Value::Text(r.status.clone()),
                    Value::from(if r.selected { "是" } else { "否" }),
                ]
                .into_iter()
                .chain(digital.then(|| Value::Text(r.digital.clone())))
                .collect()
            })
            .collect(),
    };
    write::xlsx(&[sheet])
}

/// Full-width forms to ASCII, the ideographic space to a space, zero-width characters
/// removed, then trimmed.
pub fn normalize(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0),
            '\u{3000}' => Some(' '),
            '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{FEFF}' => None,
            c => Some(c),
        })
        .collect::<String>()
        .trim()
        .to_string()
}

/// A header cell's name: normalized, inner spaces removed, anything from a bracket on
/// dropped (`是否勾选（是/否）` → `是否勾选`).
fn header_name(s: &str) -> String {
    let n: String = normalize(s)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    match n.find(['(', '（', '[', '【']) {
        Some(at) => n[..at].to_string(),
        None => n,
    }
}

fn find(header: &Row, name: &str) -> Option<usize> {
    header.cells.iter().position(|c| header_name(c) == name)
}

fn is_header(row: &Row) -> bool {
    [CODE, NUMBER, CHOICE]
        .iter()
        .filter(|n| find(row, n).is_some())
        .count()
        >= 2
}

/// A code or number cell as the digits it was meant to be: spaces, a leading apostrophe and
/// full-width digits dropped; leading zeros a number format removed put back. An invoice
/// number has 8 digits and often starts with zeros, so any shorter number is padded; a code
/// has 10 digits (never starting with 0: a region code comes first) or 12 (starting with 0
/// or 1), so only a single lost zero is put back.
fn key_text(cell: &str, lengths: &[usize], max_pad: usize) -> String {
    let s: String = normalize(cell)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let s = s.trim_start_matches('\'').to_string();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return s;
    }
    match lengths.iter().find(|&&l| s.len() <= l) {
        Some(&l) if l - s.len() <= max_pad => format!("{s:0>l$}"),
        _ => s,
    }
}

/// One row that asks for a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The sheet row, 1-based as a spreadsheet program shows it.
    pub row: usize,
    pub tick: bool,
    pub key: InvoiceKey,
}

/// One row refused before it reaches the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub row: usize,
    pub code: String,
    pub number: String,
    pub reason: &'static str,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Parsed {
    pub format: Format,
    pub sheet: String,
    /// Rows with content below the header.
    pub rows: usize,
    pub choices: Vec<Choice>,
    pub problems: Vec<Problem>,
}

/// Reads an uploaded 批量勾选 file. Whole-file problems are errors (nothing may be applied);
/// row problems are listed with the rows they belong to.
pub fn parse(bytes: &[u8], limits: Limits) -> Result<Parsed, SheetError> {
    let table = read::read_table(bytes, limits, &is_header)?
        .ok_or_else(|| SheetError::MissingColumns(format!("{CODE}”“{NUMBER}”“{CHOICE}")))?;
    let col = |name: &str| find(&table.header, name);
    let missing: Vec<&str> = [CODE, NUMBER, CHOICE]
        .into_iter()
        .filter(|n| col(n).is_none())
        .collect();
    let (Some(c_code), Some(c_number), Some(c_choice)) = (col(CODE), col(NUMBER), col(CHOICE))
    else {
        return Err(SheetError::MissingColumns(missing.join("”“")));
    };
    // Optional: sheets made before 数电票 do not have it.
    let c_digital = col(DIGITAL);
    let mut out = Parsed {
        format: table.format,
        sheet: table.sheet,
        rows: 0,
        choices: Vec::new(),
        problems: Vec::new(),
    };
    for r in &table.rows {
        let row = r.index as usize + 1;
        let code = key_text(r.cell(c_code), &[10, 12], 1);
        let mut number = key_text(r.cell(c_number), &[8], 7);
        let digital = c_digital.map_or_else(String::new, |c| key_text(r.cell(c), &[20], 0));
        let choice: String = normalize(r.cell(c_choice))
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if code.is_empty() && number.is_empty() && digital.is_empty() && choice.is_empty() {
            // A note or a totals line under the list.
            continue;
        }
        out.rows += 1;
        if !digital.is_empty() {
            if !code.is_empty() || (!number.is_empty() && number != digital) {
                let shown = if number.is_empty() {
                    code.clone()
                } else {
                    number.clone()
                };
                out.problems.push(Problem {
                    row,
                    code: code.clone(),
                    number: digital.clone(),
                    reason: "invalid_key",
                    message: format!(
                        "数电票没有发票代码和发票号码：请只填写数电票号码（另填了“{shown}”）"
                    ),
                });
                continue;
            }
            number = digital;
        }
        // A number alone that could be a 发票号码 means the code is missing; a longer one
        // is a 数电票号码 or a 缴款书号码.
        let codeless = code.is_empty()
            && !number.is_empty()
            && !(number.len() <= 8 && number.bytes().all(|b| b.is_ascii_digit()));
        let problem = |reason: &'static str, message: String| Problem {
            row,
            code: code.clone(),
            number: number.clone(),
            reason,
            message,
        };
        if (code.is_empty() && !codeless) || number.is_empty() {
            out.problems
                .push(problem("key_missing", "发票代码或发票号码未填写".into()));
            continue;
        }
        let tick = match choice.as_str() {
            "是" => true,
            "否" => false,
            "" => {
                out.problems.push(problem(
                    "choice_missing",
                    "“是否勾选”未填写，应为“是”或“否”".into(),
                ));
                continue;
            }
            formula if formula.starts_with('=') => {
                out.problems.push(problem(
                    "formula_without_value",
                    "“是否勾选”是没有计算结果的公式，请改为“是”或“否”".into(),
                ));
                continue;
            }
            other => {
                let shown: String = other.chars().take(20).collect();
                out.problems.push(problem(
                    "choice_invalid",
                    format!("“是否勾选”应为“是”或“否”，实际为“{shown}”"),
                ));
                continue;
            }
        };
        match InvoiceKey::parse_any(Some(&code), &number) {
            Ok(key) => out.choices.push(Choice { row, tick, key }),
            Err(e) => out
                .problems
                .push(problem("invalid_key", e.message.to_string())),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
