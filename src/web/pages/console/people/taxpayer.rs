//! A taxpayer's page (`/office/taxpayers/{id}`): the record, the current period with its
//! window and filing period, declarations, confirmation batches, the year's certified
//! figures, the credit rating and record changes, and the audit entries about it — with 修改档案
//! and 解锁平台密码 for those who may change office data.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::{may_open, may_write, query_string, rating_label, staff_page, when};
use crate::domain::{Area, RefundRegistration, TaxpayerId};
use crate::error::AppResult;
use crate::http::extract::{Acting, StaffUser};
use crate::service::office::overview::{self, TaxpayerOverview};
use crate::web::layout::notice;
use crate::web::pages::html;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/office/taxpayers/{id}", web::get().to(show));
}

#[derive(Debug, Default, Deserialize)]
struct ShowQuery {
    done: Option<String>,
}

fn done_notice(done: Option<&str>) -> Option<Markup> {
    let text = match done? {
        "created" => "已新增纳税人。",
        "saved" => "已保存档案。",
        "unlocked" => "已解锁平台密码，今日密码错误次数已清零。",
        _ => return None,
    };
    Some(notice("success", text))
}

fn body(
    staff: &StaffUser,
    o: &TaxpayerOverview,
    registration: RefundRegistration,
    done: Option<&str>,
) -> Markup {
    let t = &o.taxpayer;
    let writer = may_write(staff, Area::ChangeOffice);
    html! {
        section.card.people.taxpayer {
            h1 { (t.name) " " span.mono { (t.id) } }
            @if let Some(n) = done_notice(done) { (n) }
            @if writer {
                div.actions {
                    a.button href={ "/office/taxpayers/" (t.id) "/edit" } { "修改档案" }
                    @if o.failures_today > 0 {
                        form.inline method="post" action={ "/office/taxpayers/" (t.id) "/unlock" } {
                            button.secondary type="submit" { "解锁平台密码" }
                        }
                    }
                }
            }
            div.two {
                div {
                    h2 { "档案" }
                    dl.facts {
                        dt { "纳税人识别号" } dd.mono { (t.id) }
                        dt { "纳税人名称" } dd { (t.name) }
                        dt { "地区" } dd { (t.region.name()) " (" (t.region.code()) ")" }
                        dt { "主管税务机关" } dd { (t.authority) }
                        dt { "登录资格" } dd { (if t.eligible { "有" } else { "无" }) }
                        dt { "纳税信用等级" } dd { (rating_label(t.credit_rating)) }
                        dt { "退税登记" } dd.refund-registration { (registration.label_zh()) }
                        dt { "办税人员" } dd { (t.contact.name) " " (t.contact.phone) " " (t.contact.email) }
                        dt { "平台密码" }
                        dd {
                            (if t.platform_password.is_some() { "已设置" } else { "未设置" })
                            @if o.locked { "，" strong.exception { "今日已锁定" } }
                            @else if o.failures_today > 0 { "，今日错误 " (o.failures_today) " 次" }
                        }
                        dt { "首次登录确认" } dd { (if t.first_login_done { "已完成" } else { "未完成" }) }
                        dt { "培训数据" } dd { (if t.training { "是" } else { "否" }) }
                        dt { "建档时间" } dd { (when(&t.created_at)) }
                    }
                }
                div {
                    h2 { "所属期" }
                    dl.facts {
                        dt { "当前税款所属期" } dd { (t.current_period.label_zh()) }
                        dt { "勾选截止日期" } dd { (o.window_closes) }
                        dt { "申报期" } dd { (o.filing_period.from) " 至 " (o.filing_period.to) }
                        dt { "是否在申报期内" } dd { (if o.in_filing_period { "是" } else { "否" }) }
                    }
                    h2 { "申报情况" }
                    table.grid {
                        thead { tr { th { "税款所属期" } th { "申报状态" } } }
                        tbody {
                            @for (p, s) in &o.declarations {
                                tr { td { (p.label_zh()) } td { (s.map_or("未记录", |s| s.label_zh())) } }
                            }
                        }
                    }
                }
            }
            h2 { "确认批次（本期及上期）" }
            @if o.batches.is_empty() {
                p.hint { "本期及上期没有确认批次。" }
            } @else {
                table.grid {
                    thead { tr {
                        th { "税款所属期" } th { "批次" } th { "状态" } th.num { "份数" } th.num { "金额" } th.num { "税额" }
                        th { "确定时间" } th { "提交时间" } th { "说明" }
                    } }
                    tbody {
                        @for b in &o.batches {
                            tr {
                                td { (b.period.label_zh()) }
                                td.num { (b.number) }
                                td { (b.status.label_zh()) }
                                td.num { (b.count) }
                                td.num { (b.amount) }
                                td.num { (b.tax) }
                                td { (when(&b.made_at)) }
                                td { (b.submitted_at.as_ref().map(when).unwrap_or_default()) }
                                td { (b.void_reason.map(|r| r.message(b.period)).unwrap_or_default()) }
                            }
                        }
                    }
                }
            }
            h2 { "抵扣统计（" (t.current_period.year()) "年，勾选认证与扫描认证）" }
            table.grid.months {
                thead { tr { th { "税款所属期" } th.num { "份数" } th.num { "税额" } } }
                tbody {
                    @for c in &o.cards {
                        tr { td { (c.period.label_zh()) } td.num { (c.count) } td.num { (c.tax) } }
                    }
                }
            }
            h2 { "纳税信用等级变更记录" }
            @if t.rating_history.is_empty() {
                p.hint { "没有变更记录。" }
            } @else {
                table.grid.rating-history {
                    thead { tr { th { "时间" } th { "原等级" } th { "新等级" } th { "操作人" } } }
                    tbody {
                        @for r in t.rating_history.iter().rev() {
                            tr { td { (when(&r.at)) } td { (rating_label(r.from)) } td { (rating_label(r.to)) } td { (r.by) } }
                        }
                    }
                }
            }
            h2 { "档案变更记录" }
            @if o.changes.is_empty() {
                p.hint { "没有变更记录。" }
            } @else {
                table.grid {
                    thead { tr { th { "时间" } th { "项目" } th { "原值" } th { "新值" } th { "操作人" } } }
                    tbody {
                        @for c in o.changes.iter().rev() {
                            tr { td { (when(&c.at)) } td { (field_label(&c.field)) } td { (c.from) } td { (c.to) } td { (c.by) } }
                        }
                    }
                }
            }
            h2 { "审计记录（最近" (o.audit.len()) "条，共" (o.audit_total) "条）" }
            @if o.audit.is_empty() {
                p.hint { "没有审计记录。" }
            } @else {
                table.grid {
                    thead { tr { th { "时间" } th { "操作人" } th { "操作" } th { "对象" } th { "详情" } } }
                    tbody {
                        @for e in &o.audit {
                            tr { td { (when(&e.at)) } td { (e.actor) } td.mono { (e.action) } td.mono { (e.target) } td { (e.detail) } }
                        }
                    }
                }
            }
            @if may_open(staff, "/office/audit") {
                p.aside { a href={ "/office/audit" (query_string(&[("target", t.id.as_str())])) } { "在审计日志中查看全部" } }
            }
            p.aside { a href="/office/taxpayers" { "返回纳税人列表" } }
        }
    }
}

/// The label of a field of the office's change records.
fn field_label(field: &str) -> &str {
    match field {
        "name" => "纳税人名称",
        "region" => "地区",
        "authority" => "主管税务机关",
        "eligible" => "登录资格",
        "credit_rating" => "纳税信用等级",
        "contact" => "办税人员",
        other => other,
    }
}

async fn show(
    a: Acting<StaffUser>,
    path: web::Path<String>,
    q: web::Query<ShowQuery>,
) -> AppResult<HttpResponse> {
    let staff = a.user.clone();
    let id = TaxpayerId::parse(&path.into_inner())?;
    let (o, registration) = a
        .run(move |app, who, _| {
            Ok((
                overview::overview(app, who, &id)?,
                crate::service::office::taxpayers::refund_registration(app, &id)?,
            ))
        })
        .await?;
    let title = format!("纳税人 {}", o.taxpayer.id);
    Ok(html(
        StatusCode::OK,
        staff_page(
            &staff,
            &title,
            "/office/taxpayers",
            body(&staff, &o, registration, q.done.as_deref()),
        ),
    ))
}
