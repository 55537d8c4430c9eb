//! 进项税额转出: the taxpayer's certified-for-抵扣 invoices that have since become 失控, 异常,
//! 作废 or 红冲 (the candidates, each with the tax to transfer out), recording the transfer
//! of some of them for the current period, and the transfers recorded.
//!
//! The candidates are found through the index (the buyer's certified invoices of each
//! exception status), so a taxpayer with many invoices costs a few term queries; the store,
//! the truth, then decides each one with [`rules::transfer_out_tax`].

use chrono::NaiveDate;
use serde::Serialize;

use crate::domain::engine::{self, TransferReport};
use crate::domain::rules;
use crate::domain::{Fen, Invoice, InvoiceKey, InvoiceStatus, TaxPeriod, TaxpayerId, TransferOut};
use crate::error::{AppError, AppResult, Code};
use crate::index::InvoiceFilter;
use crate::service::portal::selection::RejectedView;
use crate::service::settle::{ctx, settled};
use crate::service::App;
use crate::store::prelude::*;
use crate::store::Who;

/// Most invoices in one transfer-out request.
pub const MAX_TRANSFER_ROWS: usize = 5_000;
/// Most candidates listed (per exception status); more are counted in `total` only.
pub const MAX_CANDIDATES: usize = 2_000;

const EXCEPTIONS: [InvoiceStatus; 4] = [
    InvoiceStatus::OutOfControl,
    InvoiceStatus::Abnormal,
    InvoiceStatus::Voided,
    InvoiceStatus::RedReversed,
];

/// A certified invoice that calls for 进项税额转出, with the tax to transfer.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub invoice: Invoice,
    pub tax: Fen,
}

/// The certified invoices of `id` that became exceptions and are not yet transferred out,
/// by issue date and key; with how many there are in all (the list stops at
/// [`MAX_CANDIDATES`] per status).
pub fn candidates(app: &App, id: &TaxpayerId) -> AppResult<(Vec<Candidate>, u64)> {
    app.index.catch_up(&app.store)?;
    let mut keys = Vec::new();
    let mut total = 0;
    for status in EXCEPTIONS {
        let f = InvoiceFilter {
            buyer: Some(id.clone()),
            sel: InvoiceFilter::cert_method(None),
            status: Some(status),
            ..InvoiceFilter::default()
        };
        let found = app.index.search(&f, 1, MAX_CANDIDATES)?;
        total += found.total;
        keys.extend(found.keys);
    }
    let r = app.store.read()?;
    let mut out = Vec::with_capacity(keys.len());
    for k in &keys {
        let Some(inv) = r.invoice(k)? else { continue };
        if &inv.buyer_id != id {
            continue;
        }
        let Some(tax) = rules::transfer_out_tax(&inv) else {
            total = total.saturating_sub(1);
            continue;
        };
        if r.transfer_out_of(id, k)?.is_some() {
            total = total.saturating_sub(1);
            continue;
        }
        out.push(Candidate { invoice: inv, tax });
    }
    out.sort_by(|a, b| {
        (a.invoice.issued_on, &a.invoice.key).cmp(&(b.invoice.issued_on, &b.invoice.key))
    });
    Ok((out, total))
}

/// Every transfer-out `id` recorded, newest first.
pub fn recorded(app: &App, id: &TaxpayerId) -> AppResult<Vec<TransferOut>> {
    let mut all = app.store.read()?.transfers_out(id)?;
    all.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.key.cmp(&b.key)));
    Ok(all)
}

/// The transfers recorded for `period`: how many and their tax (the workbench's figure).
pub fn period_total(app: &App, id: &TaxpayerId, period: TaxPeriod) -> AppResult<(u64, Fen)> {
    let all = app.store.read()?.transfers_out(id)?;
    Ok(all
        .iter()
        .filter(|t| t.period == period)
        .fold((0, Fen::ZERO), |(n, tax), t| (n + 1, tax + t.tax)))
}

/// Records 进项税额转出 of `keys` for `period` (the current one, or 422), one transaction.
pub fn record(
    app: &App,
    who: &Who,
    id: &TaxpayerId,
    period: TaxPeriod,
    keys: &[InvoiceKey],
) -> AppResult<TransferReport> {
    if keys.len() > MAX_TRANSFER_ROWS {
        return Err(AppError::new(Code::TooLarge).with_message(format!(
            "一次最多提交{MAX_TRANSFER_ROWS}张发票的进项税额转出"
        )));
    }
    settled(app, who, id)?;
    let c = ctx(app, who);
    app.store.write(who, |tx| {
        engine::record_transfers_out(tx, &c, id, period, keys)
    })
}

