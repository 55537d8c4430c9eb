//! The served OpenAPI document: a valid OpenAPI 3.1 document (read strictly by `oas3`) whose
//! references all resolve, whose bodies and JSON answers all have schemas; the same set of
//! operations as the server's route table; every operation answered by the running server;
//! and real answers that match their documented schemas member for member.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

pub(crate) async fn served_document(app: &TestApp) -> Value {
    let r = app.get("/api/openapi.json", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// (method, path, operation) of every operation of the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                ["get", "put", "post", "delete", "patch"].contains(&method.as_str()),
                "{path}: {method} is not an operation"
            );
            out.push((method.clone(), path.clone(), op.clone()));
        }
    }
    out
}

/// The value at a local reference (`#/components/...`), if there is one.
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

/// Every `$ref` anywhere in `v`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

/// Follows `$ref`s to the schema they name.
fn deref<'a>(doc: &'a Value, mut s: &'a Value) -> &'a Value {
    while let Some(r) = s.get("$ref").and_then(Value::as_str) {
        s = resolve(doc, r).unwrap_or_else(|| panic!("{r} does not resolve"));
    }
    s
}

#[tokio::test]
async fn the_document_is_valid_openapi_and_complete() {
    let app = spawn_app(Opts::default());
    let doc = served_document(&app).await;

    // Strictly typed reading by a validator crate, and the version it supports.
    let text = serde_json::to_string(&doc).unwrap();
    let spec = oas3::from_json(&text).expect("the document is OpenAPI 3.1");
    let version = spec
        .validate_version()
        .expect("a supported OpenAPI version");
    assert_eq!(version.major, 3);
    assert!(!spec.info.title.is_empty());
    assert_eq!(spec.info.version, env!("CARGO_PKG_VERSION"));
    assert!(spec.operations().count() > 50);
    for (path, method, op) in spec.operations() {
        let name = format!("{method} {path}");
        let declared = op.responses.as_ref().map_or(0, |r| r.len());
        assert!(declared > 0, "{name}: no responses");
        assert_eq!(
            op.responses(&spec).len(),
            declared,
            "{name}: a response does not resolve"
        );
        op.request_body(&spec)
            .unwrap_or_else(|e| panic!("{name}: request body: {e}"));
        op.parameters(&spec)
            .unwrap_or_else(|e| panic!("{name}: parameters: {e}"));
    }

    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["info"]["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(doc["info"]["version"].as_str().is_some());

    // Every reference resolves to a component.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in &all {
        assert!(r.starts_with("#/components/"), "{r}");
        assert!(resolve(&doc, r).is_some(), "{r} does not resolve");
    }

    let ops = operations(&doc);
    let mut ids = BTreeSet::new();
    for (method, path, op) in &ops {
        let name = format!("{method} {path}");
        assert!(
            ids.insert(op["operationId"].as_str().unwrap().to_string()),
            "{name}: operationId twice"
        );
        assert!(
            op["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{name}: summary"
        );
        assert!(
            op["tags"].as_array().is_some_and(|t| !t.is_empty()),
            "{name}"
        );
        // Every path parameter is declared, with an example to call it with.
        let declared: BTreeSet<&str> = op["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter(|p| p["in"] == "path")
                    .inspect(|p| assert!(!p["example"].is_null(), "{name}: {p} has no example"))
                    .filter_map(|p| p["name"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        let in_path: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        assert_eq!(declared, in_path, "{name}: path parameters");

        // Answers: at least one success, and the error shape for 4xx and 5xx.
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses
                .keys()
                .any(|s| s.starts_with('2') || s.as_str() == "101"),
            "{name}: no success answer"
        );
        for range in ["4XX", "5XX"] {
            let e = deref(&doc, &responses[range]);
            let schema = deref(&doc, &e["content"]["application/json"]["schema"]);
            assert_eq!(
                schema["properties"]["error"]["$ref"], "#/components/schemas/ErrorDetail",
                "{name}: {range}"
            );
        }
        for (status, resp) in responses {
            let resp = deref(&doc, resp);
            assert!(resp["description"].is_string(), "{name} {status}");
            if !status.starts_with('2') {
                continue;
            }
            for (media, content) in resp["content"].as_object().into_iter().flatten() {
                assert!(
                    content["schema"].is_object(),
                    "{name} {status} {media}: no schema"
                );
                if media != "application/json" {
                    // Files: bytes, never JSON.
                    assert_eq!(
                        deref(&doc, &content["schema"])["format"],
                        "binary",
                        "{name} {media}"
                    );
                }
            }
        }
        // Request bodies: every media type with a schema.
        if let Some(body) = op.get("requestBody") {
            let content = body["content"].as_object().unwrap();
            assert!(!content.is_empty(), "{name}: empty request body");
            for (media, c) in content {
                assert!(c["schema"].is_object(), "{name} {media}: no schema");
            }
        }
    }

    // Downloads are declared with their media types.
    let media = |method: &str, path: &str| -> Vec<String> {
        doc["paths"][path][method]["responses"]["200"]["content"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    assert_eq!(
        media("get", "/api/v1/statistics/{period}/export.xlsx"),
        ["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]
    );
    assert_eq!(
        media("get", "/api/v1/confirmations/{period}/{batch}/print.pdf"),
        ["application/pdf"]
    );
    assert_eq!(
        media("get", "/api/v1/office/audit/export.csv"),
        ["text/csv"]
    );
    assert_eq!(
        media("get", "/api/v1/selections/export"),
        ["application/zip"]
    );
    let upload = &doc["paths"]["/api/v1/selections/import"]["post"]["requestBody"]["content"];
    assert!(upload["multipart/form-data"]["schema"].is_object());
    let import = &doc["paths"]["/api/v1/office/invoices"]["post"]["requestBody"]["content"];
    assert!(import["application/x-ndjson"].is_object() && import["text/csv"].is_object());
}

/// The operations of the document are the routes the server has, both ways; each answers.
#[tokio::test]
async fn every_route_is_documented_and_every_operation_answers() {
    let app = spawn_app(Opts::default());
    let doc = served_document(&app).await;
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    let served: BTreeSet<(String, String)> = fapiao::api::route_table().into_iter().collect();
    assert!(served.len() > 50, "{served:?}");
    let undocumented: Vec<_> = served.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes without documentation: {undocumented:?}"
    );
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(unserved.is_empty(), "documented, not routed: {unserved:?}");

    // Without a session (401 for the protected ones), never the router's 404 or 405.
    for (method, path, op) in operations(&doc) {
        let mut url = path.clone();
        for p in op["parameters"].as_array().into_iter().flatten() {
            if p["in"] == "path" {
                let example = match &p["example"] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                url = url.replace(&format!("{{{}}}", p["name"].as_str().unwrap()), &example);
            }
        }
        assert!(!url.contains('{'), "{url}");
        let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let r = app
            .client
            .request(m, app.url(&url))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        assert!(
            status != 404 && status != 405,
            "{method} {url}: {status} {}",
            r.text().await.unwrap_or_default()
        );
    }
}

/// The members a schema declares (following `$ref` and `allOf`), with the required ones.
fn members(doc: &Value, s: &Value) -> Option<(BTreeMap<String, Value>, BTreeSet<String>)> {
    let s = deref(doc, s);
    let mut props = BTreeMap::new();
    let mut required = BTreeSet::new();
    let mut any = false;
    if let Some(p) = s["properties"].as_object() {
        any = true;
        props.extend(p.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    if let Some(r) = s["required"].as_array() {
        required.extend(r.iter().filter_map(Value::as_str).map(String::from));
    }
    for part in s["allOf"].as_array().into_iter().flatten() {
        if let Some((p, r)) = members(doc, part) {
            any = true;
            props.extend(p);
            required.extend(r);
        }
    }
    any.then_some((props, required))
}

/// Checks `v` against schema `s`: types, required and undocumented members, items, enums.
fn conforms(doc: &Value, s: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let s = deref(doc, s);
    for key in ["oneOf", "anyOf"] {
        if let Some(alts) = s[key].as_array() {
            let ok = alts.iter().any(|alt| {
                let mut e = Vec::new();
                conforms(doc, alt, v, at, &mut e);
                e.is_empty()
            });
            if !ok {
                errors.push(format!("{at}: {v} matches no alternative of {s}"));
            }
            return;
        }
    }
    if let Some(values) = s["enum"].as_array() {
        if !values.contains(v) {
            errors.push(format!("{at}: {v} is not one of {values:?}"));
        }
    }
    let types: Vec<&str> = match &s["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() {
        let fits = types.iter().any(|t| match *t {
            "null" => v.is_null(),
            "string" => v.is_string(),
            "boolean" => v.is_boolean(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "array" => v.is_array(),
            "object" => v.is_object(),
            _ => false,
        });
        if !fits {
            errors.push(format!("{at}: {v} is not {types:?}"));
            return;
        }
    }
    if let (Some(items), Some(list)) = (s.get("items"), v.as_array()) {
        for (i, x) in list.iter().enumerate() {
            conforms(doc, items, x, &format!("{at}[{i}]"), errors);
        }
    }
    if let (Some((props, required)), Some(obj)) = (members(doc, s), v.as_object()) {
        for r in &required {
            if !obj.contains_key(r) {
                errors.push(format!("{at}: required member {r} missing"));
            }
        }
        for (k, x) in obj {
            match props.get(k) {
                Some(ps) => conforms(doc, ps, x, &format!("{at}.{k}"), errors),
                None if s.get("additionalProperties").is_some() => {}
                None => errors.push(format!("{at}: member {k} is not documented")),
            }
        }
    }
}

/// The schema check itself: it notices a wrong type, a missing required member and an
/// undocumented one, through `$ref` and `allOf`.
#[tokio::test]
async fn the_schema_check_finds_what_does_not_match() {
    let app = spawn_app(Opts::default());
    let doc = served_document(&app).await;
    let single = json!({"$ref": "#/components/schemas/SingleView"});
    let good = json!({
        "code": "3500261130", "number": "00000001", "type": "special",
        "issued_on": "2026-11-02", "seller_id": NO_RATING, "seller_name": "x",
        "buyer_id": TAXPAYER_A, "amount": 100, "tax": 13, "status": "normal",
        "selection": "unselected", "history": []
    });
    let errors = |v: &Value| {
        let mut e = Vec::new();
        conforms(&doc, &single, v, "$", &mut e);
        e
    };
    assert_eq!(errors(&good), Vec::<String>::new());
    let mut extra = good.clone();
    extra["surprise"] = json!(1);
    assert!(errors(&extra)[0].contains("surprise is not documented"));
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("history");
    assert!(errors(&missing)[0].contains("history missing"));
    let mut wrong = good.clone();
    wrong["amount"] = json!("100");
    assert!(errors(&wrong)[0].contains("$.amount"));
    wrong = good.clone();
    wrong["history"] = json!([{"at": 1}]);
    assert!(!errors(&wrong).is_empty());
}

/// Asserts that the answer of `method path` is 2xx and matches its documented schema.
pub(crate) async fn answers_as_documented(
    app: &TestApp,
    doc: &Value,
    method: &str,
    template: &str,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> Value {
    let op = &doc["paths"][template][method];
    assert!(op.is_object(), "{method} {template} is not documented");
    let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let mut req = app.client.request(m, app.url(&url));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16().to_string();
    let value: Value = r.json().await.unwrap();
    assert!(status.starts_with('2'), "{method} {url}: {status} {value}");
    let schema = &op["responses"][&status]["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {template}: no schema for {status}"
    );
    let mut errors = Vec::new();
    conforms(doc, schema, &value, "$", &mut errors);
    assert!(errors.is_empty(), "{method} {url}: {errors:#?}\n{value}");
    value
}

#[tokio::test]
async fn real_answers_match_their_schemas() {
    let app = spawn_app(Opts {
        clock: Some("2026-11-23T10:00:00+08:00"),
        ..Opts::default()
    });
    let doc = served_document(&app).await;
    let admin = app.staff_token("admin").await;
    let lines: Vec<String> = (1..=3)
        .map(|n| {
            json!({
                "code": "3500261130", "number": format!("0000000{n}"), "type": "special",
                "issued_on": "2026-11-02", "seller_id": NO_RATING,
                "seller_name": "杭州宏远信息技术有限公司", "buyer_id": TAXPAYER_A,
                "amount": 10_000 * n, "tax": 1_300 * n, "selection": "unselected"
            })
            .to_string()
        })
        .collect();
    app.import_ndjson(&admin, lines.join("\n")).await;
    let tp = app.taxpayer_token(TAXPAYER_A).await;
    let t = Some(tp.as_str());
    let a = Some(admin.as_str());
    answers_as_documented(&app, &doc, "get", "/healthz", "/healthz".into(), None, None).await;
    let me = answers_as_documented(
        &app,
        &doc,
        "get",
        "/api/v1/me",
        "/api/v1/me".into(),
        t,
        None,
    )
    .await;
    let period = me["current_period"].as_str().unwrap().to_string();
    answers_as_documented(
        &app,
        &doc,
        "get",
        "/api/v1/me/changes",
        "/api/v1/me/changes".into(),
        t,
        None,
    )
    .await;
    answers_as_documented(
        &app,
        &doc,
        "get",
        "/api/v1/workbench/{year}",
        "/api/v1/workbench/2026".into(),
        t,
        None,
    )
    .await;
    let page = answers_as_documented(
        &app,
        &doc,
        "get",
        "/api/v1/invoices",
        "/api/v1/invoices?issued_from=2026-10-01&issued_to=2026-11-23".into(),
        t,
        None,
    )
    .await;
    assert_eq!(page["total"], 3, "{page}");
    answers_as_documented(
        &app,
        &doc,
        "get",
        "/api/v1/invoices/not-yet-due",
        "/api/v1/invoices/not-yet-due".into(),
        t,
        None,
    )
    .await;
    answers_as_documented(
        &app,
        &doc,
        "get",
        "/api/v1/invoices/{code}/{number}",
        "/api/v1/invoices/3500261130/00000001".into(),
        t,
        None,
    )
    .await;
    let sel = answers_as_documented(
        &app,
        &doc,
        "post",
        "/api/v1/selections",
        "/api/v1/selections".into(),
        t,
        Some(json!({"select": [
            {"code": "3500261130", "number": "00000001"},
            {"code": "3500261130", "number": "00000002"},
            {"code": "x", "number": "y"}
        ]})),
    )
    .await;
    assert_eq!(sel["selected"], 2, "{sel}");
    assert_eq!(sel["rejected"][0]["reason"], "invalid_key", "{sel}");
    let batch = answers_as_documented(
        &app,
        &doc,
        "post",
        "/api/v1/confirmations",
        "/api/v1/confirmations".into(),
        t,
        None,
    )
    .await;
    let n = batch["batch"].as_u64().unwrap();
    answers_as_documented(
        &app,
        &doc,
        "get",
        "/api/v1/confirmations",
        "/api/v1/confirmations".into(),
        t,
        None,
    )
    .await;
    let detail = answers_as_documented(
        &app,
        &doc,
        "get",
        "/api/v1/confirmations/{period}/{batch}",
        format!("/api/v1/confirmations/{period}/{n}"),
        t,
        None,
    )
    .await;
    assert_eq!(detail["invoices"].as_array().unwrap().len(), 2);
    answers_as_documented(
        &app,
        &doc,
        "get",
        "/api/v1/statistics/{period}",
        format!("/api/v1/statistics/{period}"),
        t,
        None,
    )
    .await;

    answers_as_documented(
        &app,
        &doc,
        "get",
        "/api/v1/office/taxpayers",
        "/api/v1/office/taxpayers?q=福州".into(),
        a,
        None,
    )
    .await;
    answers_as_documented(
        &app,
        &doc,
        "get",
        "/api/v1/office/taxpayers/{id}",
        format!("/api/v1/office/taxpayers/{TAXPAYER_A}"),
        a,
        None,
    )
    .await;
    answers_as_documented(
        &app,
        &doc,
        "put",
        "/api/v1/office/taxpayers/{id}",
        format!("/api/v1/office/taxpayers/{TAXPAYER_B}"),
        a,
        Some(json!({"credit_rating": "A", "contact": {"name": "王五"}})),
    )
    .await;
    answers_as_documented(
        &app,
        &doc,
        "get",
        "/api/v1/office/invoices",
        format!("/api/v1/office/invoices?buyer_id={TAXPAYER_A}"),
        a,
        None,
    )
    .await;
    answers_as_documented(
        &app,
        &doc,
        "put",
        "/api/v1/office/invoices/{code}/{number}/status",
        "/api/v1/office/invoices/3500261130/00000003/status".into(),
        a,
        Some(json!({"status": "voided"})),
    )
    .await;
    answers_as_documented(
        &app,
        &doc,
        "get",
        "/api/v1/office/declarations/{taxpayer_id}/{period}",
        format!("/api/v1/office/declarations/{TAXPAYER_A}/{period}"),
        a,
        None,
    )
    .await;
    answers_as_documented(
        &app,
        &doc,
        "get",
        "/api/v1/office/deadlines/{region}",
        "/api/v1/office/deadlines/350000?year=2026".into(),
        a,
        None,
    )
    .await;
    answers_as_documented(
        &app,
        &doc,
        "get",
        "/api/v1/office/clock",
        "/api/v1/office/clock".into(),
        a,
        None,
    )
    .await;
    answers_as_documented(
        &app,
        &doc,
        "get",
        "/api/v1/office/audit",
        "/api/v1/office/audit".into(),
        a,
        None,
    )
    .await;
    answers_as_documented(
        &app,
        &doc,
        "post",
        "/api/v1/office/statistics/refresh",
        "/api/v1/office/statistics/refresh".into(),
        a,
        None,
    )
    .await;
    answers_as_documented(
        &app,
        &doc,
        "get",
        "/api/v1/faq",
        "/api/v1/faq".into(),
        None,
        None,
    )
    .await;
    answers_as_documented(
        &app,
        &doc,
        "get",
        "/api/v1/interactions",
        "/api/v1/interactions".into(),
        a,
        None,
    )
    .await;
}
