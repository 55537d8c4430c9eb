//! 进项税额转出, 风险提醒 and 风险纳税人 over HTTP: transfers of certified invoices that became
//! exceptions with hand-computed tax and each refusal; the alerts of each kind (status changes
//! since the last visit, certified invoices that became exceptions until transferred out,
//! invoices of flagged sellers); the office's flags with bad input changing nothing, audited,
//! and only for the roles that may change data.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::openapi::{answers_as_documented, served_document};

const CODE: &str = "3500261130";
/// The seller of invoices 1–4; TAXPAYER_B sells invoice 5.
const SELLER: &str = NO_RATING;

fn line(n: u32, seller: &str) -> String {
    json!({
        "code": CODE, "number": format!("{n:08}"), "type": "special",
        "issued_on": "2026-11-02", "seller_id": seller, "seller_name": "杭州宏远信息技术有限公司",
        "buyer_id": TAXPAYER_A, "amount": 10_000 * i64::from(n), "tax": 1_300 * i64::from(n),
    })
    .to_string()
}

fn inv(n: u32) -> Value {
    json!({"code": CODE, "number": format!("{n:08}")})
}

async fn ok(r: reqwest::Response) -> Value {
    let s = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!(s, 200, "body: {body}");
    body
}

/// (kind, invoice number) of each alert, sorted.
fn kinds(alerts: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = alerts["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap().to_string(),
                a["invoice"]["number"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn of_kind(alerts: &Value, kind: &str) -> Vec<String> {
    kinds(alerts)
        .into_iter()
        .filter(|(k, _)| k == kind)
        .map(|(_, n)| n)
        .collect()
}

async fn confirm(app: &TestApp, tp: &str, use_: &str) {
    let b = ok(app
        .post_json("/api/v1/confirmations", Some(tp), &json!({"use": use_}))
        .await)
    .await;
    let path = format!(
        "/api/v1/confirmations/{}/{}/submit",
        b["period"].as_str().unwrap(),
        b["batch"]
    );
    let s = ok(app
        .post_json(&path, Some(tp), &json!({"declaration": "not_declared"}))
        .await)
    .await;
    assert_eq!(s["status"], "submitted", "{s}");
}

async fn set_status(app: &TestApp, op: &str, ns: &[u32], status: &str) {
    let invoices: Vec<Value> = ns.iter().map(|&n| inv(n)).collect();
    ok(app
        .post_json(
            "/api/v1/office/invoices/status",
            Some(op),
            &json!({"status": status, "invoices": invoices}),
        )
        .await)
    .await;
}

#[tokio::test]
async fn transfers_out_and_alerts() {
    let app = spawn_app(Opts {
        clock: Some("2026-11-23T10:00:00+08:00"),
        ..Opts::default()
    });
    let op = app.staff_token("operator").await;
    let lines: Vec<String> = (1..=4)
        .map(|n| line(n, SELLER))
        .chain([line(5, TAXPAYER_B)])
        .collect();
    app.import_ndjson(&op, lines.join("\n")).await;

    // First visit: nothing to warn about.
    let tp = app.taxpayer_token(TAXPAYER_A).await;
    let t = Some(tp.as_str());
    assert_eq!(kinds(&ok(app.get("/api/v1/alerts", t).await).await), vec![]);
    let period = ok(app.get("/api/v1/me", t).await).await["current_period"]
        .as_str()
        .unwrap()
        .to_string();

    // 1: 抵扣 of the face tax (1,300); 2: 抵扣 with 有效税额 lowered to 2,000 (of 2,600);
    // 3: 不抵扣 (集体福利). All confirmed; 4 and 5 stay unselected.
    let mut two = inv(2);
    two["effective_tax"] = json!(2_000);
    let mut three = inv(3);
    three["use"] = json!("no_deduct");
    three["reason"] = json!("welfare");
    let s = ok(app
        .post_json(
            "/api/v1/selections",
            t,
            &json!({"select": [inv(1), two, three]}),
        )
        .await)
    .await;
    assert_eq!(s["selected"], 3, "{s}");
    confirm(&app, &tp, "deduct").await;
    confirm(&app, &tp, "no_deduct").await;

    // The office: 1 and 3 失控, 2 异常, 4 作废.
    set_status(&app, &op, &[1, 3], "out_of_control").await;
    set_status(&app, &op, &[2], "abnormal").await;
    set_status(&app, &op, &[4], "voided").await;

    // Alerts in the same session: each status change, and the two 抵扣 invoices to transfer
    // (the answer as the OpenAPI document describes it).
    let doc = served_document(&app).await;
    let alerts = answers_as_documented(
        &app,
        &doc,
        "get",
        "/api/v1/alerts",
        "/api/v1/alerts".into(),
        t,
        None,
    )
    .await;
    assert_eq!(
        of_kind(&alerts, "status_changed"),
        ["00000001", "00000002", "00000003", "00000004"]
    );
    assert_eq!(
        of_kind(&alerts, "certified_became_exception"),
        ["00000001", "00000002"]
    );
    assert!(of_kind(&alerts, "risky_seller").is_empty());
    let first = &alerts["items"][0];
    assert!(first["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(chrono::DateTime::parse_from_rfc3339(first["at"].as_str().unwrap()).is_ok());
    let ats: Vec<&str> = alerts["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["at"].as_str().unwrap())
        .collect();
    let mut sorted = ats.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ats, sorted, "newest first");
    let exc = alerts["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "certified_became_exception" && a["invoice"]["number"] == "00000002")
        .unwrap();
    assert_eq!(exc["invoice"]["code"], CODE);
    assert!(exc["message"].as_str().unwrap().contains("20.00"), "{exc}");

    // Candidates: 1 (1,300) and 2 (its 有效税额 2,000); not 3 (不抵扣) nor 4 (never certified).
    let list = answers_as_documented(
        &app,
        &doc,
        "get",
        "/api/v1/transfers-out",
        "/api/v1/transfers-out".into(),
        t,
        None,
    )
    .await;
    assert_eq!(list["current_period"], period.as_str());
    let c = &list["candidates"];
    assert_eq!(
        (c["count"].as_u64(), c["tax"].as_i64()),
        (Some(2), Some(3_300))
    );
    let cands: Vec<(String, i64)> = c["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["number"].as_str().unwrap().to_string(),
                i["transfer_tax"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        cands,
        [
            ("00000001".to_string(), 1_300),
            ("00000002".to_string(), 2_000)
        ]
    );
    assert_eq!(list["recorded"]["count"], 0);

    // Another period is refused whole, and nothing is recorded.
    let e = expect_error(
        app.post_json(
            "/api/v1/transfers-out",
            t,
            &json!({"period": "202610", "invoices": [inv(1)]}),
        )
        .await,
        422,
        "invalid_value",
    )
    .await;
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("当前税款所属期"),
        "{e}"
    );
    expect_error(
        app.post_json(
            "/api/v1/transfers-out",
            t,
            &json!({"period": "2026-13", "invoices": [inv(1)]}),
        )
        .await,
        422,
        "invalid_value",
    )
    .await;
    expect_error(
        app.post_json(
            "/api/v1/transfers-out",
            t,
            &json!({"period": period, "invoices": []}),
        )
        .await,
        422,
        "invalid_value",
    )
    .await;
    assert_eq!(
        ok(app.get("/api/v1/transfers-out", t).await).await["recorded"]["count"],
        0
    );

    // Row by row: 1 recorded; 3 and 4 need none, 1 again is a duplicate, 99 is unknown, and a
    // malformed number is refused as a row.
    let r = answers_as_documented(
        &app,
        &doc,
        "post",
        "/api/v1/transfers-out",
        "/api/v1/transfers-out".into(),
        t,
        Some(json!({"period": period, "invoices": [
            inv(1), inv(3), inv(4), inv(1), inv(99), {"code": CODE, "number": "12"}
        ]})),
    )
    .await;
    assert_eq!(
        (r["count"].as_u64(), r["tax"].as_i64()),
        (Some(1), Some(1_300))
    );
    assert_eq!(r["items"][0]["number"], "00000001");
    assert_eq!(r["items"][0]["period"], period.as_str());
    assert_eq!(r["items"][0]["status"], "out_of_control");
    let reasons: Vec<(String, String)> = r["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            assert!(x["message"].as_str().is_some_and(|m| !m.is_empty()));
            (
                x["number"].as_str().unwrap().to_string(),
                x["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            ("00000003".into(), "not_required".into()),
            ("00000004".into(), "not_required".into()),
            ("00000001".into(), "duplicate_row".into()),
            ("00000099".into(), "unknown_invoice".into()),
            ("12".into(), "invalid_key".into()),
        ]
    );
    // Once only; then 2 with its 有效税额.
    let again = ok(app
        .post_json(
            "/api/v1/transfers-out",
            t,
            &json!({"period": period, "invoices": [inv(1)]}),
        )
        .await)
    .await;
    assert_eq!(again["count"], 0);
    assert_eq!(again["rejected"][0]["reason"], "already_transferred");
    let r = ok(app
        .post_json(
            "/api/v1/transfers-out",
            t,
            &json!({"period": period, "invoices": [inv(2)]}),
        )
        .await)
    .await;
    assert_eq!(
        (r["count"].as_u64(), r["tax"].as_i64()),
        (Some(1), Some(2_000))
    );

    let list = ok(app.get("/api/v1/transfers-out", t).await).await;
    assert_eq!(list["candidates"]["count"], 0);
    assert_eq!(
        (
            list["recorded"]["count"].as_u64(),
            list["recorded"]["tax"].as_i64()
        ),
        (Some(2), Some(3_300))
    );
    // The invoice's history has the transfer.
    let one = ok(app
        .get(&format!("/api/v1/invoices/{CODE}/00000001"), t)
        .await)
    .await;
    assert!(
        one["history"].to_string().contains("transferred_out"),
        "{one}"
    );
    // Transferred out: no longer an alert.
    let alerts = ok(app.get("/api/v1/alerts", t).await).await;
    assert!(of_kind(&alerts, "certified_became_exception").is_empty());
    assert_eq!(of_kind(&alerts, "status_changed").len(), 4);

    // The next visit still sees the changes made since the one before; the visit after that
    // sees only what changed since.
    let tp2 = app.taxpayer_token(TAXPAYER_A).await;
    let alerts = ok(app.get("/api/v1/alerts", Some(&tp2)).await).await;
    assert_eq!(of_kind(&alerts, "status_changed").len(), 4);
    let tp3 = app.taxpayer_token(TAXPAYER_A).await;
    let t3 = Some(tp3.as_str());
    assert!(of_kind(
        &ok(app.get("/api/v1/alerts", t3).await).await,
        "status_changed"
    )
    .is_empty());
    set_status(&app, &op, &[4], "normal").await;
    let alerts = ok(app.get("/api/v1/alerts", t3).await).await;
    assert_eq!(of_kind(&alerts, "status_changed"), ["00000004"]);
    let changed = &alerts["items"][0];
    assert!(
        changed["message"]
            .as_str()
            .unwrap()
            .contains("由作废变为正常"),
        "{changed}"
    );

    // A flagged seller: its unconfirmed invoice (5) is named with the reason; not after removal.
    let path = format!("/api/v1/office/risky-sellers/{TAXPAYER_B}");
    let template = "/api/v1/office/risky-sellers/{seller_id}";
    let o = Some(op.as_str());
    answers_as_documented(
        &app,
        &doc,
        "put",
        template,
        path.clone(),
        o,
        Some(json!({"reason": "走逃（失联）企业"})),
    )
    .await;
    let listed = answers_as_documented(
        &app,
        &doc,
        "get",
        "/api/v1/office/risky-sellers",
        "/api/v1/office/risky-sellers".into(),
        o,
        None,
    )
    .await;
    assert_eq!(listed["items"][0]["seller_id"], TAXPAYER_B);
    let alerts = answers_as_documented(
        &app,
        &doc,
        "get",
        "/api/v1/alerts",
        "/api/v1/alerts".into(),
        t3,
        None,
    )
    .await;
    assert_eq!(of_kind(&alerts, "risky_seller"), ["00000005"]);
    let risky = alerts["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "risky_seller")
        .unwrap();
    assert_eq!(risky["seller_id"], TAXPAYER_B);
    assert!(risky["message"]
        .as_str()
        .unwrap()
        .contains("走逃（失联）企业"));
    // 发票勾选 shows the alerts too (only when there are any).
    let (html, status) = page(&app, "/select", &tp3).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("风险提醒") && html.contains("走逃（失联）企业"),
        "{html}"
    );
    answers_as_documented(&app, &doc, "delete", template, path.clone(), o, None).await;
    let alerts = ok(app.get("/api/v1/alerts", t3).await).await;
    assert!(of_kind(&alerts, "risky_seller").is_empty());
    let (html, _) = page(&app, "/select", &tp3).await;
    assert!(!html.contains("走逃（失联）企业"), "the flag is gone");

    // The page's 提交 without a tick goes back with the message.
    let r = app
        .client
        .post(app.url("/transfers-out"))
        .bearer_auth(&tp3)
        .form(&[("period", period.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/transfers-out?error="), "{to}");

    // The workbench shows the period's transfers; the page lists them.
    let (html, status) = page(&app, "/", &tp3).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("风险提醒") && html.contains("本期已记录进项税额转出"),
        "{html}"
    );
    assert!(
        html.contains("33.00"),
        "the period's transfer-out tax on the workbench"
    );
    let (html, status) = page(&app, "/transfers-out", &tp3).await;
    assert_eq!(status, 200);
    assert!(html.contains("已记录的进项税额转出") && html.contains("00000002"));
}

/// A page as a taxpayer sees it (the bearer token works for pages too).
async fn page(app: &TestApp, path: &str, token: &str) -> (String, u16) {
    let r = app.get(path, Some(token)).await;
    let s = r.status().as_u16();
    (r.text().await.unwrap(), s)
}

#[tokio::test]
async fn risky_sellers_are_flagged_listed_and_removed() {
    let app = spawn_app(Opts::default());
    let op = app.staff_token("operator").await;
    let auditor = app.staff_token("auditor").await;
    let tp = app.taxpayer_token(TAXPAYER_A).await;
    let list = |token: String| {
        let app = &app;
        async move {
            ok(app.get("/api/v1/office/risky-sellers", Some(&token)).await).await["items"]
                .as_array()
                .unwrap()
                .clone()
        }
    };
    let path = format!("/api/v1/office/risky-sellers/{NO_RATING}");
    let put = |path: String, token: String, body: Value| {
        let app = &app;
        async move { app.send_json(Method::PUT, &path, Some(&token), &body).await }
    };

    // Bad input: an empty or too long reason, a seller id that is not one; nothing stored.
    for (p, body) in [
        (path.clone(), json!({"reason": "  "})),
        (path.clone(), json!({"reason": "长".repeat(201)})),
        (
            "/api/v1/office/risky-sellers/12345".to_string(),
            json!({"reason": "虚开发票嫌疑"}),
        ),
        (
            "/api/v1/office/risky-sellers/91330100716105852A".to_string(),
            json!({"reason": "虚开发票嫌疑"}),
        ),
    ] {
        let e = expect_error(put(p.clone(), op.clone(), body).await, 422, "invalid_value").await;
        let m = e["error"]["message"].as_str().unwrap();
        assert!(
            m.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{p}: {m}"
        );
    }
    let r = put(path.clone(), op.clone(), json!({})).await;
    assert!(r.status().is_client_error());
    assert!(list(op.clone()).await.is_empty());

    // Roles: a taxpayer and an auditor may not flag; the auditor may read.
    expect_error(
        put(path.clone(), tp.clone(), json!({"reason": "虚开"})).await,
        403,
        "forbidden",
    )
    .await;
    expect_error(
        app.get("/api/v1/office/risky-sellers", Some(&tp)).await,
        403,
        "forbidden",
    )
    .await;
    expect_error(
        put(path.clone(), auditor.clone(), json!({"reason": "虚开"})).await,
        403,
        "wrong_role",
    )
    .await;
    assert!(list(op.clone()).await.is_empty());

    // Flag, list (with the name of a known taxpayer), change the reason.
    let s = ok(put(
        path.clone(),
        op.clone(),
        json!({"reason": " 虚开发票嫌疑 "}),
    )
    .await)
    .await;
    assert_eq!(
        (
            s["seller_id"].as_str(),
            s["reason"].as_str(),
            s["by"].as_str()
        ),
        (Some(NO_RATING), Some("虚开发票嫌疑"), Some("operator"))
    );
    let items = list(auditor.clone()).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["seller_name"], "杭州宏远信息技术有限公司");
    ok(put(
        path.clone(),
        op.clone(),
        json!({"reason": "走逃（失联）企业"}),
    )
    .await)
    .await;
    let items = list(op.clone()).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["reason"], "走逃（失联）企业");

    // Remove: the auditor may not; unknown ones are 404; then it is gone.
    expect_error(
        app.send_json(Method::DELETE, &path, Some(&auditor), &json!({}))
            .await,
        403,
        "wrong_role",
    )
    .await;
    expect_error(
        app.send_json(
            Method::DELETE,
            &format!("/api/v1/office/risky-sellers/{TAXPAYER_B}"),
            Some(&op),
            &json!({}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let removed = ok(app
        .send_json(Method::DELETE, &path, Some(&op), &json!({}))
        .await)
    .await;
    assert_eq!(removed["reason"], "走逃（失联）企业");
    assert!(list(op.clone()).await.is_empty());
    expect_error(
        app.send_json(Method::DELETE, &path, Some(&op), &json!({}))
            .await,
        404,
        "not_found",
    )
    .await;

    // The console page: a refused form is shown again with its message (422), nothing stored;
    // a good one redirects (Post/Redirect/Get) to the list showing it; 移除 likewise.
    let form = |path: &'static str, token: String, fields: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            app.client
                .post(app.url(path))
                .bearer_auth(token)
                .form(&fields)
                .send()
                .await
                .unwrap()
        }
    };
    let r = form(
        "/office/risky-sellers",
        op.clone(),
        vec![("seller_id", "bad".into()), ("reason", "虚开".into())],
    )
    .await;
    assert_eq!(r.status().as_u16(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("销方税号不正确") && html.contains("value=\"bad\""),
        "{html}"
    );
    let r = form(
        "/office/risky-sellers",
        op.clone(),
        vec![("seller_id", NO_RATING.into()), ("reason", " ".into())],
    )
    .await;
    assert_eq!(r.status().as_u16(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("请填写标记为风险纳税人的原因"));
    assert!(list(op.clone()).await.is_empty());
    let r = form(
        "/office/risky-sellers",
        auditor.clone(),
        vec![("seller_id", NO_RATING.into()), ("reason", "虚开".into())],
    )
    .await;
    assert_eq!(r.status().as_u16(), 403);
    let r = form(
        "/office/risky-sellers",
        op.clone(),
        vec![("seller_id", NO_RATING.into()), ("reason", "虚开".into())],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let shown = app.get(&to, Some(&op)).await.text().await.unwrap();
    assert!(
        shown.contains("标记为风险纳税人。") && shown.contains("虚开"),
        "{shown}"
    );
    let del = format!("/office/risky-sellers/{NO_RATING}/delete");
    let r = app
        .client
        .post(app.url(&del))
        .bearer_auth(&op)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert!(list(op.clone()).await.is_empty());

    // Audited: flag, update, remove.
    let admin = app.staff_token("admin").await;
    let audit = app
        .get("/api/v1/office/audit?per_page=500", Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    // (Twice flagged and removed: through the API and the console page.)
    for (action, n) in [
        ("risky_seller.flag", 2),
        ("risky_seller.update", 1),
        ("risky_seller.remove", 2),
    ] {
        assert_eq!(audit.matches(action).count(), n, "{action}");
    }
}
