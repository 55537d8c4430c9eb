//! 人员管理: staff accounts through the API — create, list, update (name, role, disabled),
//! the last administrator, password reset and the change it requires, one's own password,
//! and the audit entries of each change.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

fn app() -> TestApp {
    spawn_app(Opts {
        session: fapiao::config::SessionSettings {
            login_attempts_per_minute: 100_000,
            ..Default::default()
        },
        ..Opts::default()
    })
}

/// Audit entries of `action` on `target`.
fn audited(app: &TestApp, action: &str, target: &str) -> Vec<fapiao::domain::AuditEntry> {
    let filter = fapiao::service::AuditFilter {
        limit: usize::MAX,
        ..Default::default()
    };
    let (_, items) = fapiao::service::office::audit::list(&app.app, &filter).unwrap();
    items
        .into_iter()
        .filter(|e| e.action == action && e.target == target)
        .collect()
}

async fn list(app: &TestApp, token: &str) -> Value {
    let r = app.get("/api/v1/office/staff", Some(token)).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

fn find<'a>(list: &'a Value, username: &str) -> Option<&'a Value> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["username"] == username)
}

async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> reqwest::Response {
    app.send_json(Method::PUT, path, Some(token), &body).await
}

#[tokio::test]
async fn create_list_and_refusals_that_store_nothing() {
    let app = app();
    let admin = app.staff_token("admin").await;
    let r = app
        .post_json(
            "/api/v1/office/staff",
            Some(&admin),
            &json!({"username": "zhangsan", "name": "张三", "role": "operator", "password": "Start-2026"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let s: Value = r.json().await.unwrap();
    assert_eq!(s["username"], "zhangsan");
    assert_eq!(s["name"], "张三");
    assert_eq!(s["role"], "operator");
    assert_eq!(s["disabled"], false);
    assert!(s["created_at"].as_str().is_some());
    assert!(s["last_login_at"].is_null());
    assert_eq!(audited(&app, "staff.create", "zhangsan").len(), 1);

    // The new account logs in and works; the list shows its last login.
    let r = app.staff_login("zhangsan", "Start-2026").await;
    assert_eq!(r.status(), StatusCode::OK);
    let login: Value = r.json().await.unwrap();
    assert_eq!(login["must_change_password"], false);
    let l = list(&app, &admin).await;
    assert_eq!(l["total"], 5);
    assert_eq!(l["items"].as_array().unwrap().len(), 5);
    let z = find(&l, "zhangsan").unwrap();
    assert!(z["last_login_at"].as_str().is_some(), "{z}");
    assert!(find(&l, "admin").unwrap()["last_login_at"].is_string());
    assert!(find(&l, "auditor").unwrap()["last_login_at"].is_null());

    // Refusals: a duplicate, a weak password, a bad username, a bad role — nothing stored.
    let cases = [
        (
            json!({"username": "zhangsan", "name": "重名", "role": "auditor", "password": "Other-2026"}),
            409,
            "duplicate",
        ),
        (
            json!({"username": "lisi", "name": "李四", "role": "operator", "password": "abcdefgh"}),
            422,
            "weak_password",
        ),
        (
            json!({"username": "lisi", "name": "李四", "role": "operator", "password": "short1"}),
            422,
            "weak_password",
        ),
        (
            json!({"username": "李四", "name": "李四", "role": "operator", "password": "Start-2026"}),
            422,
            "invalid_value",
        ),
        (
            json!({"username": "lisi", "name": "李四", "role": "boss", "password": "Start-2026"}),
            422,
            "invalid_value",
        ),
    ];
    for (body, status, code) in cases {
        let r = app
            .post_json("/api/v1/office/staff", Some(&admin), &body)
            .await;
        let e = expect_error(r, status, code).await;
        let msg = e["error"]["message"].as_str().unwrap();
        assert!(!msg.is_ascii(), "a Chinese message: {msg}");
    }
    let l = list(&app, &admin).await;
    assert_eq!(l["total"], 5);
    assert!(find(&l, "lisi").is_none());
    assert_eq!(find(&l, "zhangsan").unwrap()["name"], "张三");
    assert_eq!(find(&l, "zhangsan").unwrap()["role"], "operator");
    assert_eq!(audited(&app, "staff.create", "zhangsan").len(), 1);
    assert!(audited(&app, "staff.create", "lisi").is_empty());

    // Administrators only.
    for role in ["operator", "agent", "auditor"] {
        let t = app.staff_token(role).await;
        let r = app.get("/api/v1/office/staff", Some(&t)).await;
        expect_error(r, 403, "wrong_role").await;
    }
}

#[tokio::test]
async fn update_name_role_and_disabled() {
    let app = app();
    let admin = app.staff_token("admin").await;
    let op = app.staff_token("operator").await;
    let r = put(
        &app,
        "/api/v1/office/staff/operator",
        &admin,
        json!({"name": "王五", "role": "auditor"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let s: Value = r.json().await.unwrap();
    assert_eq!(s["name"], "王五");
    assert_eq!(s["role"], "auditor");
    assert_eq!(s["disabled"], false);
    // The new role applies to the session at once: an auditor changes nothing.
    let r = app
        .post_json("/api/v1/office/statistics/refresh", Some(&op), &json!({}))
        .await;
    expect_error(r, 403, "wrong_role").await;
    let entries = audited(&app, "staff.update", "operator");
    assert_eq!(entries.len(), 1);
    assert!(
        entries[0].detail.contains("role=auditor"),
        "{:?}",
        entries[0]
    );

    // Bad input changes nothing.
    for body in [
        json!({"role": "boss", "name": "不该改"}),
        json!({"name": "   "}),
        json!({"disabled": "yes"}),
        json!({"surprise": 1}),
    ] {
        let r = put(&app, "/api/v1/office/staff/operator", &admin, body).await;
        expect_error(r, 422, "invalid_value").await;
    }
    let r = put(
        &app,
        "/api/v1/office/staff/nobody",
        &admin,
        json!({"name": "某"}),
    )
    .await;
    expect_error(r, 404, "not_found").await;
    let l = list(&app, &admin).await;
    let o = find(&l, "operator").unwrap();
    assert_eq!(
        (o["name"].as_str(), o["role"].as_str()),
        (Some("王五"), Some("auditor"))
    );
    assert_eq!(audited(&app, "staff.update", "operator").len(), 1);

    // Disabled: the session ends and the account can no longer log in; enabled again, it can.
    let r = put(
        &app,
        "/api/v1/office/staff/operator",
        &admin,
        json!({"disabled": true}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["disabled"], true);
    let r = app.get("/api/v1/office/clock", Some(&op)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app.staff_login("operator", PASSWORD).await;
    expect_error(r, 401, "login_failed").await;
    let r = put(
        &app,
        "/api/v1/office/staff/operator",
        &admin,
        json!({"disabled": false}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        app.staff_login("operator", PASSWORD).await.status(),
        StatusCode::OK
    );
    assert_eq!(audited(&app, "staff.update", "operator").len(), 3);
}

#[tokio::test]
async fn the_last_active_administrator_stays() {
    let app = app();
    let admin = app.staff_token("admin").await;
    for body in [json!({"disabled": true}), json!({"role": "operator"})] {
        let r = put(&app, "/api/v1/office/staff/admin", &admin, body).await;
        let e = expect_error(r, 409, "last_admin").await;
        assert_eq!(e["error"]["message"], "至少需要保留一名启用的管理员");
    }
    let l = list(&app, &admin).await;
    let a = find(&l, "admin").unwrap();
    assert_eq!(
        (a["role"].as_str(), a["disabled"].as_bool()),
        (Some("admin"), Some(false))
    );
    assert!(audited(&app, "staff.update", "admin").is_empty());

    // A second administrator, disabled, does not count; enabled, it does.
    let r = app
        .post_json(
            "/api/v1/office/staff",
            Some(&admin),
            &json!({"username": "admin2", "name": "副管理员", "role": "admin", "password": "Start-2026"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = put(
        &app,
        "/api/v1/office/staff/admin2",
        &admin,
        json!({"disabled": true}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = put(
        &app,
        "/api/v1/office/staff/admin",
        &admin,
        json!({"role": "auditor"}),
    )
    .await;
    expect_error(r, 409, "last_admin").await;
    let r = put(
        &app,
        "/api/v1/office/staff/admin2",
        &admin,
        json!({"disabled": false}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = put(
        &app,
        "/api/v1/office/staff/admin",
        &admin,
        json!({"role": "auditor"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    // Now admin2 is the last one.
    let admin2 = app.staff_token_with("admin2", "Start-2026").await;
    let r = put(
        &app,
        "/api/v1/office/staff/admin2",
        &admin2,
        json!({"disabled": true}),
    )
    .await;
    expect_error(r, 409, "last_admin").await;
}

#[tokio::test]
async fn a_reset_password_must_be_changed_before_anything_else() {
    let app = app();
    let admin = app.staff_token("admin").await;
    let op = app.staff_token("operator").await;
    // A weak one is refused and changes nothing.
    let r = app
        .post_json(
            "/api/v1/office/staff/operator/password",
            Some(&admin),
            &json!({"password": "12345678"}),
        )
        .await;
    expect_error(r, 422, "weak_password").await;
    assert_eq!(
        app.get("/api/v1/office/clock", Some(&op)).await.status(),
        StatusCode::OK
    );
    let r = app
        .post_json(
            "/api/v1/office/staff/nobody/password",
            Some(&admin),
            &json!({"password": "Reset-2026"}),
        )
        .await;
    expect_error(r, 404, "not_found").await;

    let r = app
        .post_json(
            "/api/v1/office/staff/operator/password",
            Some(&admin),
            &json!({"password": "Reset-2026"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(audited(&app, "staff.password_reset", "operator").len(), 1);
    // The reset ends the account's sessions; the old password no longer works.
    let r = app.get("/api/v1/office/clock", Some(&op)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    expect_error(
        app.staff_login("operator", PASSWORD).await,
        401,
        "login_failed",
    )
    .await;

    let r = app.staff_login("operator", "Reset-2026").await;
    assert_eq!(r.status(), StatusCode::OK);
    let login: Value = r.json().await.unwrap();
    assert_eq!(login["must_change_password"], true);
    let op = login["token"].as_str().unwrap().to_string();
    // Every other staff route is refused, the console page too.
    let r = app.get("/api/v1/office/clock", Some(&op)).await;
    let e = expect_error(r, 403, "password_change_required").await;
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("请先修改密码"));
    let r = app.get("/api/v1/office/taxpayers", Some(&op)).await;
    expect_error(r, 403, "password_change_required").await;
    let r = app
        .client
        .get(app.url("/office"))
        .header("cookie", format!("fapiao_session={op}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // A wrong old password, or a weak new one, changes nothing.
    let r = put(
        &app,
        "/api/v1/office/me/password",
        &op,
        json!({"old": "Wrong-2026", "new": "Mine-2026!"}),
    )
    .await;
    let e = expect_error(r, 422, "invalid_value").await;
    assert_eq!(e["error"]["field"], "old");
    let r = put(
        &app,
        "/api/v1/office/me/password",
        &op,
        json!({"old": "Reset-2026", "new": "password"}),
    )
    .await;
    let e = expect_error(r, 422, "weak_password").await;
    assert_eq!(e["error"]["field"], "new");
    let r = put(
        &app,
        "/api/v1/office/me/password",
        &op,
        json!({"old": "Reset-2026", "new": "Reset-2026"}),
    )
    .await;
    expect_error(r, 422, "weak_password").await;
    assert!(audited(&app, "staff.password_change", "operator").is_empty());
    expect_error(
        app.get("/api/v1/office/clock", Some(&op)).await,
        403,
        "password_change_required",
    )
    .await;

    // The change: everything works again, with the new password only.
    let r = put(
        &app,
        "/api/v1/office/me/password",
        &op,
        json!({"old": "Reset-2026", "new": "Mine-2026!"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["changed"], true);
    assert_eq!(audited(&app, "staff.password_change", "operator").len(), 1);
    assert_eq!(
        app.get("/api/v1/office/clock", Some(&op)).await.status(),
        StatusCode::OK
    );
    expect_error(
        app.staff_login("operator", "Reset-2026").await,
        401,
        "login_failed",
    )
    .await;
    let r = app.staff_login("operator", "Mine-2026!").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.unwrap()["must_change_password"],
        false
    );
}

#[tokio::test]
async fn anyone_changes_their_own_password_with_the_old_one() {
    let app = app();
    let agent = app.staff_token("agent").await;
    let r = put(
        &app,
        "/api/v1/office/me/password",
        &agent,
        json!({"old": "Wrong-pass-1", "new": "Agent-2027"}),
    )
    .await;
    let e = expect_error(r, 422, "invalid_value").await;
    assert_eq!(e["error"]["message"], "原密码不正确");
    assert_eq!(
        app.staff_login("agent", PASSWORD).await.status(),
        StatusCode::OK
    );
    assert!(audited(&app, "staff.password_change", "agent").is_empty());
    let r = put(
        &app,
        "/api/v1/office/me/password",
        &agent,
        json!({"old": PASSWORD, "new": "Agent-2027"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(audited(&app, "staff.password_change", "agent").len(), 1);
    assert_eq!(
        app.staff_login("agent", "Agent-2027").await.status(),
        StatusCode::OK
    );
    expect_error(
        app.staff_login("agent", PASSWORD).await,
        401,
        "login_failed",
    )
    .await;
    // A taxpayer has no staff password.
    let t = app.taxpayer_token(TAXPAYER_A).await;
    let r = put(
        &app,
        "/api/v1/office/me/password",
        &t,
        json!({"old": "x", "new": "Agent-2027"}),
    )
    .await;
    expect_error(r, 403, "forbidden").await;
}

#[tokio::test]
async fn wrong_old_passwords_count_with_wrong_logins() {
    let app = spawn_app(Opts {
        session: fapiao::config::SessionSettings {
            login_attempts_per_minute: 1000,
            ..Default::default()
        },
        ..Opts::default()
    });
    let op = app.staff_token("operator").await;
    let change = |old: &str| serde_json::json!({"old": old, "new": "Another-2026"});
    for i in 0..5 {
        let r = app
            .send_json(
                reqwest::Method::PUT,
                "/api/v1/office/me/password",
                Some(&op),
                &change(&format!("Wrong-{i}-pass")),
            )
            .await;
        let body = expect_error(r, 422, "invalid_value").await;
        assert_eq!(body["error"]["field"], "old");
    }
    // The limit is reached: even the right old password waits, and so does a login.
    let r = app
        .send_json(
            reqwest::Method::PUT,
            "/api/v1/office/me/password",
            Some(&op),
            &change(PASSWORD),
        )
        .await;
    expect_error(r, 429, "too_many_attempts").await;
    let r = app.staff_login("operator", PASSWORD).await;
    expect_error(r, 429, "too_many_attempts").await;
}

/// A page form post with the session cookie (no Origin: not cross-site).
async fn form(
    app: &TestApp,
    path: &str,
    cookie: Option<&str>,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut r = app.client.post(app.url(path)).form(fields);
    if let Some(c) = cookie {
        r = r.header("cookie", c);
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn a_reset_user_changes_the_password_in_the_console_first() {
    let app = app();
    let admin = app.staff_token("admin").await;
    let r = app
        .post_json(
            "/api/v1/office/staff/operator/password",
            Some(&admin),
            &json!({"password": "Reset-2026"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // The console login leads to 修改密码.
    let r = form(
        &app,
        "/office/login",
        None,
        &[("username", "operator"), ("password", "Reset-2026")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/office/password?required=1");
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("fapiao_session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let get = |path: &'static str| {
        let (app, cookie) = (&app, cookie.clone());
        async move {
            app.client
                .get(app.url(path))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
        }
    };
    let r = get("/office").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("请先修改密码"));
    let page = get("/office/password?required=1").await;
    assert_eq!(page.status(), StatusCode::OK);
    let text = page.text().await.unwrap();
    assert!(
        text.contains("管理员已重置您的密码") && text.contains("确认新密码"),
        "{text}"
    );
    // Two different new passwords, then a wrong old one: refused, nothing changed.
    let r = form(
        &app,
        "/office/password",
        Some(&cookie),
        &[
            ("old", "Reset-2026"),
            ("new", "Mine-2026x"),
            ("confirm", "Mine-2026y"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("两次输入的新密码不一致"));
    let r = form(
        &app,
        "/office/password",
        Some(&cookie),
        &[
            ("old", "Wrong-2026"),
            ("new", "Mine-2026x"),
            ("confirm", "Mine-2026x"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("原密码不正确"));
    assert_eq!(get("/office").await.status(), StatusCode::FORBIDDEN);
    // The right change: back to the console, which works again.
    let r = form(
        &app,
        "/office/password",
        Some(&cookie),
        &[
            ("old", "Reset-2026"),
            ("new", "Mine-2026x"),
            ("confirm", "Mine-2026x"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/office?password=changed");
    let r = get("/office?password=changed").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("密码已修改"));
    let r = app.staff_login("operator", "Mine-2026x").await;
    assert_eq!(r.status(), StatusCode::OK);
}
