//! 人员管理: staff accounts (administrators), and every staff member's own password.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::router::Routes;
use crate::domain::Role;
use crate::error::AppResult;
use crate::http::extract::{Acting, JsonObject, StaffUser};
use crate::service::office;
use crate::service::office::staff::{NewStaff, StaffAccount, StaffUpdate};

/// The description of the administrators' routes.
const ADMIN: &str = "仅限管理员。";

pub(super) fn routes(r: &mut Routes<'_>) {
    r.get("/office/staff", list_staff)
        .post("/office/staff", create_staff)
        .put("/office/staff/{username}", update_staff)
        .post("/office/staff/{username}/password", reset_staff_password)
        .put("/office/me/password", change_own_password);
}

/// A staff account as administrators see it.
#[derive(Serialize, ToSchema)]
struct StaffRecord {
    #[schema(example = "operator")]
    username: String,
    /// 姓名
    name: String,
    /// admin、operator、agent 或 auditor。
    #[schema(example = "operator")]
    role: &'static str,
    disabled: bool,
    created_at: String,
    /// 最近一次登录时间（从未登录为 null）。
    last_login_at: Option<String>,
    /// 征纳互动服务地区（省级税务机关6位代码）；为空即服务全部地区。
    #[schema(example = json!(["350000", "440000"]))]
    regions: Vec<&'static str>,
}

impl From<&StaffAccount> for StaffRecord {
    fn from(a: &StaffAccount) -> StaffRecord {
        StaffRecord {
            username: a.staff.username.clone(),
            name: a.staff.display_name.clone(),
            role: a.staff.role.as_str(),
            disabled: a.staff.disabled,
            created_at: a.staff.created_at.to_rfc3339(),
            last_login_at: a.last_login_at.map(|t| t.to_rfc3339()),
            regions: a.regions.iter().map(|r| r.code()).collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
struct StaffList {
    total: usize,
    items: Vec<StaffRecord>,
}

#[utoipa::path(
    get,
    path = "/api/v1/office/staff",
    tag = "office",
    summary = "税务人员账号列表",
    description = ADMIN,
    responses((status = 200, description = "全部账号（按用户名）", body = StaffList))
)]
async fn list_staff(a: Acting<StaffUser>) -> AppResult<HttpResponse> {
    let all = a.run(|app, _, _| office::staff::list(app)).await?;
    Ok(HttpResponse::Ok().json(StaffList {
        total: all.len(),
        items: all.iter().map(StaffRecord::from).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateStaffBody {
    /// 3至32位字母、数字、点、下划线或连字符。
    #[schema(example = "zhangsan")]
    username: String,
    /// 姓名（默认同用户名）。
    #[serde(default)]
    name: String,
    #[schema(example = "operator")]
    role: String,
    /// 至少8位，不能为纯字母或纯数字。
    password: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/office/staff",
    tag = "office",
    summary = "新增税务人员账号",
    description = ADMIN,
    request_body = CreateStaffBody,
    responses((status = 201, description = "已新增", body = StaffRecord))
)]
async fn create_staff(
    a: Acting<StaffUser>,
    body: JsonObject<CreateStaffBody>,
) -> AppResult<HttpResponse> {
    let b = body.into_inner();
    let new = NewStaff {
        username: b.username,
        display_name: b.name,
        role: Role::parse(&b.role)?,
        password: b.password,
    };
    let created = a
        .run(move |app, who, _| {
            let s = office::staff::create(app, who, new)?;
            office::staff::get(app, &s.username)
        })
        .await?;
    Ok(HttpResponse::Created().json(StaffRecord::from(&created)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UpdateStaffBody {
    name: Option<String>,
    #[schema(example = "auditor")]
    role: Option<String>,
    disabled: Option<bool>,
    /// 征纳互动服务地区：省级税务机关6位代码（或名称，如“福建省”）；`[]` 即服务全部地区；
    /// 省略则不变。地区有误时返回 422，不作任何修改。
    #[schema(example = json!(["350000", "440000"]))]
    regions: Option<Vec<String>>,
}

#[utoipa::path(
    put,
    path = "/api/v1/office/staff/{username}",
    tag = "office",
    summary = "修改税务人员账号（姓名、角色、停用、征纳互动服务地区）",
    description = "仅限管理员。停用或改变最后一名启用的管理员的角色时返回 409 last_admin；停用账号即结束其登录。",
    params(("username" = String, Path, description = "用户名", example = "operator")),
    request_body = UpdateStaffBody,
    responses((status = 200, description = "修改后的账号", body = StaffRecord))
)]
async fn update_staff(
    a: Acting<StaffUser>,
    path: web::Path<String>,
    body: JsonObject<UpdateStaffBody>,
) -> AppResult<HttpResponse> {
    let username = path.into_inner();
    let b = body.into_inner();
    let u = StaffUpdate {
        name: b.name,
        role: b.role.as_deref().map(Role::parse).transpose()?,
        disabled: b.disabled,
        regions: b
            .regions
            .as_deref()
            .map(crate::domain::interaction::routing::parse_regions)
            .transpose()?,
    };
    let updated = a
        .run(move |app, who, _| office::staff::update(app, who, &username, u))
        .await?;
    Ok(HttpResponse::Ok().json(StaffRecord::from(&updated)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ResetPasswordBody {
    /// 新密码：至少8位，不能为纯字母或纯数字。
    password: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/office/staff/{username}/password",
    tag = "office",
    summary = "重置税务人员密码",
    description = "仅限管理员。重置后该账号的登录结束，下次登录须先修改密码。",
    params(("username" = String, Path, description = "用户名", example = "operator")),
    request_body = ResetPasswordBody,
    responses((status = 200, description = "已重置", body = StaffRecord))
)]
async fn reset_staff_password(
    a: Acting<StaffUser>,
    path: web::Path<String>,
    body: JsonObject<ResetPasswordBody>,
) -> AppResult<HttpResponse> {
    let username = path.into_inner();
    let password = body.into_inner().password;
    let reset = a
        .run(move |app, who, _| office::staff::reset_password(app, who, &username, &password))
        .await?;
    Ok(HttpResponse::Ok().json(StaffRecord::from(&reset)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OwnPasswordBody {
    /// 原密码
    old: String,
    /// 新密码：至少8位，不能为纯字母或纯数字，且与原密码不同。
    new: String,
}

#[derive(Serialize, ToSchema)]
struct PasswordChanged {
    changed: bool,
}

#[utoipa::path(
    put,
    path = "/api/v1/office/me/password",
    tag = "office",
    summary = "修改本人密码",
    description = "任何税务人员。管理员重置密码后，须先调用本接口修改密码才能使用其他功能。",
    request_body = OwnPasswordBody,
    responses((status = 200, description = "已修改", body = PasswordChanged))
)]
async fn change_own_password(
    a: Acting<StaffUser>,
    body: JsonObject<OwnPasswordBody>,
) -> AppResult<HttpResponse> {
    let b = body.into_inner();
    a.run(move |app, who, user| {
        office::staff::change_own_password(app, who, &user.username, &b.old, &b.new)
    })
    .await?;
    Ok(HttpResponse::Ok().json(PasswordChanged { changed: true }))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_staff,
    create_staff,
    update_staff,
    reset_staff_password,
    change_own_password
))]
pub(super) struct Doc;
