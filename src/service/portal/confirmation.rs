//! 确认勾选 (S-T6–S-T8): 确定 makes a pending batch of what is selected, 提交 certifies it
//! (or voids it when the period was declared), and the period's batches with their invoices.

use serde::Serialize;

use crate::domain::engine::{self, BatchOutcome};
use crate::domain::rules::DeclarationAnswer;
use crate::domain::{BatchStatus, ConfirmationBatch, Fen, InvoiceUse, TaxPeriod, TaxpayerId};
use crate::error::AppResult;
use crate::service::listing::InvoiceView;
use crate::service::settle::{ctx, settled};
use crate::service::App;
use crate::store::prelude::*;
use crate::store::Who;

/// A batch as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BatchView {
    #[schema(value_type = String, example = "202611")]
    pub period: TaxPeriod,
    pub batch: u32,
    #[schema(value_type = String, example = "submitted")]
    pub status: BatchStatus,
    pub count: u64,
    #[schema(value_type = i64)]
    pub amount: Fen,
    #[schema(value_type = i64)]
    pub tax: Fen,
    pub period_confirmed_count: u64,
    pub period_batches: u64,
    pub made_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[schema(value_type = String, example = "202611")]
    pub current_period: TaxPeriod,
    /// 勾选用途 of the batch's invoices.
    #[serde(rename = "use")]
    #[schema(value_type = String, example = "deduct")]
    pub use_: InvoiceUse,
    /// 用途 in Chinese.
    pub use_label: &'static str,
}

impl From<&BatchOutcome> for BatchView {
    fn from(o: &BatchOutcome) -> Self {
        let b: &ConfirmationBatch = &o.batch;
        BatchView {
            period: b.period,
            batch: b.number,
            status: b.status,
            count: b.count,
            amount: b.amount,
            tax: b.tax,
            period_confirmed_count: o.period_confirmed_count,
            period_batches: o.period_batches,
            made_at: b.made_at.to_rfc3339(),
            submitted_at: b.submitted_at.map(|t| t.to_rfc3339()),
            reason: b.void_reason.map(|r| r.as_str()),
            message: b.void_reason.map(|r| r.message(b.period)),
            current_period: o.current_period,
            use_: b.use_,
            use_label: b.use_.label_zh(),
        }
    }
}

/// 确定 of the selections for `use_`.
pub fn make_batch(
    app: &App,
    who: &Who,
    id: &TaxpayerId,
    use_: InvoiceUse,
) -> AppResult<BatchOutcome> {
    settled(app, who, id)?;
    let c = ctx(app, who);
    app.store
        .write(who, |tx| engine::make_batch(tx, &c, id, use_))
}

/// 提交.
pub fn submit(
    app: &App,
    who: &Who,
    id: &TaxpayerId,
    period: TaxPeriod,
    number: u32,
    answer: Option<DeclarationAnswer>,
) -> AppResult<BatchOutcome> {
    settled(app, who, id)?;
    let c = ctx(app, who);
    app.store
        .write(who, |tx| engine::submit(tx, &c, id, period, number, answer))
}

/// The period's batches (确认历史明细), newest last.
pub fn batches(
    app: &App,
    who: &Who,
    id: &TaxpayerId,
    period: TaxPeriod,
) -> AppResult<Vec<BatchOutcome>> {
    let t = settled(app, who, id)?;
    let r = app.store.read()?;
    let all = r.batches(id, period)?;
    let (mut count, mut n) = (0, 0);
    let mut out = Vec::with_capacity(all.len());
    for b in all {
        if b.status == BatchStatus::Submitted {
            count += b.count;
            n += 1;
        }
        out.push(BatchOutcome {
            batch: b,
            period_confirmed_count: count,
            period_batches: n,
            current_period: t.current_period,
        });
    }
    Ok(out)
}

/// One batch with its invoices.
pub fn batch_detail(
    app: &App,
    who: &Who,
    id: &TaxpayerId,
    period: TaxPeriod,
    number: u32,
) -> AppResult<(BatchOutcome, Vec<InvoiceView>)> {
    settled(app, who, id)?;
    let r = app.store.read()?;
    let o = engine::batch_outcome(&r, id, period, number)?;
    let mut items = Vec::with_capacity(o.batch.invoices.len());
    for k in &o.batch.invoices {
        if let Some(inv) = r.invoice(k)? {
            items.push(InvoiceView::from(&inv));
        }
    }
    Ok((o, items))
}

/// 已勾选未确认: the taxpayer's selected invoices of the current period, in key order.
pub fn selected_invoices(
    app: &App,
    who: &Who,
    id: &TaxpayerId,
) -> AppResult<Vec<crate::domain::Invoice>> {
    settled(app, who, id)?;
    let r = app.store.read()?;
    let mut keys = r.selected_keys(id, None)?;
    keys.sort();
    r.invoices_by_keys(&keys)
}

/// The uses the taxpayer has 已勾选未确认 invoices for, with their counts, in the order of
/// [`InvoiceUse::ALL`]: 确认勾选 offers one 确定 per use.
pub fn selected_uses(app: &App, who: &Who, id: &TaxpayerId) -> AppResult<Vec<(InvoiceUse, u64)>> {
    settled(app, who, id)?;
    let rows = app.store.read()?.selected_rows(id)?;
    Ok(InvoiceUse::ALL
        .into_iter()
        .map(|u| (u, rows.iter().filter(|r| r.use_ == u).count() as u64))
        .filter(|(_, n)| *n > 0)
        .collect())
}

/// 确认标志 on 确认勾选: which list the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmFlag {
    /// 已勾选未确认: what 确定 would put into the next batch.
    Selected,
    /// 已确认: what the current period's submitted batches certified.
    Confirmed,
}

/// One page of the 确认勾选 list for `flag`, with the count, amount and tax over all of it.
pub fn listed(
    app: &App,
    who: &Who,
    id: &TaxpayerId,
    flag: ConfirmFlag,
    paging: crate::domain::Paging,
) -> AppResult<crate::service::listing::InvoicePage> {
    let t = settled(app, who, id)?;
    let f = match flag {
        ConfirmFlag::Selected => crate::index::InvoiceFilter {
            buyer: Some(id.clone()),
            sel: vec![1],
            ..Default::default()
        },
        ConfirmFlag::Confirmed => crate::index::InvoiceFilter {
            buyer: Some(id.clone()),
            sel: vec![2],
            period: Some(t.current_period.as_u32()),
            ..Default::default()
        },
    };
    crate::service::listing::search(app, &f, paging)
}
