//! 确认勾选 (S-T6): the 已勾选未确认 invoices with totals; 确定 makes the pending batch (待提交)
//! with "这是本期的第几次确认" and the period's running figures; 提交, in the filing period with
//! the three answers of the manual; the 已提交 state; 确认历史明细 by period and batch.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::html;
use crate::domain::rules::DeclarationAnswer;
use crate::domain::{BatchStatus, Fen, Invoice, TaxPeriod};
use crate::error::AppResult;
use crate::http::blocking;
use crate::http::extract::{self, Acting, TaxpayerUser};
use crate::service::listing::InvoiceView;
use crate::service::portal;
use crate::service::portal::profile::Profile;
use crate::service::{self, App};
use crate::web::components::{Col, InvoiceTable};
use crate::web::layout::{notice, page, writes_allowed, Page, Viewer};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/confirm", web::get().to(confirm_page))
        .route("/confirm/make", web::post().to(make))
        .route("/confirm/{period}/{batch}/submit", web::post().to(submit));
}

fn invoice_rows(items: &[InvoiceView]) -> Markup {
    let number = |n: usize, _: &InvoiceView| html! { (n + 1) };
    html! {
        (InvoiceTable {
            items,
            cols: &[Col::Code, Col::Number, Col::IssuedOn, Col::SellerName, Col::Amount, Col::Tax, Col::Status],
            exceptions: false,
            lead: Some((html! { "序号" }, &number)),
        })
    }
}

fn status_label(s: BatchStatus) -> &'static str {
    s.label_zh()
}

struct View {
    name: String,
    profile: Profile,
    selected: Vec<Invoice>,
    batches: Vec<crate::domain::engine::BatchOutcome>,
    history_period: TaxPeriod,
    detail: Option<(crate::domain::engine::BatchOutcome, Vec<InvoiceView>)>,
}

