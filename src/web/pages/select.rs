//! 发票勾选 (S-T4): the manual's condition form with its dependent fields, results paged with
//! totals over all matches, a checkbox per invoice and 保存 per page; the page-level
//! select-all (at most 100) and the unsaved-changes warning come from `assets/select.js`
//! (without it the page still queries, ticks and saves).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::{html, see_other};
use crate::domain::engine::SelectionRow;
use crate::domain::query::RawConditions;
use crate::domain::{
    Fen, InvoiceKey, InvoiceType, InvoiceUse, NoDeductReason, RefundRegistration, SelectionState,
    UseRequest,
};
use crate::error::AppResult;
use crate::http::blocking;
use crate::http::extract::{self, Acting, TaxpayerUser};
use crate::service::listing::{InvoicePage, InvoiceView};
use crate::service::portal;
use crate::service::portal::alerts::Alert;
use crate::service::portal::profile::Profile;
use crate::service::portal::selection::FlaggedInvoice;
use crate::service::store_reads::*;
use crate::service::App;
use crate::web::components::{
    alerts_panel, help_panel, pager, with_error, Col, Flash, InvoiceTable,
};
use crate::web::layout::{notice, page, writes_allowed, Page, Viewer};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/select", web::get().to(select_page))
        .route("/select/save", web::post().to(save));
}

/// The query conditions as given (GET parameters), kept to rebuild links and forms.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
struct Form {
    issued_from: Option<String>,
    issued_to: Option<String>,
    code: Option<String>,
    number: Option<String>,
    digital_number: Option<String>,
    seller_id: Option<String>,
    certified: Option<String>,
    method: Option<String>,
    certified_from: Option<String>,
    certified_to: Option<String>,
    selected: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    status: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

impl Form {
    fn raw(&self) -> RawConditions {
        let f = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        let certified = f(&self.certified).unwrap_or_else(|| "false".into());
        let on = certified == "true";
        RawConditions {
            // 已认证: the date condition is 确认/扫描日期 instead of 开票日期.
            issued_from: if on { None } else { f(&self.issued_from) },
            issued_to: if on { None } else { f(&self.issued_to) },
            code: f(&self.code),
            number: f(&self.number),
            digital_number: f(&self.digital_number),
            seller_id: f(&self.seller_id),
            certified: Some(certified),
            method: if on { f(&self.method) } else { None },
            certified_from: if on { f(&self.certified_from) } else { None },
            certified_to: if on { f(&self.certified_to) } else { None },
            selected: if on { None } else { f(&self.selected) },
            kind: f(&self.kind),
            status: f(&self.status),
            page: f(&self.page),
            per_page: f(&self.per_page),
        }
    }

    fn query_string(&self, page: Option<usize>) -> String {
        let mut f = self.clone();
        if let Some(p) = page {
            f.page = Some(p.to_string());
        }
        serde_urlencoded::to_string(&f).unwrap_or_default()
    }

