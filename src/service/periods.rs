//! The period, selection and confirmation services (S-P1–S-P4, S-T6–S-T8, S-O3, S-O4): each
//! runs one engine operation (`domain::engine`) in one redb write transaction, with its audit
//! entries. Every taxpayer request first settles the taxpayer (closes windows whose
//! declaration arrived or whose deadline passed), and a timer settles everyone each minute,
//! so a transition is never lost to a server that was down at midnight.

use chrono::NaiveDate;
use serde::Serialize;

use crate::domain::engine::{self, BatchOutcome, Ctx, SelectionReport};
use crate::domain::rules::{self, DeclarationAnswer};
use crate::domain::{
    Actor, BatchStatus, ConfirmationBatch, CreditRating, DeclarationStatus, FilingPeriod,
    InvoiceKey, InvoiceStatus, TaxPeriod, Taxpayer, TaxpayerId,
};
use crate::error::{AppError, AppResult, Code};
use crate::store::repo::Subject;
use crate::store::Who;

use super::invoice_query::InvoiceView;
use super::App;

/// The engine context of a request.
pub fn ctx(app: &App, who: &Who) -> Ctx {
    Ctx {
        actor: who.actor.clone(),
        now: who.now,
        lookback_days: app.settings.lookback_days,
    }
}

fn system_who(who: &Who) -> Who {
    Who {
        actor: Actor::System {
            what: "period".into(),
        },
        address: None,
        ..who.clone()
    }
}

/// The taxpayer's record brought up to date at `who.now` (writes only when a window closed
/// or a selection expired; on a read-only replica the record is returned as stored).
pub fn settled(app: &App, who: &Who, id: &TaxpayerId) -> AppResult<Taxpayer> {
    let c = ctx(app, who);
    {
        let r = app.store.read()?;
        let t = r
            .taxpayer(id)?
            .ok_or_else(|| AppError::new(Code::NotFound).with_message("纳税人不存在"))?;
        if app.store.is_read_only() || engine::pending_settlement(&r, &c, &t)?.is_empty() {
            return Ok(t);
        }
    }
    // Another request may settle first: then this transaction finds nothing to do, records
    // nothing and is dropped.
    let sys = system_who(who);
    let c = ctx(app, &sys);
    app.store
        .write_if_changed(&sys, |tx| engine::settle(tx, &c, id))
}

/// Settles every taxpayer (the minute timer, and after the training clock moves).
/// Returns how many changed.
pub fn settle_all(app: &App, who: &Who) -> AppResult<usize> {
    if app.store.is_read_only() {
        return Ok(0);
    }
    let c = ctx(app, who);
    let due: Vec<TaxpayerId> = {
        let r = app.store.read()?;
        let mut due = Vec::new();
        for t in r.taxpayers()? {
            if !engine::pending_settlement(&r, &c, &t)?.is_empty() {
                due.push(t.id);
            }
        }
        due
    };
    for id in &due {
        settled(app, who, id)?;
    }
    Ok(due.len())
}

/// `GET /api/v1/me`.
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub taxpayer_id: TaxpayerId,
    pub name: String,
    pub credit_rating: Option<CreditRating>,
    pub current_period: TaxPeriod,
    /// The last day of the current period's window (unless its declaration comes first).
    pub window_closes: NaiveDate,
    pub filing_period: FilingPeriod,
    pub in_filing_period: bool,
    pub rollback_allowed: bool,
    /// The recorded declaration status of the current period, if any.
    pub declaration: Option<DeclarationStatus>,
    pub platform_password: bool,
    pub first_login: bool,
    pub region: String,
}

pub fn profile(app: &App, who: &Who, id: &TaxpayerId) -> AppResult<Profile> {
    let t = settled(app, who, id)?;
    let c = ctx(app, who);
    let r = app.store.read()?;
    let deadline = engine::deadline_of(&r, &t, t.current_period)?;
    let filing_period = t.current_period.filing_period(deadline);
    let facts = engine::rollback_facts(&r, &c, &t)?;
    Ok(Profile {
        taxpayer_id: t.id.clone(),
        name: t.name.clone(),
        credit_rating: t.credit_rating,
        current_period: t.current_period,
        window_closes: deadline,
        filing_period,
        in_filing_period: filing_period.contains(c.today()),
        rollback_allowed: rules::rollback_check(&facts).is_ok(),
        declaration: r.declaration(&t.id, t.current_period)?,
        platform_password: t.platform_password.is_some(),
        first_login: !t.first_login_done,
        region: t.region.code().to_string(),
    })
}

/// One refused row as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RejectedView {
    pub code: String,
    pub number: String,
    pub reason: &'static str,
    pub message: String,
    /// The spreadsheet row, for bulk selection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
}

