//! 发票数据 (`/office/invoices`): import an invoice file (NDJSON, CSV or `.xlsx`; all or
//! nothing, with the refused lines listed), find invoices by key, buyer or seller, change
//! their status one or many at a time, import 扫描认证 records and apply them now.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::{Deserialize, Serialize};

use super::{error_report, link, may_change, read_only_note, staff_page, MAX_UPLOAD};
use crate::domain::{InvoiceKey, InvoiceStatus};
use crate::error::{AppError, AppResult};
use crate::http::blocking;
use crate::http::extract::{Acting, StaffUser};
use crate::http::files::read_upload;
use crate::service::listing::{InvoicePage, InvoiceView};
use crate::service::office::invoices::{self, OfficeSearchRaw};
use crate::service::office::statistics::{self, ScanStatus};
use crate::service::portal::selection::MAX_SELECTION_ROWS;
use crate::service::App;
use crate::web::components::{pager, Col, InvoiceTable};
use crate::web::layout::notice;
use crate::web::pages::html;
use crate::web::pages::see_other;

const PATH: &str = "/office/invoices";
const TITLE: &str = "发票数据";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::get().to(show))
        .route("/office/invoices/import", web::post().to(import))
        .route("/office/invoices/status", web::post().to(set_status))
        .route(
            "/office/invoices/status-bulk",
            web::post().to(set_status_bulk),
        )
        .route("/office/invoices/scans", web::post().to(import_scans))
        .route("/office/invoices/refresh", web::post().to(refresh));
}

/// The search conditions (kept in links and after a status change).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
struct Search {
    #[serde(default)]
    code: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    buyer_id: String,
    #[serde(default)]
    seller_id: String,
    #[serde(default)]
    seller_name: String,
    #[serde(default)]
    page: String,
}

impl Search {
    fn pairs(&self) -> [(&str, &str); 6] {
        [
            ("code", self.code.trim()),
            ("number", self.number.trim()),
            ("buyer_id", self.buyer_id.trim()),
            ("seller_id", self.seller_id.trim()),
            ("seller_name", self.seller_name.trim()),
            ("page", self.page.trim()),
        ]
    }

    fn by_key(&self) -> bool {
        !self.code.trim().is_empty() || !self.number.trim().is_empty()
    }

    fn by_party(&self) -> bool {
        [&self.buyer_id, &self.seller_id, &self.seller_name]
            .iter()
            .any(|s| !s.trim().is_empty())
    }

    /// The page's address with these conditions and `extra` results.
    fn link(&self, extra: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(&str, &str)> = self.pairs().to_vec();
        pairs.extend_from_slice(extra);
        link(PATH, &pairs)
    }
}

/// The page's query: the conditions and what the last action did.
#[derive(Debug, Default, Deserialize)]
struct Query {
    #[serde(flatten)]
    search: Search,
    imported: Option<String>,
    unchanged: Option<String>,
    scans: Option<String>,
    applied: Option<String>,
    dropped: Option<String>,
    changed: Option<String>,
    to: Option<String>,
}

/// What the search found.
enum Found {
    Nothing,
    One(Box<InvoiceView>),
    Page(InvoicePage),
}

fn found(app: &App, s: &Search) -> AppResult<Found> {
    if s.by_key() {
        let key = InvoiceKey::parse_any(Some(s.code.trim()), s.number.trim())?;
        return Ok(invoices::find(app, &key)?.map_or(Found::Nothing, |v| Found::One(Box::new(v))));
    }
    if !s.by_party() {
        return Ok(Found::Nothing);
    }
    let raw = OfficeSearchRaw {
        buyer_id: Some(s.buyer_id.clone()),
        seller_id: Some(s.seller_id.clone()),
        seller_name: Some(s.seller_name.clone()),
        page: Some(s.page.clone()).filter(|p| !p.trim().is_empty()),
        ..OfficeSearchRaw::default()
    };
    Ok(Found::Page(invoices::office_search(app, &raw)?))
}

