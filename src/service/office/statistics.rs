//! Scan certifications (扫描认证, S-O3) and the nightly statistics job: scan records imported by
//! the office wait until the job (or `refresh`) applies them; `check` recomputes every cached
//! 抵扣统计 table from the raw records.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::Serialize;

use crate::domain::engine::{self, ScanRefusal};
use crate::domain::statistics::{Cached, Entry, Tally};
use crate::domain::{InvoiceKey, ScanRecord, TaxPeriod, TaxpayerId};
use crate::error::{AppError, AppResult};
use crate::service::{App, SCANS_APPLIED_AT};
use crate::store::prelude::*;
use crate::store::Who;

/// One line of a scan import.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ScanLine {
    #[serde(default)]
    code: Option<String>,
    number: String,
    scanned_on: String,
    period: String,
}

/// A refused line of a scan import.
#[derive(Debug, Clone, Serialize)]
pub struct RejectedLine {
    pub line: usize,
    pub reason: String,
}

/// Imports scan records (ndjson of `{"code", "number", "scanned_on", "period"}`): all or
/// nothing; each is checked against the invoice now and waits for the job.
pub fn import_scans(app: &App, who: &Who, body: &[u8]) -> AppResult<usize> {
    let text = std::str::from_utf8(body)
        .map_err(|_| AppError::invalid("body", "内容应为 UTF-8 编码的 JSON Lines"))?;
    let today = who.now.date_naive();
    let mut rows: Vec<(usize, InvoiceKey, TaxPeriod, NaiveDate)> = Vec::new();
    let mut rejected = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        let parsed = serde_json::from_str::<ScanLine>(l)
            .map_err(|e| format!("格式不正确：{e}"))
            .and_then(|x| {
                let key =
                    InvoiceKey::parse_any(x.code.as_deref(), &x.number).map_err(|e| e.message)?;
                let period = TaxPeriod::parse(&x.period).map_err(|e| e.message)?;
                let on =
                    crate::domain::query::parse_date("scanned_on", "扫描认证日期", &x.scanned_on)
                        .map_err(|e| e.message)?;
                if on > today {
                    return Err("扫描认证日期不能晚于今天".to_string());
                }
                Ok((key, period, on))
            });
        match parsed {
            Ok((k, p, on)) => rows.push((i + 1, k, p, on)),
            Err(reason) => rejected.push(RejectedLine {
                line: i + 1,
                reason,
            }),
        }
    }
    let fail = |rejected: Vec<RejectedLine>| {
        AppError::invalid("body", "扫描认证数据有误，未导入任何记录").with_extra(
            "rejected",
            serde_json::to_value(rejected).unwrap_or(serde_json::Value::Null),
        )
    };
    if !rejected.is_empty() {
        return Err(fail(rejected));
    }
    if rows.is_empty() {
        return Err(AppError::invalid("body", "没有可导入的扫描认证记录"));
    }
    let n = rows.len();
    app.store.write(who, |tx| {
        let mut seen = std::collections::HashSet::new();
        let mut rejected = Vec::new();
        for (line, key, period, on) in &rows {
            let reason = if !seen.insert(key.to_u128()) {
                Some("同一发票在文件中重复出现".to_string())
            } else if tx.pending_scan(key)?.is_some() {
                Some("该发票已有待处理的扫描认证记录".to_string())
            } else {
                engine::check_scan(tx.invoice(key)?.as_ref(), *period, *on)
                    .err()
                    .map(|r| r.message().to_string())
            };
            match reason {
                Some(reason) => rejected.push(RejectedLine {
                    line: *line,
                    reason,
                }),
                None => tx.put_pending_scan(
                    key,
                    &ScanRecord {
                        period: *period,
                        scanned_on: *on,
                        imported_at: who.now,
                        by: who.actor.to_string(),
                    },
                )?,
            }
        }
        if !rejected.is_empty() {
            return Err(fail(rejected));
        }
        tx.audit("scan.import", "", format!("records={n}"));
        Ok(())
    })?;
    Ok(n)
}

/// What applying the pending scans did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ApplyReport {
    pub applied: usize,
    pub rejected: Vec<serde_json::Value>,
    pub applied_at: String,
}

/// Applies every pending scan record (the nightly job and `refresh`), in one transaction.
/// A record whose invoice got certified meanwhile is dropped with its reason.
pub fn apply_scans(app: &App, who: &Who) -> AppResult<ApplyReport> {
    let c = crate::service::settle::ctx(app, who);
    app.store.write(who, |tx| {
        let mut report = ApplyReport {
            applied_at: who.now.to_rfc3339(),
            ..ApplyReport::default()
        };
        for (key, r) in tx.pending_scans()? {
            match engine::apply_scan(tx, &c, &key, r.period, r.scanned_on)? {
                Ok(()) => report.applied += 1,
                Err(refusal) => {
                    let why: ScanRefusal = refusal;
                    tx.audit("scan.reject", key.to_string(), why.message());
                    report.rejected.push(serde_json::json!({
                        "code": key.code(),
                        "number": key.number(),
                        "reason": why.message(),
                    }));
                }
            }
            tx.remove_pending_scan(&key)?;
        }
        tx.put_setting(SCANS_APPLIED_AT, &who.now)?;
        tx.audit(
            "statistics.refresh",
            "",
            format!(
                "applied={}; rejected={}",
                report.applied,
                report.rejected.len()
            ),
        );
        Ok(report)
    })
}

const JOB_LAST: &str = "statistics_job_last";
const JOB_DURATION_MS: &str = "statistics_job_duration_ms";

