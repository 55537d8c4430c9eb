//! CSV import files with a header row (Chinese or API column names), as a spreadsheet or the
//! invoicing system writes them.

use super::row::*;
use super::{FileError, Parsed};

/// Parses CSV with a header row. Columns are found by name (API or Chinese names, any order,
/// extra columns ignored); fully blank rows are skipped.
pub fn parse_csv(text: &str) -> Result<Parsed, FileError> {
    let text = strip_bom(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    let mut lines = LineCounter::new(text);

    let columns = loop {
        match reader.read_record(&mut record) {
            Ok(false) => return Err(FileError::Empty),
            Ok(true) if is_blank(&record) => {}
            Ok(true) => break Columns::from_header(&record)?,
            Err(e) => {
                return Err(FileError::MalformedCsv {
                    line: lines.line_of(e.position()),
                })
            }
        }
    };

    let mut out = Collector::default();
    let mut last_error_at = None;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) if is_blank(&record) => {}
            Ok(true) => {
                let line = lines.line_of(record.position());
                out.push(line, columns.row(&record));
            }
            Err(e) => {
                // Not expected for in-memory UTF-8 input with flexible rows; reported as a bad
                // row, and the loop stops if the reader makes no progress.
                let at = e.position().map(csv::Position::byte);
                if at.is_some() && at == last_error_at {
                    break;
                }
                last_error_at = at;
                let line = lines.line_of(e.position());
                out.reject(line, "CSV格式不正确".to_owned());
            }
        }
    }
    if out.parsed.is_empty() {
        return Err(FileError::Empty);
    }
    Ok(out.parsed)
}

// ---------------------------------------------------------------------------
// Fields
// ---------------------------------------------------------------------------

/// 1-based line numbers of CSV records. (`csv::Position::line` miscounts CRLF line endings
/// and skipped blank lines, so lines are counted here from the record's byte offset.)
pub(super) struct LineCounter<'a> {
    pub(super) text: &'a [u8],
    pub(super) at: usize,
    pub(super) line: usize,
}

impl<'a> LineCounter<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Self {
            text: text.as_bytes(),
            at: 0,
            line: 1,
        }
    }

    /// The line a record starts on. The reader's byte offset may point into the line ending
    /// before the record; a record never starts with CR or LF, so those are skipped. A lone
    /// CR ends a line as the CSV reader treats it.
    pub(super) fn line_of(&mut self, position: Option<&csv::Position>) -> usize {
        let Some(position) = position else {
            return self.line;
        };
        let len = self.text.len();
        let mut start = usize::try_from(position.byte()).map_or(len, |b| b.min(len));
        while matches!(self.text.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        if start < self.at {
            self.at = 0;
            self.line = 1;
        }
        let from = self.at;
        for (i, b) in self
            .text
            .get(from..start)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let lone_cr = *b == b'\r' && self.text.get(from + i + 1) != Some(&b'\n');
            if *b == b'\n' || lone_cr {
                self.line += 1;
            }
        }
        self.at = start;
        self.line
    }
}

pub(super) fn is_blank(record: &csv::StringRecord) -> bool {
    record.iter().all(|f| f.trim().is_empty())
}

/// A cell's value: trimmed, and Excel's `="0123"` text form unwrapped.
pub(super) fn cell(raw: &str) -> &str {
    let s = raw.trim();
    s.strip_prefix("=\"")
        .and_then(|r| r.strip_suffix('"'))
        .map_or(s, str::trim)
}

/// The field a header names, and whether its money is in yuan (Chinese names) or fen.
pub(super) fn header_field(name: &str) -> Option<(Field, bool)> {
    let name = name.trim().trim_start_matches('\u{FEFF}').trim();
    if let Some(f) = Field::from_api(&name.to_ascii_lowercase()) {
        return Some((f, false));
    }
    let base = name
        .strip_suffix("（元）")
        .or_else(|| name.strip_suffix("(元)"))
        .map_or(name, str::trim_end);
    let f = Field::ALL.into_iter().find(|f| f.label() == base)?;
    // Only money columns may carry a unit.
    (base == name || f.is_money()).then_some((f, f.is_money()))
}

/// Where each field is in a CSV file.
pub(super) struct Columns {
    /// Column index per field, and whether money in it is yuan.
    pub(super) at: [Option<(usize, bool)>; FIELDS],
    pub(super) width: usize,
}

impl Columns {
    pub(super) fn from_header(header: &csv::StringRecord) -> Result<Columns, FileError> {
        let mut at = [None; FIELDS];
        let mut duplicated = Vec::new();
        for (i, name) in header.iter().enumerate() {
            let Some((f, yuan)) = header_field(name) else {
                continue;
            };
            let slot = &mut at[f.index()];
            if slot.is_some() {
                if !duplicated.contains(&f) {
                    duplicated.push(f);
                }
            } else {
                *slot = Some((i, yuan));
            }
        }
        let missing: Vec<String> = Field::ALL
            .into_iter()
            .filter(|f| f.required_column() && at[f.index()].is_none())
            .map(Field::column_name)
            .collect();
        if !missing.is_empty() {
            return Err(FileError::MissingColumns { columns: missing });
        }
        if !duplicated.is_empty() {
            return Err(FileError::DuplicateColumns {
                columns: duplicated.into_iter().map(Field::column_name).collect(),
            });
        }
        Ok(Columns {
            at,
            width: header.len(),
        })
    }

    pub(super) fn row(&self, record: &csv::StringRecord) -> Row {
        if record.len() != self.width {
            return Row::failed(format!(
                "列数不正确：表头有{}列，此行有{}列",
                self.width,
                record.len()
            ));
        }
        let mut d = Draft::default();
        for f in Field::ALL {
            let Some((i, yuan)) = self.at[f.index()] else {
                continue;
            };
            let value = cell(record.get(i).unwrap_or_default());
            match f {
                // A blank status cell means 正常; a blank code, a document without one (数电票,
                // 缴款书); a blank 稽核比对结果, none (or 滞留 for a 缴款书).
                Field::Status | Field::Code | Field::AuditResult if value.is_empty() => {}
                Field::Amount | Field::Tax if yuan && !value.is_empty() => {
                    d.set_money(f, parse_yuan_text(f, value));
                }
                _ => d.set_text(f, value, Dates::Spreadsheet),
            }
        }
        d.finish()
    }
}
