//! Error pages: every 4xx/5xx answer of a page route is an HTML page (pages never show a raw
//! JSON or text error); a page that needs a login redirects to the right login page.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpRequest, HttpResponse};
use maud::html;

use super::layout::{page, Page, Viewer};
use crate::error::{AppError, Code};
use crate::http::is_machine_path;

/// Renders 4xx/5xx responses of page routes as HTML pages; a page that needs a login
/// redirects to the right login page instead.
pub async fn html_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let path = req.path().to_string();
    let res = next.call(req).await?;
    let status = res.status();
    if is_machine_path(&path) || !(status.is_client_error() || status.is_server_error()) {
        return Ok(res.map_into_left_body());
    }
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        return Ok(res.map_into_left_body());
    }
    let error = res
        .response()
        .error()
        .and_then(|e| e.as_error::<AppError>());
    let message = error.map(|e| e.message.to_string());
    // A gate that sends the page elsewhere (the first-login confirmation).
    let location = error
        .and_then(|e| e.extra.get(crate::http::access::REDIRECT))
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let (req, _) = res.into_parts();
    let response = if let Some(to) = location {
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, to))
            .finish()
    } else if status == StatusCode::UNAUTHORIZED {
        let login = if path.starts_with("/office") {
            "/office/login"
        } else {
            "/login"
        };
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, login))
            .finish()
    } else {
        error_response(status, message.as_deref())
    };
    Ok(ServiceResponse::new(req, response).map_into_right_body())
}

pub async fn not_found(req: HttpRequest) -> HttpResponse {
    if is_machine_path(req.path()) {
        return actix_web::ResponseError::error_response(&AppError::new(Code::NotFound));
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
