//! The findings of the independent security run, each with the test that would have caught it:
//! paging numbers that aborted the server, anonymous disk filling, login throttles bypassed by
//! parallel requests, the agent role's reach, CSV formula injection, and the smaller ones.

use fapiao::store::prelude::*;
use proptest::prelude::*;
use reqwest::StatusCode;

use crate::helpers::*;

const DATES: &str = "issued_from=2024-01-01&issued_to=2027-12-31";

/// Every list that takes `page` and `per_page`, with who may read it: (path with its other
/// parameters, taxpayer list?, page?).
const LISTS: &[(&str, bool, bool)] = &[
    (
        "/api/v1/invoices?issued_from=2024-01-01&issued_to=2027-12-31&",
        true,
        false,
    ),
    ("/api/v1/invoices/not-yet-due?", true, false),
    ("/api/v1/statistics/202610?", true, false),
    (
        "/select?issued_from=2024-01-01&issued_to=2027-12-31&",
        true,
        true,
    ),
    ("/query?mode=due&", true, true),
    ("/statistics?period=202610&", true, true),
    ("/statistics?period=202610&details=1&", true, true),
    (
        "/api/v1/office/invoices?buyer_id=91350100M000100Y43&",
        false,
        false,
    ),
    ("/api/v1/office/taxpayers?q=&", false, false),
    ("/api/v1/office/audit?", false, false),
];

async fn list_get(app: &TestApp, path: &str, token: &str, page: bool) -> reqwest::Response {
    list_get_with(app, path, &[], token, page).await
}

async fn list_get_with(
    app: &TestApp,
    path: &str,
    query: &[(&str, &str)],
    token: &str,
    page: bool,
) -> reqwest::Response {
    let mut r = app.client.get(app.url(path));
    if !query.is_empty() {
        r = r.query(query);
    }
    r = if page {
        r.header("cookie", format!("fapiao_session={token}"))
    } else {
        r.bearer_auth(token)
    };
    r.send().await.unwrap()
}

#[tokio::test]
async fn one_query_parameter_cannot_abort_the_server() {
    let app = spawn_app(Opts::default());
    let tp = app.taxpayer_token(TAXPAYER_A).await;
    let admin = app.staff_token("admin").await;
    // The report's requests: a page far past the end, and one whose offset overflows.
    for page in ["10000000", "36893488147419103", "99999999999999999999999"] {
        let r = app
            .get(
                &format!("/api/v1/invoices?{DATES}&page={page}&per_page=500"),
                Some(&tp),
            )
            .await;
        let body = expect_error(r, 422, "invalid_value").await;
        assert_eq!(body["error"]["field"], "page");
        assert_eq!(body["error"]["message"], "页码超出范围");
    }
    // A page inside the bound but past the end of the list.
    for (path, taxpayer, page) in LISTS {
        let token = if *taxpayer { &tp } else { &admin };
        let r = list_get(
            &app,
            &format!("{path}page=900000&per_page=500"),
            token,
            *page,
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        let text = r.text().await.unwrap();
        assert!(text.contains("页码超出范围：共1页"), "{path}: {text}");
        // Page 1 of the same list answers.
        let r = list_get(&app, &format!("{path}page=1&per_page=500"), token, *page).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    // A huge `limit` on the interactions list is clamped, not reserved.
    let r = app
        .get(
            "/api/v1/interactions?limit=18446744073709551615",
            Some(&admin),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // The server is still there, with every session.
    assert_eq!(
        app.get("/api/v1/me", Some(&tp)).await.status(),
        StatusCode::OK
    );
}

/// Page and page-size values a client may send: numbers small and huge, signs, garbage.
fn paging_value() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..5).prop_map(|n| n.to_string()),
        (0u64..2_000_000).prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        "[0-9]{18,40}",
        "-[0-9]{1,5}",
        "[ a-z%.+-]{0,6}",
    ]
}

