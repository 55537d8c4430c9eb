//! CSV import files with a header row (Chinese or API column names), as a spreadsheet or the
//! invoicing system writes them.
//!
//! A file is read as a stream ([`CsvRows`], over any [`BufRead`]): only the record being
//! looked at and the CSV reader's buffer are held, never the whole text. [`parse_csv`] reads a
//! text already in memory (an upload) through the same reader.

use std::collections::HashMap;
use std::io::{self, BufRead, Read};

use super::ndjson::RowOutcome;
use super::row::*;
use super::{FileError, Parsed, StreamError};

/// Parses CSV with a header row. Columns are found by name (API or Chinese names, any order,
/// extra columns ignored); fully blank rows are skipped.
pub fn parse_csv(text: &str) -> Result<Parsed, FileError> {
    parse_csv_bytes(text.as_bytes())
}

/// [`parse_csv`] of bytes in memory (UTF-8 or not: [`CsvRows`] checks).
pub(super) fn parse_csv_bytes(bytes: &[u8]) -> Result<Parsed, FileError> {
    let mut out = Parsed::default();
    for item in CsvRows::new(bytes) {
        match item {
            Ok(Ok(row)) => out.invoices.push(row),
            Ok(Err(bad)) => out.rejected.push(bad),
            Err(StreamError::File(e)) => return Err(e),
            // Reading a slice does not fail.
            Err(StreamError::Io(_)) => return Err(FileError::MalformedCsv { line: 1 }),
        }
    }
    if out.is_empty() {
        return Err(FileError::Empty);
    }
    Ok(out)
}

/// A CSV file read record by record from `reader`, never whole: the header row first (blank
/// rows before it skipped), then each row's outcome — its line and invoice, or the rejected
/// line (bad form, or a key already on an earlier line) — or a problem with the file as a
/// whole, after which nothing more is read. Fully blank rows are skipped; a file without any
/// row ends without an item (the caller reports [`FileError::Empty`]).
///
/// Line numbers are 1-based lines of the file where a record starts (a quoted field may span
/// lines); LF, CRLF and a lone CR each end a line. A UTF-8 BOM is skipped (two, as the
/// whole-file reader did). The file must be UTF-8 (GBK is not decoded): the first byte that is
/// not gives [`FileError::NotUtf8`] with its line, counted in LFs — and it takes precedence
/// over a bad header, as when the whole file was checked first. Memory: the current record,
/// the CSV reader's buffer and up to 64 KiB of bytes already looked at, and one compact key
/// (16 bytes and a line number) per row for the duplicate check.
pub struct CsvRows<R> {
    reader: csv::Reader<Seen<R>>,
    record: csv::StringRecord,
    columns: Option<Columns>,
    /// Why the header was refused: reported once the rest of the file is known to be UTF-8.
    bad_header: Option<FileError>,
    first_line: HashMap<u128, usize>,
    /// Byte offset (after a BOM) up to which lines are counted: the last record's start.
    at: u64,
    /// The line at `at`, and the LFs before it.
    line: usize,
    newlines: usize,
    done: bool,
}

impl<R: BufRead> CsvRows<R> {
    pub fn new(reader: R) -> Self {
        CsvRows {
            reader: csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(Seen::new(reader)),
            record: csv::StringRecord::new(),
            columns: None,
            bad_header: None,
            first_line: HashMap::new(),
            at: 0,
            line: 1,
            newlines: 0,
            done: false,
        }
    }

