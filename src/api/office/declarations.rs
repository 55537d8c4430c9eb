//! 申报状态 (one, or imported in bulk) and the provinces' 申报截止日.

use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::super::router::Routes;
use crate::domain::{DeclarationStatus, Region, TaxPeriod, TaxpayerId};
use crate::error::{AppError, AppResult};
use crate::http::extract::{Acting, StaffUser};
use crate::service::office;
use crate::service::office::declarations::DeclarationRow;

pub(super) fn routes(r: &mut Routes<'_>) {
    r.put(
        "/office/declarations/{taxpayer_id}/{period}",
        set_declaration,
    )
    .get(
        "/office/declarations/{taxpayer_id}/{period}",
        get_declaration,
    )
    .post("/office/declarations", import_declarations)
    .put("/office/deadlines/{region}/{period}", set_deadline)
    .get("/office/deadlines/{region}", list_deadlines);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DeclarationBody {
    /// 申报状态：`declared`、`not_declared` 或 `unknown`。
    status: String,
}

fn declaration_path(path: (String, String)) -> AppResult<(TaxpayerId, TaxPeriod)> {
    Ok((TaxpayerId::parse(&path.0)?, TaxPeriod::parse(&path.1)?))
}

#[derive(Serialize, ToSchema)]
struct DeclarationRecorded {
    #[schema(value_type = String, example = "91350100M000100Y43")]
    taxpayer_id: TaxpayerId,
    #[schema(value_type = String, example = "202611")]
    period: TaxPeriod,
    #[schema(value_type = String, example = "declared")]
    status: DeclarationStatus,
    #[schema(value_type = String, example = "202612")]
    current_period: TaxPeriod,
}

#[utoipa::path(
    put,
    path = "/api/v1/office/declarations/{taxpayer_id}/{period}",
    tag = "office",
    summary = "记录申报状态",
    description = super::WRITER,
    params(
        ("taxpayer_id" = String, Path, description = "纳税人识别号", example = "91350100M000100Y43"),
        ("period" = String, Path, description = "税款所属期 YYYYMM", example = "202611")
    ),
    request_body = DeclarationBody,
    responses((status = 200, description = "已记录", body = DeclarationRecorded))
)]
async fn set_declaration(
    a: Acting<StaffUser>,
    path: web::Path<(String, String)>,
    body: web::Json<DeclarationBody>,
) -> AppResult<HttpResponse> {
    a.user.require_writer()?;
    let (id, period) = declaration_path(path.into_inner())?;
    let status = DeclarationStatus::parse_api(&body.status)?;
    let t = a
        .run(move |app, who, _| {
            office::declarations::record_declaration(app, who, &id, period, status)
        })
        .await?;
    Ok(HttpResponse::Ok().json(DeclarationRecorded {
        taxpayer_id: t.id,
        period,
        status,
        current_period: t.current_period,
    }))
}

#[derive(Serialize, ToSchema)]
struct Declaration {
    #[schema(value_type = String, example = "91350100M000100Y43")]
    taxpayer_id: TaxpayerId,
    #[schema(value_type = String, example = "202611")]
    period: TaxPeriod,
    /// null when none is recorded.
    #[schema(value_type = Option<String>, example = "declared")]
    status: Option<DeclarationStatus>,
}

#[utoipa::path(
    get,
    path = "/api/v1/office/declarations/{taxpayer_id}/{period}",
    tag = "office",
    summary = "查询申报状态",
    params(
        ("taxpayer_id" = String, Path, description = "纳税人识别号", example = "91350100M000100Y43"),
        ("period" = String, Path, description = "税款所属期 YYYYMM", example = "202611")
    ),
    responses((status = 200, description = "申报状态", body = Declaration))
)]
async fn get_declaration(
    a: Acting<StaffUser>,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (id, period) = declaration_path(path.into_inner())?;
    let id2 = id.clone();
    let status = a
        .run(move |app, _, _| office::declarations::declaration(app, &id2, period))
        .await?;
    Ok(HttpResponse::Ok().json(Declaration {
        taxpayer_id: id,
        period,
        status,
    }))
}

/// A line of a declaration import.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DeclarationLine {
    taxpayer_id: String,
    period: String,
    status: String,
}

#[derive(Serialize, ToSchema)]
struct Imported {
    imported: usize,
}

