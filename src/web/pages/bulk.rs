//! 批量勾选 (S-T5): download the selectable invoices (开票日期, 销方税号, 勾选标志) as zipped
//! `.xlsx` files of at most 2,000 invoices; upload an edited file (.xlsx or .xls) whose
//! 是否勾选 column says 是 or 否; the result, and the operation log with the newest entry in
//! red. Works without JavaScript (plain GET download, multipart POST upload).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::{html, see_other};
use crate::error::{AppError, AppResult};
use crate::http::blocking;
use crate::http::extract::{self, Acting, TaxpayerUser};
use crate::http::files::{read_upload, send};
use crate::service::portal;
use crate::service::portal::bulk::ExportQuery;
use crate::service::portal::bulk::UploadView;
use crate::service::portal::bulk::LOG_SHOWN;
use crate::service::portal::profile::Profile;
use crate::service::App;
use crate::service::File;
use crate::web::components::{help_panel, with_error, Flash};
use crate::web::layout::{notice, page, writes_allowed, Page, Viewer};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/bulk", web::get().to(bulk_page))
        .route("/bulk/download", web::get().to(download))
        .route("/bulk/upload", web::post().to(upload));
}

#[derive(Debug, Default, Deserialize)]
struct Query {
    issued_from: Option<String>,
    issued_to: Option<String>,
    seller_id: Option<String>,
    selected: Option<String>,
    /// Set after an upload: show the newest log entry's summary.
    uploaded: Option<String>,
}

/// Rejected rows listed per log entry on the page (all of them are in the API answer).
const REJECTED_SHOWN: usize = 200;

fn summary_line(u: &UploadView) -> String {
    format!(
        "本次文件批量勾选共处理{}行：勾选{}份，撤销勾选{}份，未变化{}份，未处理{}行。",
        u.rows,
        u.selected,
        u.unselected,
        u.unchanged,
        u.rejected.len()
    )
}

