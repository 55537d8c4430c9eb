//! Invoices with their histories, the table of selected (已勾选) invoices kept in step with
//! them, the 批量勾选 operation logs, and the scan records waiting for the statistics job.

use redb::{ReadableTable, ReadableTableMetadata};

use super::{
    dec, enc, Tables, BULK_LOG, INVOICES, INVOICE_EVENTS, PENDING_SCANS, REFUND_REGISTRATIONS,
    SELECTED, TRANSFERS_OUT,
};
use crate::domain::engine::SelectedRow;
use crate::domain::{
    BulkUpload, Invoice, InvoiceEvent, InvoiceKey, InvoiceUse, RefundRegistration, ScanRecord,
    SelectionState, TaxPeriod, TaxpayerId, TransferOut,
};
use crate::error::{AppError, AppResult};
use crate::store::codec::{self, date_to_days};
use crate::store::Tx;

/// Getters of the invoices' tables, on a [`Reader`](crate::store::Reader) or a [`Tx`].
pub trait InvoiceReads: Tables {
    fn invoice(&self, key: &InvoiceKey) -> AppResult<Option<Invoice>> {
        let t = self.table(INVOICES)?;
        let v = t.get(key.to_u128())?;
        v.map(|g| codec::decode_invoice(key.clone(), g.value()).map_err(AppError::internal))
            .transpose()
    }

