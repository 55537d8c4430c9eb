//! One row of an import file, whatever its format: the fields, the checks of their form, and
//! the collector of parsed invoices and rejected lines.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};

use super::{Parsed, Rejected};

use crate::domain::{
    check_kind, CustomsAudit, Fen, Invoice, InvoiceCode, InvoiceKey, InvoiceStatus, InvoiceType,
    KeyShape, SelectionState, TaxpayerId, TypeCodes,
};

/// The input fields of the invoice object, in the order reasons are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    Code,
    Number,
    Type,
    IssuedOn,
    SellerId,
    SellerName,
    BuyerId,
    Amount,
    Tax,
    Status,
    AuditResult,
}

/// How many input fields there are.
pub(super) const FIELDS: usize = 11;

impl Field {
    pub(super) const ALL: [Field; FIELDS] = [
        Field::Code,
        Field::Number,
        Field::Type,
        Field::IssuedOn,
        Field::SellerId,
        Field::SellerName,
        Field::BuyerId,
        Field::Amount,
        Field::Tax,
        Field::Status,
        Field::AuditResult,
    ];

    pub(super) fn index(self) -> usize {
        self as usize
    }

    pub(super) fn api(self) -> &'static str {
        match self {
            Field::Code => "code",
            Field::Number => "number",
            Field::Type => "type",
            Field::IssuedOn => "issued_on",
            Field::SellerId => "seller_id",
            Field::SellerName => "seller_name",
            Field::BuyerId => "buyer_id",
            Field::Amount => "amount",
            Field::Tax => "tax",
            Field::Status => "status",
            Field::AuditResult => "audit_result",
        }
    }

    pub(super) fn label(self) -> &'static str {
        match self {
            Field::Code => "发票代码",
            Field::Number => "发票号码",
            Field::Type => "发票类型",
            Field::IssuedOn => "开票日期",
            Field::SellerId => "销方税号",
            Field::SellerName => "销方名称",
            Field::BuyerId => "购方税号",
            Field::Amount => "金额",
            Field::Tax => "税额",
            Field::Status => "发票状态",
            Field::AuditResult => "稽核比对结果",
        }
    }

    /// Required in every line (the code only for coded kinds: checked when the row is done).
    pub(super) fn required_in_json(self) -> bool {
        !matches!(self, Field::Status | Field::Code | Field::AuditResult)
    }

    /// Required as a CSV column (a 数电票's or 缴款书's code cell stays blank).
    pub(super) fn required_column(self) -> bool {
        !matches!(self, Field::Status | Field::AuditResult)
    }

    pub(super) fn is_money(self) -> bool {
        matches!(self, Field::Amount | Field::Tax)
    }

    pub(super) fn from_api(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.api() == name)
    }

    /// `发票代码(code)`, as CSV column errors name it.
    pub(super) fn column_name(self) -> String {
        format!("{}({})", self.label(), self.api())
    }
}

/// Output-only fields of the API invoice object, ignored on import.
pub(super) const IGNORED_FIELDS: [&str; 5] =
    ["selection", "period", "certified_on", "batch", "history"];

/// Longest accepted 销方名称, in characters.
pub(super) const MAX_NAME_CHARS: usize = 200;

/// At most this many problems are listed for one row.
pub(super) const MAX_ROW_ERRORS: usize = 8;

pub(super) fn missing_field(f: Field) -> String {
    format!("缺少字段 {}（{}）", f.api(), f.label())
}

pub(super) fn not_integer_fen(f: Field, hint: &str) -> String {
    format!("{}应为以分为单位的整数（{hint}）", f.label())
}

pub(super) fn out_of_range(f: Field) -> String {
    format!("{}超出允许范围", f.label())
}

/// Date layouts accepted for 开票日期.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dates {
    /// `YYYY-MM-DD` only (NDJSON, as in the API).
    Iso,
    /// Also `YYYY/MM/DD` (month and day may have one digit, as spreadsheets show them) and
    /// `YYYYMMDD` (CSV).
    Spreadsheet,
}

pub(super) fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

pub(super) fn date_parts(s: &str, dates: Dates) -> Option<(&str, &str, &str)> {
    let lenient = dates == Dates::Spreadsheet;
    if lenient && s.len() == 8 && all_digits(s) {
        return Some((s.get(..4)?, s.get(4..6)?, s.get(6..)?));
    }
    let sep = if lenient && s.contains('/') { '/' } else { '-' };
    let mut it = s.split(sep);
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    let min = if lenient { 1 } else { 2 };
    let part_ok = |p: &str| all_digits(p) && (min..=2).contains(&p.len());
    (y.len() == 4 && all_digits(y) && part_ok(m) && part_ok(d)).then_some((y, m, d))
}

