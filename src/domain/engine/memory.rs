//! An in-memory [`Book`] for the engine's tests: plain maps, and the set of selected
//! invoices computed from the invoices themselves (the model the store's table must match).

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{Book, Ledger, Refusal, SelectedRow};
use crate::domain::{
    BatchStatus, ConfirmationBatch, DeclarationStatus, Invoice, InvoiceEvent, InvoiceKey,
    RefundRegistration, Region, SelectionState, TaxPeriod, Taxpayer, TaxpayerId, TransferOut,
};

#[derive(Debug, Clone, Default)]
pub struct MemoryBook {
    pub taxpayers: BTreeMap<TaxpayerId, Taxpayer>,
    pub invoices: BTreeMap<u128, Invoice>,
    pub batches: BTreeMap<(TaxpayerId, TaxPeriod, u32), ConfirmationBatch>,
    pub declarations: BTreeMap<(TaxpayerId, TaxPeriod), DeclarationStatus>,
    pub deadlines: BTreeMap<(Region, TaxPeriod), NaiveDate>,
    pub events: BTreeMap<u128, Vec<InvoiceEvent>>,
    pub audits: Vec<(String, String, String)>,
    pub registrations: BTreeMap<TaxpayerId, RefundRegistration>,
    pub transfers: BTreeMap<u128, TransferOut>,
}

impl Ledger for MemoryBook {
    type Error = Refusal;

    fn taxpayer(&self, id: &TaxpayerId) -> Result<Option<Taxpayer>, Refusal> {
        Ok(self.taxpayers.get(id).cloned())
    }

    fn invoice(&self, key: &InvoiceKey) -> Result<Option<Invoice>, Refusal> {
        Ok(self.invoices.get(&key.to_u128()).cloned())
    }

    fn selected(
        &self,
        taxpayer: &TaxpayerId,
        before: Option<NaiveDate>,
    ) -> Result<Vec<InvoiceKey>, Refusal> {
        Ok(self
            .invoices
            .values()
            .filter(|i| &i.buyer_id == taxpayer)
            .filter(|i| matches!(i.selection, SelectionState::Selected { .. }))
            .filter(|i| before.is_none_or(|d| i.issued_on < d))
            .map(|i| i.key.clone())
            .collect())
    }

    fn batches(
        &self,
        taxpayer: &TaxpayerId,
        period: TaxPeriod,
    ) -> Result<Vec<ConfirmationBatch>, Refusal> {
        Ok(self
            .batches
            .values()
            .filter(|b| &b.taxpayer == taxpayer && b.period == period)
            .cloned()
            .collect())
    }

    fn pending_batches_before(
        &self,
        taxpayer: &TaxpayerId,
        before: TaxPeriod,
    ) -> Result<Vec<ConfirmationBatch>, Refusal> {
        let mut out: Vec<ConfirmationBatch> = self
            .batches
            .values()
            .filter(|b| &b.taxpayer == taxpayer && b.period < before)
            .filter(|b| b.status == BatchStatus::Pending)
            .cloned()
            .collect();
        out.sort_by_key(|b| (b.period, b.number));
        Ok(out)
    }

    fn declaration(
        &self,
        taxpayer: &TaxpayerId,
        period: TaxPeriod,
    ) -> Result<Option<DeclarationStatus>, Refusal> {
        Ok(self.declarations.get(&(taxpayer.clone(), period)).copied())
    }

    fn recorded_deadline(
        &self,
        region: Region,
        period: TaxPeriod,
    ) -> Result<Option<NaiveDate>, Refusal> {
        Ok(self.deadlines.get(&(region, period)).copied())
    }

    fn selected_uses(&self, taxpayer: &TaxpayerId) -> Result<Vec<SelectedRow>, Refusal> {
        Ok(self
            .invoices
            .values()
            .filter(|i| &i.buyer_id == taxpayer)
            .filter_map(|i| match i.selection {
                SelectionState::Selected { period } => Some(SelectedRow {
                    key: i.key.clone(),
                    period,
                    use_: i.use_().unwrap_or_default(),
                }),
                _ => None,
            })
            .collect())
    }

    fn registration(&self, taxpayer: &TaxpayerId) -> Result<RefundRegistration, Refusal> {
        Ok(self
            .registrations
            .get(taxpayer)
            .copied()
            .unwrap_or_default())
    }

    fn transfer_out(
        &self,
        taxpayer: &TaxpayerId,
        key: &InvoiceKey,
    ) -> Result<Option<TransferOut>, Refusal> {
        Ok(self
            .transfers
            .get(&key.to_u128())
            .filter(|t| &t.taxpayer == taxpayer)
            .cloned())
    }
}

impl Book for MemoryBook {
    fn put_taxpayer(&mut self, t: &Taxpayer) -> Result<(), Refusal> {
        self.taxpayers.insert(t.id.clone(), t.clone());
        Ok(())
    }

    fn put_invoice(&mut self, invoice: &Invoice) -> Result<(), Refusal> {
        self.invoices.insert(invoice.key.to_u128(), invoice.clone());
        Ok(())
    }

    fn put_batch(&mut self, batch: &ConfirmationBatch) -> Result<(), Refusal> {
        self.batches.insert(
            (batch.taxpayer.clone(), batch.period, batch.number),
            batch.clone(),
        );
        Ok(())
    }

    fn put_declaration(
        &mut self,
        taxpayer: &TaxpayerId,
        period: TaxPeriod,
        status: DeclarationStatus,
    ) -> Result<(), Refusal> {
        self.declarations.insert((taxpayer.clone(), period), status);
        Ok(())
    }

    fn put_registration(
        &mut self,
        taxpayer: &TaxpayerId,
        registration: RefundRegistration,
    ) -> Result<(), Refusal> {
        self.registrations.insert(taxpayer.clone(), registration);
        Ok(())
    }

    fn put_transfer_out(&mut self, t: &TransferOut) -> Result<(), Refusal> {
        self.transfers.insert(t.key.to_u128(), t.clone());
        Ok(())
    }

    fn record(&mut self, key: &InvoiceKey, event: InvoiceEvent) -> Result<(), Refusal> {
        self.events.entry(key.to_u128()).or_default().push(event);
        Ok(())
    }

    fn audit(&mut self, action: &str, target: &str, detail: String) {
        self.audits
            .push((action.to_string(), target.to_string(), detail));
    }
}
