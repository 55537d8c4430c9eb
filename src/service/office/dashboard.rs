//! 工作台: what needs the office's attention now, read in one go — taxpayers and invoices held,
//! scans waiting for the nightly job, the periods whose windows close within the week, the
//! 征纳互动 queue, the last nightly job, the search index's lag and the training clock.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate};

use crate::domain::rules;
use crate::domain::{Region, TaxPeriod};
use crate::error::AppResult;
use crate::service::clock::TrainingClock;
use crate::service::figures;
use crate::service::App;
use crate::store::prelude::*;

/// The days ahead (today included) in which a closing window is shown.
pub const CLOSING_DAYS: i64 = 7;

/// A region's period whose window (its declaration deadline) ends within [`CLOSING_DAYS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closing {
    pub region: Region,
    pub period: TaxPeriod,
    pub deadline: NaiveDate,
    /// Taxpayers of the region whose current period it is.
    pub taxpayers: usize,
}

/// The figures of the 工作台.
#[derive(Debug, Clone)]
pub struct Dashboard {
    /// Business time.
    pub now: DateTime<FixedOffset>,
    pub training: bool,
    /// The trainer's setting of the clock, when set.
    pub clock: Option<TrainingClock>,
    pub taxpayers: usize,
    /// Taxpayers whose platform password is locked today (too many wrong tries).
    pub locked: usize,
    pub invoices: Option<u64>,
    pub scans_waiting: usize,
    pub closing: Vec<Closing>,
    /// Interactions waiting for an agent and agents online (`None`: the hub is not running).
    pub interact: Option<(usize, usize)>,
    /// When the nightly statistics job last ran (business time).
    pub last_job: Option<DateTime<FixedOffset>>,
    /// Invoice commits the search index is behind the store.
    pub index_lag: Option<u64>,
}

pub fn read(app: &App) -> AppResult<Dashboard> {
    let now = app.clock.now();
    let today = now.date_naive();
    let f = figures::read(app);
    let r = app.store.read()?;
    let all = r.taxpayers()?;
    let locked = all
        .iter()
        .filter(|t| crate::domain::login::is_locked(&t.password_failures, today))
        .count();
    let mut groups: BTreeMap<(Region, TaxPeriod), usize> = BTreeMap::new();
    for t in &all {
        *groups.entry((t.region, t.current_period)).or_default() += 1;
    }
    let mut closing = Vec::new();
    for ((region, period), taxpayers) in groups {
        let deadline = rules::deadline(period, r.deadline(&region, period)?);
        let days = (deadline - today).num_days();
        if (0..CLOSING_DAYS).contains(&days) {
            closing.push(Closing {
                region,
                period,
                deadline,
                taxpayers,
            });
        }
    }
    closing.sort_by_key(|c| (c.deadline, c.region, c.period));
    Ok(Dashboard {
        now,
        training: app.training(),
        clock: app.clock.setting(),
        taxpayers: all.len(),
        locked,
        invoices: f.invoices,
        scans_waiting: r.pending_scans()?.len(),
        closing,
        interact: app.interact.live(),
        last_job: super::statistics::last_job_run(app)?,
        index_lag: f.index_lag,
    })
}
