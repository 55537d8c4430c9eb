//! The taxpayer's invoice queries (S-T4, S-T10): 发票勾选 over the index, 单票查询 and
//! 未到期发票查询. Always scoped to the logged-in taxpayer; the page's items are read from
//! the store (the truth), the index only finds and counts them.

use chrono::NaiveDate;
use serde::Serialize;

use crate::domain::query::{
    selectable_issue_dates, Certification, InvoiceConditions, RawConditions,
};
use crate::domain::{
    Invoice, InvoiceChange, InvoiceEvent, InvoiceKey, SelectionState, TaxPeriod, TaxpayerId,
};
use crate::error::{AppError, AppResult, Code};
use crate::index::InvoiceFilter;
use crate::store::Who;

use super::App;

/// The API's invoice object.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct InvoiceView {
    pub code: String,
    pub number: String,
    #[serde(rename = "type")]
    pub kind: crate::domain::InvoiceType,
    pub issued_on: NaiveDate,
    pub seller_id: TaxpayerId,
    pub seller_name: String,
    pub buyer_id: TaxpayerId,
    pub amount: i64,
    pub tax: i64,
    pub status: crate::domain::InvoiceStatus,
    pub selection: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<TaxPeriod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certified_on: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<u32>,
}

impl From<&Invoice> for InvoiceView {
    fn from(i: &Invoice) -> Self {
        InvoiceView {
            code: i.key.code.as_str().to_string(),
            number: i.key.number.as_str().to_string(),
            kind: i.kind,
            issued_on: i.issued_on,
            seller_id: i.seller_id.clone(),
            seller_name: i.seller_name.clone(),
            buyer_id: i.buyer_id.clone(),
            amount: i.amount.value(),
            tax: i.tax.value(),
            status: i.status,
            selection: i.selection.api_name(),
            period: i.selection.period(),
            certified_on: i.selection.certified_on(),
            batch: i.selection.batch(),
        }
    }
}

/// A page of invoices with totals over all matches.
#[derive(Debug, Clone, Serialize)]
pub struct InvoicePage {
    pub total: u64,
    pub amount: i64,
    pub tax: i64,
    pub page: usize,
    pub per_page: usize,
    pub items: Vec<InvoiceView>,
}

/// Page and page size: default 50, at most 500.
pub fn paging(page: Option<&str>, per_page: Option<&str>) -> AppResult<(usize, usize)> {
    let parse = |field: &'static str, v: Option<&str>, default: usize| -> AppResult<usize> {
        match v.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(default),
            Some(s) => s
                .parse::<usize>()
                .map_err(|_| AppError::invalid(field, "页码和每页条数应为正整数")),
        }
    };
    let page = parse("page", page, 1)?;
    let per_page = parse("per_page", per_page, 50)?;
    if page == 0 {
        return Err(AppError::invalid("page", "页码应从1开始"));
    }
    if per_page == 0 || per_page > 500 {
        return Err(AppError::invalid("per_page", "每页条数应在1至500之间"));
    }
    Ok((page, per_page))
}

fn load_page(app: &App, keys: &[InvoiceKey]) -> AppResult<Vec<InvoiceView>> {
    let r = app.store.read()?;
    let mut items = Vec::with_capacity(keys.len());
    for k in keys {
        if let Some(inv) = r.invoice(k)? {
            items.push(InvoiceView::from(&inv));
        }
    }
    Ok(items)
}

/// The taxpayer's current period, settled at `who.now`.
fn current_period(app: &App, who: &Who, taxpayer: &TaxpayerId) -> AppResult<TaxPeriod> {
    Ok(super::periods::settled(app, who, taxpayer)?.current_period)
}

/// 发票勾选: the manual's conditions, for `taxpayer` at `who.now`.
pub fn query(
    app: &App,
    who: &Who,
    taxpayer: &TaxpayerId,
    raw: &RawConditions,
) -> AppResult<InvoicePage> {
    let (page, per_page) = paging(raw.page.as_deref(), raw.per_page.as_deref())?;
    match filter(app, who, taxpayer, raw)? {
        Some(f) => search(app, &f, page, per_page),
        None => Ok(InvoicePage {
            total: 0,
            amount: 0,
            tax: 0,
            page,
            per_page,
            items: Vec::new(),
        }),
    }
}

