//! The console's 培训 and 备份 pages over HTTP: who sees which control, the clock's date and
//! quick jumps, saving and restoring a snapshot (with its confirmation), backups from the
//! page; bad input changes nothing.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

fn cookie(token: &str) -> String {
    format!("fapiao_session={token}")
}

async fn page(app: &TestApp, path: &str, token: &str) -> (StatusCode, String) {
    let r = app
        .client
        .get(app.url(path))
        .header("cookie", cookie(token))
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn form(
    app: &TestApp,
    path: &str,
    token: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("cookie", cookie(token))
        .form(fields)
        .send()
        .await
        .unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

async fn clock_now(app: &TestApp, token: &str) -> String {
    let v: Value = app
        .get("/api/v1/office/clock", Some(token))
        .await
        .json()
        .await
        .unwrap();
    v["now"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_training_page_shows_each_role_its_controls_only() {
    let app = spawn_app(Opts::default());
    for (role, sees, clock_form, snapshot_form) in [
        ("admin", true, true, true),
        ("operator", true, true, false),
        ("auditor", true, false, false),
        ("agent", false, false, false),
    ] {
        let t = app.staff_token(role).await;
        let (status, body) = page(&app, "/office/training", &t).await;
        assert_eq!(status.is_success(), sees, "{role}: {status}");
        if sees {
            assert!(body.contains("业务时钟"), "{role}");
            assert_eq!(
                body.contains("action=\"/office/training/clock\""),
                clock_form,
                "{role}: clock form"
            );
            assert_eq!(
                body.contains("action=\"/office/training/snapshots\""),
                snapshot_form,
                "{role}: snapshot form"
            );
        }
        let (status, body) = page(&app, "/office/backups", &t).await;
        assert_eq!(
            status.is_success(),
            matches!(role, "admin" | "auditor"),
            "{role} backups: {status}"
        );
        if status.is_success() {
            assert_eq!(
                body.contains("立即备份"),
                role == "admin",
                "{role}: backup button"
            );
        }
    }
    // A forged POST by the auditor is refused and changes nothing.
    let auditor = app.staff_token("auditor").await;
    let before = clock_now(&app, &auditor).await;
    let r = form(
        &app,
        "/office/training/clock",
        &auditor,
        &[("jump", "filing")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = form(
        &app,
        "/office/training/snapshots",
        &auditor,
        &[("name", "x")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = form(&app, "/office/backups", &auditor, &[]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(!app.data_dir.join("snapshots/x.fapiao-backup").exists());
    let after = clock_now(&app, &auditor).await;
    assert_eq!(&before[..16], &after[..16]);
}

#[tokio::test]
async fn the_clock_by_date_and_by_quick_jumps() {
    let app = spawn_app(Opts {
        clock: Some("2026-11-20T10:00:00+08:00"),
        ..Opts::default()
    });
    let op = app.staff_token("operator").await;
    let r = form(
        &app,
        "/office/training/clock",
        &op,
        &[("jump", "set"), ("date", "2026-12-15"), ("time", "23:50")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/office/training?done=clock");
    assert!(clock_now(&app, &op).await.starts_with("2026-12-15T23:50"));
    let (_, body) = page(&app, "/office/training?done=clock", &op).await;
    assert!(body.contains("培训时钟已设置"));

    let r = form(&app, "/office/training/clock", &op, &[("jump", "filing")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(clock_now(&app, &op).await.starts_with("2027-01-01T09:00"));

    // Bad input: a message, and the clock stays.
    let r = form(
        &app,
        "/office/training/clock",
        &op,
        &[("jump", "set"), ("date", "2026-13-45"), ("time", "9")],
    )
    .await;
    assert!(location(&r).starts_with("/office/training?error="));
    assert!(clock_now(&app, &op).await.starts_with("2027-01-01T09:00"));
    let (_, body) = page(&app, &location(&r), &op).await;
    assert!(body.contains("请填写正确的日期"), "{body}");

    let r = form(&app, "/office/training/clock", &op, &[("jump", "real")]).await;
    assert_eq!(location(&r), "/office/training?done=real");
    let v: Value = app
        .get("/api/v1/office/clock", Some(&op))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["set"], false);
}

#[tokio::test]
async fn a_snapshot_saved_and_restored_from_the_page_after_confirmation() {
    let app = spawn_app(Opts::default());
    let admin = app.staff_token("admin").await;
    let r = form(
        &app,
        "/office/training/snapshots",
        &admin,
        &[("name", "第一课开始前")],
    )
    .await;
    assert_eq!(location(&r), "/office/training?done=saved");
    let (_, body) = page(&app, "/office/training", &admin).await;
    assert!(body.contains("第一课开始前"));
    // A bad name: a message, nothing saved.
    let r = form(
        &app,
        "/office/training/snapshots",
        &admin,
        &[("name", "a/b")],
    )
    .await;
    assert!(location(&r).contains("error="));

    // The class: a new taxpayer.
    let r = app
        .post_json(
            "/api/v1/office/taxpayers",
            Some(&admin),
            &serde_json::json!({
                "taxpayer_id": "91350211MA2YCJ4U8U", "name": "厦门课堂练习有限公司",
                "region": "350000", "eligible": true, "credit_rating": "A"
            }),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());

    let path =
        "/office/training/snapshots/%E7%AC%AC%E4%B8%80%E8%AF%BE%E5%BC%80%E5%A7%8B%E5%89%8D/restore";
    let (status, body) = page(&app, path, &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("确定恢复") && body.contains("重新登录"));
    // Without the confirmation box: refused, nothing restored.
    let r = form(&app, path, &admin, &[]).await;
    assert!(location(&r).contains("error="));
    let r = app
        .get("/api/v1/office/taxpayers/91350211MA2YCJ4U8U", Some(&admin))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // Confirmed: restored; the session ended; the taxpayer of the class is gone.
    let r = form(&app, path, &admin, &[("confirm", "yes")]).await;
    assert!(
        location(&r).starts_with("/office/login?restored="),
        "{}",
        location(&r)
    );
    let (status, _) = page(&app, "/office/training", &admin).await;
    assert_ne!(status, StatusCode::OK);
    let admin = app.staff_token("admin").await;
    let r = app
        .get("/api/v1/office/taxpayers/91350211MA2YCJ4U8U", Some(&admin))
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Backups from the page.
    let r = form(&app, "/office/backups", &admin, &[]).await;
    assert_eq!(location(&r), "/office/backups?done=backup");
    let (_, body) = page(&app, "/office/backups?done=backup", &admin).await;
    assert!(
        body.contains(".fapiao-backup") && body.contains("备份已完成"),
        "{body}"
    );
}
