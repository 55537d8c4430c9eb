//! `GET /api/openapi.json`: the OpenAPI 3.1 description of the JSON API, generated from the
//! handlers' `#[utoipa::path]` annotations and the request and answer types. Each API module
//! lists its handlers in a `Doc`; [`document`] joins them and adds what every operation shares
//! (the bearer session, the error answers). A test compares the document with the route
//! table (`api::route_table`) both ways and calls every operation.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ArrayBuilder, ContentBuilder, Ref, RefOr, ResponseBuilder, Schema, ServerBuilder,
};
use utoipa::OpenApi;

use super::schema::{BulkRejectionShape, ErrorBody, FilingPeriodShape};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "fapiao — 增值税发票选择确认平台 API",
        description = "金额以分为单位的整数；日期 YYYY-MM-DD；税款所属期 YYYYMM；时间 RFC 3339（+08:00）。列表以 page / per_page 分页。错误为 {\"error\": {\"code\", \"message\", \"field\"?}}。"
    ),
    paths(serve),
    components(schemas(ErrorBody, FilingPeriodShape, BulkRejectionShape)),
    security(("bearer" = [])),
    tags(
        (name = "health", description = "健康检查"),
        (name = "sessions", description = "登录与退出"),
        (name = "taxpayer", description = "纳税人：发票勾选、确认勾选、抵扣统计"),
        (name = "office", description = "税务人员：纳税人档案、发票、申报、培训时钟、审计日志、常见问题"),
        (name = "help", description = "常见问题"),
        (name = "interaction", description = "征纳互动"),
        (name = "pki", description = "根证书与证书吊销列表"),
        (name = "meta", description = "本文档")
    )
)]
struct ApiDoc;

/// The OpenAPI document, built once.
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(build)
}

fn build() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    for part in [
        super::Doc::openapi(),
        super::session::Doc::openapi(),
        super::taxpayer::Doc::openapi(),
        super::transfers::Doc::openapi(),
        super::confirmations::Doc::openapi(),
        super::files::Doc::openapi(),
        super::invoices::Doc::openapi(),
        super::interact::Doc::openapi(),
        super::office::doc(),
        super::pki::Doc::openapi(),
    ] {
        doc.merge(part);
    }
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc.servers = Some(vec![ServerBuilder::new().url("/").build()]);
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "POST /api/v1/session 或 /api/v1/office/session 返回的 token（页面使用会话 Cookie）",
                ))
                .build(),
        ),
    );
    components.responses.insert(
        "Error".into(),
        RefOr::T(
            ResponseBuilder::new()
                .description("错误：code 为稳定的错误代码，message 为中文说明，field 为出错的字段")
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Error")))
                        .build(),
                )
                .build(),
        ),
    );
    shapes_of_domain_records(&mut doc);
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            error_answers(op);
        }
    }
    doc
}

/// Every operation may answer an error (4xx: the request; 5xx: the server), in one shape.
fn error_answers(op: &mut Operation) {
    for range in ["4XX", "5XX"] {
        op.responses
            .responses
            .entry(range.to_string())
            .or_insert_with(|| RefOr::Ref(Ref::new("#/components/responses/Error")));
    }
}

/// Service views that embed a domain record say only "object" (the service layer names no
/// documentation type): point those members at the record's shape.
fn shapes_of_domain_records(doc: &mut utoipa::openapi::OpenApi) {
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    let mut set = |schema: &str, member: &str, to: RefOr<Schema>| {
        if let Some(RefOr::T(Schema::Object(o))) = components.schemas.get_mut(schema) {
            if let Some(p) = o.properties.get_mut(member) {
                *p = to;
            }
        }
    };
    set(
        "Profile",
        "filing_period",
        RefOr::Ref(Ref::from_schema_name("FilingPeriod")),
    );
    set(
        "UploadView",
        "rejected",
        RefOr::T(Schema::Array(
            ArrayBuilder::new()
                .items(Ref::from_schema_name("BulkRejection"))
                .build(),
        )),
    );
}

#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "meta",
    summary = "本 API 的 OpenAPI 3.1 描述",
    security(()),
    responses((status = 200, description = "OpenAPI 文档", body = Object))
)]
pub async fn serve() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

#[cfg(test)]
mod tests {

    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;

    fn doc() -> Value {
        serde_json::to_value(document()).unwrap()
    }

    /// What is served is what is documented, both ways (no server needed).
    #[test]
    fn every_route_is_documented_and_every_operation_is_served() {
        let served: BTreeSet<(String, String)> = crate::api::route_table().into_iter().collect();
        let doc = doc();
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                documented.insert((method.clone(), path.clone()));
            }
        }
        let undocumented: Vec<_> = served.difference(&documented).collect();
        assert!(
            undocumented.is_empty(),
            "served, not documented: {undocumented:?}"
        );
        let unserved: Vec<_> = documented.difference(&served).collect();
        assert!(unserved.is_empty(), "documented, not served: {unserved:?}");
    }

    #[test]
    fn the_embedded_domain_records_point_at_their_shapes() {
        let doc = doc();
        let s = &doc["components"]["schemas"];
        assert_eq!(
            s["Profile"]["properties"]["filing_period"]["$ref"],
            "#/components/schemas/FilingPeriod"
        );
        assert_eq!(
            s["UploadView"]["properties"]["rejected"]["items"]["$ref"],
            "#/components/schemas/BulkRejection"
        );
    }

    #[test]
    fn operation_ids_are_unique() {
        let doc = doc();
        let mut seen = BTreeSet::new();
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                let id = op["operationId"].as_str().unwrap().to_string();
                assert!(seen.insert(id.clone()), "operationId {id} twice");
            }
        }
    }
}
