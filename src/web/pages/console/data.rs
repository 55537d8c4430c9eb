//! The console's data pages (S-O3, S-O4): 发票数据 (import files, search, status changes, 扫描认证
//! records, the statistics refresh), 申报情况 (declarations by taxpayer and period, one by
//! form or a file of them), 申报期限 (each province's deadlines for a year) and 风险纳税人
//! (sellers flagged for the taxpayers' risk alerts). Plain forms
//! with Post/Redirect/Get, so everything works without JavaScript (`assets/upload.js` only
//! adds an upload progress bar). The same services as `/api/v1/office`; every route is in
//! `http::access` (pages `ReadOffice`, writes `ChangeOffice`), and write controls are shown
//! only to roles that may use them.

mod deadlines;
mod declarations;
mod invoices;
mod risky_sellers;

use actix_web::web;
use maud::{html, Markup};

use crate::domain::Area;
use crate::error::AppError;
use crate::http::extract::StaffUser;
use crate::web::layout::{notice, page, writes_allowed, Page, Viewer};

pub fn routes(cfg: &mut web::ServiceConfig) {
    invoices::routes(cfg);
    declarations::routes(cfg);
    deadlines::routes(cfg);
    risky_sellers::routes(cfg);
}

/// Largest file the data pages accept.
const MAX_UPLOAD: usize = 32 << 20;
/// Refused lines listed on a page (the count names them all).
const REFUSED_SHOWN: usize = 500;

/// A console page with the menu entry `active` highlighted.
fn staff_page(staff: &StaffUser, title: &str, active: &str, body: Markup) -> Markup {
    page(
        Page {
            title,
            viewer: Viewer::staff(&staff.display_name, staff.role),
            active,
        },
        body,
    )
}

/// Whether to show write controls to `staff` (never on a read-only replica).
fn may_change(staff: &StaffUser) -> bool {
    writes_allowed() && staff.role.may(Area::ChangeOffice)
}

/// The note shown instead of write controls.
fn read_only_note() -> Markup {
    html! { p.hint { "您的角色只能查看；导入、变更和记录由管理员或业务操作员进行。" } }
}

/// The refused lines an import error carries (`rejected`: `{line, reason}`), in line order.
fn refused_lines(e: &AppError) -> Vec<(u64, String)> {
    let mut out: Vec<(u64, String)> = e
        .extra
        .get("rejected")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|r| {
                    Some((
                        r.get("line")?.as_u64()?,
                        r.get("reason")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by_key(|(l, _)| *l);
    out
}

/// An error notice, with the table of refused lines when the error has them.
fn error_report(e: &AppError) -> Markup {
    let lines = refused_lines(e);
    html! {
        (notice("error", &e.message))
        @if !lines.is_empty() {
            div.refused {
                h3 { "有误的行（共" (lines.len()) "行，未导入任何记录）" }
                table.grid.rejected {
                    thead { tr { th.num { "行号" } th { "原因" } } }
                    tbody {
                        @for (line, reason) in lines.iter().take(REFUSED_SHOWN) {
                            tr { td.num { (line) } td { (reason) } }
                        }
                    }
                }
                @if lines.len() > REFUSED_SHOWN {
                    p.hint { "仅显示前" (REFUSED_SHOWN) "行。" }
                }
            }
        }
    }
}

/// `path?k=v&…` with the non-empty values encoded.
fn link(path: &str, pairs: &[(&str, &str)]) -> String {
    let kept: Vec<(&str, &str)> = pairs
        .iter()
        .copied()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let q = serde_urlencoded::to_string(kept).unwrap_or_default();
    if q.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{q}")
    }
}
