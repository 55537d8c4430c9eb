//! 确定 and 提交 (S-T6, S-T7): making the period's pending batch and submitting it.

use super::{
    deadline_of, must_taxpayer, record, selected_of, settle, unselect_all, void_pending, Book, Ctx,
    Ledger, Refusal,
};
use crate::domain::rules::{self, DeclarationAnswer, SubmitDecision, VoidReason};
use crate::domain::{
    BatchStatus, ConfirmationBatch, Fen, InvoiceChange, InvoiceUse, SelectionState, TaxPeriod,
    TaxpayerId, UnselectReason,
};

/// A batch with the period's running figures (S-T6: "这是本期的第几次确认操作，以及当期累计
/// 确认次数和当次的确认汇总数量").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    pub batch: ConfirmationBatch,
    /// Invoices confirmed in the period by submitted batches.
    pub period_confirmed_count: u64,
    /// Submitted batches of the period.
    pub period_batches: u64,
    /// The taxpayer's current period after the operation.
    pub current_period: TaxPeriod,
}

fn outcome<L: Ledger>(
    l: &L,
    batch: ConfirmationBatch,
    current_period: TaxPeriod,
) -> Result<BatchOutcome, L::Error> {
    let (mut count, mut batches) = (0, 0);
    for b in l.batches(&batch.taxpayer, batch.period)? {
        if b.status == BatchStatus::Submitted {
            count += b.count;
            batches += 1;
        }
    }
    Ok(BatchOutcome {
        batch,
        period_confirmed_count: count,
        period_batches: batches,
        current_period,
    })
}

/// One batch of a taxpayer with its period's figures (for history and detail).
pub fn batch_outcome<L: Ledger>(
    l: &L,
    id: &TaxpayerId,
    period: TaxPeriod,
    number: u32,
) -> Result<BatchOutcome, L::Error> {
    let t = must_taxpayer(l, id)?;
    let batch = l
        .batches(id, period)?
        .into_iter()
        .find(|b| b.number == number)
        .ok_or(Refusal::BatchNotFound)?;
    outcome(l, batch, t.current_period)
}

/// 确定: makes (or remakes) the pending batch (待提交) of everything 已勾选 for `use_`: of the
/// current tax period for 抵扣 and 不抵扣, of this month for 退税 and 代办退税. The batch's
/// tax adds up 有效税额 (the face tax for 不抵扣).
pub fn make_batch<B: Book>(
    b: &mut B,
    ctx: &Ctx,
    id: &TaxpayerId,
    use_: InvoiceUse,
) -> Result<BatchOutcome, B::Error> {
    let t = settle(b, ctx, id)?;
    let period = rules::use_period(use_, t.current_period, ctx.today());
    let keys = selected_of(b, id, use_.is_refund(), Some(use_))?;
    if keys.is_empty() {
        return Err(Refusal::NothingSelected.into());
    }
    let (mut amount, mut tax) = (Fen::ZERO, Fen::ZERO);
    for k in &keys {
        let inv = b.invoice(k)?.ok_or(Refusal::InvoiceNotFound)?;
        amount += inv.amount;
        tax += inv.effective_tax();
    }
    let existing = b.batches(id, period)?;
    let number = existing
        .iter()
        .find(|x| x.status == BatchStatus::Pending && x.use_ == use_)
        .map(|x| x.number)
        .unwrap_or_else(|| existing.iter().map(|x| x.number).max().unwrap_or(0) + 1);
    let batch = ConfirmationBatch {
        taxpayer: id.clone(),
        period,
        number,
        status: BatchStatus::Pending,
        count: keys.len() as u64,
        invoices: keys,
        amount,
        tax,
        made_at: ctx.now,
        submitted_at: None,
        void_reason: None,
        use_,
    };
    b.put_batch(&batch)?;
    b.audit(
        "confirmation.make",
        id.as_str(),
        format!(
            "period={period}; use={use_}; batch={number}; count={}; amount={}; tax={}",
            batch.count,
            batch.amount.value(),
            batch.tax.value()
        ),
    );
    outcome(b, batch, period)
}

