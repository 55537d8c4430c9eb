//! 发票查询 (S-T10): 单票查询 with the invoice's history, and 未到期发票查询. Always scoped
//! to the logged-in taxpayer.

use serde::Serialize;

use crate::domain::query::selectable_issue_dates;
use crate::domain::{InvoiceKey, Paging, SelectionState, TaxPeriod, TaxpayerId};
use crate::error::{AppError, AppResult, Code};
use crate::index::InvoiceFilter;
use crate::service::listing::{
    paging, search, search_as, waited, HistoryView, InvoicePage, InvoiceView, Wait,
};
use crate::service::portal::selection::{current_period, current_period_as};
use crate::service::App;
use crate::store::prelude::*;
use crate::store::Who;

/// Filters of 未到期发票查询.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
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
    not_yet_due_as(app, who, taxpayer, raw, Wait::Allowed)?.ok_or_else(waited)
}

/// [`not_yet_due`] as `wait` allows (see [`crate::service::portal::selection::query_as`]).
pub fn not_yet_due_as(
    app: &App,
    who: &Who,
    taxpayer: &TaxpayerId,
    raw: &NotYetDueRaw,
    wait: Wait,
) -> AppResult<Option<InvoicePage>> {
    use crate::domain::query::parse_date;
    let paging = paging(raw.page.as_deref(), raw.per_page.as_deref())?;
    let Some(p) = current_period_as(app, who, taxpayer, wait)? else {
        return Ok(None);
    };
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
    let code = opt(&raw.code)
        .map(|c| crate::domain::InvoiceCode::parse(&c))
        .transpose()?;
    let f = InvoiceFilter {
        buyer: Some(taxpayer.clone()),
        issued_from: Some(from.map_or(first_due, |d| d.max(first_due))),
        issued_to: to,
        code: code.as_ref().map(|c| c.as_str().to_string()),
        number: crate::domain::query::NumberCondition::from_fields(
            code.as_ref(),
            opt(&raw.number).as_deref(),
            None,
        )?
        .map(|n| n.as_str().to_string()),
        ..InvoiceFilter::default()
    };
    search_as(app, &f, paging, wait)
}

/// 单票查询 result: every field of the invoice and its history.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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

/// 抵扣统计 查看明细: every invoice certified in `period` for the taxpayer (勾选认证 and 扫描认证,
/// any status), paged in the 发票勾选 order.
pub fn certified_in_period(
    app: &App,
    taxpayer: &TaxpayerId,
    period: TaxPeriod,
    paging: Paging,
) -> AppResult<InvoicePage> {
    let f = InvoiceFilter {
        buyer: Some(taxpayer.clone()),
        period: Some(period.as_u32()),
        sel: vec![2, 3],
        ..InvoiceFilter::default()
    };
    search(app, &f, paging)
}