    fn v(&self, x: &Option<String>) -> String {
        let _ = self;
        x.clone().unwrap_or_default()
    }
}

/// The 关注要点 of 发票勾选 (manual §1.6).
const HELP: &[&str] = &[
    "按税款所属期查询并逐票勾选用于申报抵扣（或退税）的增值税专用发票、货运专用发票和机动车发票。",
    "开票日期为必录条件，可查询当前税款所属期至前180天内的发票；认证状态选择“已认证”时，条件日期变为“确认/扫描日期”，“勾选状态”变为“认证方式”。",
    "发票代码、发票号码需输入完整才能精确查询单张发票；销方税号须输入完整税号，不支持模糊匹配。",
    "默认查询“未认证”“未勾选”“正常”状态的发票，每页显示50条，可修改每页显示的条数；点击表头的全选框可对当前页发票批量打勾（最多100份）。",
    "完成当前页的勾选或撤销后需点击“保存”，再进行其他页的操作；未保存就跳转到其他页时系统会提示。",
    "未执行确认勾选操作前，可以对已勾选且未确认的发票取消勾选。",
    "保存时可选择勾选用途：抵扣、不抵扣（须选择不抵扣原因，原因为“其他”时须填写说明）；登记为出口退税企业、外贸综合服务企业的，还可选择退税、代办退税（退税勾选属于当月）。有效税额默认为发票税额，可调低，不能为0。海关缴款书只能用于抵扣。",
    "勾选销售方被税务机关标记为风险纳税人的发票时，系统先提示风险原因，确认后才保存。",
    "当期勾选、确认的开始时间为完成上一期申报的当天，结束时间为完成当期申报的当天；一直未申报的，截止时间为所在省份设置的当期申报截止日。",
];

fn option(value: &str, label: &str, current: &str) -> Markup {
    html! { option value=(value) selected[value == current] { (label) } }
}

fn conditions(f: &Form, p: &Profile, today: chrono::NaiveDate, lookback: u32) -> Markup {
    let (earliest, _) =
        crate::domain::query::selectable_issue_dates(p.current_period, today, lookback);
    let default_from = earliest.unwrap_or_else(|| p.current_period.add_months(-12).first_day());
    let from = f
        .issued_from
        .clone()
        .unwrap_or_else(|| default_from.to_string());
    let to = f
        .issued_to
        .clone()
        .unwrap_or_else(|| p.current_period.last_day().to_string());
    let certified = f.certified.clone().unwrap_or_else(|| "false".into());
    // 认证状态 switches the dependent fields (the manual's table): 勾选状态 and 开票日期 when
    // 未认证, 认证方式 and 确认/扫描日期 when 已认证. The stylesheet shows the set the selected
    // option names (`:has`, no script needed, right on first load); `select.js` also disables
    // the other set so that it is not sent.
    let on = certified == "true";
    html! {
        form.conditions method="get" action="/select" {
            div.fields {
                label { "发票代码" input name="code" inputmode="numeric" maxlength="12" value=(f.v(&f.code)); }
                label { "发票号码" input name="number" inputmode="numeric" maxlength="8" value=(f.v(&f.number)); }
                label { "数电票号码" input name="digital_number" inputmode="numeric" maxlength="20" value=(f.v(&f.digital_number)); }
                label.when-uncertified { "开票日期起" input name="issued_from" type="date" required[!on] value=(from); }
                label.when-uncertified { "开票日期止" input name="issued_to" type="date" required[!on] value=(to); }
                label { "销方税号" input name="seller_id" maxlength="20" value=(f.v(&f.seller_id)); }
                label { "认证状态"
                    select #certified name="certified" {
                        (option("false", "未认证", &certified)) (option("true", "已认证", &certified))
                    }
                }
                label.when-uncertified { "勾选状态"
                    select name="selected" {
                        @let s = f.selected.clone().unwrap_or_else(|| "false".into());
                        (option("all", "全部", &s)) (option("false", "未勾选", &s)) (option("true", "已勾选", &s))
                    }
                }
                label.when-certified { "认证方式"
                    select name="method" {
                        @let m = f.method.clone().unwrap_or_else(|| "selection".into());
                        (option("all", "全部", &m)) (option("selection", "勾选认证", &m)) (option("scan", "扫描认证", &m))
                    }
                }
                label.when-certified { "确认/扫描日期起" input name="certified_from" type="date" value=(f.v(&f.certified_from)); }
                label.when-certified { "确认/扫描日期止" input name="certified_to" type="date" value=(f.v(&f.certified_to)); }
                label { "发票类型"
                    select name="type" {
                        @let k = f.kind.clone().unwrap_or_else(|| "all".into());
                        (option("all", "全部", &k))
                        @for t in InvoiceType::ALL { (option(t.as_str(), t.short_label_zh(), &k)) }
                    }
                }
                label { "发票状态"
                    select name="status" {
                        @let s = f.status.clone().unwrap_or_else(|| "normal".into());
                        (option("all", "全部", &s)) (option("normal", "正常", &s)) (option("voided", "作废", &s))
                        (option("abnormal", "异常", &s)) (option("out_of_control", "失控", &s)) (option("red_reversed", "红冲", &s))
                    }
                }
                label { "每页显示"
                    select name="per_page" {
                        @let n = f.per_page.clone().unwrap_or_else(|| "50".into());
                        @for v in ["50", "100", "200", "500"] { (option(v, &format!("{v}条"), &n)) }
                    }
                }
            }
            button type="submit" { "查询" }
        }
    }
}

