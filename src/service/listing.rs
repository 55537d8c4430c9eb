//! Invoice lists shared by the portal and the office: the invoice view, a page of them, the
//! paging parameters, and the index search that fills a page (the index finds and counts;
//! the page's items are read from the store, the truth).

use chrono::NaiveDate;
use serde::Serialize;

use super::App;
use crate::domain::{
    Fen, Invoice, InvoiceChange, InvoiceEvent, InvoiceKey, InvoiceUse, Paging, SelectionState,
    TaxPeriod, TaxpayerId,
};
use crate::error::{AppError, AppResult};
use crate::index::InvoiceFilter;

/// The API's invoice object.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct InvoiceView {
    /// 发票代码；数电票、海关缴款书没有（`null`）。
    pub code: Option<String>,
    pub number: String,
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "special")]
    pub kind: crate::domain::InvoiceType,
    pub issued_on: NaiveDate,
    #[schema(value_type = String, example = "91350100M000100Y43")]
    pub seller_id: TaxpayerId,
    pub seller_name: String,
    #[schema(value_type = String, example = "91350100M000100Y43")]
    pub buyer_id: TaxpayerId,
    #[schema(value_type = i64)]
    pub amount: Fen,
    #[schema(value_type = i64)]
    pub tax: Fen,
    #[schema(value_type = String, example = "normal")]
    pub status: crate::domain::InvoiceStatus,
    /// The selection state, written as its API name (`unselected`, `selected`, `confirmed`,
    /// `scanned`); its period, date and batch are the members below.
    #[schema(value_type = String, example = "selected")]
    #[serde(serialize_with = "selection_name")]
    pub selection: SelectionState,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "202611")]
    pub period: Option<TaxPeriod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certified_on: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<u32>,
    /// 海关缴款书的稽核比对结果（`match`、`mismatch`、`pending`、`missing`、`duplicate`）。
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "match")]
    pub audit_result: Option<crate::domain::CustomsAudit>,
    /// 农产品：按9%扣除率计算的抵扣税额（建议值）；其他发票抵扣票面税额，无此项。
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    pub deductible_tax: Option<Fen>,
    /// 勾选用途 of a selected or confirmed invoice (`deduct`, `no_deduct`, `refund`,
    /// `agent_refund`); absent when unselected.
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "deduct")]
    pub use_: Option<InvoiceUse>,
    /// 有效税额（分）：抵扣、退税计入的税额；不抵扣为票面税额。
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    pub effective_tax: Option<Fen>,
    /// 不抵扣原因（`non_taxable`、`tax_exempt`、`welfare`、`abnormal_loss`、`other`）。
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "welfare")]
    pub reason: Option<crate::domain::NoDeductReason>,
    /// 不抵扣原因为“其他”时的说明。
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_text: Option<String>,
}

impl InvoiceView {
    /// The code as paths and form values carry it: `-` when there is none.
    pub fn code_or_dash(&self) -> &str {
        self.code.as_deref().unwrap_or("-")
    }

    /// The code as tables and files show it: blank when there is none.
    pub fn code_text(&self) -> &str {
        self.code.as_deref().unwrap_or_default()
    }
}

impl From<&Invoice> for InvoiceView {
    fn from(i: &Invoice) -> Self {
        InvoiceView::from(i.clone())
    }
}

impl From<Invoice> for InvoiceView {
    /// Moves the invoice's strings into the view (a page's rows are read for it alone).
    fn from(i: Invoice) -> Self {
        InvoiceView {
            code: i.key.code().map(str::to_owned),
            number: i.key.number().to_string(),
            kind: i.kind,
            issued_on: i.issued_on,
            period: i.selection.period(),
            certified_on: i.selection.certified_on(),
            batch: i.selection.batch(),
            audit_result: i.audit,
            deductible_tax: (i.kind == crate::domain::InvoiceType::Agricultural)
                .then(|| i.deductible_tax()),
            use_: i.use_(),
            effective_tax: i.use_().map(|_| i.effective_tax()),
            reason: i.usage.as_ref().and_then(|u| u.reason),
            amount: i.amount,
            tax: i.tax,
            status: i.status,
            selection: i.selection,
            seller_id: i.seller_id,
            seller_name: i.seller_name,
            buyer_id: i.buyer_id,
            reason_text: i.usage.and_then(|u| u.reason_text),
        }
    }
}

fn selection_name<S: serde::Serializer>(s: &SelectionState, out: S) -> Result<S::Ok, S::Error> {
    out.serialize_str(s.api_name())
}

