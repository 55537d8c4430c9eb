//! Tax office endpoints: taxpayers, invoice status, declarations and deadlines, scan
//! certifications, the training clock, the audit log, the 常见问题 knowledge base and staff
//! accounts. Every write needs a role that may change data (the knowledge base: 管理员 or
//! 征纳互动坐席; staff accounts: 管理员; one's own password: anyone); reading the knowledge
//! base is public.

mod audit;
mod backups;
mod certificates;
mod clock;
mod declarations;
mod faq;
mod invoices;
mod risky_sellers;
mod staff;
mod statistics;
mod taxpayers;

use utoipa::OpenApi;

use super::router::Routes;

/// The description of a write that needs a role that may change data.
const WRITER: &str = "需要可修改数据的税务人员角色（管理员、业务操作员）；审计员只读。";

pub(super) fn routes(r: &mut Routes<'_>) {
    taxpayers::routes(r);
    invoices::routes(r);
    declarations::routes(r);
    statistics::routes(r);
    clock::routes(r);
    audit::routes(r);
    faq::routes(r);
    staff::routes(r);
    backups::routes(r);
    certificates::routes(r);
    risky_sellers::routes(r);
}

/// The office's part of the OpenAPI document.
pub(super) fn doc() -> utoipa::openapi::OpenApi {
    let mut doc = taxpayers::Doc::openapi();
    for part in [
        invoices::Doc::openapi(),
        declarations::Doc::openapi(),
        statistics::Doc::openapi(),
        clock::Doc::openapi(),
        audit::Doc::openapi(),
        faq::Doc::openapi(),
        staff::Doc::openapi(),
        backups::Doc::openapi(),
        certificates::Doc::openapi(),
        risky_sellers::Doc::openapi(),
    ] {
        doc.merge(part);
    }
    doc
}
