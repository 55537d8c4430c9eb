//! Help (S-T12): 流程指引 (the whole process, drawn), 常见问题, 检测环境 (browser, TLS, client
//! certificate), 操作手册 (readable and downloadable), and the dismissible what's-new note.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup, PreEscaped};
use serde::Deserialize;

use super::{html, see_other};
use crate::error::{AppError, AppResult};
use crate::http::blocking;
use crate::http::extract;
use crate::service::interact::faq::{self, FaqEntry};
use crate::service::App;
use crate::web::layout::{notice, page, writes_allowed, Page, Viewer};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/help", web::get().to(guide))
        .route("/help/faq", web::get().to(faq))
        .route("/help/check", web::get().to(check))
        .route("/help/manual", web::get().to(manual))
        .route("/help/manual/{name}", web::get().to(manual_shot))
        .route("/help/whats-new/dismiss", web::post().to(dismiss));
}

/// The cookie that remembers 下次不再提醒我.
pub const WHATS_NEW_COOKIE: &str = "fapiao_whats_new_seen";

/// The what's-new note of this version (shown on 首页 until dismissed).
pub fn whats_new(req: &HttpRequest) -> Option<Markup> {
    let seen = req
        .cookie(WHATS_NEW_COOKIE)
        .is_some_and(|c| c.value() == env!("CARGO_PKG_VERSION"));
    (!seen).then(|| {
        html! {
            aside.notice.info.whats-new role="note" {
                strong { "新功能提示：" }
                "平台支持税务数字证书（客户端证书）登录、确认勾选时选择申报情况、回退税款所属期，以及抵扣统计的异常发票清单和近12个月税额图。"
                @if writes_allowed() {
                    form method="post" action="/help/whats-new/dismiss" {
                        button.secondary type="submit" { "下次不再提醒我" }
                    }
                }
            }
        }
    })
}

/// The help pages are public; a logged-in taxpayer sees them in the portal's layout (menu,
/// enterprise name, the 征纳互动 button).
async fn viewer_of(req: &HttpRequest) -> Viewer {
    let Ok(session) = crate::http::extract::session_from(req) else {
        return Viewer::Anonymous;
    };
    let crate::service::Subject::Taxpayer { id } = session.subject else {
        return Viewer::Anonymous;
    };
    let Some(app) = req
        .app_data::<web::Data<App>>()
        .map(|a| a.clone().into_inner())
    else {
        return Viewer::Anonymous;
    };
    match blocking(move || crate::service::office::taxpayers::get(&app, &id)).await {
        Ok(t) => Viewer::Taxpayer { name: t.name },
        Err(_) => Viewer::Anonymous,
    }
}

fn help_page(viewer: Viewer, title: &str, active: &str, body: Markup) -> Markup {
    page(
        Page {
            title,
            viewer,
            active: "",
        },
        html! {
            nav.helpnav aria-label="帮助" {
                @for (label, href) in [("流程指引", "/help"), ("常见问题", "/help/faq"), ("检测环境", "/help/check"), ("操作手册", "/help/manual")] {
                    a href=(href) aria-current=[(href == active).then_some("page")] { (label) }
                }
                a href="/" { "返回首页" }
            }
            (body)
        },
    )
}

const STEPS: &[(&str, &str)] = &[
    ("登录", "插入税务数字证书，输入平台密码（如已设置）"),
    (
        "发票勾选",
        "按开票日期等条件查询，逐票或全选勾选后按页“保存”",
    ),
    (
        "批量勾选",
        "发票较多时下载清单，在“是否勾选”列填“是/否”后上传",
    ),
    (
        "确认勾选",
        "核对已勾选发票，点击“确定”生成待提交批次，再“提交”",
    ),
    (
        "征期选择申报情况",
        "征期内提交时选择未完成申报、已完成申报或不确定",
    ),
    ("抵扣统计", "查看报表更新时间与统计表，据此进行增值税申报"),
];

