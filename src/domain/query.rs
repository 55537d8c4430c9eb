//! The 发票勾选 query conditions (S-T4), exactly as the manual's table: parsed from the raw
//! request values with their defaults and dependent fields, and the selectability rule of
//! S-P3 that narrows what 未认证 queries offer.

use chrono::{Days, NaiveDate};

use super::{
    CertMethod, DigitalNumber, DomainError, InvoiceCode, InvoiceKey, InvoiceNumber, InvoiceStatus,
    InvoiceType, TaxPeriod, TaxpayerId,
};

/// A 发票号码 condition: 8 digits (with a code, or alone across codes); without a code also a
/// 20-digit 数电票号码 or a 缴款书号码 (which has letters or `-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberCondition(String);

impl NumberCondition {
    pub fn parse(code: Option<&InvoiceCode>, number: &str) -> Result<Self, DomainError> {
        let n = number.trim();
        if code.is_some() {
            return Ok(Self(InvoiceNumber::parse(n)?.to_string()));
        }
        let digits = !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
        match (digits, n.len()) {
            (true, 8) => Ok(Self(n.to_owned())),
            (true, 20) => Ok(Self(DigitalNumber::parse(n)?.to_string())),
            (true, _) | (false, 0) => Err(DomainError::new(
                "number",
                "发票号码应为8位数字（数电票号码为20位数字）",
            )),
            (false, _) => Ok(Self(InvoiceKey::parse_any(None, n)?.number().to_owned())),
        }
    }

    /// Combines the 发票号码 and 数电票号码 fields of the query form (one may be given).
    pub fn from_fields(
        code: Option<&InvoiceCode>,
        number: Option<&str>,
        digital: Option<&str>,
    ) -> Result<Option<Self>, DomainError> {
        match (number, digital) {
            (Some(_), Some(_)) => Err(DomainError::new(
                "digital_number",
                "发票号码和数电票号码只能填写一个",
            )),
            (_, Some(_)) if code.is_some() => Err(DomainError::new(
                "digital_number",
                "数电票没有发票代码：查询数电票号码时发票代码请留空",
            )),
            (_, Some(d)) => Ok(Some(Self(DigitalNumber::parse(d)?.to_string()))),
            (Some(n), None) => Self::parse(code, n).map(Some),
            (None, None) => Ok(None),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 认证状态 with its dependent conditions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Certification {
    /// 未认证 (default), with 勾选状态: `None` = 全部, `Some(false)` = 未勾选 (default),
    /// `Some(true)` = 已勾选.
    Uncertified { selected: Option<bool> },
    /// 已认证, with 认证方式 (`None` = 全部; default 勾选认证) and 确认/扫描日期.
    Certified {
        method: Option<CertMethod>,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    },
}

/// Parsed, valid query conditions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceConditions {
    pub issued_from: NaiveDate,
    pub issued_to: NaiveDate,
    pub code: Option<InvoiceCode>,
    pub number: Option<NumberCondition>,
    /// 销方税号, matched exactly.
    pub seller: Option<TaxpayerId>,
    pub certification: Certification,
    /// `None` = 全部.
    pub kind: Option<InvoiceType>,
    /// `None` = 全部; default 正常.
    pub status: Option<InvoiceStatus>,
}

/// The request's values as given (API query string or page form).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConditions {
    pub issued_from: Option<String>,
    pub issued_to: Option<String>,
    pub code: Option<String>,
    pub number: Option<String>,
    /// 数电票号码 (the form's own field; `number` takes it too).
    pub digital_number: Option<String>,
    pub seller_id: Option<String>,
    pub certified: Option<String>,
    pub method: Option<String>,
    pub certified_from: Option<String>,
    pub certified_to: Option<String>,
    pub selected: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub status: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Parses `YYYY-MM-DD` for `field` (`label` is its Chinese name).
pub fn parse_date(field: &'static str, label: &str, s: &str) -> Result<NaiveDate, DomainError> {
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| DomainError::new(field, format!("{label}格式应为YYYY-MM-DD")))?;
    super::calendar::check(field, label, d)
}

fn parse_bool(
    field: &'static str,
    label: &str,
    s: Option<&str>,
    default: bool,
) -> Result<bool, DomainError> {
    match s {
        None => Ok(default),
        Some("true" | "1" | "是") => Ok(true),
        Some("false" | "0" | "否") => Ok(false),
        Some(_) => Err(DomainError::new(
            field,
            format!("{label}应为 true 或 false"),
        )),
    }
}

impl InvoiceConditions {
    pub fn parse(raw: &RawConditions) -> Result<InvoiceConditions, DomainError> {
        let certified = parse_bool("certified", "认证状态", given(&raw.certified), false)?;
        // With 认证状态 = 已认证 the manual's date condition is 确认/扫描日期: 开票日期 is then
        // optional (a missing bound is the end of the accepted calendar).
        let (first, last) = super::calendar::bounds();
        let issued = |field: &'static str, label: &str, v: &Option<String>, open: NaiveDate| {
            match given(v) {
                Some(s) => parse_date(field, label, s),
                None if certified => Ok(open),
                None => Err(DomainError::new(field, format!("请输入{label}"))),
            }
        };
        let issued_from = issued("issued_from", "开票日期起", &raw.issued_from, first)?;
        let issued_to = issued("issued_to", "开票日期止", &raw.issued_to, last)?;
        if issued_to < issued_from {
            return Err(DomainError::new(
                "issued_to",
                "开票日期止不能早于开票日期起",
            ));
        }
        let code = given(&raw.code).map(InvoiceCode::parse).transpose()?;
        let number = NumberCondition::from_fields(
            code.as_ref(),
            given(&raw.number),
            given(&raw.digital_number),
        )?;
        let seller = given(&raw.seller_id)
            .map(|s| {
                TaxpayerId::parse(s).map_err(|e| {
                    DomainError::new("seller_id", format!("销方税号不正确：{}", e.message))
                })
            })
            .transpose()?;
        let certification = if certified {
            if given(&raw.selected).is_some() {
                return Err(DomainError::new("selected", "勾选状态仅在未认证时可选"));
            }
            let method = match given(&raw.method) {
                None | Some("selection") => Some(CertMethod::Selection),
                Some("all") => None,
                Some("scan") => Some(CertMethod::Scan),
                Some(_) => {
                    return Err(DomainError::new(
                        "method",
                        "认证方式应为 all、selection 或 scan",
                    ))
                }
            };
            let from = given(&raw.certified_from)
                .map(|s| parse_date("certified_from", "确认/扫描日期起", s))
                .transpose()?;
            let to = given(&raw.certified_to)
                .map(|s| parse_date("certified_to", "确认/扫描日期止", s))
                .transpose()?;
            if let (Some(f), Some(t)) = (from, to) {
                if t < f {
                    return Err(DomainError::new(
                        "certified_to",
                        "确认/扫描日期止不能早于起始日期",
                    ));
                }
            }
            Certification::Certified { method, from, to }
        } else {
            for (field, v) in [
                ("method", &raw.method),
                ("certified_from", &raw.certified_from),
                ("certified_to", &raw.certified_to),
            ] {
                if given(v).is_some() {
                    return Err(DomainError::new(
                        field,
                        "认证方式和确认/扫描日期仅在已认证时可选",
                    ));
                }
            }
            let selected = match given(&raw.selected) {
                None | Some("false") => Some(false),
                Some("true") => Some(true),
                Some("all") => None,
                Some(_) => {
                    return Err(DomainError::new(
                        "selected",
                        "勾选状态应为 all、true 或 false",
                    ))
                }
            };
            Certification::Uncertified { selected }
        };
        let kind = match given(&raw.kind) {
            None | Some("all") => None,
            Some(s) => Some(InvoiceType::parse_api(s)?),
        };
        let status = match given(&raw.status) {
            None => Some(InvoiceStatus::Normal),
            Some("all") => None,
            Some(s) => Some(InvoiceStatus::parse_api(s)?),
        };
        Ok(InvoiceConditions {
            issued_from,
            issued_to,
            code,
            number,
            seller,
            certification,
            kind,
            status,
        })
    }
}