/// Every invoice matching the 发票勾选 conditions, in the page order: the total and the keys
/// (at most `limit`: above it, a refusal asking to narrow the conditions).
pub fn all_keys(
    app: &App,
    who: &Who,
    taxpayer: &TaxpayerId,
    raw: &RawConditions,
    limit: usize,
) -> AppResult<Vec<InvoiceKey>> {
    let Some(f) = filter(app, who, taxpayer, raw)? else {
        return Ok(Vec::new());
    };
    app.index.catch_up(&app.store)?;
    let found = app.index.search(&f, 1, limit)?;
    if found.total > limit as u64 {
        return Err(AppError::new(Code::TooLarge).with_message(format!(
            "符合条件的发票共{}份，超过单次下载上限{limit}份，请缩小开票日期范围",
            found.total
        )));
    }
    Ok(found.keys)
}

/// The index filter of the conditions; `None` when nothing can match.
fn filter(
    app: &App,
    who: &Who,
    taxpayer: &TaxpayerId,
    raw: &RawConditions,
) -> AppResult<Option<InvoiceFilter>> {
    let today = who.now.date_naive();
    let c = InvoiceConditions::parse(raw)?;
    let mut f = InvoiceFilter {
        buyer: Some(taxpayer.clone()),
        issued_from: Some(c.issued_from),
        issued_to: Some(c.issued_to),
        code: c.code.map(|x| x.as_str().to_string()),
        number: c.number.map(|x| x.as_str().to_string()),
        seller: c.seller,
        kind: c.kind,
        status: c.status,
        ..InvoiceFilter::default()
    };
    match c.certification {
        Certification::Uncertified { selected } => {
            // Only what may be selected now (S-P3): 未到期 invoices only through their own
            // query, and none older than the certification time limit.
            let p = current_period(app, who, taxpayer)?;
            let (earliest, latest) = selectable_issue_dates(p, today, app.settings.lookback_days);
            f.issued_to = f.issued_to.map(|t| t.min(latest));
            if let Some(e) = earliest {
                f.issued_from = f.issued_from.map(|x| x.max(e));
            }
            f.sel = match selected {
                None => vec![0, 1],
                Some(false) => vec![0],
                Some(true) => vec![1],
            };
        }
        Certification::Certified { method, from, to } => {
            f.sel = InvoiceFilter::cert_method(method);
            f.certified_from = from;
            f.certified_to = to;
        }
    }
    if f.issued_from > f.issued_to {
        return Ok(None);
    }
    Ok(Some(f))
}

fn search(app: &App, f: &InvoiceFilter, page: usize, per_page: usize) -> AppResult<InvoicePage> {
    app.index.catch_up(&app.store)?;
    let found = app.index.search(f, page, per_page)?;
    Ok(InvoicePage {
        total: found.total,
        amount: found.amount,
        tax: found.tax,
        page,
        per_page,
        items: load_page(app, &found.keys)?,
    })
}

/// Filters of 未到期发票查询.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotYetDueRaw {
    pub code: Option<String>,
    pub number: Option<String>,
    pub issued_from: Option<String>,
    pub issued_to: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

/// 未到期发票查询: invoices issued after the end of the current period.
pub fn not_yet_due(
    app: &App,
    who: &Who,
    taxpayer: &TaxpayerId,
    raw: &NotYetDueRaw,
) -> AppResult<InvoicePage> {
    use crate::domain::query::parse_date;
    let (page, per_page) = paging(raw.page.as_deref(), raw.per_page.as_deref())?;
    let p = current_period(app, who, taxpayer)?;
    let opt = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let from = opt(&raw.issued_from)
        .map(|s| parse_date("issued_from", "开票日期起", &s))
        .transpose()?;
    let to = opt(&raw.issued_to)
        .map(|s| parse_date("issued_to", "开票日期止", &s))
        .transpose()?;
    let first_due = crate::domain::query::first_not_yet_due(p);
    let f = InvoiceFilter {
        buyer: Some(taxpayer.clone()),
        issued_from: Some(from.map_or(first_due, |d| d.max(first_due))),
        issued_to: to,
        code: opt(&raw.code)
            .map(|c| crate::domain::InvoiceCode::parse(&c).map(|c| c.as_str().to_string()))
            .transpose()?,
        number: opt(&raw.number)
            .map(|n| crate::domain::InvoiceNumber::parse(&n).map(|n| n.as_str().to_string()))
            .transpose()?,
        ..InvoiceFilter::default()
    };
    search(app, &f, page, per_page)
}

/// One entry of an invoice's history as the API shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HistoryView {
    pub at: String,
    pub actor: String,
    pub action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<TaxPeriod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<u32>,
    pub detail: String,
}

