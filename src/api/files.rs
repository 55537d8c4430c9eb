//! File endpoints of the taxpayer: 批量勾选 download and upload (S-T5), and the spreadsheet
//! and PDF of a confirmation batch (S-T6) and of 抵扣统计 (S-T9).

use actix_web::{web, HttpRequest, HttpResponse};

use super::confirmations::batch_path;
use super::router::Routes;
use super::schema::{Binary, UploadForm};
use crate::domain::{TaxPeriod, TaxpayerId};
use crate::error::AppResult;
use crate::http::extract::{Acting, TaxpayerUser};
use crate::http::files::{read_upload, send, XLSX};
use crate::service::portal;
use crate::service::portal::bulk::{ExportQuery, UploadView};
use crate::service::App;
use crate::service::File;
use crate::service::Who;

pub(super) fn routes(r: &mut Routes<'_>) {
    r.get("/selections/export", export_selection)
        .post("/selections/import", import_selection)
        .get("/confirmations/{period}/{batch}/export.xlsx", batch_xlsx)
        .get("/confirmations/{period}/{batch}/print.pdf", batch_pdf)
        .get("/statistics/{period}/export.xlsx", statistics_xlsx)
        .get("/statistics/{period}/print.pdf", statistics_pdf);
}

#[utoipa::path(
    get,
    path = "/api/v1/selections/export",
    tag = "taxpayer",
    summary = "批量勾选：下载发票文件（zip，每个Excel文件不超过2000份发票）",
    params(ExportQuery),
    responses((status = 200, description = "发票文件", body = Binary, content_type = "application/zip"))
)]
async fn export_selection(
    a: Acting<TaxpayerUser>,
    q: web::Query<ExportQuery>,
) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    let d = a
        .run(move |app, who, user| portal::bulk::export(app, who, &user.id, &q))
        .await?;
    Ok(send(
        File {
            name: d.file_name,
            bytes: d.zip,
        },
        "application/zip",
        false,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/selections/import",
    tag = "taxpayer",
    summary = "批量勾选：上传勾选文件（multipart 字段 file，.xlsx 或 .xls；逐行结果）",
    params(("name" = Option<String>, Query, description = "文件名（请求体为文件本身时）")),
    request_body(content(
        (UploadForm = "multipart/form-data"),
        (Binary = "application/octet-stream")
    )),
    responses((status = 200, description = "逐行结果", body = UploadView))
)]
async fn import_selection(
    req: HttpRequest,
    a: Acting<TaxpayerUser>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let (name, bytes) = read_upload(&req, payload, a.app.settings.bulk.max_upload_bytes).await?;
    let view = a
        .run(move |app, who, user| portal::bulk::upload(app, who, &user.id, &name, &bytes))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// A report file (`pdf`: the print, else the spreadsheet) made by `make` off the executor.
async fn report(
    a: Acting<TaxpayerUser>,
    pdf: bool,
    make: impl FnOnce(&App, &Who, &TaxpayerId) -> AppResult<File> + Send + 'static,
) -> AppResult<HttpResponse> {
    let file = a
        .run(move |app, who, user| make(app, who, &user.id))
        .await?;
    Ok(if pdf {
        send(file, "application/pdf", true)
    } else {
        send(file, XLSX, false)
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/confirmations/{period}/{batch}/export.xlsx",
    tag = "taxpayer",
    summary = "导出明细：确认批次的发票（Excel）",
    params(
        ("period" = String, Path, description = "税款所属期 YYYYMM", example = "202611"),
        ("batch" = String, Path, description = "确认批次（正整数）", example = "1")
    ),
    responses((
        status = 200,
        description = "Excel 文件",
        body = Binary,
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    ))
)]
async fn batch_xlsx(
    a: Acting<TaxpayerUser>,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (period, n) = batch_path(path.into_inner())?;
    report(a, false, move |app, who, id| {
        portal::exports::batch_report(app, who, id, period, n)?.xlsx()
    })
    .await
}

#[utoipa::path(
    get,
    path = "/api/v1/confirmations/{period}/{batch}/print.pdf",
    tag = "taxpayer",
    summary = "打印本页：确认批次汇总及明细（PDF）",
    params(
        ("period" = String, Path, description = "税款所属期 YYYYMM", example = "202611"),
        ("batch" = String, Path, description = "确认批次（正整数）", example = "1")
    ),
    responses((status = 200, description = "PDF 文件", body = Binary, content_type = "application/pdf"))
)]
async fn batch_pdf(
    a: Acting<TaxpayerUser>,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (period, n) = batch_path(path.into_inner())?;
    report(a, true, move |app, who, id| {
        portal::exports::batch_report(app, who, id, period, n)?.pdf()
    })
    .await
}

#[utoipa::path(
    get,
    path = "/api/v1/statistics/{period}/export.xlsx",
    tag = "taxpayer",
    summary = "抵扣明细文件下载（统计表、发票明细、异常发票；Excel）",
    params(("period" = String, Path, description = "税款所属期 YYYYMM", example = "202611")),
    responses((
        status = 200,
        description = "Excel 文件",
        body = Binary,
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    ))
)]
async fn statistics_xlsx(
    a: Acting<TaxpayerUser>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let period = TaxPeriod::parse(&path.into_inner())?;
    report(a, false, move |app, who, id| {
        portal::exports::statistics_report(app, who, id, period)?.xlsx()
    })
    .await
}

#[utoipa::path(
    get,
    path = "/api/v1/statistics/{period}/print.pdf",
    tag = "taxpayer",
    summary = "打印抵扣统计表及异常发票清单（PDF）",
    params(("period" = String, Path, description = "税款所属期 YYYYMM", example = "202611")),
    responses((status = 200, description = "PDF 文件", body = Binary, content_type = "application/pdf"))
)]
async fn statistics_pdf(
    a: Acting<TaxpayerUser>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let period = TaxPeriod::parse(&path.into_inner())?;
    report(a, true, move |app, who, id| {
        portal::exports::statistics_report(app, who, id, period)?.pdf()
    })
    .await
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    export_selection,
    import_selection,
    batch_xlsx,
    batch_pdf,
    statistics_xlsx,
    statistics_pdf
))]
pub(super) struct Doc;
