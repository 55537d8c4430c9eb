//! 确认勾选 (S-T6): the 已勾选未确认 invoices with totals; 确定 makes the pending batch (待提交)
//! with "这是本期的第几次确认" and the period's running figures; 提交, in the filing period with
//! the three answers of the manual; the 已提交 state; 确认历史明细 by period and batch.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::{html, see_other};
use crate::domain::rules::DeclarationAnswer;
use crate::domain::{BatchStatus, InvoiceUse, TaxPeriod};
use crate::error::AppResult;
use crate::http::blocking;
use crate::http::extract::{self, Acting, TaxpayerUser};
use crate::service::listing::{InvoicePage, InvoiceView};
use crate::service::portal;
use crate::service::portal::confirmation::ConfirmFlag;
use crate::service::portal::profile::Profile;
use crate::service::{self, App};
use crate::web::components::{help_panel, num_td, pager, with_error, Col, Flash, InvoiceTable};
use crate::web::layout::{notice, page, writes_allowed, Page, Viewer};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/confirm", web::get().to(confirm_page))
        .route("/confirm/make", web::post().to(make))
        .route(
            "/confirm/{period}/{batch}/submit",
            web::get().to(submit_prompt),
        )
        .route("/confirm/{period}/{batch}/submit", web::post().to(submit));
}

fn invoice_rows(items: &[InvoiceView], first: usize) -> Markup {
    let number = move |n: usize, _: &InvoiceView| html! { (first + n + 1) };
    html! {
        (InvoiceTable {
            items,
            cols: &[Col::Code, Col::Number, Col::IssuedOn, Col::SellerName, Col::Amount, Col::Tax, Col::Status, Col::Use],
            exceptions: false,
            lead: Some((html! { "序号" }, &number)),
        })
    }
}

/// The 关注要点 of 确认勾选 (manual §1.8).
const HELP: &[&str] = &[
    "纳税人可在每个税款所属期的勾选和确认操作窗口期内（完成当期申报之前），对当期勾选的发票进行多次确认，确认必须手工操作。",
    "选择确认标志为“已勾选未确认”，系统实时查询出当期已勾选未确认的发票明细；确认以上发票均需要申报抵扣（或退税）时点击“确定”。",
    "点击“确定”后，平台显示这是本期的第几次确认操作及当次确认的汇总数量，此时状态为“待提交”；请确认发票数量、金额、税额无误后点击“提交”。",
    "页面显示当前状态为“已提交”时，说明当次确认操作成功，且已确认数据不可修改。",
    "在申报期内确认时，平台会自动获取当期申报结果：已完成申报的，本次确认不成功，数据回退至“未勾选”，请在下期重新勾选确认。",
    "提交的确认结果可在确认标志中选择“已确认”后点击“查询”查看；“确认历史明细”可按税款所属期和确认次数查看、打印本页和导出明细。",
    "超过可操作窗口期仍未确认的数据，平台将自动回退为未勾选状态，视同当月未做勾选。",
];

fn status_label(s: BatchStatus) -> &'static str {
    s.label_zh()
}

struct View {
    name: String,
    profile: Profile,
    flag: ConfirmFlag,
    list: InvoicePage,
    batches: Vec<crate::domain::engine::BatchOutcome>,
    history_period: TaxPeriod,
    /// The period 退税 selections belong to (the month of today).
    refund_period: TaxPeriod,
    /// The uses with 已勾选未确认 invoices, with their counts.
    uses: Vec<(InvoiceUse, u64)>,
    detail: Option<(crate::domain::engine::BatchOutcome, Vec<InvoiceView>)>,
}

fn flag_value(f: ConfirmFlag) -> &'static str {
    match f {
        ConfirmFlag::Selected => "selected",
        ConfirmFlag::Confirmed => "confirmed",
    }
}

