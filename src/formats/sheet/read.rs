//! Reading uploaded spreadsheets (calamine): `.xlsx` and legacy Excel 2003 `.xls`, the type
//! decided by content. Untrusted input: before calamine sees a file, its container is checked
//! for what would make a reader allocate without bound (zip bombs, an `.xlsx` shared-string
//! count or an `.xls` used range claiming billions of cells), and any panic left in a parser
//! becomes an error. A sheet is read only up to the row limit.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};

use calamine::{Data, DataRef, DataType, Reader, Xls, Xlsx};

use super::SheetError;

/// Columns read per row; cells to the right are ignored.
pub const MAX_COLS: u32 = 64;
/// Sheets looked at for the header.
const MAX_SHEETS: usize = 32;
/// Rows above the header that may hold a title.
pub const HEADER_SEARCH_ROWS: usize = 10;
/// Decompressed size allowed for one member and for the whole `.xlsx` package.
const MAX_MEMBER_BYTES: u64 = 64 << 20;
const MAX_PACKAGE_BYTES: u64 = 160 << 20;
const MAX_MEMBERS: usize = 2_000;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_bytes: usize,
    /// Data rows (not counting the header and the title rows above it).
    pub max_rows: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Xlsx,
    Xls,
}

impl Format {
    pub fn label(self) -> &'static str {
        match self {
            Format::Xlsx => "xlsx",
            Format::Xls => "xls",
        }
    }
}

/// The spreadsheet type of `bytes` by its signature: a zip package or an OLE compound file.
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(b"PK\x03\x04") {
        Some(Format::Xlsx)
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        Some(Format::Xls)
    } else {
        None
    }
}

/// A row of the sheet: its 0-based index and its cells as text (index = column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub index: u32,
    pub cells: Vec<String>,
}

impl Row {
    pub fn cell(&self, col: usize) -> &str {
        self.cells.get(col).map(String::as_str).unwrap_or("")
    }
    fn is_blank(&self) -> bool {
        self.cells.iter().all(|c| c.trim().is_empty())
    }
}

/// The sheet that holds the header: its name, the header row and the data rows below it
/// (blank rows left out).
#[derive(Debug, Clone)]
pub struct Table {
    pub format: Format,
    pub sheet: String,
    pub header: Row,
    pub rows: Vec<Row>,
}

/// A cell's value as text: numbers without a spurious `.0`, dates as `YYYY-MM-DD`, errors
/// as their Excel text (so a row holding one is refused with a reason, not silently used).
fn text_of<T: DataType>(v: &T) -> String {
    if let Some(s) = v.get_string() {
        return s.to_string();
    }
    if let Some(i) = v.get_int() {
        return i.to_string();
    }
    if let Some(f) = v.get_float() {
        #[allow(clippy::cast_possible_truncation)]
        if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
            return format!("{}", f as i64);
        }
        return f.to_string();
    }
    if let Some(b) = v.get_bool() {
        return if b { "TRUE".into() } else { "FALSE".into() };
    }
    if let Some(d) = v.get_datetime() {
        return excel_date(d.as_f64());
    }
    if let Some(s) = v.get_datetime_iso() {
        return s.to_string();
    }
    if let Some(e) = v.get_error() {
        return format!("{e}");
    }
    String::new()
}

/// An Excel serial date (1900 system) as `YYYY-MM-DD`, computed with checked arithmetic:
/// calamine's own conversion panics on serials out of chrono's range (found by fuzzing).
fn excel_date(serial: f64) -> String {
    let base = chrono::NaiveDate::from_ymd_opt(1899, 12, 30);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let date = (serial.is_finite() && (0.0..2_958_466.0).contains(&serial))
        .then(|| base?.checked_add_days(chrono::Days::new(serial.floor() as u64)))
        .flatten();
    match date {
        Some(d) => d.format("%Y-%m-%d").to_string(),
        None => format!("{serial:e}"),
    }
}

fn data_text(v: &Data) -> String {
    text_of(v)
}

fn data_ref_text(v: &DataRef<'_>) -> String {
    text_of(v)
}

/// A merged region: its top-left and bottom-right (row, column), 0-based.
type Region = ((u32, u32), (u32, u32));

/// Collects cells (in any order) into rows, refusing more than `max` non-blank rows.
#[derive(Default)]
struct Rows {
    rows: BTreeMap<u32, Vec<String>>,
}

