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