/// The notice of the last action, from the redirect's query (numbers only are echoed).
fn done_notice(q: &Query) -> Option<Markup> {
    let n = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<u64>().ok());
    if let Some(i) = n(&q.imported) {
        let u = n(&q.unchanged).unwrap_or(0);
        return Some(notice(
            "success",
            &format!("导入成功：新增发票{i}份，与已有数据相同未变化{u}份。"),
        ));
    }
    if let Some(s) = n(&q.scans) {
        return Some(notice(
            "success",
            &format!("已导入扫描认证记录{s}条，将在统计作业或“立即应用”后生效。"),
        ));
    }
    if let Some(a) = n(&q.applied) {
        let d = n(&q.dropped).unwrap_or(0);
        return Some(notice(
            "success",
            &format!("已应用扫描认证记录{a}条，未能应用{d}条；抵扣统计已刷新。"),
        ));
    }
    if let Some(c) = n(&q.changed) {
        let to =
            q.to.as_deref()
                .and_then(|s| InvoiceStatus::parse_api(s).ok())
                .map_or("", InvoiceStatus::label_zh);
        return Some(notice(
            "success",
            &format!("已将{c}份发票的状态变更为“{to}”。"),
        ));
    }
    None
}

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
];

fn status_select(name: &str) -> Markup {
    html! {
        select name=(name) required {
            @for s in InvoiceStatus::ALL {
                option value=(s.as_str()) { (s.label_zh()) }
            }
        }
    }
}

fn back_fields(s: &Search) -> Markup {
    html! {
        @for (k, v) in s.pairs() {
            @if !v.is_empty() { input type="hidden" name={ "back_" (k) } value=(v); }
        }
    }
}

