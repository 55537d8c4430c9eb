//! Invoices: the taxpayer's 发票勾选 query, 单票查询, 未到期发票查询; the office's import.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::domain::query::RawConditions;
use crate::domain::InvoiceKey;
use crate::error::{AppError, AppResult, Code};
use crate::http::blocking;
use crate::http::extract::{self, StaffUser, TaxpayerUser};
use crate::service::office::invoices::FileFormat;
use crate::service::office::invoices::OfficeSearchRaw;
use crate::service::portal::query::NotYetDueRaw;
use crate::service::{self, App};
use crate::service::{office, portal};

/// Largest accepted import body.
const IMPORT_LIMIT: usize = 512 * 1024 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/invoices", web::get().to(query))
        .route("/invoices/not-yet-due", web::get().to(not_yet_due))
        .route("/invoices/{code}/{number}", web::get().to(single))
        .service(
            web::resource("/office/invoices")
                .app_data(web::PayloadConfig::new(IMPORT_LIMIT))
                .route(web::post().to(import))
                .route(web::get().to(office_search)),
        );
}

async fn query(
    req: HttpRequest,
    app: web::Data<App>,
    user: TaxpayerUser,
    q: web::Query<RawConditions>,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let who = extract::who(&req, &app, user.actor());
    let page = blocking(move || portal::selection::query(&app, &who, &user.id, &q)).await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn not_yet_due(
    req: HttpRequest,
    app: web::Data<App>,
    user: TaxpayerUser,
    q: web::Query<NotYetDueRaw>,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let who = extract::who(&req, &app, user.actor());
    let page = blocking(move || portal::query::not_yet_due(&app, &who, &user.id, &q)).await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn single(
    req: HttpRequest,
    app: web::Data<App>,
    user: TaxpayerUser,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (code, number) = path.into_inner();
    let key = InvoiceKey::parse(&code, &number)?;
    let app = app.into_inner();
    let who = extract::who(&req, &app, user.actor());
    let view = blocking(move || portal::query::single(&app, &who, &user.id, &key)).await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn import(
    req: HttpRequest,
    app: web::Data<App>,
    staff: StaffUser,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    staff.require_writer()?;
    let ct = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = FileFormat::from_content_type(ct).ok_or_else(|| {
        AppError::new(Code::UnsupportedType)
            .with_message("请以 application/x-ndjson 或 text/csv 格式提交发票数据")
    })?;
    let app = app.into_inner();
    let who = extract::who(&req, &app, staff.actor());
    let report =
        blocking(move || service::office::invoices::import_file(&app, &who, &body, format)).await?;
    Ok(HttpResponse::Ok().json(report))
}

async fn office_search(
    app: web::Data<App>,
    _staff: StaffUser,
    q: web::Query<OfficeSearchRaw>,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let page = blocking(move || office::invoices::office_search(&app, &q)).await?;
    Ok(HttpResponse::Ok().json(page))
}