/// The issue dates whose invoices may be selected in period `p` on `today` (S-P3): no later
/// than the last day of `p`, and — unless `lookback_days` is 0 — no earlier than
/// `lookback_days` before today.
pub fn selectable_issue_dates(
    p: TaxPeriod,
    today: NaiveDate,
    lookback_days: u32,
) -> (Option<NaiveDate>, NaiveDate) {
    let earliest = (lookback_days > 0)
        .then(|| today.checked_sub_days(Days::new(u64::from(lookback_days))))
        .flatten();
    (earliest, p.last_day())
}

/// The first issue date that is 未到期 (not yet due) in period `p`: invoices issued from the
/// first day of the next month on are only shown by 未到期发票查询 (S-P3).
pub fn first_not_yet_due(p: TaxPeriod) -> NaiveDate {
    p.next().first_day()
}

#[cfg(test)]
mod tests {

    #[test]
    fn number_conditions_by_shape_and_their_refusals() {
        let code = InvoiceCode::parse("3300171130").unwrap();
        let n = |c: Option<&InvoiceCode>, num: Option<&str>, d: Option<&str>| {
            NumberCondition::from_fields(c, num, d)
        };
        assert_eq!(n(None, None, None), Ok(None));
        assert_eq!(
            n(None, Some("00012345"), None).unwrap().unwrap().as_str(),
            "00012345"
        );
        assert_eq!(
            n(None, None, Some("26330000000000000101"))
                .unwrap()
                .unwrap()
                .as_str(),
            "26330000000000000101"
        );
        assert_eq!(
            n(None, Some("290120261000000001-l01"), None)
                .unwrap()
                .unwrap()
                .as_str(),
            "290120261000000001-L01"
        );
        let e = n(None, Some("00012345"), Some("26330000000000000101")).unwrap_err();
        assert_eq!(
            (e.field, e.message.as_str()),
            ("digital_number", "发票号码和数电票号码只能填写一个")
        );
        let e = n(Some(&code), None, Some("26330000000000000101")).unwrap_err();
        assert_eq!(e.field, "digital_number");
        assert!(e.message.starts_with("数电票没有发票代码"));
        let e = n(Some(&code), Some("26330000000000000101"), None).unwrap_err();
        assert_eq!(e.message, "发票号码应为8位数字");
        let e = n(None, Some("1234567"), None).unwrap_err();
        assert_eq!(e.message, "发票号码应为8位数字（数电票号码为20位数字）");
        let e = n(None, None, Some("12345")).unwrap_err();
        assert_eq!(e.message, "数电票号码应为20位数字");
    }

    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawConditions {
        let v = serde_json::Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
                .collect(),
        );
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn defaults_of_the_manual() {
        let c = InvoiceConditions::parse(&raw(&[
            ("issued_from", "2026-05-01"),
            ("issued_to", "2026-10-31"),
        ]))
        .unwrap();
        assert_eq!(
            c.certification,
            Certification::Uncertified {
                selected: Some(false)
            }
        );
        assert_eq!(c.status, Some(InvoiceStatus::Normal));
        assert_eq!(c.kind, None);
        let c = InvoiceConditions::parse(&raw(&[
            ("issued_from", "2026-05-01"),
            ("issued_to", "2026-10-31"),
            ("certified", "true"),
        ]))
        .unwrap();
        assert_eq!(
            c.certification,
            Certification::Certified {
                method: Some(CertMethod::Selection),
                from: None,
                to: None
            }
        );
    }