/// A page of invoices with totals over all matches.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InvoicePage {
    pub total: u64,
    #[schema(value_type = i64)]
    pub amount: Fen,
    #[schema(value_type = i64)]
    pub tax: Fen,
    pub page: usize,
    pub per_page: usize,
    pub items: Vec<InvoiceView>,
}

/// Page and page size as a query gives them: default page 1 of 50, at most 500 a page (see
/// [`Paging`]).
pub fn paging(page: Option<&str>, per_page: Option<&str>) -> AppResult<Paging> {
    Ok(Paging::parse(page, per_page, 50)?)
}

pub(crate) fn load_page(app: &App, keys: &[InvoiceKey]) -> AppResult<Vec<InvoiceView>> {
    Ok(app
        .store
        .page_rows(keys)?
        .into_iter()
        .map(InvoiceView::from)
        .collect())
}

/// The page `p` of the invoices matching `f`; a page past the end is refused (422).
pub(crate) fn search(app: &App, f: &InvoiceFilter, p: Paging) -> AppResult<InvoicePage> {
    app.index.catch_up(&app.store)?;
    page_of(app, f, p)
}

/// Whether a read may wait on the store's writers (settling a taxpayer, catching the index up
/// with the store: both take the writers' lock), or must not — on an HTTP worker, where a wait
/// stalls every connection the worker holds — and stops instead (`None`), for the caller to
/// run it again where waiting is harmless.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    Allowed,
    Not,
}

/// The error of a read allowed to wait that stopped anyway (a bug, never expected).
pub(crate) fn waited() -> AppError {
    AppError::internal("a read allowed to wait stopped before a write")
}

/// [`search`] with the index caught up when `wait` allows it; with [`Wait::Not`], `None` when
/// the index is behind the store (a request must see the writes answered before it).
pub(crate) fn search_as(
    app: &App,
    f: &InvoiceFilter,
    p: Paging,
    wait: Wait,
) -> AppResult<Option<InvoicePage>> {
    match wait {
        Wait::Allowed => search(app, f, p).map(Some),
        Wait::Not if app.index.in_step(&app.store)? => page_of(app, f, p).map(Some),
        Wait::Not => Ok(None),
    }
}

/// A page from the index as it stands.
fn page_of(app: &App, f: &InvoiceFilter, p: Paging) -> AppResult<InvoicePage> {
    let found = app.index.search(f, p.page(), p.per_page())?;
    p.within(found.total)?;
    Ok(InvoicePage {
        total: found.total,
        amount: Fen::new(found.amount),
        tax: Fen::new(found.tax),
        page: p.page(),
        per_page: p.per_page(),
        items: load_page(app, &found.keys)?,
    })
}

/// One entry of an invoice's history as the API shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct HistoryView {
    pub at: String,
    pub actor: String,
    pub action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "202611")]
    pub period: Option<TaxPeriod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<u32>,
    /// 勾选用途 of a selection or confirmation entry.
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "deduct")]
    pub use_: Option<InvoiceUse>,
    pub detail: String,
}

impl From<&InvoiceEvent> for HistoryView {
    fn from(e: &InvoiceEvent) -> Self {
        let (period, batch) = match &e.change {
            InvoiceChange::Selected { period }
            | InvoiceChange::Unselected { period, .. }
            | InvoiceChange::Scanned { period, .. } => (Some(*period), None),
            InvoiceChange::Confirmed { period, batch, .. }
            | InvoiceChange::ConfirmedFor { period, batch, .. } => (Some(*period), Some(*batch)),
            InvoiceChange::SelectedFor { period, .. }
            | InvoiceChange::TransferredOut { period, .. } => (Some(*period), None),
            InvoiceChange::Status { .. } | InvoiceChange::Audit { .. } => (None, None),
        };
        let use_ = match &e.change {
            InvoiceChange::Selected { .. } | InvoiceChange::Confirmed { .. } => {
                Some(InvoiceUse::Deduct)
            }
            InvoiceChange::SelectedFor { usage, .. } => Some(usage.use_),
            InvoiceChange::ConfirmedFor { use_, .. } => Some(*use_),
            _ => None,
        };
        HistoryView {
            at: e.at.to_rfc3339(),
            actor: e.actor.to_string(),
            action: e.change.action(),
            period,
            batch,
            use_,
            detail: e.change.describe_zh(),
        }
    }
}
