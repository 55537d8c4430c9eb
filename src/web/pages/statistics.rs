//! 抵扣统计 (S-T9): for a chosen period, the table by invoice type × certification method
//! (certified, exceptions, valid for deduction), the 抵扣 / 不抵扣 columns per kind, the 退税
//! table, the 进项税额转出 of the period, the report update time, the exception list with
//! paging, and a bar chart of the certified tax of the last 12 periods (inline SVG).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup, PreEscaped};
use serde::Deserialize;

use super::html;
use crate::domain::{Fen, TaxPeriod};
use crate::error::AppResult;
use crate::http::blocking;
use crate::http::extract::{Acting, TaxpayerUser};
use crate::service::portal::statistics::{CellView, EffectiveCellView, StatisticsView};
use crate::service::{self};
use crate::web::components::{help_panel, pager, Col, InvoiceTable};
use crate::web::layout::{page, Page, Viewer};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/statistics", web::get().to(statistics_page));
}

#[derive(Debug, Deserialize)]
struct Query {
    period: Option<String>,
    page: Option<String>,
    /// `1`: 查看明细, every certified invoice of the period (page `page`).
    details: Option<String>,
    per_page: Option<String>,
}

/// The 关注要点 of 抵扣统计 (manual §1.10).
const HELP: &[&str] = &[
    "统计表包括指定税款所属期内所有勾选认证（即勾选确认）和扫描认证的发票，按发票类型分栏展现份数、金额、税额，并显示两种认证方式的合计。",
    "统计每天准实时执行：当天勾选认证的数据准实时体现在统计表中，当天扫描认证的数据第二天体现，请关注统计表上方的“报表更新时间”。",
    "异常发票清单为认证后变为作废、失控、红冲、异常的发票，虽已认证，但不能作为当期参与抵扣的有效依据，请下载明细后进行相应处理。",
    "点击“查看明细”可查看统计表中汇总数据的发票明细，并可调整每页显示的条数；点击“抵扣明细文件下载”可下载明细文件，点击“打印”可打印统计表。",
];

fn cells(c: &CellView) -> Markup {
    html! { td.num { (c.count) } td.num { (c.amount) } td.num { (c.tax) } }
}

fn effective_cells(c: &EffectiveCellView) -> Markup {
    html! { td.num { (c.count) } td.num { (c.amount) } td.num { (c.effective_tax) } }
}

/// An RFC 3339 time as the page shows it: date and time to the second.
fn to_second(t: &str) -> String {
    t.get(..19).unwrap_or(t).replace('T', " ")
}

/// 抵扣 and 不抵扣 per kind, the 退税 table (when the period has any) and the 进项税额转出
/// recorded for the period.
fn uses_view(s: &StatisticsView) -> Markup {
    html! {
        section.card aria-labelledby="uses" {
            h2 #uses { "按勾选用途统计（抵扣、不抵扣）" }
            p.hint { "抵扣按有效税额统计；不抵扣按票面税额统计，不参与当期抵扣。" }
            table.grid.stats #uses-table {
                thead {
                    tr { th rowspan="2" { "发票类型" } th colspan="3" { "抵扣" } th colspan="3" { "不抵扣" } }
                    tr { th.num { "份数" } th.num { "金额" } th.num { "有效税额" } th.num { "份数" } th.num { "金额" } th.num { "税额" } }
                }
                tbody {
                    @for r in &s.rows {
                        tr class=[(r.kind == "total").then_some("total")] {
                            th scope="row" { (r.label) }
                            (effective_cells(&r.deduct)) (cells(&r.no_deduct))
                        }
                    }
                }
            }
            @if s.refund.any() {
                h2 #refund { "退税勾选统计" }
                p.hint { "用于出口退税（退税、代办退税）的发票不参与当期抵扣，统计在确认勾选的当月。" }
                table.grid.stats #refund-table {
                    thead {
                        tr { th rowspan="2" { "发票类型" } th colspan="3" { "退税" } th colspan="3" { "代办退税" } }
                        tr { @for _ in 0..2 { th.num { "份数" } th.num { "金额" } th.num { "有效税额" } } }
                    }
                    tbody {
                        @for r in &s.refund.rows {
                            tr class=[(r.kind == "total").then_some("total")] {
                                th scope="row" { (r.label) }
                                (effective_cells(&r.refund)) (effective_cells(&r.agent_refund))
                            }
                        }
                    }
                }
            }
        }
        section.card aria-labelledby="transfer-out" {
            h2 #transfer-out { "进项税额转出（共 " (s.transfer_out.count) " 份，转出税额 " (s.transfer_out.tax) "）" }
            @if s.transfer_out.items.is_empty() {
                p.hint { "本期没有进项税额转出。" }
            } @else {
                div.table-wrap { table.grid #transfer-out-table {
                    thead { tr {
                        th { "发票代码" } th { "发票号码" } th { "发票类型" } th { "发票状态" }
                        th.num { "转出税额" } th { "记录时间" }
                    } }
                    tbody {
                        @for i in &s.transfer_out.items {
                            tr {
                                td.mono { (i.code.as_deref().unwrap_or_default()) }
                                td.mono { (i.number) }
                                td { (i.kind.label_zh()) }
                                td.exception { (i.status.label_zh()) }
                                td.num { (i.tax) }
                                td { (to_second(&i.recorded_at)) }
                            }
                        }
                    }
                } }
            }
        }
    }
}