#[test]
fn paging_parameters_of_every_list_never_fail_the_server() {
    let app = spawn_app(Opts::default());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (tp, admin) = rt.block_on(async {
        let tp = app.taxpayer_token(TAXPAYER_A).await;
        let admin = app.staff_token("admin").await;
        (tp, admin)
    });
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(
            &(0..LISTS.len(), paging_value(), paging_value()),
            |(i, page, per_page)| {
                let (path, taxpayer, is_page) = LISTS[i];
                let token = if taxpayer { &tp } else { &admin };
                let path = path.trim_end_matches(['&', '?']);
                let query = [("page", page.as_str()), ("per_page", per_page.as_str())];
                let status = rt.block_on(async {
                    list_get_with(&app, path, &query, token, is_page)
                        .await
                        .status()
                });
                prop_assert!(
                    status == StatusCode::OK || status == StatusCode::UNPROCESSABLE_ENTITY,
                    "{path} {query:?}: {status}"
                );
                Ok(())
            },
        )
        .unwrap();
    let alive = rt.block_on(async { app.get("/api/v1/me", Some(&tp)).await.status() });
    assert_eq!(alive, StatusCode::OK);
}

/// A server whose per-address login limit is out of the way (all test requests come from
/// 127.0.0.1), to see the per-account throttles alone.
fn unlimited_addresses() -> TestApp {
    spawn_app(Opts {
        session: fapiao::config::SessionSettings {
            login_attempts_per_minute: 100_000,
            ..Default::default()
        },
        ..Opts::default()
    })
}

