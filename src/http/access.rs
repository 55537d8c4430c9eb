//! Which area of the role matrix (`domain::staff::Area`, `Role::may`) every staff route of the
//! API and the console belongs to, written once. The staff extractor looks a request's
//! method and route pattern up here and refuses roles the matrix does not allow; a staff
//! route missing from the table is refused to everyone (fail closed), and a test calls every
//! route of this table as every role.

use actix_web::HttpRequest;

use crate::domain::{Area, Role};
use crate::error::{AppError, Code};

use Area::*;

/// (method, route pattern as registered, area).
pub const STAFF_ROUTES: &[(&str, &str, Area)] = &[
    // The JSON API.
    ("GET", "/api/v1/office/taxpayers", ReadOffice),
    ("POST", "/api/v1/office/taxpayers", ChangeOffice),
    ("GET", "/api/v1/office/taxpayers/{id}", ReadOffice),
    ("PUT", "/api/v1/office/taxpayers/{id}", ChangeOffice),
    ("POST", "/api/v1/office/taxpayers/{id}/unlock", ChangeOffice),
    (
        "PUT",
        "/api/v1/office/taxpayers/{id}/refund-registration",
        ChangeOffice,
    ),
    ("GET", "/api/v1/office/invoices", ReadOffice),
    ("POST", "/api/v1/office/invoices", ChangeOffice),
    (
        "PUT",
        "/api/v1/office/invoices/{code}/{number}/status",
        ChangeOffice,
    ),
    (
        "PUT",
        "/api/v1/office/invoices/{code}/{number}/audit",
        ChangeOffice,
    ),
    ("POST", "/api/v1/office/invoices/status", ChangeOffice),
    ("POST", "/api/v1/office/scans", ChangeOffice),
    ("POST", "/api/v1/office/statistics/refresh", ChangeOffice),
    ("POST", "/api/v1/office/declarations", ChangeOffice),
    (
        "GET",
        "/api/v1/office/declarations/{taxpayer_id}/{period}",
        ReadOffice,
    ),
    (
        "PUT",
        "/api/v1/office/declarations/{taxpayer_id}/{period}",
        ChangeOffice,
    ),
    ("GET", "/api/v1/office/deadlines/{region}", ReadOffice),
    (
        "PUT",
        "/api/v1/office/deadlines/{region}/{period}",
        ChangeOffice,
    ),
    ("GET", "/api/v1/office/clock", ReadOffice),
    ("PUT", "/api/v1/office/clock", ChangeOffice),
    ("GET", "/api/v1/office/audit", ReadAudit),
    ("GET", "/api/v1/office/audit/export.csv", ReadAudit),
    ("GET", "/api/v1/office/audit/head", ReadAudit),
    ("POST", "/api/v1/office/backups", Operate),
    // An auditor takes a copy away to read on a replica.
    ("GET", "/api/v1/office/backups", ReadAudit),
    ("GET", "/api/v1/office/backups/{file}", ReadAudit),
    ("POST", "/api/v1/office/snapshots", Operate),
    ("GET", "/api/v1/office/snapshots", Operate),
    ("POST", "/api/v1/office/snapshots/{name}/restore", Operate),
    ("PUT", "/api/v1/office/faq/{id}", EditKnowledge),
    ("DELETE", "/api/v1/office/faq/{id}", EditKnowledge),
    ("POST", "/api/v1/office/faq/reset", EditKnowledge),
    ("GET", "/api/v1/interactions", ReadInteractions),
    ("GET", "/api/v1/office/staff", ManageStaff),
    ("POST", "/api/v1/office/staff", ManageStaff),
    ("PUT", "/api/v1/office/staff/{username}", ManageStaff),
    (
        "POST",
        "/api/v1/office/staff/{username}/password",
        ManageStaff,
    ),
    ("PUT", "/api/v1/office/me/password", Console),
    ("GET", "/api/v1/office/risky-sellers", ReadOffice),
    (
        "PUT",
        "/api/v1/office/risky-sellers/{seller_id}",
        ChangeOffice,
    ),
    (
        "DELETE",
        "/api/v1/office/risky-sellers/{seller_id}",
        ChangeOffice,
    ),
    // The console pages.
    ("GET", "/office", Console),
    // Console: training and backups.
    ("GET", "/office/training", ReadOffice),
    ("POST", "/office/training/clock", ChangeOffice),
    ("POST", "/office/training/snapshots", Operate),
    ("GET", "/office/training/snapshots/{name}/restore", Operate),
    ("POST", "/office/training/snapshots/{name}/restore", Operate),
    ("GET", "/office/backups", ReadAudit),
    ("POST", "/office/backups", Operate),
    ("GET", "/office/logout", Console),
    ("GET", "/office/password", Console),
    ("POST", "/office/password", Console),
    ("GET", "/office/faq", Console),
    ("POST", "/office/faq", EditKnowledge),
    ("GET", "/office/faq/new", EditKnowledge),
    ("POST", "/office/faq-reset", EditKnowledge),
    ("GET", "/office/faq/{id}/edit", EditKnowledge),
    ("POST", "/office/faq/{id}/delete", EditKnowledge),
    ("POST", "/office/faq/{id}", EditKnowledge),
    ("GET", "/office/interact", Serve),
    ("GET", "/office/interact/history", ReadInteractions),
    ("GET", "/office/interact/{id}", ReadInteractions),
    // Console: people pages.
    ("GET", "/office/taxpayers", ReadOffice),
    ("POST", "/office/taxpayers", ChangeOffice),
    ("GET", "/office/taxpayers/new", ChangeOffice),
    ("GET", "/office/taxpayers/{id}", ReadOffice),
    ("POST", "/office/taxpayers/{id}", ChangeOffice),
    ("GET", "/office/taxpayers/{id}/edit", ChangeOffice),
    ("POST", "/office/taxpayers/{id}/unlock", ChangeOffice),
    ("GET", "/office/staff", ManageStaff),
    ("POST", "/office/staff", ManageStaff),
    ("POST", "/office/staff/{username}/disable", ManageStaff),
    ("POST", "/office/staff/{username}/enable", ManageStaff),
    ("POST", "/office/staff/{username}/password", ManageStaff),
    ("POST", "/office/staff/{username}/regions", ManageStaff),
    ("GET", "/office/audit", ReadAudit),
    ("GET", "/office/audit/export.csv", ReadAudit),
    // Console: data pages.
    ("GET", "/office/invoices", ReadOffice),
    ("POST", "/office/invoices/import", ChangeOffice),
    ("POST", "/office/invoices/status", ChangeOffice),
    ("POST", "/office/invoices/status-bulk", ChangeOffice),
    ("POST", "/office/invoices/scans", ChangeOffice),
    ("POST", "/office/invoices/refresh", ChangeOffice),
    ("GET", "/office/declarations", ReadOffice),
    ("POST", "/office/declarations", ChangeOffice),
    ("POST", "/office/declarations/import", ChangeOffice),
    ("GET", "/office/deadlines", ReadOffice),
    ("POST", "/office/deadlines", ChangeOffice),
    ("GET", "/office/risky-sellers", ReadOffice),
    ("POST", "/office/risky-sellers", ChangeOffice),
    (
        "POST",
        "/office/risky-sellers/{seller_id}/delete",
        ChangeOffice,
    ),
    // Certificates.
    (
        "POST",
        "/api/v1/office/taxpayers/{id}/certificates",
        ChangeOffice,
    ),
    (
        "GET",
        "/api/v1/office/taxpayers/{id}/certificates",
        ReadOffice,
    ),
    (
        "POST",
        "/api/v1/office/certificates/{serial}/revoke",
        ChangeOffice,
    ),
    ("GET", "/office/certificates", ReadOffice),
    ("GET", "/office/taxpayers/{id}/certificates", ReadOffice),
    ("POST", "/office/taxpayers/{id}/certificates", ChangeOffice),
    ("POST", "/office/certificates/{serial}/revoke", ChangeOffice),
];

