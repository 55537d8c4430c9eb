//! The console's pages about people (S-O1, S-O2, S-O6): 工作台 (`/office`), 纳税人管理
//! (`/office/taxpayers…`), 人员管理 (`/office/staff…`, administrators) and 审计日志
//! (`/office/audit…`). Plain forms (no scripts), Post/Redirect/Get; a refused form comes back
//! with the input and the reason and changes nothing. Write controls are rendered only for a
//! role the matrix lets write (and never on a read-only replica); the routes are guarded by
//! `http::access` all the same.

mod audit;
mod home;
mod staff;
mod taxpayer;
mod taxpayers;

use actix_web::web;
use chrono::{DateTime, FixedOffset};
use maud::Markup;

use crate::domain::{Area, CreditRating};
use crate::http::extract::StaffUser;
use crate::web::layout::{self, page, Page, Viewer};

pub fn routes(cfg: &mut web::ServiceConfig) {
    home::routes(cfg);
    taxpayers::routes(cfg);
    taxpayer::routes(cfg);
    staff::routes(cfg);
    audit::routes(cfg);
}

/// A console page for `staff` with the menu entry `active` marked.
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

/// Whether write controls of `area` are shown to `staff` here.
fn may_write(staff: &StaffUser, area: Area) -> bool {
    layout::writes_allowed() && staff.role.may(area)
}

/// Whether `staff` may open the page at `path` (the route table's GET entry and the matrix);
/// pages not there (yet) are not linked.
fn may_open(staff: &StaffUser, path: &str) -> bool {
    crate::http::access::area_of("GET", path).is_some_and(|a| staff.role.may(a))
}

/// A time as the console shows it.
fn when(t: &DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// 纳税信用等级 as shown.
fn rating_label(r: Option<CreditRating>) -> String {
    r.map_or_else(|| "未设置".to_string(), |r| format!("{r}级"))
}

/// `?a=b&c=d` of the non-empty pairs (empty when none).
fn query_string(pairs: &[(&str, &str)]) -> String {
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .copied()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
    if pairs.is_empty() {
        return String::new();
    }
    serde_urlencoded::to_string(pairs)
        .map(|q| format!("?{q}"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_skip_empty_fields_and_encode() {
        assert_eq!(query_string(&[("q", ""), ("page", " ")]), "");
        assert_eq!(
            query_string(&[("q", "福州 a&b"), ("page", "2")]),
            "?q=%E7%A6%8F%E5%B7%9E+a%26b&page=2"
        );
    }
}
