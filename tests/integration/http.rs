//! Health, metrics, HTTPS, error shapes, security headers.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{expect_error, spawn_app, Opts};

#[tokio::test]
async fn health_answers_with_version() {
    let app = spawn_app(Opts::default());
    let r = app.get("/healthz", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_with_latency() {
    let app = spawn_app(Opts::default());
    app.get("/healthz", None).await;
    app.get("/api/v1/me", None).await;
    let text = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        text.contains(
            r#"fapiao_http_requests_total{endpoint="/healthz",method="GET",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"endpoint="/api/v1/me",method="GET",status="401""#),
        "{text}"
    );
    assert!(text.contains("fapiao_http_requests_duration_seconds_bucket"));
    // The gauges beyond HTTP, read at start-up (and every 10 s).
    let value = |name: &str| -> i64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} missing: {text}"))
            .trim()
            .parse()
            .unwrap()
    };
    assert!(value("fapiao_store_bytes") > 0);
    assert_eq!(value("fapiao_invoices"), 0);
    assert_eq!(value("fapiao_index_lag_commits"), 0);
    assert!(value("fapiao_statistics_job_last_run_timestamp_seconds") >= 0);
    // No page shown yet: no row asked for.
    assert_eq!(value("fapiao_row_cache_hits"), 0);
    assert_eq!(value("fapiao_row_cache_misses"), 0);
}

#[tokio::test]
async fn https_with_the_generated_local_ca() {
    let app = spawn_app(Opts {
        http: false,
        ..Opts::default()
    });
    assert!(app.base.starts_with("https://"));
    let r = app.get("/healthz", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("strict-transport-security").is_some());
    for f in ["ca.pem", "ca.key", "server.pem", "server.key"] {
        assert!(app.data_dir.join("certs").join(f).exists(), "{f}");
    }
    // Plain HTTP to the HTTPS port does not get an answer.
    let plain = reqwest::Client::new()
        .get(format!("http://{}/healthz", app.addr))
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
}

#[tokio::test]
async fn api_errors_have_the_documented_shape() {
    let app = spawn_app(Opts::default());
    // Malformed JSON: 400.
    let r = app
        .client
        .post(app.url("/api/v1/office/session"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    expect_error(r, 400, "malformed").await;
    // Valid JSON, wrong shape: 422.
    let r = app
        .post_json("/api/v1/office/session", None, &json!({"username": 5}))
        .await;
    expect_error(r, 422, "invalid_value").await;
    // Unknown API path: JSON 404.
    let r = app.get("/api/v1/nothing-here", None).await;
    expect_error(r, 404, "not_found").await;
    // Not logged in.
    let r = app.get("/api/v1/me", None).await;
    expect_error(r, 401, "not_logged_in").await;
}

#[tokio::test]
async fn security_headers_on_every_response() {
    let app = spawn_app(Opts::default());
    for path in ["/healthz", "/login", "/nowhere"] {
        let r = app.get(path, None).await;
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert!(h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"));
    }
}

/// `GET /api/openapi.json` describes every path of API.md, and every route it lists exists.
#[tokio::test]
async fn openapi_lists_every_route_and_every_route_answers() {
    let app = spawn_app(Opts::default());
    let doc: serde_json::Value = app
        .get("/api/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    // The paths of API.md.
    for (m, p) in [
        ("post", "/api/v1/session"),
        ("post", "/api/v1/session/recover"),
        ("delete", "/api/v1/session"),
        ("post", "/api/v1/office/session"),
        ("get", "/api/v1/me"),
        ("put", "/api/v1/me/password"),
        ("get", "/api/v1/workbench/{year}"),
        ("get", "/api/v1/invoices"),
        ("get", "/api/v1/invoices/{code}/{number}"),
        ("get", "/api/v1/invoices/not-yet-due"),
        ("post", "/api/v1/selections"),
        ("post", "/api/v1/confirmations"),
        ("post", "/api/v1/confirmations/{period}/{batch}/submit"),
        ("get", "/api/v1/confirmations"),
        ("get", "/api/v1/confirmations/{period}/{batch}"),
        ("post", "/api/v1/period/rollback"),
        ("get", "/api/v1/statistics/{period}"),
        ("post", "/api/v1/office/taxpayers"),
        ("put", "/api/v1/office/taxpayers/{id}"),
        ("get", "/api/v1/office/taxpayers"),
        ("post", "/api/v1/office/taxpayers/{id}/unlock"),
        ("post", "/api/v1/office/invoices"),
        ("put", "/api/v1/office/invoices/{code}/{number}/status"),
        ("post", "/api/v1/office/scans"),
        ("put", "/api/v1/office/declarations/{taxpayer_id}/{period}"),
        ("put", "/api/v1/office/deadlines/{region}/{period}"),
        ("put", "/api/v1/office/clock"),
        ("get", "/api/v1/office/clock"),
        ("get", "/api/v1/office/audit"),
        ("post", "/api/v1/office/statistics/refresh"),
        ("get", "/healthz"),
    ] {
        assert!(
            paths.get(p).and_then(|x| x.get(m)).is_some(),
            "{m} {p} missing"
        );
    }
    // Every operation listed answers (no session: 401 for the protected ones), never the
    // router's 404.
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let url = path
                .replace("{year}", "2026")
                .replace("{period}", "202611")
                .replace("{batch}", "1")
                .replace("{code}", "3500261130")
                .replace("{number}", "00000001")
                .replace("{id}", crate::helpers::TAXPAYER_A)
                .replace("{taxpayer_id}", crate::helpers::TAXPAYER_A)
                .replace("{region}", "350000");
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = app
                .client
                .request(m, app.url(&url))
                .json(&serde_json::json!({}))
                .send()
                .await
                .unwrap();
            assert_ne!(r.status().as_u16(), 404, "{method} {url}");
            assert_ne!(r.status().as_u16(), 405, "{method} {url}");
        }
    }
}