pub(super) fn parse_date(s: &str, dates: Dates) -> Result<NaiveDate, String> {
    let format_error = || match dates {
        Dates::Iso => "开票日期格式应为YYYY-MM-DD".to_owned(),
        Dates::Spreadsheet => "开票日期格式应为YYYY-MM-DD、YYYY/MM/DD或YYYYMMDD".to_owned(),
    };
    let (y, m, d) = date_parts(s, dates).ok_or_else(format_error)?;
    let date = match (y.parse::<i32>(), m.parse::<u32>(), d.parse::<u32>()) {
        (Ok(y), Ok(m), Ok(d)) => NaiveDate::from_ymd_opt(y, m, d),
        _ => None,
    };
    let date = date.ok_or_else(|| format!("开票日期不是有效的日期：{s}"))?;
    if !crate::domain::calendar::sane(date) {
        return Err(crate::domain::calendar::out_of_range("开票日期"));
    }
    Ok(date)
}

/// An integer number of fen written as text (`"299500"`, `"-5"`).
pub(super) fn parse_fen_text(f: Field, s: &str) -> Result<Fen, String> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !all_digits(digits) {
        return Err(not_integer_fen(
            f,
            &format!(
                "如 299500 表示 2,995.00 元；以元为单位时请使用中文列名“{}”",
                f.label()
            ),
        ));
    }
    s.parse::<i64>().map(Fen::new).map_err(|_| out_of_range(f))
}

/// A yuan amount as spreadsheets show it (`"2,995.00"`, `"¥2995"`).
pub(super) fn parse_yuan_text(f: Field, s: &str) -> Result<Fen, String> {
    let s = s.strip_prefix(['¥', '￥']).unwrap_or(s);
    Fen::from_yuan_str(s).map_err(|e| {
        // The domain messages say 金额; name the actual field.
        match e.message.strip_prefix("金额") {
            Some(rest) => format!("{}{rest}", f.label()),
            None => format!("{}：{}", f.label(), e.message),
        }
    })
}

// ---------------------------------------------------------------------------
// One row
// ---------------------------------------------------------------------------

/// A parsed row: its key ([`InvoiceKey::to_u128`], collision-free) when code and number were
/// good (for duplicate detection, even if other fields were bad), and the invoice or the
/// problems found.
pub(super) struct Row {
    pub(super) key: Option<u128>,
    pub(super) result: Result<Invoice, Vec<String>>,
}

impl Row {
    pub(super) fn failed(reason: impl Into<String>) -> Row {
        Row {
            key: None,
            result: Err(vec![reason.into()]),
        }
    }
}

/// The fields of one row as they are parsed.
#[derive(Default)]
pub(super) struct Draft {
    pub(super) code: Option<InvoiceCode>,
    /// The number as written: its form depends on the kind (8 digits, a 数电票号码 or a
    /// 缴款书号码), so it is parsed when the row is done; its problems are reported at
    /// `number_at` to keep the field order.
    pub(super) number: Option<String>,
    pub(super) number_at: usize,
    pub(super) audit: Option<CustomsAudit>,
    /// An NDJSON line (a missing code is reported as a missing field).
    pub(super) json: bool,
    /// A code was written (if it was bad, its reason is listed already).
    pub(super) code_given: bool,
    pub(super) kind: Option<InvoiceType>,
    pub(super) issued_on: Option<NaiveDate>,
    pub(super) seller_id: Option<TaxpayerId>,
    pub(super) seller_name: Option<String>,
    pub(super) buyer_id: Option<TaxpayerId>,
    pub(super) amount: Option<Fen>,
    pub(super) tax: Option<Fen>,
    pub(super) status: Option<InvoiceStatus>,
    pub(super) errors: Vec<String>,
}

impl Draft {
    pub(super) fn fail(&mut self, reason: String) {
        self.errors.push(reason);
    }

    pub(super) fn ok<T>(&mut self, r: Result<T, String>) -> Option<T> {
        r.map_err(|e| self.fail(e)).ok()
    }

    pub(super) fn set_money(&mut self, f: Field, r: Result<Fen, String>) {
        let v = self.ok(r);
        match f {
            Field::Tax => self.tax = v,
            _ => self.amount = v,
        }
    }

    /// A field given as text. Money given as text here is integer fen.
    pub(super) fn set_text(&mut self, f: Field, raw: &str, dates: Dates) {
        let s = raw.trim();
        if s.is_empty() {
            self.fail(format!("{}不能为空", f.label()));
            return;
        }
        let taxpayer = |s: &str| {
            TaxpayerId::parse(s).map_err(|e| format!("{}不正确：{}", f.label(), e.message))
        };
        match f {
            Field::Code => {
                self.code_given = true;
                self.code = self.ok(InvoiceCode::parse(s).map_err(|e| e.message));
            }
            Field::Number => {
                self.number = Some(s.to_owned());
                self.number_at = self.errors.len();
            }
            Field::Type => {
                self.kind = self.ok(TypeCodes::installed().parse(s).map_err(|e| e.message));
            }
            Field::AuditResult => {
                self.audit = self.ok(CustomsAudit::parse_api(s).map_err(|e| e.message));
            }
            Field::IssuedOn => self.issued_on = self.ok(parse_date(s, dates)),
            Field::SellerId => self.seller_id = self.ok(taxpayer(s)),
            Field::BuyerId => self.buyer_id = self.ok(taxpayer(s)),
            Field::SellerName => {
                if s.chars().count() > MAX_NAME_CHARS {
                    self.fail(format!("销方名称过长（最多{MAX_NAME_CHARS}个字符）"));
                } else {
                    self.seller_name = Some(s.to_owned());
                }
            }
            Field::Amount | Field::Tax => self.set_money(f, parse_fen_text(f, s)),
            Field::Status => {
                self.status = self.ok(InvoiceStatus::parse_api(s).map_err(|e| e.message));
            }
        }
    }