fn view(v: &View, message: Option<(&str, String)>) -> Markup {
    let p = &v.profile;
    let (count, amount, tax) = v
        .selected
        .iter()
        .fold((0u64, Fen::ZERO, Fen::ZERO), |(c, a, t), i| {
            (c + 1, a + i.amount, t + i.tax)
        });
    let current: Vec<_> = v
        .batches
        .iter()
        .filter(|b| b.batch.period == p.current_period)
        .collect();
    let pending = current
        .iter()
        .find(|b| b.batch.status == BatchStatus::Pending);
    let submitted = current
        .iter()
        .filter(|b| b.batch.status == BatchStatus::Submitted)
        .count();
    let confirmed: u64 = current
        .iter()
        .filter(|b| b.batch.status == BatchStatus::Submitted)
        .map(|b| b.batch.count)
        .sum();
    let selected_views: Vec<InvoiceView> = v.selected.iter().map(InvoiceView::from).collect();
    let body = html! {
        @if let Some((kind, text)) = &message { (notice(kind, text)) }
        section.card {
            h1 { "确认勾选" }
            p { "当前税款所属期：" strong { (p.current_period.label_zh()) }
                "（可勾选、确认的截止日期为：" (p.window_closes.format("%Y年%m月%d日")) "）" }
            p.hint { "本期已确认 " (submitted) " 次，累计确认发票 " (confirmed) " 份。" }
            @match pending {
                Some(b) => {
                    section.pending aria-labelledby="pending-h" {
                        h2 #pending-h { "本次确认（待提交）" }
                        p { "这是本期的第 " strong { (b.batch.number) } " 次确认操作；当期累计确认次数 "
                            strong { (b.period_batches) } " 次，累计确认发票 " strong { (b.period_confirmed_count) } " 份。" }
                        dl.facts {
                            dt { "当次确认发票份数" } dd { (b.batch.count) }
                            dt { "当次确认金额" } dd { (b.batch.amount) }
                            dt { "当次确认税额" } dd { (b.batch.tax) }
                            dt { "状态" } dd { strong { "待提交" } }
                        }
                        p.hint { "请确认当次确认的发票数量、金额、税额无误后点击“提交”。" }
                        @if writes_allowed() {
                            form method="post" action={"/confirm/" (b.batch.period) "/" (b.batch.number) "/submit"} {
                                @if p.in_filing_period {
                                    p.prompt {
                                        "尊敬的纳税人：因获取您税款所属期" (p.current_period.label_zh())
                                        "的申报结果信息有延迟，请您选择是否已完成税款所属期"
                                        (p.current_period.label_zh()) "的增值税申报工作！"
                                    }
                                    button type="submit" name="declaration" value="not_declared" { "未完成申报" }
                                    " "
                                    button.secondary type="submit" name="declaration" value="declared" { "已完成申报" }
                                    " "
                                    button.secondary type="submit" name="declaration" value="unsure" { "不确定" }
                                } @else {
                                    button type="submit" { "提交" }
                                }
                            }
                        }
                    }
                }
                None => {}
            }
            h2 { "已勾选未确认的发票" }
            @if v.selected.is_empty() {
                p.hint { "当前没有已勾选未确认的发票，请先到“发票勾选”模块勾选发票。" }
            } @else {
                p { "共 " strong { (count) } " 份，金额合计 " strong { (amount) } "，税额合计 " strong { (tax) } }
                (invoice_rows(&selected_views))
                @if writes_allowed() {
                    form method="post" action="/confirm/make" {
                        button type="submit" { "确定" }
                    }
                }
            }
        }
        section.card aria-labelledby="history-h" {
            h2 #history-h { "确认历史明细" }
            form.inline method="get" action="/confirm" {
                label for="period" { "税款所属期 " }
                input #period name="period" type="month" value=(format!("{}-{:02}", v.history_period.year(), v.history_period.month()));
                " "
                button type="submit" { "查询" }
            }
            @let hist: Vec<_> = v.batches.iter().filter(|b| b.batch.period == v.history_period).collect();
            @if hist.is_empty() {
                p.hint { "该税款所属期没有确认记录。" }
            } @else {
                table.grid {
                    thead { tr { th { "确认次数" } th { "状态" } th.num { "份数" } th.num { "金额" } th.num { "税额" } th { "时间" } th {} } }
                    tbody {
                        @for b in &hist {
                            tr {
                                td { "第" (b.batch.number) "次" }
                                td { (status_label(b.batch.status)) }
                                td.num { (b.batch.count) }
                                td.num { (b.batch.amount) }
                                td.num { (b.batch.tax) }
                                td { (b.batch.submitted_at.unwrap_or(b.batch.made_at).format("%Y-%m-%d %H:%M")) }
                                td {
                                    a href={"/confirm?period=" (b.batch.period) "&batch=" (b.batch.number)} { "查看明细" }
                                    " · " a href={"/api/v1/confirmations/" (b.batch.period) "/" (b.batch.number) "/print.pdf"} target="_blank" rel="noopener" { "打印" }
                                    " · " a href={"/api/v1/confirmations/" (b.batch.period) "/" (b.batch.number) "/export.xlsx"} download { "导出明细" }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some((b, items)) = &v.detail {
                h2 { (b.batch.period.label_zh()) "第" (b.batch.number) "次确认明细（" (status_label(b.batch.status)) "）" }
                div.actions {
                    a.button href={"/api/v1/confirmations/" (b.batch.period) "/" (b.batch.number) "/print.pdf"} target="_blank" rel="noopener" { "打印本页" }
                    a.button.secondary href={"/api/v1/confirmations/" (b.batch.period) "/" (b.batch.number) "/export.xlsx"} download { "导出明细" }
                }
                (invoice_rows(items))
            }
        }
    };
    page(
        Page {
            title: "确认勾选",
            viewer: Viewer::Taxpayer {
                name: v.name.clone(),
            },
            active: "/confirm",
        },
        body,
    )
}

#[derive(Debug, Deserialize)]
struct ConfirmQuery {
    /// `YYYYMM` or the month input's `YYYY-MM`.
    period: Option<String>,
    batch: Option<u32>,
}

fn parse_month(s: &str) -> AppResult<TaxPeriod> {
    Ok(TaxPeriod::parse(&s.replace('-', ""))?)
}

async fn load(
    req: &HttpRequest,
    app: &std::sync::Arc<App>,
    user: &TaxpayerUser,
    period: Option<TaxPeriod>,
    batch: Option<u32>,
) -> AppResult<View> {
    let who = extract::who(req, app, user.actor());
    let (app, id) = (app.clone(), user.id.clone());
    blocking(move || {
        let profile = portal::profile::profile(&app, &who, &id)?;
        let selected = portal::confirmation::selected_invoices(&app, &who, &id)?;
        let history_period = period.unwrap_or(profile.current_period);
        let mut batches = portal::confirmation::batches(&app, &who, &id, profile.current_period)?;
        if history_period != profile.current_period {
            batches.extend(portal::confirmation::batches(
                &app,
                &who,
                &id,
                history_period,
            )?);
        }
        let detail = match batch {
            Some(n) => Some(portal::confirmation::batch_detail(
                &app,
                &who,
                &id,
                history_period,
                n,
            )?),
            None => None,
        };
        Ok(View {
            name: service::office::taxpayers::get(&app, &id)?.name,
            profile,
            selected,
            batches,
            history_period,
            detail,
        })
    })
    .await
}

async fn confirm_page(
    req: HttpRequest,
    app: web::Data<App>,
    user: TaxpayerUser,
    q: web::Query<ConfirmQuery>,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let period = q
        .period
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(parse_month)
        .transpose()?;
    let v = load(&req, &app, &user, period, q.batch).await?;
    Ok(html(StatusCode::OK, view(&v, None)))
}

async fn make(
    req: HttpRequest,
    Acting { app, who, user }: Acting<TaxpayerUser>,
) -> AppResult<HttpResponse> {
    let (app2, id) = (app.clone(), user.id.clone());
    let result = blocking(move || portal::confirmation::make_batch(&app2, &who, &id)).await;
    let v = load(&req, &app, &user, None, None).await?;
    Ok(match result {
        Ok(_) => html(StatusCode::OK, view(&v, None)),
        Err(e) => html(e.status(), view(&v, Some(("error", e.message.to_string())))),
    })
}

#[derive(Debug, Deserialize)]
struct SubmitForm {
    declaration: Option<String>,
}

async fn submit(
    req: HttpRequest,
    Acting { app, who, user }: Acting<TaxpayerUser>,
    path: web::Path<(String, u32)>,
    form: web::Form<SubmitForm>,
) -> AppResult<HttpResponse> {
    let (period, number) = path.into_inner();
    let period = TaxPeriod::parse(&period)?;
    let answer = form
        .into_inner()
        .declaration
        .filter(|s| !s.is_empty())
        .map(|s| DeclarationAnswer::parse_api(&s))
        .transpose()?;
    let (app2, id) = (app.clone(), user.id.clone());
    let result =
        blocking(move || portal::confirmation::submit(&app2, &who, &id, period, number, answer))
            .await;
    let v = load(&req, &app, &user, None, None).await?;
    Ok(match result {
        Ok(o) => {
            let msg = match (o.batch.status, o.batch.void_reason) {
                (BatchStatus::Submitted, _) => (
                    "success",
                    format!(
                        "提交成功：税款所属期{}第{}次确认，当前状态为“已提交”，已确认数据不可修改。",
                        o.batch.period.label_zh(),
                        o.batch.number
                    ),
                ),
                (BatchStatus::Void, Some(r)) => ("error", r.message(o.batch.period)),
                (BatchStatus::Void, None) => ("error", "本次确认不成功".to_string()),
                (BatchStatus::Pending, _) => (
                    "info",
                    "为避免当期发票的误确认，您需要先确定当前税款所属期的申报工作，再进行当次发票的确认。"
                        .to_string(),
                ),
            };
            html(StatusCode::OK, view(&v, Some((msg.0, msg.1))))
        }
        Err(e) => html(e.status(), view(&v, Some(("error", e.message.to_string())))),
    })
}