impl Rows {
    fn put(&mut self, row: u32, col: u32, text: String, max: usize) -> Result<(), SheetError> {
        if col >= MAX_COLS || text.trim().is_empty() {
            return Ok(());
        }
        if !self.rows.contains_key(&row) && self.rows.len() >= max {
            return Err(SheetError::TooManyRows);
        }
        let cells = self.rows.entry(row).or_default();
        let c = col as usize;
        if cells.len() <= c {
            cells.resize(c + 1, String::new());
        }
        cells[c] = text;
        Ok(())
    }

    /// Gives every cell of a merged region the value of its top-left cell (only for rows
    /// that exist: a merged region cannot create rows).
    fn fill_merged(&mut self, regions: &[Region]) {
        for &((r0, c0), (r1, c1)) in regions.iter().take(10_000) {
            let Some(v) = self
                .rows
                .get(&r0)
                .and_then(|cells| cells.get(c0 as usize))
                .filter(|v| !v.is_empty())
                .cloned()
            else {
                continue;
            };
            let c1 = c1.min(MAX_COLS - 1);
            for (_, cells) in self.rows.range_mut(r0..=r1) {
                for c in c0..=c1 {
                    let c = c as usize;
                    if cells.len() <= c {
                        cells.resize(c + 1, String::new());
                    }
                    if cells[c].is_empty() {
                        cells[c] = v.clone();
                    }
                }
            }
        }
    }

    /// The rows with merged regions filled and blank rows dropped.
    fn finish(mut self, merged: Vec<calamine::Dimensions>) -> Vec<Row> {
        let regions: Vec<Region> = merged.into_iter().map(|d| (d.start, d.end)).collect();
        self.fill_merged(&regions);
        self.into_rows()
    }

    fn into_rows(self) -> Vec<Row> {
        self.rows
            .into_iter()
            .map(|(index, cells)| Row { index, cells })
            .filter(|r| !r.is_blank())
            .collect()
    }
}

/// Reads the first sheet whose first rows include a header row for which `is_header`
/// holds. `Ok(None)` when no sheet has one.
pub fn read_table(
    bytes: &[u8],
    limits: Limits,
    is_header: &dyn Fn(&Row) -> bool,
) -> Result<Option<Table>, SheetError> {
    if bytes.is_empty() {
        return Err(SheetError::Empty);
    }
    if bytes.len() > limits.max_bytes {
        return Err(SheetError::TooLarge);
    }
    let format = sniff(bytes).ok_or(SheetError::UnsupportedType)?;
    // Header search rows + data rows.
    let max = limits.max_rows.saturating_add(HEADER_SEARCH_ROWS);
    let result = catch_unwind(AssertUnwindSafe(|| match format {
        Format::Xlsx => {
            check_package(bytes)?;
            read_xlsx(bytes, max, is_header)
        }
        Format::Xls => {
            check_compound(bytes, max)?;
            read_xls(bytes, max, is_header)
        }
    }));
    let found = match result {
        Ok(r) => r?,
        Err(_) => return Err(SheetError::Corrupt("文件内容无法解析".into())),
    };
    let Some((sheet, rows)) = found else {
        return Ok(None);
    };
    let Some(h) = rows.iter().take(HEADER_SEARCH_ROWS).position(is_header) else {
        return Ok(None);
    };
    let mut rows = rows;
    let data = rows.split_off(h + 1);
    let header = rows.pop().ok_or(SheetError::Corrupt("表头缺失".into()))?;
    if data.len() > limits.max_rows {
        return Err(SheetError::TooManyRows);
    }
    Ok(Some(Table {
        format,
        sheet,
        header,
        rows: data,
    }))
}

fn header_found(rows: &[Row], is_header: &dyn Fn(&Row) -> bool) -> bool {
    rows.iter().take(HEADER_SEARCH_ROWS).any(is_header)
}

type Found = Option<(String, Vec<Row>)>;

fn corrupt(e: impl std::fmt::Display) -> SheetError {
    SheetError::Corrupt(e.to_string())
}

fn read_xlsx(
    bytes: &[u8],
    max: usize,
    is_header: &dyn Fn(&Row) -> bool,
) -> Result<Found, SheetError> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| match e {
        calamine::XlsxError::Password => SheetError::Encrypted,
        e => corrupt(e),
    })?;
    for name in book.sheet_names().into_iter().take(MAX_SHEETS) {
        let mut rows = Rows::default();
        {
            let mut cells = book.worksheet_cells_reader(&name).map_err(corrupt)?;
            while let Some(cell) = cells.next_cell_with_formula().map_err(corrupt)? {
                let (r, c) = cell.pos;
                let mut text = data_ref_text(&cell.value);
                if text.is_empty() {
                    // A formula the writing program never calculated: show it, so the row
                    // is refused with a reason instead of being taken as blank.
                    if let Some(f) = cell.formula.filter(|f| !f.is_empty()) {
                        text = format!("={f}");
                    }
                }
                rows.put(r, c, text, max)?;
            }
        }
        let rows = rows.finish(book.merge_cells_by_sheet_name(&name).unwrap_or_default());
        if header_found(&rows, is_header) {
            return Ok(Some((name, rows)));
        }
    }
    Ok(None)
}

