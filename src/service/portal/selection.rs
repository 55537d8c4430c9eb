//! 发票勾选 (S-T4): the query over the index and saving the selection (S-P3).

use serde::Serialize;

use crate::domain::engine::{self, SelectionReport, SelectionRow};
use crate::domain::query::{
    selectable_issue_dates, Certification, InvoiceConditions, RawConditions,
};
use crate::domain::{
    Fen, InvoiceKey, RefundRegistration, RiskySeller, TaxPeriod, TaxpayerId, UseRequest,
};
use crate::error::{AppError, AppResult, Code};
use crate::index::InvoiceFilter;
use crate::service::listing::{paging, search_as, waited, InvoicePage, Wait};
use crate::service::settle::{ctx, settled, settled_if_current};
use crate::service::App;
use crate::store::prelude::*;
use crate::store::Who;

/// One refused row as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RejectedView {
    /// `null` for documents without a code.
    pub code: Option<String>,
    pub number: String,
    pub reason: &'static str,
    pub message: String,
    /// The spreadsheet row, for bulk selection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
}

/// The result of `POST /api/v1/selections`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SelectionView {
    pub selected: u64,
    pub unselected: u64,
    pub rejected: Vec<RejectedView>,
}

impl From<SelectionReport> for SelectionView {
    fn from(r: SelectionReport) -> Self {
        SelectionView {
            selected: r.selected,
            unselected: r.unselected,
            rejected: r
                .rejected
                .into_iter()
                .map(|(_, x)| RejectedView {
                    code: x.key.code().map(str::to_owned),
                    number: x.key.number().to_string(),
                    reason: x.reason.code(),
                    message: x.reason.message(),
                    row: None,
                })
                .collect(),
        }
    }
}

/// Largest number of rows in one selection request (the page select-all is 100; bulk files
/// hold at most 2,000 rows each).
pub const MAX_SELECTION_ROWS: usize = 20_000;

/// 保存 of 发票勾选.
pub fn select(
    app: &App,
    who: &Who,
    id: &TaxpayerId,
    select: &[InvoiceKey],
    unselect: &[InvoiceKey],
) -> AppResult<SelectionReport> {
    if select.len() + unselect.len() > MAX_SELECTION_ROWS {
        return Err(AppError::new(Code::TooLarge)
            .with_message(format!("一次最多提交{MAX_SELECTION_ROWS}张发票的勾选")));
    }
    let rows: Vec<SelectionRow> = select
        .iter()
        .map(|k| SelectionRow::Select(k.clone(), UseRequest::deduct()))
        .chain(unselect.iter().map(|k| SelectionRow::Unselect(k.clone())))
        .collect();
    select_rows(app, who, id, &rows)
}

/// 保存 of 发票勾选 with a use per selected row (抵扣 when a row names none).
pub fn select_rows(
    app: &App,
    who: &Who,
    id: &TaxpayerId,
    rows: &[SelectionRow],
) -> AppResult<SelectionReport> {
    if rows.len() > MAX_SELECTION_ROWS {
        return Err(AppError::new(Code::TooLarge)
            .with_message(format!("一次最多提交{MAX_SELECTION_ROWS}张发票的勾选")));
    }
    settled(app, who, id)?;
    let c = ctx(app, who);
    // Durable when answered; concurrent saves share one transaction and its fsync (group
    // commit), which another writer may run: the change owns what it needs.
    let (id, rows) = (id.clone(), rows.to_vec());
    app.store
        .write_grouped(who, move |tx| engine::save_rows(tx, &c, &id, &rows))
}

/// A ticked invoice whose seller the office flagged, with the office's reason.
#[derive(Debug, Clone)]
pub struct FlaggedInvoice {
    pub invoice: crate::service::listing::InvoiceView,
    pub seller: RiskySeller,
}

