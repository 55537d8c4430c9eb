//! What the tax office records (S-O3, S-O4, S-P4): declaration statuses and invoice statuses.

use super::{must_taxpayer, record, settle, unselect_all, Book, Ctx, Refusal};
use crate::domain::{
    DeclarationStatus, Invoice, InvoiceChange, InvoiceKey, InvoiceStatus, SelectionState,
    TaxPeriod, Taxpayer, TaxpayerId, UnselectReason,
};

/// Records a declaration status (S-P4, S-O4). 已申报 for the current period closes its
/// window (S-P2) at once. A later change of the status does not reopen a closed window.
pub fn record_declaration<B: Book>(
    b: &mut B,
    ctx: &Ctx,
    id: &TaxpayerId,
    period: TaxPeriod,
    status: DeclarationStatus,
) -> Result<Taxpayer, B::Error> {
    must_taxpayer(b, id)?;
    let before = b.declaration(id, period)?;
    b.put_declaration(id, period, status)?;
    b.audit(
        "declaration.record",
        &format!("{id} {period}"),
        format!(
            "{} → {}",
            before.map_or("none", DeclarationStatus::as_str),
            status.as_str()
        ),
    );
    settle(b, ctx, id)
}

/// Changes an invoice's status (S-O3). An 已勾选 invoice that stops being 正常 is no longer
/// selectable and returns to 未勾选; certified invoices keep their certification (they show
/// in the exception list of 抵扣统计).
pub fn change_status<B: Book>(
    b: &mut B,
    ctx: &Ctx,
    key: &InvoiceKey,
    status: InvoiceStatus,
) -> Result<Invoice, B::Error> {
    let mut inv = b.invoice(key)?.ok_or(Refusal::InvoiceNotFound)?;
    let from = inv.status;
    let target = format!("{} {}", key.code.as_str(), key.number.as_str());
    if from == status {
        b.audit(
            "invoice.status",
            &target,
            format!("{} unchanged", status.as_str()),
        );
        return Ok(inv);
    }
    inv.status = status;
    b.put_invoice(&inv)?;
    record(b, ctx, key, InvoiceChange::Status { from, to: status })?;
    if status != InvoiceStatus::Normal && matches!(inv.selection, SelectionState::Selected { .. }) {
        unselect_all(
            b,
            ctx,
            std::slice::from_ref(key),
            UnselectReason::StatusChanged,
        )?;
        inv.selection = SelectionState::Unselected;
    }
    b.audit(
        "invoice.status",
        &target,
        format!("{} → {}", from.as_str(), status.as_str()),
    );
    Ok(inv)
}