/// The result of `POST /api/v1/selections`.
#[derive(Debug, Clone, Serialize)]
pub struct SelectionView {
    pub selected: u64,
    pub unselected: u64,
    pub rejected: Vec<RejectedView>,
}

impl From<SelectionReport> for SelectionView {
    fn from(r: SelectionReport) -> Self {
        SelectionView {
            selected: r.selected,
            unselected: r.unselected,
            rejected: r
                .rejected
                .into_iter()
                .map(|(_, x)| RejectedView {
                    code: x.key.code.as_str().to_string(),
                    number: x.key.number.as_str().to_string(),
                    reason: x.reason.code(),
                    message: x.reason.message(),
                    row: None,
                })
                .collect(),
        }
    }
}

/// Largest number of rows in one selection request (the page select-all is 100; bulk files
/// hold at most 2,000 rows each).
pub const MAX_SELECTION_ROWS: usize = 20_000;

/// 保存 of 发票勾选.
pub fn select(
    app: &App,
    who: &Who,
    id: &TaxpayerId,
    select: &[InvoiceKey],
    unselect: &[InvoiceKey],
) -> AppResult<SelectionReport> {
    if select.len() + unselect.len() > MAX_SELECTION_ROWS {
        return Err(AppError::new(Code::TooLarge)
            .with_message(format!("一次最多提交{MAX_SELECTION_ROWS}张发票的勾选")));
    }
    settled(app, who, id)?;
    let c = ctx(app, who);
    app.store.write(who, |tx| {
        engine::save_selection(tx, &c, id, select, unselect)
    })
}

/// A batch as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct BatchView {
    pub period: TaxPeriod,
    pub batch: u32,
    pub status: BatchStatus,
    pub count: u64,
    pub amount: i64,
    pub tax: i64,
    pub period_confirmed_count: u64,
    pub period_batches: u64,
    pub made_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub current_period: TaxPeriod,
}

impl From<&BatchOutcome> for BatchView {
    fn from(o: &BatchOutcome) -> Self {
        let b: &ConfirmationBatch = &o.batch;
        BatchView {
            period: b.period,
            batch: b.number,
            status: b.status,
            count: b.count,
            amount: b.amount.value(),
            tax: b.tax.value(),
            period_confirmed_count: o.period_confirmed_count,
            period_batches: o.period_batches,
            made_at: b.made_at.to_rfc3339(),
            submitted_at: b.submitted_at.map(|t| t.to_rfc3339()),
            reason: b.void_reason.map(|r| r.as_str()),
            message: b.void_reason.map(|r| r.message(b.period)),
            current_period: o.current_period,
        }
    }
}

/// 确定.
pub fn make_batch(app: &App, who: &Who, id: &TaxpayerId) -> AppResult<BatchOutcome> {
    settled(app, who, id)?;
    let c = ctx(app, who);
    app.store.write(who, |tx| engine::make_batch(tx, &c, id))
}

/// 提交.
pub fn submit(
    app: &App,
    who: &Who,
    id: &TaxpayerId,
    period: TaxPeriod,
    number: u32,
    answer: Option<DeclarationAnswer>,
) -> AppResult<BatchOutcome> {
    settled(app, who, id)?;
    let c = ctx(app, who);
    app.store
        .write(who, |tx| engine::submit(tx, &c, id, period, number, answer))
}

/// The period's batches (确认历史明细), newest last.
pub fn batches(
    app: &App,
    who: &Who,
    id: &TaxpayerId,
    period: TaxPeriod,
) -> AppResult<Vec<BatchOutcome>> {
    let t = settled(app, who, id)?;
    let r = app.store.read()?;
    let all = r.batches(id, period)?;
    let (mut count, mut n) = (0, 0);
    let mut out = Vec::with_capacity(all.len());
    for b in all {
        if b.status == BatchStatus::Submitted {
            count += b.count;
            n += 1;
        }
        out.push(BatchOutcome {
            batch: b,
            period_confirmed_count: count,
            period_batches: n,
            current_period: t.current_period,
        });
    }
    Ok(out)
}

/// One batch with its invoices.
pub fn batch_detail(
    app: &App,
    who: &Who,
    id: &TaxpayerId,
    period: TaxPeriod,
    number: u32,
) -> AppResult<(BatchOutcome, Vec<InvoiceView>)> {
    settled(app, who, id)?;
    let r = app.store.read()?;
    let o = engine::batch_outcome(&r, id, period, number)?;
    let mut items = Vec::with_capacity(o.batch.invoices.len());
    for k in &o.batch.invoices {
        if let Some(inv) = r.invoice(k)? {
            items.push(InvoiceView::from(&inv));
        }
    }
    Ok((o, items))
}

