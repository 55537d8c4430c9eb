//! The period, selection and confirmation engine over HTTP: every endpoint of the taxpayer
//! and office APIs it drives, their refusals and audit entries, a month of a taxpayer's life,
//! a restart over a deadline, and concurrency.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

const S1: &str = "91330100716105852F";

/// An invoice line for the office import: A's invoice `n` of `issued_on`.
fn line(buyer: &str, code: &str, n: u32, issued_on: &str, amount: i64) -> String {
    json!({
        "code": code, "number": format!("{n:08}"), "type": "special", "issued_on": issued_on,
        "seller_id": S1, "seller_name": "杭州宏远信息技术有限公司", "buyer_id": buyer,
        "amount": amount, "tax": amount * 13 / 100,
    })
    .to_string()
}

async fn import(app: &TestApp, op: &str, lines: &[String]) {
    let r = app
        .client
        .post(app.url("/api/v1/office/invoices"))
        .bearer_auth(op)
        .header("content-type", "application/x-ndjson")
        .body(lines.join("\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
}

fn keys(code: &str, ns: &[u32]) -> Value {
    Value::Array(
        ns.iter()
            .map(|n| json!({"code": code, "number": format!("{n:08}")}))
            .collect(),
    )
}

async fn json_of(r: reqwest::Response, status: u16) -> Value {
    let s = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!(s, status, "body: {body}");
    body
}

async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> reqwest::Response {
    app.send_json(Method::PUT, path, Some(token), &body).await
}

async fn set_clock(app: &TestApp, admin: &str, now: &str) {
    json_of(
        put(app, "/api/v1/office/clock", admin, json!({"now": now})).await,
        200,
    )
    .await;
}

async fn me(app: &TestApp, tok: &str) -> Value {
    json_of(app.get("/api/v1/me", Some(tok)).await, 200).await
}

async fn audit_actions(app: &TestApp, admin: &str) -> Vec<String> {
    let body = json_of(
        app.get("/api/v1/office/audit?per_page=500", Some(admin))
            .await,
        200,
    )
    .await;
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

/// A: 8 invoices of November 2026 (code 3500261130, numbers 1..=8, ¥100.00 × n).
async fn november() -> (TestApp, String, String) {
    november_in(None).await
}

async fn november_in(data_dir: Option<std::path::PathBuf>) -> (TestApp, String, String) {
    let app = spawn_app(Opts {
        clock: Some("2026-11-20T10:00:00+08:00"),
        data_dir,
        ..Opts::default()
    });
    let op = app.staff_token("operator").await;
    let admin = app.staff_token("admin").await;
    let lines: Vec<String> = (1..=8)
        .map(|n| {
            line(
                TAXPAYER_A,
                "3500261130",
                n,
                &format!("2026-11-{n:02}"),
                10_000 * i64::from(n),
            )
        })
        .chain([line(TAXPAYER_B, "4400261130", 1, "2026-11-03", 5_000)])
        .collect();
    import(&app, &op, &lines).await;
    (app, op, admin)
}

#[tokio::test]
async fn a_month_of_a_taxpayers_life() {
    let (app, op, admin) = november().await;
    let a = app.taxpayer_token(TAXPAYER_A).await;
    let m = me(&app, &a).await;
    assert_eq!(m["current_period"], "202611");
    assert_eq!(m["window_closes"], "2026-12-15");
    assert_eq!(
        m["filing_period"],
        json!({"from": "2026-12-01", "to": "2026-12-15"})
    );
    assert_eq!(m["in_filing_period"], false);
    assert_eq!(m["rollback_allowed"], false);

    // 发票勾选 保存: valid rows apply, the others are reported.
    let mut select = keys("3500261130", &[1, 2, 3]);
    select
        .as_array_mut()
        .unwrap()
        .extend(keys("4400261130", &[1]).as_array().unwrap().clone());
    select
        .as_array_mut()
        .unwrap()
        .push(json!({"code": "3500261130", "number": "00000099"}));
    select
        .as_array_mut()
        .unwrap()
        .push(json!({"code": "12", "number": "1"}));
    let r = json_of(
        app.post_json(
            "/api/v1/selections",
            Some(&a),
            &json!({"select": select, "unselect": keys("3500261130", &[4])}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (r["selected"].as_u64(), r["unselected"].as_u64()),
        (Some(3), Some(0))
    );
    let reasons: Vec<&str> = r["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "unknown_invoice",
            "unknown_invoice",
            "not_selected",
            "invalid_key"
        ]
    );
    // The query sees the selection.
    let q = json_of(
        app.get(
            "/api/v1/invoices?issued_from=2026-11-01&issued_to=2026-11-30&selected=true",
            Some(&a),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(q["total"], 3);
    assert_eq!(q["tax"], (10_000 + 20_000 + 30_000) * 13 / 100);

    // 确定 → pending batch 1; 提交 outside the filing period → submitted.
    let b = json_of(
        app.post_json("/api/v1/confirmations", Some(&a), &json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(b["status"], "pending");
    assert_eq!(
        (
            b["period"].as_str(),
            b["batch"].as_u64(),
            b["count"].as_u64()
        ),
        (Some("202611"), Some(1), Some(3))
    );
    assert_eq!(b["amount"], 60_000);
    assert_eq!(
        (
            b["period_confirmed_count"].as_u64(),
            b["period_batches"].as_u64()
        ),
        (Some(0), Some(0))
    );
    let s = json_of(
        app.post_json(
            "/api/v1/confirmations/202611/1/submit",
            Some(&a),
            &json!({"declaration": null}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(s["status"], "submitted");
    assert_eq!(
        (
            s["period_confirmed_count"].as_u64(),
            s["period_batches"].as_u64()
        ),
        (Some(3), Some(1))
    );
    // Idempotent.
    let again = json_of(
        app.post_json(
            "/api/v1/confirmations/202611/1/submit",
            Some(&a),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(again, s);
    // History and detail.
    let list = json_of(
        app.get("/api/v1/confirmations?period=202611", Some(&a))
            .await,
        200,
    )
    .await;
    assert_eq!(list["items"][0]["status"], "submitted");
    let detail = json_of(
        app.get("/api/v1/confirmations/202611/1", Some(&a)).await,
        200,
    )
    .await;
    let nums: Vec<&str> = detail["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["number"].as_str().unwrap())
        .collect();
    assert_eq!(nums, ["00000001", "00000002", "00000003"]);
    assert_eq!(detail["invoices"][0]["selection"], "confirmed");
    assert_eq!(detail["invoices"][0]["batch"], 1);
    assert_eq!(detail["invoices"][0]["certified_on"], "2026-11-20");
    // 单票查询 shows the history.
    let one = json_of(
        app.get("/api/v1/invoices/3500261130/00000001", Some(&a))
            .await,
        200,
    )
    .await;
    let actions: Vec<&str> = one["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["selected", "confirmed"]);
    assert_eq!(one["history"][1]["batch"], 1);

    // The filing period: 提交 asks for the declaration.
    set_clock(&app, &admin, "2026-12-03T09:00:00+08:00").await;
    let m = me(&app, &a).await;
    assert_eq!(m["in_filing_period"], true);
    json_of(
        app.post_json(
            "/api/v1/selections",
            Some(&a),
            &json!({"select": keys("3500261130", &[4, 5])}),
        )
        .await,
        200,
    )
    .await;
    let b = json_of(
        app.post_json("/api/v1/confirmations", Some(&a), &json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(
        (
            b["batch"].as_u64(),
            b["period_confirmed_count"].as_u64(),
            b["period_batches"].as_u64()
        ),
        (Some(2), Some(3), Some(1))
    );
    let e = expect_error(
        app.post_json(
            "/api/v1/confirmations/202611/2/submit",
            Some(&a),
            &json!({}),
        )
        .await,
        409,
        "declaration_answer_required",
    )
    .await;
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("2026年11月"));
    let u = json_of(
        app.post_json(
            "/api/v1/confirmations/202611/2/submit",
            Some(&a),
            &json!({"declaration": "unsure"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(u["status"], "pending");
    // 已完成申报 by mistake: void, the period advances.
    let v = json_of(
        app.post_json(
            "/api/v1/confirmations/202611/2/submit",
            Some(&a),
            &json!({"declaration": "declared"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (
            v["status"].as_str(),
            v["reason"].as_str(),
            v["current_period"].as_str()
        ),
        (Some("void"), Some("taxpayer_declared"), Some("202612"))
    );
    let m = me(&app, &a).await;
    assert_eq!(m["current_period"], "202612");
    // Not yet allowed back: the declaration of 202611 is not known as 未申报.
    assert_eq!(m["rollback_allowed"], false);
    expect_error(
        app.post_json("/api/v1/period/rollback", Some(&a), &json!({}))
            .await,
        409,
        "previous_period_declared",
    )
    .await;
    // The office records 未申报: 回退 appears and works, and logs the taxpayer out.
    let d = json_of(
        put(
            &app,
            &format!("/api/v1/office/declarations/{TAXPAYER_A}/202611"),
            &op,
            json!({"status": "not_declared"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(d["current_period"], "202612");
    assert_eq!(me(&app, &a).await["rollback_allowed"], true);
    let r = json_of(
        app.post_json("/api/v1/period/rollback", Some(&a), &json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(r["current_period"], "202611");
    expect_error(app.get("/api/v1/me", Some(&a)).await, 401, "not_logged_in").await;
    let a = app.taxpayer_token(TAXPAYER_A).await;
    assert_eq!(me(&app, &a).await["current_period"], "202611");
    // Now confirm properly (未完成申报).
    json_of(
        app.post_json(
            "/api/v1/selections",
            Some(&a),
            &json!({"select": keys("3500261130", &[4, 5])}),
        )
        .await,
        200,
    )
    .await;
    let b = json_of(
        app.post_json("/api/v1/confirmations", Some(&a), &json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(b["batch"], 3);
    let s = json_of(
        app.post_json(
            "/api/v1/confirmations/202611/3/submit",
            Some(&a),
            &json!({"declaration": "not_declared"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(s["status"], "submitted");
    assert_eq!(s["period_confirmed_count"], 5);
    // The declaration arrives: the window closes, the leftover selection goes back.
    json_of(
        app.post_json(
            "/api/v1/selections",
            Some(&a),
            &json!({"select": keys("3500261130", &[6])}),
        )
        .await,
        200,
    )
    .await;
    let d = json_of(
        put(
            &app,
            &format!("/api/v1/office/declarations/{TAXPAYER_A}/202611"),
            &op,
            json!({"status": "declared"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(d["current_period"], "202612");
    let six = json_of(
        app.get("/api/v1/invoices/3500261130/00000006", Some(&a))
            .await,
        200,
    )
    .await;
    assert_eq!(six["selection"], "unselected");
    assert_eq!(six["history"][1]["action"], "unselected");
    let m = me(&app, &a).await;
    assert_eq!(
        (
            m["current_period"].as_str(),
            m["rollback_allowed"].as_bool()
        ),
        (Some("202612"), Some(false))
    );

    let actions = audit_actions(&app, &admin).await;
    for a in [
        "selection.save",
        "confirmation.make",
        "confirmation.submit",
        "confirmation.submit_repeated",
        "confirmation.unsure",
        "confirmation.void",
        "declaration.record",
        "period.rollback",
        "period.close",
        "clock.set",
    ] {
        assert!(
            actions.iter().any(|x| x == a),
            "no audit entry {a}: {actions:?}"
        );
    }
    // The audit log exports as CSV (auditors read; taxpayers may not).
    let auditor = app.staff_token("auditor").await;
    let r = app
        .get("/api/v1/office/audit/export.csv", Some(&auditor))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = r.text().await.unwrap();
    assert!(text.starts_with("\u{feff}序号,时间"), "{}", &text[..40]);
    assert!(text.contains("period.rollback") && text.contains(TAXPAYER_A));
    expect_error(
        app.get("/api/v1/office/audit/export.csv", Some(&a)).await,
        403,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn confirmation_refusals() {
    let (app, _op, admin) = november().await;
    let a = app.taxpayer_token(TAXPAYER_A).await;
    expect_error(
        app.post_json("/api/v1/confirmations", Some(&a), &json!({}))
            .await,
        422,
        "nothing_selected",
    )
    .await;
    json_of(
        app.post_json(
            "/api/v1/selections",
            Some(&a),
            &json!({"select": keys("3500261130", &[1])}),
        )
        .await,
        200,
    )
    .await;
    json_of(
        app.post_json("/api/v1/confirmations", Some(&a), &json!({}))
            .await,
        200,
    )
    .await;
    json_of(
        app.post_json(
            "/api/v1/selections",
            Some(&a),
            &json!({"unselect": keys("3500261130", &[1]), "select": keys("3500261130", &[2])}),
        )
        .await,
        200,
    )
    .await;
    expect_error(
        app.post_json(
            "/api/v1/confirmations/202611/1/submit",
            Some(&a),
            &json!({}),
        )
        .await,
        409,
        "selection_changed",
    )
    .await;
    expect_error(
        app.post_json(
            "/api/v1/confirmations/202611/7/submit",
            Some(&a),
            &json!({}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    expect_error(
        app.post_json("/api/v1/confirmations/2026/1/submit", Some(&a), &json!({}))
            .await,
        422,
        "invalid_value",
    )
    .await;
    expect_error(
        app.post_json(
            "/api/v1/confirmations/202611/x/submit",
            Some(&a),
            &json!({}),
        )
        .await,
        422,
        "invalid_value",
    )
    .await;
    expect_error(
        app.post_json(
            "/api/v1/confirmations/202611/1/submit",
            Some(&a),
            &json!({"declaration": "maybe"}),
        )
        .await,
        422,
        "invalid_value",
    )
    .await;
    expect_error(
        app.get("/api/v1/confirmations/202611/9", Some(&a)).await,
        404,
        "not_found",
    )
    .await;
    // Rollback refused: not advanced by the taxpayer.
    expect_error(
        app.post_json("/api/v1/period/rollback", Some(&a), &json!({}))
            .await,
        409,
        "not_manual_advance",
    )
    .await;
    // Outside the filing period after a wrong 已完成申报.
    set_clock(&app, &admin, "2026-12-02T09:00:00+08:00").await;
    json_of(
        app.post_json("/api/v1/confirmations", Some(&a), &json!({}))
            .await,
        200,
    )
    .await;
    let v = json_of(
        app.post_json(
            "/api/v1/confirmations/202611/1/submit",
            Some(&a),
            &json!({"declaration": "declared"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(v["reason"], "taxpayer_declared");
    // Confirmed in the new period.
    json_of(
        app.post_json(
            "/api/v1/selections",
            Some(&a),
            &json!({"select": keys("3500261130", &[3])}),
        )
        .await,
        200,
    )
    .await;
    json_of(
        app.post_json("/api/v1/confirmations", Some(&a), &json!({}))
            .await,
        200,
    )
    .await;
    json_of(
        app.post_json(
            "/api/v1/confirmations/202612/1/submit",
            Some(&a),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    expect_error(
        app.post_json("/api/v1/period/rollback", Some(&a), &json!({}))
            .await,
        409,
        "confirmed_in_new_period",
    )
    .await;
    // Nothing selected after the submit; malformed JSON is 400.
    let r = app
        .client
        .post(app.url("/api/v1/selections"))
        .bearer_auth(&a)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
}

#[tokio::test]
async fn rollback_outside_the_filing_period_is_refused() {
    let (app, op, admin) = november().await;
    let a = app.taxpayer_token(TAXPAYER_A).await;
    set_clock(&app, &admin, "2026-12-14T09:00:00+08:00").await;
    json_of(
        app.post_json(
            "/api/v1/selections",
            Some(&a),
            &json!({"select": keys("3500261130", &[1])}),
        )
        .await,
        200,
    )
    .await;
    json_of(
        app.post_json("/api/v1/confirmations", Some(&a), &json!({}))
            .await,
        200,
    )
    .await;
    json_of(
        app.post_json(
            "/api/v1/confirmations/202611/1/submit",
            Some(&a),
            &json!({"declaration": "declared"}),
        )
        .await,
        200,
    )
    .await;
    json_of(
        put(
            &app,
            &format!("/api/v1/office/declarations/{TAXPAYER_A}/202611"),
            &op,
            json!({"status": "not_declared"}),
        )
        .await,
        200,
    )
    .await;
    set_clock(&app, &admin, "2026-12-16T00:00:00+08:00").await;
    // Moving the clock settles everyone at once (what the minute timer does): the office's
    // list, which settles nobody itself, already shows the period closed for B.
    let list = json_of(
        app.get(
            &format!("/api/v1/office/taxpayers?q={TAXPAYER_B}"),
            Some(&op),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(list["items"][0]["current_period"], "202612");
    let a = app.taxpayer_token(TAXPAYER_A).await;
    expect_error(
        app.post_json("/api/v1/period/rollback", Some(&a), &json!({}))
            .await,
        409,
        "outside_filing_period",
    )
    .await;
}

#[tokio::test]
async fn deadline_day_boundary_and_restart_over_midnight() {
    let keep = tempfile::tempdir().unwrap();
    let dir = keep.path().join("data");
    let (app, op, admin) = november_in(Some(dir.clone())).await;
    let a = app.taxpayer_token(TAXPAYER_A).await;
    // The office moves Fujian's deadline for 202611 to the 17th.
    let r = json_of(
        put(
            &app,
            "/api/v1/office/deadlines/350000/202611",
            &op,
            json!({"deadline": "2026-12-17"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["deadline"], "2026-12-17");
    expect_error(
        put(
            &app,
            "/api/v1/office/deadlines/350000/202611",
            &op,
            json!({"deadline": "2027-01-03"}),
        )
        .await,
        422,
        "invalid_value",
    )
    .await;
    expect_error(
        put(
            &app,
            "/api/v1/office/deadlines/999999/202611",
            &op,
            json!({"deadline": "2026-12-17"}),
        )
        .await,
        422,
        "invalid_value",
    )
    .await;
    let list = json_of(
        app.get("/api/v1/office/deadlines/350000?year=2026", Some(&op))
            .await,
        200,
    )
    .await;
    assert_eq!(
        list["items"][10],
        json!({"period": "202611", "deadline": "2026-12-17", "recorded": true})
    );
    assert_eq!(
        list["items"][9],
        json!({"period": "202610", "deadline": "2026-11-15", "recorded": false})
    );
    assert_eq!(me(&app, &a).await["window_closes"], "2026-12-17");
    json_of(
        app.post_json(
            "/api/v1/selections",
            Some(&a),
            &json!({"select": keys("3500261130", &[1, 2])}),
        )
        .await,
        200,
    )
    .await;
    set_clock(&app, &admin, "2026-12-17T23:59:59+08:00").await;
    assert_eq!(me(&app, &a).await["current_period"], "202611");
    // Stop the server before midnight; start it again on the 18th.
    drop(app);
    let app = spawn_app(Opts {
        clock: Some("2026-12-18T00:00:00+08:00"),
        data_dir: Some(dir),
        ..Opts::default()
    });
    let a = app.taxpayer_token(TAXPAYER_A).await;
    let m = me(&app, &a).await;
    assert_eq!(m["current_period"], "202612");
    let one = json_of(
        app.get("/api/v1/invoices/3500261130/00000001", Some(&a))
            .await,
        200,
    )
    .await;
    assert_eq!(one["selection"], "unselected");
    let why = one["history"][1]["detail"].as_str().unwrap();
    assert!(why.contains("勾选确认期已结束"), "{why}");
}

#[tokio::test]
async fn invoice_status_changes_single_and_bulk() {
    let (app, op, _admin) = november().await;
    let a = app.taxpayer_token(TAXPAYER_A).await;
    let auditor = app.staff_token("auditor").await;
    json_of(
        app.post_json(
            "/api/v1/selections",
            Some(&a),
            &json!({"select": keys("3500261130", &[1, 2])}),
        )
        .await,
        200,
    )
    .await;
    let inv = json_of(
        put(
            &app,
            "/api/v1/office/invoices/3500261130/00000001/status",
            &op,
            json!({"status": "out_of_control"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (inv["status"].as_str(), inv["selection"].as_str()),
        (Some("out_of_control"), Some("unselected"))
    );
    expect_error(
        put(
            &app,
            "/api/v1/office/invoices/3500261130/00000001/status",
            &op,
            json!({"status": "lost"}),
        )
        .await,
        422,
        "invalid_value",
    )
    .await;
    expect_error(
        put(
            &app,
            "/api/v1/office/invoices/3500261130/00000077/status",
            &op,
            json!({"status": "voided"}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    expect_error(
        put(
            &app,
            "/api/v1/office/invoices/3500261130/00000002/status",
            &auditor,
            json!({"status": "voided"}),
        )
        .await,
        403,
        "wrong_role",
    )
    .await;
    expect_error(
        put(
            &app,
            "/api/v1/office/invoices/3500261130/00000002/status",
            &a,
            json!({"status": "voided"}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    // Bulk: all or nothing.
    let mut list = keys("3500261130", &[2, 3]);
    list.as_array_mut()
        .unwrap()
        .push(json!({"code": "3500261130", "number": "00000077"}));
    expect_error(
        app.post_json(
            "/api/v1/office/invoices/status",
            Some(&op),
            &json!({"status": "voided", "invoices": list}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let two = json_of(
        app.get("/api/v1/invoices/3500261130/00000002", Some(&a))
            .await,
        200,
    )
    .await;
    assert_eq!(
        (two["status"].as_str(), two["selection"].as_str()),
        (Some("normal"), Some("selected"))
    );
    let r = json_of(
        app.post_json(
            "/api/v1/office/invoices/status",
            Some(&op),
            &json!({"status": "voided", "invoices": keys("3500261130", &[2, 3])}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["changed"], 2);
    let two = json_of(
        app.get("/api/v1/invoices/3500261130/00000002?", Some(&a))
            .await,
        200,
    )
    .await;
    assert_eq!(
        (two["status"].as_str(), two["selection"].as_str()),
        (Some("voided"), Some("unselected"))
    );
    let actions: Vec<&str> = two["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["selected", "status", "unselected"]);
}

#[tokio::test]
async fn office_taxpayers_create_update_search_unlock() {
    let app = spawn_app(Opts {
        clock: Some("2026-11-20T10:00:00+08:00"),
        ..Opts::default()
    });
    let op = app.staff_token("operator").await;
    let auditor = app.staff_token("auditor").await;
    let new_id = "91350211MA2YCJ4U8U";
    let body = json!({"taxpayer_id": new_id, "name": "厦门海联贸易有限公司", "region": "350200", "eligible": true, "credit_rating": "B"});
    expect_error(
        app.post_json("/api/v1/office/taxpayers", Some(&auditor), &body)
            .await,
        403,
        "wrong_role",
    )
    .await;
    let t = json_of(
        app.post_json("/api/v1/office/taxpayers", Some(&op), &body)
            .await,
        201,
    )
    .await;
    assert_eq!(
        (t["current_period"].as_str(), t["credit_rating"].as_str()),
        (Some("202611"), Some("B"))
    );
    expect_error(
        app.post_json("/api/v1/office/taxpayers", Some(&op), &body)
            .await,
        409,
        "duplicate",
    )
    .await;
    let bad = json!({"taxpayer_id": "91350211MA2YCJ4U8X", "name": "x", "region": "350200"});
    let e = expect_error(
        app.post_json("/api/v1/office/taxpayers", Some(&op), &bad)
            .await,
        422,
        "invalid_value",
    )
    .await;
    assert_eq!(e["error"]["field"], "taxpayer_id");
    let e = expect_error(
        app.post_json(
            "/api/v1/office/taxpayers",
            Some(&op),
            &json!({"taxpayer_id": "91350211MA2YCJ4U8U", "name": "x", "credit_rating": "Z"}),
        )
        .await,
        422,
        "invalid_value",
    )
    .await;
    assert_eq!(e["error"]["field"], "credit_rating");
    // Update: each change is recorded.
    let path = format!("/api/v1/office/taxpayers/{new_id}");
    let t = json_of(
        put(
            &app,
            &path,
            &op,
            json!({"credit_rating": "A", "eligible": false}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (t["credit_rating"].as_str(), t["eligible"].as_bool()),
        (Some("A"), Some(false))
    );
    json_of(
        put(&app, &path, &op, json!({"credit_rating": null})).await,
        200,
    )
    .await;
    let t = json_of(app.get(&path, Some(&auditor)).await, 200).await;
    assert_eq!(t["credit_rating"], Value::Null);
    let fields: Vec<&str> = t["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["eligible", "credit_rating", "credit_rating"]);
    assert_eq!(t["credit_rating_changes"].as_array().unwrap().len(), 3);
    expect_error(
        put(&app, &path, &auditor, json!({"name": "x"})).await,
        403,
        "wrong_role",
    )
    .await;
    expect_error(
        put(&app, &path, &op, json!({"name": " "})).await,
        422,
        "invalid_value",
    )
    .await;
    expect_error(
        put(
            &app,
            "/api/v1/office/taxpayers/91350211MA2YCJ4U8X",
            &op,
            json!({"name": "x"}),
        )
        .await,
        422,
        "invalid_value",
    )
    .await;
    expect_error(
        put(
            &app,
            "/api/v1/office/taxpayers/914403001922038216X",
            &op,
            json!({"name": "x"}),
        )
        .await,
        422,
        "invalid_value",
    )
    .await;
    // Search by ID or name.
    let r = json_of(
        app.get("/api/v1/office/taxpayers?q=海联", Some(&auditor))
            .await,
        200,
    )
    .await;
    assert_eq!(r["total"], 1);
    let r = json_of(
        app.get(
            &format!("/api/v1/office/taxpayers?q={}", &TAXPAYER_B[..8]),
            Some(&auditor),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["items"][0]["taxpayer_id"], TAXPAYER_B);
    // A taxpayer cannot call office endpoints.
    let a = app.taxpayer_token(TAXPAYER_A).await;
    expect_error(
        app.get("/api/v1/office/taxpayers", Some(&a)).await,
        403,
        "forbidden",
    )
    .await;
    expect_error(
        app.get("/api/v1/office/taxpayers", None).await,
        401,
        "not_logged_in",
    )
    .await;
    // The ineligible taxpayer is refused at login now.
    expect_error(app.taxpayer_login(new_id).await, 403, "not_eligible").await;
}

#[tokio::test]
async fn platform_password_lockout_unlock_and_recovery() {
    let app = spawn_app(Opts {
        clock: Some("2026-11-20T10:00:00+08:00"),
        ..Opts::default()
    });
    let op = app.staff_token("operator").await;
    let a = app.taxpayer_token(TAXPAYER_A).await;
    for weak in ["short1", "abcdefghij", "1234567890"] {
        let e = expect_error(
            put(
                &app,
                "/api/v1/me/password",
                &a,
                json!({"enabled": true, "password": weak, "question": "q", "answer": "x"}),
            )
            .await,
            422,
            "weak_password",
        )
        .await;
        assert_eq!(e["error"]["field"], "password");
    }
    expect_error(
        put(
            &app,
            "/api/v1/me/password",
            &a,
            json!({"enabled": true, "password": "abcd1234", "question": "", "answer": "x"}),
        )
        .await,
        422,
        "invalid_value",
    )
    .await;
    let r = json_of(put(&app, "/api/v1/me/password", &a, json!({"enabled": true, "password": "abcd1234", "question": "我的出生地？", "answer": "福州"})).await, 200).await;
    assert_eq!(r["enabled"], true);
    assert_eq!(me(&app, &a).await["platform_password"], true);
    expect_error(login(&app, None).await, 401, "password_required").await;
    let e = expect_error(login(&app, Some("wrong-1")).await, 401, "password_wrong").await;
    assert_eq!(e["attempts_left"], 10);
    for _ in 0..9 {
        expect_error(login(&app, Some("wrong-1")).await, 401, "password_wrong").await;
    }
    expect_error(login(&app, Some("wrong-1")).await, 423, "locked").await;
    expect_error(login(&app, Some("abcd1234")).await, 423, "locked").await;
    let t = json_of(
        app.post_json(
            &format!("/api/v1/office/taxpayers/{TAXPAYER_A}/unlock"),
            Some(&op),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(t["password_failures_today"], 0);
    json_of(login(&app, Some("abcd1234")).await, 200).await;
    // Forgotten password: the recovery question.
    let q = json_of(
        app.get(
            &format!("/api/v1/session/recover?taxpayer_id={TAXPAYER_A}"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(q["question"], "我的出生地？");
    let e = expect_error(
        app.post_json(
            "/api/v1/session/recover",
            None,
            &json!({"taxpayer_id": TAXPAYER_A, "answer": "厦门"}),
        )
        .await,
        401,
        "answer_wrong",
    )
    .await;
    assert_eq!(e["attempts_left"], 10);
    json_of(
        app.post_json(
            "/api/v1/session/recover",
            None,
            &json!({"taxpayer_id": TAXPAYER_A, "answer": "福州"}),
        )
        .await,
        200,
    )
    .await;
    json_of(login(&app, None).await, 200).await;
    expect_error(
        app.post_json(
            "/api/v1/session/recover",
            None,
            &json!({"taxpayer_id": TAXPAYER_A, "answer": "福州"}),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    // Change and remove.
    let a = app.taxpayer_token(TAXPAYER_A).await;
    json_of(
        put(
            &app,
            "/api/v1/me/password",
            &a,
            json!({"enabled": true, "password": "newpass99", "question": "q", "answer": "a"}),
        )
        .await,
        200,
    )
    .await;
    json_of(login(&app, Some("newpass99")).await, 200).await;
    json_of(
        put(
            &app,
            "/api/v1/me/password",
            &a,
            json!({"enabled": true, "password": "another-9", "question": "q", "answer": "a"}),
        )
        .await,
        200,
    )
    .await;
    json_of(login(&app, Some("another-9")).await, 200).await;
    json_of(
        put(&app, "/api/v1/me/password", &a, json!({"enabled": false})).await,
        200,
    )
    .await;
    json_of(login(&app, None).await, 200).await;
    let admin = app.staff_token("admin").await;
    let actions = audit_actions(&app, &admin).await;
    for x in [
        "taxpayer.password_enable",
        "taxpayer.password_change",
        "taxpayer.password_disable",
        "taxpayer.unlock",
        "taxpayer.password_recovered",
        "taxpayer.recover_failed",
    ] {
        assert!(actions.iter().any(|y| y == x), "{x}");
    }
}

async fn login(app: &TestApp, pw: Option<&str>) -> reqwest::Response {
    let body = match pw {
        Some(p) => json!({"taxpayer_id": TAXPAYER_A, "password": p}),
        None => json!({"taxpayer_id": TAXPAYER_A}),
    };
    app.post_json("/api/v1/session", None, &body).await
}

#[tokio::test]
async fn declarations_single_and_import() {
    let (app, op, _admin) = november().await;
    let auditor = app.staff_token("auditor").await;
    let path = format!("/api/v1/office/declarations/{TAXPAYER_B}/202611");
    expect_error(
        put(&app, &path, &auditor, json!({"status": "declared"})).await,
        403,
        "wrong_role",
    )
    .await;
    expect_error(
        put(&app, &path, &op, json!({"status": "done"})).await,
        422,
        "invalid_value",
    )
    .await;
    expect_error(
        put(
            &app,
            "/api/v1/office/declarations/91350211MA2YCJ4U8U/202611",
            &op,
            json!({"status": "declared"}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let got = json_of(app.get(&path, Some(&auditor)).await, 200).await;
    assert_eq!(got["status"], Value::Null);
    // Import: one bad line rejects all.
    let bad = format!(
        "{}\n{}",
        json!({"taxpayer_id": TAXPAYER_B, "period": "202611", "status": "declared"}),
        json!({"taxpayer_id": TAXPAYER_A, "period": "202613", "status": "declared"})
    );
    let r = app
        .client
        .post(app.url("/api/v1/office/declarations"))
        .bearer_auth(&op)
        .body(bad)
        .send()
        .await
        .unwrap();
    let e = expect_error(r, 422, "invalid_value").await;
    assert_eq!(e["rejected"][0]["line"], 2);
    assert_eq!(
        json_of(app.get(&path, Some(&auditor)).await, 200).await["status"],
        Value::Null
    );
    let good = json!([
        {"taxpayer_id": TAXPAYER_B, "period": "202611", "status": "declared"},
        {"taxpayer_id": TAXPAYER_A, "period": "202610", "status": "not_declared"}
    ]);
    let r = json_of(
        app.post_json("/api/v1/office/declarations", Some(&op), &good)
            .await,
        200,
    )
    .await;
    assert_eq!(r["imported"], 2);
    assert_eq!(
        json_of(app.get(&path, Some(&auditor)).await, 200).await["status"],
        "declared"
    );
    let b = app.taxpayer_token(TAXPAYER_B).await;
    assert_eq!(me(&app, &b).await["current_period"], "202612");
}

#[tokio::test]
async fn training_clock_is_training_only() {
    let app = spawn_app(Opts {
        training: false,
        ..Opts::default()
    });
    let admin = app.staff_token("admin").await;
    expect_error(
        put(
            &app,
            "/api/v1/office/clock",
            &admin,
            json!({"now": "2026-12-01T00:00:00+08:00"}),
        )
        .await,
        403,
        "training_only",
    )
    .await;
}

/// S-T7: many parallel 提交 of one batch, and parallel selections from two "tabs".
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_submits_and_selections() {
    let app = spawn_app(Opts {
        clock: Some("2026-11-20T10:00:00+08:00"),
        ..Opts::default()
    });
    let op = app.staff_token("operator").await;
    let lines: Vec<String> = (1..=60)
        .map(|n| {
            line(
                TAXPAYER_A,
                "3500261131",
                n,
                "2026-11-10",
                1_000 + i64::from(n),
            )
        })
        .collect();
    import(&app, &op, &lines).await;
    let a = app.taxpayer_token(TAXPAYER_A).await;
    let app = std::sync::Arc::new(app);
    // Two tabs tick overlapping halves at once; both succeed, nothing is lost.
    let mut tabs = Vec::new();
    for range in [1..=40u32, 21..=60u32] {
        let app = app.clone();
        let a = a.clone();
        tabs.push(tokio::spawn(async move {
            let ns: Vec<u32> = range.collect();
            json_of(
                app.post_json(
                    "/api/v1/selections",
                    Some(&a),
                    &json!({"select": keys("3500261131", &ns)}),
                )
                .await,
                200,
            )
            .await
        }));
    }
    for t in tabs {
        let r = t.await.unwrap();
        assert_eq!(r["selected"], 40);
    }
    let b = json_of(
        app.post_json("/api/v1/confirmations", Some(&a), &json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(b["count"], 60);
    let expected_amount: i64 = (1..=60).map(|n| 1_000 + n).sum();
    assert_eq!(b["amount"], expected_amount);
    // Sixteen 提交 at once, with a selection racing them.
    let mut calls = Vec::new();
    for _ in 0..16 {
        let app = app.clone();
        let a = a.clone();
        calls.push(tokio::spawn(async move {
            let r = app
                .post_json(
                    "/api/v1/confirmations/202611/1/submit",
                    Some(&a),
                    &json!({}),
                )
                .await;
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.unwrap())
        }));
    }
    let results: Vec<(u16, Value)> = futures_util::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    for (s, body) in &results {
        assert_eq!(*s, 200, "{body}");
        assert_eq!(body["status"], "submitted");
        assert_eq!(body["count"], 60);
        assert_eq!(body["period_confirmed_count"], 60);
        assert_eq!(body["period_batches"], 1);
    }
    // Every invoice confirmed exactly once, in batch 1.
    for n in [1u32, 30, 60] {
        let one = json_of(
            app.get(&format!("/api/v1/invoices/3500261131/{n:08}"), Some(&a))
                .await,
            200,
        )
        .await;
        let confirms = one["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["action"] == "confirmed")
            .count();
        assert_eq!(confirms, 1);
        assert_eq!(one["batch"], 1);
    }
    let admin = app.staff_token("admin").await;
    let actions = audit_actions(&app, &admin).await;
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "confirmation.submit")
            .count(),
        1
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "confirmation.submit_repeated")
            .count(),
        15
    );
    // Parallel 确定 + selection + declaration on the same period: whatever the order, the
    // result is consistent (certified at most once, totals equal sums).
    let lines: Vec<String> = (61..=80)
        .map(|n| line(TAXPAYER_A, "3500261131", n, "2026-11-11", 500))
        .collect();
    import(&app, &op, &lines).await;
    let ns: Vec<u32> = (61..=80).collect();
    json_of(
        app.post_json(
            "/api/v1/selections",
            Some(&a),
            &json!({"select": keys("3500261131", &ns)}),
        )
        .await,
        200,
    )
    .await;
    json_of(
        app.post_json("/api/v1/confirmations", Some(&a), &json!({}))
            .await,
        200,
    )
    .await;
    let empty = json!({});
    let declared = json!({"status": "declared"});
    let decl_path = format!("/api/v1/office/declarations/{TAXPAYER_A}/202611");
    let (s1, s2, d) = tokio::join!(
        app.post_json("/api/v1/confirmations/202611/2/submit", Some(&a), &empty),
        app.post_json("/api/v1/confirmations/202611/2/submit", Some(&a), &empty),
        app.send_json(Method::PUT, &decl_path, Some(&op), &declared),
    );
    assert_eq!(d.status().as_u16(), 200);
    let b1: Value = s1.json().await.unwrap();
    let b2: Value = s2.json().await.unwrap();
    assert_eq!(b1["status"], b2["status"]);
    let detail = json_of(
        app.get("/api/v1/confirmations/202611/2", Some(&a)).await,
        200,
    )
    .await;
    let states: Vec<&str> = detail["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["selection"].as_str().unwrap())
        .collect();
    match b1["status"].as_str().unwrap() {
        "submitted" => assert!(states.iter().all(|s| *s == "confirmed")),
        "void" => assert!(states.iter().all(|s| *s == "unselected")),
        other => panic!("unexpected {other}"),
    }
}

/// Every write of the office API refuses readers and taxpayers, and every write of the
/// taxpayer API refuses staff; each accepted write leaves its audit entry.
#[tokio::test]
async fn roles_on_every_write_endpoint_and_their_audit_entries() {
    let (app, op, admin) = november().await;
    let a = app.taxpayer_token(TAXPAYER_A).await;
    let auditor = app.staff_token("auditor").await;
    let agent = app.staff_token("agent").await;
    let office_writes: Vec<(Method, String, Value)> = vec![
        (
            Method::POST,
            "/api/v1/office/taxpayers".into(),
            json!({"taxpayer_id": "91350211MA2YCJ4U8U", "name": "厦门海联贸易有限公司"}),
        ),
        (
            Method::PUT,
            format!("/api/v1/office/taxpayers/{TAXPAYER_B}"),
            json!({"name": "深圳恒通物流股份有限公司"}),
        ),
        (
            Method::POST,
            format!("/api/v1/office/taxpayers/{TAXPAYER_B}/unlock"),
            json!({}),
        ),
        (
            Method::PUT,
            "/api/v1/office/invoices/4400261130/00000001/status".into(),
            json!({"status": "abnormal"}),
        ),
        (
            Method::POST,
            "/api/v1/office/invoices/status".into(),
            json!({"status": "normal", "invoices": keys("4400261130", &[1])}),
        ),
        (
            Method::PUT,
            format!("/api/v1/office/declarations/{TAXPAYER_B}/202610"),
            json!({"status": "declared"}),
        ),
        (
            Method::POST,
            "/api/v1/office/declarations".into(),
            json!([{"taxpayer_id": TAXPAYER_B, "period": "202609", "status": "declared"}]),
        ),
        (
            Method::PUT,
            "/api/v1/office/deadlines/440300/202612".into(),
            json!({"deadline": "2027-01-20"}),
        ),
        (
            Method::PUT,
            "/api/v1/office/clock".into(),
            json!({"now": "2026-11-21T09:00:00+08:00"}),
        ),
    ];
    for (m, path, body) in &office_writes {
        for (tok, status, code) in [
            (&auditor, 403, "wrong_role"),
            (&agent, 403, "wrong_role"),
            (&a, 403, "forbidden"),
        ] {
            let r = app.send_json(m.clone(), path, Some(tok), body).await;
            expect_error(r, status, code).await;
        }
        expect_error(
            app.send_json(m.clone(), path, None, body).await,
            401,
            "not_logged_in",
        )
        .await;
        let writer = if path.ends_with("/clock") {
            &admin
        } else {
            &op
        };
        let r = app.send_json(m.clone(), path, Some(writer), body).await;
        assert!(
            r.status().is_success(),
            "{m} {path}: {}",
            r.text().await.unwrap()
        );
    }
    let taxpayer_writes: Vec<(Method, &str, Value)> = vec![
        (
            Method::POST,
            "/api/v1/selections",
            json!({"select": keys("3500261130", &[1])}),
        ),
        (Method::POST, "/api/v1/confirmations", json!({})),
        (
            Method::POST,
            "/api/v1/confirmations/202611/1/submit",
            json!({}),
        ),
        (Method::POST, "/api/v1/period/rollback", json!({})),
        (
            Method::PUT,
            "/api/v1/me/password",
            json!({"enabled": false}),
        ),
    ];
    for (m, path, body) in &taxpayer_writes {
        expect_error(
            app.send_json(m.clone(), path, Some(&op), body).await,
            403,
            "forbidden",
        )
        .await;
        expect_error(
            app.send_json(m.clone(), path, None, body).await,
            401,
            "not_logged_in",
        )
        .await;
    }
    // Office reads: auditors may; unknown records are 404.
    let t = json_of(
        app.get(
            &format!("/api/v1/office/taxpayers/{TAXPAYER_B}"),
            Some(&auditor),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(t["name"], "深圳恒通物流股份有限公司");
    assert_eq!(t["changes"][0]["field"], "name");
    expect_error(
        app.get(
            "/api/v1/office/taxpayers/91350100MA2YCJ4U8X",
            Some(&auditor),
        )
        .await,
        422,
        "invalid_value",
    )
    .await;
    // A well-formed ID nobody registered.
    let unknown = "91350211MA2YCJ4U7Q";
    for path in [
        format!("/api/v1/office/taxpayers/{unknown}"),
        format!("/api/v1/office/declarations/{unknown}/202611"),
    ] {
        expect_error(app.get(&path, Some(&auditor)).await, 404, "not_found").await;
    }
    expect_error(
        app.post_json(
            &format!("/api/v1/office/taxpayers/{unknown}/unlock"),
            Some(&op),
            &json!({}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    expect_error(
        put(
            &app,
            &format!("/api/v1/office/taxpayers/{unknown}"),
            &op,
            json!({"name": "x"}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    expect_error(
        app.get(
            "/api/v1/office/taxpayers/911100007109288314X",
            Some(&auditor),
        )
        .await,
        422,
        "invalid_value",
    )
    .await;
    expect_error(
        app.get("/api/v1/office/deadlines/nowhere", Some(&auditor))
            .await,
        422,
        "invalid_value",
    )
    .await;
    let actions = audit_actions(&app, &admin).await;
    for x in [
        "taxpayer.create",
        "taxpayer.update",
        "taxpayer.unlock",
        "invoice.status",
        "declaration.record",
        "declaration.import",
        "deadline.set",
        "clock.set",
    ] {
        assert!(actions.iter().any(|y| y == x), "no audit entry {x}");
    }
}

/// Many requests arriving together after a deadline passed: all succeed, the period closes
/// once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_settle_once() {
    let (app, _op, admin) = november().await;
    let a = app.taxpayer_token(TAXPAYER_A).await;
    json_of(
        app.post_json(
            "/api/v1/selections",
            Some(&a),
            &json!({"select": keys("3500261130", &[1, 2, 3])}),
        )
        .await,
        200,
    )
    .await;
    // Move the clock behind the API's back (no settlement), like a server that slept.
    let to = chrono::DateTime::parse_from_rfc3339("2026-12-16T08:00:00+08:00").unwrap();
    app.app
        .clock
        .set(&app.app.store, &app.app.system("test"), Some(to))
        .unwrap();
    let app = std::sync::Arc::new(app);
    let mut calls = Vec::new();
    for i in 0..12 {
        let app = app.clone();
        let a = a.clone();
        calls.push(tokio::spawn(async move {
            let path = if i % 2 == 0 {
                "/api/v1/me"
            } else {
                "/api/v1/invoices?issued_from=2026-11-01&issued_to=2026-11-30"
            };
            let r = app.get(path, Some(&a)).await;
            (r.status().as_u16(), r.text().await.unwrap())
        }));
    }
    for c in calls {
        let (s, body) = c.await.unwrap();
        assert_eq!(s, 200, "{body}");
    }
    assert_eq!(me(&app, &a).await["current_period"], "202612");
    let actions = audit_actions(&app, &admin).await;
    assert_eq!(actions.iter().filter(|x| *x == "period.close").count(), 1);
}