/// The invoices among `keys` (the taxpayer's own) whose seller the office flagged as a risk:
/// 发票勾选 asks for a confirmation before selecting them.
pub fn flagged_sellers(
    app: &App,
    id: &TaxpayerId,
    keys: &[InvoiceKey],
) -> AppResult<Vec<FlaggedInvoice>> {
    let r = app.store.read()?;
    let mut out = Vec::new();
    for inv in r.invoices_by_keys(keys)? {
        if &inv.buyer_id != id {
            continue;
        }
        if let Some(seller) = r.risky_seller(&inv.seller_id)? {
            out.push(FlaggedInvoice {
                invoice: crate::service::listing::InvoiceView::from(&inv),
                seller,
            });
        }
    }
    Ok(out)
}

/// The taxpayer's 退税 registration (which uses 发票勾选 offers).
pub fn registration(app: &App, id: &TaxpayerId) -> AppResult<RefundRegistration> {
    app.store.read()?.refund_registration(id)
}

//

/// The taxpayer's current period, settled at `who.now`.
pub(crate) fn current_period(app: &App, who: &Who, taxpayer: &TaxpayerId) -> AppResult<TaxPeriod> {
    Ok(crate::service::settle::settled(app, who, taxpayer)?.current_period)
}

/// [`current_period`] as `wait` allows: with [`Wait::Not`], `None` when the taxpayer must be
/// settled first (a write).
pub(crate) fn current_period_as(
    app: &App,
    who: &Who,
    taxpayer: &TaxpayerId,
    wait: Wait,
) -> AppResult<Option<TaxPeriod>> {
    match wait {
        Wait::Allowed => current_period(app, who, taxpayer).map(Some),
        Wait::Not => Ok(settled_if_current(app, who, taxpayer)?.map(|t| t.current_period)),
    }
}

/// 发票勾选: the manual's conditions, for `taxpayer` at `who.now`.
pub fn query(
    app: &App,
    who: &Who,
    taxpayer: &TaxpayerId,
    raw: &RawConditions,
) -> AppResult<InvoicePage> {
    query_as(app, who, taxpayer, raw, Wait::Allowed)?.ok_or_else(waited)
}

/// [`query`] as `wait` allows: with [`Wait::Not`] it only reads and never waits on the
/// store's writers, and is `None` when the taxpayer must be settled or the index caught up
/// first — the same query then runs with [`Wait::Allowed`] where waiting is harmless.
pub fn query_as(
    app: &App,
    who: &Who,
    taxpayer: &TaxpayerId,
    raw: &RawConditions,
    wait: Wait,
) -> AppResult<Option<InvoicePage>> {
    let paging = paging(raw.page.as_deref(), raw.per_page.as_deref())?;
    match filter(app, who, taxpayer, raw, wait)? {
        Filtered::Search(f) => search_as(app, &f, paging, wait),
        Filtered::Nothing => Ok(Some(InvoicePage {
            total: 0,
            amount: Fen::ZERO,
            tax: Fen::ZERO,
            page: paging.within(0).map(|()| paging.page())?,
            per_page: paging.per_page(),
            items: Vec::new(),
        })),
        Filtered::Unsettled => Ok(None),
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
    let f = match filter(app, who, taxpayer, raw, Wait::Allowed)? {
        Filtered::Search(f) => f,
        Filtered::Nothing => return Ok(Vec::new()),
        Filtered::Unsettled => return Err(waited()),
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

/// The 发票勾选 conditions as the index's filter.
enum Filtered {
    Search(InvoiceFilter),
    /// Conditions no invoice can meet (an empty date range).
    Nothing,
    /// The taxpayer must be settled first, and the read was not to wait.
    Unsettled,
}

/// The index filter of the conditions.
fn filter(
    app: &App,
    who: &Who,
    taxpayer: &TaxpayerId,
    raw: &RawConditions,
    wait: Wait,
) -> AppResult<Filtered> {
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
            let Some(p) = current_period_as(app, who, taxpayer, wait)? else {
                return Ok(Filtered::Unsettled);
            };
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
        return Ok(Filtered::Nothing);
    }
    Ok(Filtered::Search(f))
}
