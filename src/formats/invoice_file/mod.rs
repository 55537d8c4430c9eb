//! Parsing of the tax office's invoice import files (`POST /api/v1/office/invoices`): NDJSON
//! (one API invoice object per line) or CSV with a header row, as produced by the invoicing
//! system or a spreadsheet; and, for the console's upload (发票数据), an `.xlsx` sheet with
//! the same header row ([`parse_xlsx`]).
//!
//! Parsing is row by row and never panics. Every bad row is collected with its 1-based line
//! number and a reason in Simplified Chinese that names the field, so that the caller, which
//! imports all-or-nothing, can report them all at once. Problems with the file as a whole
//! (not UTF-8, no data, CSV header without the required columns) are a [`FileError`].
//!
//! The text formats can be read from a reader without holding the file ([`FileRows`]:
//! [`NdjsonRows`], [`CsvRows`]; `fapiao import` does); a CSV upload in memory is parsed by
//! [`parse`] through the same reader. An `.xlsx` sheet is read whole (the spreadsheet
//! reader needs the whole zip package).
//!
//! The parser checks form only. Rules that need the clock or the store (amounts not negative,
//! tax not above the amount, not issued in the future, key not already taken by a different
//! invoice) belong to the importer (`Invoice::check_issue`).

use crate::domain::Invoice;

mod csv;
mod ndjson;
mod row;
mod xlsx;

pub use self::csv::{parse_csv, CsvRows};
pub use ndjson::{parse_ndjson, NdjsonRows, RowOutcome};

/// A text import file read row by row from a reader, never whole ([`NdjsonRows`] or
/// [`CsvRows`]): the same items in both formats. An `.xlsx` sheet cannot be read this way
/// (the spreadsheet reader needs the whole package).
pub enum FileRows<R> {
    Ndjson(NdjsonRows<R>),
    /// Boxed: the CSV reader carries its buffers' bookkeeping (made once a file).
    Csv(Box<CsvRows<R>>),
}

impl<R: std::io::BufRead> FileRows<R> {
    /// The rows of `reader` in `format`; `None` for `.xlsx`.
    pub fn new(format: FileFormat, reader: R) -> Option<Self> {
        match format {
            FileFormat::Ndjson => Some(FileRows::Ndjson(NdjsonRows::new(reader))),
            FileFormat::Csv => Some(FileRows::Csv(Box::new(CsvRows::new(reader)))),
            FileFormat::Xlsx => None,
        }
    }
}

impl<R: std::io::BufRead> Iterator for FileRows<R> {
    type Item = Result<RowOutcome, StreamError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            FileRows::Ndjson(rows) => rows.next(),
            FileRows::Csv(rows) => rows.next(),
        }
    }
}

/// Why a streamed file stopped: a problem with the file as a whole, or reading it.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("{0}")]
    File(FileError),
    #[error("读取文件失败：{0}")]
    Io(std::io::Error),
}
pub use xlsx::parse_xlsx;

/// One rejected row: its 1-based line in the file and why, in Chinese (without a
/// "第N行：" prefix; the caller adds that).

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rejected {
    pub line: usize,
    pub reason: String,
}

/// The outcome of parsing a file: the good rows with their lines, and every bad row.
/// Both lists are in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub invoices: Vec<(usize, Invoice)>,
    pub rejected: Vec<Rejected>,
}

impl Parsed {
    fn is_empty(&self) -> bool {
        self.invoices.is_empty() && self.rejected.is_empty()
    }
}

/// The accepted file formats (`.xlsx` only for uploads, [`FileFormat::of_upload`]: the
/// API's Content-Types and the command line name the two text formats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Ndjson,
    Csv,
    Xlsx,
}

impl FileFormat {
    /// From a Content-Type: `application/x-ndjson`, `application/ndjson`, `application/jsonl`
    /// or `text/csv`, case-insensitive, with optional parameters such as `; charset=utf-8`.
    pub fn from_content_type(ct: &str) -> Option<FileFormat> {
        let essence = ct.split(';').next().unwrap_or_default().trim();
        let is = |name: &str| essence.eq_ignore_ascii_case(name);
        if is("application/x-ndjson") || is("application/ndjson") || is("application/jsonl") {
            Some(FileFormat::Ndjson)
        } else if is("text/csv") {
            Some(FileFormat::Csv)
        } else {
            None
        }
    }

    /// From a file name's extension (case-insensitive): `.ndjson`/`.jsonl` or `.csv` (the
    /// text formats; an `.xlsx` upload is recognised by [`FileFormat::of_upload`]).
    pub fn from_file_name(name: &str) -> Option<FileFormat> {
        let (_, ext) = name.trim().rsplit_once('.')?;
        if ext.eq_ignore_ascii_case("ndjson") || ext.eq_ignore_ascii_case("jsonl") {
            Some(FileFormat::Ndjson)
        } else if ext.eq_ignore_ascii_case("csv") {
            Some(FileFormat::Csv)
        } else {
            None
        }
    }

    /// The format of an uploaded file: `.xlsx` by its content (a zip package) or its name,
    /// else by the name as [`FileFormat::from_file_name`].
    pub fn of_upload(name: &str, bytes: &[u8]) -> Option<FileFormat> {
        let xlsx_name = name
            .trim()
            .rsplit_once('.')
            .is_some_and(|(_, ext)| ext.eq_ignore_ascii_case("xlsx"));
        if bytes.starts_with(b"PK\x03\x04") || xlsx_name {
            Some(FileFormat::Xlsx)
        } else {
            FileFormat::from_file_name(name)
        }
    }

    /// Its name in messages.
    pub fn label(self) -> &'static str {
        match self {
            FileFormat::Ndjson => "NDJSON",
            FileFormat::Csv => "CSV",
            FileFormat::Xlsx => "Excel (.xlsx)",
        }
    }
}

