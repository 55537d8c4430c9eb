//! `.xlsx` import files: the spreadsheet with the same header row as the CSV import (Chinese
//! or API column names, any order, title rows above allowed), read with calamine through
//! `formats::sheet::read` (which guards against zip bombs and parser panics). Each data row
//! is checked exactly as a CSV row; its line number is the sheet's row number.

use super::csv::{header_field, Columns};
use super::row::Collector;
use super::{FileError, Parsed};
use crate::formats::sheet::read::{read_table, Row};
use crate::formats::sheet::{Format, Limits, SheetError};

/// A header row names at least 发票代码 and 发票号码 (or `code` and `number`).
fn is_header(r: &Row) -> bool {
    let fields: Vec<_> = r
        .cells
        .iter()
        .filter_map(|c| header_field(c).map(|(f, _)| f.api()))
        .collect();
    fields.contains(&"code") && fields.contains(&"number")
}

fn record(r: &Row) -> csv::StringRecord {
    csv::StringRecord::from(r.cells.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Parses an `.xlsx` import file (not `.xls`: the import is from current spreadsheets).
pub fn parse_xlsx(bytes: &[u8], limits: Limits) -> Result<Parsed, FileError> {
    let table = read_table(bytes, limits, &is_header)
        .map_err(|e| match e {
            SheetError::Empty => FileError::Empty,
            other => FileError::Sheet(other.to_string()),
        })?
        .ok_or_else(|| FileError::Sheet("未找到包含“发票代码”“发票号码”列的表头".into()))?;
    if table.format != Format::Xlsx {
        return Err(FileError::Sheet(
            "请上传 .xlsx 格式的Excel文件（Excel 2003 的 .xls 请另存为 .xlsx）".into(),
        ));
    }
    // A sheet row has as many cells as its last filled one: cut or pad it to the header's
    // width (cells right of the header have no column, so nothing reads them).
    let width = table.header.cells.len();
    let columns = Columns::from_header(&record(&table.header))?;
    let mut out = Collector::default();
    for r in &table.rows {
        let mut cells = r.cells.clone();
        cells.resize(width, String::new());
        let line = r.index as usize + 1;
        out.push(line, columns.row(&csv::StringRecord::from(cells)));
    }
    if out.parsed.invoices.is_empty() && out.parsed.rejected.is_empty() {
        return Err(FileError::Empty);
    }
    Ok(out.parsed)
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;
    use crate::domain::Fen;

    /// A real `.xlsx` written by umya-spreadsheet: a title row, the Chinese header, rows.
    fn book(rows: &[&[&str]]) -> Vec<u8> {
        let mut book = umya_spreadsheet::new_file();
        let ws = book.sheet_mut(0).unwrap();
        ws.cell_mut((1, 1)).set_value_string("发票数据导入");
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let (c, r) = (u32::try_from(c).unwrap() + 1, u32::try_from(r).unwrap() + 2);
                let cell = ws.cell_mut((c, r));
                match v.parse::<f64>() {
                    // Money as numbers, as a spreadsheet holds them; codes stay text.
                    Ok(n) if c >= 8 => cell.set_value_number(n),
                    _ => cell.set_value_string(*v),
                };
            }
        }
        let mut out = std::io::Cursor::new(Vec::new());
        umya_spreadsheet::writer::xlsx::write_writer(&book, &mut out).unwrap();
        out.into_inner()
    }

    const HEADER: &[&str] = &[
        "发票代码",
        "发票号码",
        "发票类型",
        "开票日期",
        "销方税号",
        "销方名称",
        "购方税号",
        "金额（元）",
        "税额（元）",
    ];

    #[test]
    fn a_sheet_with_the_chinese_header_reads_like_the_csv() {
        let bytes = book(&[
            HEADER,
            &[
                "3500261130",
                "00000001",
                "增值税专用发票",
                "2026-11-05",
                "91330100716105852F",
                "杭州宏远信息技术有限公司",
                "91350100M000100Y43",
                "2995.5",
                "389.42",
            ],
            &[
                "3500261130",
                "0000002",
                "增值税专用发票",
                "2026-11-05",
                "91330100716105852F",
                "杭州宏远信息技术有限公司",
                "91350100M000100Y43",
                "100",
                "13",
            ],
        ]);
        let parsed = parse(&bytes, super::super::FileFormat::Xlsx).unwrap();
        assert_eq!(parsed.invoices.len(), 1);
        let (line, inv) = &parsed.invoices[0];
        assert_eq!(*line, 3);
        assert_eq!(inv.amount, Fen::new(299_550));
        assert_eq!(inv.tax, Fen::new(38_942));
        assert_eq!(parsed.rejected.len(), 1);
        assert_eq!(parsed.rejected[0].line, 4);
        assert!(
            parsed.rejected[0].reason.contains("发票号码"),
            "{:?}",
            parsed.rejected
        );
    }

    #[test]
    fn files_that_are_not_the_sheet_are_refused_whole() {
        assert_eq!(
            parse_xlsx(b"", super::super::XLSX_LIMITS),
            Err(FileError::Empty)
        );
        assert!(matches!(
            parse_xlsx(b"code,number\n", super::super::XLSX_LIMITS),
            Err(FileError::Sheet(_))
        ));
        let no_header = book(&[&["名称", "金额"], &["甲", "1"]]);
        assert!(matches!(
            parse_xlsx(&no_header, super::super::XLSX_LIMITS),
            Err(FileError::Sheet(m)) if m.contains("发票代码")
        ));
    }
}