/// How long the nightly job's last run took, in milliseconds.
pub fn last_job_duration_ms(app: &App) -> AppResult<Option<u64>> {
    app.store.read()?.setting(JOB_DURATION_MS)
}

/// When the nightly job last ran (business time), if ever.
pub fn last_job_run(app: &App) -> AppResult<Option<DateTime<FixedOffset>>> {
    app.store.read()?.setting(JOB_LAST)
}

/// The most recent scheduled run time at or before `now`.
fn last_due(now: DateTime<FixedOffset>, at: chrono::NaiveTime) -> Option<DateTime<FixedOffset>> {
    let today = now
        .date_naive()
        .and_time(at)
        .and_local_timezone(*now.offset())
        .single()?;
    if today <= now {
        Some(today)
    } else {
        today.checked_sub_days(chrono::Days::new(1))
    }
}

/// Runs the nightly job if a scheduled time has passed since its last run (so a server down
/// at that time runs it at the next start). Returns whether it ran.
pub fn run_job_if_due(app: &App) -> AppResult<bool> {
    if app.store.is_read_only() {
        return Ok(false);
    }
    let at = app
        .settings
        .job_time()
        .map_err(|e| AppError::internal(e.to_string()))?;
    let who = app.system("statistics");
    let Some(due) = last_due(who.now, at) else {
        return Ok(false);
    };
    let last: Option<DateTime<FixedOffset>> = app.store.read()?.setting(JOB_LAST)?;
    if last.is_some_and(|l| l >= due) {
        return Ok(false);
    }
    let started = std::time::Instant::now();
    apply_scans(app, &who)?;
    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    app.store.write(&who, |tx| {
        tx.put_setting(JOB_LAST, &who.now)?;
        tx.put_setting(JOB_DURATION_MS, &ms)?;
        tx.audit("statistics.job", "", format!("due={}", due.to_rfc3339()));
        Ok(())
    })?;
    Ok(true)
}

/// A cached table that differs from the recomputation.
#[derive(Debug, Clone, Serialize)]
pub struct Difference {
    pub taxpayer_id: TaxpayerId,
    pub period: TaxPeriod,
    pub what: String,
}

/// Recomputes 抵扣统计 of every taxpayer and period with a certified invoice from the raw
/// invoice records in redb, and compares each with what would be served: the cached table
/// when there is one, else the index's tally (which the page would compute and cache). A
/// missing cache (written without fsync, so possibly lost in a crash) is therefore no reason
/// to compare nothing. Returns the number of tables compared and each difference.
pub fn check(app: &App) -> AppResult<(usize, Vec<Difference>)> {
    let r = app.store.read()?;
    let cached: HashMap<(TaxpayerId, u32), Cached> = r
        .all_stats()?
        .into_iter()
        .map(|(t, p, c)| ((t, p.as_u32()), c))
        .collect();
    let mut fresh: HashMap<(TaxpayerId, u32), Tally> = HashMap::new();
    r.for_each_invoice_batch(100_000, |batch| {
        for inv in batch {
            let Some((period, entry)) = Entry::of(&inv) else {
                continue;
            };
            let key = inv.key.clone();
            fresh
                .entry((inv.buyer_id.clone(), period.as_u32()))
                .or_default()
                .add(|| key, entry);
        }
        Ok(())
    })?;
    let mut tables: Vec<(TaxpayerId, u32)> = cached.keys().chain(fresh.keys()).cloned().collect();
    tables.sort();
    tables.dedup();
    app.index.catch_up(&app.store)?;
    let mut diffs = Vec::new();
    for (t, p) in &tables {
        let period = TaxPeriod::from_u32(*p)
            .ok_or_else(|| AppError::internal(format!("stored period {p} is not a period")))?;
        let want = fresh.remove(&(t.clone(), *p)).unwrap_or_default().finish();
        let what = match cached.get(&(t.clone(), *p)) {
            Some(c) if want.certified != c.certified => Some("certified figures differ"),
            Some(c)
                if want.exceptions != c.exceptions
                    || want.exception_keys.len() as u64 != c.exception_count =>
            {
                Some("exception figures differ")
            }
            Some(c) if !want.same_figures(&c.figures()) => Some("figures per use differ"),
            Some(_) if r.stats_keys(t, period, 0, usize::MAX)? != want.exception_keys => {
                Some("exception list differs")
            }
            Some(_) => None,
            None => {
                let served = app.index.tally(t, period)?;
                if !served.same_figures(&want) || served.exception_keys != want.exception_keys {
                    Some("the index's figures differ (no cached table)")
                } else {
                    None
                }
            }
        };
        if let Some(what) = what {
            diffs.push(Difference {
                taxpayer_id: t.clone(),
                period,
                what: what.into(),
            });
        }
    }
    Ok((tables.len(), diffs))
}

/// Test and repair hook: writes a cached table as given (the integrity check must catch a
/// wrong one).
pub fn overwrite_cache(
    app: &App,
    taxpayer: &TaxpayerId,
    period: TaxPeriod,
    c: &Cached,
    keys: &[InvoiceKey],
) -> AppResult<()> {
    app.store
        .housekeeping(|tx| tx.put_stats(taxpayer, period, c, keys))
}

/// What the console shows of the scan records: how many wait, and when they were last applied.
#[derive(Debug, Clone, Default)]
pub struct ScanStatus {
    pub pending: usize,
    pub applied_at: Option<DateTime<FixedOffset>>,
}

/// The number of pending scan records and the time of the last refresh (or job).
pub fn scan_status(app: &App) -> AppResult<ScanStatus> {
    let r = app.store.read()?;
    Ok(ScanStatus {
        pending: r.pending_scans()?.len(),
        applied_at: r.setting(SCANS_APPLIED_AT)?,
    })
}
