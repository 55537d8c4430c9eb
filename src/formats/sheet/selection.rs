//! The 批量勾选 sheet (S-T5): the columns of the downloaded 发票清单 and the reading of an
//! edited one. Reading is forgiving where a spreadsheet program or a person changes things
//! without meaning to (columns in any order, a title above the header, numbers that lost
//! their leading zeros, full-width characters, spaces, merged cells, formulas' values) and
//! strict where it matters: every row is reported on, with its sheet row number.

use chrono::NaiveDate;

use super::read::{self, Format, Limits, Row};
use super::write::{self, Column, Kind, Sheet, Value};
use super::SheetError;
use crate::domain::{Fen, InvoiceKey, NoDeductReason, UseCodes, UseRequest};

pub const CODE: &str = "发票代码";
pub const NUMBER: &str = "发票号码";
/// The successor platform's template has its own column for the 20-digit number.
pub const DIGITAL: &str = "数电票号码";
pub const CHOICE: &str = "是否勾选";
/// 勾选用途: 抵扣, 不抵扣, 退税, 代办退税, or a use code (1, 2, 3, 6).
pub const USE: &str = "用途";
/// 有效税额 in yuan (抵扣 and 退税 may lower it).
pub const EFFECTIVE_TAX: &str = "有效税额";
pub const REASON: &str = "不抵扣原因";
pub const REASON_TEXT: &str = "原因说明";

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

/// The 用途 columns: added after the others (and after 数电票号码) only when the file holds an
/// invoice selected for a use other than plain 抵扣, or the taxpayer may select for 退税; a
/// sheet without them is exactly the older one.
pub const USE_COLUMNS: [Column; 4] = [
    Column::new(USE, Kind::Text, 10.0),
    Column::new(EFFECTIVE_TAX, Kind::Money, 12.0),
    Column::new(REASON, Kind::Text, 24.0),
    Column::new(REASON_TEXT, Kind::Text, 24.0),
];

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
    /// The use of a selected invoice; `None` when unselected.
    pub usage: Option<RowUsage>,
}

/// What a selected invoice of the download is used for, as its 用途 columns show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowUsage {
    /// 抵扣, 不抵扣, 退税 or 代办退税.
    pub use_label: String,
    /// Plain 抵扣 of the full tax (what every selection was before uses).
    pub plain: bool,
    pub effective_tax: i64,
    /// The 不抵扣 reason's label.
    pub reason: String,
    pub reason_text: String,
}

/// One downloaded file: a sheet 发票清单 with the header in row 1; the 用途 columns when a
/// row is selected for anything but plain 抵扣.
pub fn workbook(rows: &[DownloadRow]) -> Result<Vec<u8>, SheetError> {
    let uses = rows
        .iter()
        .any(|r| r.usage.as_ref().is_some_and(|u| !u.plain));
    workbook_with(rows, uses)
}

/// One downloaded file, with the 用途 columns when `uses`.
pub fn workbook_with(rows: &[DownloadRow], uses: bool) -> Result<Vec<u8>, SheetError> {
    let digital = rows.iter().any(|r| !r.digital.is_empty());
    let mut columns = COLUMNS.to_vec();
    if digital {
        columns.push(DIGITAL_COLUMN);
    }
    if uses {
        columns.extend(USE_COLUMNS);
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
                .chain(if uses {
                    use_cells(r.usage.as_ref())
                } else {
                    Vec::new()
                })
                .collect()
            })
            .collect(),
    };
    write::xlsx(&[sheet])
}

fn use_cells(u: Option<&RowUsage>) -> Vec<Value> {
    match u {
        None => vec![Value::Empty, Value::Empty, Value::Empty, Value::Empty],
        Some(u) => vec![
            Value::Text(u.use_label.clone()),
            Value::Money(Fen::new(u.effective_tax)),
            Value::Text(u.reason.clone()),
            Value::Text(u.reason_text.clone()),
        ],
    }
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
    /// The 用途 columns of a ticked row (a plain 抵扣 when the sheet has none).
    pub request: UseRequest,
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
    // Optional: the 用途 columns.
    let uses = UseColumns {
        use_: col(USE).or_else(|| col("勾选用途")),
        effective_tax: col(EFFECTIVE_TAX),
        reason: col(REASON),
        reason_text: col(REASON_TEXT).or_else(|| col("说明")),
    };
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
        let request = if tick {
            match uses.request(r) {
                Ok(q) => q,
                Err((reason, message)) => {
                    out.problems.push(problem(reason, message));
                    continue;
                }
            }
        } else {
            UseRequest::default()
        };
        match InvoiceKey::parse_any(Some(&code), &number) {
            Ok(key) => out.choices.push(Choice {
                row,
                tick,
                key,
                request,
            }),
            Err(e) => out
                .problems
                .push(problem("invalid_key", e.message.to_string())),
        }
    }
    Ok(out)
}

/// Where the optional 用途 columns are.
struct UseColumns {
    use_: Option<usize>,
    effective_tax: Option<usize>,
    reason: Option<usize>,
    reason_text: Option<usize>,
}

impl UseColumns {
    /// The use a ticked row asks for; a bad value is the row's problem (reason, message).
    fn request(&self, r: &Row) -> Result<UseRequest, (&'static str, String)> {
        let text = |c: Option<usize>| c.map(|c| normalize(r.cell(c))).unwrap_or_default();
        let shown = |s: &str| s.chars().take(20).collect::<String>();
        let u = text(self.use_);
        let use_ = if u.is_empty() {
            None
        } else {
            Some(UseCodes::installed().parse(&u).map_err(|_| {
                (
                    "invalid_use",
                    format!(
                        "“用途”应为抵扣、不抵扣、退税、代办退税（或代码1、6、2、3），实际为“{}”",
                        shown(&u)
                    ),
                )
            })?)
        };
        let t = text(self.effective_tax);
        let effective_tax = if t.is_empty() {
            None
        } else {
            Some(yuan(&t).ok_or_else(|| {
                (
                    "invalid_effective_tax",
                    format!("“有效税额”应为以元为单位的金额，实际为“{}”", shown(&t)),
                )
            })?)
        };
        let x = text(self.reason);
        let reason = if x.is_empty() {
            None
        } else {
            Some(NoDeductReason::parse_api(&x).map_err(|e| ("invalid_reason", e.message))?)
        };
        let reason_text = Some(text(self.reason_text)).filter(|s| !s.is_empty());
        Ok(UseRequest {
            use_,
            effective_tax,
            reason,
            reason_text,
        })
    }
}

/// An amount in yuan as a cell holds it: typed (`130.5`, `1,300.00`) or the value of a
/// number cell that floating point left a hair off two decimals (`130.50000000000003`).
fn yuan(s: &str) -> Option<Fen> {
    if let Ok(f) = Fen::from_yuan_str(s) {
        return Some(f);
    }
    let v: f64 = s.parse().ok()?;
    let cents = (v * 100.0).round();
    if !v.is_finite() || (v * 100.0 - cents).abs() > 1e-6 || cents.abs() > 1e15 {
        return None;
    }
    #[allow(clippy::cast_possible_truncation)]
    Some(Fen::new(cents as i64))
}

#[cfg(test)]
mod tests;
