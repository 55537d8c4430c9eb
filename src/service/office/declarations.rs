//! Declarations and deadlines recorded by the office (S-O3, S-O4): a `declared` for the current
//! period closes its window (S-P2); a region's deadline moves the window's end.

use chrono::NaiveDate;

use crate::domain::engine::{self};
use crate::domain::rules::{self};
use crate::domain::{DeclarationStatus, TaxPeriod, Taxpayer, TaxpayerId};
use crate::error::{AppError, AppResult, Code};
use crate::service::settle::{ctx, settle_all, system_who};
use crate::service::App;
use crate::store::prelude::*;
use crate::store::Who;

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

/// The declaration status recorded for a known taxpayer and period (`None` when none).
pub fn declaration(
    app: &App,
    id: &TaxpayerId,
    period: TaxPeriod,
) -> AppResult<Option<DeclarationStatus>> {
    super::taxpayers::get(app, id)?;
    app.store.read()?.declaration(id, period)
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
