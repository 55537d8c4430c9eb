//! A taxpayer's state as the office sees it, in one read (S-O2): the record and its changes,
//! the current period with its window and filing period, recent declarations, the
//! confirmation batches of the current and previous periods, the year's certified figures
//! and the audit entries about it — what an auditor or the helpdesk needs without logging in
//! as the taxpayer.

use chrono::NaiveDate;

use crate::domain::engine;
use crate::domain::{
    AuditEntry, ConfirmationBatch, DeclarationStatus, FilingPeriod, ProfileChange, TaxPeriod,
    Taxpayer, TaxpayerId,
};
use crate::error::AppResult;
use crate::service::portal::statistics::{workbench, Card};
use crate::service::settle::settled;
use crate::service::App;
use crate::store::prelude::*;
use crate::store::Who;

/// Periods of declarations shown, the current one included.
pub const DECLARATION_PERIODS: i32 = 6;
/// Audit entries shown.
pub const AUDIT_ENTRIES: usize = 20;

#[derive(Debug, Clone)]
pub struct TaxpayerOverview {
    /// Settled: the current period is the one the taxpayer would see now.
    pub taxpayer: Taxpayer,
    pub changes: Vec<ProfileChange>,
    /// The platform password is locked today.
    pub locked: bool,
    /// Wrong platform passwords today.
    pub failures_today: u32,
    /// The last day of the current period's window.
    pub window_closes: NaiveDate,
    pub filing_period: FilingPeriod,
    pub in_filing_period: bool,
    /// The recent periods, newest first, with the declaration status recorded (if any).
    pub declarations: Vec<(TaxPeriod, Option<DeclarationStatus>)>,
    /// The batches of the current and the previous period, newest first.
    pub batches: Vec<ConfirmationBatch>,
    /// The 12 months of the current period's year with their certified count and tax.
    pub cards: Vec<Card>,
    /// The newest audit entries about the taxpayer, and how many there are in all.
    pub audit: Vec<AuditEntry>,
    pub audit_total: usize,
}

pub fn overview(app: &App, who: &Who, id: &TaxpayerId) -> AppResult<TaxpayerOverview> {
    let t = settled(app, who, id)?;
    let changes = super::taxpayers::changes(app, id)?;
    let today = app.clock.now().date_naive();
    let (window_closes, declarations, batches) = {
        let r = app.store.read()?;
        let deadline = engine::deadline_of(&r, &t, t.current_period)?;
        let mut declarations = Vec::new();
        for back in 0..DECLARATION_PERIODS {
            let p = t.current_period.add_months(-back);
            declarations.push((p, r.declaration(id, p)?));
        }
        let mut batches = r.batches(id, t.current_period)?;
        batches.extend(r.batches(id, t.current_period.prev())?);
        batches.sort_by_key(|b| std::cmp::Reverse((b.period, b.number)));
        (deadline, declarations, batches)
    };
    let filing_period = t.current_period.filing_period(window_closes);
    let (_, cards) = workbench(app, who, id, t.current_period.year())?;
    let (audit_total, audit) = super::audit::about_taxpayer(app, id, AUDIT_ENTRIES)?;
    Ok(TaxpayerOverview {
        locked: crate::domain::login::is_locked(&t.password_failures, today),
        failures_today: crate::domain::login::failures_on(&t.password_failures, today),
        window_closes,
        in_filing_period: filing_period.contains(today),
        filing_period,
        declarations,
        batches,
        cards,
        audit,
        audit_total,
        changes,
        taxpayer: t,
    })
}