/// The page's message from the redirect after a form.
fn flash_notice(f: &Flash, q: &ConfirmQuery) -> Markup {
    html! {
        @match f.done.as_deref() {
            Some("submitted") => {
                (notice("success", &format!(
                    "提交成功：税款所属期{}第{}次确认，当前状态为“已提交”，已确认数据不可修改。",
                    q.sp.as_deref().and_then(|p| TaxPeriod::parse(p).ok()).map(|p| p.label_zh()).unwrap_or_default(),
                    q.sn.unwrap_or(0)
                )))
            }
            Some("unsure") => {
                (notice("info", "为避免当期发票的误确认，您需要先确定当前税款所属期的申报工作，再进行当次发票的确认。"))
            }
            _ => {}
        }
        @if let Some(e) = &f.error { (notice("error", e)) }
    }
}

/// 确定: one button per use that has selections (a batch is of one use); a plain 确定 when
/// everything is selected for 抵扣.
fn make_form(uses: &[(InvoiceUse, u64)]) -> Markup {
    let only_deduct = uses.iter().all(|(u, _)| *u == InvoiceUse::Deduct);
    html! {
        @if writes_allowed() {
            form.inline.make method="post" action="/confirm/make" {
                @if only_deduct {
                    button type="submit" name="use" value="deduct" { "确定" }
                } @else {
                    @for (u, n) in uses {
                        button type="submit" name="use" value=(u.as_str()) title={ "确认用途为" (u.label_zh()) "的" (n) "份发票" } { "确定（" (u.label_zh()) "）" }
                        " "
                    }
                }
            }
        }
    }
}