    /// Counts the lines up to the record that starts at byte `start` (or after the line
    /// breaks there) and ends before `end`, checks that its bytes are UTF-8, and gives its line.
    fn locate(&mut self, start: u64, end: u64) -> Result<usize, FileError> {
        let seen = self.reader.get_mut();
        let window = seen.window.as_slice();
        let index = |offset: u64| {
            usize::try_from(offset.saturating_sub(seen.base))
                .map_or(window.len(), |i| i.min(window.len()))
        };
        let from = index(self.at);
        // The reader's offset may point into the line ending before the record; a record
        // never starts with CR or LF.
        let mut start = index(start.max(self.at));
        while matches!(window.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        for (i, b) in window
            .get(from..start)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            if *b == b'\n' {
                self.line += 1;
                self.newlines += 1;
            } else if *b == b'\r' && window.get(from + i + 1) != Some(&b'\n') {
                // A lone CR ends a line as the CSV reader treats it.
                self.line += 1;
            }
        }
        self.at = seen.base + start as u64;
        let record = window.get(start..index(end)).unwrap_or_default();
        if let Err(e) = std::str::from_utf8(record) {
            let before = record.get(..e.valid_up_to()).unwrap_or_default();
            let newlines = before.iter().filter(|&&b| b == b'\n').count();
            return Err(FileError::NotUtf8 {
                line: 1 + self.newlines + newlines,
            });
        }
        seen.forget_before(self.at);
        Ok(self.line)
    }

    /// Reads the next record (blank ones included) with its line, or `None` at the end.
    fn next_record(&mut self) -> Option<Result<usize, StreamError>> {
        let start = self.reader.position().byte();
        match self.reader.read_record(&mut self.record) {
            Ok(false) => None,
            Ok(true) => {
                let end = self.reader.position().byte();
                Some(self.locate(start, end).map_err(StreamError::File))
            }
            Err(e) => Some(Err(match e.into_kind() {
                csv::ErrorKind::Io(e) => StreamError::Io(e),
                // The record's bytes are not UTF-8: found and placed by `locate`.
                csv::ErrorKind::Utf8 { .. } => {
                    let end = self.reader.position().byte();
                    let line = self.line;
                    StreamError::File(
                        self.locate(start, end)
                            .err()
                            .unwrap_or(FileError::NotUtf8 { line }),
                    )
                }
                // Not expected from a flexible reader.
                _ => StreamError::File(FileError::MalformedCsv { line: self.line }),
            })),
        }
    }
}

impl<R: BufRead> Iterator for CsvRows<R> {
    type Item = Result<RowOutcome, StreamError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            let line = match self.next_record() {
                None => {
                    self.done = true;
                    return self.bad_header.take().map(|e| Err(StreamError::File(e)));
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Some(Ok(line)) => line,
            };
            if self.bad_header.is_some() || is_blank(&self.record) {
                continue;
            }
            let Some(columns) = &self.columns else {
                match Columns::from_header(&self.record) {
                    Ok(columns) => self.columns = Some(columns),
                    // Reported at the end, unless a byte that is not UTF-8 comes first.
                    Err(e) => self.bad_header = Some(e),
                }
                continue;
            };
            let row = columns.row(&self.record);
            return Some(Ok(
                settle_row(&mut self.first_line, line, row).map(|inv| (line, inv))
            ));
        }
    }
}

/// The reader under the CSV reader: skips a UTF-8 BOM (or two), and keeps the bytes it has
/// passed on from the start of the record being looked at (the CSV reader reads ahead by its
/// buffer), so that lines are counted and UTF-8 checked without the file in memory.
struct Seen<R> {
    inner: R,
    /// The bytes from offset `base` on, as passed on (offsets count from after a BOM).
    window: Vec<u8>,
    base: u64,
    /// The first bytes, read to look for a BOM, when they are not one: passed on first.
    head: Option<([u8; 3], usize)>,
    started: bool,
}

impl<R: Read> Seen<R> {
    fn new(inner: R) -> Self {
        Seen {
            inner,
            window: Vec::new(),
            base: 0,
            head: None,
            started: false,
        }
    }

    /// Drops the bytes before `offset` once they are many and most of the window (so that
    /// moving the rest costs O(1) per byte).
    fn forget_before(&mut self, offset: u64) {
        let n = usize::try_from(offset.saturating_sub(self.base))
            .map_or(self.window.len(), |n| n.min(self.window.len()));
        if n >= 1 << 16 && 2 * n >= self.window.len() {
            self.window.drain(..n);
            self.base += n as u64;
        }
    }
}