/// 回退税款所属期: on success the taxpayer's sessions end ("点击确定后，会自动退出系统，
/// 需要重新登陆").
pub fn rollback(app: &App, who: &Who, id: &TaxpayerId) -> AppResult<TaxPeriod> {
    settled(app, who, id)?;
    let c = ctx(app, who);
    app.store.write(who, |tx| {
        let p = engine::rollback(tx, &c, id)?;
        let n =
            tx.purge_sessions(|s| matches!(&s.subject, Subject::Taxpayer { id: x } if x == id))?;
        tx.audit("session.logout_all", id, format!("sessions={n}"));
        Ok(p)
    })
}

/// Records a declaration status (S-O4).
pub fn record_declaration(
    app: &App,
    who: &Who,
    id: &TaxpayerId,
    period: TaxPeriod,
    status: DeclarationStatus,
) -> AppResult<Taxpayer> {
    let c = ctx(app, who);
    app.store.write(who, |tx| {
        engine::record_declaration(tx, &c, id, period, status)
    })
}

/// One row of a declaration import.
#[derive(Debug, Clone)]
pub struct DeclarationRow {
    pub taxpayer: TaxpayerId,
    pub period: TaxPeriod,
    pub status: DeclarationStatus,
}

/// Records many declaration statuses in one transaction: all or nothing (an unknown
/// taxpayer fails the whole import with its line).
pub fn import_declarations(app: &App, who: &Who, rows: &[DeclarationRow]) -> AppResult<usize> {
    let c = ctx(app, who);
    app.store.write(who, |tx| {
        for (i, row) in rows.iter().enumerate() {
            engine::record_declaration(tx, &c, &row.taxpayer, row.period, row.status).map_err(
                |e| {
                    if e.code == Code::NotFound {
                        AppError::invalid("taxpayer_id", format!("第{}行：纳税人不存在", i + 1))
                            .with_extra(
                                "rejected",
                                serde_json::json!([{"line": i + 1, "reason": "纳税人不存在"}]),
                            )
                    } else {
                        e
                    }
                },
            )?;
        }
        tx.audit("declaration.import", "", format!("rows={}", rows.len()));
        Ok(rows.len())
    })
}

/// Sets the province's deadline for a period (S-O4). It must fall in the month after the
/// period. Windows that the new date has closed close at the next request or timer tick.
pub fn set_deadline(
    app: &App,
    who: &Who,
    region: crate::domain::Region,
    period: TaxPeriod,
    deadline: NaiveDate,
) -> AppResult<()> {
    let month = period.next();
    if deadline < month.first_day() || deadline > month.last_day() {
        return Err(AppError::invalid(
            "deadline",
            format!(
                "申报截止日应在{}内（{}至{}）",
                month.label_zh(),
                month.first_day(),
                month.last_day()
            ),
        ));
    }
    app.store.write(who, |tx| {
        let before = tx.deadline(&region, period)?;
        tx.put_deadline(&region, period, deadline)?;
        tx.audit(
            "deadline.set",
            format!("{} {period}", region.code()),
            format!(
                "{} → {deadline}",
                before.map_or_else(
                    || format!("{} (default)", period.default_deadline()),
                    |d| d.to_string()
                )
            ),
        );
        Ok(())
    })?;
    settle_all(app, &system_who(who))?;
    Ok(())
}

/// The deadlines of a region for the periods of a year: recorded or default.
pub fn deadlines(
    app: &App,
    region: crate::domain::Region,
    year: i32,
) -> AppResult<Vec<(TaxPeriod, NaiveDate, bool)>> {
    let r = app.store.read()?;
    let mut out = Vec::new();
    for m in 1..=12 {
        let p = TaxPeriod::new(year, m)?;
        let recorded = r.deadline(&region, p)?;
        out.push((p, rules::deadline(p, recorded), recorded.is_some()));
    }
    Ok(out)
}

/// Changes the status of invoices (S-O3), singly or in bulk, in one transaction.
pub fn change_status(
    app: &App,
    who: &Who,
    keys: &[InvoiceKey],
    status: InvoiceStatus,
) -> AppResult<Vec<crate::domain::Invoice>> {
    let c = ctx(app, who);
    app.store.write(who, |tx| {
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            out.push(engine::change_status(tx, &c, k, status)?);
        }
        Ok(out)
    })
}

/// 已勾选未确认: the taxpayer's selected invoices of the current period, in key order.
pub fn selected_invoices(
    app: &App,
    who: &Who,
    id: &TaxpayerId,
) -> AppResult<Vec<crate::domain::Invoice>> {
    settled(app, who, id)?;
    let r = app.store.read()?;
    let mut keys = r.selected_keys(id, None)?;
    keys.sort();
    r.invoices_by_keys(&keys)
}
