//! NDJSON import files: one API invoice object per line, read with a streaming visitor that
//! keeps each member as text so that every problem is reported with its field.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::row::*;
use super::Parsed;

use crate::domain::Fen;

/// Parses NDJSON: one invoice object per line; blank lines are skipped but counted. An input
/// without any row gives an empty [`Parsed`] ([`parse`] turns that into [`FileError::Empty`]).
pub fn parse_ndjson(text: &str) -> Parsed {
    let text = strip_bom(text);
    let mut out = Collector::default();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.push(i + 1, ndjson_row(line));
    }
    out.parsed
}

/// An NDJSON file read line by line from `reader`, never whole: each item is one row's
/// outcome — its line and invoice, or the rejected line (bad form, or a key already on an
/// earlier line) — or a problem with the file as a whole, after which nothing more is read.
/// Blank lines are skipped; a file without any row ends without an item (the caller reports
/// [`super::FileError::Empty`]).
pub struct NdjsonRows<R> {
    reader: R,
    buf: Vec<u8>,
    line: usize,
    seen_row: bool,
    first_line: std::collections::HashMap<u128, usize>,
    done: bool,
}

impl<R: std::io::BufRead> NdjsonRows<R> {
    pub fn new(reader: R) -> Self {
        NdjsonRows {
            reader,
            buf: Vec::new(),
            line: 0,
            seen_row: false,
            first_line: std::collections::HashMap::new(),
            done: false,
        }
    }

    /// Lines read so far.
    pub fn lines(&self) -> usize {
        self.line
    }
}

/// One item of [`NdjsonRows`].
pub type RowOutcome = Result<(usize, crate::domain::Invoice), super::Rejected>;

impl<R: std::io::BufRead> Iterator for NdjsonRows<R> {
    type Item = Result<RowOutcome, super::StreamError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => {
                    self.done = true;
                    return None;
                }
                Ok(_) => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(super::StreamError::Io(e)));
                }
            }
            self.line += 1;
            let mut bytes = self.buf.as_slice();
            if self.line == 1 {
                bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            }
            let Ok(text) = std::str::from_utf8(bytes) else {
                self.done = true;
                return Some(Err(super::StreamError::File(super::FileError::NotUtf8 {
                    line: self.line,
                })));
            };
            let text = text.trim_end_matches(['\n', '\r']);
            if text.trim().is_empty() {
                continue;
            }
            if !self.seen_row && text.trim_start().starts_with('[') {
                self.done = true;
                return Some(Err(super::StreamError::File(super::FileError::JsonArray)));
            }
            self.seen_row = true;
            let row = ndjson_row(text);
            return Some(Ok(
                settle_row(&mut self.first_line, self.line, row).map(|inv| (self.line, inv))
            ));
        }
    }
}

pub(super) fn json_error_reason(e: &serde_json::Error) -> String {
    if e.is_eof() {
        "不是有效的JSON（内容不完整）".to_owned()
    } else {
        format!("不是有效的JSON（第{}列附近有错误）", e.column())
    }
}

/// One field's JSON value, borrowed from the line where possible (no `serde_json::Value`
/// tree is built: import files can be large).
pub(super) enum Scalar<'a> {
    Null,
    Str(Cow<'a, str>),
    Int(i64),
    /// An integer above `i64::MAX`.
    Big,
    Float,
    /// A boolean, array or object.
    Other,
}

impl Scalar<'_> {
    pub(super) fn is_number(&self) -> bool {
        matches!(self, Scalar::Int(_) | Scalar::Big | Scalar::Float)
    }
}

pub(super) struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Null)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Other)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar<'de>, E> {
        Ok(i64::try_from(v).map_or(Scalar::Big, Scalar::Int))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Float)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

/// The fields of one NDJSON object.
#[derive(Default)]
pub(super) struct JsonRow<'a> {
    pub(super) fields: [Option<Scalar<'a>>; FIELDS],
    pub(super) duplicated: Vec<Cow<'a, str>>,
    pub(super) unknown: Vec<Cow<'a, str>>,
}

/// One NDJSON line: an object, or `None` for any other JSON value.
pub(super) struct JsonLine<'a>(Option<JsonRow<'a>>);

pub(super) struct LineVisitor;

impl<'de> Visitor<'de> for LineVisitor {
    type Value = JsonLine<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonLine<'de>, A::Error> {
        let mut row = JsonRow::default();
        while let Some(key) = map.next_key::<Scalar<'de>>()? {
            // JSON object keys are always strings.
            let Scalar::Str(name) = key else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            match Field::from_api(&name) {
                Some(f) => {
                    let value = map.next_value::<Scalar<'de>>()?;
                    let slot = &mut row.fields[f.index()];
                    if slot.is_some() {
                        row.duplicated.push(name);
                    } else {
                        *slot = Some(value);
                    }
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                    if !IGNORED_FIELDS.contains(&name.as_ref()) {
                        row.unknown.push(name);
                    }
                }
            }
        }
        Ok(JsonLine(Some(row)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JsonLine<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(JsonLine(None))
    }

    fn visit_unit<E: de::Error>(self) -> Result<JsonLine<'de>, E> {
        Ok(JsonLine(None))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<JsonLine<'de>, E> {
        Ok(JsonLine(None))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<JsonLine<'de>, E> {
        Ok(JsonLine(None))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<JsonLine<'de>, E> {
        Ok(JsonLine(None))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<JsonLine<'de>, E> {
        Ok(JsonLine(None))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<JsonLine<'de>, E> {
        Ok(JsonLine(None))
    }
}

impl<'de> Deserialize<'de> for JsonLine<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LineVisitor)
    }
}

pub(super) fn ndjson_row(line: &str) -> Row {
    let row = match serde_json::from_str::<JsonLine>(line) {
        Ok(JsonLine(Some(row))) => row,
        Ok(JsonLine(None)) => return Row::failed("应为JSON对象（每行一张发票）"),
        Err(e) => return Row::failed(json_error_reason(&e)),
    };
    let mut d = Draft {
        json: true,
        ..Draft::default()
    };
    for (f, value) in Field::ALL.into_iter().zip(&row.fields) {
        match value {
            None | Some(Scalar::Null) => {
                if f.required_in_json() {
                    d.fail(missing_field(f));
                }
            }
            Some(v) if f.is_money() => {
                let r = match v {
                    Scalar::Int(v) => Ok(Fen::new(*v)),
                    Scalar::Big => Err(out_of_range(f)),
                    Scalar::Float => Err(not_integer_fen(f, "不能有小数")),
                    _ => Err(not_integer_fen(f, "JSON数字，不加引号")),
                };
                d.set_money(f, r);
            }
            Some(Scalar::Str(s)) => d.set_text(f, s, Dates::Iso),
            Some(v) if v.is_number() && matches!(f, Field::Code | Field::Number) => {
                d.fail(format!(
                    "{}应为字符串（加引号），写成数字会丢失开头的0",
                    f.label()
                ));
            }
            Some(_) => d.fail(format!("{}应为字符串", f.label())),
        }
    }
    for name in &row.duplicated {
        d.fail(format!("字段“{}”重复出现", shown(name)));
    }
    for name in &row.unknown {
        d.fail(format!("包含未知字段“{}”", shown(name)));
    }
    d.finish()
}

// ---------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------