    /// The invoices of `keys` that exist, in the order given (one table open).
    fn invoices_by_keys(&self, keys: &[InvoiceKey]) -> AppResult<Vec<Invoice>> {
        let t = self.table(INVOICES)?;
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(g) = t.get(key.to_u128())? {
                out.push(
                    codec::decode_invoice(key.clone(), g.value()).map_err(AppError::internal)?,
                );
            }
        }
        Ok(out)
    }

    fn invoice_count(&self) -> AppResult<u64> {
        Ok(self.table(INVOICES)?.len()?)
    }

    /// Every invoice bought by `buyer`, in key order. A full scan: for tools and
    /// tests; queries go through the index.
    fn invoices_of(&self, buyer: &TaxpayerId) -> AppResult<Vec<Invoice>> {
        let mut out = Vec::new();
        self.for_each_invoice_batch(50_000, |batch| {
            out.extend(batch.into_iter().filter(|i| &i.buyer_id == buyer));
            Ok(())
        })?;
        Ok(out)
    }

    /// Every invoice, in key order, in batches of `batch` (for rebuilding the index).
    fn for_each_invoice_batch(
        &self,
        batch: usize,
        mut f: impl FnMut(Vec<Invoice>) -> AppResult<()>,
    ) -> AppResult<()> {
        let t = self.table(INVOICES)?;
        let mut buf = Vec::with_capacity(batch);
        for row in t.iter()? {
            let (k, v) = row?;
            let key = InvoiceKey::from_u128(k.value())
                .ok_or_else(|| AppError::internal("bad invoice key"))?;
            buf.push(codec::decode_invoice(key, v.value()).map_err(AppError::internal)?);
            if buf.len() >= batch {
                f(std::mem::take(&mut buf))?;
            }
        }
        if !buf.is_empty() {
            f(buf)?;
        }
        Ok(())
    }

    /// Keys of the taxpayer's 已勾选 invoices issued before `before` (all if `None`),
    /// oldest issue first.
    fn selected_keys(
        &self,
        taxpayer: &TaxpayerId,
        before: Option<chrono::NaiveDate>,
    ) -> AppResult<Vec<InvoiceKey>> {
        let t = self.table(SELECTED)?;
        let end = before.map_or(i32::MAX, date_to_days);
        let mut out = Vec::new();
        for row in t.range((taxpayer.as_str(), i32::MIN, 0u128)..(taxpayer.as_str(), end, 0u128))? {
            let (k, _) = row?;
            let (_, _, key) = k.value();
            out.push(
                InvoiceKey::from_u128(key).ok_or_else(|| AppError::internal("bad invoice key"))?,
            );
        }
        Ok(out)
    }

    /// The taxpayer's 已勾选 invoices with each selection's period and use.
    fn selected_rows(&self, taxpayer: &TaxpayerId) -> AppResult<Vec<SelectedRow>> {
        let t = self.table(SELECTED)?;
        let mut out = Vec::new();
        for row in
            t.range((taxpayer.as_str(), i32::MIN, 0u128)..(taxpayer.as_str(), i32::MAX, 0u128))?
        {
            let (k, v) = row?;
            let (_, _, key) = k.value();
            let (period, use_) = selected_row(v.value())?;
            out.push(SelectedRow {
                key: InvoiceKey::from_u128(key)
                    .ok_or_else(|| AppError::internal("bad invoice key"))?,
                period,
                use_,
            });
        }
        Ok(out)
    }

    /// The taxpayer's registration for 退税 (none without a row).
    fn refund_registration(&self, taxpayer: &TaxpayerId) -> AppResult<RefundRegistration> {
        let t = self.table(REFUND_REGISTRATIONS)?;
        let v = t.get(taxpayer.as_str())?.map(|g| g.value());
        Ok(v.map(RefundRegistration::from_bits).unwrap_or_default())
    }

    /// The 进项税额转出 recorded for one of the taxpayer's invoices.
    fn transfer_out_of(
        &self,
        taxpayer: &TaxpayerId,
        key: &InvoiceKey,
    ) -> AppResult<Option<TransferOut>> {
        let t = self.table(TRANSFERS_OUT)?;
        let v = t.get((taxpayer.as_str(), key.to_u128()))?;
        v.map(|g| dec(g.value())).transpose()
    }

    /// Every 进项税额转出 the taxpayer recorded, by invoice key.
    fn transfers_out(&self, taxpayer: &TaxpayerId) -> AppResult<Vec<TransferOut>> {
        let t = self.table(TRANSFERS_OUT)?;
        let mut out = Vec::new();
        for row in t.range((taxpayer.as_str(), 0u128)..=(taxpayer.as_str(), u128::MAX))? {
            let (_, v) = row?;
            out.push(dec(v.value())?);
        }
        Ok(out)
    }

    /// The recorded history of an invoice, oldest first.
    fn invoice_events(&self, key: &InvoiceKey) -> AppResult<Vec<InvoiceEvent>> {
        let t = self.table(INVOICE_EVENTS)?;
        let k = key.to_u128();
        let mut out = Vec::new();
        for row in t.range((k, 0u32)..=(k, u32::MAX))? {
            let (_, v) = row?;
            out.push(dec(v.value())?);
        }
        Ok(out)
    }

    /// The taxpayer's 批量勾选 operation log, newest first, at most `limit` entries.
    fn bulk_log(&self, taxpayer: &TaxpayerId, limit: usize) -> AppResult<Vec<BulkUpload>> {
        let t = self.table(BULK_LOG)?;
        let mut out = Vec::new();
        for row in t
            .range((taxpayer.as_str(), 0u32)..=(taxpayer.as_str(), u32::MAX))?
            .rev()
            .take(limit)
        {
            let (_, v) = row?;
            out.push(dec(v.value())?);
        }
        Ok(out)
    }

    /// Scan records waiting for the statistics job, in key order.
    fn pending_scans(&self) -> AppResult<Vec<(InvoiceKey, ScanRecord)>> {
        let t = self.table(PENDING_SCANS)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (k, v) = row?;
            let key = InvoiceKey::from_u128(k.value())
                .ok_or_else(|| AppError::internal("bad invoice key"))?;
            out.push((key, dec(v.value())?));
        }
        Ok(out)
    }

    fn pending_scan(&self, key: &InvoiceKey) -> AppResult<Option<ScanRecord>> {
        let t = self.table(PENDING_SCANS)?;
        let v = t.get(key.to_u128())?;
        v.map(|g| dec(g.value())).transpose()
    }
}

impl<T: Tables> InvoiceReads for T {}

/// The value of a [`SELECTED`] row: the period, and above bit 24 the use's code when it is
/// not 抵扣 (so rows written before uses existed read as 抵扣).
fn selected_value(period: TaxPeriod, use_: Option<InvoiceUse>) -> u32 {
    match use_ {
        None | Some(InvoiceUse::Deduct) => period.as_u32(),
        Some(u) => period.as_u32() | (u32::from(u.code()) << 24),
    }
}

