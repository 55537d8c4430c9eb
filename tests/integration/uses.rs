//! 勾选用途 over HTTP: each use through `POST /api/v1/selections` and each refusal with its
//! code (a refused row changes nothing), 退税 selections in the month's own period during the
//! filing period of the last one, confirmation batches per use with the invoice JSON and the
//! history showing the use, the office's 退税 registration, and a 批量勾选 upload with the 用途
//! columns.

use std::io::Cursor;

use serde_json::{json, Value};

use crate::helpers::*;

const CODE: &str = "3500261130";
const SELLER: &str = "91330100716105852F";
const DIGITAL: &str = "26330000000000000101";
const CUSTOMS: &str = "290120261000000001-L01";

async fn json_of(r: reqwest::Response, status: u16) -> Value {
    let s = r.status().as_u16();
    let text = r.text().await.unwrap();
    assert_eq!(s, status, "body: {text}");
    serde_json::from_str(&text).unwrap()
}

fn n(i: u32) -> String {
    format!("{i:08}")
}

/// A's invoices: 专票 1..=8 (amount 1,000.00, tax 130.00), a 数电专票 and a 相符 缴款书; the
/// clock on 2026-11-20.
async fn setup() -> (TestApp, String, String) {
    let app = spawn_app(Opts {
        clock: Some("2026-11-20T10:00:00+08:00"),
        ..Opts::default()
    });
    let op = app.staff_token("operator").await;
    let mut lines: Vec<String> = (1..=8)
        .map(|i| {
            json!({
                "code": CODE, "number": n(i), "type": "special",
                "issued_on": format!("2026-11-{:02}", i), "seller_id": SELLER,
                "seller_name": "杭州宏远信息技术有限公司", "buyer_id": TAXPAYER_A,
                "amount": 100_000, "tax": 13_000,
            })
            .to_string()
        })
        .collect();
    lines.push(
        json!({
            "code": null, "number": DIGITAL, "type": "digital_special",
            "issued_on": "2026-11-09", "seller_id": SELLER,
            "seller_name": "杭州宏远信息技术有限公司", "buyer_id": TAXPAYER_A,
            "amount": 100_000, "tax": 13_000,
        })
        .to_string(),
    );
    lines.push(
        json!({
            "code": null, "number": CUSTOMS, "type": "customs", "audit_result": "match",
            "issued_on": "2026-11-10", "seller_id": SELLER,
            "seller_name": "杭州宏远信息技术有限公司", "buyer_id": TAXPAYER_A,
            "amount": 200_000, "tax": 26_000,
        })
        .to_string(),
    );
    app.import_ndjson(&op, lines.join("\n")).await;
    let a = app.taxpayer_token(TAXPAYER_A).await;
    (app, op, a)
}

/// Selects one row; returns the answer.
async fn select(app: &TestApp, a: &str, row: Value) -> Value {
    json_of(
        app.post_json("/api/v1/selections", Some(a), &json!({"select": [row]}))
            .await,
        200,
    )
    .await
}