/// A bar chart of certified tax by period (oldest first).
fn chart(series: &[(TaxPeriod, i64)]) -> Markup {
    let max = series.iter().map(|(_, t)| *t).max().unwrap_or(0).max(1);
    let (w, h, pad) = (720i64, 200i64, 28i64);
    let n = i64::try_from(series.len()).unwrap_or(1).max(1);
    let bw = (w - 2 * pad) / n;
    let mut svg = format!(
        r##"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="近12个月已认证税额"><line x1="{pad}" y1="{y}" x2="{x2}" y2="{y}" stroke="#a3a9b1"/>"##,
        y = h - pad,
        x2 = w - pad
    );
    for (i, (p, tax)) in series.iter().enumerate() {
        let i = i64::try_from(i).unwrap_or(0);
        let bh = (h - 2 * pad) * tax / max;
        let x = pad + i * bw + 4;
        let y = h - pad - bh;
        svg.push_str(&format!(
            r##"<rect x="{x}" y="{y}" width="{bw2}" height="{bh}" fill="#1f5fa8"><title>{label}：税额 {money}</title></rect><text x="{tx}" y="{ty}" font-size="11" text-anchor="middle" fill="#5f6b78">{m}月</text>"##,
            bw2 = (bw - 8).max(1),
            label = p.label_zh(),
            money = Fen::new(*tax).format_grouped(),
            tx = x + (bw - 8) / 2,
            ty = h - pad + 14,
            m = p.month()
        ));
    }
    svg.push_str("</svg>");
    html! { (PreEscaped(svg)) }
}

fn details_view(period: TaxPeriod, d: &crate::service::listing::InvoicePage) -> Markup {
    html! {
        section.card #details aria-labelledby="det" {
            h2 #det { "发票明细（共 " (d.total) " 份，金额 " (d.amount) "，税额 " (d.tax) "）" }
            p.hint { "请关注发票状态：状态为失控、作废、红冲、异常的发票为认证后产生的异常发票，不能作为当期抵扣的有效依据。" }
            (InvoiceTable {
                items: &d.items,
                cols: &[Col::Code, Col::Number, Col::IssuedOn, Col::SellerName, Col::Amount, Col::Tax, Col::Method, Col::CertifiedOn, Col::Status],
                exceptions: true,
                lead: None,
            })
            (pager("明细分页", d.page, d.per_page, d.total, |n| format!("/statistics?period={period}&details=1&page={n}&per_page={}#details", d.per_page)))
        }
    }
}

