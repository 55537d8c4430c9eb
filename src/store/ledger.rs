//! The store as the engine's ports: every [`Tables`] source (a [`Reader`](super::Reader) or
//! a [`Tx`]) is a [`Ledger`], and a [`Tx`] is a [`Book`].

use super::tables::Tables;
use super::{InvoiceReads, PeriodReads, TaxpayerReads, Tx};
use crate::domain::engine::{Book, Ledger, SelectedRow};
use crate::domain::{
    ConfirmationBatch, DeclarationStatus, Invoice, InvoiceEvent, InvoiceKey, RefundRegistration,
    Region, TaxPeriod, Taxpayer, TaxpayerId, TransferOut,
};
use crate::error::{AppError, AppResult};

impl<T: Tables> Ledger for T {
    type Error = AppError;

    fn taxpayer(&self, id: &TaxpayerId) -> AppResult<Option<Taxpayer>> {
        TaxpayerReads::taxpayer(self, id)
    }

    fn invoice(&self, key: &InvoiceKey) -> AppResult<Option<Invoice>> {
        InvoiceReads::invoice(self, key)
    }

    fn selected(
        &self,
        taxpayer: &TaxpayerId,
        before: Option<chrono::NaiveDate>,
    ) -> AppResult<Vec<InvoiceKey>> {
        self.selected_keys(taxpayer, before)
    }

    fn batches(
        &self,
        taxpayer: &TaxpayerId,
        period: TaxPeriod,
    ) -> AppResult<Vec<ConfirmationBatch>> {
        PeriodReads::batches(self, taxpayer, period)
    }

    fn pending_batches_before(
        &self,
        taxpayer: &TaxpayerId,
        before: TaxPeriod,
    ) -> AppResult<Vec<ConfirmationBatch>> {
        PeriodReads::pending_batches_before(self, taxpayer, before)
    }

    fn declaration(
        &self,
        taxpayer: &TaxpayerId,
        period: TaxPeriod,
    ) -> AppResult<Option<DeclarationStatus>> {
        PeriodReads::declaration(self, taxpayer, period)
    }

    fn recorded_deadline(
        &self,
        region: Region,
        period: TaxPeriod,
    ) -> AppResult<Option<chrono::NaiveDate>> {
        self.deadline(&region, period)
    }

    fn selected_uses(&self, taxpayer: &TaxpayerId) -> AppResult<Vec<SelectedRow>> {
        self.selected_rows(taxpayer)
    }

    fn registration(&self, taxpayer: &TaxpayerId) -> AppResult<RefundRegistration> {
        self.refund_registration(taxpayer)
    }

    fn transfer_out(
        &self,
        taxpayer: &TaxpayerId,
        key: &InvoiceKey,
    ) -> AppResult<Option<TransferOut>> {
        self.transfer_out_of(taxpayer, key)
    }
}

impl Book for Tx {
    fn put_taxpayer(&mut self, t: &Taxpayer) -> AppResult<()> {
        Tx::put_taxpayer(self, t)
    }

    fn put_registration(
        &mut self,
        taxpayer: &TaxpayerId,
        registration: RefundRegistration,
    ) -> AppResult<()> {
        self.put_refund_registration(taxpayer, registration)
    }

    fn put_transfer_out(&mut self, t: &TransferOut) -> AppResult<()> {
        Tx::put_transfer_out(self, t)
    }

    fn put_invoice(&mut self, invoice: &Invoice) -> AppResult<()> {
        self.put_invoices(std::iter::once(invoice)).map(|_| ())
    }

    fn put_batch(&mut self, batch: &ConfirmationBatch) -> AppResult<()> {
        Tx::put_batch(self, batch)
    }

    fn put_declaration(
        &mut self,
        taxpayer: &TaxpayerId,
        period: TaxPeriod,
        status: DeclarationStatus,
    ) -> AppResult<()> {
        Tx::put_declaration(self, taxpayer, period, status)
    }

    fn record(&mut self, key: &InvoiceKey, event: InvoiceEvent) -> AppResult<()> {
        if let crate::domain::InvoiceChange::Status { from, to } = event.change {
            self.note_status_change(key, from, to, event.at)?;
        }
        self.add_invoice_event(key, &event)
    }

    fn audit(&mut self, action: &str, target: &str, detail: String) {
        Tx::audit(self, action, target, detail);
    }
}
