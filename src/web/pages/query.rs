//! 发票查询 (S-T10): 单票查询 by code and number (every field and the history of the invoice)
//! and 未到期发票查询 (invoices issued after the current period), paged.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::html;
use crate::domain::{InvoiceKey, SelectionState};
use crate::error::AppResult;
use crate::http::blocking;
use crate::http::extract::{Acting, TaxpayerUser};
use crate::service::listing::InvoicePage;
use crate::service::portal;
use crate::service::portal::query::NotYetDueRaw;
use crate::service::portal::query::SingleView;
use crate::service::{self};
use crate::web::components::{help_panel, pager, url_part, Col, InvoiceTable};
use crate::web::layout::{notice, page, Page, Viewer};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/query", web::get().to(query_page));
}

#[derive(Debug, Default, Deserialize)]
struct Query {
    /// `single` (单票查询) or `due` (未到期发票查询).
    mode: Option<String>,
    code: Option<String>,
    number: Option<String>,
    issued_from: Option<String>,
    issued_to: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

/// The 关注要点 of 发票查询 (manual §1.11).
const HELP: &[&str] = &[
    "发票查询分为单票查询和未到期发票查询。",
    "单票查询：输入发票代码及发票号码（必须条件）后点击“查询”，查看发票的详细信息和状态变更记录；查询范围为当前税款所属期前180天内的发票及税款所属期当月开票的数据。",
    "未到期发票查询：查询还未到发票抵扣期限的发票明细，如征期内开具的发票可在征期内通过本功能查询；可按发票代码、发票号码和开票日期筛选。",
    "发票状态为“作废”“失控”“红冲”“异常”的发票不能作为抵扣的有效依据。",
];

fn single_view(s: &SingleView) -> Markup {
    let i = &s.invoice;
    html! {
        h2 { "发票信息" }
        dl.facts {
            dt { "发票代码" } dd.mono { (i.code_text()) }
            dt { "发票号码" } dd.mono { (i.number) }
            dt { "发票类型" } dd { (i.kind.label_zh()) }
            dt { "开票日期" } dd { (i.issued_on) }
            dt { "销方税号" } dd.mono { (i.seller_id) }
            dt { "销方名称" } dd { (i.seller_name) }
            dt { "购方税号" } dd.mono { (i.buyer_id) }
            dt { "金额" } dd.num { (i.amount) }
            dt { "税额" } dd.num { (i.tax) }
            dt { "发票状态" } dd { (i.status.label_zh()) }
            dt { "勾选状态" } dd {
                (match i.selection { SelectionState::Confirmed { .. } => "已确认（勾选认证）", ref s => s.label_zh() })
            }
            @if let Some(p) = i.period { dt { "税款所属期" } dd { (p.label_zh()) } }
            @if let Some(d) = i.certified_on { dt { "确认/扫描日期" } dd { (d) } }
            @if let Some(b) = i.batch { dt { "确认批次" } dd { "第" (b) "次确认" } }
        }
        h2 { "状态变更记录" }
        @if s.history.is_empty() {
            p.hint { "暂无状态变更记录。" }
        } @else {
            table.grid {
                thead { tr { th { "时间" } th { "操作" } th { "说明" } } }
                tbody {
                    @for h in &s.history {
                        tr { td { (h.at.get(..19).unwrap_or(&h.at).replace('T', " ")) } td { (crate::domain::InvoiceChange::action_zh(h.action)) } td { (h.detail) } }
                    }
                }
            }
        }
    }
}

fn due_view(p: &InvoicePage, q: &Query) -> Markup {
    let part = |v: &Option<String>| url_part(v.as_deref().unwrap_or(""));
    let link = |n: usize| {
        format!(
            "/query?mode=due&issued_from={}&issued_to={}&code={}&number={}&page={n}&per_page={}",
            part(&q.issued_from),
            part(&q.issued_to),
            part(&q.code),
            part(&q.number),
            p.per_page
        )
    };
    html! {
        h2 { "未到期发票（共 " (p.total) " 份，金额 " (p.amount) "，税额 " (p.tax) "）" }
        @if p.items.is_empty() {
            p.hint { "没有符合条件的未到期发票。" }
        } @else {
            (InvoiceTable {
                items: &p.items,
                cols: &[Col::Code, Col::Number, Col::IssuedOn, Col::SellerName, Col::Amount, Col::Tax, Col::Status],
                exceptions: false,
                lead: None,
            })
            (pager("分页", p.page, p.per_page, p.total, link))
        }
    }
}

fn view(name: &str, q: &Query, result: Markup) -> Markup {
    let v = |s: &Option<String>| s.clone().unwrap_or_default();
    // Each form shows the code and number it was asked with.
    let single = q.mode.as_deref() == Some("single");
    let due = |s: &Option<String>| if single { String::new() } else { v(s) };
    let one = |s: &Option<String>| if single { v(s) } else { String::new() };
    page(
        Page {
            title: "发票查询",
            viewer: Viewer::Taxpayer {
                name: name.to_string(),
            },
            active: "/query",
        },
        html! {
            section.card {
                div.card-head {
                    h1 { "发票查询" }
                    (help_panel("发票查询", HELP))
                }
                div.two {
                    form.stack method="get" action="/query" {
                        h2 { "单票查询" }
                        input type="hidden" name="mode" value="single";
                        label { "发票代码" input name="code" inputmode="numeric" maxlength="12" value=(one(&q.code)); }
                        label { "发票号码" input name="number" maxlength="22" required value=(one(&q.number)); }
                        p.hint { "数电票、海关缴款书没有发票代码：发票代码留空，发票号码填数电票号码或缴款书号码。" }
                        button type="submit" { "查询" }
                    }
                    form.stack method="get" action="/query" {
                        h2 { "未到期发票查询" }
                        input type="hidden" name="mode" value="due";
                        label { "发票代码" input name="code" inputmode="numeric" maxlength="12" value=(due(&q.code)); }
                        label { "发票号码" input name="number" inputmode="numeric" maxlength="8" value=(due(&q.number)); }
                        label { "开票日期起" input name="issued_from" type="date" value=(v(&q.issued_from)); }
                        label { "开票日期止" input name="issued_to" type="date" value=(v(&q.issued_to)); }
                        button type="submit" { "查询" }
                    }
                }
                (result)
            }
        },
    )
}

async fn query_page(
    _req: HttpRequest,
    Acting { app, who, user }: Acting<TaxpayerUser>,
    q: web::Query<Query>,
) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    let (a2, id) = (app.clone(), user.id.clone());
    let name = blocking(move || Ok(service::office::taxpayers::get(&a2, &id)?.name)).await?;
    let (status, result) = match q.mode.as_deref() {
        Some("single") => {
            let key = InvoiceKey::parse_any(q.code.as_deref(), q.number.as_deref().unwrap_or(""));
            match key {
                Err(e) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    html! { (notice("error", &e.message)) },
                ),
                Ok(key) => {
                    let (a2, id) = (app.clone(), user.id.clone());
                    match blocking(move || portal::query::single(&a2, &who, &id, &key)).await {
                        Ok(s) => (StatusCode::OK, single_view(&s)),
                        Err(e) => (e.status(), html! { (notice("error", &e.message)) }),
                    }
                }
            }
        }
        Some("due") => {
            let raw = NotYetDueRaw {
                code: q.code.clone(),
                number: q.number.clone(),
                issued_from: q.issued_from.clone(),
                issued_to: q.issued_to.clone(),
                page: q.page.clone(),
                per_page: q.per_page.clone(),
            };
            let (a2, id) = (app.clone(), user.id.clone());
            match blocking(move || portal::query::not_yet_due(&a2, &who, &id, &raw)).await {
                Ok(p) => (StatusCode::OK, due_view(&p, &q)),
                Err(e) => (e.status(), html! { (notice("error", &e.message)) }),
            }
        }
        _ => (StatusCode::OK, html! {}),
    };
    Ok(html(status, view(&name, &q, result)))
}