fn log_table(log: &[UploadView]) -> Markup {
    html! {
        h2 #log-h { "操作日志" }
        @if log.is_empty() {
            p.hint { "暂无批量勾选记录。" }
        } @else {
            table.grid.bulk-log aria-describedby="log-h" {
                thead { tr {
                    th { "上传时间" } th { "文件名" } th { "税款所属期" } th.num { "行数" }
                    th.num { "勾选" } th.num { "撤销勾选" } th.num { "未变化" } th.num { "未处理" }
                } }
                tbody {
                    @for (i, u) in log.iter().enumerate() {
                        tr class=[(i == 0).then_some("latest")] {
                            td { (u.at.format("%Y-%m-%d %H:%M:%S")) }
                            td { (u.file_name) " " span.hint { "(" (u.format) ")" } }
                            td { (u.period.label_zh()) }
                            td.num { (u.rows) }
                            td.num { (u.selected) }
                            td.num { (u.unselected) }
                            td.num { (u.unchanged) }
                            td.num { (u.rejected.len()) }
                        }
                        @if !u.rejected.is_empty() {
                            tr class=[(i == 0).then_some("latest")] {
                                td colspan="8" {
                                    details open[i == 0] {
                                        summary { "未处理的行（" (u.rejected.len()) "）" }
                                        table.grid.rejected {
                                            thead { tr { th.num { "行号" } th { "发票代码" } th { "发票号码" } th { "原因" } } }
                                            tbody {
                                                @for r in u.rejected.iter().take(REJECTED_SHOWN) {
                                                    tr { td.num { (r.row) } td.mono { (r.code) } td.mono { (r.number) } td { (r.message) } }
                                                }
                                            }
                                        }
                                        @if u.rejected.len() > REJECTED_SHOWN {
                                            p.hint { "仅显示前" (REJECTED_SHOWN) "行，完整结果可通过接口获取。" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What the page shows besides the profile and the conditions.
struct Shown<'a> {
    today: chrono::NaiveDate,
    lookback: u32,
    message: Option<Markup>,
    log: &'a [UploadView],
    max_mb: f64,
    max_rows: usize,
}

fn view(p: &Profile, q: &Query, shown: Shown<'_>) -> Markup {
    let Shown {
        today,
        lookback,
        message,
        log,
        max_mb,
        max_rows,
    } = shown;
    let (earliest, latest) =
        crate::domain::query::selectable_issue_dates(p.current_period, today, lookback);
    let from = q.issued_from.clone().unwrap_or_else(|| {
        earliest
            .unwrap_or_else(|| p.current_period.add_months(-12).first_day())
            .to_string()
    });
    let to = q.issued_to.clone().unwrap_or_else(|| latest.to_string());
    let selected = q.selected.clone().unwrap_or_else(|| "all".into());
    page(
        Page {
            title: "批量勾选",
            viewer: Viewer::Taxpayer {
                name: p.name.clone(),
            },
            active: "/bulk",
        },
        html! {
            section.card {
                h1 { "批量勾选" }
                p { "当前税款所属期：" strong { (p.current_period.label_zh()) } }
                (help_panel("批量勾选", &[
                    "按“开票日期”“销方税号”“勾选标志”筛选后点击“下载发票文件”，得到“纳税人识别号_随机数.zip”，解压后为Excel文件；超过2000份发票时自动分为多个文件。",
                    "下载的清单只包含发票状态为正常、尚未确认的发票。",
                    "将需要勾选的发票“是否勾选”列改为“是”；对已勾选未确认的发票改为“否”即撤销勾选（仅限未扫描认证过的发票）。",
                    &format!("保存后点击“上传”，支持 .xlsx 和 Excel 2003 格式的 .xls 文件，文件不超过{max_mb}MB、不超过{max_rows}行。也可以上传包含“发票代码”“发票号码”“是否勾选”列的其他表格，列的顺序不限。"),
                    "可增加“用途”（抵扣、不抵扣、退税、代办退税，或代码1、6、2、3）、“有效税额”（元）、“不抵扣原因”“原因说明”列，不填为抵扣、有效税额为发票税额；有按其他用途勾选的发票或已登记退税资格时，下载的清单带有这些列。",
                    "每一行单独处理：不符合勾选条件的行不会生效，并在结果中列出行号和原因；最近一次的日志以红色字体标识。",
                ]))
                @if let Some(m) = message { (m) }
                div.two {
                    form.stack method="get" action="/bulk/download" {
                        h2 { "下载发票文件" }
                        label { "开票日期起" input name="issued_from" type="date" required value=(from); }
                        label { "开票日期止" input name="issued_to" type="date" required value=(to); }
                        label { "销方税号" input name="seller_id" maxlength="20" value=(q.seller_id.clone().unwrap_or_default()) placeholder="可不填"; }
                        label { "勾选标志"
                            select name="selected" {
                                option value="all" selected[selected == "all"] { "全部" }
                                option value="false" selected[selected == "false"] { "未勾选" }
                                option value="true" selected[selected == "true"] { "已勾选" }
                            }
                        }
                        button type="submit" { "下载发票文件" }
                    }
                    @if writes_allowed() {
                        form.stack method="post" action="/bulk/upload" enctype="multipart/form-data" {
                            h2 { "上传勾选文件" }
                            label { "勾选清单文件（.xlsx 或 .xls）"
                                input type="file" name="file" required
                                    accept=".xlsx,.xls,application/vnd.ms-excel,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
                            }
                            button type="submit" { "上传" }
                        }
                    }
                }
                (log_table(log))
            }
        },
    )
}

async fn render(
    req: &HttpRequest,
    app: &std::sync::Arc<App>,
    user: &TaxpayerUser,
    q: Query,
    status: StatusCode,
    message: Option<Markup>,
) -> AppResult<HttpResponse> {
    let who = extract::who(req, app, user.actor());
    let today = who.now.date_naive();
    let (a2, id) = (app.clone(), user.id.clone());
    let (p, log) = blocking(move || {
        let p = portal::profile::profile(&a2, &who, &id)?;
        let log = portal::bulk::log(&a2, &id, LOG_SHOWN)?;
        Ok((p, log))
    })
    .await?;
    let refused = Flash::of(req).error.map(|e| notice("error", &e));
    let message = match (message.or(refused), q.uploaded.is_some(), log.first()) {
        (Some(m), ..) => Some(m),
        (None, true, Some(u)) => Some(html! {
            div.notice.success role="status" {
                "批量勾选操作成功。" (summary_line(u))
                @if !u.rejected.is_empty() { " 未处理的行及原因见下方操作日志。" }
            }
        }),
        _ => None,
    };
    let s = &app.settings.bulk;
    #[allow(clippy::cast_precision_loss)]
    let max_mb = (s.max_upload_bytes as f64 / (1024.0 * 1024.0) * 10.0).round() / 10.0;
    Ok(html(
        status,
        view(
            &p,
            &q,
            Shown {
                today,
                lookback: app.settings.lookback_days,
                message,
                log: &log,
                max_mb,
                max_rows: s.max_upload_rows,
            },
        ),
    ))
}

async fn bulk_page(
    req: HttpRequest,
    app: web::Data<App>,
    user: TaxpayerUser,
    q: web::Query<Query>,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    render(&req, &app, &user, q.into_inner(), StatusCode::OK, None).await
}

fn error_notice(e: &AppError) -> Markup {
    notice("error", &e.message)
}

async fn download(
    req: HttpRequest,
    Acting { app, who, user }: Acting<TaxpayerUser>,
    q: web::Query<Query>,
) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    let export = ExportQuery {
        issued_from: q.issued_from.clone(),
        issued_to: q.issued_to.clone(),
        seller_id: q.seller_id.clone(),
        selected: q.selected.clone(),
    };
    let (a2, id) = (app.clone(), user.id.clone());
    match blocking(move || portal::bulk::export(&a2, &who, &id, &export)).await {
        Ok(d) => Ok(send(
            File {
                name: d.file_name,
                bytes: d.zip,
            },
            "application/zip",
            false,
        )),
        Err(e) => render(&req, &app, &user, q, e.status(), Some(error_notice(&e))).await,
    }
}

async fn upload(
    req: HttpRequest,
    Acting { app, who, user }: Acting<TaxpayerUser>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let result = match read_upload(&req, payload, app.settings.bulk.max_upload_bytes).await {
        Ok((name, bytes)) => {
            let (a2, id) = (app.clone(), user.id.clone());
            blocking(move || portal::bulk::upload(&a2, &who, &id, &name, &bytes)).await
        }
        Err(e) => Err(e),
    };
    // Post/Redirect/Get either way: a reload of the result never uploads again.
    Ok(match result {
        Ok(_) => see_other("/bulk?uploaded=1"),
        Err(e) => see_other(&with_error("/bulk", &e.message)),
    })
}