/// Selects one row that must be refused with `code`; returns the refusal.
async fn refused(app: &TestApp, a: &str, row: Value, code: &str) -> Value {
    let s = select(app, a, row.clone()).await;
    assert_eq!(s["selected"], 0, "{row} → {s}");
    let r = s["rejected"].as_array().unwrap();
    assert_eq!(r.len(), 1, "{row} → {s}");
    assert_eq!(r[0]["reason"], code, "{row} → {s}");
    assert!(
        r[0]["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{s}"
    );
    r[0].clone()
}

/// Selects one row that must be accepted.
async fn accepted(app: &TestApp, a: &str, row: Value) {
    let s = select(app, a, row.clone()).await;
    assert_eq!(
        (
            s["selected"].as_u64(),
            s["rejected"].as_array().map(Vec::len)
        ),
        (Some(1), Some(0)),
        "{row} → {s}"
    );
}

async fn invoice(app: &TestApp, a: &str, code: Option<&str>, number: &str) -> Value {
    json_of(
        app.get(
            &format!("/api/v1/invoices/{}/{number}", code.unwrap_or("-")),
            Some(a),
        )
        .await,
        200,
    )
    .await
}

fn coded(i: u32) -> Value {
    json!({"code": CODE, "number": n(i)})
}

fn with(mut v: Value, extra: Value) -> Value {
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

async fn set_clock(app: &TestApp, admin: &str, now: &str) {
    json_of(
        app.send_json(
            reqwest::Method::PUT,
            "/api/v1/office/clock",
            Some(admin),
            &json!({ "now": now }),
        )
        .await,
        200,
    )
    .await;
}

#[tokio::test]
async fn each_use_and_each_refusal_then_batches_per_use() {
    let (app, op, a) = setup().await;

    // Refusals: each with its code, and each refused row stays as it was.
    let r = refused(
        &app,
        &a,
        with(coded(1), json!({"use": "refund"})),
        "not_refund_enterprise",
    )
    .await;
    assert!(
        r["message"].as_str().unwrap().contains("出口退税企业"),
        "{r}"
    );
    refused(
        &app,
        &a,
        with(coded(2), json!({"use": "agent_refund"})),
        "not_refund_enterprise",
    )
    .await;
    refused(
        &app,
        &a,
        json!({"code": null, "number": CUSTOMS, "use": "no_deduct", "reason": "welfare"}),
        "customs_deduct_only",
    )
    .await;
    refused(
        &app,
        &a,
        json!({"code": null, "number": CUSTOMS, "use": "refund"}),
        "customs_deduct_only",
    )
    .await;
    let r = refused(
        &app,
        &a,
        with(coded(3), json!({"effective_tax": 13_001})),
        "effective_tax_too_high",
    )
    .await;
    assert!(r["message"].as_str().unwrap().contains("130.00"), "{r}");
    refused(
        &app,
        &a,
        with(coded(3), json!({"effective_tax": 0})),
        "effective_tax_invalid",
    )
    .await;
    refused(
        &app,
        &a,
        with(coded(4), json!({"use": "no_deduct"})),
        "reason_required",
    )
    .await;
    refused(
        &app,
        &a,
        with(coded(4), json!({"use": "no_deduct", "reason": "other"})),
        "reason_required",
    )
    .await;
    refused(
        &app,
        &a,
        with(
            coded(4),
            json!({"use": "no_deduct", "reason": "other", "reason_text": "   "}),
        ),
        "reason_required",
    )
    .await;
    for i in 1..=4 {
        let v = invoice(&app, &a, Some(CODE), &n(i)).await;
        assert_eq!(v["selection"], "unselected", "{v}");
        assert!(v["use"].is_null() && v["effective_tax"].is_null(), "{v}");
    }
    let v = invoice(&app, &a, None, CUSTOMS).await;
    assert_eq!(v["selection"], "unselected", "{v}");

    // Each use that is allowed.
    accepted(&app, &a, with(coded(5), json!({"effective_tax": 10_000}))).await;
    accepted(
        &app,
        &a,
        json!({"code": null, "number": DIGITAL, "use": "no_deduct", "reason": "welfare"}),
    )
    .await;
    accepted(
        &app,
        &a,
        with(
            coded(6),
            json!({"use": "不抵扣", "reason": "other", "reason_text": "样品赠送"}),
        ),
    )
    .await;
    accepted(&app, &a, coded(7)).await;
    accepted(
        &app,
        &a,
        json!({"code": null, "number": CUSTOMS, "use": "deduct"}),
    )
    .await;
    let v = invoice(&app, &a, Some(CODE), &n(5)).await;
    assert_eq!(
        (
            v["selection"].as_str(),
            v["use"].as_str(),
            v["effective_tax"].as_i64()
        ),
        (Some("selected"), Some("deduct"), Some(10_000)),
        "{v}"
    );
    let v = invoice(&app, &a, None, DIGITAL).await;
    assert_eq!(
        (
            v["use"].as_str(),
            v["effective_tax"].as_i64(),
            v["reason"].as_str()
        ),
        (Some("no_deduct"), Some(13_000), Some("welfare")),
        "{v}"
    );
    let v = invoice(&app, &a, Some(CODE), &n(6)).await;
    assert_eq!(
        (v["reason"].as_str(), v["reason_text"].as_str()),
        (Some("other"), Some("样品赠送")),
        "{v}"
    );
    let v = invoice(&app, &a, Some(CODE), &n(7)).await;
    assert_eq!(
        (v["use"].as_str(), v["effective_tax"].as_i64()),
        (Some("deduct"), Some(13_000)),
        "{v}"
    );
    assert!(v["reason"].is_null(), "{v}");

    // One use at a time: 7 is selected for 抵扣, so 不抵扣 is refused until it is unselected.
    let r = refused(
        &app,
        &a,
        with(
            coded(7),
            json!({"use": "no_deduct", "reason": "tax_exempt"}),
        ),
        "used_otherwise",
    )
    .await;
    assert!(r["message"].as_str().unwrap().contains("抵扣"), "{r}");
    let v = invoice(&app, &a, Some(CODE), &n(7)).await;
    assert_eq!(
        (v["use"].as_str(), v["reason"].as_str()),
        (Some("deduct"), None)
    );

    // The office registers A as an exporter: only the office, with a well-formed body.
    let admin = app.staff_token("admin").await;
    let auditor = app.staff_token("auditor").await;
    let r = app
        .set_refund_registration(&auditor, TAXPAYER_A, true, false)
        .await;
    expect_error(r, 403, "wrong_role").await;
    let r = app
        .set_refund_registration(&a, TAXPAYER_A, true, false)
        .await;
    assert!(
        [401, 403].contains(&r.status().as_u16()),
        "a taxpayer may not register: {}",
        r.status()
    );
    for bad in [
        json!({"exporter": "yes", "trade_service": false}),
        json!({"exporter": true}),
        json!({"exporter": true, "trade_service": false, "other": 1}),
    ] {
        let r = app
            .send_json(
                reqwest::Method::PUT,
                &format!("/api/v1/office/taxpayers/{TAXPAYER_A}/refund-registration"),
                Some(&op),
                &bad,
            )
            .await;
        assert_eq!(r.status().as_u16(), 422, "{bad}");
    }
    let r = app
        .set_refund_registration(&op, "91350100M000100Y43X", true, false)
        .await;
    assert!(r.status().is_client_error());
    let t = json_of(
        app.get(&format!("/api/v1/office/taxpayers/{TAXPAYER_A}"), Some(&op))
            .await,
        200,
    )
    .await;
    assert_eq!(
        t["refund_registration"],
        json!({"exporter": false, "trade_service": false})
    );
    let r = json_of(
        app.set_refund_registration(&op, TAXPAYER_A, true, false)
            .await,
        200,
    )
    .await;
    assert_eq!(r, json!({"exporter": true, "trade_service": false}));
    let t = json_of(
        app.get(&format!("/api/v1/office/taxpayers/{TAXPAYER_A}"), Some(&op))
            .await,
        200,
    )
    .await;
    assert_eq!(
        t["refund_registration"],
        json!({"exporter": true, "trade_service": false})
    );
    // The taxpayer sees it in its profile.
    let me = json_of(app.get("/api/v1/me", Some(&a)).await, 200).await;
    assert_eq!(
        me["refund_registration"],
        json!({"exporter": true, "trade_service": false})
    );
    // …and on the 档案信息维护 page.
    let page = app.get("/profile", Some(&a)).await.text().await.unwrap();
    assert!(
        page.contains("退税登记") && page.contains("出口退税企业"),
        "{page}"
    );
    // Recording the same again changes nothing and answers the same.
    json_of(
        app.set_refund_registration(&op, TAXPAYER_A, true, false)
            .await,
        200,
    )
    .await;

    // December 5th: the filing period of November (A has not declared). 退税 belongs to
    // December, 抵扣 still to November; 代办退税 needs the other registration.
    set_clock(&app, &admin, "2026-12-05T10:00:00+08:00").await;
    accepted(
        &app,
        &a,
        with(coded(1), json!({"use": "refund", "effective_tax": 12_000})),
    )
    .await;
    refused(
        &app,
        &a,
        with(coded(2), json!({"use": "agent_refund"})),
        "not_refund_enterprise",
    )
    .await;
    accepted(&app, &a, coded(8)).await;
    let v = invoice(&app, &a, Some(CODE), &n(1)).await;
    assert_eq!(
        (
            v["use"].as_str(),
            v["period"].as_str(),
            v["effective_tax"].as_i64()
        ),
        (Some("refund"), Some("202612"), Some(12_000)),
        "{v}"
    );
    let v = invoice(&app, &a, Some(CODE), &n(8)).await;
    assert_eq!(v["period"], "202611", "{v}");

    // 确定 for 不抵扣: a batch of only the two 不抵扣 selections, counted at the face tax.
    let b = json_of(
        app.post_json(
            "/api/v1/confirmations",
            Some(&a),
            &json!({"use": "no_deduct"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (
            b["use"].as_str(),
            b["count"].as_u64(),
            b["tax"].as_i64(),
            b["period"].as_str()
        ),
        (Some("no_deduct"), Some(2), Some(26_000), Some("202611")),
        "{b}"
    );
    let submitted = json_of(
        app.post_json(
            &format!("/api/v1/confirmations/202611/{}/submit", b["batch"]),
            Some(&a),
            &json!({"declaration": "not_declared"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(submitted["status"], "submitted", "{submitted}");
    let v = invoice(&app, &a, None, DIGITAL).await;
    assert_eq!(
        (
            v["selection"].as_str(),
            v["use"].as_str(),
            v["effective_tax"].as_i64(),
            v["reason"].as_str()
        ),
        (
            Some("confirmed"),
            Some("no_deduct"),
            Some(13_000),
            Some("welfare")
        ),
        "{v}"
    );
    // The 抵扣 selections are still waiting for their own 确定.
    let v = invoice(&app, &a, Some(CODE), &n(5)).await;
    assert_eq!(v["selection"], "selected", "{v}");
    // The history names the use of the selection and of the confirmation.
    let uses: Vec<(String, String)> = v_history(&invoice(&app, &a, None, DIGITAL).await);
    assert!(
        uses.iter().filter(|(_, u)| u == "no_deduct").count() >= 2,
        "{uses:?}"
    );
    let uses = v_history(&invoice(&app, &a, Some(CODE), &n(5)).await);
    assert!(uses.iter().any(|(_, u)| u == "deduct"), "{uses:?}");

    // 确定 for 退税: its own batch in December's period, submitted without the declaration
    // question.
    let b = json_of(
        app.post_json("/api/v1/confirmations", Some(&a), &json!({"use": "refund"}))
            .await,
        200,
    )
    .await;
    assert_eq!(
        (
            b["use"].as_str(),
            b["count"].as_u64(),
            b["tax"].as_i64(),
            b["period"].as_str()
        ),
        (Some("refund"), Some(1), Some(12_000), Some("202612")),
        "{b}"
    );
    // Nothing selected for 代办退税: refused, nothing made.
    let r = app
        .post_json(
            "/api/v1/confirmations",
            Some(&a),
            &json!({"use": "agent_refund"}),
        )
        .await;
    assert!(r.status().is_client_error(), "{}", r.status());
}

/// (action, use) of each history entry that has a use.
fn v_history(v: &Value) -> Vec<(String, String)> {
    v["history"]
        .as_array()
        .unwrap_or_else(|| panic!("no history: {v}"))
        .iter()
        .filter_map(|h| {
            Some((
                h["action"].as_str()?.to_string(),
                h["use"].as_str()?.to_string(),
            ))
        })
        .collect()
}

/// A 批量勾选 file with the 用途 columns: each row's use, a lowered 有效税额, and bad values
/// refusing only their rows; the download then carries the 用途 columns.
#[tokio::test]
async fn a_bulk_upload_with_use_columns() {
    let (app, op, a) = setup().await;
    // Before any other use: exactly the columns of before (the file holds a 数电票: its
    // column comes last); registered for 退税: the 用途 columns are offered.
    let old = [
        "发票代码",
        "发票号码",
        "开票日期",
        "发票类型",
        "销方税号",
        "销方名称",
        "金额",
        "税额",
        "发票状态",
        "是否勾选",
        "数电票号码",
    ];
    accepted(&app, &a, coded(8)).await;
    assert_eq!(downloaded(&app, &a).await[0], old);
    json_of(
        app.set_refund_registration(&op, TAXPAYER_A, true, false)
            .await,
        200,
    )
    .await;
    assert_eq!(downloaded(&app, &a).await[0].len(), old.len() + 4);
    json_of(
        app.set_refund_registration(&op, TAXPAYER_A, false, false)
            .await,
        200,
    )
    .await;
    assert_eq!(downloaded(&app, &a).await[0], old);
    let mut book = umya_spreadsheet::new_file();
    let ws = book.sheet_mut(0).unwrap();
    let header = [
        "发票代码",
        "发票号码",
        "是否勾选",
        "用途",
        "有效税额",
        "不抵扣原因",
        "原因说明",
    ];
    for (i, h) in header.iter().enumerate() {
        ws.cell_mut((i as u32 + 1, 1u32)).set_value_string(*h);
    }
    let rows: [[&str; 7]; 7] = [
        [CODE, "00000001", "是", "不抵扣", "", "用于免税项目", ""],
        [CODE, "00000002", "是", "1", "100.00", "", ""],
        [CODE, "00000003", "是", "2", "", "", ""],
        [CODE, "00000004", "是", "出口", "", "", ""],
        [CODE, "00000005", "是", "抵扣", "一百", "", ""],
        [CODE, "00000006", "是", "6", "", "其他", ""],
        [CODE, "00000007", "是", "", "", "", ""],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                ws.cell_mut((c as u32 + 1, r as u32 + 2))
                    .set_value_string(*v);
            }
        }
    }
    let mut out = Cursor::new(Vec::new());
    umya_spreadsheet::writer::xlsx::write_writer(&book, &mut out).unwrap();
    let part = reqwest::multipart::Part::bytes(out.into_inner()).file_name("用途.xlsx");
    let form = reqwest::multipart::Form::new().part("file", part);
    let r = app
        .client
        .post(app.url("/api/v1/selections/import"))
        .bearer_auth(&a)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let u = json_of(r, 200).await;
    assert_eq!(u["selected"], 3, "{u}");
    let refusals: Vec<(u64, String)> = u["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["row"].as_u64().unwrap(),
                r["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        refusals,
        vec![
            (4, "not_refund_enterprise".to_string()),
            (5, "invalid_use".to_string()),
            (6, "invalid_effective_tax".to_string()),
            (7, "reason_required".to_string()),
        ]
    );
    let v = invoice(&app, &a, Some(CODE), "00000001").await;
    assert_eq!(
        (v["use"].as_str(), v["reason"].as_str()),
        (Some("no_deduct"), Some("tax_exempt")),
        "{v}"
    );
    let v = invoice(&app, &a, Some(CODE), "00000002").await;
    assert_eq!(
        (v["use"].as_str(), v["effective_tax"].as_i64()),
        (Some("deduct"), Some(10_000)),
        "{v}"
    );
    for i in 3..=6 {
        let v = invoice(&app, &a, Some(CODE), &n(i)).await;
        assert_eq!(v["selection"], "unselected", "row {}: {v}", i + 1);
    }
    let v = invoice(&app, &a, Some(CODE), "00000007").await;
    assert_eq!(
        (v["use"].as_str(), v["effective_tax"].as_i64()),
        (Some("deduct"), Some(13_000)),
        "{v}"
    );

    // The download: the 用途 columns after the others, filled for the selected rows.
    let rows = downloaded(&app, &a).await;
    let head = &rows[0];
    assert_eq!(
        head[head.len() - 4..],
        ["用途", "有效税额", "不抵扣原因", "原因说明"],
        "{head:?}"
    );
    assert_eq!(
        &head[..10],
        &[
            "发票代码",
            "发票号码",
            "开票日期",
            "发票类型",
            "销方税号",
            "销方名称",
            "金额",
            "税额",
            "发票状态",
            "是否勾选"
        ]
    );
    let row1 = rows
        .iter()
        .find(|r| r[1] == "00000001")
        .unwrap_or_else(|| panic!("{rows:?}"));
    let at = head.len() - 4;
    assert_eq!(
        (row1[at].as_str(), row1[at + 2].as_str()),
        ("不抵扣", "用于免税项目")
    );
    let row2 = rows.iter().find(|r| r[1] == "00000002").unwrap();
    assert_eq!(row2[at], "抵扣");
    assert!(row2[at + 1].starts_with("100"), "{row2:?}");
}

/// The session cookie a form login sets.
fn cookie_of(r: &reqwest::Response) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("fapiao_session="))
        .expect("session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

async fn page(app: &TestApp, path: &str, cookie: &str) -> (u16, String) {
    let r = app
        .client
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn post_page(
    app: &TestApp,
    path: &str,
    cookie: &str,
    form: &[(&str, String)],
) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap()
}

/// 发票勾选 and 确认勾选 as forms (no script): 不抵扣 with its reason, a lowered 有效税额, a
/// bad one refused, the confirmation step for a flagged seller's invoice (nothing saved until
/// 确认勾选), one 确定 per use; the console's 退税登记 checkboxes.
#[tokio::test]
async fn the_pages_select_for_each_use_and_ask_before_a_flagged_seller() {
    let (app, _op, a) = setup().await;
    let r = app
        .client
        .post(app.url("/login/training"))
        .form(&[("taxpayer_id", TAXPAYER_A)])
        .send()
        .await
        .unwrap();
    let cookie = cookie_of(&r);
    let back = "issued_from=2026-11-01&issued_to=2026-11-30&per_page=50".to_string();
    let (s, html) = page(&app, &format!("/select?{back}"), &cookie).await;
    assert_eq!(s, 200);
    // The use choice: 抵扣 and 不抵扣 only (A is not registered for 退税), the five reasons,
    // and a 有效税额 input per row holding the tax in yuan.
    assert!(
        html.contains("<option value=\"no_deduct\">不抵扣</option>"),
        "{html}"
    );
    assert!(!html.contains("value=\"refund\""), "{html}");
    assert!(html.contains("用于集体福利或者个人消费") && html.contains("name=\"reason_text\""));
    assert!(
        html.contains(&format!("name=\"et:{CODE}:00000001\" value=\"130.00\"")),
        "{html}"
    );
    let key = |i: u32| format!("{CODE}:{}", n(i));
    let base = |ticks: &[String]| {
        let mut f: Vec<(&str, String)> = vec![("back", back.clone())];
        for t in ticks {
            f.push(("shown", t.clone()));
            f.push(("tick", t.clone()));
        }
        f
    };
    // 不抵扣 without a reason: refused, nothing saved.
    let mut f = base(&[key(1)]);
    f.push(("use", "no_deduct".into()));
    let r = post_page(&app, "/select/save", &cookie, &f).await;
    assert_eq!(r.status().as_u16(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let (_, html) = page(&app, &to, &cookie).await;
    assert!(
        html.contains("份未能保存") && html.contains("不抵扣原因"),
        "{html}"
    );
    assert_eq!(
        invoice(&app, &a, Some(CODE), &n(1)).await["selection"],
        "unselected"
    );
    // 不抵扣 用于集体福利或者个人消费 for 1; then 抵扣 of 2 with 100.00 of its 130.00 and 3 with
    // a 有效税额 that is no amount.
    let mut f = base(&[key(1)]);
    f.push(("use", "no_deduct".into()));
    f.push(("reason", "welfare".into()));
    let r = post_page(&app, "/select/save", &cookie, &f).await;
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.contains("done=saved&ns=1"), "{to}");
    let (et2, et3) = (format!("et:{}", key(2)), format!("et:{}", key(3)));
    let mut f = base(&[key(2), key(3)]);
    f.push(("use", "deduct".into()));
    f.push((et2.as_str(), "100.00".into()));
    f.push((et3.as_str(), "一百".into()));
    let r = post_page(&app, "/select/save", &cookie, &f).await;
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let (_, html) = page(&app, &to, &cookie).await;
    assert!(
        html.contains("勾选 1 份") && html.contains("有效税额“一百”不正确"),
        "{html}"
    );
    let v = invoice(&app, &a, Some(CODE), &n(1)).await;
    assert_eq!(
        (v["use"].as_str(), v["reason"].as_str()),
        (Some("no_deduct"), Some("welfare"))
    );
    let v = invoice(&app, &a, Some(CODE), &n(2)).await;
    assert_eq!(
        (v["use"].as_str(), v["effective_tax"].as_i64()),
        (Some("deduct"), Some(10_000))
    );
    assert_eq!(
        invoice(&app, &a, Some(CODE), &n(3)).await["selection"],
        "unselected"
    );
    // The list shows the use of the selected rows.
    let (_, html) = page(&app, &format!("/select?{back}&selected=true"), &cookie).await;
    assert!(
        html.contains("不抵扣（用于集体福利或者个人消费）"),
        "{html}"
    );

    // A flagged seller: the confirmation step lists the invoice with the office's reason and
    // carries the form; nothing is saved until 确认勾选.
    flag_seller(&app.app, SELLER, "走逃（失联）企业");
    let f = base(&[key(4)]);
    let r = post_page(&app, "/select/save", &cookie, &f).await;
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("风险提示") && html.contains("走逃（失联）企业"),
        "{html}"
    );
    assert!(
        html.contains("确认勾选") && html.contains(">返回<"),
        "{html}"
    );
    assert!(html.contains("name=\"confirmed\" value=\"1\""), "{html}");
    assert_eq!(
        invoice(&app, &a, Some(CODE), &n(4)).await["selection"],
        "unselected"
    );
    let mut f = base(&[key(4)]);
    f.push(("confirmed", "1".into()));
    let r = post_page(&app, "/select/save", &cookie, &f).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        invoice(&app, &a, Some(CODE), &n(4)).await["selection"],
        "selected"
    );

    // 确认勾选: one 确定 per use; 确定（不抵扣） makes a batch of the 不抵扣 selection only.
    let (_, html) = page(&app, "/confirm", &cookie).await;
    assert!(
        html.contains("value=\"deduct\"")
            && html.contains("确定（抵扣）")
            && html.contains("确定（不抵扣）"),
        "{html}"
    );
    let r = post_page(
        &app,
        "/confirm/make",
        &cookie,
        &[("use", "no_deduct".into())],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    let (_, html) = page(&app, "/confirm", &cookie).await;
    assert!(
        html.contains("本次确认（待提交）") && html.contains("用途：不抵扣"),
        "{html}"
    );
    let b = json_of(
        app.get("/api/v1/confirmations?period=202611", Some(&a))
            .await,
        200,
    )
    .await;
    let batches = b["items"].as_array().unwrap();
    assert!(
        batches
            .iter()
            .any(|x| x["use"] == "no_deduct" && x["count"] == 1),
        "{b}"
    );

    // The console: the 退税登记 checkboxes save the registration, and the page shows it.
    let r = app
        .client
        .post(app.url("/office/login"))
        .form(&[("username", "operator"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let staff = cookie_of(&r);
    let (s, html) = page(
        &app,
        &format!("/office/taxpayers/{TAXPAYER_A}/edit"),
        &staff,
    )
    .await;
    assert_eq!(s, 200);
    assert!(
        html.contains("出口退税企业") && html.contains("name=\"trade_service\""),
        "{html}"
    );
    let form: Vec<(&str, String)> = vec![
        ("name", "福州鑫达电子科技有限公司".into()),
        ("region", "350000".into()),
        ("eligible", "1".into()),
        ("credit_rating", "A".into()),
        ("trade_service", "1".into()),
    ];
    let r = post_page(
        &app,
        &format!("/office/taxpayers/{TAXPAYER_A}"),
        &staff,
        &form,
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    let (_, html) = page(&app, &format!("/office/taxpayers/{TAXPAYER_A}"), &staff).await;
    assert!(html.contains("外贸综合服务企业"), "{html}");
    let op = app.staff_token("operator").await;
    let t = json_of(
        app.get(&format!("/api/v1/office/taxpayers/{TAXPAYER_A}"), Some(&op))
            .await,
        200,
    )
    .await;
    assert_eq!(
        t["refund_registration"],
        json!({"exporter": false, "trade_service": true})
    );
    // 代办退税 is now offered on 发票勾选.
    let (_, html) = page(&app, &format!("/select?{back}"), &cookie).await;
    assert!(
        html.contains("<option value=\"agent_refund\">代办退税</option>"),
        "{html}"
    );
    assert!(!html.contains("value=\"refund\""));
}

/// The rows (header first) of the one file of A's November download.
async fn downloaded(app: &TestApp, a: &str) -> Vec<Vec<String>> {
    let r = app
        .get(
            "/api/v1/selections/export?issued_from=2026-11-01&issued_to=2026-11-30",
            Some(a),
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let bytes = r.bytes().await.unwrap().to_vec();
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    assert_eq!(zip.len(), 1);
    let mut book = Vec::new();
    std::io::Read::read_to_end(&mut zip.by_index(0).unwrap(), &mut book).unwrap();
    use calamine::Reader;
    let mut x: calamine::Xlsx<_> = calamine::Xlsx::new(Cursor::new(book)).unwrap();
    let name = x.sheet_names()[0].clone();
    let range = x.worksheet_range(&name).unwrap();
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}
