//! 发票勾选 (S-T4): the manual's condition form with its dependent fields, results paged with
//! totals over all matches, a checkbox per invoice and 保存 per page; the page-level
//! select-all (at most 100) and the unsaved-changes warning come from `assets/select.js`
//! (without it the page still queries, ticks and saves).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::{html, see_other};
use crate::domain::query::RawConditions;
use crate::domain::{InvoiceKey, InvoiceType, SelectionState};
use crate::error::AppResult;
use crate::http::blocking;
use crate::http::extract::{self, Acting, TaxpayerUser};
use crate::service::listing::{InvoicePage, InvoiceView};
use crate::service::portal;
use crate::service::portal::profile::Profile;
use crate::service::store_reads::*;
use crate::service::App;
use crate::web::components::{help_panel, pager, with_error, Col, Flash, InvoiceTable};
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

fn results(f: &Form, r: &InvoicePage, certified: bool) -> Markup {
    let tick = |_: usize, i: &InvoiceView| {
        let key = format!("{}:{}", i.code_or_dash(), i.number);
        let ticked = matches!(i.selection, SelectionState::Selected { .. });
        html! {
            input type="hidden" name="shown" value=(key);
            input type="checkbox" name="tick" value=(key) checked[ticked]
                disabled[certified] aria-label={"勾选 " (i.code_text()) " " (i.number)};
        }
    };
    html! {
        @if r.total == 0 {
            (notice("info", "没有查询到符合条件的发票信息！"))
        } @else {
            p.summary { "共 " strong { (r.total) } " 条，金额合计 " strong { (r.amount) } "，税额合计 " strong { (r.tax) } }
            @if writes_allowed() {
                form #ticks method="post" action="/select/save" {
                    input type="hidden" name="back" value=(f.query_string(None));
                    p #unsaved.notice.info hidden { "当前页有未保存的勾选操作，请点击“保存”。" }
                    (InvoiceTable {
                        items: &r.items,
                        cols: &[Col::Code, Col::Number, Col::IssuedOn, Col::SellerId, Col::SellerName, Col::Amount, Col::Tax, Col::Status, Col::Selection],
                        exceptions: false,
                        lead: Some((
                            html! { label #select-all hidden { input type="checkbox" aria-label="全选本页（最多100份）"; "全选" } },
                            &tick,
                        )),
                    })
                    @if !certified { button type="submit" { "保存" } }
                }
            } @else {
                // A read-only replica: the list without ticks or 保存.
                (InvoiceTable {
                    items: &r.items,
                    cols: &[Col::Code, Col::Number, Col::IssuedOn, Col::SellerId, Col::SellerName, Col::Amount, Col::Tax, Col::Status, Col::Selection],
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
    name: &str,
    p: &Profile,
    f: &Form,
    body: Markup,
    message: Option<(&str, String)>,
    today: chrono::NaiveDate,
    lookback: u32,
) -> Markup {
    page(
        Page {
            title: "发票勾选",
            viewer: Viewer::Taxpayer {
                name: name.to_string(),
            },
            active: "/select",
        },
        html! {
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
    let (name, p, found) = blocking(move || {
        let p = portal::profile::profile(&a2, &who, &id)?;
        let found = if searched {
            Some(portal::selection::query(&a2, &who, &id, &f2.raw()))
        } else {
            None
        };
        Ok((p.name.clone(), p, found))
    })
    .await?;
    let certified = f.certified.as_deref() == Some("true");
    let (status, body) = match found {
        None => (StatusCode::OK, html! {}),
        Some(Ok(r)) => (StatusCode::OK, results(&f, &r, certified)),
        Some(Err(e)) => (e.status(), html! { (notice("error", &e.message)) }),
    };
    Ok(html(
        status,
        view(&name, &p, &f, body, message, today, lookback),
    ))
}

/// 保存: the page's ticks against what was shown — newly ticked invoices are selected,
/// unticked ones that were 已勾选 are unselected.
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
    let back = get_all("back").into_iter().next().unwrap_or_default();
    let f: Form = serde_urlencoded::from_str(&back).unwrap_or_default();
    let (a2, id) = (app, user.id.clone());
    let result = blocking(move || {
        let current = a2.store.read()?.invoices_by_keys(&shown)?;
        let mut select = Vec::new();
        let mut unselect = Vec::new();
        for inv in current {
            let on = ticked.contains(&inv.key.to_u128());
            let is = matches!(inv.selection, SelectionState::Selected { .. });
            if on && !is {
                select.push(inv.key);
            } else if !on && is {
                unselect.push(inv.key);
            }
        }
        portal::selection::select(&a2, &who, &id, &select, &unselect)
    })
    .await;
    // Back to the same query (Post/Redirect/Get) with the outcome.
    let to = format!("/select?{}", f.query_string(None));
    Ok(match result {
        Ok(r) if r.rejected.is_empty() => see_other(&format!(
            "{to}&done=saved&ns={}&nu={}",
            r.selected, r.unselected
        )),
        Ok(r) => see_other(&with_error(
            &to,
            &format!(
                "勾选 {} 份，撤销勾选 {} 份；{} 份未能保存：{}",
                r.selected,
                r.unselected,
                r.rejected.len(),
                r.rejected
                    .iter()
                    .take(10)
                    .map(|(_, x)| format!("{}（{}）", x.key, x.reason.message()))
                    .collect::<Vec<_>>()
                    .join("；")
                    + if r.rejected.len() > 10 {
                        "；……"
                    } else {
                        ""
                    }
            ),
        )),
        Err(e) => see_other(&with_error(&to, &e.message)),
    })
}