impl<R: Read> Read for Seen<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.started {
            self.started = true;
            // Up to two BOMs, as an upload loses one checking the encoding and one parsing.
            for _ in 0..2 {
                let mut head = [0u8; 3];
                let mut got = 0;
                while got < head.len() {
                    match self.inner.read(head.get_mut(got..).unwrap_or_default()) {
                        Ok(0) => break,
                        Ok(n) => got += n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                if head.get(..got) != Some(b"\xEF\xBB\xBF".as_slice()) {
                    self.head = Some((head, got));
                    break;
                }
            }
        }
        let n = match &mut self.head {
            Some((head, len)) if *len > 0 => {
                let n = (*len).min(buf.len());
                buf.get_mut(..n)
                    .unwrap_or_default()
                    .copy_from_slice(head.get(..n).unwrap_or_default());
                head.copy_within(n.., 0);
                *len -= n;
                n
            }
            _ => self.inner.read(buf)?,
        };
        self.window
            .extend_from_slice(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
}

// ---------------------------------------------------------------------------
// Fields
// ---------------------------------------------------------------------------

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

#[cfg(test)]
mod tests {
    use super::*;

    const SELLER: &str = "91350100M000100Y43";
    const BUYER: &str = "911100007109288314";

    /// A CSV file made on demand, never whole: a BOM, a header and `rows` rows with CRLF
    /// line endings, every 1,000th with a seller name quoted over two lines. It can be read
    /// once only (the rows are not kept to be read again).
    struct Generated {
        rows: u32,
        next: u32,
        pending: Vec<u8>,
        at: usize,
    }

    impl Generated {
        fn new(rows: u32) -> Self {
            let mut pending = b"\xEF\xBB\xBF".to_vec();
            pending.extend_from_slice(
                "发票代码,发票号码,发票类型,开票日期,销方税号,销方名称,购方税号,金额,税额\r\n"
                    .as_bytes(),
            );
            Generated {
                rows,
                next: 0,
                pending,
                at: 0,
            }
        }
    }

    impl Read for Generated {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.at == self.pending.len() {
                self.pending.clear();
                self.at = 0;
                if self.next == self.rows {
                    return Ok(0);
                }
                self.next += 1;
                let n = self.next;
                let name = if n.is_multiple_of(1000) {
                    "\"福州某某\r\n科技有限公司\""
                } else {
                    "福州某某科技有限公司"
                };
                self.pending = format!(
                    "0123456789,{n:08},专用发票,2026-01-05,{SELLER},{name},{BUYER},\"2,995.00\",389.35\r\n"
                )
                .into_bytes();
            }
            let rest = self.pending.get(self.at..).unwrap_or_default();
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.at += n;
            Ok(n)
        }
    }

    /// A file of many megabytes goes through a window of a few kilobytes, with the line
    /// numbers of a whole-file count (a quoted field over two lines moves them on by one).
    #[test]
    fn a_long_file_is_read_in_bounded_memory() {
        const ROWS: u32 = 60_000;
        let mut rows = CsvRows::new(io::BufReader::new(Generated::new(ROWS)));
        let (mut n, mut line, mut widest) = (0u32, 1usize, 0usize);
        while let Some(item) = rows.next() {
            let (at, inv) = item.unwrap().unwrap();
            n += 1;
            line += 1;
            assert_eq!(at, line, "row {n}");
            assert_eq!(inv.key.number(), format!("{n:08}"));
            assert_eq!(inv.amount.value(), 299_500);
            if n.is_multiple_of(1000) {
                assert_eq!(inv.seller_name, "福州某某\r\n科技有限公司");
                line += 1;
            }
            widest = widest.max(rows.reader.get_ref().window.capacity());
        }
        assert_eq!(n, ROWS);
        // The file is about 8 MB; the window stays within the compaction threshold and the
        // CSV reader's buffer.
        assert!(widest < 200 << 10, "window grew to {widest} bytes");
    }
}
