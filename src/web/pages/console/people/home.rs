//! 工作台 (`/office`): what needs attention now, each figure linked to the page where it is
//! dealt with — only the figures and links of the areas the role may use.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::{may_open, staff_page, when};
use crate::domain::Area;
use crate::error::AppResult;
use crate::http::extract::{Acting, StaffUser};
use crate::service::office::dashboard::{self, Dashboard, CLOSING_DAYS};
use crate::web::layout::notice;
use crate::web::pages::html;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/office", web::get().to(console));
}

#[derive(Debug, Deserialize)]
struct ConsoleQuery {
    password: Option<String>,
}

/// A tile: a label, a figure, a remark, linked to `href` when the role may open it.
fn tile(staff: &StaffUser, label: &str, figure: Markup, remark: Markup, href: &str) -> Markup {
    html! {
        li.tile {
            span.label { (label) }
            span.figure { (figure) }
            span.remark { (remark) }
            @if may_open(staff, href) {
                a href=(href) { "前往" (label) }
            }
        }
    }
}

fn or_unknown(v: Option<u64>) -> String {
    v.map_or_else(|| "未知".to_string(), |v| v.to_string())
}

fn body(staff: &StaffUser, d: &Dashboard, changed: bool) -> Markup {
    let role = staff.role;
    let office = role.may(Area::ReadOffice);
    html! {
        section.card.dash {
            h1 { "税务人员工作台" }
            @if changed { (notice("success", "密码已修改。")) }
            dl.facts {
                dt { "用户" } dd { (staff.display_name) " (" (staff.username) ")" }
                dt { "角色" } dd { (role.label_zh()) }
                dt { "系统时间" } dd { (when(&d.now)) }
                dt { "培训模式" } dd { (if d.training { "是" } else { "否" }) }
            }
            p.aside { a href="/office/password" { "修改密码" } }
        }
        @if office {
            section.card.dash {
                h2 { "待办与概况" }
                ul.tiles {
                    (tile(staff, "纳税人管理", html! { (d.taxpayers) " 户" },
                        html! { @if d.locked > 0 { "平台密码已锁定 " strong { (d.locked) } " 户" } @else { "无平台密码锁定" } },
                        "/office/taxpayers"))
                    (tile(staff, "发票数据", html! { (or_unknown(d.invoices)) " 份" },
                        html! { "扫描认证待夜间作业处理 " strong { (d.scans_waiting) } " 份" },
                        "/office/invoices"))
                    (tile(staff, "申报期限", html! { (d.closing.len()) " 项" },
                        html! { (CLOSING_DAYS) "天内勾选截止的所属期" },
                        "/office/deadlines"))
                    (tile(staff, "培训", html! { (if d.clock.is_some() { "已设定" } else { "实时" }) },
                        html! {
                            @if let Some(c) = d.clock { "培训时钟设定为 " (when(&c.set_to)) }
                            @else if d.training { "培训模式，业务时间即系统时间" }
                            @else { "非培训模式" }
                        },
                        "/office/training"))
                }
                h2 { "本周勾选截止的所属期" }
                @if d.closing.is_empty() {
                    p.hint { (CLOSING_DAYS) "天内没有所属期的勾选截止。" }
                } @else {
                    table.grid.closing {
                        thead { tr { th { "地区" } th { "税款所属期" } th { "截止日期" } th.num { "纳税人户数" } } }
                        tbody {
                            @for c in &d.closing {
                                tr {
                                    td { (c.region.name()) " (" (c.region.code()) ")" }
                                    td { (c.period.label_zh()) }
                                    td { (c.deadline) }
                                    td.num { (c.taxpayers) }
                                }
                            }
                        }
                    }
                    @if may_open(staff, "/office/declarations") {
                        p.aside { a href="/office/declarations" { "查看申报情况" } }
                    }
                }
                h2 { "系统状态" }
                dl.facts {
                    dt { "夜间统计作业" }
                    dd { @match d.last_job { Some(t) => { "最近一次运行于 " (when(&t)) }, None => "尚未运行" } }
                    dt { "查询索引" }
                    dd {
                        @match d.index_lag {
                            Some(0) => "已同步",
                            Some(n) => { "落后 " (n) " 次提交（查询前会自动补齐）" },
                            None => "状态未知",
                        }
                    }
                }
            }
        }
        @if role.may(Area::Serve) || role.may(Area::ReadInteractions) {
            section.card.dash {
                h2 { "征纳互动" }
                ul.tiles {
                    (tile(staff, "征纳互动",
                        html! { @match d.interact { Some((q, _)) => { (q) " 人排队" }, None => "未运行" } },
                        html! { @if let Some((_, a)) = d.interact { "在线坐席 " strong { (a) } " 人" } },
                        "/office/interact"))
                    (tile(staff, "互动记录", html! { "—" }, html! { "会话记录与评价" }, "/office/interact/history"))
                    (tile(staff, "知识库维护", html! { "—" }, html! { "常见问题与智能客服的知识库" }, "/office/faq"))
                }
            }
        }
        @if role.may(Area::ReadAudit) || role.may(Area::ManageStaff) {
            section.card.dash {
                h2 { "管理" }
                ul.tiles {
                    @if role.may(Area::ReadAudit) {
                        (tile(staff, "审计日志", html! { "—" }, html! { "谁在何时做了什么" }, "/office/audit"))
                    }
                    @if role.may(Area::ManageStaff) {
                        (tile(staff, "人员管理", html! { "—" }, html! { "税务人员账号与角色" }, "/office/staff"))
                    }
                }
            }
        }
    }
}

async fn console(a: Acting<StaffUser>, q: web::Query<ConsoleQuery>) -> AppResult<HttpResponse> {
    let staff = a.user.clone();
    let d = a.run(|app, _, _| dashboard::read(app)).await?;
    let changed = q.password.as_deref() == Some("changed");
    Ok(html(
        StatusCode::OK,
        staff_page(
            &staff,
            "税务人员工作台",
            "/office",
            body(&staff, &d, changed),
        ),
    ))
}
