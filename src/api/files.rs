//! File endpoints of the taxpayer: 批量勾选 download and upload (S-T5), and the spreadsheet
//! and PDF of a confirmation batch (S-T6) and of 抵扣统计 (S-T9).

use actix_web::{web, HttpRequest, HttpResponse};

use super::taxpayer::batch_path;
use crate::domain::{TaxPeriod, TaxpayerId};
use crate::error::AppResult;
use crate::http::blocking;
use crate::http::extract::{self, TaxpayerUser};
use crate::http::files::{read_upload, send, XLSX};
use crate::service::portal;
use crate::service::portal::bulk::ExportQuery;
use crate::service::App;
use crate::service::File;
use crate::service::Who;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/selections/export", web::get().to(export_selection))
        .route("/selections/import", web::post().to(import_selection))
        .route(
            "/confirmations/{period}/{batch}/export.xlsx",
            web::get().to(batch_xlsx),
        )
        .route(
            "/confirmations/{period}/{batch}/print.pdf",
            web::get().to(batch_pdf),
        )
        .route(
            "/statistics/{period}/export.xlsx",
            web::get().to(statistics_xlsx),
        )
        .route(
            "/statistics/{period}/print.pdf",
            web::get().to(statistics_pdf),
        );
}

async fn export_selection(
    req: HttpRequest,
    app: web::Data<App>,
    user: TaxpayerUser,
    q: web::Query<ExportQuery>,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let who = extract::who(&req, &app, user.actor());
    let q = q.into_inner();
    let d = blocking(move || portal::bulk::export(&app, &who, &user.id, &q)).await?;
    Ok(send(
        File {
            name: d.file_name,
            bytes: d.zip,
        },
        "application/zip",
        false,
    ))
}

async fn import_selection(
    req: HttpRequest,
    app: web::Data<App>,
    user: TaxpayerUser,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let (name, bytes) = read_upload(&req, payload, app.settings.bulk.max_upload_bytes).await?;
    let app = app.into_inner();
    let who = extract::who(&req, &app, user.actor());
    let view = blocking(move || portal::bulk::upload(&app, &who, &user.id, &name, &bytes)).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// A report file (`pdf`: the print, else the spreadsheet) made by `make` off the executor.
async fn report(
    req: HttpRequest,
    app: web::Data<App>,
    user: TaxpayerUser,
    pdf: bool,
    make: impl FnOnce(&App, &Who, &TaxpayerId) -> AppResult<File> + Send + 'static,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let who = extract::who(&req, &app, user.actor());
    let file = blocking(move || make(&app, &who, &user.id)).await?;
    Ok(if pdf {
        send(file, "application/pdf", true)
    } else {
        send(file, XLSX, false)
    })
}

async fn batch_xlsx(
    req: HttpRequest,
    app: web::Data<App>,
    user: TaxpayerUser,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (period, n) = batch_path(path.into_inner())?;
    report(req, app, user, false, move |app, who, id| {
        portal::exports::batch_report(app, who, id, period, n)?.xlsx()
    })
    .await
}

async fn batch_pdf(
    req: HttpRequest,
    app: web::Data<App>,
    user: TaxpayerUser,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (period, n) = batch_path(path.into_inner())?;
    report(req, app, user, true, move |app, who, id| {
        portal::exports::batch_report(app, who, id, period, n)?.pdf()
    })
    .await
}

async fn statistics_xlsx(
    req: HttpRequest,
    app: web::Data<App>,
    user: TaxpayerUser,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let period = TaxPeriod::parse(&path.into_inner())?;
    report(req, app, user, false, move |app, who, id| {
        portal::exports::statistics_report(app, who, id, period)?.xlsx()
    })
    .await
}

async fn statistics_pdf(
    req: HttpRequest,
    app: web::Data<App>,
    user: TaxpayerUser,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let period = TaxPeriod::parse(&path.into_inner())?;
    report(req, app, user, true, move |app, who, id| {
        portal::exports::statistics_report(app, who, id, period)?.pdf()
    })
    .await
}