/// Problems that reject the whole file before any row is looked at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// The bytes are not UTF-8 (typically a GBK CSV saved by a Chinese spreadsheet).
    #[error("文件不是UTF-8编码（第{line}行有无法识别的字符），请以UTF-8编码保存后重新导入（Excel请另存为“CSV UTF-8（逗号分隔）”）")]
    NotUtf8 { line: usize },
    /// No rows at all (empty file, only blank lines, or a CSV header alone).
    #[error("文件中没有发票数据")]
    Empty,
    /// The CSV header lacks required columns, named like `发票代码(code)`.
    #[error("缺少必需的列：{}", .columns.join("、"))]
    MissingColumns { columns: Vec<String> },
    /// The CSV header has the same column more than once (e.g. both `code` and `发票代码`).
    #[error("列重复出现：{}", .columns.join("、"))]
    DuplicateColumns { columns: Vec<String> },
    /// An NDJSON upload that is a JSON array instead of one object per line.
    #[error("文件内容是JSON数组：请改为每行一个发票JSON对象（NDJSON格式）")]
    JsonArray,
    /// The CSV reader could not read the header row.
    #[error("CSV格式不正确（第{line}行）")]
    MalformedCsv { line: usize },
    /// An `.xlsx` file that cannot be read as a sheet with the header row (why, in Chinese).
    #[error("{0}")]
    Sheet(String),
}

impl FileError {
    /// A stable snake_case code for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            FileError::NotUtf8 { .. } => "not_utf8",
            FileError::Empty => "empty_file",
            FileError::MissingColumns { .. } => "missing_columns",
            FileError::DuplicateColumns { .. } => "duplicate_columns",
            FileError::JsonArray => "json_array",
            FileError::MalformedCsv { .. } => "malformed_csv",
            FileError::Sheet(_) => "bad_spreadsheet",
        }
    }
}

/// Limits of an `.xlsx` import: the package's size is bounded by the upload, its rows here.
pub const XLSX_LIMITS: crate::formats::sheet::Limits = crate::formats::sheet::Limits {
    max_bytes: 64 << 20,
    max_rows: 500_000,
};

/// Parses an uploaded file: strips a UTF-8 BOM, requires UTF-8, and rejects a file without
/// any row. For NDJSON, a JSON array is refused as a whole ([`FileError::JsonArray`]).
/// An `.xlsx` file is read as a sheet ([`parse_xlsx`], with [`XLSX_LIMITS`]).
pub fn parse(bytes: &[u8], format: FileFormat) -> Result<Parsed, FileError> {
    if format == FileFormat::Xlsx {
        return parse_xlsx(bytes, XLSX_LIMITS);
    }
    let whole = bytes;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
        FileError::NotUtf8 {
            line: 1 + valid.iter().filter(|&&b| b == b'\n').count(),
        }
    })?;
    match format {
        FileFormat::Ndjson => {
            if text.trim_start().starts_with('[') {
                return Err(FileError::JsonArray);
            }
            let parsed = parse_ndjson(text);
            if parsed.is_empty() {
                Err(FileError::Empty)
            } else {
                Ok(parsed)
            }
        }
        // The reader skips the BOM (and a second one) itself.
        FileFormat::Csv => self::csv::parse_csv_bytes(whole),
        FileFormat::Xlsx => parse_xlsx(bytes, XLSX_LIMITS),
    }
}

#[cfg(test)]
mod tests {
    use super::row::*;
    use super::*;
    use crate::domain::{Fen, InvoiceStatus, InvoiceType, SelectionState};
    use chrono::NaiveDate;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    const SELLER: &str = "91350100M000100Y43";
    const BUYER: &str = "911100007109288314";
    const OTHER: &str = "914403001922038216";

    fn row(code: &str, number: &str) -> Value {
        json!({
            "code": code, "number": number, "type": "special", "issued_on": "2026-01-05",
            "seller_id": SELLER, "seller_name": "福州某某科技有限公司", "buyer_id": BUYER,
            "amount": 299500, "tax": 38935
        })
    }

    fn with(mut v: Value, key: &str, value: Value) -> Value {
        v[key] = value;
        v
    }

    fn without(mut v: Value, key: &str) -> Value {
        v.as_object_mut().unwrap().remove(key);
        v
    }

    fn lines(rows: &[Value]) -> String {
        rows.iter().map(|r| format!("{r}\n")).collect()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn ndjson_valid_rows_survive_exactly() {
        let text = lines(&[
            row("0123456789", "00000001"),
            with(
                with(row("0044031900", "01234567"), "type", json!("货运专用发票")),
                "status",
                json!("作废"),
            ),
            // Output-only fields are ignored; 12-digit motor vehicle code.
            json!({
                "code": "001234567890", "number": "00999999", "type": "motor_vehicle",
                "issued_on": "2025-12-31", "seller_id": OTHER, "seller_name": "  某汽车销售公司 ",
                "buyer_id": "91350100m000100y43", "amount": 0, "tax": -5,
                "status": "out_of_control",
                "selection": "confirmed", "period": "202601", "certified_on": "2026-01-06",
                "batch": 1, "history": []
            }),
        ]);
        let parsed = parse(text.as_bytes(), FileFormat::Ndjson).unwrap();
        assert_eq!(parsed.rejected, vec![]);
        let lines: Vec<usize> = parsed.invoices.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [1, 2, 3]);
        let [a, b, c] = [0, 1, 2].map(|i| &parsed.invoices[i].1);

        assert_eq!(a.key.code_or_dash(), "0123456789");
        assert_eq!(a.key.number(), "00000001");
        assert_eq!(a.kind, InvoiceType::Special);
        assert_eq!(a.issued_on, date(2026, 1, 5));
        assert_eq!(a.seller_id.as_str(), SELLER);
        assert_eq!(a.seller_name, "福州某某科技有限公司");
        assert_eq!(a.buyer_id.as_str(), BUYER);
        assert_eq!(a.amount, Fen::new(299_500));
        assert_eq!(a.tax, Fen::new(38_935));
        assert_eq!(a.status, InvoiceStatus::Normal);
        assert_eq!(a.selection, SelectionState::Unselected);

        assert_eq!(b.key.code_or_dash(), "0044031900");
        assert_eq!(b.key.number(), "01234567");
        assert_eq!(b.kind, InvoiceType::Freight);
        assert_eq!(b.status, InvoiceStatus::Voided);

        assert_eq!(c.key.code_or_dash(), "001234567890");
        assert_eq!(c.key.number(), "00999999");
        assert_eq!(c.kind, InvoiceType::MotorVehicle);
        assert_eq!(c.seller_name, "某汽车销售公司");
        assert_eq!(c.buyer_id.as_str(), SELLER);
        assert_eq!((c.amount, c.tax), (Fen::ZERO, Fen::new(-5)));
        assert_eq!(c.status, InvoiceStatus::OutOfControl);
        assert_eq!(c.selection, SelectionState::Unselected);
    }

