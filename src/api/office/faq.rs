//! The 常见问题 knowledge base: read by anyone; added to, changed, removed and reset by
//! 管理员 and 征纳互动坐席.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::router::Routes;
use crate::error::{AppError, AppResult};
use crate::http::blocking;
use crate::http::extract::{Acting, JsonObject, StaffUser};
use crate::service::interact::faq::{self, FaqEntry};
use crate::service::App;

/// Who may change the knowledge base.
const EDITOR: &str = "需要管理员或征纳互动坐席角色。";

pub(super) fn routes(r: &mut Routes<'_>) {
    r.get("/faq", list_faq)
        .post("/office/faq/reset", reset_faq)
        .put("/office/faq/{id}", put_faq)
        .delete("/office/faq/{id}", delete_faq);
}

#[derive(Serialize, ToSchema)]
struct FaqList {
    items: Vec<FaqEntry>,
}

/// The 常见问题 knowledge base as it is now (public, like the 常见问题 page).
#[utoipa::path(
    get,
    path = "/api/v1/faq",
    tag = "help",
    summary = "常见问题知识库（含税务人员的修改）",
    security(()),
    responses((status = 200, description = "常见问题", body = FaqList))
)]
async fn list_faq(app: web::Data<App>) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let items = blocking(move || faq::current(&app.store)).await?;
    Ok(HttpResponse::Ok().json(FaqList { items }))
}

/// A question of the knowledge base; the id is the one of the path. Missing text fields are
/// empty (and refused by the rules with their field).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct FaqBody {
    /// If given, the id of the path.
    id: Option<String>,
    #[serde(default)]
    category: String,
    #[serde(default)]
    question: String,
    #[serde(default)]
    answer: String,
    #[serde(default)]
    aliases: Vec<String>,
}

/// Adds the question `{id}` or replaces it (管理员, 征纳互动坐席); answers the entry as saved.
#[utoipa::path(
    put,
    path = "/api/v1/office/faq/{id}",
    tag = "office",
    summary = "新增或修改常见问题",
    description = EDITOR,
    params(("id" = String, Path, description = "问题编号（kebab-case）", example = "login-cert-missing")),
    request_body = FaqBody,
    responses((status = 200, description = "保存的问题", body = FaqEntry))
)]
async fn put_faq(
    a: Acting<StaffUser>,
    path: web::Path<String>,
    body: JsonObject<FaqBody>,
) -> AppResult<HttpResponse> {
    faq::require_editor(a.user.role)?;
    let id = path.into_inner();
    let b = body.into_inner();
    if b.id.as_deref().is_some_and(|x| x.trim() != id.trim()) {
        return Err(AppError::invalid("id", "请求中的编号与地址中的编号不一致"));
    }
    let entry = faq::validate(FaqEntry {
        id,
        category: b.category,
        question: b.question,
        answer: b.answer,
        aliases: b.aliases,
    })?;
    let saved = entry.clone();
    a.run(move |app, who, _| faq::upsert(app, who, saved))
        .await?;
    Ok(HttpResponse::Ok().json(entry))
}

#[utoipa::path(
    delete,
    path = "/api/v1/office/faq/{id}",
    tag = "office",
    summary = "删除常见问题",
    description = EDITOR,
    params(("id" = String, Path, description = "问题编号", example = "login-cert-missing")),
    responses((status = 204, description = "已删除"))
)]
async fn delete_faq(a: Acting<StaffUser>, path: web::Path<String>) -> AppResult<HttpResponse> {
    faq::require_editor(a.user.role)?;
    let id = path.into_inner();
    a.run(move |app, who, _| faq::delete(app, who, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, ToSchema)]
struct FaqReset {
    /// Always true.
    reset: bool,
    /// Questions in the default knowledge base.
    count: usize,
}

/// Back to the default (seed) knowledge base.
#[utoipa::path(
    post,
    path = "/api/v1/office/faq/reset",
    tag = "office",
    summary = "恢复默认常见问题知识库",
    description = EDITOR,
    responses((status = 200, description = "已恢复", body = FaqReset))
)]
async fn reset_faq(a: Acting<StaffUser>) -> AppResult<HttpResponse> {
    faq::require_editor(a.user.role)?;
    let count = a.run(|app, who, _| faq::reset(app, who)).await?;
    Ok(HttpResponse::Ok().json(FaqReset { reset: true, count }))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(list_faq, put_faq, delete_faq, reset_faq))]
pub(super) struct Doc;