/// The columns of the 发票勾选 list.
const COLS: &[Col] = &[
    Col::Code,
    Col::Number,
    Col::IssuedOn,
    Col::SellerId,
    Col::SellerName,
    Col::Amount,
    Col::Tax,
    Col::Status,
    Col::Selection,
    Col::Use,
];

/// A row's key as form values carry it (`code:number`, `-` for no code).
fn form_key(i: &InvoiceView) -> String {
    format!("{}:{}", i.code_or_dash(), i.number)
}

/// The 有效税额 a row's input starts with: what a selected invoice counts, else the tax it
/// may deduct (the computed tax of a 农产品 invoice, the face tax of the others).
fn tax_default(i: &InvoiceView) -> Fen {
    i.effective_tax.or(i.deductible_tax).unwrap_or(i.tax)
}

/// The 勾选用途 choice of 保存: the use, and for 不抵扣 its reason and 说明; 退税 and 代办退税
/// only for a taxpayer the office registered for them.
fn use_choice(reg: RefundRegistration) -> Markup {
    html! {
        fieldset.uses {
            legend { "勾选用途" }
            label { "用途"
                select name="use" {
                    @for u in InvoiceUse::ALL {
                        @if reg.allows(u) {
                            option value=(u.as_str()) selected[u == InvoiceUse::Deduct] { (u.label_zh()) }
                        }
                    }
                }
            }
            label { "不抵扣原因"
                select name="reason" {
                    option value="" { "请选择（用途为不抵扣时必选）" }
                    @for r in NoDeductReason::ALL { option value=(r.as_str()) { (r.label_zh()) } }
                }
            }
            label { "说明"
                input name="reason_text" maxlength="200" placeholder="不抵扣原因为“其他”时必填";
            }
            p.hint { "本次保存新勾选的发票按所选用途勾选；有效税额默认为发票税额，抵扣、退税时可调低（不抵扣按票面税额）。已勾选的发票如需改变用途，请先撤销勾选。" }
        }
    }
}

fn results(f: &Form, r: &InvoicePage, certified: bool, reg: RefundRegistration) -> Markup {
    html! {
        @if r.total == 0 {
            (notice("info", "没有查询到符合条件的发票信息！"))
        } @else {
            p.summary { "共 " strong { (r.total) } " 条，金额合计 " strong { (r.amount) } "，税额合计 " strong { (r.tax) } }
            @if writes_allowed() {
                form #ticks method="post" action="/select/save" {
                    input type="hidden" name="back" value=(f.query_string(None));
                    p #unsaved.notice.info hidden { "当前页有未保存的勾选操作，请点击“保存”。" }
                    div.table-wrap { table.grid {
                        thead { tr {
                            th { label #select-all hidden { input type="checkbox" aria-label="全选本页（最多100份）"; "全选" } }
                            @for c in COLS { (c.heading()) }
                            th.num { "有效税额" }
                        } }
                        tbody {
                            @for i in &r.items {
                                @let key = form_key(i);
                                @let ticked = matches!(i.selection, SelectionState::Selected { .. });
                                tr {
                                    td {
                                        input type="hidden" name="shown" value=(key);
                                        input type="checkbox" name="tick" value=(key) checked[ticked]
                                            disabled[certified] aria-label={"勾选 " (i.code_text()) " " (i.number)};
                                    }
                                    @for c in COLS { (c.cell(i, false)) }
                                    td.num {
                                        @if certified {
                                            (tax_default(i))
                                        } @else {
                                            input.money type="text" inputmode="decimal" size="10" maxlength="20"
                                                name={"et:" (key)} value=(tax_default(i).format_plain())
                                                aria-label={"有效税额 " (i.code_text()) " " (i.number)};
                                        }
                                    }
                                }
                            }
                        }
                    } }
                    @if !certified {
                        (use_choice(reg))
                        button type="submit" { "保存" }
                    }
                }
            } @else {
                // A read-only replica: the list without ticks or 保存.
                (InvoiceTable {
                    items: &r.items,
                    cols: COLS,
                    exceptions: false,
                    lead: None,
                })
            }
            (pager("分页", r.page, r.per_page, r.total, |n| {
                let mut g = f.clone();
                g.per_page = Some(r.per_page.to_string());
                format!("/select?{}", g.query_string(Some(n)))
            }))
        }
    }
}

