//! The period, selection and confirmation engine: the operations of S-P1–S-P3, S-T6–S-T8 and
//! S-O3/S-O4 applied to a taxpayer's records through the [`Book`] port.
//!
//! The rules themselves live in [`super::rules`]; this module applies them in one place so
//! that the store (one redb write transaction per operation) and the in-memory book of the
//! tests run exactly the same code. No clock reads: the time comes in [`Ctx`]. Every
//! operation first *settles* the taxpayer — closes every window whose declaration was
//! recorded or whose deadline day has ended, and drops selections past the time limit — so
//! a server that was down at midnight loses no transition.

use std::collections::BTreeSet;

use chrono::{DateTime, Days, FixedOffset, NaiveDate};

use super::rules::{
    self, CloseReason, DeclarationAnswer, RollbackFacts, RollbackRefusal, RowRefusal,
    SubmitDecision, VoidReason,
};
use super::{
    Actor, BatchStatus, ConfirmationBatch, DeclarationStatus, DomainError, Fen, Invoice,
    InvoiceChange, InvoiceEvent, InvoiceKey, InvoiceStatus, Region, SelectionState, TaxPeriod,
    Taxpayer, TaxpayerId, UnselectReason,
};

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

fn must_taxpayer<L: Ledger>(l: &L, id: &TaxpayerId) -> Result<Taxpayer, L::Error> {
    l.taxpayer(id)?
        .ok_or_else(|| Refusal::TaxpayerNotFound.into())
}

/// What settling a taxpayer would do now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settlement {
    pub closed: Vec<(TaxPeriod, CloseReason)>,
    /// Selected invoices past the certification time limit.
    pub expired: Vec<InvoiceKey>,
}

impl Settlement {
    pub fn is_empty(&self) -> bool {
        self.closed.is_empty() && self.expired.is_empty()
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
    Ok(Settlement { closed, expired })
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
        b.put_invoice(&inv)?;
        record(b, ctx, key, InvoiceChange::Unselected { period, why })?;
        n += 1;
    }
    Ok(n)
}

/// Voids the pending batches of `period` with `reason`.
fn void_pending<B: Book>(
    b: &mut B,
    taxpayer: &TaxpayerId,
    period: TaxPeriod,
    reason: VoidReason,
) -> Result<(), B::Error> {
    for mut batch in b.batches(taxpayer, period)? {
        if batch.status == BatchStatus::Pending {
            batch.status = BatchStatus::Void;
            batch.void_reason = Some(reason);
            b.put_batch(&batch)?;
        }
    }
    Ok(())
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
        let keys = b.selected(id, None)?;
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
    if !s.expired.is_empty() {
        let n = unselect_all(b, ctx, &s.expired, UnselectReason::TimeLimit)?;
        b.audit("selection.expire", id.as_str(), format!("reverted={n}"));
    }
    Ok(t)
}

/// One refused row of a selection request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRow {
    pub key: InvoiceKey,
    pub reason: RowRefusal,
}

/// The result of saving ticks and unticks (S-T4, S-T5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectionReport {
    pub selected: u64,
    pub unselected: u64,
    /// Rows that asked for the state the invoice already had (bulk files only: a 批量勾选
    /// file lists every invoice, most of them unchanged).
    pub unchanged: u64,
    /// Each refused row with the index of the request list it came from (`select` rows
    /// first, then `unselect` rows).
    pub rejected: Vec<(usize, RejectedRow)>,
}

/// How rows that ask for the state an invoice already has are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectionMode {
    /// 发票勾选 保存: ticking a ticked invoice counts as selected; unticking an unticked
    /// one is refused (`not_selected`).
    Page,
    /// 批量勾选 upload: both are `unchanged`; the file lists every invoice.
    File,
}

/// 保存: selects and unselects invoices for the taxpayer's current period. Each row stands
/// alone: valid rows apply, refused rows are reported with their reason.
pub fn save_selection<B: Book>(
    b: &mut B,
    ctx: &Ctx,
    id: &TaxpayerId,
    select: &[InvoiceKey],
    unselect: &[InvoiceKey],
) -> Result<SelectionReport, B::Error> {
    let rows: Vec<(bool, &InvoiceKey)> = select
        .iter()
        .map(|k| (true, k))
        .chain(unselect.iter().map(|k| (false, k)))
        .collect();
    apply_selection(b, ctx, id, &rows, SelectionMode::Page, "selection.save")
}