    #[test]
    fn ndjson_every_bad_row_is_reported() {
        let good = row("0123456789", "00000001");
        let mut n = 1u32;
        let mut next = || {
            n += 1;
            row("3300171130", &format!("{n:08}"))
        };
        let cases: Vec<(String, &str)> = vec![
            (
                with(next(), "code", json!(123)).to_string(),
                "发票代码应为字符串",
            ),
            (
                with(next(), "code", json!("123")).to_string(),
                "发票代码应为10位或12位数字",
            ),
            (
                with(next(), "number", json!(1)).to_string(),
                "发票号码应为字符串",
            ),
            (
                with(next(), "number", json!("1234567")).to_string(),
                "发票号码应为8位数字",
            ),
            (
                with(next(), "type", json!("common")).to_string(),
                "发票类型不正确",
            ),
            (
                with(next(), "issued_on", json!("2026/01/05")).to_string(),
                "开票日期格式应为YYYY-MM-DD",
            ),
            (
                with(next(), "issued_on", json!("2026-02-30")).to_string(),
                "开票日期不是有效的日期：2026-02-30",
            ),
            (
                with(next(), "issued_on", json!(20260105)).to_string(),
                "开票日期应为字符串",
            ),
            (
                without(next(), "seller_id").to_string(),
                "缺少字段 seller_id（销方税号）",
            ),
            (
                with(next(), "seller_id", json!("91350100M000100Y44")).to_string(),
                "销方税号不正确：纳税人识别号校验位不正确",
            ),
            (
                with(next(), "buyer_id", json!("123")).to_string(),
                "购方税号不正确：纳税人识别号长度",
            ),
            (
                with(next(), "buyer_id", Value::Null).to_string(),
                "缺少字段 buyer_id（购方税号）",
            ),
            (
                with(next(), "seller_name", json!("  ")).to_string(),
                "销方名称不能为空",
            ),
            (
                with(next(), "seller_name", json!("名".repeat(201))).to_string(),
                "销方名称过长",
            ),
            (
                with(next(), "amount", json!(2995.0)).to_string(),
                "金额应为以分为单位的整数",
            ),
            (
                with(next(), "amount", json!("299500")).to_string(),
                "金额应为以分为单位的整数",
            ),
            (
                with(next(), "amount", json!(u64::MAX)).to_string(),
                "金额超出允许范围",
            ),
            (
                with(next(), "tax", json!(389.35)).to_string(),
                "税额应为以分为单位的整数",
            ),
            (without(next(), "tax").to_string(), "缺少字段 tax（税额）"),
            (
                with(next(), "status", json!("ok")).to_string(),
                "发票状态不正确",
            ),
            (
                with(next(), "amout", json!(1)).to_string(),
                "未知字段“amout”",
            ),
            ("{\"code\": \"3300171130\",".to_owned(), "不是有效的JSON"),
            ("not json".to_owned(), "不是有效的JSON"),
            ("[1, 2]".to_owned(), "应为JSON对象"),
            ("\"text\"".to_owned(), "应为JSON对象"),
            (
                format!("{{\"code\":\"3300171130\",{}", &next().to_string()[1..]),
                "字段“code”重复出现",
            ),
        ];
        let mut text = format!("{good}\n");
        for (line, _) in &cases {
            text.push_str(line);
            text.push('\n');
        }
        text.push_str(&format!("{}\n", next()));
        let parsed = parse_ndjson(&text);
        assert_eq!(parsed.invoices.len(), 2);
        assert_eq!(parsed.invoices[0].0, 1);
        assert_eq!(parsed.invoices[1].0, cases.len() + 2);
        assert_eq!(parsed.rejected.len(), cases.len());
        for (i, ((_, expected), rejected)) in cases.iter().zip(&parsed.rejected).enumerate() {
            assert_eq!(rejected.line, i + 2);
            assert!(
                rejected.reason.contains(expected),
                "line {}: {:?} does not mention {expected:?}",
                rejected.line,
                rejected.reason
            );
        }
        // The domain message is used as is.
        assert_eq!(parsed.rejected[1].reason, "发票代码应为10位或12位数字");
        assert_eq!(parsed.rejected[8].reason, "缺少字段 seller_id（销方税号）");
    }

    #[test]
    fn ndjson_escaped_strings() {
        let line = format!(
            r#"{{"code":"\u0030123456789","number":"00000001","type":"special","issued_on":"2026-01-05","seller_id":"{SELLER}","seller_name":"\u7532\"\u516c\u53f8\"\\","buyer_id":"{BUYER}","amount":1,"tax":0,"\u0068istory":[{{"a":[1,2,{{}}]}}]}}"#
        );
        let parsed = parse_ndjson(&line);
        assert_eq!(parsed.rejected, vec![]);
        let inv = &parsed.invoices[0].1;
        assert_eq!(inv.key.code_or_dash(), "0123456789");
        assert_eq!(inv.seller_name, "甲\"公司\"\\");
    }

    #[test]
    fn ndjson_row_lists_all_its_problems() {
        let bad = json!({"code": "1", "number": "00000001", "type": "special", "issued_on": "x",
            "seller_id": SELLER, "seller_name": "甲", "amount": 1.5, "tax": 0, "extra": true});
        let parsed = parse_ndjson(&bad.to_string());
        assert_eq!(
            parsed.rejected,
            vec![Rejected {
                line: 1,
                reason: "发票代码应为10位或12位数字；开票日期格式应为YYYY-MM-DD；缺少字段 buyer_id（购方税号）；金额应为以分为单位的整数（不能有小数）；包含未知字段“extra”".to_owned()
            }]
        );
        // A row of garbage keys gives a bounded reason.
        let mut map = serde_json::Map::new();
        for i in 0..100 {
            map.insert(format!("k{i}"), json!(i));
        }
        let parsed = parse_ndjson(&Value::Object(map).to_string());
        assert!(parsed.rejected[0].reason.ends_with("……（共109处错误）"));
    }

