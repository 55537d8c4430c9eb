//! What the tax office records (S-O3, S-O4, S-P4): declaration statuses and invoice statuses.

use super::{must_taxpayer, record, settle, unselect_all, Book, Ctx, Refusal};
use crate::domain::{
    CustomsAudit, DeclarationStatus, DomainError, Invoice, InvoiceChange, InvoiceKey,
    InvoiceStatus, InvoiceType, SelectionState, TaxPeriod, Taxpayer, TaxpayerId, UnselectReason,
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

/// Records a 海关缴款书's 稽核比对 result (the office loads it when the comparison returns).
/// An 已勾选 缴款书 whose result stops being 相符 returns to 未勾选, as with a status change.
pub fn change_audit<B: Book>(
    b: &mut B,
    ctx: &Ctx,
    key: &InvoiceKey,
    audit: CustomsAudit,
) -> Result<Invoice, B::Error> {
    let mut inv = b.invoice(key)?.ok_or(Refusal::InvoiceNotFound)?;
    if inv.kind != InvoiceType::Customs {
        return Err(Refusal::Invalid(DomainError::new(
            "audit_result",
            "只有海关缴款书有稽核比对结果",
        ))
        .into());
    }
    let from = inv.audit;
    let target = key.to_string();
    if from == Some(audit) {
        b.audit(
            "invoice.audit",
            &target,
            format!("{} unchanged", audit.as_str()),
        );
        return Ok(inv);
    }
    inv.audit = Some(audit);
    b.put_invoice(&inv)?;
    record(b, ctx, key, InvoiceChange::Audit { from, to: audit })?;
    if audit != CustomsAudit::Match && matches!(inv.selection, SelectionState::Selected { .. }) {
        unselect_all(
            b,
            ctx,
            std::slice::from_ref(key),
            UnselectReason::StatusChanged,
        )?;
        inv.selection = SelectionState::Unselected;
    }
    b.audit(
        "invoice.audit",
        &target,
        format!(
            "{} → {}",
            from.map_or("none", CustomsAudit::as_str),
            audit.as_str()
        ),
    );
    Ok(inv)
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
    let target = key.to_string();
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