fn read_xls(
    bytes: &[u8],
    max: usize,
    is_header: &dyn Fn(&Row) -> bool,
) -> Result<Found, SheetError> {
    let mut book: Xls<_> = Xls::new(Cursor::new(bytes)).map_err(|e| match e {
        calamine::XlsError::Password => SheetError::Encrypted,
        e => corrupt(e),
    })?;
    for name in book.sheet_names().into_iter().take(MAX_SHEETS) {
        let range = book.worksheet_range(&name).map_err(corrupt)?;
        let mut rows = Rows::default();
        for (r, c, v) in range.used_cells() {
            let (r0, c0) = range.start().unwrap_or((0, 0));
            let row = r0.saturating_add(u32::try_from(r).unwrap_or(u32::MAX));
            let col = c0.saturating_add(u32::try_from(c).unwrap_or(u32::MAX));
            rows.put(row, col, data_text(v), max)?;
        }
        let rows = rows.finish(book.merge_cells_by_sheet_name(&name).unwrap_or_default());
        if header_found(&rows, is_header) {
            return Ok(Some((name, rows)));
        }
    }
    Ok(None)
}

/// Refuses a zip package whose members expand beyond the limits (checked by decompressing,
/// not by trusting the sizes the headers declare), and a shared-string table announcing more
/// strings than the package could hold.
fn check_package(bytes: &[u8]) -> Result<(), SheetError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(corrupt)?;
    if zip.len() > MAX_MEMBERS {
        return Err(SheetError::Corrupt("压缩包内文件过多".into()));
    }
    let mut total = 0u64;
    let mut sink = [0u8; 64 * 1024];
    for i in 0..zip.len() {
        let mut member = zip.by_index(i).map_err(corrupt)?;
        if member.is_dir() {
            continue;
        }
        let name = member.name().map_err(corrupt)?.to_ascii_lowercase();
        let mut size = 0u64;
        let mut head = Vec::new();
        loop {
            let n = member.read(&mut sink).map_err(corrupt)?;
            if n == 0 {
                break;
            }
            if head.len() < 4096 {
                let take = n.min(4096 - head.len());
                head.extend_from_slice(&sink[..take]);
            }
            size += n as u64;
            total += n as u64;
            if size > MAX_MEMBER_BYTES || total > MAX_PACKAGE_BYTES {
                return Err(SheetError::TooLarge);
            }
        }
        if name.ends_with("sharedstrings.xml") {
            check_shared_strings(&head, size)?;
        }
    }
    Ok(())
}

/// calamine reserves room for `uniqueCount` strings up front: it must be plausible for the
/// member's size (every string takes at least `<si><t/></si>`).
fn check_shared_strings(head: &[u8], size: u64) -> Result<(), SheetError> {
    let text = String::from_utf8_lossy(head);
    // Only `uniqueCount` is reserved; `count` (every reference to a string) may be far larger
    // than the member when cells repeat strings.
    for attr in ["uniqueCount=\""] {
        let mut rest = text.as_ref();
        while let Some(at) = rest.find(attr) {
            let after = &rest[at + attr.len()..];
            let digits: String = after.chars().take_while(|c| *c != '"').collect();
            let claimed = digits.trim().parse::<u64>().unwrap_or(u64::MAX);
            if claimed > size / 8 + 1 {
                return Err(SheetError::Corrupt("共享字符串表已损坏".into()));
            }
            rest = after;
        }
    }
    Ok(())
}

