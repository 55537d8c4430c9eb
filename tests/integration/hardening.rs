//! The findings of the independent security run, each with the test that would have caught it:
//! paging numbers that aborted the server, anonymous disk filling, login throttles bypassed by
//! parallel requests, the agent role's reach, CSV formula injection, and the smaller ones.

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
