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

/// A taxpayer's declaration status for a period, as the console lists them.
#[derive(Debug, Clone)]
pub struct DeclarationLine {
    pub taxpayer_id: TaxpayerId,
    pub name: String,
    pub region: crate::domain::Region,
    pub current_period: TaxPeriod,
    /// `None` when nothing is recorded.
    pub status: Option<DeclarationStatus>,
}

/// The declaration status of `period` for the taxpayers whose ID or name contains `q` (all
/// when empty), one page of them in ID order, and how many match.
pub fn declarations_for(
    app: &App,
    q: &str,
    period: TaxPeriod,
    paging: crate::domain::Paging,
) -> AppResult<(usize, Vec<DeclarationLine>)> {
    let (total, taxpayers) = super::taxpayers::search(app, q, paging)?;
    let r = app.store.read()?;
    let items = taxpayers
        .into_iter()
        .map(|t| {
            Ok(DeclarationLine {
                status: r.declaration(&t.id, period)?,
                taxpayer_id: t.id,
                name: t.name,
                region: t.region,
                current_period: t.current_period,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok((total, items))
}

/// A refused line of a declaration file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RefusedLine {
    pub line: usize,
    pub reason: String,
}

fn refused(message: &str, lines: Vec<RefusedLine>) -> AppError {
    let first = lines
        .first()
        .map(|r| format!("第{}行：{}", r.line, r.reason))
        .unwrap_or_default();
    AppError::invalid(
        "file",
        format!("{message}，共{}行有误。{first}", lines.len()),
    )
    .with_extra(
        "rejected",
        serde_json::to_value(&lines).unwrap_or(serde_json::Value::Null),
    )
}

/// Most lines of one declaration file.
pub const MAX_DECLARATION_LINES: usize = 100_000;

/// Parses a CSV of declarations: `taxpayer_id,period,status` per line (status `declared`,
/// `not_declared`, `unknown` or 已申报、未申报、未获取), an optional header line naming the
/// columns (`taxpayer_id` or 纳税人识别号 first), blank lines skipped. Every bad line is
/// reported with its number; a taxpayer or period twice in the file is refused.
pub fn parse_declaration_csv(bytes: &[u8]) -> AppResult<Vec<(usize, DeclarationRow)>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| {
        AppError::invalid(
            "file",
            "文件不是UTF-8编码，请以UTF-8编码保存后重新上传（Excel请另存为“CSV UTF-8（逗号分隔）”）",
        )
    })?;
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for (i, l) in text.lines().enumerate() {
        let line = i + 1;
        let l = l.trim();
        if l.is_empty() {
            continue;
        }
        let cells: Vec<&str> = l
            .split(',')
            .map(|c| c.trim().trim_matches('"').trim())
            .collect();
        let first = cells.first().copied().unwrap_or_default();
        if rows.is_empty() && bad.is_empty() && (first == "taxpayer_id" || first == "纳税人识别号")
        {
            continue;
        }
        if rows.len() + bad.len() >= MAX_DECLARATION_LINES {
            return Err(AppError::invalid(
                "file",
                format!("文件行数过多：每次最多导入{MAX_DECLARATION_LINES}行"),
            ));
        }
        let parsed = (|| {
            let [id, period, status] = cells.as_slice() else {
                return Err(format!(
                    "应为3列（纳税人识别号,税款所属期,申报状态），此行有{}列",
                    cells.len()
                ));
            };
            let row = DeclarationRow {
                taxpayer: TaxpayerId::parse(id).map_err(|e| e.message)?,
                period: TaxPeriod::parse(period).map_err(|e| e.message)?,
                status: DeclarationStatus::parse_api(status).map_err(|e| e.message)?,
            };
            if let Some(prev) = seen.insert((row.taxpayer.clone(), row.period), line) {
                return Err(format!("与第{prev}行的纳税人和税款所属期重复"));
            }
            Ok(row)
        })();
        match parsed {
            Ok(row) => rows.push((line, row)),
            Err(reason) => bad.push(RefusedLine { line, reason }),
        }
    }
    if !bad.is_empty() {
        return Err(refused("申报状态文件有误，未导入任何记录", bad));
    }
    if rows.is_empty() {
        return Err(AppError::invalid("file", "文件中没有申报状态记录"));
    }
    Ok(rows)
}

/// Imports a declaration file ([`parse_declaration_csv`]): every line is checked first (the
/// form, then that each taxpayer exists), then all are recorded in one transaction; a line
/// the engine refuses fails the whole file with its number. Returns how many were recorded.
pub fn import_declaration_file(app: &App, who: &Who, bytes: &[u8]) -> AppResult<usize> {
    let rows = parse_declaration_csv(bytes)?;
    {
        let r = app.store.read()?;
        let mut bad = Vec::new();
        for (line, row) in &rows {
            if r.taxpayer(&row.taxpayer)?.is_none() {
                bad.push(RefusedLine {
                    line: *line,
                    reason: format!("纳税人{}不存在", row.taxpayer.as_str()),
                });
            }
        }
        if !bad.is_empty() {
            return Err(refused("申报状态文件有误，未导入任何记录", bad));
        }
    }
    let c = ctx(app, who);
    app.store.write(who, |tx| {
        for (line, row) in &rows {
            engine::record_declaration(tx, &c, &row.taxpayer, row.period, row.status).map_err(
                |e| {
                    if e.status().is_server_error() {
                        e
                    } else {
                        refused(
                            "申报状态文件有误，未导入任何记录",
                            vec![RefusedLine {
                                line: *line,
                                reason: e.message.to_string(),
                            }],
                        )
                    }
                },
            )?;
        }
        tx.audit("declaration.import", "", format!("rows={}", rows.len()));
        Ok(rows.len())
    })
}
