//! The office's record of an enterprise's 退税 registration, and 进项税额转出 (the taxpayer
//! records, for its current period, the tax of deducted invoices that became exceptions).

use std::collections::BTreeSet;

use super::{record, selected_of, settle, unselect_all, Book, Ctx, Refusal};
use crate::domain::rules;
use crate::domain::rules::VoidReason;
use crate::domain::{
    BatchStatus, DomainError, Fen, InvoiceChange, InvoiceKey, InvoiceUse, RefundRegistration,
    TaxPeriod, TaxpayerId, TransferOut, TransferRefusal, UnselectReason,
};

/// Records which rebates the enterprise is registered for (出口退税, 外贸综合服务). Withdrawing
/// a registration leaves confirmed 退税 as they are; selections for it not yet confirmed go
/// back to 未勾选 and its pending batches become void (they could not be confirmed).
pub fn set_registration<B: Book>(
    b: &mut B,
    ctx: &Ctx,
    id: &TaxpayerId,
    registration: RefundRegistration,
) -> Result<RefundRegistration, B::Error> {
    settle(b, ctx, id)?;
    let before = b.registration(id)?;
    if before != registration {
        let withdrawn: Vec<InvoiceUse> = [InvoiceUse::Refund, InvoiceUse::AgentRefund]
            .into_iter()
            .filter(|u| before.allows(*u) && !registration.allows(*u))
            .collect();
        for use_ in withdrawn {
            let keys = selected_of(b, id, true, Some(use_))?;
            unselect_all(b, ctx, &keys, UnselectReason::Registration)?;
            // Settled: only this month can have pending 退税 batches.
            for mut batch in b.batches(id, TaxPeriod::of_date(ctx.today()))? {
                {
                    if batch.status == BatchStatus::Pending && batch.use_ == use_ {
                        batch.status = BatchStatus::Void;
                        batch.void_reason = Some(VoidReason::RegistrationWithdrawn);
                        b.put_batch(&batch)?;
                    }
                }
            }
        }
        b.put_registration(id, registration)?;
        b.audit(
            "taxpayer.refund_registration",
            id.as_str(),
            format!(
                "{} → {}; by={}",
                before.label_zh(),
                registration.label_zh(),
                ctx.actor
            ),
        );
    }
    Ok(registration)
}

/// What a 进项税额转出 request did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransferReport {
    pub recorded: Vec<TransferOut>,
    pub tax: Fen,
    /// Refused invoices with their index in the request.
    pub rejected: Vec<(usize, InvoiceKey, TransferRefusal)>,
}

/// 进项税额转出: records, for `period` (which must be the taxpayer's current period), the tax
/// of each listed invoice that was certified for 抵扣 and has since become 失控, 异常, 作废 or
/// 红冲 ([`rules::transfer_out_tax`]). Each invoice is transferred once; other rows are
/// refused with their reason and the rest recorded.
pub fn record_transfers_out<B: Book>(
    b: &mut B,
    ctx: &Ctx,
    id: &TaxpayerId,
    period: TaxPeriod,
    keys: &[InvoiceKey],
) -> Result<TransferReport, B::Error> {
    let t = settle(b, ctx, id)?;
    if period != t.current_period {
        return Err(Refusal::Invalid(DomainError::new(
            "period",
            format!(
                "进项税额转出只能记录在当前税款所属期{}，不能记录在{}",
                t.current_period.label_zh(),
                period.label_zh()
            ),
        ))
        .into());
    }
    if keys.is_empty() {
        return Err(Refusal::Invalid(DomainError::new("invoices", "请选择需要转出的发票")).into());
    }
    let mut report = TransferReport::default();
    let mut seen = BTreeSet::new();
    for (i, key) in keys.iter().enumerate() {
        let refusal = if !seen.insert(key.to_u128()) {
            Some(TransferRefusal::DuplicateRow)
        } else {
            match b.invoice(key)? {
                Some(inv) if &inv.buyer_id == id => match b.transfer_out(id, key)? {
                    Some(done) => Some(TransferRefusal::AlreadyTransferred(done.period)),
                    None => match rules::transfer_out_tax(&inv) {
                        None => Some(TransferRefusal::NotRequired),
                        Some(tax) => {
                            let out = TransferOut {
                                taxpayer: id.clone(),
                                key: key.clone(),
                                period,
                                tax,
                                status: inv.status,
                                at: ctx.now,
                                by: ctx.actor.to_string(),
                            };
                            b.put_transfer_out(&out)?;
                            record(b, ctx, key, InvoiceChange::TransferredOut { period, tax })?;
                            report.tax += tax;
                            report.recorded.push(out);
                            None
                        }
                    },
                },
                _ => Some(TransferRefusal::UnknownInvoice),
            }
        };
        if let Some(r) = refusal {
            report.rejected.push((i, key.clone(), r));
        }
    }
    b.audit(
        "transfer_out.record",
        id.as_str(),
        format!(
            "period={period}; recorded={}; tax={}; rejected={}",
            report.recorded.len(),
            report.tax.value(),
            report.rejected.len()
        ),
    );
    Ok(report)
}

#[cfg(test)]
#[path = "usage_tests.rs"]
mod usage_tests;