    pub(super) fn finish(self) -> Row {
        let mut errors = self.errors;
        let code = self.code.as_ref().map(InvoiceCode::as_str);
        let coded = self.kind.is_none_or(|k| k.key_shape() == KeyShape::Coded);
        if self.json && !self.code_given && coded {
            // A JSON line without a code, for a kind that has one (or an unreadable kind).
            errors.insert(0, missing_field(Field::Code));
        }
        let key = match (&self.number, self.kind) {
            // A bad or missing code is listed already.
            (Some(_), _) if code.is_none() && coded && (self.code_given || self.json) => None,
            (Some(number), Some(kind)) => {
                match InvoiceKey::parse_shape(kind.key_shape(), code, number) {
                    Ok(k) => Some(k),
                    Err(e) => {
                        errors.insert(self.number_at.min(errors.len()), e.message);
                        None
                    }
                }
            }
            // The kind is unreadable (its reason is listed): the key still detects duplicates.
            (Some(number), None) => InvoiceKey::parse_any(code, number).ok(),
            (None, _) => None,
        };
        let compact_key = key.as_ref().map(InvoiceKey::to_u128);
        let audit = match self.kind {
            Some(InvoiceType::Customs) => Some(self.audit.unwrap_or(CustomsAudit::Pending)),
            _ => self.audit,
        };
        // What the kind requires of the key, the date and the 稽核比对 result is form too.
        if let (Some(k), Some(kind), Some(on)) = (&key, self.kind, self.issued_on) {
            if let Err(e) = check_kind(kind, k, on.year(), audit) {
                errors.push(e.message);
            }
        }
        let status = self.status.unwrap_or(InvoiceStatus::Normal);
        let result = match (
            key,
            self.kind,
            self.issued_on,
            self.seller_id,
            self.seller_name,
            self.buyer_id,
            self.amount,
            self.tax,
        ) {
            (
                Some(key),
                Some(kind),
                Some(issued_on),
                Some(seller_id),
                Some(seller_name),
                Some(buyer_id),
                Some(amount),
                Some(tax),
            ) if errors.is_empty() => Ok(Invoice {
                key,
                kind,
                issued_on,
                seller_id,
                seller_name,
                buyer_id,
                amount,
                tax,
                status,
                selection: SelectionState::Unselected,
                audit,
                usage: None,
            }),
            _ => {
                if errors.is_empty() {
                    // Every path that leaves a field unset records why; keep a reason anyway.
                    errors.push("缺少必需的字段".to_owned());
                }
                Err(errors)
            }
        };
        Row {
            key: compact_key,
            result,
        }
    }
}

/// Gathers rows, detects duplicate keys within the file.
#[derive(Default)]
pub(super) struct Collector {
    pub(super) parsed: Parsed,
    pub(super) first_line: HashMap<u128, usize>,
}

impl Collector {
    pub(super) fn push(&mut self, line: usize, row: Row) {
        match settle_row(&mut self.first_line, line, row) {
            Ok(invoice) => self.parsed.invoices.push((line, invoice)),
            Err(r) => self.parsed.rejected.push(r),
        }
    }
}

/// A parsed row's outcome: its invoice, or why it is rejected (its own errors, and a key
/// already seen on an earlier line of the file — `first_line` remembers the keys).
pub(super) fn settle_row(
    first_line: &mut HashMap<u128, usize>,
    line: usize,
    row: Row,
) -> Result<Invoice, Rejected> {
    let duplicate_of = row.key.and_then(|key| match first_line.entry(key) {
        Entry::Occupied(e) => Some(*e.get()),
        Entry::Vacant(e) => {
            e.insert(line);
            None
        }
    });
    let mut errors = match row.result {
        Ok(invoice) if duplicate_of.is_none() => return Ok(invoice),
        Ok(_) => Vec::new(),
        Err(errors) => errors,
    };
    if let Some(first) = duplicate_of {
        errors.insert(0, format!("发票代码和号码与第{first}行重复"));
    }
    let total = errors.len();
    let mut reason = errors
        .into_iter()
        .take(MAX_ROW_ERRORS)
        .collect::<Vec<_>>()
        .join("；");
    if total > MAX_ROW_ERRORS {
        reason.push_str(&format!("……（共{total}处错误）"));
    }
    Err(Rejected { line, reason })
}

pub(super) fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{FEFF}').unwrap_or(text)
}

/// A name from the input, shortened for a message.
pub(super) fn shown(name: &str) -> String {
    const MAX: usize = 40;
    if name.chars().count() > MAX {
        let mut s: String = name.chars().take(MAX).collect();
        s.push('…');
        s
    } else {
        name.to_owned()
    }
}

// ---------------------------------------------------------------------------
// NDJSON
// ---------------------------------------------------------------------------
