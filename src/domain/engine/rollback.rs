//! 回退税款所属期 (S-T8).

use super::{
    deadline_of, selected_of, settle, unselect_all, void_pending, Book, Ctx, Ledger, Refusal,
};
use crate::domain::rules::{self, RollbackFacts, VoidReason};
use crate::domain::{BatchStatus, TaxPeriod, Taxpayer, TaxpayerId, UnselectReason};

/// The facts of S-T8 for the taxpayer as it stands.
pub fn rollback_facts<L: Ledger>(
    l: &L,
    ctx: &Ctx,
    t: &Taxpayer,
) -> Result<RollbackFacts, L::Error> {
    let previous = t.current_period.prev();
    let submitted_in_current = l
        .batches(&t.id, t.current_period)?
        .iter()
        .filter(|b| b.status == BatchStatus::Submitted)
        .count();
    Ok(RollbackFacts {
        current: t.current_period,
        manual_advance_from: t.manual_advance_from,
        submitted_in_current,
        previous_declaration: l.declaration(&t.id, previous)?,
        previous_deadline: deadline_of(l, t, previous)?,
        today: ctx.today(),
    })
}

/// 回退税款所属期 (S-T8): back to the period left by answering 已完成申报; the new period's
/// 已勾选 invoices return to 未勾选. Returns the period now current.
pub fn rollback<B: Book>(b: &mut B, ctx: &Ctx, id: &TaxpayerId) -> Result<TaxPeriod, B::Error> {
    let mut t = settle(b, ctx, id)?;
    let facts = rollback_facts(b, ctx, &t)?;
    let back = rules::rollback_check(&facts).map_err(Refusal::Rollback)?;
    let left = t.current_period;
    let keys = selected_of(b, id, false, None)?;
    let reverted = unselect_all(b, ctx, &keys, UnselectReason::RolledBack)?;
    void_pending(b, id, left, VoidReason::RolledBack)?;
    t.current_period = back;
    t.manual_advance_from = None;
    b.put_taxpayer(&t)?;
    b.audit(
        "period.rollback",
        id.as_str(),
        format!("{left} → {back}; reverted={reverted}"),
    );
    Ok(back)
}