/// 批量勾选 upload: `rows` in file order (`true` = 是); rejections carry the row's index.
pub fn save_file_selection<B: Book>(
    b: &mut B,
    ctx: &Ctx,
    id: &TaxpayerId,
    rows: &[(bool, &InvoiceKey)],
) -> Result<SelectionReport, B::Error> {
    apply_selection(b, ctx, id, rows, SelectionMode::File, "selection.import")
}

fn apply_selection<B: Book>(
    b: &mut B,
    ctx: &Ctx,
    id: &TaxpayerId,
    rows: &[(bool, &InvoiceKey)],
    mode: SelectionMode,
    action: &str,
) -> Result<SelectionReport, B::Error> {
    let t = settle(b, ctx, id)?;
    let period = t.current_period;
    let today = ctx.today();
    let mut seen = BTreeSet::new();
    let mut report = SelectionReport::default();
    #[derive(PartialEq)]
    enum Done {
        Selected,
        Unselected,
        Unchanged,
    }
    for (i, &(tick, key)) in rows.iter().enumerate() {
        let outcome = (|| -> Result<Result<Done, RowRefusal>, B::Error> {
            if !seen.insert(key.to_u128()) {
                return Ok(Err(RowRefusal::DuplicateRow));
            }
            let Some(mut inv) = b.invoice(key)? else {
                return Ok(Err(RowRefusal::UnknownInvoice));
            };
            if tick {
                if let Err(r) = rules::check_select(&inv, id, period, today, ctx.lookback_days) {
                    return Ok(Err(r));
                }
                if inv.selection == (SelectionState::Selected { period }) {
                    return Ok(Ok(match mode {
                        SelectionMode::Page => Done::Selected,
                        SelectionMode::File => Done::Unchanged,
                    }));
                }
                inv.selection = SelectionState::Selected { period };
                b.put_invoice(&inv)?;
                record(b, ctx, key, InvoiceChange::Selected { period })?;
                Ok(Ok(Done::Selected))
            } else {
                match rules::check_unselect(&inv, id) {
                    Err(RowRefusal::NotSelected) if mode == SelectionMode::File => {
                        return Ok(Ok(Done::Unchanged))
                    }
                    Err(r) => return Ok(Err(r)),
                    Ok(()) => {}
                }
                unselect_all(b, ctx, std::slice::from_ref(key), UnselectReason::Taxpayer)?;
                Ok(Ok(Done::Unselected))
            }
        })()?;
        match outcome {
            Ok(Done::Selected) => report.selected += 1,
            Ok(Done::Unselected) => report.unselected += 1,
            Ok(Done::Unchanged) => report.unchanged += 1,
            Err(reason) => report.rejected.push((
                i,
                RejectedRow {
                    key: key.clone(),
                    reason,
                },
            )),
        }
    }
    b.audit(
        action,
        id.as_str(),
        format!(
            "period={period}; selected={}; unselected={}; unchanged={}; rejected={}",
            report.selected,
            report.unselected,
            report.unchanged,
            report.rejected.len()
        ),
    );
    Ok(report)
}

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