fn view(
    name: &str,
    s: &StatisticsView,
    series: &[(TaxPeriod, i64)],
    details: Option<Markup>,
) -> Markup {
    let _pages = s.exceptions_total.div_ceil(s.per_page as u64).max(1);
    let body = html! {
        section.card {
            div.card-head {
                h1 { "抵扣统计" }
                (help_panel("抵扣统计", HELP))
            }
            form.inline method="get" action="/statistics" {
                label for="period" { "税款所属期 " }
                input #period name="period" type="month" value=(format!("{}-{:02}", s.period.year(), s.period.month()));
                " "
                button type="submit" { "统计查询" }
            }
            h2 { (s.period.label_zh()) "申报抵扣发票统计表" }
            div.actions {
                a.button href={"/api/v1/statistics/" (s.period) "/print.pdf"} target="_blank" rel="noopener" { "打印" }
                a.button.secondary href={"/api/v1/statistics/" (s.period) "/export.xlsx"} download { "抵扣明细文件下载" }
            }
            p.hint {
                "报表更新时间：" (to_second(&s.updated_at))
                @if let Some(t) = &s.scans_applied_at {
                    "；扫描认证数据更新时间：" (to_second(t))
                }
            }
            p.hint { "当天勾选认证的数据准实时体现在本表中；当天扫描认证的数据次日体现。"
                " " a href={"/statistics?period=" (s.period) "&details=1#details"} { "查看明细" } }
            table.grid.stats {
                thead {
                    tr { th rowspan="2" { "发票类型" } th colspan="3" { "勾选认证" } th colspan="3" { "扫描认证" } th colspan="3" { "合计" } }
                    tr { @for _ in 0..3 { th.num { "份数" } th.num { "金额" } th.num { "税额" } } }
                }
                tbody {
                    @for r in &s.rows {
                        tr class=[(r.kind == "total").then_some("total")] {
                            th scope="row" { (r.label) }
                            (cells(&r.selection)) (cells(&r.scan)) (cells(&r.total))
                        }
                    }
                }
            }
            h2 { "可用于申报抵扣（已认证减异常发票）" }
            table.grid.stats {
                thead {
                    tr { th rowspan="2" { "发票类型" } th colspan="3" { "勾选认证" } th colspan="3" { "扫描认证" } th colspan="3" { "合计" } }
                    tr { @for _ in 0..3 { th.num { "份数" } th.num { "金额" } th.num { "税额" } } }
                }
                tbody {
                    @for r in &s.rows {
                        tr class=[(r.kind == "total").then_some("total")] {
                            th scope="row" { (r.label) }
                            (cells(&r.deductible.selection)) (cells(&r.deductible.scan)) (cells(&r.deductible.total))
                        }
                    }
                }
            }
        }
        (uses_view(s))
        section.card aria-labelledby="exc" {
            h2 #exc { "异常发票清单（共 " (s.exceptions_total) " 份）" }
            p.hint { "以下发票虽已认证，但认证后状态变为作废、失控、红冲或异常，不能作为当期参与抵扣的有效依据，请进行相应处理。" }
            @if s.exceptions.is_empty() {
                p.hint { "本期没有异常发票。" }
            } @else {
                (InvoiceTable {
                    items: &s.exceptions,
                    cols: &[Col::Code, Col::Number, Col::IssuedOn, Col::SellerName, Col::Amount, Col::Tax, Col::Method, Col::Status],
                    exceptions: true,
                    lead: None,
                })
                (pager("分页", s.page, s.per_page, s.exceptions_total, |n| format!("/statistics?period={}&page={n}&per_page={}", s.period, s.per_page)))
            }
        }
        @if let Some(d) = details { (d) }
        section.card {
            h2 { "近12个月已认证税额" }
            (chart(series))
        }
    };
    page(
        Page {
            title: "抵扣统计",
            viewer: Viewer::Taxpayer {
                name: name.to_string(),
            },
            active: "/statistics",
        },
        body,
    )
}

async fn statistics_page(
    _req: HttpRequest,
    Acting { app, who, user }: Acting<TaxpayerUser>,
    q: web::Query<Query>,
) -> AppResult<HttpResponse> {
    let given = q
        .period
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| TaxPeriod::parse(&s.replace('-', "")))
        .transpose()?;
    let paging = service::listing::paging(q.page.as_deref(), q.per_page.as_deref())?;
    let want_details = q.details.as_deref() == Some("1");
    let (name, s, series, details) = blocking(move || {
        let t = service::settle::settled(&app, &who, &user.id)?;
        // Default: the last period before the current one (the one being declared).
        let period = given.unwrap_or_else(|| t.current_period.prev());
        let first = crate::domain::Paging::first(paging.per_page());
        let (exc_page, det_page) = if want_details {
            (first, paging)
        } else {
            (paging, first)
        };
        let s = service::portal::statistics::statistics(&app, &who, &user.id, period, exc_page)?;
        let details = if want_details {
            app.index.catch_up(&app.store)?;
            Some(service::portal::query::certified_in_period(
                &app, &user.id, period, det_page,
            )?)
        } else {
            None
        };
        let mut series = Vec::with_capacity(12);
        for k in (0..12).rev() {
            let p = period.add_months(-k);
            let f = service::portal::statistics::tally(&app, &who, &user.id, p)?;
            series.push((p, f.cached.figures().certified_total().tax.value()));
        }
        Ok((t.name, s, series, details))
    })
    .await?;
    let period = s.period;
    let details = details.as_ref().map(|d| details_view(period, d));
    Ok(html(StatusCode::OK, view(&name, &s, &series, details)))
}