fn results(s: &Search, found: &Found, writer: bool) -> Markup {
    let key_of = |i: &InvoiceView| format!("{}/{}", i.code_or_dash(), i.number);
    let lead_cell = |_: usize, i: &InvoiceView| {
        html! { input type="checkbox" name="key" value=(key_of(i)) aria-label={ "选择发票 " (i.code_text()) " " (i.number) }; }
    };
    let table = |items: &[InvoiceView]| {
        html! {
            (InvoiceTable {
                items,
                cols: COLS,
                exceptions: true,
                lead: writer.then(|| (html! { "选择" }, &lead_cell as &crate::web::components::LeadCell<'_>)),
            })
        }
    };
    let with_bulk = |inner: Markup| {
        html! {
            @if writer {
                form #bulk-status method="post" action="/office/invoices/status-bulk" {
                    (back_fields(s))
                    (inner)
                    div.actions {
                        label { "将所选发票的状态变更为 " (status_select("status")) }
                        button type="submit" { "批量变更状态" }
                    }
                }
            } @else { (inner) }
        }
    };
    html! {
        @match found {
            Found::Nothing => {
                @if s.by_key() { p.hint #results { "未找到该发票。" } }
                @else { p.hint #results { "请输入发票代码和号码，或购方税号、销方税号、销方名称查询发票。" } }
            }
            Found::One(v) => {
                p #results { "找到 1 份发票。" }
                (with_bulk(table(std::slice::from_ref(v.as_ref()))))
                p.hint { "购方税号：" span.mono { (v.buyer_id.as_str()) } }
            }
            Found::Page(p) => {
                p #results { "共 " (p.total) " 条，金额合计 " (p.amount) " 元，税额合计 " (p.tax) " 元。" }
                @if !p.items.is_empty() {
                    (with_bulk(table(&p.items)))
                    (pager("发票分页", p.page, p.per_page, p.total, |n| {
                        let n = n.to_string();
                        let mut t = s.clone();
                        t.page = n;
                        t.link(&[])
                    }))
                }
            }
        }
    }
}

fn view(
    staff: &StaffUser,
    s: &Search,
    found: &Found,
    scans: &ScanStatus,
    message: Option<Markup>,
) -> Markup {
    let writer = may_change(staff);
    let body = html! {
        section.card.office-data {
            h1 { (TITLE) }
            @if let Some(m) = message { div #message { (m) } }
            @if writer {
                div.two {
                    form.stack.upload method="post" action="/office/invoices/import" enctype="multipart/form-data" data-progress="invoice-progress" {
                        h2 { "导入发票数据" }
                        label { "发票文件（.ndjson、.jsonl、.csv 或 .xlsx）"
                            input type="file" name="file" required accept=".ndjson,.jsonl,.csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
                        }
                        p.hint { "CSV 和 Excel 表头可用中文列名（发票代码、发票号码、发票类型、开票日期、销方税号、销方名称、购方税号、金额（元）、税额（元）、发票状态）。任何一行有误则整个文件不导入，并列出有误的行号和原因。文件不超过" (super::MAX_UPLOAD >> 20) "MB。" }
                        div.upload-progress #invoice-progress hidden {
                            progress max="100" value="0" {}
                            span.upload-text role="status" {}
                        }
                        button type="submit" { "导入" }
                    }
                    div.stack {
                        form.stack.upload method="post" action="/office/invoices/scans" enctype="multipart/form-data" data-progress="scan-progress" {
                            h2 { "导入扫描认证记录" }
                            label { "扫描认证文件（.ndjson，每行 {\"code\",\"number\",\"scanned_on\",\"period\"}）"
                                input type="file" name="file" required accept=".ndjson,.jsonl";
                            }
                            div.upload-progress #scan-progress hidden {
                                progress max="100" value="0" {}
                                span.upload-text role="status" {}
                            }
                            button type="submit" { "导入扫描认证记录" }
                        }
                        form.stack method="post" action="/office/invoices/refresh" {
                            p #scan-status {
                                "待应用的扫描认证记录 " strong { (scans.pending) } " 条"
                                @if let Some(at) = scans.applied_at { "；上次应用于 " (at.format("%Y-%m-%d %H:%M:%S")) }
                                "。"
                            }
                            button.secondary type="submit" { "立即应用并刷新抵扣统计" }
                        }
                    }
                }
            } @else {
                (read_only_note())
                p #scan-status { "待应用的扫描认证记录 " strong { (scans.pending) } " 条。" }
            }
            h2 { "查询发票" }
            form.search method="get" action=(PATH) {
                fieldset {
                    legend { "按发票代码和号码" }
                    label { "发票代码" input name="code" maxlength="12" value=(s.code) inputmode="numeric"; }
                    label { "发票号码" input name="number" maxlength="8" value=(s.number) inputmode="numeric"; }
                }
                fieldset {
                    legend { "或按购方、销方" }
                    label { "购方税号" input name="buyer_id" maxlength="20" value=(s.buyer_id); }
                    label { "销方税号" input name="seller_id" maxlength="20" value=(s.seller_id); }
                    label { "销方名称" input name="seller_name" maxlength="50" value=(s.seller_name) placeholder="至少两个字"; }
                }
                button type="submit" { "查询" }
            }
            (results(s, found, writer))
            @if writer {
                h2 { "单张发票状态变更" }
                form.inline.single-status method="post" action="/office/invoices/status" {
                    (back_fields(s))
                    label { "发票代码" input name="code" maxlength="12" value=(s.code) inputmode="numeric" placeholder="数电票、缴款书留空"; }
                    label { "发票号码" input name="number" required maxlength="22" value=(s.number); }
                    label { "新状态" (status_select("status")) }
                    button type="submit" { "变更状态" }
                }
            }
        }
        script src="/assets/upload.js" defer {}
    };
    staff_page(staff, TITLE, PATH, body)
}

async fn render(
    app: std::sync::Arc<App>,
    staff: &StaffUser,
    s: Search,
    status: StatusCode,
    message: Option<Markup>,
) -> AppResult<HttpResponse> {
    let s2 = s.clone();
    let (found, scans) = blocking(move || {
        let scans = statistics::scan_status(&app)?;
        // A search the service refuses shows its reason instead of results.
        Ok((found(&app, &s2), scans))
    })
    .await?;
    let (found, message, status) = match found {
        Ok(f) => (f, message, status),
        Err(e) if e.status().is_server_error() => return Err(e),
        Err(e) => (
            Found::Nothing,
            Some(message.unwrap_or_else(|| notice("error", &e.message))),
            if status == StatusCode::OK {
                e.status()
            } else {
                status
            },
        ),
    };
    Ok(html(status, view(staff, &s, &found, &scans, message)))
}

async fn show(
    app: web::Data<App>,
    staff: StaffUser,
    q: web::Query<Query>,
) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    let message = done_notice(&q);
    render(app.into_inner(), &staff, q.search, StatusCode::OK, message).await
}

/// A refusal: the page again, with the reason (and the refused lines), and its status.
async fn refused(
    app: std::sync::Arc<App>,
    staff: &StaffUser,
    s: Search,
    e: AppError,
) -> AppResult<HttpResponse> {
    if e.status().is_server_error() {
        return Err(e);
    }
    let report = error_report(&e);
    render(app, staff, s, e.status(), Some(report)).await
}