impl From<&InvoiceEvent> for HistoryView {
    fn from(e: &InvoiceEvent) -> Self {
        let (period, batch) = match &e.change {
            InvoiceChange::Selected { period }
            | InvoiceChange::Unselected { period, .. }
            | InvoiceChange::Scanned { period, .. } => (Some(*period), None),
            InvoiceChange::Confirmed { period, batch, .. } => (Some(*period), Some(*batch)),
            InvoiceChange::Status { .. } => (None, None),
        };
        HistoryView {
            at: e.at.to_rfc3339(),
            actor: e.actor.to_string(),
            action: e.change.action(),
            period,
            batch,
            detail: e.change.describe_zh(),
        }
    }
}

/// 单票查询 result: every field of the invoice and its history.
#[derive(Debug, Clone, Serialize)]
pub struct SingleView {
    #[serde(flatten)]
    pub invoice: InvoiceView,
    pub history: Vec<HistoryView>,
}

/// 单票查询: one of the taxpayer's invoices, within the look-back window and the current
/// period, with its history. Another taxpayer's invoice is "not found", never shown.
pub fn single(
    app: &App,
    who: &Who,
    taxpayer: &TaxpayerId,
    key: &InvoiceKey,
) -> AppResult<SingleView> {
    let today = who.now.date_naive();
    let not_found = || AppError::new(Code::NotFound).with_message("未查询到符合条件的发票");
    let inv = app.store.read()?.invoice(key)?.ok_or_else(not_found)?;
    if &inv.buyer_id != taxpayer {
        return Err(not_found());
    }
    let p = current_period(app, who, taxpayer)?;
    let (earliest, latest) = selectable_issue_dates(p, today, app.settings.lookback_days);
    let certified = matches!(
        inv.selection,
        SelectionState::Confirmed { .. } | SelectionState::Scanned { .. }
    );
    let in_window = inv.issued_on <= latest && earliest.is_none_or(|e| inv.issued_on >= e);
    if !in_window && !certified {
        return Err(not_found().with_message("该发票不在可查询的期限内（超过认证期限或尚未到期）"));
    }
    let history = app
        .store
        .read()?
        .invoice_events(key)?
        .iter()
        .map(HistoryView::from)
        .collect();
    Ok(SingleView {
        invoice: InvoiceView::from(&inv),
        history,
    })
}

/// Filters of the office's invoice search.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficeSearchRaw {
    pub buyer_id: Option<String>,
    pub seller_id: Option<String>,
    /// Part of the seller's name (at least two characters).
    pub seller_name: Option<String>,
    pub issued_from: Option<String>,
    pub issued_to: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

/// The office's invoice search: by buyer, seller ID or seller name (Chinese words), any state.
pub fn office_search(app: &App, raw: &OfficeSearchRaw) -> AppResult<InvoicePage> {
    use crate::domain::query::parse_date;
    let (page, per_page) = paging(raw.page.as_deref(), raw.per_page.as_deref())?;
    let opt = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let id = |field: &'static str, v: &Option<String>| {
        opt(v)
            .map(|s| TaxpayerId::parse(&s).map_err(|e| AppError::invalid(field, e.message)))
            .transpose()
    };
    let seller_name = opt(&raw.seller_name);
    if seller_name.as_ref().is_some_and(|n| n.chars().count() < 2) {
        return Err(AppError::invalid("seller_name", "销方名称至少输入两个字"));
    }
    let f = InvoiceFilter {
        buyer: id("buyer_id", &raw.buyer_id)?,
        seller: id("seller_id", &raw.seller_id)?,
        seller_name,
        issued_from: opt(&raw.issued_from)
            .map(|s| parse_date("issued_from", "开票日期起", &s))
            .transpose()?,
        issued_to: opt(&raw.issued_to)
            .map(|s| parse_date("issued_to", "开票日期止", &s))
            .transpose()?,
        ..InvoiceFilter::default()
    };
    if f.buyer.is_none() && f.seller.is_none() && f.seller_name.is_none() {
        return Err(AppError::invalid(
            "seller_name",
            "请输入购方税号、销方税号或销方名称",
        ));
    }
    search(app, &f, page, per_page)
}

/// 抵扣统计 查看明细: every invoice certified in `period` for the taxpayer (勾选认证 and 扫描认证,
/// any status), paged in the 发票勾选 order.
pub fn certified_in_period(
    app: &App,
    taxpayer: &TaxpayerId,
    period: TaxPeriod,
    page: usize,
    per_page: usize,
) -> AppResult<InvoicePage> {
    let f = InvoiceFilter {
        buyer: Some(taxpayer.clone()),
        period: Some(period.as_u32()),
        sel: vec![2, 3],
        ..InvoiceFilter::default()
    };
    search(app, &f, page, per_page)
}