/// Declaration import: a JSON array or JSON lines of `{"taxpayer_id", "period", "status"}`;
/// any invalid line fails the whole import (422 with `rejected`), nothing half-applied.
#[utoipa::path(
    post,
    path = "/api/v1/office/declarations",
    tag = "office",
    summary = "批量导入申报状态",
    description = super::WRITER,
    request_body(content(
        (Vec<DeclarationLine> = "application/json"),
        (DeclarationLine = "application/x-ndjson")
    )),
    responses((status = 200, description = "导入的记录数", body = Imported))
)]
async fn import_declarations(a: Acting<StaffUser>, body: web::Bytes) -> AppResult<HttpResponse> {
    a.user.require_writer()?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| AppError::invalid("body", "内容应为 UTF-8 编码的 JSON"))?;
    let lines: Vec<(usize, Result<DeclarationLine, String>)> = if text.trim_start().starts_with('[')
    {
        match serde_json::from_str::<Vec<serde_json::Value>>(text) {
            Ok(v) => v
                .into_iter()
                .enumerate()
                .map(|(i, x)| (i + 1, serde_json::from_value(x).map_err(|e| e.to_string())))
                .collect(),
            Err(e) => vec![(1, Err(e.to_string()))],
        }
    } else {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| (i + 1, serde_json::from_str(l).map_err(|e| e.to_string())))
            .collect()
    };
    let mut rows = Vec::new();
    let mut rejected = Vec::new();
    for (line, r) in lines {
        let parsed = r.map_err(|e| format!("格式不正确：{e}")).and_then(|l| {
            Ok(DeclarationRow {
                taxpayer: TaxpayerId::parse(&l.taxpayer_id).map_err(|e| e.message)?,
                period: TaxPeriod::parse(&l.period).map_err(|e| e.message)?,
                status: DeclarationStatus::parse_api(&l.status).map_err(|e| e.message)?,
            })
        });
        match parsed {
            Ok(row) => rows.push(row),
            Err(reason) => rejected.push(json!({"line": line, "reason": reason})),
        }
    }
    if !rejected.is_empty() {
        return Err(
            AppError::invalid("body", "申报状态数据有误，未导入任何记录")
                .with_extra("rejected", serde_json::Value::Array(rejected)),
        );
    }
    if rows.is_empty() {
        return Err(AppError::invalid("body", "没有可导入的申报状态"));
    }
    let imported = a
        .run(move |app, who, _| office::declarations::import_declarations(app, who, &rows))
        .await?;
    Ok(HttpResponse::Ok().json(Imported { imported }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DeadlineBody {
    /// 申报截止日 YYYY-MM-DD。
    #[schema(example = "2026-12-15")]
    deadline: String,
}

#[derive(Serialize, ToSchema)]
struct DeadlineSet {
    #[schema(example = "350000")]
    region: &'static str,
    #[schema(value_type = String, example = "202611")]
    period: TaxPeriod,
    deadline: NaiveDate,
}

#[utoipa::path(
    put,
    path = "/api/v1/office/deadlines/{region}/{period}",
    tag = "office",
    summary = "设置省级申报截止日",
    description = super::WRITER,
    params(
        ("region" = String, Path, description = "地区代码", example = "350000"),
        ("period" = String, Path, description = "税款所属期 YYYYMM", example = "202611")
    ),
    request_body = DeadlineBody,
    responses((status = 200, description = "已设置", body = DeadlineSet))
)]
async fn set_deadline(
    a: Acting<StaffUser>,
    path: web::Path<(String, String)>,
    body: web::Json<DeadlineBody>,
) -> AppResult<HttpResponse> {
    a.user.require_writer()?;
    let (region, period) = path.into_inner();
    let region = Region::parse(&region)?;
    let period = TaxPeriod::parse(&period)?;
    let deadline = crate::domain::query::parse_date("deadline", "申报截止日", &body.deadline)?;
    a.run(move |app, who, _| {
        office::declarations::set_deadline(app, who, region, period, deadline)
    })
    .await?;
    Ok(HttpResponse::Ok().json(DeadlineSet {
        region: region.code(),
        period,
        deadline,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct YearQuery {
    /// 年份（默认今年）。
    year: Option<i32>,
}

#[derive(Serialize, ToSchema)]
struct Deadline {
    #[schema(value_type = String, example = "202611")]
    period: TaxPeriod,
    deadline: NaiveDate,
    /// Whether the province recorded it (else the national rule).
    recorded: bool,
}

#[derive(Serialize, ToSchema)]
struct Deadlines {
    #[schema(example = "350000")]
    region: &'static str,
    year: i32,
    items: Vec<Deadline>,
}

#[utoipa::path(
    get,
    path = "/api/v1/office/deadlines/{region}",
    tag = "office",
    summary = "查询全年申报截止日",
    params(
        ("region" = String, Path, description = "地区代码", example = "350000"),
        YearQuery
    ),
    responses((status = 200, description = "全年申报截止日", body = Deadlines))
)]
async fn list_deadlines(
    a: Acting<StaffUser>,
    path: web::Path<String>,
    q: web::Query<YearQuery>,
) -> AppResult<HttpResponse> {
    let region = Region::parse(&path.into_inner())?;
    let year = q.year.unwrap_or_else(|| {
        use chrono::Datelike;
        a.app.clock.now().year()
    });
    let list = a
        .run(move |app, _, _| office::declarations::deadlines(app, region, year))
        .await?;
    let items = list
        .into_iter()
        .map(|(period, deadline, recorded)| Deadline {
            period,
            deadline,
            recorded,
        })
        .collect();
    Ok(HttpResponse::Ok().json(Deadlines {
        region: region.code(),
        year,
        items,
    }))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    set_declaration,
    get_declaration,
    import_declarations,
    set_deadline,
    list_deadlines
))]
pub(super) struct Doc;
