//! The period, selection and confirmation engine: the operations of S-P1–S-P3, S-T6–S-T8 and
//! S-O3/S-O4 applied to a taxpayer's records through the [`Book`] port.
//!
//! The rules themselves live in [`super::rules`]; this module applies them in one place so
//! that the store (one redb write transaction per operation) and the in-memory book of the
//! tests run exactly the same code. No clock reads: the time comes in [`Ctx`]. Every
//! operation first *settles* the taxpayer — closes every window whose declaration was
//! recorded or whose deadline day has ended, and drops selections past the time limit — so
//! a server that was down at midnight loses no transition.
//!
//! This file holds the ports ([`Ledger`], [`Book`]), the context ([`Ctx`]), the refusals
//! ([`Refusal`]) and the few steps every operation shares; the operations are in:
//! - `settlement`: [`deadline_of`], [`pending_settlement`], [`settle`];
//! - `selection`: [`save_selection`], [`save_file_selection`] (保存, 批量勾选);
//! - `confirmation`: [`batch_outcome`], [`make_batch`], [`submit`] (确定, 提交);
//! - `rollback`: [`rollback_facts`], [`rollback`] (回退税款所属期);
//! - `office`: [`record_declaration`], [`change_status`];
//! - `scan`: [`check_scan`], [`apply_scan`] (扫描认证).
//!
//! Everything is re-exported here, so callers write `engine::settle`, `engine::BatchOutcome`.

use chrono::{DateTime, FixedOffset, NaiveDate};

use super::rules::{RollbackRefusal, VoidReason};
use super::{
    Actor, BatchStatus, ConfirmationBatch, DeclarationStatus, DomainError, Invoice, InvoiceChange,
    InvoiceEvent, InvoiceKey, InvoiceUse, RefundRegistration, Region, SelectionState, TaxPeriod,
    Taxpayer, TaxpayerId, TransferOut, UnselectReason,
};

mod confirmation;
mod office;
mod rollback;
mod scan;
mod selection;
mod settlement;
mod usage;

pub use confirmation::{batch_outcome, make_batch, submit, BatchOutcome};
pub use office::{change_audit, change_status, record_declaration};
pub use rollback::{rollback, rollback_facts};
pub use scan::{apply_scan, check_scan, ScanRefusal};
pub use selection::{
    save_file_selection, save_rows, save_selection, RejectedRow, SelectionMode, SelectionReport,
    SelectionRow,
};
pub use settlement::{deadline_of, pending_settlement, settle, Settlement};
pub use usage::{record_transfers_out, set_registration, TransferReport};

/// Why an operation was refused as a whole. Storage errors are the book's own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("纳税人不存在")]
    TaxpayerNotFound,
    #[error("发票不存在")]
    InvoiceNotFound,
    #[error("确认批次不存在")]
    BatchNotFound,
    /// 确定 with nothing 已勾选.
    #[error("当前没有已勾选未确认的发票")]
    NothingSelected,
    /// The selection moved after 确定.
    #[error("确定后勾选的发票发生了变化，请重新点击“确定”")]
    SelectionChanged,
    /// 提交 in the filing period without an answer.
    #[error("请选择是否已完成本期申报")]
    DeclarationAnswerRequired { period: TaxPeriod },
    #[error("{}", .0.message())]
    Rollback(RollbackRefusal),
    #[error("{0}")]
    Invalid(DomainError),
}

/// Reads the engine needs.
pub trait Ledger {
    type Error: From<Refusal>;

    fn taxpayer(&self, id: &TaxpayerId) -> Result<Option<Taxpayer>, Self::Error>;
    fn invoice(&self, key: &InvoiceKey) -> Result<Option<Invoice>, Self::Error>;
    /// The taxpayer's 已勾选 invoices issued before `before` (all when `None`).
    fn selected(
        &self,
        taxpayer: &TaxpayerId,
        before: Option<NaiveDate>,
    ) -> Result<Vec<InvoiceKey>, Self::Error>;
    /// The taxpayer's confirmation batches of `period`, by number.
    fn batches(
        &self,
        taxpayer: &TaxpayerId,
        period: TaxPeriod,
    ) -> Result<Vec<ConfirmationBatch>, Self::Error>;
    /// The taxpayer's 待确认 (pending) batches of periods before `before`, oldest first.
    fn pending_batches_before(
        &self,
        taxpayer: &TaxpayerId,
        before: TaxPeriod,
    ) -> Result<Vec<ConfirmationBatch>, Self::Error>;
    fn declaration(
        &self,
        taxpayer: &TaxpayerId,
        period: TaxPeriod,
    ) -> Result<Option<DeclarationStatus>, Self::Error>;
    /// The deadline the office recorded for the region and period, if any.
    fn recorded_deadline(
        &self,
        region: Region,
        period: TaxPeriod,
    ) -> Result<Option<NaiveDate>, Self::Error>;
    /// The taxpayer's 已勾选 invoices with each selection's period and use.
    fn selected_uses(&self, taxpayer: &TaxpayerId) -> Result<Vec<SelectedRow>, Self::Error>;
    /// The taxpayer's registration for 退税 / 代办退税 (none when never recorded).
    fn registration(&self, taxpayer: &TaxpayerId) -> Result<RefundRegistration, Self::Error>;
    /// The 进项税额转出 recorded for an invoice, if any.
    fn transfer_out(
        &self,
        taxpayer: &TaxpayerId,
        key: &InvoiceKey,
    ) -> Result<Option<TransferOut>, Self::Error>;
}

