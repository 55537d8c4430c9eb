//! Settlement, shared by every audience: each request of a taxpayer first settles the taxpayer
//! (closes windows whose declaration arrived or whose deadline passed), and a timer settles
//! everyone each minute, so a transition is never lost to a server that was down at midnight.
//! Each engine operation (`domain::engine`) runs in one redb write transaction with its audit
//! entries.

use super::App;
use crate::domain::engine::{self, Ctx};
use crate::domain::{Actor, Taxpayer, TaxpayerId};
use crate::error::{AppError, AppResult, Code};
use crate::store::prelude::*;
use crate::store::Who;

/// The engine context of a request.
pub fn ctx(app: &App, who: &Who) -> Ctx {
    Ctx {
        actor: who.actor.clone(),
        now: who.now,
        lookback_days: app.settings.lookback_days,
    }
}

pub(crate) fn system_who(who: &Who) -> Who {
    Who {
        actor: Actor::System {
            what: "period".into(),
        },
        address: None,
        ..who.clone()
    }
}

/// The taxpayer's record when it is up to date at `who.now` — nothing for [`settled`] to
/// write — or `None` when settling it would write (a window closed, a selection expired).
/// On a read-only replica the record is always returned as stored.
pub fn settled_if_current(app: &App, who: &Who, id: &TaxpayerId) -> AppResult<Option<Taxpayer>> {
    let c = ctx(app, who);
    let r = app.store.read()?;
    let t = r
        .taxpayer(id)?
        .ok_or_else(|| AppError::new(Code::NotFound).with_message("纳税人不存在"))?;
    if app.store.is_read_only() || engine::pending_settlement(&r, &c, &t)?.is_empty() {
        Ok(Some(t))
    } else {
        Ok(None)
    }
}

/// The taxpayer's record brought up to date at `who.now` (writes only when a window closed
/// or a selection expired; on a read-only replica the record is returned as stored).
pub fn settled(app: &App, who: &Who, id: &TaxpayerId) -> AppResult<Taxpayer> {
    if let Some(t) = settled_if_current(app, who, id)? {
        return Ok(t);
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