/// 提交 (S-T6, S-T7). A batch that is already submitted or void is returned unchanged, so a
/// repeated 提交 is idempotent.
pub fn submit<B: Book>(
    b: &mut B,
    ctx: &Ctx,
    id: &TaxpayerId,
    period: TaxPeriod,
    number: u32,
    answer: Option<DeclarationAnswer>,
) -> Result<BatchOutcome, B::Error> {
    let mut t = settle(b, ctx, id)?;
    let mut batch = b
        .batches(id, period)?
        .into_iter()
        .find(|x| x.number == number)
        .ok_or(Refusal::BatchNotFound)?;
    let target = format!("{id} {period}#{number}");
    if batch.status != BatchStatus::Pending {
        b.audit(
            "confirmation.submit_repeated",
            &target,
            format!("status={:?}", batch.status),
        );
        return outcome(b, batch, t.current_period);
    }
    let current = rules::use_period(batch.use_, t.current_period, ctx.today());
    if batch.period != current {
        // Settling voids the pending batches of closed periods; a pending batch of another
        // period cannot be submitted either way.
        void_pending(b, id, batch.period, VoidReason::WindowClosed)?;
        batch.status = BatchStatus::Void;
        batch.void_reason = Some(VoidReason::WindowClosed);
        b.audit("confirmation.void", &target, "reason=window_closed".into());
        return outcome(b, batch, t.current_period);
    }
    let selected = selected_of(b, id, batch.use_.is_refund(), Some(batch.use_))?;
    if selected != batch.invoices {
        return Err(Refusal::SelectionChanged.into());
    }
    // The same invoices with another 有效税额 since 确定 is a change too.
    let mut tax = Fen::ZERO;
    for k in &selected {
        tax += b
            .invoice(k)?
            .ok_or(Refusal::InvoiceNotFound)?
            .effective_tax();
    }
    if tax != batch.tax {
        return Err(Refusal::SelectionChanged.into());
    }
    // 退税 is not declared with the period: there is no declaration to ask about.
    let decision = if batch.use_.is_refund() {
        SubmitDecision::Submit
    } else {
        rules::submit_decision(
            period,
            ctx.today(),
            deadline_of(b, &t, period)?,
            b.declaration(id, period)?,
            answer,
        )
    };
    match decision {
        SubmitDecision::AnswerRequired => {
            return Err(Refusal::DeclarationAnswerRequired { period }.into())
        }
        SubmitDecision::StayPending => {
            b.audit("confirmation.unsure", &target, "answer=unsure".into());
        }
        SubmitDecision::Submit => {
            let on = ctx.today();
            for key in &batch.invoices {
                let mut inv = b.invoice(key)?.ok_or(Refusal::InvoiceNotFound)?;
                inv.selection = SelectionState::Confirmed {
                    period,
                    batch: number,
                    on,
                };
                b.put_invoice(&inv)?;
                let change = match batch.use_ {
                    InvoiceUse::Deduct => InvoiceChange::Confirmed {
                        period,
                        batch: number,
                        on,
                    },
                    use_ => InvoiceChange::ConfirmedFor {
                        period,
                        batch: number,
                        on,
                        use_,
                    },
                };
                record(b, ctx, key, change)?;
            }
            batch.status = BatchStatus::Submitted;
            batch.submitted_at = Some(ctx.now);
            b.put_batch(&batch)?;
            b.audit(
                "confirmation.submit",
                &target,
                format!(
                    "use={}; count={}; amount={}; tax={}; answer={}",
                    batch.use_,
                    batch.count,
                    batch.amount.value(),
                    batch.tax.value(),
                    answer.map_or("none", |a| match a {
                        DeclarationAnswer::NotDeclared => "not_declared",
                        DeclarationAnswer::Declared => "declared",
                        DeclarationAnswer::Unsure => "unsure",
                    })
                ),
            );
        }
        SubmitDecision::Void(reason) => {
            // The period is over for every use declared with it: all its selections return
            // to 未勾选 and its other pending batches are void too.
            let all = selected_of(b, id, false, None)?;
            unselect_all(b, ctx, &all, UnselectReason::BatchVoid)?;
            void_pending(b, id, period, reason)?;
            batch.status = BatchStatus::Void;
            batch.void_reason = Some(reason);
            b.put_batch(&batch)?;
            t.current_period = period.next();
            t.manual_advance_from = (reason == VoidReason::TaxpayerDeclared).then_some(period);
            b.put_taxpayer(&t)?;
            b.audit(
                "confirmation.void",
                &target,
                format!(
                    "reason={}; current_period={}",
                    reason.as_str(),
                    period.next()
                ),
            );
        }
    }
    outcome(b, batch, t.current_period)
}