/// The staff routes open to a user who must change the password (an administrator reset it):
/// changing it, and logging out. Every other staff route refuses them.
pub const WHILE_PASSWORD_CHANGE_REQUIRED: &[(&str, &str)] = &[
    ("PUT", "/api/v1/office/me/password"),
    ("GET", "/office/password"),
    ("POST", "/office/password"),
    ("GET", "/office/logout"),
];

/// Refuses a user who must change the password on every route but those above.
pub fn check_password_change(req: &HttpRequest, must_change: bool) -> Result<(), AppError> {
    if !must_change {
        return Ok(());
    }
    let open = req.match_pattern().is_some_and(|p| {
        WHILE_PASSWORD_CHANGE_REQUIRED
            .iter()
            .any(|(m, q)| *q == p && m.eq_ignore_ascii_case(req.method().as_str()))
    });
    if open {
        Ok(())
    } else {
        Err(AppError::new(Code::PasswordChangeRequired).with_message(
            "管理员已重置您的密码，请先修改密码（工作台“修改密码”页 /office/password）",
        ))
    }
}

/// The area of a staff route, if the table has it.
pub fn area_of(method: &str, pattern: &str) -> Option<Area> {
    STAFF_ROUTES
        .iter()
        .find(|(m, p, _)| *p == pattern && m.eq_ignore_ascii_case(method))
        .map(|(_, _, a)| *a)
}

/// Refuses `role` on the route of `req` unless the matrix allows it.
pub fn check(req: &HttpRequest, role: Role) -> Result<(), AppError> {
    let area = req
        .match_pattern()
        .and_then(|p| area_of(req.method().as_str(), &p));
    match area {
        Some(a) if role.may(a) => Ok(()),
        Some(_) => Err(AppError::new(Code::WrongRole)),
        None => Err(AppError::new(Code::WrongRole).with_message("该功能未设定可使用的角色")),
    }
}

/// The portal pages open to a taxpayer who has not yet confirmed 档案信息 at the first login
/// (manual §1.1.4: confirming it comes before anything else): 档案信息维护 itself. Every other
/// portal page redirects there; the JSON API is not gated.
pub const BEFORE_FIRST_LOGIN_CONFIRMED: &[(&str, &str)] = &[
    ("GET", "/profile"),
    ("POST", "/profile"),
    ("POST", "/profile/password"),
];

/// Where a refused page request should go instead (a member of the error's extras, read by
/// the HTML error pages): the first-login gate sends the taxpayer to 档案信息维护.
pub const REDIRECT: &str = "location";

/// Refuses a page other than 档案信息维护 while the first login is not confirmed.
pub fn check_first_login(req: &HttpRequest, confirmed: bool) -> Result<(), AppError> {
    if confirmed || super::is_machine_path(req.path()) {
        return Ok(());
    }
    let open = req.match_pattern().is_some_and(|p| {
        BEFORE_FIRST_LOGIN_CONFIRMED
            .iter()
            .any(|(m, q)| *q == p && m.eq_ignore_ascii_case(req.method().as_str()))
    });
    if open {
        Ok(())
    } else {
        Err(AppError::new(Code::Forbidden)
            .with_message("首次登录：请先确认档案信息（企业基本信息和办税人员信息）")
            .with_extra(REDIRECT, "/profile?first=1"))
    }
}
