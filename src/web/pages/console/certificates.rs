//! 证书管理: the certificates expiring within 30 days, and a taxpayer's certificates — list,
//! issue (a key made here: the PKCS#12 and its password are shown once, on the answer to the
//! form, since the password is never stored; or for a CSR), revoke with a reason. Plain forms;
//! revoking is Post/Redirect/Get.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::super::{html, see_other};
use crate::domain::{Area, TaxpayerId};
use crate::error::AppResult;
use crate::http::extract::{Acting, StaffUser};
use crate::service::office::certificates::{self, CertificateInfo, IssuedCertificate};
use crate::web::components::url_part;
use crate::web::layout::{notice, page, writes_allowed, Page, Viewer};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/office/certificates", web::get().to(overview))
        .route(
            "/office/taxpayers/{id}/certificates",
            web::get().to(taxpayer_certificates),
        )
        .route("/office/taxpayers/{id}/certificates", web::post().to(issue))
        .route(
            "/office/certificates/{serial}/revoke",
            web::post().to(revoke),
        );
}

fn staff_page(staff: &StaffUser, title: &str, body: Markup) -> Markup {
    page(
        Page {
            title,
            viewer: Viewer::staff(&staff.display_name, staff.role),
            active: "/office/certificates",
        },
        body,
    )
}

fn may_change(staff: &StaffUser) -> bool {
    writes_allowed() && staff.role.may(Area::ChangeOffice)
}

fn state_zh(state: &str) -> &'static str {
    match state {
        "active" => "有效",
        "revoked" => "已吊销",
        "expired" => "已过期",
        _ => "未知",
    }
}

fn reason_zh(reason: &str) -> &'static str {
    match reason {
        "lost" => "证书遗失",
        "replaced" => "已换发新证书",
        "closed" => "纳税人注销",
        _ => "其他",
    }
}

#[derive(Debug, Default, Deserialize)]
struct OverviewQuery {
    taxpayer: Option<String>,
    error: Option<String>,
}