/// 确定: makes (or remakes) the period's pending batch (待提交) of everything 已勾选.
pub fn make_batch<B: Book>(
    b: &mut B,
    ctx: &Ctx,
    id: &TaxpayerId,
) -> Result<BatchOutcome, B::Error> {
    let t = settle(b, ctx, id)?;
    let period = t.current_period;
    let mut keys = b.selected(id, None)?;
    if keys.is_empty() {
        return Err(Refusal::NothingSelected.into());
    }
    keys.sort();
    let (mut amount, mut tax) = (Fen::ZERO, Fen::ZERO);
    for k in &keys {
        let inv = b.invoice(k)?.ok_or(Refusal::InvoiceNotFound)?;
        amount += inv.amount;
        tax += inv.tax;
    }
    let existing = b.batches(id, period)?;
    let number = existing
        .iter()
        .find(|x| x.status == BatchStatus::Pending)
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
    };
    b.put_batch(&batch)?;
    b.audit(
        "confirmation.make",
        id.as_str(),
        format!(
            "period={period}; batch={number}; count={}; amount={}; tax={}",
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
    if batch.period != t.current_period {
        // Settling voids the pending batches of closed periods; a pending batch of another
        // period cannot be submitted either way.
        void_pending(b, id, batch.period, VoidReason::WindowClosed)?;
        batch.status = BatchStatus::Void;
        batch.void_reason = Some(VoidReason::WindowClosed);
        b.audit("confirmation.void", &target, "reason=window_closed".into());
        return outcome(b, batch, t.current_period);
    }
    let mut selected = b.selected(id, None)?;
    selected.sort();
    if selected != batch.invoices {
        return Err(Refusal::SelectionChanged.into());
    }
    let decision = rules::submit_decision(
        period,
        ctx.today(),
        deadline_of(b, &t, period)?,
        b.declaration(id, period)?,
        answer,
    );
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
                record(
                    b,
                    ctx,
                    key,
                    InvoiceChange::Confirmed {
                        period,
                        batch: number,
                        on,
                    },
                )?;
            }
            batch.status = BatchStatus::Submitted;
            batch.submitted_at = Some(ctx.now);
            b.put_batch(&batch)?;
            b.audit(
                "confirmation.submit",
                &target,
                format!(
                    "count={}; amount={}; tax={}; answer={}",
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
            unselect_all(b, ctx, &batch.invoices, UnselectReason::BatchVoid)?;
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
    let keys = b.selected(id, None)?;
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

/// Why a scan record cannot be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanRefusal {
    UnknownInvoice,
    /// Confirmed or scanned already: an invoice is certified at most once.
    AlreadyCertified,
    /// The period ends before the invoice was issued.
    BeforeIssue,
    /// The period is after the month of the scan.
    PeriodAfterScan,
}

impl ScanRefusal {
    pub fn message(self) -> &'static str {
        match self {
            ScanRefusal::UnknownInvoice => "发票不存在",
            ScanRefusal::AlreadyCertified => "该发票已认证（勾选认证或扫描认证），不能重复认证",
            ScanRefusal::BeforeIssue => "扫描认证日期或所属期早于开票日期",
            ScanRefusal::PeriodAfterScan => "扫描认证的所属期不能晚于扫描认证日期所在月份",
        }
    }
}

/// Checks a scan record against the invoice as it stands.
pub fn check_scan(
    invoice: Option<&Invoice>,
    period: TaxPeriod,
    scanned_on: NaiveDate,
) -> Result<(), ScanRefusal> {
    let inv = invoice.ok_or(ScanRefusal::UnknownInvoice)?;
    if inv.selection.is_certified() {
        return Err(ScanRefusal::AlreadyCertified);
    }
    if inv.issued_on > period.last_day() || scanned_on < inv.issued_on {
        return Err(ScanRefusal::BeforeIssue);
    }
    if period > TaxPeriod::of_date(scanned_on) {
        return Err(ScanRefusal::PeriodAfterScan);
    }
    Ok(())
}

/// Applies one scan record (扫描认证): the invoice becomes certified in `period` on
/// `scanned_on`; an 已勾选 invoice loses its selection first. Refused (and nothing changes)
/// when the invoice is already certified.
pub fn apply_scan<B: Book>(
    b: &mut B,
    ctx: &Ctx,
    key: &InvoiceKey,
    period: TaxPeriod,
    scanned_on: NaiveDate,
) -> Result<Result<(), ScanRefusal>, B::Error> {
    let inv = b.invoice(key)?;
    if let Err(r) = check_scan(inv.as_ref(), period, scanned_on) {
        return Ok(Err(r));
    }
    if matches!(
        inv.as_ref().map(|i| i.selection),
        Some(SelectionState::Selected { .. })
    ) {
        unselect_all(b, ctx, std::slice::from_ref(key), UnselectReason::Scanned)?;
    }
    let mut inv = b.invoice(key)?.ok_or(Refusal::InvoiceNotFound)?;
    inv.selection = SelectionState::Scanned {
        period,
        on: scanned_on,
    };
    b.put_invoice(&inv)?;
    record(
        b,
        ctx,
        key,
        InvoiceChange::Scanned {
            period,
            on: scanned_on,
        },
    )?;
    Ok(Ok(()))
}

#[cfg(test)]
pub mod memory;

#[cfg(test)]
pub(crate) mod tests;