/// A candidate as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CandidateView {
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
    #[schema(value_type = i64)]
    pub amount: Fen,
    #[schema(value_type = i64)]
    pub tax: Fen,
    /// 发票状态：`voided`、`red_reversed`、`out_of_control` 或 `abnormal`。
    #[schema(value_type = String, example = "out_of_control")]
    pub status: InvoiceStatus,
    /// 认证（抵扣）的税款所属期。
    #[schema(value_type = Option<String>, example = "202611")]
    pub certified_period: Option<TaxPeriod>,
    /// 应转出的进项税额（分）：发票抵扣的有效税额。
    #[schema(value_type = i64)]
    pub transfer_tax: Fen,
}

impl From<&Candidate> for CandidateView {
    fn from(c: &Candidate) -> Self {
        let i = &c.invoice;
        CandidateView {
            code: i.key.code().map(str::to_owned),
            number: i.key.number().to_string(),
            kind: i.kind,
            issued_on: i.issued_on,
            seller_id: i.seller_id.clone(),
            seller_name: i.seller_name.clone(),
            amount: i.amount,
            tax: i.tax,
            status: i.status,
            certified_period: i.selection.period(),
            transfer_tax: c.tax,
        }
    }
}

/// A recorded transfer-out as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TransferView {
    /// 发票代码；数电票、海关缴款书没有（`null`）。
    pub code: Option<String>,
    pub number: String,
    /// 转出所属的税款所属期。
    #[schema(value_type = String, example = "202611")]
    pub period: TaxPeriod,
    /// 转出的进项税额（分）。
    #[schema(value_type = i64)]
    pub tax: Fen,
    /// 记录转出时的发票状态。
    #[schema(value_type = String, example = "out_of_control")]
    pub status: InvoiceStatus,
    /// 记录时间（RFC 3339）。
    pub at: String,
}

impl From<&TransferOut> for TransferView {
    fn from(t: &TransferOut) -> Self {
        TransferView {
            code: t.key.code().map(str::to_owned),
            number: t.key.number().to_string(),
            period: t.period,
            tax: t.tax,
            status: t.status,
            at: t.at.to_rfc3339(),
        }
    }
}

/// A list of candidates or of recorded transfers: how many, their tax, the rows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CandidateList {
    pub count: u64,
    #[schema(value_type = i64)]
    pub tax: Fen,
    pub items: Vec<CandidateView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TransferList {
    pub count: u64,
    #[schema(value_type = i64)]
    pub tax: Fen,
    pub items: Vec<TransferView>,
}

impl TransferList {
    pub fn of(items: &[TransferOut]) -> TransferList {
        TransferList {
            count: items.len() as u64,
            tax: items.iter().map(|t| t.tax).sum(),
            items: items.iter().map(TransferView::from).collect(),
        }
    }
}

/// `GET /api/v1/transfers-out`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TransfersView {
    /// 当前税款所属期：转出只能记录在该所属期。
    #[schema(value_type = String, example = "202611")]
    pub current_period: TaxPeriod,
    /// 需要做进项税额转出、尚未转出的发票。
    pub candidates: CandidateList,
    /// 已记录的进项税额转出（新的在前）。
    pub recorded: TransferList,
}

/// Candidates and recorded transfers of `id`, settled at `who.now`.
pub fn overview(app: &App, who: &Who, id: &TaxpayerId) -> AppResult<TransfersView> {
    let t = settled(app, who, id)?;
    let (cands, total) = candidates(app, id)?;
    let recorded = recorded(app, id)?;
    Ok(TransfersView {
        current_period: t.current_period,
        candidates: CandidateList {
            count: total.max(cands.len() as u64),
            tax: cands.iter().map(|c| c.tax).sum(),
            items: cands.iter().map(CandidateView::from).collect(),
        },
        recorded: TransferList::of(&recorded),
    })
}

/// The answer of `POST /api/v1/transfers-out`: what was recorded, and each refused row.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecordedView {
    pub count: u64,
    #[schema(value_type = i64)]
    pub tax: Fen,
    pub items: Vec<TransferView>,
    pub rejected: Vec<RejectedView>,
}

impl From<TransferReport> for RecordedView {
    fn from(r: TransferReport) -> Self {
        RecordedView {
            count: r.recorded.len() as u64,
            tax: r.tax,
            items: r.recorded.iter().map(TransferView::from).collect(),
            rejected: r
                .rejected
                .into_iter()
                .map(|(_, key, why)| RejectedView {
                    code: key.code().map(str::to_owned),
                    number: key.number().to_string(),
                    reason: why.code(),
                    message: why.message(),
                    row: None,
                })
                .collect(),
        }
    }
}