async fn import(
    req: HttpRequest,
    Acting { app, who, user }: Acting<StaffUser>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let result = match read_upload(&req, payload, MAX_UPLOAD).await {
        Ok((name, bytes)) => {
            let a2 = app.clone();
            blocking(move || invoices::import_upload(&a2, &who, &name, &bytes)).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(r) => Ok(see_other(&link(
            PATH,
            &[
                ("imported", &r.imported.to_string()),
                ("unchanged", &r.unchanged.to_string()),
            ],
        ))),
        Err(e) => refused(app, &user, Search::default(), e).await,
    }
}

async fn import_scans(
    req: HttpRequest,
    Acting { app, who, user }: Acting<StaffUser>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let result = match read_upload(&req, payload, MAX_UPLOAD).await {
        Ok((_, bytes)) => {
            let a2 = app.clone();
            blocking(move || statistics::import_scans(&a2, &who, &bytes)).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(n) => Ok(see_other(&link(PATH, &[("scans", &n.to_string())]))),
        Err(e) => refused(app, &user, Search::default(), e).await,
    }
}

async fn refresh(Acting { app, who, .. }: Acting<StaffUser>) -> AppResult<HttpResponse> {
    let r = blocking(move || statistics::apply_scans(&app, &who)).await?;
    Ok(see_other(&link(
        PATH,
        &[
            ("applied", &r.applied.to_string()),
            ("dropped", &r.rejected.len().to_string()),
        ],
    )))
}

/// The search a status form came from (`back_*` fields).
fn back_of(pairs: &[(String, String)]) -> Search {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n.strip_prefix("back_") == Some(k))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    Search {
        code: get("code"),
        number: get("number"),
        buyer_id: get("buyer_id"),
        seller_id: get("seller_id"),
        seller_name: get("seller_name"),
        page: get("page"),
    }
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Changes the status of `keys` and goes back to the search (or shows why not).
async fn change(
    a: Acting<StaffUser>,
    back: Search,
    keys: AppResult<Vec<InvoiceKey>>,
    status: &str,
) -> AppResult<HttpResponse> {
    let Acting { app, who, user } = a;
    let status = InvoiceStatus::parse_api(status).map_err(AppError::from);
    let result = match (keys, status) {
        (Ok(keys), Ok(status)) => {
            let a2 = app.clone();
            blocking(move || invoices::change_status(&a2, &who, &keys, status))
                .await
                .map(|out| (out.len(), status))
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    match result {
        Ok((n, status)) => {
            Ok(see_other(&back.link(&[
                ("changed", &n.to_string()),
                ("to", status.as_str()),
            ])))
        }
        Err(e) => refused(app, &user, back, e).await,
    }
}

async fn set_status(
    a: Acting<StaffUser>,
    form: web::Form<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let pairs = form.into_inner();
    let mut back = back_of(&pairs);
    let (code, number) = (field(&pairs, "code").trim(), field(&pairs, "number").trim());
    let key = InvoiceKey::parse_any(Some(code), number).map_err(AppError::from);
    if key.is_ok() {
        // Show the invoice just changed.
        back = Search {
            code: code.to_string(),
            number: number.to_string(),
            ..Search::default()
        };
    }
    let status = field(&pairs, "status").to_string();
    change(a, back, key.map(|k| vec![k]), &status).await
}

async fn set_status_bulk(
    a: Acting<StaffUser>,
    form: web::Form<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let pairs = form.into_inner();
    let back = back_of(&pairs);
    let chosen: Vec<&str> = pairs
        .iter()
        .filter(|(n, _)| n == "key")
        .map(|(_, v)| v.as_str())
        .collect();
    let keys = if chosen.is_empty() || chosen.len() > MAX_SELECTION_ROWS {
        Err(AppError::invalid(
            "key",
            format!("请选择1至{MAX_SELECTION_ROWS}张发票"),
        ))
    } else {
        chosen
            .iter()
            .map(|k| {
                let (code, number) = k.split_once('/').unwrap_or((k, ""));
                InvoiceKey::parse_any(Some(code), number).map_err(AppError::from)
            })
            .collect()
    };
    let status = field(&pairs, "status").to_string();
    change(a, back, keys, &status).await
}
