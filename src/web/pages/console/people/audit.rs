//! 审计日志: the audit log filtered by actor, action, target and a range of days, paged,
//! newest first, and the same selection as a CSV file.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime};
use maud::{html, Markup};
use serde::Deserialize;

use super::{query_string, staff_page, when};
use crate::domain::AuditEntry;
use crate::error::{AppError, AppResult};
use crate::http::extract::{Acting, StaffUser};
use crate::service::office::audit::{self, AuditSearch};
use crate::web::components::pager;
use crate::web::layout::notice;
use crate::web::pages::html;

const ACTIVE: &str = "/office/audit";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/office/audit", web::get().to(list))
        .route("/office/audit/export.csv", web::get().to(export));
}

/// Common actions, offered as suggestions (any action or its beginning may be typed).
const ACTIONS: &[(&str, &str)] = &[
    ("taxpayer.", "纳税人档案（全部）"),
    ("taxpayer.create", "新增纳税人"),
    ("taxpayer.update", "修改纳税人档案"),
    ("taxpayer.unlock", "解锁平台密码"),
    ("staff.", "税务人员（全部）"),
    ("staff.login", "税务人员登录"),
    ("staff.create", "新增账号"),
    ("staff.update", "修改账号"),
    ("staff.password_reset", "重置密码"),
    ("invoice.", "发票（全部）"),
    ("declaration.", "申报（全部）"),
    ("deadline.set", "设置申报期限"),
];

#[derive(Debug, Default, Clone, Deserialize)]
struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: String,
    /// YYYY-MM-DD, the first day.
    #[serde(default)]
    from: String,
    /// YYYY-MM-DD, the last day.
    #[serde(default)]
    to: String,
    page: Option<String>,
    per_page: Option<String>,
}

fn day(field: &'static str, label: &str, s: &str) -> AppResult<Option<NaiveDate>> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| AppError::invalid(field, format!("{label}格式应为 YYYY-MM-DD，如 2026-11-20")))
}

impl AuditQuery {
    /// The service's search: days in the business offset, `to` up to the end of its day.
    fn search(&self, tz: FixedOffset) -> AppResult<AuditSearch> {
        let at = |d: NaiveDate| -> Option<DateTime<FixedOffset>> {
            d.and_time(NaiveTime::MIN).and_local_timezone(tz).single()
        };
        let from = day("from", "起始日期", &self.from)?;
        let to = day("to", "截止日期", &self.to)?;
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Err(AppError::invalid("to", "截止日期不能早于起始日期"));
            }
        }
        Ok(AuditSearch {
            actor: self.actor.trim().to_string(),
            action: self.action.trim().to_string(),
            target: self.target.trim().to_string(),
            from: from.and_then(at),
            to: to
                .and_then(|d| d.succ_opt())
                .and_then(at)
                .map(|t| t - Duration::nanoseconds(1)),
        })
    }

    /// The filters as a query string, with `extra` pairs.
    fn link(&self, extra: &[(&str, &str)]) -> String {
        let mut pairs = vec![
            ("actor", self.actor.as_str()),
            ("action", self.action.as_str()),
            ("target", self.target.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
        ];
        pairs.extend_from_slice(extra);
        query_string(&pairs)
    }
}