fn selected_row(v: u32) -> AppResult<(TaxPeriod, InvoiceUse)> {
    let period = TaxPeriod::from_u32(v & 0x00ff_ffff)
        .ok_or_else(|| AppError::internal("bad selected period"))?;
    let use_ = match v >> 24 {
        0 => InvoiceUse::Deduct,
        c => u8::try_from(c)
            .ok()
            .and_then(InvoiceUse::from_code)
            .ok_or_else(|| AppError::internal("bad selected use"))?,
    };
    Ok((period, use_))
}

/// The period an invoice is certified in, if it is (its statistics depend on it).
fn certified_period(s: &SelectionState) -> Option<u32> {
    match s {
        SelectionState::Confirmed { period, .. } | SelectionState::Scanned { period, .. } => {
            Some(period.as_u32())
        }
        SelectionState::Unselected | SelectionState::Selected { .. } => None,
    }
}

impl Tx {
    /// Writes invoices (new or changed) and keeps the table of selected invoices in step.
    /// An invoice's buyer and issue date never change once it is stored: the selected
    /// table's keys and the index's sort order (which finds an invoice's documents by them)
    /// rest on it, so a change of either fails the transaction.
    pub fn put_invoices<'a>(
        &mut self,
        invoices: impl IntoIterator<Item = &'a Invoice>,
    ) -> AppResult<u64> {
        let mut inv = self.txn.open_table(INVOICES)?;
        let mut selected = self.txn.open_table(SELECTED)?;
        let mut n = 0;
        for i in invoices {
            let k = i.key.to_u128();
            let sel_key = (i.buyer_id.as_str(), date_to_days(i.issued_on), k);
            match i.selection {
                SelectionState::Selected { period } => {
                    selected.insert(sel_key, selected_value(period, i.use_()))?;
                }
                _ => {
                    selected.remove(sel_key)?;
                }
            }
            let bytes = codec::encode_invoice(i).map_err(AppError::internal)?;
            let old = inv.insert(k, bytes.as_slice())?.map(|g| g.value().to_vec());
            if let Some(p) = certified_period(&i.selection) {
                self.stale.insert((i.buyer_id.as_str().to_string(), p));
            }
            if let Some(old) = &old {
                let old = codec::decode_invoice(i.key.clone(), old).map_err(AppError::internal)?;
                if old.buyer_id != i.buyer_id || old.issued_on != i.issued_on {
                    return Err(AppError::internal(format!(
                        "invoice {}: its buyer or issue date would change",
                        i.key
                    )));
                }
                if let Some(p) = certified_period(&old.selection) {
                    self.stale.insert((old.buyer_id.as_str().to_string(), p));
                }
            }
            if old.is_some() {
                self.updated.push(i.clone());
            } else {
                self.new.push(i.clone());
            }
            n += 1;
        }
        Ok(n)
    }

    /// Inserts new invoices given with their encoded rows (see `codec::encode_invoice`), in
    /// one pass: a key already present keeps its stored row and is reported as unchanged
    /// when the invoice is the same issue, or by its line as a conflict otherwise (the caller
    /// then fails the transaction). The inserted invoices are moved, not copied, into the
    /// transaction's change list (a bulk load's chunk is then held once, not twice).
    pub fn insert_new_invoices(
        &mut self,
        rows: Vec<(usize, Invoice, Vec<u8>)>,
    ) -> AppResult<(u64, u64, Vec<usize>)> {
        let mut inv = self.txn.open_table(INVOICES)?;
        let mut selected = self.txn.open_table(SELECTED)?;
        let (mut inserted, mut unchanged, mut conflicts) = (0u64, 0u64, Vec::new());
        for (line, i, bytes) in rows {
            let k = i.key.to_u128();
            let old = inv.insert(k, bytes.as_slice())?.map(|g| g.value().to_vec());
            match old {
                None => {
                    if let Some(p) = certified_period(&i.selection) {
                        self.stale.insert((i.buyer_id.as_str().to_string(), p));
                    }
                    if let SelectionState::Selected { period } = i.selection {
                        selected.insert(
                            (i.buyer_id.as_str(), date_to_days(i.issued_on), k),
                            period.as_u32(),
                        )?;
                    }
                    self.new.push(i);
                    inserted += 1;
                }
                Some(old) => {
                    let existing =
                        codec::decode_invoice(i.key.clone(), &old).map_err(AppError::internal)?;
                    inv.insert(k, old.as_slice())?;
                    if existing.same_issue(&i) {
                        unchanged += 1;
                    } else {
                        conflicts.push(line);
                    }
                }
            }
        }
        Ok((inserted, unchanged, conflicts))
    }

    /// Appends an event to an invoice's history.
    pub fn put_refund_registration(
        &mut self,
        taxpayer: &TaxpayerId,
        r: RefundRegistration,
    ) -> AppResult<()> {
        let mut t = self.open(REFUND_REGISTRATIONS)?;
        if r == RefundRegistration::default() {
            t.remove(taxpayer.as_str())?;
        } else {
            t.insert(taxpayer.as_str(), r.bits())?;
        }
        Ok(())
    }

    pub fn put_transfer_out(&mut self, x: &TransferOut) -> AppResult<()> {
        let bytes = enc(x)?;
        self.open(TRANSFERS_OUT)?
            .insert((x.taxpayer.as_str(), x.key.to_u128()), bytes.as_slice())?;
        Ok(())
    }

    pub fn add_invoice_event(&mut self, key: &InvoiceKey, event: &InvoiceEvent) -> AppResult<()> {
        let bytes = enc(event)?;
        let mut t = self.open(INVOICE_EVENTS)?;
        let k = key.to_u128();
        let next = match t.range((k, 0u32)..=(k, u32::MAX))?.next_back() {
            Some(row) => row?.0.value().1 + 1,
            None => 0,
        };
        t.insert((k, next), bytes.as_slice())?;
        Ok(())
    }

    /// Appends a 批量勾选 upload to the taxpayer's operation log.
    pub fn add_bulk_upload(&mut self, taxpayer: &TaxpayerId, u: &BulkUpload) -> AppResult<()> {
        let bytes = enc(u)?;
        let mut t = self.open(BULK_LOG)?;
        let next = match t
            .range((taxpayer.as_str(), 0u32)..=(taxpayer.as_str(), u32::MAX))?
            .next_back()
        {
            Some(row) => row?.0.value().1 + 1,
            None => 0,
        };
        t.insert((taxpayer.as_str(), next), bytes.as_slice())?;
        Ok(())
    }

    pub fn put_pending_scan(&mut self, key: &InvoiceKey, r: &ScanRecord) -> AppResult<()> {
        let bytes = enc(r)?;
        self.open(PENDING_SCANS)?
            .insert(key.to_u128(), bytes.as_slice())?;
        Ok(())
    }

    pub fn remove_pending_scan(&mut self, key: &InvoiceKey) -> AppResult<()> {
        self.open(PENDING_SCANS)?.remove(key.to_u128())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::engine::tests::{at, day, invoice, key, me};
    use crate::domain::{Fen, TaxpayerId};
    use crate::store::prelude::*;
    use crate::store::{Store, Who};

    /// A changed invoice keeps its buyer and issue date: a write that would move either
    /// fails whole and changes nothing; other changes go through.
    #[test]
    fn a_stored_invoice_keeps_its_buyer_and_issue_date() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("f.redb"), false).unwrap();
        let who = Who::system("test", at(2026, 11, 23, 10, 0, 0));
        let put = |invoices: &[crate::domain::Invoice]| {
            store.write(&who, |tx| {
                tx.put_invoices(invoices)?;
                tx.audit("test.put", "", "");
                Ok(())
            })
        };
        let first = invoice(1, me(), day(2026, 11, 1));
        put(std::slice::from_ref(&first)).unwrap();
        let mut moved = first.clone();
        moved.issued_on = day(2026, 10, 1);
        let mut other = invoice(2, me(), day(2026, 11, 2));
        assert!(put(&[other.clone(), moved]).is_err());
        let mut bought = first.clone();
        bought.buyer_id = TaxpayerId::parse("914403001922038216").unwrap();
        assert!(put(std::slice::from_ref(&bought)).is_err());
        let r = store.read().unwrap();
        assert_eq!(r.invoice(&key(1)).unwrap(), Some(first.clone()));
        assert_eq!(r.invoice(&key(2)).unwrap(), None);
        drop(r);
        other.amount = Fen::new(5);
        let mut paid = first.clone();
        paid.amount = Fen::new(7);
        put(&[other.clone(), paid.clone()]).unwrap();
        let r = store.read().unwrap();
        assert_eq!(r.invoice(&key(1)).unwrap(), Some(paid));
        assert_eq!(r.invoice(&key(2)).unwrap(), Some(other));
    }
}