/// Audit entries of `action`.
fn audited(app: &TestApp, action: &str) -> usize {
    let filter = fapiao::service::AuditFilter {
        limit: usize::MAX,
        ..Default::default()
    };
    let (_, items) = fapiao::service::office::audit::list(&app.app, &filter).unwrap();
    items.iter().filter(|e| e.action == action).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_staff_passwords_verify_at_most_the_limit() {
    let app = std::sync::Arc::new(unlimited_addresses());
    let tries = (0..40).map(|i| {
        let app = app.clone();
        tokio::spawn(async move {
            app.staff_login("operator", &format!("Wrong-pass-{i}"))
                .await
                .status()
        })
    });
    let mut statuses = Vec::new();
    for t in tries {
        statuses.push(t.await.unwrap());
    }
    let verified = audited(&app, "staff.login_failed");
    assert_eq!(verified, 5, "only the limit is verified: {statuses:?}");
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(refused, 35);
    // The counter was not written back stale: the account stays throttled.
    let r = app.staff_login("operator", PASSWORD).await;
    expect_error(r, 429, "too_many_attempts").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_platform_passwords_verify_at_most_the_limit() {
    let app = std::sync::Arc::new(unlimited_addresses());
    let a = app.taxpayer_token(TAXPAYER_A).await;
    let r = app
        .send_json(
            reqwest::Method::PUT,
            "/api/v1/me/password",
            Some(&a),
            &serde_json::json!({"enabled": true, "password": "abcd1234", "question": "q", "answer": "x"}),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let tries = (0..30).map(|i| {
        let app = app.clone();
        tokio::spawn(async move {
            let body =
                serde_json::json!({"taxpayer_id": TAXPAYER_A, "password": format!("wrong{i}xyz")});
            app.post_json("/api/v1/session", None, &body).await.status()
        })
    });
    for t in tries {
        t.await.unwrap();
    }
    // Ten wrong tries are allowed a day; the eleventh is verified and locks.
    assert_eq!(audited(&app, "taxpayer.password_failed"), 11);
    let body = serde_json::json!({"taxpayer_id": TAXPAYER_A, "password": "abcd1234"});
    let r = app.post_json("/api/v1/session", None, &body).await;
    expect_error(r, 423, "locked").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_address_cannot_make_the_server_hash_and_write_at_will() {
    let app = std::sync::Arc::new(spawn_app(Opts::default()));
    let limit = fapiao::config::SessionSettings::default().login_attempts_per_minute as usize;
    let before = audited(&app, "staff.login_failed");
    let started = std::time::Instant::now();
    let tries = (0..300).map(|i| {
        let app = app.clone();
        tokio::spawn(async move {
            app.staff_login(&format!("invented{i}"), "Wrong-pass-1")
                .await
                .status()
        })
    });
    let mut limited = 0;
    for t in tries {
        if t.await.unwrap() == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
        }
    }
    let written = audited(&app, "staff.login_failed") - before;
    // The burst, and what refilled while the tries ran (one every 60/limit seconds).
    let refilled = (started.elapsed().as_secs_f64() * limit as f64 / 60.0).ceil() as usize;
    assert!(
        written <= limit + refilled,
        "{written} tries verified and written ({refilled} refilled)"
    );
    assert_eq!(written + limited, 300);
    // Nothing is kept per invented name.
    assert!(app
        .app
        .store
        .read()
        .unwrap()
        .throttle("staff:invented1")
        .unwrap()
        .is_none());
    let r = app.staff_login("invented1", "Wrong-pass-1").await;
    let body = expect_error(r, 429, "too_many_attempts").await;
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("登录尝试过于频繁"));
}

#[tokio::test]
async fn anonymous_requests_cannot_store_large_or_formula_usernames() {
    let app = spawn_app(Opts::default());
    let admin = app.staff_token("admin").await;
    let before = audited(&app, "staff.login_failed");
    let size = std::fs::metadata(app.data_dir.join("fapiao.redb"))
        .unwrap()
        .len();
    // A 900 KB username: refused by the login route's body cap.
    let r = app
        .staff_login(&"x".repeat(900 * 1024), "Wrong-pass-1")
        .await;
    expect_error(r, 413, "too_large").await;
    // Names the office could never have created: refused before anything is written.
    for name in [
        "x".repeat(1000),
        "=HYPERLINK(\"http://evil.example/?x\",\"点击\")".to_string(),
        "a b".to_string(),
    ] {
        let r = app.staff_login(&name, "Wrong-pass-1").await;
        let body = expect_error(r, 422, "invalid_value").await;
        assert_eq!(body["error"]["field"], "username");
    }
    // A megabyte-long password is not hashed.
    let r = app.staff_login("operator", &"p".repeat(129)).await;
    let body = expect_error(r, 422, "invalid_value").await;
    assert_eq!(body["error"]["message"], "密码长度不能超过128位");
    assert_eq!(audited(&app, "staff.login_failed"), before);
    let grown = std::fs::metadata(app.data_dir.join("fapiao.redb"))
        .unwrap()
        .len()
        - size;
    assert!(grown < 1024 * 1024, "the store grew by {grown} bytes");
    // The audit export neutralises formula cells whoever typed them (a failed login of a
    // real-looking name that starts with '-' is stored, and exported as text).
    let r = app.staff_login("-abc", "Wrong-pass-1").await;
    expect_error(r, 401, "login_failed").await;
    let csv = app
        .get("/api/v1/office/audit/export.csv", Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.contains(",'-abc,"), "{csv}");
    for line in csv.lines() {
        for cell in line.split(',') {
            assert!(!cell.starts_with(['=', '+', '@']), "{cell}");
        }
    }
}

/// A concrete path for a route pattern of the staff table.
fn concrete(pattern: &str) -> String {
    pattern
        .replace(
            "{id}",
            if pattern.contains("/faq/") {
                "no-such-entry"
            } else {
                TAXPAYER_A
            },
        )
        .replace("{taxpayer_id}", TAXPAYER_A)
        .replace("{code}", "3500261130")
        .replace("{number}", "00000001")
        .replace("{region}", "350100")
        .replace("{period}", "202611")
        .replace("{username}", "operator")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_staff_route_answers_each_role_as_the_matrix_says() {
    use fapiao::domain::{Area, Role};
    use fapiao::http::access::STAFF_ROUTES;
    let app = unlimited_addresses();
    let mut tokens = Vec::new();
    for role in Role::ALL {
        tokens.push((role, app.staff_token(role.as_str()).await));
    }
    // The matrix itself: an agent reaches no office data, an auditor changes nothing.
    assert!(!Role::Agent.may(Area::ReadOffice) && !Role::Agent.may(Area::ReadAudit));
    assert!(!Role::Auditor.may(Area::ChangeOffice) && !Role::Auditor.may(Area::Serve));
    assert!(!Role::Operator.may(Area::ReadAudit));
    assert!(Area::ALL.iter().all(|a| Role::Admin.may(*a)));
    // Logging out last: it ends the session the other requests use.
    let mut routes: Vec<_> = STAFF_ROUTES.to_vec();
    routes.sort_by_key(|(_, p, _)| p.ends_with("/logout"));
    let mut checked = 0;
    for (method, pattern, area) in routes {
        let path = concrete(pattern);
        let page = !pattern.starts_with("/api/");
        for (role, token) in &tokens {
            let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let mut req = app.client.request(m, app.url(&path));
            req = if page {
                req.header("cookie", format!("fapiao_session={token}"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("")
            } else if method == "GET" {
                req.bearer_auth(token)
            } else {
                req.bearer_auth(token).json(&serde_json::json!({}))
            };
            let r = req.send().await.unwrap();
            let status = r.status();
            let body = r.text().await.unwrap();
            if role.may(area) {
                assert_ne!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{role:?} {method} {path}: {body}"
                );
                assert_ne!(status, StatusCode::UNAUTHORIZED, "{role:?} {method} {path}");
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{role:?} {method} {path}: {body}"
                );
                assert!(
                    body.contains("wrong_role") || body.contains("您的角色无权进行此操作"),
                    "{body}"
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, STAFF_ROUTES.len() * 4);
    // Every office route of the API is in the table (the staff session routes aside).
    for (method, path) in fapiao::api::route_table() {
        if path.starts_with("/api/v1/office/") && path != "/api/v1/office/session" {
            assert!(
                fapiao::http::access::area_of(&method, &path).is_some(),
                "{method} {path} has no area in the role matrix"
            );
        }
    }
}

#[tokio::test]
async fn another_taxpayers_invoice_and_a_free_key_get_the_same_answer() {
    let app = spawn_app(Opts {
        clock: Some("2026-11-20T10:00:00+08:00"),
        ..Opts::default()
    });
    let op = app.staff_token("operator").await;
    app.import_ndjson(
        &op,
        format!(
            r#"{{"code":"3500261130","number":"00000001","type":"special","issued_on":"2026-11-02","seller_id":"{NO_RATING}","seller_name":"销方","buyer_id":"{TAXPAYER_B}","amount":100000,"tax":13000}}"#
        ),
    )
    .await;
    let a = app.taxpayer_token(TAXPAYER_A).await;
    let r = app
        .post_json(
            "/api/v1/selections",
            Some(&a),
            &serde_json::json!({"select": [
                {"code": "3500261130", "number": "00000001"},
                {"code": "3500261130", "number": "00000002"}
            ]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: serde_json::Value = r.json().await.unwrap();
    let rejected = body["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 2);
    assert_eq!(rejected[0]["reason"], rejected[1]["reason"]);
    assert_eq!(rejected[0]["message"], rejected[1]["message"]);
    assert_eq!(rejected[0]["reason"], "unknown_invoice");
    // An array is not a selection request.
    let r = app
        .post_json("/api/v1/selections", Some(&a), &serde_json::json!([]))
        .await;
    let body = expect_error(r, 422, "invalid_value").await;
    assert_eq!(body["error"]["message"], "请求内容应为 JSON 对象");
}

#[tokio::test]
async fn an_idle_limit_under_a_minute_does_not_end_sessions_in_use() {
    let app = spawn_app(Opts {
        session: fapiao::config::SessionSettings {
            idle_secs: 3,
            ..Default::default()
        },
        ..Opts::default()
    });
    let a = app.taxpayer_token(TAXPAYER_A).await;
    for _ in 0..6 {
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let r = app.get("/api/v1/me", Some(&a)).await;
        assert_eq!(r.status(), StatusCode::OK, "a session in use stays");
    }
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let r = app.get("/api/v1/me", Some(&a)).await;
    expect_error(r, 401, "session_expired").await;
}

#[tokio::test]
async fn pages_and_answers_are_not_cached_assets_are() {
    let app = spawn_app(Opts::default());
    let a = app.taxpayer_token(TAXPAYER_A).await;
    for path in ["/api/v1/me", "/"] {
        let r = app
            .client
            .get(app.url(path))
            .header("cookie", format!("fapiao_session={a}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_eq!(r.headers()["cache-control"], "no-store", "{path}");
    }
    let r = app.get("/assets/app.css", None).await;
    assert_eq!(r.headers()["cache-control"], "public, max-age=3600");
}

#[tokio::test]
async fn forwarded_headers_from_anyone_do_not_make_a_foreign_origin_ours() {
    let app = spawn_app(Opts::default());
    let a = app.taxpayer_token(TAXPAYER_A).await;
    let r = app
        .client
        .post(app.url("/logout"))
        .header("cookie", format!("fapiao_session={a}"))
        .header("origin", "http://evil.example")
        .header("x-forwarded-host", "evil.example")
        .header("x-forwarded-proto", "http")
        .header("forwarded", "host=evil.example;proto=http")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("跨站请求"));
    // The session survived the refused request.
    assert_eq!(
        app.get("/api/v1/me", Some(&a)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn dates_outside_1990_to_2099_are_refused() {
    let app = spawn_app(Opts::default());
    let op = app.staff_token("operator").await;
    for day in ["0000-01-01", "9999-12-31", "1989-12-31"] {
        let line = serde_json::json!({
            "code": "3500261130", "number": "00000001", "type": "special", "issued_on": day,
            "seller_id": NO_RATING, "seller_name": "销方", "buyer_id": TAXPAYER_A,
            "amount": 100_000, "tax": 13_000,
        });
        let r = app
            .client
            .post(app.url("/api/v1/office/invoices"))
            .bearer_auth(&op)
            .header("content-type", "application/x-ndjson")
            .body(line.to_string())
            .send()
            .await
            .unwrap();
        let body = expect_error(r, 422, "invalid_value").await;
        assert!(
            body.to_string()
                .contains("开票日期应在1990-01-01至2099-12-31之间"),
            "{body}"
        );
    }
    for now in ["0001-01-01T00:00:00+08:00", "9999-01-01T00:00:00+08:00"] {
        let r = app
            .send_json(
                reqwest::Method::PUT,
                "/api/v1/office/clock",
                Some(&op),
                &serde_json::json!({ "now": now }),
            )
            .await;
        let body = expect_error(r, 422, "invalid_value").await;
        assert_eq!(
            body["error"]["message"],
            "培训时钟应在1990-01-01至2099-12-31之间"
        );
    }
}

#[tokio::test]
async fn metrics_are_read_with_the_token_only_when_one_is_configured() {
    let app = spawn_app(Opts {
        metrics_token: Some("monitor-s3cret".into()),
        ..Opts::default()
    });
    let r = app.get("/metrics", None).await;
    let body = expect_error(r, 403, "forbidden").await;
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("运行指标"));
    let r = app.get("/metrics", Some("wrong")).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    app.get("/healthz", None).await;
    let r = app.get("/metrics", Some("monitor-s3cret")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("fapiao_http_requests_total"));
    // Without a token, the machine itself may read them (the tests' loopback).
    let open = spawn_app(Opts::default());
    assert_eq!(open.get("/metrics", None).await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_recovery_answers_are_counted_like_passwords() {
    let app = std::sync::Arc::new(unlimited_addresses());
    let a = app.taxpayer_token(TAXPAYER_A).await;
    let r = app
        .send_json(
            reqwest::Method::PUT,
            "/api/v1/me/password",
            Some(&a),
            &serde_json::json!({"enabled": true, "password": "abcd1234", "question": "q", "answer": "right"}),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let tries = (0..30).map(|i| {
        let app = app.clone();
        tokio::spawn(async move {
            let body =
                serde_json::json!({"taxpayer_id": TAXPAYER_A, "answer": format!("wrong{i}")});
            app.post_json("/api/v1/session/recover", None, &body)
                .await
                .status()
        })
    });
    for t in tries {
        t.await.unwrap();
    }
    assert_eq!(audited(&app, "taxpayer.recover_failed"), 11);
    // Locked: even the right answer is refused today.
    let body = serde_json::json!({"taxpayer_id": TAXPAYER_A, "answer": "right"});
    let r = app.post_json("/api/v1/session/recover", None, &body).await;
    expect_error(r, 423, "locked").await;
}