    #[test]
    fn ndjson_bom_blank_lines_and_crlf() {
        let text = format!(
            "\u{FEFF}{}\r\n\r\n   \n\t\n{}\r\n\n",
            row("0123456789", "00000001"),
            row("0123456789", "00000002")
        );
        let parsed = parse(text.as_bytes(), FileFormat::Ndjson).unwrap();
        assert!(parsed.rejected.is_empty());
        let lines: Vec<usize> = parsed.invoices.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [1, 5]);
        // parse_ndjson strips the BOM by itself too.
        let parsed = parse_ndjson(&format!("\u{FEFF}{}", row("0123456789", "00000001")));
        assert_eq!(parsed.invoices.len(), 1);
    }

    /// What the streamed reader gives, gathered like [`parse`]'s answer.
    fn streamed(bytes: &[u8]) -> Result<Parsed, FileError> {
        let mut out = Parsed::default();
        for item in NdjsonRows::new(bytes) {
            match item {
                Ok(Ok(row)) => out.invoices.push(row),
                Ok(Err(bad)) => out.rejected.push(bad),
                Err(StreamError::File(e)) => return Err(e),
                Err(StreamError::Io(e)) => panic!("{e}"),
            }
        }
        if out.is_empty() {
            return Err(FileError::Empty);
        }
        Ok(out)
    }

    #[test]
    fn ndjson_streamed_reads_like_the_whole_file() {
        let good = row("0123456789", "00000001");
        let texts = [
            format!(
                "\u{FEFF}{}\r\n\r\n   \n\t\n{}\r\n\n",
                good,
                row("0123456789", "00000002")
            ),
            lines(&[
                good.clone(),
                row("0123456789", "00000002"),
                good.clone(),
                with(row("0123456789", "00000002"), "tax", json!("1")),
                without(row("123456789", "00000001"), "seller_id"),
                json!([1, 2]),
            ]),
            format!("{good}\nnot json\n{{\"code\": 1}}"),
            format!("  [{good}]\n"),
            "\n  \n".to_owned(),
        ];
        for text in &texts {
            assert_eq!(
                streamed(text.as_bytes()),
                parse(text.as_bytes(), FileFormat::Ndjson),
                "{text}"
            );
        }
        let mut bytes = format!("{good}\n").into_bytes();
        bytes.extend_from_slice(b"{\"seller_name\": \"\xff\"}\n");
        assert_eq!(streamed(&bytes), Err(FileError::NotUtf8 { line: 2 }));
        assert_eq!(
            parse(&bytes, FileFormat::Ndjson),
            Err(FileError::NotUtf8 { line: 2 })
        );
    }

    #[test]
    fn ndjson_duplicate_keys() {
        let text = lines(&[
            row("0123456789", "00000001"),
            row("0123456789", "00000002"),
            row("0123456789", "00000001"),
            with(row("0123456789", "00000002"), "tax", json!("1")),
            row("123456789", "00000001"),
        ]);
        let parsed = parse_ndjson(&text);
        assert_eq!(parsed.invoices.len(), 2);
        assert_eq!(
            parsed.rejected,
            vec![
                Rejected {
                    line: 3,
                    reason: "发票代码和号码与第1行重复".to_owned()
                },
                Rejected {
                    line: 4,
                    reason:
                        "发票代码和号码与第2行重复；税额应为以分为单位的整数（JSON数字，不加引号）"
                            .to_owned()
                },
                Rejected {
                    line: 5,
                    reason: "发票代码应为10位或12位数字".to_owned()
                },
            ]
        );
        // A 10-digit code and a 12-digit one with the same value are different keys.
        let text = lines(&[
            row("0123456789", "00000001"),
            row("000123456789", "00000001"),
        ]);
        assert_eq!(parse_ndjson(&text).invoices.len(), 2);
    }

    const EN_HEADER: &str =
        "number,seller_name,code,tax,amount,issued_on,type,buyer_id,seller_id,remark";

    #[test]
    fn csv_english_headers_in_fen() {
        let text = format!(
            "{EN_HEADER}\n\
             00000001,\"福州某某科技有限公司, 分公司\",0123456789,38935,299500,2026-01-05,special,{BUYER},{SELLER},x\n\
             00000002,\"名称含\"\"引号\"\"\",001234567890,0,100,2026/1/5,motor_vehicle,{BUYER},{SELLER},\n\
             \" 00000003 \",甲,=\"0044031900\",1,2,20260105,增值税专用发票,{BUYER},{SELLER},\n"
        );
        let parsed = parse(text.as_bytes(), FileFormat::Csv).unwrap();
        assert_eq!(parsed.rejected, vec![]);
        let lines: Vec<usize> = parsed.invoices.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [2, 3, 4]);
        let a = &parsed.invoices[0].1;
        assert_eq!(a.key.to_string(), "0123456789 00000001");
        assert_eq!(a.seller_name, "福州某某科技有限公司, 分公司");
        assert_eq!((a.amount, a.tax), (Fen::new(299_500), Fen::new(38_935)));
        assert_eq!(a.issued_on, date(2026, 1, 5));
        assert_eq!(a.seller_id.as_str(), SELLER);
        assert_eq!(a.buyer_id.as_str(), BUYER);
        assert_eq!(a.status, InvoiceStatus::Normal);
        assert_eq!(a.selection, SelectionState::Unselected);
        let b = &parsed.invoices[1].1;
        assert_eq!(b.seller_name, "名称含\"引号\"");
        assert_eq!(b.key.code_or_dash(), "001234567890");
        assert_eq!(b.kind, InvoiceType::MotorVehicle);
        assert_eq!(b.issued_on, date(2026, 1, 5));
        let c = &parsed.invoices[2].1;
        assert_eq!(c.key.to_string(), "0044031900 00000003");
        assert_eq!(c.issued_on, date(2026, 1, 5));
        assert_eq!((c.amount, c.tax), (Fen::new(2), Fen::new(1)));
    }

    #[test]
    fn csv_chinese_headers_in_yuan() {
        let text = format!(
            "\u{FEFF}开票日期,发票类型,销方名称,金额,税额,发票代码,发票号码,购方税号,销方税号,发票状态,备注\r\n\
             2026-01-05,专用发票,\"某某公司,福州\",\"2,995.00\",389.35,0123456789,00000001,{BUYER},{SELLER},正常,\r\n\
             2026/02/28,机动车销售统一发票,汽车公司,¥100000,13000,001234567890,00000002,{BUYER},{SELLER},作废,\r\n\
             20251231,freight,运输公司,0.5,0,0123456789,00000003,{BUYER},{SELLER},,\r\n"
        );
        let parsed = parse(text.as_bytes(), FileFormat::Csv).unwrap();
        assert_eq!(parsed.rejected, vec![]);
        let got: Vec<_> = parsed
            .invoices
            .iter()
            .map(|(l, i)| (*l, i.amount.value(), i.tax.value(), i.status, i.kind))
            .collect();
        assert_eq!(
            got,
            [
                (
                    2,
                    299_500,
                    38_935,
                    InvoiceStatus::Normal,
                    InvoiceType::Special
                ),
                (
                    3,
                    10_000_000,
                    1_300_000,
                    InvoiceStatus::Voided,
                    InvoiceType::MotorVehicle
                ),
                (4, 50, 0, InvoiceStatus::Normal, InvoiceType::Freight),
            ]
        );
        assert_eq!(parsed.invoices[0].1.seller_name, "某某公司,福州");
        assert_eq!(parsed.invoices[1].1.issued_on, date(2026, 2, 28));
        assert_eq!(parsed.invoices[1].1.key.code_or_dash(), "001234567890");
        assert_eq!(parsed.invoices[2].1.issued_on, date(2025, 12, 31));
    }

    #[test]
    fn csv_header_names_are_trimmed_and_case_insensitive() {
        let text = format!(
            " Code ,NUMBER,Type,Issued_On,SELLER_ID,seller_name,buyer_id,金额（元）,税额(元),Status\n\
             0123456789,00000001,special,2026-01-05,{SELLER},甲,{BUYER},1.00,0.13,voided\n"
        );
        let parsed = parse_csv(&text).unwrap();
        assert_eq!(parsed.rejected, vec![]);
        let inv = &parsed.invoices[0].1;
        assert_eq!((inv.amount, inv.tax), (Fen::new(100), Fen::new(13)));
        assert_eq!(inv.status, InvoiceStatus::Voided);
    }

    #[test]
    fn csv_missing_and_duplicate_columns() {
        let e = parse_csv("number,type,issued_on,seller_id,seller_name,buyer_id,amount\n1\n")
            .unwrap_err();
        assert_eq!(e.to_string(), "缺少必需的列：发票代码(code)、税额(tax)");
        assert_eq!(e.code(), "missing_columns");
        assert_eq!(
            e,
            FileError::MissingColumns {
                columns: vec!["发票代码(code)".to_owned(), "税额(tax)".to_owned()]
            }
        );
        // NDJSON sent as CSV: every column is missing.
        let e = parse(
            row("0123456789", "00000001").to_string().as_bytes(),
            FileFormat::Csv,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("发票代码(code)、发票号码(number)"),
            "{e}"
        );
        let e = parse_csv(&format!("{EN_HEADER},发票代码,税额（元）\n")).unwrap_err();
        assert_eq!(e.to_string(), "列重复出现：发票代码(code)、税额(tax)");
        // 发票代码（元） is not a known column, so it is an ignored extra one.
        let parsed = parse_csv(&format!(
            "{EN_HEADER},发票代码（元）\n00000001,甲,0123456789,1,2,2026-01-05,special,{BUYER},{SELLER},,x\n"
        ))
        .unwrap();
        assert_eq!(parsed.invoices.len(), 1);
    }

    #[test]
    fn csv_bad_rows_are_all_reported() {
        let ok = |n: u32| format!("{n:08},甲,0123456789,1,2,2026-01-05,special,{BUYER},{SELLER},");
        let rows = [
            ok(1),
            format!("00000002,甲,0123456789,1,2995.00,2026-01-05,special,{BUYER},{SELLER},"),
            format!("00000003,甲,,1,2,2026-01-05,special,{BUYER},{SELLER},"),
            format!("00000004,甲,0123456789,1,2,2026.01.05,special,{BUYER},{SELLER},"),
            format!("00000005,甲,0123456789,1,2,2026-13-01,special,{BUYER},{SELLER},"),
            "00000006,甲,0123456789".to_owned(),
            format!("00000007,甲,0123456789,1,2,2026-01-05,special,{BUYER},{SELLER},,extra"),
            format!("00000008,甲,0123456789,1,2,2026-01-05,special,{BUYER},{BUYER}X,"),
            format!("00000009,,0123456789,1,2,2026-01-05,,{BUYER},{SELLER},"),
            format!("00000001,甲,0123456789,1,2,2026-01-05,special,{BUYER},{SELLER},"),
            format!(
                "00000010,甲,0123456789,9223372036854775808,2,2026-01-05,special,{BUYER},{SELLER},"
            ),
            ok(11),
        ];
        let text = format!("{EN_HEADER}\n{}\n", rows.join("\n"));
        let parsed = parse_csv(&text).unwrap();
        let lines: Vec<usize> = parsed.invoices.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [2, 13]);
        let expected = [
            (3, "金额应为以分为单位的整数（如 299500 表示 2,995.00 元；以元为单位时请使用中文列名“金额”）"),
            (4, "发票代码不能为空"),
            (5, "开票日期格式应为YYYY-MM-DD、YYYY/MM/DD或YYYYMMDD"),
            (6, "开票日期不是有效的日期：2026-13-01"),
            (7, "列数不正确：表头有10列，此行有3列"),
            (8, "列数不正确：表头有10列，此行有11列"),
            (9, "销方税号不正确：纳税人识别号长度应为15、17、18或20位，实际为19位"),
            (10, "发票类型不能为空；销方名称不能为空"),
            (11, "发票代码和号码与第2行重复"),
            (12, "税额超出允许范围"),
        ];
        let got: Vec<(usize, &str)> = parsed
            .rejected
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn csv_yuan_errors_name_the_field() {
        let text = format!(
            "发票代码,发票号码,发票类型,开票日期,销方税号,销方名称,购方税号,金额,税额\n\
             0123456789,00000001,special,2026-01-05,{SELLER},甲,{BUYER},1,12.345\n\
             0123456789,00000002,special,2026-01-05,{SELLER},甲,{BUYER},\"29,95.00\",\n\
             0123456789,00000003,special,2026-01-05,{SELLER},甲,{BUYER},２９,1\n"
        );
        let reasons: Vec<String> = parse_csv(&text)
            .unwrap()
            .rejected
            .into_iter()
            .map(|r| r.reason)
            .collect();
        assert_eq!(
            reasons,
            [
                "税额格式不正确：最多两位小数",
                "金额格式不正确：千位分隔符位置不正确；税额不能为空",
                "金额格式不正确：请使用半角数字，不能包含全角字符",
            ]
        );
    }

    #[test]
    fn csv_bom_blank_lines_and_multiline_fields() {
        let text = format!(
            "\u{FEFF}\n{EN_HEADER}\r\n\r\n\
             00000001,\"第一行\n第二行\",0123456789,1,2,2026-01-05,special,{BUYER},{SELLER},\r\n\
             ,,,,,,,,,\r\n   \r\n\
             00000002,甲,0123456789,1,2,2026-01-05,special,{BUYER},{SELLER},\r\n\
             00000003,甲,0123456789,1,2,2026-01-05,bad,{BUYER},{SELLER},"
        );
        let parsed = parse(text.as_bytes(), FileFormat::Csv).unwrap();
        let lines: Vec<usize> = parsed.invoices.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [4, 8]);
        assert_eq!(parsed.invoices[0].1.seller_name, "第一行\n第二行");
        assert_eq!(parsed.rejected.len(), 1);
        assert_eq!(parsed.rejected[0].line, 9);
        assert!(parsed.rejected[0].reason.starts_with("发票类型不正确"));
    }

    #[test]
    fn csv_line_numbers_with_cr_line_endings() {
        let ok = |n: u32| format!("{n:08},甲,0123456789,1,2,2026-01-05,special,{BUYER},{SELLER},");
        let text = format!("{EN_HEADER}\r{}\r\r{}\r\n\r\n{}", ok(1), ok(2), ok(3));
        let parsed = parse_csv(&text).unwrap();
        let lines: Vec<usize> = parsed.invoices.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [2, 4, 6]);
    }

    #[test]
    fn unclosed_quote_does_not_panic() {
        let text = format!(
            "{EN_HEADER}\n00000001,\"甲,0123456789,1,2,2026-01-05,special,{BUYER},{SELLER},\n00000002\n"
        );
        let parsed = parse_csv(&text).unwrap();
        assert!(parsed.invoices.is_empty());
        assert_eq!(parsed.rejected.len(), 1);
        assert_eq!(parsed.rejected[0].line, 2);
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        for open in ["[", "{\"a\":"] {
            let deep = format!("{{\"history\":{}}}", open.repeat(100_000));
            let parsed = parse_ndjson(&deep);
            assert!(parsed.rejected[0].reason.contains("不是有效的JSON"));
            let deep = format!("{{\"selection\":{}}}", open.repeat(100_000));
            assert_eq!(parse_ndjson(&deep).rejected.len(), 1);
            let deep = format!("{{\"code\":{}}}", open.repeat(100_000));
            assert_eq!(parse_ndjson(&deep).rejected.len(), 1);
        }
    }

    #[test]
    fn empty_files() {
        for (bytes, format) in [
            (&b""[..], FileFormat::Ndjson),
            (b"\xEF\xBB\xBF", FileFormat::Ndjson),
            (b"\n  \r\n\t\n", FileFormat::Ndjson),
            (b"", FileFormat::Csv),
            (b"\xEF\xBB\xBF\n \n", FileFormat::Csv),
            (b"\n,,,\n", FileFormat::Csv),
        ] {
            let e = parse(bytes, format).unwrap_err();
            assert_eq!(e, FileError::Empty, "{bytes:?}");
            assert_eq!(e.to_string(), "文件中没有发票数据");
        }
        let header_only = format!("{EN_HEADER}\n\n,,,,,,,,,,\n");
        assert_eq!(
            parse(header_only.as_bytes(), FileFormat::Csv),
            Err(FileError::Empty)
        );
        assert!(parse_ndjson("\n\n").invoices.is_empty());
    }

    /// The CSV reader as it was before it streamed (the whole text, lines counted from each
    /// record's byte offset), behind [`parse`]'s checks of the whole file: the oracle that the
    /// streamed reader must match.
    fn reference_parse_csv(bytes: &[u8]) -> Result<Parsed, FileError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
            FileError::NotUtf8 {
                line: 1 + valid.iter().filter(|&&b| b == b'\n').count(),
            }
        })?;
        reference_csv(text)
    }

    fn reference_csv(text: &str) -> Result<Parsed, FileError> {
        use super::csv::{is_blank, Columns};
        let text = strip_bom(text);
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut record = ::csv::StringRecord::new();
        let mut lines = ReferenceLines {
            text: text.as_bytes(),
            at: 0,
            line: 1,
        };
        let columns = loop {
            match reader.read_record(&mut record) {
                Ok(false) => return Err(FileError::Empty),
                Ok(true) if is_blank(&record) => {}
                Ok(true) => break Columns::from_header(&record)?,
                Err(e) => panic!("{e}"),
            }
        };
        let mut out = Collector::default();
        while reader.read_record(&mut record).unwrap() {
            if !is_blank(&record) {
                let line = lines.line_of(record.position().unwrap());
                out.push(line, columns.row(&record));
            }
        }
        if out.parsed.is_empty() {
            return Err(FileError::Empty);
        }
        Ok(out.parsed)
    }

    struct ReferenceLines<'a> {
        text: &'a [u8],
        at: usize,
        line: usize,
    }

    impl ReferenceLines<'_> {
        fn line_of(&mut self, position: &::csv::Position) -> usize {
            let mut start = (position.byte() as usize).min(self.text.len());
            while matches!(self.text.get(start), Some(b'\r' | b'\n')) {
                start += 1;
            }
            for i in self.at..start {
                let lone_cr = self.text[i] == b'\r' && self.text.get(i + 1) != Some(&b'\n');
                if self.text[i] == b'\n' || lone_cr {
                    self.line += 1;
                }
            }
            self.at = start;
            self.line
        }
    }

    /// A reader handing out at most `step` bytes at a time, so that records, line endings
    /// and a BOM are split across reads.
    struct Trickle<'a> {
        bytes: &'a [u8],
        step: usize,
    }

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    /// What the streamed CSV reader gives over a [`Trickle`], gathered like [`parse`]'s answer.
    fn streamed_csv(bytes: &[u8], step: usize) -> Result<Parsed, FileError> {
        let reader = std::io::BufReader::with_capacity(step, Trickle { bytes, step });
        let mut out = Parsed::default();
        for item in CsvRows::new(reader) {
            match item {
                Ok(Ok(row)) => out.invoices.push(row),
                Ok(Err(bad)) => out.rejected.push(bad),
                Err(StreamError::File(e)) => return Err(e),
                Err(StreamError::Io(e)) => panic!("{e}"),
            }
        }
        if out.is_empty() {
            return Err(FileError::Empty);
        }
        Ok(out)
    }

    /// The streamed reader, through [`parse`] and over readers of several step sizes, answers
    /// exactly as the whole-text reader did.
    fn assert_csv_like_reference(bytes: &[u8]) {
        let expected = reference_parse_csv(bytes);
        assert_eq!(
            parse(bytes, FileFormat::Csv),
            expected,
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
        for step in [1, 2, 3, 5, 64, 1 << 16] {
            assert_eq!(
                streamed_csv(bytes, step),
                expected,
                "step {step}: {:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn csv_streamed_reads_like_the_whole_text() {
        let ok = |n: u32| format!("{n:08},甲,0123456789,1,2,2026-01-05,special,{BUYER},{SELLER},");
        let texts = [
            // BOM, CRLF, blank lines, a quoted field over two lines, a blank record.
            format!(
                "\u{FEFF}\n{EN_HEADER}\r\n\r\n\
                 00000001,\"第一行\r\n第二行\n第三行\",0123456789,1,2,2026-01-05,special,{BUYER},{SELLER},\r\n\
                 ,,,,,,,,,\r\n   \r\n{}\r\n{}",
                ok(2),
                ok(3).replace("special", "bad")
            ),
            // Lone CRs, a CR before a CRLF, no final line ending.
            format!("{EN_HEADER}\r{}\r\r{}\r\n\r\n{}", ok(1), ok(2), ok(3)),
            format!("{EN_HEADER}\r\n{}\r\r\n{}\n\r{}\r", ok(1), ok(2), ok(3)),
            // Duplicates, bad rows, wrong widths.
            format!(
                "{EN_HEADER}\n{}\n{}\n00000009,甲\n{},extra\n{}\n",
                ok(1),
                ok(2),
                ok(3),
                ok(1)
            ),
            // An unclosed quote runs to the end.
            format!("{EN_HEADER}\n{}\n00000002,\"甲,\n{}\n", ok(1), ok(3)),
            // Quotes inside an unquoted field, and doubled quotes.
            format!("{EN_HEADER}\n00000001,a\"b\"\"c,0123456789,1,2,2026-01-05,special,{BUYER},{SELLER},\"x\"\"\n\"\n"),
            // Header problems and empty files.
            format!("{EN_HEADER},code\n{}\n", ok(1)),
            "number,type\n1,2\n".to_owned(),
            format!("\u{FEFF}{EN_HEADER}\n\n,,,\n"),
            "\u{FEFF}".to_owned(),
            "\u{FEFF}\u{FEFF}\n".to_owned(),
            "\r\n\r\n".to_owned(),
            String::new(),
        ];
        for text in &texts {
            assert_csv_like_reference(text.as_bytes());
        }
        // A BOM cut short, or not at the start.
        assert_csv_like_reference(b"\xEF\xBB");
        assert_csv_like_reference(b"\xEF\xBBcode\n");
        assert_csv_like_reference(format!("\n\u{FEFF}{EN_HEADER}\n{}\n", ok(1)).as_bytes());
    }

    #[test]
    fn csv_streamed_not_utf8_names_the_line_and_comes_before_a_bad_header() {
        let ok = |n: u32| format!("{n:08},甲,0123456789,1,2,2026-01-05,special,{BUYER},{SELLER},");
        let cases: Vec<(Vec<u8>, usize)> = vec![
            // In a row, after good rows (and lone CRs, which the line count leaves out).
            (
                format!("{EN_HEADER}\r\n{}\r\n{}\r\r\n", ok(1), ok(2))
                    .into_bytes()
                    .into_iter()
                    .chain(b"00000003,\xBC\xD7\n".iter().copied())
                    .collect(),
                4,
            ),
            // In a quoted field's second line.
            (
                [
                    format!("{EN_HEADER}\n{}\n00000002,\"a\nb", ok(1)).as_bytes(),
                    b"\xFF\"\n",
                ]
                .concat(),
                4,
            ),
            // Far after a header that lacks columns: the encoding is reported.
            (b"number,type\n1,2\n\n\n\xE7\x94\n".to_vec(), 5),
            // A truncated character at the very end.
            (
                [format!("{EN_HEADER}\n{}", ok(1)).as_bytes(), b"\xE7"].concat(),
                2,
            ),
        ];
        for (bytes, line) in cases {
            let bytes: Vec<u8> = bytes;
            assert_eq!(
                reference_parse_csv(&bytes),
                Err(FileError::NotUtf8 { line }),
                "{:?}",
                String::from_utf8_lossy(&bytes)
            );
            assert_csv_like_reference(&bytes);
        }
    }

    #[test]
    fn not_utf8_names_the_line() {
        // "甲" in GBK is 0xBC 0xD7.
        let bytes = b"code,number\n0123456789,\xBC\xD7\n";
        let e = parse(bytes, FileFormat::Csv).unwrap_err();
        assert_eq!(e, FileError::NotUtf8 { line: 2 });
        assert!(e.to_string().starts_with("文件不是UTF-8编码（第2行"));
        assert_eq!(e.code(), "not_utf8");
        assert_eq!(
            parse(b"\xFF\xFE{\x00", FileFormat::Ndjson),
            Err(FileError::NotUtf8 { line: 1 })
        );
    }

    #[test]
    fn json_array_is_refused() {
        let text = format!("[\n  {}\n]\n", row("0123456789", "00000001"));
        let e = parse(text.as_bytes(), FileFormat::Ndjson).unwrap_err();
        assert_eq!(e, FileError::JsonArray);
        assert!(e.to_string().contains("每行一个"));
    }

    #[test]
    fn formats_from_content_type_and_file_name() {
        for (ct, f) in [
            ("application/x-ndjson", Some(FileFormat::Ndjson)),
            (
                "application/ndjson; charset=utf-8",
                Some(FileFormat::Ndjson),
            ),
            ("Application/JSONL", Some(FileFormat::Ndjson)),
            ("text/csv", Some(FileFormat::Csv)),
            (" text/csv ; charset=UTF-8", Some(FileFormat::Csv)),
            ("application/json", None),
            ("application/json-seq", None),
            ("text/plain", None),
            ("", None),
        ] {
            assert_eq!(FileFormat::from_content_type(ct), f, "{ct}");
        }
        for (name, f) in [
            ("invoices.ndjson", Some(FileFormat::Ndjson)),
            ("2026-01.JSONL", Some(FileFormat::Ndjson)),
            ("发票.CSV", Some(FileFormat::Csv)),
            ("dir.v2/invoices.csv", Some(FileFormat::Csv)),
            ("invoices.xlsx", None),
            ("csv", None),
            ("invoices.csv.gz", None),
        ] {
            assert_eq!(FileFormat::from_file_name(name), f, "{name}");
        }
        for (name, bytes, f) in [
            ("发票.XLSX", &b"x"[..], Some(FileFormat::Xlsx)),
            ("upload", &b"PK\x03\x04..."[..], Some(FileFormat::Xlsx)),
            ("发票.csv", &b"code,number"[..], Some(FileFormat::Csv)),
            ("发票.txt", &b"code,number"[..], None),
        ] {
            assert_eq!(FileFormat::of_upload(name, bytes), f, "{name}");
        }
    }

    #[test]
    fn rejected_serializes_as_api_shape() {
        let r = Rejected {
            line: 3,
            reason: "发票号码应为8位数字".to_owned(),
        };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"line": 3, "reason": "发票号码应为8位数字"})
        );
    }

    #[test]
    fn date_layouts() {
        let iso = |s| parse_date(s, Dates::Iso);
        let sheet = |s| parse_date(s, Dates::Spreadsheet);
        assert_eq!(iso("2024-02-29"), Ok(date(2024, 2, 29)));
        for s in [
            "2024-2-29",
            "20240229",
            "2024/02/29",
            "24-02-29",
            "2024-02-29T00:00",
            "2024--02",
        ] {
            assert!(iso(s).unwrap_err().contains("格式"), "{s}");
        }
        assert!(iso("2023-02-29").unwrap_err().contains("有效"));
        assert_eq!(sheet("2024/2/9"), Ok(date(2024, 2, 9)));
        assert_eq!(sheet("2024-2-9"), Ok(date(2024, 2, 9)));
        assert_eq!(sheet("20240229"), Ok(date(2024, 2, 29)));
        for s in [
            "2024/02-29",
            "2024/002/01",
            "202402",
            "2024年2月9日",
            "２０２４0229",
        ] {
            assert!(sheet(s).unwrap_err().contains("格式"), "{s}");
        }
    }

    fn valid_csv() -> String {
        format!(
            "{EN_HEADER}\n00000001,\"甲,乙\",0123456789,38935,299500,2026-01-05,special,{BUYER},{SELLER},x\n"
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&bytes, FileFormat::Ndjson);
            let _ = parse(&bytes, FileFormat::Csv);
        }

        #[test]
        fn random_text_never_panics(text in "\\PC{0,300}") {
            let _ = parse(text.as_bytes(), FileFormat::Ndjson);
            let _ = parse(text.as_bytes(), FileFormat::Csv);
        }

        #[test]
        fn csv_streamed_random_bytes_like_the_whole_text(
            bytes in prop::collection::vec(
                prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'"'), Just(b','), Just(0xEF), Just(0xBB), Just(0xBF), any::<u8>()],
                0..200,
            ),
        ) {
            // With a valid header in front, or alone.
            let mut with_header = format!("{EN_HEADER}\n").into_bytes();
            with_header.extend_from_slice(&bytes);
            assert_csv_like_reference(&with_header);
            assert_csv_like_reference(&bytes);
        }

        #[test]
        fn csv_streamed_mutated_files_like_the_whole_text(
            at in 0usize..400,
            cut in 0usize..20,
            insert in "[\",\n\r0-9a-z\u{FEFF}甲 -]{0,8}",
        ) {
            let original = format!("{}{}", valid_csv(), valid_csv().lines().nth(1).unwrap().replace("00000001", "00000002"));
            let chars: Vec<char> = original.chars().collect();
            let at = at.min(chars.len());
            let end = (at + cut).min(chars.len());
            let mutated: String = chars[..at]
                .iter()
                .chain(insert.chars().collect::<Vec<_>>().iter())
                .chain(chars[end..].iter())
                .collect();
            assert_csv_like_reference(mutated.as_bytes());
        }

        #[test]
        fn mutated_valid_files_never_panic(
            at in 0usize..400,
            cut in 0usize..20,
            insert in "[\",\\n\\r{}\\[\\]:0-9a-z\u{FEFF}甲 -]{0,8}",
        ) {
            let ndjson = format!("{}\n", row("0123456789", "00000001"));
            for original in [ndjson, valid_csv()] {
                let chars: Vec<char> = original.chars().collect();
                let at = at.min(chars.len());
                let end = (at + cut).min(chars.len());
                let mutated: String = chars[..at]
                    .iter()
                    .chain(insert.chars().collect::<Vec<_>>().iter())
                    .chain(chars[end..].iter())
                    .collect();
                for format in [FileFormat::Ndjson, FileFormat::Csv] {
                    if let Ok(parsed) = parse(mutated.as_bytes(), format) {
                        // Lines are within the file; every row is accounted for once.
                        let max_line = 1 + mutated.matches('\n').count() + mutated.matches('\r').count();
                        for (line, _) in &parsed.invoices {
                            prop_assert!(*line >= 1 && *line <= max_line);
                        }
                        for r in &parsed.rejected {
                            prop_assert!(r.line >= 1 && r.line <= max_line);
                            prop_assert!(!r.reason.is_empty());
                        }
                    }
                }
            }
        }
    }

    /// `cargo test --release -- --ignored --nocapture ndjson_100k` prints the time.
    #[test]
    #[ignore]
    fn ndjson_100k_rows_timing() {
        let mut text = String::new();
        for i in 0..100_000u32 {
            text.push_str(&row("0123456789", &format!("{i:08}")).to_string());
            text.push('\n');
        }
        let start = std::time::Instant::now();
        let parsed = parse(text.as_bytes(), FileFormat::Ndjson).unwrap();
        let ndjson = start.elapsed();
        assert_eq!(parsed.invoices.len(), 100_000);

        let mut csv_text = format!("{EN_HEADER}\n");
        for i in 0..100_000u32 {
            csv_text.push_str(&format!(
                "{i:08},\"福州某某科技有限公司\",0123456789,38935,299500,2026-01-05,special,{BUYER},{SELLER},\n"
            ));
        }
        let start = std::time::Instant::now();
        let parsed = parse(csv_text.as_bytes(), FileFormat::Csv).unwrap();
        let csv = start.elapsed();
        assert_eq!(parsed.invoices.len(), 100_000);
        println!(
            "100,000 rows: NDJSON {ndjson:?} ({} MB), CSV {csv:?} ({} MB)",
            text.len() / 1_000_000,
            csv_text.len() / 1_000_000
        );
    }
}