fn view(
    p: &Profile,
    f: &Form,
    body: Markup,
    message: Option<(&str, String)>,
    today: chrono::NaiveDate,
    lookback: u32,
    alerts: &[Alert],
) -> Markup {
    page(
        Page {
            title: "发票勾选",
            viewer: Viewer::Taxpayer {
                name: p.name.clone(),
            },
            active: "/select",
        },
        html! {
            (alerts_panel(alerts, false))
            section.card {
                div.card-head {
                    h1 { "发票勾选" }
                    (help_panel("发票勾选", HELP))
                }
                p { "当前税款所属期：" strong { (p.current_period.label_zh()) }
                    "（本期可勾选发票的截止日期为：" strong { (p.window_closes.format("%Y年%m月%d日")) } "）" }
                @if let Some((kind, text)) = &message { (notice(kind, text)) }
                (conditions(f, p, today, lookback))
                (body)
                p.hint { "未执行确认勾选操作前，可以对已勾选且未确认的发票取消勾选。每页勾选后需点击“保存”，再进行其他页的操作。" }
            }
            script src="/assets/select.js" defer {}
        },
    )
}

async fn select_page(
    req: HttpRequest,
    app: web::Data<App>,
    user: TaxpayerUser,
    q: web::Query<Form>,
) -> AppResult<HttpResponse> {
    let flash = Flash::of(&req);
    let message = match (&flash.error, flash.done.as_deref()) {
        (Some(e), _) => Some(("error", e.clone())),
        (None, Some("saved")) => {
            let n = |k: &str| {
                serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
                    .unwrap_or_default()
                    .into_iter()
                    .find(|(key, _)| key == k)
                    .and_then(|(_, v)| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            Some((
                "success",
                format!("保存成功：勾选 {} 份，撤销勾选 {} 份。", n("ns"), n("nu")),
            ))
        }
        _ => None,
    };
    render(req, app.into_inner(), user, q.into_inner(), message).await
}

async fn render(
    req: HttpRequest,
    app: std::sync::Arc<App>,
    user: TaxpayerUser,
    f: Form,
    message: Option<(&'static str, String)>,
) -> AppResult<HttpResponse> {
    let who = extract::who(&req, &app, user.actor());
    let today = who.now.date_naive();
    let lookback = app.settings.lookback_days;
    // A query was asked for (the conditions form always sends 认证状态 and a date).
    let searched = [
        &f.issued_from,
        &f.issued_to,
        &f.certified,
        &f.certified_from,
    ]
    .iter()
    .any(|v| v.is_some());
    let (a2, id, f2) = (app.clone(), user.id.clone(), f.clone());
    let (p, found, reg, alerts) = blocking(move || {
        let p = portal::profile::profile(&a2, &who, &id)?;
        let alerts = portal::alerts::alerts(&a2, &who, &id)?;
        let found = if searched {
            Some(portal::selection::query(&a2, &who, &id, &f2.raw()))
        } else {
            None
        };
        let reg = portal::selection::registration(&a2, &id)?;
        Ok((p, found, reg, alerts))
    })
    .await?;
    let certified = f.certified.as_deref() == Some("true");
    let (status, body) = match found {
        None => (StatusCode::OK, html! {}),
        Some(Ok(r)) => (StatusCode::OK, results(&f, &r, certified, reg)),
        Some(Err(e)) => (e.status(), html! { (notice("error", &e.message)) }),
    };
    Ok(html(
        status,
        view(&p, &f, body, message, today, lookback, &alerts),
    ))
}

/// The 勾选用途 choice of a 保存 as posted.
struct UseForm {
    use_: InvoiceUse,
    reason: Option<NoDeductReason>,
    reason_text: Option<String>,
}

impl UseForm {
    fn parse(get: &dyn Fn(&str) -> Option<String>) -> Result<UseForm, String> {
        let use_ = match get("use").filter(|s| !s.trim().is_empty()) {
            None => InvoiceUse::Deduct,
            Some(u) => InvoiceUse::parse_api(&u).map_err(|e| e.message)?,
        };
        let reason = match get("reason").filter(|s| !s.trim().is_empty()) {
            None => None,
            Some(r) => Some(NoDeductReason::parse_api(&r).map_err(|e| e.message)?),
        };
        let reason_text = get("reason_text").filter(|s| !s.trim().is_empty());
        Ok(UseForm {
            use_,
            reason,
            reason_text,
        })
    }

    /// The request of a newly ticked row with the 有效税额 typed for it.
    fn request(&self, effective_tax: Option<Fen>) -> UseRequest {
        let no_deduct = self.use_ == InvoiceUse::NoDeduct;
        UseRequest {
            use_: Some(self.use_),
            effective_tax: if no_deduct { None } else { effective_tax },
            reason: if no_deduct { self.reason } else { None },
            reason_text: if no_deduct {
                self.reason_text.clone()
            } else {
                None
            },
        }
    }
}

/// What a 保存 led to.
enum Saved {
    /// Saved: the report and the rows refused before the rules (key, message).
    Done(
        crate::domain::engine::SelectionReport,
        Vec<(String, String)>,
    ),
    /// Nothing saved yet: ticked invoices of flagged sellers need 确认勾选 first.
    Confirm(String, Vec<FlaggedInvoice>),
}

/// 保存: the page's ticks against what was shown — newly ticked invoices are selected for the
/// chosen 勾选用途 with their 有效税额, unticked ones that were 已勾选 are unselected, and a
/// changed 有效税额 of a ticked 已勾选 one is saved. When a ticked invoice's seller is one the
/// office flagged, a confirmation step lists them first (the form's data carried along) and
/// nothing changes until 确认勾选.
async fn save(
    Acting { app, who, user }: Acting<TaxpayerUser>,
    body: String,
) -> AppResult<HttpResponse> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap_or_default();
    let get_all = |name: &str| -> Vec<String> {
        pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let get = |name: &str| get_all(name).into_iter().next();
    let parse = |s: &str| {
        s.split_once(':')
            .and_then(|(c, n)| InvoiceKey::parse_any(Some(c), n).ok())
    };
    let shown: Vec<InvoiceKey> = get_all("shown").iter().filter_map(|s| parse(s)).collect();
    let ticked: std::collections::HashSet<u128> = get_all("tick")
        .iter()
        .filter_map(|s| parse(s))
        .map(|k| k.to_u128())
        .collect();
    // The typed 有效税额 per row (by key).
    let typed: std::collections::HashMap<u128, String> = pairs
        .iter()
        .filter_map(|(k, v)| {
            let key = parse(k.strip_prefix("et:")?)?;
            Some((key.to_u128(), v.trim().to_string()))
        })
        .collect();
    let back = get("back").unwrap_or_default();
    let confirmed = get("confirmed").as_deref() == Some("1");
    let f: Form = serde_urlencoded::from_str(&back).unwrap_or_default();
    let to = format!("/select?{}", f.query_string(None));
    let uses = match UseForm::parse(&get) {
        Ok(u) => u,
        Err(e) => return Ok(see_other(&with_error(&to, &e))),
    };
    let (a2, id) = (app, user.id.clone());
    let result = blocking(move || {
        let current = a2.store.read()?.invoices_by_keys(&shown)?;
        let mut rows = Vec::new();
        let mut refused = Vec::new();
        let mut fresh = Vec::new();
        for inv in current {
            let on = ticked.contains(&inv.key.to_u128());
            let is = matches!(inv.selection, SelectionState::Selected { .. });
            let tax = match typed.get(&inv.key.to_u128()).filter(|t| !t.is_empty()) {
                None => Ok(None),
                Some(t) => Fen::from_yuan_str(t)
                    .map(Some)
                    .map_err(|e| format!("有效税额“{t}”不正确：{}", e.message)),
            };
            if on && !is {
                match tax {
                    Ok(t) => {
                        fresh.push(inv.key.clone());
                        rows.push(SelectionRow::Select(inv.key.clone(), uses.request(t)));
                    }
                    Err(m) => refused.push((inv.key.to_string(), m)),
                }
            } else if !on && is {
                rows.push(SelectionRow::Unselect(inv.key.clone()));
            } else if on && is && inv.use_() != Some(InvoiceUse::NoDeduct) {
                // 已勾选: a changed 有效税额 is saved for the use it has.
                match tax {
                    Ok(Some(t)) if t != inv.effective_tax() => {
                        let u = inv.usage.as_ref();
                        rows.push(SelectionRow::Select(
                            inv.key.clone(),
                            UseRequest {
                                use_: inv.use_(),
                                effective_tax: Some(t),
                                reason: u.and_then(|u| u.reason),
                                reason_text: u.and_then(|u| u.reason_text.clone()),
                            },
                        ));
                    }
                    Ok(_) => {}
                    Err(m) => refused.push((inv.key.to_string(), m)),
                }
            }
        }
        if !confirmed && !fresh.is_empty() {
            let flagged = portal::selection::flagged_sellers(&a2, &id, &fresh)?;
            if !flagged.is_empty() {
                let name = portal::profile::profile(&a2, &who, &id)?.name;
                return Ok(Saved::Confirm(name, flagged));
            }
        }
        let r = portal::selection::select_rows(&a2, &who, &id, &rows)?;
        Ok(Saved::Done(r, refused))
    })
    .await;
    // Back to the same query (Post/Redirect/Get) with the outcome.
    Ok(match result {
        Ok(Saved::Confirm(name, flagged)) => {
            html(StatusCode::OK, risky_step(&name, &pairs, &flagged, &to))
        }
        Ok(Saved::Done(r, refused)) if r.rejected.is_empty() && refused.is_empty() => see_other(
            &format!("{to}&done=saved&ns={}&nu={}", r.selected, r.unselected),
        ),
        Ok(Saved::Done(r, refused)) => {
            let all: Vec<(String, String)> = refused
                .into_iter()
                .chain(
                    r.rejected
                        .iter()
                        .map(|(_, x)| (x.key.to_string(), x.reason.message())),
                )
                .collect();
            see_other(&with_error(
                &to,
                &format!(
                    "勾选 {} 份，撤销勾选 {} 份；{} 份未能保存：{}",
                    r.selected,
                    r.unselected,
                    all.len(),
                    all.iter()
                        .take(10)
                        .map(|(k, m)| format!("{k}（{m}）"))
                        .collect::<Vec<_>>()
                        .join("；")
                        + if all.len() > 10 { "；……" } else { "" }
                ),
            ))
        }
        Err(e) => see_other(&with_error(&to, &e.message)),
    })
}

/// The confirmation step before selecting invoices of sellers the office flagged: the
/// invoices with the office's reasons; 确认勾选 posts the same form again (its data in hidden
/// fields), 返回 goes back to the query without saving.
fn risky_step(
    name: &str,
    pairs: &[(String, String)],
    flagged: &[FlaggedInvoice],
    back: &str,
) -> Markup {
    page(
        Page {
            title: "风险提示",
            viewer: Viewer::Taxpayer {
                name: name.to_string(),
            },
            active: "/select",
        },
        html! {
            section.card.confirm-step aria-labelledby="risk-h" {
                h1 #risk-h { "风险提示" }
                (notice("info", &format!(
                    "您勾选的发票中有 {} 份的销售方已被税务机关标记为风险纳税人，请核实后再确认勾选。",
                    flagged.len()
                )))
                div.table-wrap { table.grid.risky {
                    thead { tr {
                        th { "发票代码" } th { "发票号码" } th { "销方税号" } th { "销方名称" }
                        th.num { "金额" } th.num { "税额" } th { "风险原因" }
                    } }
                    tbody {
                        @for x in flagged {
                            tr {
                                td.mono { (x.invoice.code_text()) }
                                td.mono { (x.invoice.number) }
                                td.mono { (x.invoice.seller_id) }
                                td { (x.invoice.seller_name) }
                                td.num { (x.invoice.amount) }
                                td.num { (x.invoice.tax) }
                                td { (x.seller.reason) }
                            }
                        }
                    }
                } }
                form.inline method="post" action="/select/save" {
                    @for (k, v) in pairs {
                        @if k != "confirmed" { input type="hidden" name=(k) value=(v); }
                    }
                    input type="hidden" name="confirmed" value="1";
                    button type="submit" { "确认勾选" }
                    " "
                    a.button.secondary href=(back) { "返回" }
                }
            }
        },
    )
}
