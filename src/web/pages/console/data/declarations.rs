//! 申报情况 (`/office/declarations`): the declaration status of a period for the taxpayers
//! found by ID or name (paged), recording one by form, and importing a CSV file of them
//! (`taxpayer_id,period,status` lines, all or nothing).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::{error_report, link, may_change, read_only_note, staff_page, MAX_UPLOAD};
use crate::domain::{DeclarationStatus, Paging, TaxPeriod, TaxpayerId};
use crate::error::{AppError, AppResult};
use crate::http::blocking;
use crate::http::extract::{Acting, StaffUser};
use crate::http::files::read_upload;
use crate::service::office::declarations::{self, DeclarationLine};
use crate::service::App;
use crate::web::components::pager;
use crate::web::layout::notice;
use crate::web::pages::{html, see_other};

const PATH: &str = "/office/declarations";
const TITLE: &str = "申报情况";
const PER_PAGE: usize = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::get().to(show))
        .route(PATH, web::post().to(record))
        .route("/office/declarations/import", web::post().to(import));
}

#[derive(Debug, Clone, Default, Deserialize)]
struct Query {
    #[serde(default)]
    q: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    page: String,
    saved: Option<String>,
    imported: Option<String>,
}

/// The record form as typed (shown again on a refusal).
#[derive(Debug, Clone, Default, Deserialize)]
struct RecordForm {
    #[serde(default)]
    taxpayer_id: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    status: String,
}

/// The period shown when none is asked for: the business date's month.
fn default_period(app: &App) -> TaxPeriod {
    TaxPeriod::of_date(app.clock.now().date_naive())
}

struct Listing {
    period: TaxPeriod,
    total: usize,
    paging: Paging,
    items: Vec<DeclarationLine>,
}

fn view(
    staff: &StaffUser,
    q: &Query,
    listing: Option<&Listing>,
    form: &RecordForm,
    message: Option<Markup>,
) -> Markup {
    let writer = may_change(staff);
    let period_text = listing.map_or_else(|| q.period.clone(), |l| l.period.to_string());
    let body = html! {
        section.card.office-data {
            h1 { (TITLE) }
            @if let Some(m) = message { div #message { (m) } }
            form.search method="get" action=(PATH) {
                label { "纳税人识别号或名称" input name="q" value=(q.q) maxlength="50" placeholder="不填则列出全部纳税人"; }
                label { "税款所属期" input name="period" value=(period_text) maxlength="6" pattern="[0-9]{6}" placeholder="YYYYMM" required; }
                button type="submit" { "查询" }
            }
            @if let Some(l) = listing {
                p #results { (l.period.label_zh()) "，共 " (l.total) " 户纳税人。" }
                @if !l.items.is_empty() {
                    table.grid.declarations {
                        thead { tr {
                            th { "纳税人识别号" } th { "纳税人名称" } th { "地区" }
                            th { "当前税款所属期" } th { "申报状态" }
                        } }
                        tbody {
                            @for d in &l.items {
                                tr {
                                    td.mono { (d.taxpayer_id.as_str()) }
                                    td { (d.name) }
                                    td { (d.region.name()) }
                                    td { (d.current_period.label_zh()) }
                                    td { @match d.status { Some(s) => (s.label_zh()), None => span.hint { "未记录" } } }
                                }
                            }
                        }
                    }
                    (pager("纳税人分页", l.paging.page(), l.paging.per_page(), l.total as u64, |n| {
                        link(PATH, &[("q", q.q.trim()), ("period", &l.period.to_string()), ("page", &n.to_string())])
                    }))
                }
            }
            @if writer {
                div.two {
                    form.stack method="post" action=(PATH) {
                        h2 { "记录申报状态" }
                        label { "纳税人识别号" input name="taxpayer_id" required maxlength="20" value=(form.taxpayer_id); }
                        label { "税款所属期" input name="period" required maxlength="6" pattern="[0-9]{6}" placeholder="YYYYMM" value=(form.period); }
                        label { "申报状态"
                            select name="status" required {
                                @for s in DeclarationStatus::ALL {
                                    option value=(s.as_str()) selected[form.status == s.as_str()] { (s.label_zh()) }
                                }
                            }
                        }
                        p.hint { "记录当前税款所属期为“已申报”后，该所属期的勾选窗口关闭，纳税人进入下一所属期。" }
                        button type="submit" { "记录" }
                    }
                    form.stack.upload method="post" action="/office/declarations/import" enctype="multipart/form-data" data-progress="declaration-progress" {
                        h2 { "导入申报状态文件" }
                        label { "CSV 文件（UTF-8）"
                            input type="file" name="file" required accept=".csv,text/csv,.txt";
                        }
                        p.hint { "每行“纳税人识别号,税款所属期,申报状态”，如 " code { "91350100M000100Y43,202611,declared" } "；申报状态为 declared/已申报、not_declared/未申报 或 unknown/未获取；第一行可为表头。任何一行有误则整个文件不导入。" }
                        div.upload-progress #declaration-progress hidden {
                            progress max="100" value="0" {}
                            span.upload-text role="status" {}
                        }
                        button type="submit" { "导入" }
                    }
                }
            } @else {
                (read_only_note())
            }
        }
        script src="/assets/upload.js" defer {}
    };
    staff_page(staff, TITLE, PATH, body)
}