/// Refuses an `.xls` whose records would make calamine allocate beyond reason: it reserves a
/// sheet's whole used range (the DIMENSIONS record, rows × columns) before reading it, and
/// lays the cells out densely between the smallest and largest positions found. The records
/// are walked as calamine walks them — the workbook globals from the start of the stream, each
/// sheet from the position its BOUNDSHEET record gives — so a record placed where a
/// sequential reading would not see it is still checked.
fn check_compound(bytes: &[u8], max_rows: usize) -> Result<(), SheetError> {
    let mut file = cfb::CompoundFile::open(Cursor::new(bytes)).map_err(corrupt)?;
    let name = if file.is_stream("/Workbook") {
        "/Workbook"
    } else if file.is_stream("/Book") {
        "/Book"
    } else {
        return Err(SheetError::UnsupportedType);
    };
    let mut stream = file.open_stream(name).map_err(corrupt)?;
    if stream.len() > MAX_PACKAGE_BYTES {
        return Err(SheetError::TooLarge);
    }
    let mut data = Vec::new();
    stream
        .by_ref()
        .take(MAX_PACKAGE_BYTES)
        .read_to_end(&mut data)
        .map_err(corrupt)?;
    let max_row = u64::try_from(max_rows).unwrap_or(u64::MAX) + 1;
    let mut starts = vec![0usize];
    walk_records(&data, 0, |typ, body| {
        // BOUNDSHEET: lbPlyPos (u32) is where the sheet's records start.
        if typ == 0x0085 && body.len() >= 4 {
            let pos = u32::from_le_bytes([body[0], body[1], body[2], body[3]]);
            starts.push(pos as usize);
        }
        Ok(())
    })?;
    // calamine reads every sheet from its position to the end: many sheets, many readings.
    starts.sort_unstable();
    starts.dedup();
    if starts.len() > 256 {
        return Err(SheetError::Corrupt("工作表过多".into()));
    }
    for start in starts {
        walk_records(&data, start, |typ, body| check_record(typ, body, max_row))?;
    }
    Ok(())
}

/// Calls `f` with each record (type, body) from `start` to the end of `data`.
fn walk_records(
    data: &[u8],
    start: usize,
    mut f: impl FnMut(u16, &[u8]) -> Result<(), SheetError>,
) -> Result<(), SheetError> {
    let mut i = start;
    while let Some(head) = data.get(i..i + 4) {
        let typ = u16::from_le_bytes([head[0], head[1]]);
        let len = usize::from(u16::from_le_bytes([head[2], head[3]]));
        let Some(body) = data.get(i + 4..i + 4 + len) else {
            break;
        };
        f(typ, body)?;
        i += 4 + len;
    }
    Ok(())
}

/// Cells calamine may lay out for one sheet: the row limit × 128 columns.
fn check_record(typ: u16, body: &[u8], max_row: u64) -> Result<(), SheetError> {
    let u16_at = |o: usize| {
        body.get(o..o + 2)
            .map_or(0, |b| u64::from(u16::from_le_bytes([b[0], b[1]])))
    };
    let u32_at = |o: usize| {
        body.get(o..o + 4).map_or(0, |b| {
            u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        })
    };
    let max_col = 2 * u64::from(MAX_COLS);
    let too_many = || SheetError::TooManyRows;
    match typ {
        // DIMENSIONS, read as calamine reads it (BIFF5: four u16; BIFF8: two u32, two u16).
        0x0200 => {
            let (rf, rl, mut cf, cl) = match body.len() {
                10 => (u16_at(0), u16_at(2), u16_at(4), u16_at(6)),
                14 | 16 => (u32_at(0), u32_at(4), u16_at(8), u16_at(10)),
                _ => return Ok(()),
            };
            if 0xFF < cf || cl < cf {
                cf = 0;
            }
            // calamine: end = (rl - 1, cl - 1) when both are ≥ 1 (else the start), then it
            // reserves (end - start + 1) rows × columns in u32 arithmetic, which wraps in a
            // release build when the first row is after the last: so must this check.
            let (er, ec) = if rl >= 1 && cl >= 1 {
                (rl - 1, cl - 1)
            } else {
                (rf, cf)
            };
            let span = |end: u64, start: u64| {
                u64::from((end as u32).wrapping_sub(start as u32).wrapping_add(1))
            };
            let (rows, cols) = (span(er, rf), span(ec, cf));
            if rows > max_row || rows.saturating_mul(cols) > max_row.saturating_mul(max_col) {
                return Err(too_many());
            }
        }
        // Cell records: row (u16), column (u16) first; MULRK/MULBLANK end with the last column.
        0x0201 | 0x0203 | 0x0204 | 0x0205 | 0x0006 | 0x027E | 0x00FD | 0x00D6 | 0x00BD | 0x00BE => {
            if u16_at(0) > max_row {
                return Err(too_many());
            }
            let last = if matches!(typ, 0x00BD | 0x00BE) {
                u16_at(body.len().saturating_sub(2))
            } else {
                0
            };
            if u16_at(2).max(last) >= max_col {
                return Err(SheetError::Corrupt("表格列数过多".into()));
            }
        }
        // MERGECELLS: a count, then 8 bytes per region; calamine indexes without checking.
        0x00E5 if body.len() < 2 || body.len() < 2 + 8 * u16_at(0) as usize => {
            return Err(SheetError::Corrupt("合并单元格记录已损坏".into()));
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
pub(crate) fn excel_date_for_tests(serial: f64) -> String {
    excel_date(serial)
}
