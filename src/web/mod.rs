//! Web pages (maud): the layout, small components, one module per page group, and the
//! embedded `assets/`. Pages call the same services as the API; handlers stay thin.
//! May depend on: service, domain, `server::extract`, error. Never on the store directly.

pub mod layout;
mod pages;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use maud::html;

use layout::{page, Page, Viewer};

/// Files of `assets/`, embedded in the binary.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/app.css"),
    ),
    (
        "select.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/select.js"),
    ),
    (
        "zn.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/zn.js"),
    ),
    (
        "chat.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/chat.js"),
    ),
    (
        "chat.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/chat.css"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/console.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../../assets/favicon.svg"),
    ),
];

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/assets/{name}", web::get().to(asset));
    pages::routes(cfg);
}

async fn asset(name: web::Path<String>) -> HttpResponse {
    match ASSETS.iter().find(|(n, _, _)| *n == name.as_str()) {
        Some((_, mime, body)) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, *mime))
            .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
            .body(*body),
        None => error_response(StatusCode::NOT_FOUND, None),
    }
}

pub async fn not_found(req: HttpRequest) -> HttpResponse {
    if crate::server::middleware::is_machine_path(req.path()) {
        return actix_web::ResponseError::error_response(&crate::error::AppError::new(
            crate::error::Code::NotFound,
        ));
    }
    error_response(StatusCode::NOT_FOUND, None)
}

/// An HTML error page for `status`, with the error's message when there is one.
pub fn error_response(status: StatusCode, message: Option<&str>) -> HttpResponse {
    let title = match status.as_u16() {
        400 => "请求有误",
        403 => "无权访问",
        404 => "页面不存在",
        409 => "操作冲突",
        413 => "文件过大",
        415 => "文件类型不正确",
        422 => "输入有误",
        423 => "账户已锁定",
        429 => "操作过于频繁",
        s if s >= 500 => "系统繁忙",
        _ => "出错了",
    };
    let text = message.unwrap_or(match status.as_u16() {
        404 => "您访问的页面不存在，请检查地址是否正确。",
        s if s >= 500 => "系统繁忙，请稍后再试。如问题持续，请联系主管税务机关。",
        _ => "请求未能完成。",
    });
    let body = page(
        Page {
            title,
            viewer: Viewer::Anonymous,
            active: "",
        },
        html! {
            section.card.error-page {
                h1 { (title) }
                p { (text) }
                p { a.button href="/" { "返回首页" } }
            }
        },
    );
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body.into_string())
}
