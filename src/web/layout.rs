//! The base layout, shaped like the original portal: platform name and version, the menu of
//! S-T3, the enterprise name and 退出 top right, and the footer.

use maud::{html, Markup, DOCTYPE};

use crate::domain::staff::{Area, Role};

pub const PLATFORM_NAME: &str = "增值税发票选择确认平台";

/// Who the page is for, as far as the layout cares.
#[derive(Debug, Clone, Default)]
pub enum Viewer {
    #[default]
    Anonymous,
    Taxpayer {
        name: String,
    },
    Staff {
        display_name: String,
        role: Role,
    },
}

impl Viewer {
    /// The viewer of a console page.
    pub fn staff(display_name: &str, role: Role) -> Viewer {
        Viewer::Staff {
            display_name: display_name.to_string(),
            role,
        }
    }
}

/// The console menu: label, path, and the area a role needs to see the entry (the same
/// matrix that guards the routes, so nobody is shown a page that would refuse them).
pub const OFFICE_MENU: &[(&str, &str, Area)] = &[
    ("工作台", "/office", Area::Console),
    ("纳税人管理", "/office/taxpayers", Area::ReadOffice),
    ("证书管理", "/office/certificates", Area::ReadOffice),
    ("发票数据", "/office/invoices", Area::ReadOffice),
    ("申报情况", "/office/declarations", Area::ReadOffice),
    ("申报期限", "/office/deadlines", Area::ReadOffice),
    ("风险纳税人", "/office/risky-sellers", Area::ReadOffice),
    ("征纳互动", "/office/interact", Area::Serve),
    (
        "互动记录",
        "/office/interact/history",
        Area::ReadInteractions,
    ),
    ("知识库维护", "/office/faq", Area::Console),
    ("培训", "/office/training", Area::ReadOffice),
    ("备份", "/office/backups", Area::ReadAudit),
    ("审计日志", "/office/audit", Area::ReadAudit),
    ("人员管理", "/office/staff", Area::ManageStaff),
];

tokio::task_local! {
    /// Set for each request of a read-only replica (by the server's middleware): the text of
    /// the banner every page shows.
    pub static REPLICA: Option<String>;
}

/// The banner text when this request is served by a read-only replica.
pub fn replica_banner() -> Option<String> {
    REPLICA.try_with(|b| b.clone()).ok().flatten()
}

/// Whether pages may show write controls at all (false on a read-only replica). Pages also
/// ask the role matrix: `writes_allowed() && role.may(area)`.
pub fn writes_allowed() -> bool {
    replica_banner().is_none()
}

/// The taxpayer menu (S-T3), in the manual's order.
pub const TAXPAYER_MENU: &[(&str, &str)] = &[
    ("首页", "/"),
    ("发票勾选", "/select"),
    ("批量勾选", "/bulk"),
    ("确认勾选", "/confirm"),
    ("发票查询", "/query"),
    ("抵扣统计", "/statistics"),
    ("进项税额转出", "/transfers-out"),
    ("档案信息维护", "/profile"),
];

pub struct Page<'a> {
    pub title: &'a str,
    pub viewer: Viewer,
    /// Path of the current menu entry, to highlight it.
    pub active: &'a str,
}

fn version() -> String {
    format!("V{}", env!("CARGO_PKG_VERSION"))
}

pub fn page(p: Page<'_>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (p.title) " - " (PLATFORM_NAME) }
                link rel="stylesheet" href="/assets/app.css";
                link rel="icon" href="/assets/favicon.svg" type="image/svg+xml";
                @if let Viewer::Taxpayer { .. } = p.viewer {
                    link rel="stylesheet" href="/assets/chat.css";
                }
            }
            body {
                a.skip href="#main" { "跳到主要内容" }
                header.top {
                    div.brand {
                        span.emblem aria-hidden="true" { "税" }
                        span.name { (PLATFORM_NAME) }
                        span.version { (version()) }
                    }
                    (user_box(&p.viewer))
                }
                @if let Viewer::Taxpayer { .. } = p.viewer {
                    nav.menu aria-label="主菜单" {
                        ul {
                            @for (label, href) in TAXPAYER_MENU {
                                li {
                                    @if *href == p.active {
                                        a href=(href) aria-current="page" { (label) }
                                    } @else {
                                        a href=(href) { (label) }
                                    }
                                }
                            }
                        }
                    }
                }
                @if let Viewer::Staff { role, .. } = &p.viewer {
                    nav.menu.office aria-label="税务人员菜单" {
                        ul {
                            @for (label, href, area) in OFFICE_MENU {
                                @if role.may(*area) {
                                    li { a href=(href) aria-current=[(*href == p.active).then_some("page")] { (label) } }
                                }
                            }
                        }
                    }
                }
                @if let Some(b) = replica_banner() {
                    div.replica role="status" { (b) }
                }
                main #main { (body) }
                footer.foot {
                    p { (PLATFORM_NAME) " " (version()) " · 请使用支持 TLS 1.2 及以上的现代浏览器访问" }
                    p { "如有疑问，请联系您的主管税务机关" }
                }
                @if let Viewer::Taxpayer { name } = &p.viewer {
                    // A replica serves no 征纳互动 (its socket is refused).
                    @if writes_allowed() { (interaction_button(name)) }
                }
            }
        }
    }
}

fn user_box(v: &Viewer) -> Markup {
    html! {
        div.user {
            @match v {
                Viewer::Anonymous => {}
                Viewer::Taxpayer { name } => {
                    a.enterprise href="/profile" title="档案信息维护" { (name) }
                    a.logout href="/logout" { "退出" }
                }
                Viewer::Staff { display_name, role } => {
                    span.enterprise { (display_name) "（" (role.label_zh()) "）" }
                    a.logout href="/office/logout" { "退出" }
                }
            }
        }
    }
}

/// The floating 征纳互动 button (S-I1): server-rendered and inert; `zn.js` (tiny) loads the chat
/// script on the first click only.
/// `data-who` lets the loader drop what the tab kept of another taxpayer's chat (a shared
/// computer: 退出, then someone else logs in in the same tab).
fn interaction_button(who: &str) -> Markup {
    html! {
        div #zn .zn data-who=(who) {
            button #zn-open .zn-fab type="button" aria-haspopup="dialog" aria-expanded="false"
                aria-controls="zn-window" title="征纳互动" {
                svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true" focusable="false" {
                    path fill="currentColor" d="M12 3a8 8 0 0 0-8 8v5a3 3 0 0 0 3 3h1v-7H6v-1a6 6 0 0 1 12 0v1h-2v7h1.5a2.5 2.5 0 0 1-2.4 2H13v1.5h2.1A4 4 0 0 0 19 19.3 3 3 0 0 0 20 17v-6a8 8 0 0 0-8-8z" {}
                }
                span.zn-fab-label { "征纳互动" }
            }
        }
        script src="/assets/zn.js" defer {}
    }
}

/// A notice box (info, success, error).
pub fn notice(kind: &str, text: &str) -> Markup {
    let role = if kind == "error" { "alert" } else { "status" };
    html! { div class={"notice " (kind)} role=(role) { (text) } }
}