fn listing(app: &App, q: &Query) -> AppResult<Listing> {
    let period = match q.period.trim() {
        "" => default_period(app),
        p => TaxPeriod::parse(p)?,
    };
    let paging = Paging::parse(Some(q.page.as_str()), None, PER_PAGE)?;
    let (total, items) = declarations::declarations_for(app, &q.q, period, paging)?;
    Ok(Listing {
        period,
        total,
        paging,
        items,
    })
}

async fn render(
    app: std::sync::Arc<App>,
    staff: &StaffUser,
    q: Query,
    form: RecordForm,
    status: StatusCode,
    message: Option<Markup>,
) -> AppResult<HttpResponse> {
    let q2 = q.clone();
    let found = blocking(move || Ok(listing(&app, &q2))).await?;
    let (listing, message, status) = match found {
        Ok(l) => (Some(l), message, status),
        Err(e) if e.status().is_server_error() => return Err(e),
        Err(e) => (
            None,
            Some(message.unwrap_or_else(|| notice("error", &e.message))),
            if status == StatusCode::OK {
                e.status()
            } else {
                status
            },
        ),
    };
    Ok(html(
        status,
        view(staff, &q, listing.as_ref(), &form, message),
    ))
}

async fn show(
    app: web::Data<App>,
    staff: StaffUser,
    q: web::Query<Query>,
) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    let n = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<u64>().ok());
    let message = if q.saved.as_deref() == Some("1") {
        Some(notice("success", "申报状态已记录。"))
    } else {
        n(&q.imported).map(|i| notice("success", &format!("导入成功：已记录{i}条申报状态。")))
    };
    render(
        app.into_inner(),
        &staff,
        q,
        RecordForm::default(),
        StatusCode::OK,
        message,
    )
    .await
}

async fn record(
    Acting { app, who, user }: Acting<StaffUser>,
    form: web::Form<RecordForm>,
) -> AppResult<HttpResponse> {
    let f = form.into_inner();
    let parsed = (|| {
        Ok::<_, AppError>((
            TaxpayerId::parse(f.taxpayer_id.trim())?,
            TaxPeriod::parse(f.period.trim())?,
            DeclarationStatus::parse_api(&f.status)?,
        ))
    })();
    let result = match parsed {
        Ok((id, period, status)) => {
            let a2 = app.clone();
            blocking(move || {
                declarations::record_declaration(&a2, &who, &id, period, status)
                    .map(|t| (t.id, period))
            })
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok((id, period)) => Ok(see_other(&link(
            PATH,
            &[
                ("q", id.as_str()),
                ("period", &period.to_string()),
                ("saved", "1"),
            ],
        ))),
        Err(e) if e.status().is_server_error() => Err(e),
        Err(e) => {
            let report = error_report(&e);
            let status = e.status();
            render(app, &user, Query::default(), f, status, Some(report)).await
        }
    }
}

async fn import(
    req: HttpRequest,
    Acting { app, who, user }: Acting<StaffUser>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let result = match read_upload(&req, payload, MAX_UPLOAD).await {
        Ok((_, bytes)) => {
            let a2 = app.clone();
            blocking(move || declarations::import_declaration_file(&a2, &who, &bytes)).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(n) => Ok(see_other(&link(PATH, &[("imported", &n.to_string())]))),
        Err(e) if e.status().is_server_error() => Err(e),
        Err(e) => {
            let report = error_report(&e);
            let status = e.status();
            render(
                app,
                &user,
                Query::default(),
                RecordForm::default(),
                status,
                Some(report),
            )
            .await
        }
    }
}
