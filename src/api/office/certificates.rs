//! 税务数字证书: issue (a key made here, in a PKCS#12 shown once, or the taxpayer's CSR), list
//! and revoke a taxpayer's certificates. Issuing again is renewal.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::router::Routes;
use crate::domain::TaxpayerId;
use crate::error::AppResult;
use crate::http::extract::{Acting, JsonObject, StaffUser};
use crate::service::office::certificates::{self, CertificateInfo, IssuedCertificate};

pub(super) fn routes(r: &mut Routes<'_>) {
    r.post("/office/taxpayers/{id}/certificates", issue_certificate)
        .get("/office/taxpayers/{id}/certificates", list_certificates)
        .post("/office/certificates/{serial}/revoke", revoke_certificate);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct IssueBody {
    /// 纳税人自行生成密钥时的证书请求（PEM 格式 PKCS#10）；不填则由系统生成密钥并返回
    /// 加密的 PKCS#12 文件和密码（仅返回一次）。
    csr: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/office/taxpayers/{id}/certificates",
    tag = "office",
    summary = "签发（换发）税务数字证书",
    description = "需要可修改数据的税务人员角色。`{}`：系统生成密钥，返回证书、PKCS#12（base64）和密码，仅此一次；`{\"csr\": \"PEM\"}`：为证书请求中的公钥签发证书，主题替换为该纳税人的（CSR 签名无效或无法解析时 422 `csr_invalid`）。已有证书时即为换发，旧证书继续有效直至到期或被吊销。",
    params(("id" = String, Path, description = "纳税人识别号", example = "91350100M000100Y43")),
    request_body = IssueBody,
    responses((status = 201, description = "已签发", body = IssuedCertificate))
)]
async fn issue_certificate(
    a: Acting<StaffUser>,
    path: web::Path<String>,
    body: JsonObject<IssueBody>,
) -> AppResult<HttpResponse> {
    let id = TaxpayerId::parse(&path.into_inner())?;
    let csr = body.into_inner().csr;
    let issued = a
        .run(move |app, who, _| certificates::issue(app, who, &id, csr.as_deref()))
        .await?;
    Ok(HttpResponse::Created().json(issued))
}

#[derive(Serialize, ToSchema)]
struct CertificateList {
    items: Vec<CertificateInfo>,
}

#[utoipa::path(
    get,
    path = "/api/v1/office/taxpayers/{id}/certificates",
    tag = "office",
    summary = "纳税人的税务数字证书",
    params(("id" = String, Path, description = "纳税人识别号", example = "91350100M000100Y43")),
    responses((status = 200, description = "证书，新签发的在前", body = CertificateList))
)]
async fn list_certificates(
    a: Acting<StaffUser>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = TaxpayerId::parse(&path.into_inner())?;
    let items = a.run(move |app, _, _| certificates::list(app, &id)).await?;
    Ok(HttpResponse::Ok().json(CertificateList { items }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    /// 吊销原因：`lost`（证书遗失）、`replaced`（已换发新证书）、`closed`（纳税人注销）。
    #[schema(example = "lost")]
    reason: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/office/certificates/{serial}/revoke",
    tag = "office",
    summary = "吊销税务数字证书",
    description = "需要可修改数据的税务人员角色。吊销后用该证书打开的会话立即结束，该证书不能再登录，并列入证书吊销列表（/pki/crl）。已吊销的证书 409 `conflict`。",
    params(("serial" = String, Path, description = "证书序列号（十六进制）", example = "5f1c0a9e3b7d4c2a8e6f0b1d2c3e4f50")),
    request_body = RevokeBody,
    responses((status = 200, description = "吊销后的证书", body = CertificateInfo))
)]
async fn revoke_certificate(
    a: Acting<StaffUser>,
    path: web::Path<String>,
    body: JsonObject<RevokeBody>,
) -> AppResult<HttpResponse> {
    let serial = path.into_inner();
    let reason = body.into_inner().reason;
    let info = a
        .run(move |app, who, _| certificates::revoke(app, who, &serial, &reason))
        .await?;
    Ok(HttpResponse::Ok().json(info))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(issue_certificate, list_certificates, revoke_certificate))]
pub(super) struct Doc;