/// 流程指引: the process as an SVG flow (no images, no scripts).
async fn guide(req: HttpRequest) -> HttpResponse {
    let (w, box_w, gap) = (1080, 160, 24);
    let mut svg = format!(
        r##"<svg class="flow" viewBox="0 0 {w} 170" role="img" aria-label="业务流程"><defs><marker id="arr" markerWidth="10" markerHeight="10" refX="8" refY="3" orient="auto"><path d="M0,0 L0,6 L9,3 z" fill="#1f5fa8"/></marker></defs>"##
    );
    for (i, (title, _)) in STEPS.iter().enumerate() {
        let x = 10 + i * (box_w + gap);
        svg.push_str(&format!(
            r##"<rect x="{x}" y="40" width="{box_w}" height="56" rx="8" fill="#e8f0fa" stroke="#1f5fa8"/><text x="{tx}" y="74" font-size="15" text-anchor="middle" fill="#164a85">{n}. {title}</text>"##,
            tx = x + box_w / 2,
            n = i + 1
        ));
        if i + 1 < STEPS.len() {
            svg.push_str(&format!(
                r##"<line x1="{x1}" y1="68" x2="{x2}" y2="68" stroke="#1f5fa8" stroke-width="2" marker-end="url(#arr)"/>"##,
                x1 = x + box_w,
                x2 = x + box_w + gap - 2
            ));
        }
    }
    svg.push_str(r##"<text x="540" y="140" font-size="13" text-anchor="middle" fill="#5f6b78">当期申报完成（或申报截止日结束）后，税款所属期自动变更为下期，未确认的勾选回退为未勾选</text></svg>"##);
    let body = html! {
        section.card {
            h1 { "流程指引" }
            (PreEscaped(svg))
            ol.steps {
                @for (title, text) in STEPS { li { strong { (title) } "：" (text) } }
            }
            p.hint { "误选择“已完成申报”导致税款所属期跳转的，在征期内、未在新属期确认、上期申报结果为“未申报”时，可在首页点击“回退税款所属期”。" }
        }
    };
    html(
        StatusCode::OK,
        help_page(viewer_of(&req).await, "流程指引", "/help", body),
    )
}

/// 常见问题 (the same knowledge base the 征纳互动 bot answers from, as staff maintain it),
/// grouped by category; each question can be linked as `/help/faq#<id>`.
async fn faq(req: HttpRequest, app: web::Data<App>) -> HttpResponse {
    let app = app.into_inner();
    let viewer = viewer_of(&req).await;
    match blocking(move || faq::current(&app.store)).await {
        Ok(entries) => html(
            StatusCode::OK,
            help_page(viewer, "常见问题", "/help/faq", faq_body(&entries)),
        ),
        Err(e) => {
            tracing::error!(error = %e, "the FAQ knowledge base could not be loaded");
            let body = html! {
                section.card {
                    h1 { "常见问题" }
                    (notice("error", "常见问题知识库加载失败，请稍后再试或联系主管税务机关。"))
                }
            };
            html(
                StatusCode::INTERNAL_SERVER_ERROR,
                help_page(viewer, "常见问题", "/help/faq", body),
            )
        }
    }
}

fn faq_body(entries: &[FaqEntry]) -> Markup {
    html! {
        section.card {
            h1 { "常见问题" }
            @for category in faq::CATEGORIES {
                @let group: Vec<&FaqEntry> = entries.iter().filter(|e| e.category == *category).collect();
                @if !group.is_empty() {
                    h2 { (category) }
                    @for e in group {
                        details.faq id=(e.id) {
                            summary { (e.question) }
                            // Staff may write an answer in several paragraphs.
                            @for para in e.answer.lines().map(str::trim).filter(|l| !l.is_empty()) {
                                p { (para) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// 检测环境: what the server sees of this browser and connection.
async fn check(req: HttpRequest, app: web::Data<App>) -> HttpResponse {
    let info = req.connection_info().clone();
    let https = info.scheme() == "https";
    let ua = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("（未知）")
        .to_string();
    let cert = match extract::certificate_taxpayer(&req, &app) {
        Ok(Some(id)) => (true, format!("已检测到税务数字证书，纳税人识别号 {id}")),
        Ok(None) => (
            false,
            "未检测到客户端证书：请插入金税盘或税控盘，并在浏览器提示时选择证书".to_string(),
        ),
        Err(e) => (false, format!("检测到证书，但不能使用：{}", e.message)),
    };
    let modern = ["Chrome/", "Firefox/", "Safari/", "Edg/"]
        .iter()
        .any(|m| ua.contains(m));
    let body = html! {
        section.card {
            h1 { "检测环境" }
            table.grid.check {
                tbody {
                    tr { th { "浏览器" } td { (ua) } td class={(if modern { "ok" } else { "bad" })} { (if modern { "通过" } else { "建议使用最新版 Chrome、Edge、Firefox 或 Safari" }) } }
                    tr { th { "安全连接（TLS）" } td { (if https { "HTTPS 加密连接" } else { "未加密的 HTTP 连接" }) } td class={(if https { "ok" } else { "bad" })} { (if https { "通过" } else { "请使用 https:// 地址访问" }) } }
                    tr { th { "税务数字证书" } td { (cert.1) } td class={(if cert.0 { "ok" } else { "bad" })} { (if cert.0 { "通过" } else { "未通过" }) } }
                    tr { th { "脚本" } td colspan="2" {
                        noscript { "浏览器已禁用脚本：查询、勾选和保存仍可使用，全选和未保存提示不可用。" }
                        span.js-ok hidden { "已启用" }
                    } }
                }
            }
        }
    };
    html(
        StatusCode::OK,
        help_page(viewer_of(&req).await, "检测环境", "/help/check", body),
    )
}

fn manual_body() -> Markup {
    use crate::service::portal::manual::SECTIONS;
    html! {
        h1 { "增值税发票选择确认平台 操作手册" }
        nav.manual-toc aria-label="目录" {
            ol { @for (n, s) in SECTIONS.iter().enumerate() { li { a href={ "#m" (n + 1) } { (s.title) } } } }
        }
        @for (n, s) in SECTIONS.iter().enumerate() {
            section.manual-section #{ "m" (n + 1) } {
                h2 { (n + 1) "、" (s.title) }
                p { (s.summary) }
                ol.steps { @for step in s.steps { li { (step) } } }
                @for (shot, caption) in s.shots {
                    @if crate::service::portal::manual::shot(shot).is_some() {
                        figure {
                            img src={ "/help/manual/" (shot) ".png" } alt=(caption) loading="lazy";
                            figcaption { (caption) }
                        }
                    }
                }
            }
        }
    }
}

/// 操作手册: read here, or `?download=1` for the PDF.
async fn manual(
    req: HttpRequest,
    q: web::Query<std::collections::HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    if q.get("download").is_some_and(|v| v == "1") {
        let file =
            blocking(|| crate::service::portal::manual::pdf(env!("CARGO_PKG_VERSION"))).await?;
        return Ok(HttpResponse::Ok()
            .content_type("application/pdf")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", file.name),
            ))
            .body(file.bytes));
    }
    let body = html! {
        section.card.manual {
            p.actions { a.button href="/help/manual?download=1" download { "下载操作手册（PDF）" } }
            (manual_body())
        }
    };
    Ok(html(
        StatusCode::OK,
        help_page(viewer_of(&req).await, "操作手册", "/help/manual", body),
    ))
}

/// A screenshot of the manual.
async fn manual_shot(name: web::Path<String>) -> HttpResponse {
    let name = name.into_inner();
    match name
        .strip_suffix(".png")
        .and_then(crate::service::portal::manual::shot)
    {
        Some(png) => HttpResponse::Ok()
            .content_type("image/png")
            .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
            .body(png),
        None => crate::web::errors::error_response(StatusCode::NOT_FOUND, None),
    }
}

#[derive(Debug, Default, Deserialize)]
struct DismissForm {
    /// The login page's note: where to go back to (`/login`), and whether 下次不再提醒我 was
    /// ticked. The home page's note has only its button, which means 下次不再提醒我.
    back: Option<String>,
    never: Option<String>,
}

/// 下次不再提醒我: remembers the dismissal for this version in a cookie (确认 without the tick
/// only closes the note).
async fn dismiss(
    app: web::Data<App>,
    form: Option<web::Form<DismissForm>>,
) -> AppResult<HttpResponse> {
    let form = form.map(web::Form::into_inner).unwrap_or_default();
    let from_login = form.back.as_deref() == Some("/login");
    if from_login && form.never.is_none() {
        return Ok(see_other("/login?note=closed"));
    }
    let mut res = see_other(if from_login { "/login" } else { "/" });
    let c = Cookie::build(WHATS_NEW_COOKIE, env!("CARGO_PKG_VERSION"))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(!app.settings.http)
        .permanent()
        .finish();
    res.add_cookie(&c).map_err(AppError::internal)?;
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faq_page_groups_the_seed_by_category_with_linkable_entries() {
        let entries = faq::seed().unwrap();
        let page = faq_body(&entries).into_string();
        let mut last = 0;
        for c in faq::CATEGORIES {
            let at = page.find(&format!("<h2>{c}</h2>")).unwrap();
            assert!(at >= last, "{c} out of order");
            last = at;
        }
        for e in &entries {
            assert!(
                page.contains(&format!("<details class=\"faq\" id=\"{}\">", e.id)),
                "{} not linkable",
                e.id
            );
        }
        assert_eq!(page.matches("<details").count(), entries.len());
    }
}
