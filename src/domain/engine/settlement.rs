//! Settling a taxpayer (S-P1–S-P3): closing every window whose declaration was recorded or
//! whose deadline day has ended, and dropping selections past the certification time limit.

use chrono::{Days, NaiveDate};

use super::{must_taxpayer, selected_of, unselect_all, void_pending, Book, Ctx, Ledger};
use crate::domain::rules::{self, CloseReason, VoidReason};
use crate::domain::{
    BatchStatus, ConfirmationBatch, InvoiceKey, TaxPeriod, Taxpayer, TaxpayerId, UnselectReason,
};

/// The deadline of `period` for `taxpayer`'s region.
pub fn deadline_of<L: Ledger>(
    l: &L,
    taxpayer: &Taxpayer,
    period: TaxPeriod,
) -> Result<NaiveDate, L::Error> {
    Ok(rules::deadline(
        period,
        l.recorded_deadline(taxpayer.region, period)?,
    ))
}

/// What settling a taxpayer would do now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settlement {
    pub closed: Vec<(TaxPeriod, CloseReason)>,
    /// Selected invoices past the certification time limit.
    pub expired: Vec<InvoiceKey>,
    /// 退税 / 代办退税 selections of a month that has ended, with their months.
    pub stale_refunds: Vec<(InvoiceKey, TaxPeriod)>,
    /// Pending 退税 / 代办退税 batches of a month that has ended (also those whose invoices
    /// were all unselected before the month ended, so no selection points at them).
    pub stale_refund_batches: Vec<ConfirmationBatch>,
}

impl Settlement {
    pub fn is_empty(&self) -> bool {
        self.closed.is_empty()
            && self.expired.is_empty()
            && self.stale_refunds.is_empty()
            && self.stale_refund_batches.is_empty()
    }
}

/// What [`settle`] would change for `taxpayer` at `ctx.now`, without changing anything.
pub fn pending_settlement<L: Ledger>(
    l: &L,
    ctx: &Ctx,
    taxpayer: &Taxpayer,
) -> Result<Settlement, L::Error> {
    let today = ctx.today();
    let closed = rules::periods_to_close(taxpayer.current_period, today, |p| {
        Ok::<_, L::Error>((
            deadline_of(l, taxpayer, p)?,
            l.declaration(&taxpayer.id, p)?,
        ))
    })?;
    let expired = if ctx.lookback_days == 0 {
        Vec::new()
    } else {
        match today.checked_sub_days(Days::new(u64::from(ctx.lookback_days))) {
            Some(earliest) => l.selected(&taxpayer.id, Some(earliest))?,
            None => Vec::new(),
        }
    };
    // Only a registered enterprise can have 退税 selections: the others skip the scan.
    let registration = l.registration(&taxpayer.id)?;
    let (stale_refunds, stale_refund_batches) =
        if registration.exporter || registration.trade_service {
            let month = TaxPeriod::of_date(today);
            let keys = l
                .selected_uses(&taxpayer.id)?
                .into_iter()
                .filter(|r| r.use_.is_refund() && r.period < month)
                .map(|r| (r.key, r.period))
                .collect();
            let batches = l
                .pending_batches_before(&taxpayer.id, month)?
                .into_iter()
                .filter(|b| b.use_.is_refund())
                .collect();
            (keys, batches)
        } else {
            (Vec::new(), Vec::new())
        };
    Ok(Settlement {
        closed,
        expired,
        stale_refunds,
        stale_refund_batches,
    })
}

/// Brings the taxpayer up to date at `ctx.now` (S-P1, S-P2, S-P3) and returns the record:
/// each closed period's still-selected invoices go back to 未勾选 ("超过可操作窗口期…且仍未
/// 确认的数据，平台将自动把已勾选未确认的数据回退为未勾选状态，视同当月未做勾选"), its pending
/// batches become void, and the next period becomes current; selections past the
/// certification time limit are dropped.
pub fn settle<B: Book>(b: &mut B, ctx: &Ctx, id: &TaxpayerId) -> Result<Taxpayer, B::Error> {
    let mut t = must_taxpayer(b, id)?;
    let s = pending_settlement(b, ctx, &t)?;
    if s.is_empty() {
        return Ok(t);
    }
    for &(p, reason) in &s.closed {
        let keys = selected_of(b, id, false, None)?;
        let reverted = unselect_all(b, ctx, &keys, UnselectReason::WindowClosed)?;
        let void = match reason {
            CloseReason::Declared => VoidReason::PeriodDeclared,
            CloseReason::DeadlinePassed => VoidReason::WindowClosed,
        };
        void_pending(b, id, p, void)?;
        t.current_period = p.next();
        t.manual_advance_from = None;
        b.audit(
            "period.close",
            id.as_str(),
            format!(
                "{p} → {}; reason={}; reverted={reverted}",
                p.next(),
                match reason {
                    CloseReason::Declared => "declared",
                    CloseReason::DeadlinePassed => "deadline_passed",
                }
            ),
        );
    }
    if !s.closed.is_empty() {
        b.put_taxpayer(&t)?;
    }
    if !s.stale_refunds.is_empty() || !s.stale_refund_batches.is_empty() {
        let keys: Vec<InvoiceKey> = s.stale_refunds.iter().map(|(k, _)| k.clone()).collect();
        let n = unselect_all(b, ctx, &keys, UnselectReason::WindowClosed)?;
        for mut batch in s.stale_refund_batches {
            batch.status = BatchStatus::Void;
            batch.void_reason = Some(VoidReason::WindowClosed);
            b.put_batch(&batch)?;
        }
        b.audit(
            "selection.refund_month_end",
            id.as_str(),
            format!("reverted={n}"),
        );
    }
    if !s.expired.is_empty() {
        let n = unselect_all(b, ctx, &s.expired, UnselectReason::TimeLimit)?;
        b.audit("selection.expire", id.as_str(), format!("reverted={n}"));
    }
    Ok(t)
}
