//! 进项税额转出 (`/transfers-out`): the certified-for-抵扣 invoices that became 失控, 异常, 作废
//! or 红冲, each with the tax to transfer out and a checkbox; 提交 records the ticked ones
//! for the current period (Post/Redirect/Get); the transfers recorded so far below.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::{html, see_other};
use crate::domain::InvoiceKey;
use crate::error::AppResult;
use crate::http::blocking;
use crate::http::extract::{Acting, TaxpayerUser};
use crate::service::portal;
use crate::service::portal::transfers::TransfersView;
use crate::web::components::{help_panel, num_td, with_error};
use crate::web::layout::{notice, page, writes_allowed, Page, Viewer};

pub const PATH: &str = "/transfers-out";
const TITLE: &str = "进项税额转出";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::get().to(show))
        .route(PATH, web::post().to(record));
}

const HELP: &[&str] = &[
    "已勾选认证（或扫描认证）用于申报抵扣的发票，之后被认定为失控、异常，或者被作废、红冲的，其已抵扣的进项税额需要做进项税额转出。",
    "列表中的“应转出税额”为该发票认证时的有效税额；勾选需要转出的发票后点击“提交”，转出记录在当前税款所属期。",
    "每张发票只能转出一次；已转出的发票列于下方“已记录的进项税额转出”，并计入当期抵扣统计和首页工作台。",
];

#[derive(Debug, Default, Deserialize)]
struct Done {
    done: Option<String>,
    n: Option<u64>,
    tax: Option<String>,
    r: Option<u64>,
    error: Option<String>,
}

fn key_value(code: Option<&str>, number: &str) -> String {
    format!("{}:{number}", code.unwrap_or("-"))
}

fn view(name: &str, v: &TransfersView, message: Option<Markup>) -> Markup {
    let period = v.current_period;
    let body = html! {
        section.card.transfers {
            div.card-head {
                h1 { (TITLE) }
                (help_panel(TITLE, HELP))
            }
            @if let Some(m) = message { div #message { (m) } }
            p.period { "当前税款所属期：" strong { (period.label_zh()) } "（进项税额转出记录在该所属期）" }
            h2 #candidates-h { "需要转出的发票" }
            @if v.candidates.items.is_empty() {
                p.empty { "没有需要做进项税额转出的发票。" }
            } @else {
                p.totals {
                    "共 " strong { (v.candidates.count) } " 份，应转出税额合计 " strong { (v.candidates.tax) } " 元"
                }
                form method="post" action=(PATH) {
                    input type="hidden" name="period" value=(period.to_string());
                    div.table-wrap { table.grid #candidates {
                        thead { tr {
                            th { "选择" } th { "发票代码" } th { "发票号码" } th { "开票日期" } th { "销方名称" }
                            th.num { "金额" } th.num { "税额" } th { "发票状态" } th { "认证所属期" } th.num { "应转出税额" }
                        } }
                        tbody {
                            @for c in &v.candidates.items {
                                tr {
                                    td { input type="checkbox" name="tick" value=(key_value(c.code.as_deref(), &c.number))
                                        aria-label={ "选择发票" (c.number) }; }
                                    td.mono { (c.code.as_deref().unwrap_or_default()) }
                                    td.mono { (c.number) }
                                    td { (c.issued_on) }
                                    td { (c.seller_name) }
                                    (num_td(c.amount))
                                    (num_td(c.tax))
                                    td.exception { (c.status.label_zh()) }
                                    td { (c.certified_period.map(|p| p.label_zh()).unwrap_or_default()) }
                                    (num_td(c.transfer_tax))
                                }
                            }
                        }
                    } }
                    @if writes_allowed() {
                        div.actions { button type="submit" { "提交" } }
                    }
                }
            }
            h2 #recorded-h { "已记录的进项税额转出" }
            @if v.recorded.items.is_empty() {
                p.empty { "尚无进项税额转出记录。" }
            } @else {
                p.totals {
                    "共 " strong { (v.recorded.count) } " 份，转出税额合计 " strong { (v.recorded.tax) } " 元"
                }
                div.table-wrap { table.grid #recorded {
                    thead { tr {
                        th { "发票代码" } th { "发票号码" } th { "税款所属期" } th { "转出时发票状态" } th.num { "转出税额" } th { "记录时间" }
                    } }
                    tbody {
                        @for t in &v.recorded.items {
                            tr {
                                td.mono { (t.code.as_deref().unwrap_or_default()) }
                                td.mono { (t.number) }
                                td { (t.period.label_zh()) }
                                td { (t.status.label_zh()) }
                                (num_td(t.tax))
                                td { (t.at.get(..19).unwrap_or(&t.at).replace('T', " ")) }
                            }
                        }
                    }
                } }
            }
        }
    };
    page(
        Page {
            title: TITLE,
            viewer: Viewer::Taxpayer {
                name: name.to_string(),
            },
            active: PATH,
        },
        body,
    )
}

async fn show(
    req: HttpRequest,
    Acting { app, who, user }: Acting<TaxpayerUser>,
) -> AppResult<HttpResponse> {
    let q: Done = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let (name, v) = blocking(move || {
        let t = crate::service::settle::settled(&app, &who, &user.id)?;
        Ok((t.name, portal::transfers::overview(&app, &who, &user.id)?))
    })
    .await?;
    let message = match (&q.error, q.done.as_deref()) {
        (Some(e), _) => Some(notice("error", e)),
        (None, Some("recorded")) => {
            let mut text = format!(
                "提交成功：记录进项税额转出 {} 份，转出税额 {} 元。",
                q.n.unwrap_or(0),
                q.tax.as_deref().unwrap_or("0.00")
            );
            if let Some(r) = q.r.filter(|r| *r > 0) {
                text.push_str(&format!("另有 {r} 份发票未转出（不需要转出或已转出）。"));
            }
            Some(notice("success", &text))
        }
        _ => None,
    };
    Ok(html(StatusCode::OK, view(&name, &v, message)))
}

/// 提交: records the ticked invoices for the page's period (the current one).
async fn record(
    Acting { app, who, user }: Acting<TaxpayerUser>,
    body: String,
) -> AppResult<HttpResponse> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap_or_default();
    let keys: Vec<InvoiceKey> = pairs
        .iter()
        .filter(|(k, _)| k == "tick")
        .filter_map(|(_, v)| {
            v.split_once(':')
                .and_then(|(c, n)| InvoiceKey::parse_any(Some(c), n).ok())
        })
        .collect();
    if keys.is_empty() {
        return Ok(see_other(&with_error(PATH, "请选择需要转出的发票")));
    }
    let period = pairs
        .iter()
        .find(|(k, _)| k == "period")
        .and_then(|(_, v)| crate::domain::TaxPeriod::parse(v).ok());
    let result = blocking(move || {
        let period = match period {
            Some(p) => p,
            None => portal::selection::current_period(&app, &who, &user.id)?,
        };
        portal::transfers::record(&app, &who, &user.id, period, &keys)
    })
    .await;
    Ok(match result {
        Ok(r) => see_other(&format!(
            "{PATH}?done=recorded&n={}&tax={}&r={}#message",
            r.recorded.len(),
            r.tax,
            r.rejected.len()
        )),
        Err(e) if e.status().is_server_error() => return Err(e),
        Err(e) => see_other(&with_error(PATH, &e.message)),
    })
}