fn view(v: &View, flash: Markup) -> Markup {
    let p = &v.profile;
    // This period's batches, and the 退税 batches of the month (their own period).
    let current: Vec<_> = v
        .batches
        .iter()
        .filter(|b| {
            b.batch.period == p.current_period
                || (b.batch.use_.is_refund() && b.batch.period == v.refund_period)
        })
        .collect();
    let pending: Vec<_> = current
        .iter()
        .filter(|b| b.batch.status == BatchStatus::Pending)
        .collect();
    let submitted = current
        .iter()
        .filter(|b| b.batch.status == BatchStatus::Submitted)
        .count();
    let confirmed: u64 = current
        .iter()
        .filter(|b| b.batch.status == BatchStatus::Submitted)
        .map(|b| b.batch.count)
        .sum();
    let l = &v.list;
    let flag = flag_value(v.flag);
    let body = html! {
        (flash)
        section.card {
            div.card-head {
                h1 { "确认勾选" }
                (help_panel("确认勾选", HELP))
            }
            p { "当前税款所属期：" strong { (p.current_period.label_zh()) }
                "（可勾选、确认的截止日期为：" (p.window_closes.format("%Y年%m月%d日")) "）" }
            p.hint { "本期已确认 " (submitted) " 次，累计确认发票 " (confirmed) " 份。" }
            // One pending batch per use (退税 ones in the month's own period).
            @for (n, b) in pending.iter().enumerate() {
                @let hid = if n == 0 { "pending-h".to_string() } else { format!("pending-h{n}") };
                section.pending aria-labelledby=(hid) {
                    h2 id=(hid) { "本次确认（待提交）" " " span.usage { "用途：" (b.batch.use_.label_zh()) } }
                    p { "这是本期的第 " strong { (b.batch.number) } " 次确认操作；当期累计确认次数 "
                        strong { (b.period_batches) } " 次，累计确认发票 " strong { (b.period_confirmed_count) } " 份。" }
                    dl.facts {
                        dt { "当次确认发票份数" } dd.num { (b.batch.count) }
                        dt { "当次确认金额" } dd.num { (b.batch.amount) }
                        dt { "用途" } dd.usage { (b.batch.use_.label_zh()) }
                        dt { "当次确认税额" } dd.num { (b.batch.tax) }
                        dt { "状态" } dd { strong { "待提交" } }
                    }
                    p.hint { "请确认当次确认的发票数量、金额、税额无误后点击“提交”。" }
                    @if writes_allowed() {
                        // 提交 first shows a page that repeats the count and tax (the
                        // irreversible step is the POST from there); 不确定 changes nothing
                        // and posts at once.
                        @let to = format!("/confirm/{}/{}/submit", b.batch.period, b.batch.number);
                        form method="get" action=(to) {
                            @if p.in_filing_period && !b.batch.use_.is_refund() {
                                p.prompt {
                                    "尊敬的纳税人：因获取您税款所属期" (p.current_period.label_zh())
                                    "的申报结果信息有延迟，请您选择是否已完成税款所属期"
                                    (p.current_period.label_zh()) "的增值税申报工作！"
                                }
                                button type="submit" name="declaration" value="not_declared" { "未完成申报" }
                                " "
                                button.secondary type="submit" name="declaration" value="declared" { "已完成申报" }
                                " "
                                button.secondary type="submit" name="declaration" value="unsure" formmethod="post" formaction=(to) { "不确定" }
                            } @else {
                                button type="submit" { "提交" }
                            }
                        }
                    }
                }
            }
            form.inline.flag method="get" action="/confirm" {
                label for="flag" { "确认标志 " }
                select #flag name="flag" {
                    option value="selected" selected[v.flag == ConfirmFlag::Selected] { "已勾选未确认" }
                    option value="confirmed" selected[v.flag == ConfirmFlag::Confirmed] { "已确认" }
                }
                " "
                button type="submit" { "查询" }
            }
            @match v.flag {
                ConfirmFlag::Selected => {
                    h2 { "已勾选未确认的发票" }
                    @if l.total == 0 {
                        p.hint { "当前没有已勾选未确认的发票，请先到“发票勾选”模块勾选发票。" }
                    } @else {
                        div.actions {
                            p.summary { "共 " strong.num { (l.total) } " 份，金额合计 " strong.num { (l.amount) } "，税额合计 " strong.num { (l.tax) } }
                            (make_form(&v.uses))
                        }
                        @if v.uses.len() > 1 {
                            p.hint.uses { "按用途分别确认："
                                @for (i, (u, n)) in v.uses.iter().enumerate() {
                                    @if i > 0 { "，" }
                                    (u.label_zh()) " " (n) " 份"
                                }
                                "。每次“确定”只确认一种用途的发票。"
                            }
                        }
                        (invoice_rows(&l.items, (l.page - 1) * l.per_page))
                        (pager("分页", l.page, l.per_page, l.total, |n| format!("/confirm?flag={flag}&page={n}&per_page={}", l.per_page)))
                        (make_form(&v.uses))
                    }
                }
                ConfirmFlag::Confirmed => {
                    h2 { (p.current_period.label_zh()) "已确认的发票" }
                    @if l.total == 0 {
                        p.hint { "本期还没有已确认的发票。" }
                    } @else {
                        p.summary { "共 " strong.num { (l.total) } " 份，金额合计 " strong.num { (l.amount) } "，税额合计 " strong.num { (l.tax) } }
                        (invoice_rows(&l.items, (l.page - 1) * l.per_page))
                        (pager("分页", l.page, l.per_page, l.total, |n| format!("/confirm?flag={flag}&page={n}&per_page={}", l.per_page)))
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
                    thead { tr { th { "确认次数" } th { "用途" } th { "状态" } th.num { "份数" } th.num { "金额" } th.num { "税额" } th { "时间" } th {} } }
                    tbody {
                        @for b in &hist {
                            tr {
                                td { "第" (b.batch.number) "次" }
                                td.usage { (b.batch.use_.label_zh()) }
                                td { (status_label(b.batch.status)) }
                                (num_td(b.batch.count))
                                (num_td(b.batch.amount))
                                (num_td(b.batch.tax))
                                td { (b.batch.submitted_at.unwrap_or(b.batch.made_at).format("%Y-%m-%d %H:%M:%S")) }
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
                (invoice_rows(items, 0))
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

#[derive(Debug, Default, Deserialize)]
struct ConfirmQuery {
    /// `YYYYMM` or the month input's `YYYY-MM`.
    period: Option<String>,
    batch: Option<u32>,
    /// 确认标志: `selected` (default) or `confirmed`.
    flag: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
    /// The period and number of the batch just submitted (for the message after the redirect).
    sp: Option<String>,
    sn: Option<u32>,
}

fn parse_month(s: &str) -> AppResult<TaxPeriod> {
    Ok(TaxPeriod::parse(&s.replace('-', ""))?)
}

fn parse_flag(s: Option<&str>) -> AppResult<ConfirmFlag> {
    match s.filter(|s| !s.is_empty()) {
        None | Some("selected") => Ok(ConfirmFlag::Selected),
        Some("confirmed") => Ok(ConfirmFlag::Confirmed),
        Some(_) => Err(crate::error::AppError::invalid(
            "flag",
            "确认标志应为“已勾选未确认”或“已确认”",
        )),
    }
}

async fn load(
    req: &HttpRequest,
    app: &std::sync::Arc<App>,
    user: &TaxpayerUser,
    q: &ConfirmQuery,
) -> AppResult<View> {
    let period = q
        .period
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(parse_month)
        .transpose()?;
    let batch = q.batch;
    let flag = parse_flag(q.flag.as_deref())?;
    let paging = crate::service::listing::paging(q.page.as_deref(), q.per_page.as_deref())?;
    let who = extract::who(req, app, user.actor());
    let (app, id) = (app.clone(), user.id.clone());
    blocking(move || {
        let profile = portal::profile::profile(&app, &who, &id)?;
        let list = portal::confirmation::listed(&app, &who, &id, flag, paging)?;
        let history_period = period.unwrap_or(profile.current_period);
        let refund_period = TaxPeriod::of_date(who.now.date_naive());
        let uses = portal::confirmation::selected_uses(&app, &who, &id)?;
        let mut batches = portal::confirmation::batches(&app, &who, &id, profile.current_period)?;
        if refund_period != profile.current_period && refund_period != history_period {
            batches.extend(
                portal::confirmation::batches(&app, &who, &id, refund_period)?
                    .into_iter()
                    .filter(|b| b.batch.use_.is_refund()),
            );
        }
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
            flag,
            list,
            batches,
            history_period,
            refund_period,
            uses,
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
    let q = q.into_inner();
    let flash = flash_notice(&Flash::of(&req), &q);
    let v = load(&req, &app, &user, &q).await?;
    Ok(html(StatusCode::OK, view(&v, flash)))
}

#[derive(Debug, Default, Deserialize)]
struct MakeForm {
    /// The use to confirm (`deduct` when not given).
    #[serde(rename = "use")]
    use_: Option<String>,
}

/// 确定 for one use, then back to the page (Post/Redirect/Get): the pending batch shows there.
async fn make(
    Acting { app, who, user }: Acting<TaxpayerUser>,
    form: Option<web::Form<MakeForm>>,
) -> AppResult<HttpResponse> {
    let use_ = match form
        .and_then(|f| f.into_inner().use_)
        .filter(|u| !u.trim().is_empty())
    {
        None => InvoiceUse::Deduct,
        Some(u) => match InvoiceUse::parse_api(&u) {
            Ok(u) => u,
            Err(e) => return Ok(see_other(&with_error("/confirm", &e.message))),
        },
    };
    let id = user.id.clone();
    let result = blocking(move || portal::confirmation::make_batch(&app, &who, &id, use_)).await;
    Ok(match result {
        Ok(_) => see_other("/confirm#pending-h"),
        Err(e) => see_other(&with_error("/confirm", &e.message)),
    })
}

#[derive(Debug, Deserialize)]
struct SubmitForm {
    declaration: Option<String>,
}

fn parse_answer(s: Option<String>) -> AppResult<Option<DeclarationAnswer>> {
    Ok(s.filter(|s| !s.is_empty())
        .map(|s| DeclarationAnswer::parse_api(&s))
        .transpose()?)
}

/// The confirmation step before the irreversible 提交: the batch's count, amount and tax
/// again, and what the chosen answer will do; 提交 from here posts, 返回 goes back.
async fn submit_prompt(
    Acting { app, who, user }: Acting<TaxpayerUser>,
    path: web::Path<(String, u32)>,
    form: web::Query<SubmitForm>,
) -> AppResult<HttpResponse> {
    let (period, number) = path.into_inner();
    let period = TaxPeriod::parse(&period)?;
    let raw = form.into_inner().declaration.filter(|s| !s.is_empty());
    let answer = parse_answer(raw.clone())?;
    let id = user.id.clone();
    let (p, b, name) = blocking(move || {
        let p = portal::profile::profile(&app, &who, &id)?;
        let all = portal::confirmation::batches(&app, &who, &id, period)?;
        let b = all.into_iter().find(|b| b.batch.number == number);
        let name = p.name.clone();
        Ok((p, b, name))
    })
    .await?;
    let b = match b {
        Some(b) if b.batch.status == BatchStatus::Pending => b,
        _ => {
            return Ok(see_other(&with_error(
                "/confirm",
                "该批次不是待提交状态，无需再次提交。",
            )))
        }
    };
    let to = format!("/confirm/{period}/{number}/submit");
    let body = html! {
        section.card.confirm-step aria-labelledby="step-h" {
            h1 #step-h { "提交确认" }
            dl.facts {
                dt { "税款所属期" } dd { (period.label_zh()) }
                dt { "确认次数" } dd { "第" (number) "次确认" }
                dt { "用途" } dd { (b.batch.use_.label_zh()) }
                dt { "当次确认发票份数" } dd.num #step-count { (b.batch.count) }
                dt { "当次确认金额" } dd.num { (b.batch.amount) }
                dt { "当次确认税额" } dd.num #step-tax { (b.batch.tax) }
            }
            @match answer {
                Some(DeclarationAnswer::Declared) => {
                    p.prompt { "您选择了“已完成申报”：本次确认的 " strong { (b.batch.count) } " 份发票（税额 " strong { (b.batch.tax) } "）将不能确认，数据回退至“未勾选”状态，税款所属期将变更为下期。是否继续？" }
                }
                _ => {
                    p.prompt { "您本次将确认发票 " strong { (b.batch.count) } " 份，税额合计 " strong { (b.batch.tax) } "。提交后已确认数据不可修改，是否提交？" }
                }
            }
            @if p.current_period != period && !b.batch.use_.is_refund() {
                (notice("error", "该批次不属于当前税款所属期。"))
            }
            @if writes_allowed() {
                form.inline method="post" action=(to) {
                    @if let Some(a) = &raw { input type="hidden" name="declaration" value=(a); }
                    button type="submit" { "提交" }
                    a.button.secondary href="/confirm" { "返回" }
                }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        page(
            Page {
                title: "提交确认",
                viewer: Viewer::Taxpayer { name },
                active: "/confirm",
            },
            body,
        ),
    ))
}

/// 提交 (from the confirmation step), then back to the page with the outcome.
async fn submit(
    Acting { app, who, user }: Acting<TaxpayerUser>,
    path: web::Path<(String, u32)>,
    form: web::Form<SubmitForm>,
) -> AppResult<HttpResponse> {
    let (period, number) = path.into_inner();
    let period = match TaxPeriod::parse(&period) {
        Ok(p) => p,
        Err(e) => {
            return Ok(see_other(&with_error(
                "/confirm",
                &crate::error::AppError::from(e).message,
            )))
        }
    };
    let answer = match parse_answer(form.into_inner().declaration) {
        Ok(a) => a,
        Err(e) => return Ok(see_other(&with_error("/confirm", &e.message))),
    };
    let id = user.id.clone();
    let result =
        blocking(move || portal::confirmation::submit(&app, &who, &id, period, number, answer))
            .await;
    Ok(match result {
        Ok(o) => match (o.batch.status, o.batch.void_reason) {
            (BatchStatus::Submitted, _) => see_other(&format!(
                "/confirm?done=submitted&sp={}&sn={}",
                o.batch.period, o.batch.number
            )),
            (BatchStatus::Void, Some(r)) => {
                see_other(&with_error("/confirm", &r.message(o.batch.period)))
            }
            (BatchStatus::Void, None) => see_other(&with_error("/confirm", "本次确认不成功")),
            (BatchStatus::Pending, _) => see_other("/confirm?done=unsure#pending-h"),
        },
        Err(e) => see_other(&with_error("/confirm", &e.message)),
    })
}