/// One 已勾选 invoice with its selection's period and use.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SelectedRow {
    pub key: InvoiceKey,
    pub period: TaxPeriod,
    pub use_: InvoiceUse,
}

/// Writes the engine makes, all inside one transaction of the implementation.
pub trait Book: Ledger {
    fn put_taxpayer(&mut self, t: &Taxpayer) -> Result<(), Self::Error>;
    /// Writes a changed invoice; the implementation keeps its set of selected invoices in
    /// step with `invoice.selection`.
    fn put_invoice(&mut self, invoice: &Invoice) -> Result<(), Self::Error>;
    fn put_batch(&mut self, batch: &ConfirmationBatch) -> Result<(), Self::Error>;
    fn put_declaration(
        &mut self,
        taxpayer: &TaxpayerId,
        period: TaxPeriod,
        status: DeclarationStatus,
    ) -> Result<(), Self::Error>;
    fn put_registration(
        &mut self,
        taxpayer: &TaxpayerId,
        registration: RefundRegistration,
    ) -> Result<(), Self::Error>;
    fn put_transfer_out(&mut self, t: &TransferOut) -> Result<(), Self::Error>;
    /// Appends to the invoice's history.
    fn record(&mut self, key: &InvoiceKey, event: InvoiceEvent) -> Result<(), Self::Error>;
    /// Appends to the audit log of this transaction.
    fn audit(&mut self, action: &str, target: &str, detail: String);
}

/// Who acts, when, under which configuration.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub actor: Actor,
    /// Business time, in the configured zone (+08:00 by default).
    pub now: DateTime<FixedOffset>,
    /// The certification time limit in days (0 = none).
    pub lookback_days: u32,
}

impl Ctx {
    pub fn today(&self) -> NaiveDate {
        self.now.date_naive()
    }
}

fn must_taxpayer<L: Ledger>(l: &L, id: &TaxpayerId) -> Result<Taxpayer, L::Error> {
    l.taxpayer(id)?
        .ok_or_else(|| Refusal::TaxpayerNotFound.into())
}

/// Appends `change` to the invoice's history, by the acting party, now.
fn record<B: Book>(
    b: &mut B,
    ctx: &Ctx,
    key: &InvoiceKey,
    change: InvoiceChange,
) -> Result<(), B::Error> {
    b.record(
        key,
        InvoiceEvent {
            at: ctx.now,
            actor: ctx.actor.clone(),
            change,
        },
    )
}

/// Sets the selection of every given invoice to 未勾选 with `why`; returns how many.
fn unselect_all<B: Book>(
    b: &mut B,
    ctx: &Ctx,
    keys: &[InvoiceKey],
    why: UnselectReason,
) -> Result<u64, B::Error> {
    let mut n = 0;
    for key in keys {
        let Some(mut inv) = b.invoice(key)? else {
            continue;
        };
        let SelectionState::Selected { period } = inv.selection else {
            continue;
        };
        inv.selection = SelectionState::Unselected;
        inv.usage = None;
        b.put_invoice(&inv)?;
        record(b, ctx, key, InvoiceChange::Unselected { period, why })?;
        n += 1;
    }
    Ok(n)
}

/// The 已勾选 invoices of the declaration period (抵扣 and 不抵扣), or of the month's 退税
/// (`refund`), in key order.
fn selected_of<L: Ledger>(
    l: &L,
    taxpayer: &TaxpayerId,
    refund: bool,
    use_: Option<InvoiceUse>,
) -> Result<Vec<InvoiceKey>, L::Error> {
    let mut keys: Vec<InvoiceKey> = l
        .selected_uses(taxpayer)?
        .into_iter()
        .filter(|r| r.use_.is_refund() == refund && use_.is_none_or(|u| u == r.use_))
        .map(|r| r.key)
        .collect();
    keys.sort();
    Ok(keys)
}

/// Voids the pending batches of `period` with `reason` (of every use but 退税's, which
/// belong to the month, not to the declaration).
fn void_pending<B: Book>(
    b: &mut B,
    taxpayer: &TaxpayerId,
    period: TaxPeriod,
    reason: VoidReason,
) -> Result<(), B::Error> {
    for mut batch in b.batches(taxpayer, period)? {
        if batch.status == BatchStatus::Pending && !batch.use_.is_refund() {
            batch.status = BatchStatus::Void;
            batch.void_reason = Some(reason);
            b.put_batch(&batch)?;
        }
    }
    Ok(())
}

#[cfg(test)]
pub mod memory;

#[cfg(test)]
pub(crate) mod tests;

#[cfg(test)]
mod uses_tests;
