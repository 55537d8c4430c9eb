//! 下载根证书: the CA that issues taxpayers' certificates, as `.crt` (DER) and `.pem`, with
//! short install steps per system and browser. Public.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::html;

use super::html;
use crate::error::AppResult;
use crate::web::layout::{page, Page, Viewer};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/pki", web::get().to(ca_page));
}

async fn ca_page() -> AppResult<HttpResponse> {
    let body = html! {
        section.card {
            h1 { "下载根证书" }
            p { "本平台的税务数字证书由主管税务机关通过本平台签发。请先在电脑上安装签发机构的根证书，再导入税务机关交给您的证书文件（.p12）及其密码。" }
            ul {
                li { a href="/pki/ca.crt" download="fapiao-ca.crt" { "下载根证书（.crt，Windows 和 macOS 推荐）" } }
                li { a href="/pki/ca.pem" download="fapiao-ca.pem" { "下载根证书（.pem，Linux 和 Firefox）" } }
                li { a href="/pki/crl" { "证书吊销列表（CRL）" } }
            }
            h2 { "Windows（Edge、Chrome）" }
            ol {
                li { "双击下载的 fapiao-ca.crt，点击“安装证书”。" }
                li { "选择“当前用户”，再选择“将所有的证书都放入下列存储”，浏览并选择“受信任的根证书颁发机构”，完成导入。" }
                li { "双击税务机关交给您的 .p12 文件，按向导输入密码，导入到“个人”证书存储。" }
                li { "重新打开浏览器访问本平台，在弹出的窗口中选择您的证书。" }
            }
            h2 { "macOS（Safari、Chrome）" }
            ol {
                li { "双击 fapiao-ca.crt，在“钥匙串访问”中将其添加到“登录”钥匙串。" }
                li { "在“钥匙串访问”中双击该证书，展开“信任”，将“使用此证书时”设为“始终信任”。" }
                li { "双击 .p12 文件，输入密码，导入到“登录”钥匙串。" }
            }
            h2 { "Linux 及 Firefox（所有系统）" }
            ol {
                li { "Firefox：设置 → 隐私与安全 → 证书 → 查看证书 → “证书颁发机构”页导入 fapiao-ca.pem，勾选“信任由此证书颁发机构来标识网站”；在“您的证书”页导入 .p12 文件并输入密码。" }
                li { "Chrome/Chromium（Linux）：设置 → 隐私和安全 → 安全 → 管理证书，在“授权机构”中导入 fapiao-ca.pem，在“您的证书”中导入 .p12 文件。" }
            }
            p.hint { "证书遗失或泄露时请立即联系主管税务机关吊销；证书到期前请到主管税务机关换发。" }
            p.aside { a href="/login" { "返回登录" } }
        }
    };
    Ok(html(
        StatusCode::OK,
        page(
            Page {
                title: "下载根证书",
                viewer: Viewer::Anonymous,
                active: "",
            },
            body,
        ),
    ))
}
