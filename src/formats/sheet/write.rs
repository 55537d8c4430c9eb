//! Writing `.xlsx` workbooks (umya-spreadsheet): a caption, a bold header row, typed cells.
//! Codes and numbers are text cells with the text format `@`, so leading zeros survive Excel
//! and WPS (also after the user edits a cell); money is a number with two decimals.

use std::io::Cursor;

use chrono::NaiveDate;
use umya_spreadsheet::{Workbook, Worksheet};

use super::SheetError;

use crate::domain::Fen;

/// What a column holds, which decides the cell type and format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text kept as typed (codes, numbers, names): a string cell formatted `@`.
    Text,
    /// An amount in fen, written in yuan as a number formatted `#,##0.00`.
    Money,
    /// A whole number (counts).
    Count,
    /// A date, written as `YYYY-MM-DD` text (sorts correctly, never reinterpreted).
    Date,
}

#[derive(Debug, Clone)]
pub struct Column {
    pub title: &'static str,
    pub kind: Kind,
    /// Width in characters.
    pub width: f64,
}

impl Column {
    pub const fn new(title: &'static str, kind: Kind, width: f64) -> Self {
        Column { title, kind, width }
    }
}

/// One cell's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Money(Fen),
    Count(i64),
    Date(NaiveDate),
    Empty,
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

/// One worksheet: optional caption lines above the table, then the header and the rows.
#[derive(Debug, Clone)]
pub struct Sheet {
    pub name: String,
    pub caption: Vec<String>,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
}

const MONEY_FORMAT: &str = "#,##0.00";
const TEXT_FORMAT: &str = "@";

fn u32_of(n: usize) -> Result<u32, SheetError> {
    u32::try_from(n).map_err(|_| SheetError::Write("too many rows or columns".into()))
}

fn fill(ws: &mut Worksheet, sheet: &Sheet) -> Result<(), SheetError> {
    ws.set_name(sheet.name.clone());
    let mut row = 1u32;
    for line in &sheet.caption {
        ws.cell_mut((1u32, row)).set_value_string(line.clone());
        if row == 1 {
            ws.style_mut((1u32, row)).font_mut().set_bold(true);
        }
        row += 1;
    }
    let header = row;
    for (i, c) in sheet.columns.iter().enumerate() {
        let col = u32_of(i + 1)?;
        ws.cell_mut((col, header)).set_value_string(c.title);
        ws.style_mut((col, header)).font_mut().set_bold(true);
        ws.column_dimension_by_number_mut(col).set_width(c.width);
    }
    for (r, values) in sheet.rows.iter().enumerate() {
        let rn = header + 1 + u32_of(r)?;
        for (i, (c, v)) in sheet.columns.iter().zip(values).enumerate() {
            let col = u32_of(i + 1)?;
            match v {
                Value::Empty => continue,
                Value::Text(s) => {
                    ws.cell_mut((col, rn)).set_value_string(s.clone());
                }
                Value::Date(d) => {
                    ws.cell_mut((col, rn))
                        .set_value_string(d.format("%Y-%m-%d").to_string());
                }
                Value::Count(n) => {
                    #[allow(clippy::cast_precision_loss)] // counts are far below 2^53
                    ws.cell_mut((col, rn)).set_value_number(*n as f64);
                }
                Value::Money(fen) => {
                    // Exact for any amount below 2^53 fen; displayed with two decimals.
                    #[allow(clippy::cast_precision_loss)]
                    ws.cell_mut((col, rn))
                        .set_value_number(fen.value() as f64 / 100.0);
                }
            }
            let format = match (c.kind, v) {
                (_, Value::Money(_)) | (Kind::Money, _) => Some(MONEY_FORMAT),
                (Kind::Text, _) | (_, Value::Text(_)) => Some(TEXT_FORMAT),
                _ => None,
            };
            if let Some(f) = format {
                ws.style_mut((col, rn))
                    .number_format_mut()
                    .set_format_code(f);
            }
        }
    }
    Ok(())
}

/// The workbook of `sheets` (at least one) as `.xlsx` bytes.
pub fn xlsx(sheets: &[Sheet]) -> Result<Vec<u8>, SheetError> {
    if sheets.is_empty() {
        return Err(SheetError::Write("a workbook needs a sheet".into()));
    }
    let mut book: Workbook = umya_spreadsheet::new_file_empty_worksheet();
    for s in sheets {
        let ws = book
            .new_sheet(s.name.clone())
            .map_err(|e| SheetError::Write(e.to_string()))?;
        fill(ws, s)?;
    }
    let mut out = Cursor::new(Vec::new());
    umya_spreadsheet::writer::xlsx::write_writer(&book, &mut out)
        .map_err(|e| SheetError::Write(e.to_string()))?;
    Ok(out.into_inner())
}