fn certificates_table(list: &[CertificateInfo], change: bool, with_taxpayer: bool) -> Markup {
    html! {
        table.grid {
            thead {
                tr {
                    th { "序列号" }
                    @if with_taxpayer { th { "纳税人识别号" } }
                    th { "有效期" } th { "状态" } th { "签发人" } th { "方式" } th { "SHA-256 指纹" }
                    @if change { th { "吊销" } }
                }
            }
            tbody {
                @for c in list {
                    tr {
                        td.mono { (c.serial) }
                        @if with_taxpayer {
                            td.mono { a href={ "/office/taxpayers/" (c.taxpayer_id) "/certificates" } { (c.taxpayer_id) } }
                        }
                        td { (c.not_before.format("%Y-%m-%d")) " 至 " (c.not_after.format("%Y-%m-%d")) }
                        td {
                            (state_zh(c.state))
                            @if let (Some(at), Some(why)) = (&c.revoked_at, c.revoked_reason) {
                                br; span.hint { (at.format("%Y-%m-%d %H:%M")) "，" (reason_zh(why)) }
                            }
                        }
                        td { (c.issued_by) }
                        td { (if c.how == "p12" { "系统生成密钥" } else { "证书请求" }) }
                        td { code { (&c.fingerprint[..16.min(c.fingerprint.len())]) "…" } }
                        @if change {
                            td {
                                @if c.state == "active" {
                                    form.inline method="post" action={ "/office/certificates/" (c.serial) "/revoke" } {
                                        select name="reason" aria-label={ "吊销原因（" (c.serial) "）" } {
                                            option value="lost" { "证书遗失" }
                                            option value="replaced" { "已换发新证书" }
                                            option value="closed" { "纳税人注销" }
                                        }
                                        button type="submit" { "吊销" }
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

/// The certificates expiring within 30 days, and a way to a taxpayer's certificates.
async fn overview(a: Acting<StaffUser>, q: web::Query<OverviewQuery>) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    if let Some(t) = q
        .taxpayer
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        return Ok(match TaxpayerId::parse(t) {
            Ok(id) => see_other(&format!("/office/taxpayers/{id}/certificates")),
            Err(_) => see_other(&format!(
                "/office/certificates?error={}",
                url_part("纳税人识别号格式不正确")
            )),
        });
    }
    let list = a.run(|app, _, _| certificates::expiring(app)).await?;
    let change = may_change(&a.user);
    let body = html! {
        section.card {
            h1 { "证书管理" }
            @if let Some(e) = &q.error { (notice("error", e)) }
            form.row method="get" action="/office/certificates" {
                label { "纳税人识别号" input name="taxpayer" maxlength="20" required; }
                button type="submit" { "查看证书" }
            }
            p.aside { "纳税人下载根证书的页面：" a href="/pki" { "/pki" } "；证书吊销列表：" a href="/pki/crl" { "/pki/crl" } }
        }
        section.card {
            h2 { "30 天内到期的证书" }
            @if list.is_empty() {
                p { "没有 30 天内到期的有效证书。" }
            } @else {
                p.aside { "请为这些纳税人换发证书（在纳税人的证书页再次签发即可）。" }
                (certificates_table(&list, change, true))
            }
        }
    };
    Ok(html(StatusCode::OK, staff_page(&a.user, "证书管理", body)))
}

#[derive(Debug, Default, Deserialize)]
struct Done {
    done: Option<String>,
    error: Option<String>,
}

async fn taxpayer_certificates(
    a: Acting<StaffUser>,
    path: web::Path<String>,
    q: web::Query<Done>,
) -> AppResult<HttpResponse> {
    let id = TaxpayerId::parse(&path.into_inner())?;
    let shown = id.clone();
    let list = a.run(move |app, _, _| certificates::list(app, &id)).await?;
    let change = may_change(&a.user);
    let body = html! {
        section.card {
            h1 { "税务数字证书 " span.mono { (shown) } }
            @if q.done.as_deref() == Some("revoked") { (notice("success", "证书已吊销，用该证书登录的会话已结束。")) }
            @if let Some(e) = &q.error { (notice("error", e)) }
            @if list.is_empty() {
                p { "该纳税人尚无本系统签发的证书。" }
            } @else {
                (certificates_table(&list, change, false))
            }
            p.aside { a href="/office/certificates" { "返回证书管理" } }
        }
        @if change {
            section.card {
                h2 { @if list.is_empty() { "签发证书" } @else { "换发证书" } }
                p.aside { "再次签发即为换发：旧证书在到期或吊销前仍可使用。证书有效期 " (a.app.settings.tls.client_cert_days) " 天。" }
                form method="post" action={ "/office/taxpayers/" (shown) "/certificates" } {
                    input type="hidden" name="how" value="p12";
                    button type="submit" { "签发（系统生成密钥，PKCS#12）" }
                }
                form.stack method="post" action={ "/office/taxpayers/" (shown) "/certificates" } {
                    input type="hidden" name="how" value="csr";
                    label { "或粘贴纳税人的证书请求（PEM 格式 CSR）" textarea name="csr" rows="6" required {} }
                    button type="submit" { "按证书请求签发" }
                }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        staff_page(&a.user, "税务数字证书", body),
    ))
}

#[derive(Debug, Deserialize)]
struct IssueForm {
    how: String,
    csr: Option<String>,
}

fn issued_view(id: &TaxpayerId, issued: &IssuedCertificate) -> Markup {
    html! {
        section.card {
            h1 { "证书已签发" }
            (notice("success", "证书已签发。以下密码和证书文件只显示这一次，请立即交给纳税人，离开本页后无法再次查看。"))
            dl.facts {
                dt { "纳税人识别号" } dd.mono { (id) }
                dt { "证书序列号" } dd.mono #serial { (issued.serial) }
                @if let Some(pw) = &issued.password {
                    dt { "PKCS#12 密码" } dd.mono #password { (pw) }
                }
            }
            @if let Some(p12) = &issued.p12 {
                p {
                    a href={ "data:application/x-pkcs12;base64," (p12) } download={ (id) ".p12" } { "下载证书文件（" (id) ".p12）" }
                }
                p.hint { "纳税人在浏览器或操作系统中导入该 .p12 文件（输入上面的密码），并安装根证书（" a href="/pki" { "下载根证书" } "）。" }
            }
            h2 { "证书（PEM）" }
            pre.mono { (issued.certificate) }
            p.aside { a href={ "/office/taxpayers/" (id) "/certificates" } { "返回该纳税人的证书" } }
        }
    }
}

/// Issues a certificate. The answer shows the PKCS#12 password once (it is never stored), so
/// it is a page rather than a redirect; refusals go back to the list with the message.
async fn issue(
    a: Acting<StaffUser>,
    path: web::Path<String>,
    form: web::Form<IssueForm>,
) -> AppResult<HttpResponse> {
    let raw = path.into_inner();
    let back = format!("/office/taxpayers/{}/certificates", url_part(&raw));
    let id = match TaxpayerId::parse(&raw) {
        Ok(id) => id,
        Err(e) => {
            return Ok(see_other(&format!(
                "{back}?error={}",
                url_part(&crate::error::AppError::from(e).message)
            )))
        }
    };
    let form = form.into_inner();
    let csr = match form.how.as_str() {
        "csr" => Some(form.csr.unwrap_or_default()),
        _ => None,
    };
    let shown = id.clone();
    match a
        .run(move |app, who, _| certificates::issue(app, who, &id, csr.as_deref()))
        .await
    {
        Ok(issued) => Ok(html(
            StatusCode::OK,
            staff_page(&a.user, "证书已签发", issued_view(&shown, &issued)),
        )
        .customize_no_store()),
        Err(e) => Ok(see_other(&format!("{back}?error={}", url_part(&e.message)))),
    }
}

trait NoStore {
    fn customize_no_store(self) -> HttpResponse;
}

impl NoStore for HttpResponse {
    /// The page with the password must not be kept by the browser's cache.
    fn customize_no_store(mut self) -> HttpResponse {
        self.headers_mut().insert(
            actix_web::http::header::CACHE_CONTROL,
            actix_web::http::header::HeaderValue::from_static("no-store"),
        );
        self
    }
}

#[derive(Debug, Deserialize)]
struct RevokeForm {
    reason: String,
}

async fn revoke(
    a: Acting<StaffUser>,
    path: web::Path<String>,
    form: web::Form<RevokeForm>,
) -> AppResult<HttpResponse> {
    let serial = path.into_inner();
    let reason = form.into_inner().reason;
    let s = serial.clone();
    match a
        .run(move |app, who, _| certificates::revoke(app, who, &s, &reason))
        .await
    {
        Ok(c) => Ok(see_other(&format!(
            "/office/taxpayers/{}/certificates?done=revoked",
            c.taxpayer_id
        ))),
        Err(e) => Ok(see_other(&format!(
            "/office/certificates?error={}",
            url_part(&e.message)
        ))),
    }
}