    #[test]
    fn required_range_and_dependent_fields() {
        let e = InvoiceConditions::parse(&raw(&[("issued_to", "2026-10-31")])).unwrap_err();
        assert_eq!(e.field, "issued_from");
        let e = InvoiceConditions::parse(&raw(&[
            ("issued_from", "2026-11-01"),
            ("issued_to", "2026-10-31"),
        ]))
        .unwrap_err();
        assert_eq!(e.field, "issued_to");
        let e = InvoiceConditions::parse(&raw(&[
            ("issued_from", "2026-10-01"),
            ("issued_to", "2026-10-31"),
            ("method", "scan"),
        ]))
        .unwrap_err();
        assert_eq!(e.field, "method");
        let e = InvoiceConditions::parse(&raw(&[
            ("issued_from", "2026-10-01"),
            ("issued_to", "2026-10-31"),
            ("certified", "true"),
            ("selected", "true"),
        ]))
        .unwrap_err();
        assert_eq!(e.field, "selected");
        let e = InvoiceConditions::parse(&raw(&[
            ("issued_from", "2026-10-01"),
            ("issued_to", "2026-10-31"),
            ("seller_id", "9135"),
        ]))
        .unwrap_err();
        assert_eq!(e.field, "seller_id");
        let e = InvoiceConditions::parse(&raw(&[
            ("issued_from", "2026/10/01"),
            ("issued_to", "2026-10-31"),
        ]))
        .unwrap_err();
        assert_eq!(e.field, "issued_from");
    }

    #[test]
    fn certified_queries_need_no_issue_dates() {
        let c = InvoiceConditions::parse(&raw(&[
            ("certified", "true"),
            ("certified_from", "2026-11-01"),
        ]))
        .unwrap();
        let (first, last) = crate::domain::calendar::bounds();
        assert_eq!((c.issued_from, c.issued_to), (first, last));
        let c = InvoiceConditions::parse(&raw(&[
            ("certified", "true"),
            ("issued_from", "2026-10-01"),
        ]))
        .unwrap();
        assert_eq!(c.issued_from.to_string(), "2026-10-01");
        // Not certified: 开票日期 stays required.
        let e = InvoiceConditions::parse(&raw(&[("certified", "false")])).unwrap_err();
        assert_eq!(e.field, "issued_from");
    }

    #[test]
    fn lookback_window() {
        let p = TaxPeriod::parse("202611").unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let (earliest, latest) = selectable_issue_dates(p, today, 180);
        assert_eq!(earliest, NaiveDate::from_ymd_opt(2026, 5, 27));
        assert_eq!(latest, NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        assert_eq!(selectable_issue_dates(p, today, 0).0, None);
        assert_eq!(
            first_not_yet_due(p),
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
        );
        let dec = TaxPeriod::parse("202612").unwrap();
        assert_eq!(
            first_not_yet_due(dec),
            NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()
        );
    }
}