fn view(
    staff: &StaffUser,
    q: &AuditQuery,
    found: Option<(usize, &[AuditEntry])>,
    page: usize,
    per_page: usize,
    error: Option<&str>,
) -> Markup {
    let per = per_page.to_string();
    let body = html! {
        section.card.people.audit {
            h1 { "审计日志" }
            @if let Some(e) = error { (notice("error", e)) }
            form.conditions method="get" action="/office/audit" {
                div.fields {
                    label { "操作人" input name="actor" value=(q.actor) placeholder="如 staff:admin" maxlength="100"; }
                    label { "操作" input name="action" value=(q.action) list="audit-actions" placeholder="如 taxpayer." maxlength="100"; }
                    label { "对象" input name="target" value=(q.target) placeholder="纳税人识别号、用户名等" maxlength="100"; }
                    label { "起始日期" input name="from" type="date" value=(q.from); }
                    label { "截止日期" input name="to" type="date" value=(q.to); }
                }
                datalist #audit-actions {
                    @for (v, l) in ACTIONS { option value=(v) { (l) } }
                }
                div.actions {
                    button type="submit" { "查询" }
                    a.button.secondary href="/office/audit" { "清除条件" }
                    @if found.is_some() {
                        a.button.secondary href={ "/office/audit/export.csv" (q.link(&[])) } download { "导出 CSV" }
                    }
                }
            }
            @if let Some((total, items)) = found {
                p.summary { "共 " (total) " 条，新的在前" }
                table.grid.audit-log {
                    thead { tr {
                        th { "序号" } th { "时间" } th { "业务时间" } th { "操作人" } th { "地址" } th { "操作" } th { "对象" } th { "详情" }
                    } }
                    tbody {
                        @for e in items {
                            tr {
                                td.num { (e.seq) }
                                td { (when(&e.at)) }
                                td { (e.business_at.as_ref().map(when).unwrap_or_default()) }
                                td { (e.actor) }
                                td.mono { (e.address.as_deref().unwrap_or("")) }
                                td.mono { (e.action) }
                                td.mono { (e.target) }
                                td.detail { (e.detail) }
                            }
                        }
                    }
                }
                @if items.is_empty() { p.hint { "没有符合条件的记录。" } }
                (pager("审计日志分页", page, per_page, total as u64, |p| {
                    format!("/office/audit{}", q.link(&[("page", p.to_string().as_str()), ("per_page", per.as_str())]))
                }))
            }
        }
    };
    staff_page(staff, "审计日志", ACTIVE, body)
}

async fn list(a: Acting<StaffUser>, q: web::Query<AuditQuery>) -> AppResult<HttpResponse> {
    let staff = a.user.clone();
    let q = q.into_inner();
    let paging = crate::service::listing::paging(q.page.as_deref(), q.per_page.as_deref())?;
    let (page, per_page) = (paging.page(), paging.per_page());
    let search = match q.search(a.app.clock.tz()) {
        Ok(s) => s,
        Err(e) => {
            return Ok(html(
                e.status(),
                view(&staff, &q, None, page, per_page, Some(&e.message)),
            ))
        }
    };
    let (total, items) = a
        .run(move |app, _, _| audit::search(app, &search, paging))
        .await?;
    Ok(html(
        StatusCode::OK,
        view(
            &staff,
            &q,
            Some((total, items.as_slice())),
            page,
            per_page,
            None,
        ),
    ))
}

async fn export(a: Acting<StaffUser>, q: web::Query<AuditQuery>) -> AppResult<HttpResponse> {
    let search = q.search(a.app.clock.tz())?;
    let bytes = a
        .run(move |app, _, _| audit::search_csv(app, &search))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"audit.csv\"",
        ))
        .body(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_cover_whole_days_in_the_business_offset() {
        let tz = FixedOffset::east_opt(8 * 3600).unwrap();
        let q = AuditQuery {
            from: "2026-11-20".into(),
            to: "2026-11-20".into(),
            ..Default::default()
        };
        let s = q.search(tz).unwrap();
        assert_eq!(s.from.unwrap().to_rfc3339(), "2026-11-20T00:00:00+08:00");
        assert_eq!(
            s.to.unwrap().to_rfc3339(),
            "2026-11-20T23:59:59.999999999+08:00"
        );
        let bad = AuditQuery {
            from: "20261120".into(),
            ..Default::default()
        };
        assert!(bad.search(tz).unwrap_err().message.contains("起始日期"));
        let reversed = AuditQuery {
            from: "2026-11-21".into(),
            to: "2026-11-20".into(),
            ..Default::default()
        };
        assert!(reversed.search(tz).is_err());
    }
}
