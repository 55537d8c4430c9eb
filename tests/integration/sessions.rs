//! Staff login, taxpayer training login, roles, expiry, logout, the training clock.

use fapiao::config::SessionSettings;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn staff_login_right_and_wrong() {
    let app = spawn_app(Opts::default());
    let r = app.staff_login("admin", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["role"], "admin");
    let token = body["token"].as_str().unwrap();
    assert_eq!(token.len(), 64);
    let r = app.get("/api/v1/office/clock", Some(token)).await;
    assert_eq!(r.status(), StatusCode::OK);

    expect_error(
        app.staff_login("admin", "wrong-password1").await,
        401,
        "login_failed",
    )
    .await;
    expect_error(
        app.staff_login("nobody", PASSWORD).await,
        401,
        "login_failed",
    )
    .await;
    expect_error(
        app.post_json(
            "/api/v1/office/session",
            None,
            &json!({"username": "", "password": ""}),
        )
        .await,
        422,
        "invalid_value",
    )
    .await;
    // A made-up token is not a session.
    expect_error(
        app.get("/api/v1/office/clock", Some("abc")).await,
        401,
        "not_logged_in",
    )
    .await;
}

#[tokio::test]
async fn wrong_staff_passwords_are_throttled_and_audited() {
    let app = spawn_app(Opts::default());
    for _ in 0..5 {
        expect_error(
            app.staff_login("operator", "nope-nope-1").await,
            401,
            "login_failed",
        )
        .await;
    }
    // Now even the right password is refused until the window passes.
    let body = expect_error(
        app.staff_login("operator", PASSWORD).await,
        429,
        "too_many_attempts",
    )
    .await;
    assert!(body["retry_after_secs"].as_i64().unwrap() > 0);
    // Another account is not affected.
    assert_eq!(
        app.staff_login("admin", PASSWORD).await.status(),
        StatusCode::OK
    );
    let token = app.staff_token("admin").await;
    let audit: Value = app
        .get("/api/v1/office/audit?actor=anonymous", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    let failures = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "staff.login_failed" && e["target"] == "operator")
        .count();
    assert_eq!(failures, 5);
    assert!(audit["items"][0]["address"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1"));
}

#[tokio::test]
async fn training_login_only_in_training_mode() {
    let app = spawn_app(Opts::default());
    set_first_login_done(&app.app, TAXPAYER_A, false);
    let r = app.taxpayer_login(TAXPAYER_A).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["taxpayer_id"], TAXPAYER_A);
    assert_eq!(body["first_login"], true);
    let token = body["token"].as_str().unwrap();
    let me: Value = app
        .get("/api/v1/me", Some(token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["taxpayer_id"], TAXPAYER_A);
    assert_eq!(me["credit_rating"], "A");

    let prod = spawn_app(Opts {
        training: false,
        ..Opts::default()
    });
    expect_error(
        prod.taxpayer_login(TAXPAYER_A).await,
        403,
        "certificate_required",
    )
    .await;
}

#[tokio::test]
async fn taxpayer_login_refusals_of_s_t1() {
    let app = spawn_app(Opts::default());
    expect_error(app.taxpayer_login(NOT_ELIGIBLE).await, 403, "not_eligible").await;
    expect_error(
        app.taxpayer_login(NO_RATING).await,
        403,
        "credit_rating_unset",
    )
    .await;
    // A valid ID the office does not know.
    expect_error(
        app.taxpayer_login("91110108MA01KHJ970").await,
        403,
        "unknown_taxpayer",
    )
    .await;
    // Not an ID at all: 422 naming the field.
    let body = expect_error(
        app.taxpayer_login("91350100M000100Y44").await,
        422,
        "invalid_value",
    )
    .await;
    assert_eq!(body["error"]["field"], "taxpayer_id");
    assert!(body["error"]["message"].as_str().unwrap().contains("校验"));
}

#[tokio::test]
async fn roles_and_subjects_are_kept_apart() {
    let app = spawn_app(Opts::default());
    let taxpayer = app.taxpayer_token(TAXPAYER_A).await;
    let staff = app.staff_token("admin").await;
    expect_error(
        app.get("/api/v1/office/clock", Some(&taxpayer)).await,
        403,
        "forbidden",
    )
    .await;
    expect_error(app.get("/api/v1/me", Some(&staff)).await, 403, "forbidden").await;
    let auditor = app.staff_token("auditor").await;
    expect_error(
        app.send_json(
            Method::PUT,
            "/api/v1/office/clock",
            Some(&auditor),
            &json!({"now": "2026-12-15T23:59:59+08:00"}),
        )
        .await,
        403,
        "wrong_role",
    )
    .await;
    // The auditor can read the audit log.
    assert_eq!(
        app.get("/api/v1/office/audit", Some(&auditor))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn training_clock_is_settable_only_in_training_mode() {
    let app = spawn_app(Opts::default());
    let op = app.staff_token("operator").await;
    let r = app
        .send_json(
            Method::PUT,
            "/api/v1/office/clock",
            Some(&op),
            &json!({"now": "2026-12-15T23:59:59+08:00"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let now: Value = app
        .get("/api/v1/office/clock", Some(&op))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        now["now"].as_str().unwrap().starts_with("2026-12-1"),
        "{now}"
    );
    assert_eq!(now["set"], true);
    let body = expect_error(
        app.send_json(
            Method::PUT,
            "/api/v1/office/clock",
            Some(&op),
            &json!({"now": "tomorrow"}),
        )
        .await,
        422,
        "invalid_value",
    )
    .await;
    assert_eq!(body["error"]["field"], "now");
    // A new taxpayer created now gets the clock's month as its period.
    assert_eq!(
        fapiao::domain::TaxPeriod::of_date(app.app.clock.now().date_naive()).to_string(),
        "202612"
    );

    let prod = spawn_app(Opts {
        training: false,
        ..Opts::default()
    });
    let op = prod.staff_token("operator").await;
    expect_error(
        prod.send_json(
            Method::PUT,
            "/api/v1/office/clock",
            Some(&op),
            &json!({"now": "2026-12-15T23:59:59+08:00"}),
        )
        .await,
        403,
        "training_only",
    )
    .await;
}

#[tokio::test]
async fn sessions_expire_when_idle_and_at_their_absolute_limit() {
    let app = spawn_app(Opts {
        session: SessionSettings {
            idle_secs: 1,
            max_secs: 3600,
            ..SessionSettings::default()
        },
        ..Opts::default()
    });
    let token = app.taxpayer_token(TAXPAYER_A).await;
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status(),
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    expect_error(
        app.get("/api/v1/me", Some(&token)).await,
        401,
        "session_expired",
    )
    .await;
    // The expired session is gone for good.
    expect_error(
        app.get("/api/v1/me", Some(&token)).await,
        401,
        "not_logged_in",
    )
    .await;

    let app = spawn_app(Opts {
        session: SessionSettings {
            idle_secs: 3600,
            max_secs: 2,
            ..SessionSettings::default()
        },
        ..Opts::default()
    });
    let token = app.staff_token("admin").await;
    for _ in 0..3 {
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let status = app.get("/api/v1/office/clock", Some(&token)).await.status();
        if status == StatusCode::UNAUTHORIZED {
            return;
        }
        assert_eq!(status, StatusCode::OK);
    }
    panic!("session outlived its absolute limit");
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = spawn_app(Opts::default());
    let token = app.taxpayer_token(TAXPAYER_B).await;
    let r = app
        .client
        .delete(app.url("/api/v1/session"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    expect_error(
        app.get("/api/v1/me", Some(&token)).await,
        401,
        "not_logged_in",
    )
    .await;

    let staff = app.staff_token("admin").await;
    let r = app
        .client
        .delete(app.url("/api/v1/office/session"))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    expect_error(
        app.get("/api/v1/office/clock", Some(&staff)).await,
        401,
        "not_logged_in",
    )
    .await;
}
