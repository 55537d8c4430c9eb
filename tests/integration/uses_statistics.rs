//! 抵扣统计 per 勾选用途 over HTTP: invoices selected for 抵扣 (one with a lowered 有效税额),
//! 不抵扣 (with reasons), 退税 and 代办退税 (after the office registered the taxpayer), each use
//! confirmed in its own batch; then the statistics' `deduct` / `no_deduct` per kind, the
//! `refund` table, the 进项税额转出 recorded for the period, the workbench card, the page, the
//! spreadsheet and the print — every figure computed by hand below.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use fapiao::domain::engine;
use fapiao::domain::{InvoiceKey, InvoiceStatus, RefundRegistration, TaxPeriod, TaxpayerId};

const SELLER: &str = "91330100716105852F";
const CODE: &str = "3500261130";
const DIGITAL: &str = "26330000000000000107";

async fn json_of(r: reqwest::Response, status: u16) -> Value {
    let s = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!(s, status, "body: {body}");
    body
}

/// A's invoices of November 2026: number, type, amount, tax (fen).
const INVOICES: &[(u32, &str, i64, i64)] = &[
    (1, "special", 100_000, 13_000),
    (2, "special", 200_000, 26_000),
    (3, "freight", 50_000, 6_500),
    (4, "motor_vehicle", 1_000_000, 130_000),
    (5, "special", 30_000, 3_900),
    (6, "special", 70_000, 9_100),
    (8, "freight", 40_000, 5_200),
];

fn row(n: u32, extra: Value) -> Value {
    let mut v = json!({"code": CODE, "number": format!("{n:08}")});
    if let (Some(v), Value::Object(extra)) = (v.as_object_mut(), extra) {
        v.extend(extra);
    }
    v
}

/// Selects `rows`, expecting every row accepted.
async fn select(app: &TestApp, a: &str, rows: Vec<Value>) {
    let r = json_of(
        app.post_json("/api/v1/selections", Some(a), &json!({"select": rows}))
            .await,
        200,
    )
    .await;
    assert_eq!(r["rejected"], json!([]), "{r}");
}

/// 确定 and 提交 of the selections of `use_`.
async fn confirm(app: &TestApp, a: &str, use_: &str) {
    let b = json_of(
        app.post_json("/api/v1/confirmations", Some(a), &json!({"use": use_}))
            .await,
        200,
    )
    .await;
    assert_eq!(b["use"], use_, "{b}");
    let path = format!(
        "/api/v1/confirmations/{}/{}/submit",
        b["period"].as_str().unwrap(),
        b["batch"]
    );
    let s = json_of(
        app.post_json(&path, Some(a), &json!({"declaration": "not_declared"}))
            .await,
        200,
    )
    .await;
    assert_eq!(s["status"], "submitted", "{s}");
}

fn triple(v: &Value, tax: &str) -> (u64, i64, i64) {
    (
        v["count"].as_u64().unwrap(),
        v["amount"].as_i64().unwrap(),
        v[tax].as_i64().unwrap(),
    )
}

fn by_type<'a>(rows: &'a Value, kind: &str) -> &'a Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == kind)
        .unwrap_or_else(|| panic!("no row {kind} in {rows}"))
}

fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils) is needed");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn statistics_per_kind_and_use_refunds_and_transfers_out() {
    let app = spawn_app(Opts {
        clock: Some("2026-11-20T10:00:00+08:00"),
        ..Opts::default()
    });
    let op = app.staff_token("operator").await;
    let mut lines: Vec<String> = INVOICES
        .iter()
        .map(|(n, kind, amount, tax)| {
            json!({
                "code": CODE, "number": format!("{n:08}"), "type": kind,
                "issued_on": format!("2026-11-{n:02}"), "seller_id": SELLER,
                "seller_name": "杭州宏远信息技术有限公司", "buyer_id": TAXPAYER_A,
                "amount": amount, "tax": tax,
            })
            .to_string()
        })
        .collect();
    lines.push(
        json!({
            "code": null, "number": DIGITAL, "type": "digital_special",
            "issued_on": "2026-11-07", "seller_id": SELLER,
            "seller_name": "杭州宏远信息技术有限公司", "buyer_id": TAXPAYER_A,
            "amount": 80_000, "tax": 10_400,
        })
        .to_string(),
    );
    app.import_ndjson(&op, lines.join("\n")).await;
    let a = app.taxpayer_token(TAXPAYER_A).await;

    // Only plain 抵扣 so far: nothing of the new figures, the old layout.
    let s = json_of(app.get("/api/v1/statistics/202611", Some(&a)).await, 200).await;
    assert_eq!(s["rows"].as_array().unwrap().len(), 4);
    assert_eq!(triple(&s["rows"][3]["no_deduct"], "tax"), (0, 0, 0));
    assert_eq!(
        s["refund"],
        json!({"rows": [{"type": "total", "label": "合计",
            "refund": {"count": 0, "amount": 0, "effective_tax": 0},
            "agent_refund": {"count": 0, "amount": 0, "effective_tax": 0}}]})
    );
    assert_eq!(
        s["transfer_out"],
        json!({"count": 0, "tax": 0, "items": []})
    );

    // 抵扣: 1 with 有效税额 100.00 of 130.00, 2 in full, the 数电专票 in full.
    select(
        &app,
        &a,
        vec![
            row(1, json!({"use": "deduct", "effective_tax": 10_000})),
            row(2, json!({})),
            json!({"code": null, "number": DIGITAL, "use": "deduct"}),
        ],
    )
    .await;
    confirm(&app, &a, "deduct").await;
    // 不抵扣: 3 (集体福利), 4 (其他, described).
    select(
        &app,
        &a,
        vec![
            row(3, json!({"use": "no_deduct", "reason": "welfare"})),
            row(
                4,
                json!({"use": "no_deduct", "reason": "other", "reason_text": "用于职工食堂"}),
            ),
        ],
    )
    .await;
    confirm(&app, &a, "no_deduct").await;
    // 退税 before the office registered the taxpayer: refused, nothing selected.
    let r = json_of(
        app.post_json(
            "/api/v1/selections",
            Some(&a),
            &json!({"select": [row(5, json!({"use": "refund"}))]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["rejected"][0]["reason"], "not_refund_enterprise", "{r}");
    // The office registers A for 出口退税 and as 外贸综合服务企业 (the registration API is
    // another change's: through the engine, in one audited transaction).
    let office = app.app.system("office");
    let id = TaxpayerId::parse(TAXPAYER_A).unwrap();
    let c = fapiao::service::settle::ctx(&app.app, &office);
    app.app
        .store
        .write(&office, |tx| {
            engine::set_registration(
                tx,
                &c,
                &id,
                RefundRegistration {
                    exporter: true,
                    trade_service: true,
                },
            )
        })
        .unwrap();
    // 退税: 5 in full, 6 with 有效税额 50.00 of 91.00; 代办退税: 8 in full.
    select(
        &app,
        &a,
        vec![
            row(5, json!({"use": "refund"})),
            row(6, json!({"use": "refund", "effective_tax": 5_000})),
            row(8, json!({"use": "agent_refund"})),
        ],
    )
    .await;
    confirm(&app, &a, "refund").await;
    confirm(&app, &a, "agent_refund").await;

    // The 数电专票 turns 失控 after its certification: the taxpayer records its 进项税额转出
    // for the current period (the HTTP route is another change's: through the engine).
    let digital = InvoiceKey::parse_any(None, DIGITAL).unwrap();
    fapiao::service::office::invoices::change_status(
        &app.app,
        &office,
        std::slice::from_ref(&digital),
        InvoiceStatus::OutOfControl,
    )
    .unwrap();
    let mut who = app.app.system("test");
    who.actor = fapiao::domain::Actor::Taxpayer { id: id.clone() };
    let c = fapiao::service::settle::ctx(&app.app, &who);
    let period = TaxPeriod::parse("202611").unwrap();
    let report = app
        .app
        .store
        .write(&who, |tx| {
            engine::record_transfers_out(tx, &c, &id, period, std::slice::from_ref(&digital))
        })
        .unwrap();
    assert_eq!(report.recorded.len(), 1, "{:?}", report.rejected);

    let s = json_of(app.get("/api/v1/statistics/202611", Some(&a)).await, 200).await;
    let rows = &s["rows"];
    let types: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "special",
            "freight",
            "motor_vehicle",
            "digital_special",
            "total"
        ]
    );
    // 专票: 抵扣 2 — 1,000.00 + 2,000.00, 有效税额 100.00 + 260.00 (退税 5 and 6 are not here).
    let special = by_type(rows, "special");
    assert_eq!(
        triple(&special["deduct"], "effective_tax"),
        (2, 300_000, 36_000)
    );
    assert_eq!(triple(&special["selection"], "tax"), (2, 300_000, 36_000));
    assert_eq!(triple(&special["no_deduct"], "tax"), (0, 0, 0));
    // 货运专票: 不抵扣 3 at its face tax (代办退税 8 is not here); 机动车: 不抵扣 4.
    let freight = by_type(rows, "freight");
    assert_eq!(triple(&freight["deduct"], "effective_tax"), (0, 0, 0));
    assert_eq!(triple(&freight["no_deduct"], "tax"), (1, 50_000, 6_500));
    assert_eq!(triple(&freight["total"], "tax"), (0, 0, 0));
    let motor = by_type(rows, "motor_vehicle");
    assert_eq!(triple(&motor["no_deduct"], "tax"), (1, 1_000_000, 130_000));
    // 数电专票: deducted, since 失控 — an exception, nothing left deductible.
    let digital_row = by_type(rows, "digital_special");
    assert_eq!(
        triple(&digital_row["deduct"], "effective_tax"),
        (1, 80_000, 10_400)
    );
    assert_eq!(
        triple(&digital_row["exceptions"]["total"], "tax"),
        (1, 80_000, 10_400)
    );
    assert_eq!(
        triple(&digital_row["deductible"]["total"], "tax"),
        (0, 0, 0)
    );
    // 合计
    let total = by_type(rows, "total");
    assert_eq!(
        triple(&total["deduct"], "effective_tax"),
        (3, 380_000, 46_400)
    );
    assert_eq!(triple(&total["total"], "tax"), (3, 380_000, 46_400));
    assert_eq!(
        triple(&total["deductible"]["total"], "tax"),
        (2, 300_000, 36_000)
    );
    assert_eq!(triple(&total["no_deduct"], "tax"), (2, 1_050_000, 136_500));
    assert_eq!(s["exceptions_total"], 1);
    assert_eq!(s["exceptions"][0]["number"], DIGITAL);
    // 退税: 专票 5 and 6 (有效税额 39.00 + 50.00); 代办退税: 货运专票 8.
    let refund = &s["refund"]["rows"];
    let types: Vec<&str> = refund
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["special", "freight", "total"]);
    assert_eq!(
        triple(&by_type(refund, "special")["refund"], "effective_tax"),
        (2, 100_000, 8_900)
    );
    assert_eq!(
        triple(&by_type(refund, "special")["agent_refund"], "effective_tax"),
        (0, 0, 0)
    );
    assert_eq!(
        triple(&by_type(refund, "freight")["agent_refund"], "effective_tax"),
        (1, 40_000, 5_200)
    );
    assert_eq!(
        triple(&by_type(refund, "total")["refund"], "effective_tax"),
        (2, 100_000, 8_900)
    );
    assert_eq!(
        triple(&by_type(refund, "total")["agent_refund"], "effective_tax"),
        (1, 40_000, 5_200)
    );
    assert_eq!(by_type(refund, "total")["label"], "合计");
    // 进项税额转出 of 2026-11: the 数电专票's 104.00.
    let t = &s["transfer_out"];
    assert_eq!(
        (t["count"].as_u64(), t["tax"].as_i64()),
        (Some(1), Some(10_400))
    );
    let item = &t["items"][0];
    assert_eq!(item["code"], Value::Null);
    assert_eq!(item["number"], DIGITAL);
    assert_eq!(item["type"], "digital_special");
    assert_eq!(item["status"], "out_of_control");
    assert_eq!(item["tax"], 10_400);
    assert!(item["recorded_at"]
        .as_str()
        .unwrap()
        .starts_with("2026-11-20T"));
    // Cached, the same answer.
    let again = json_of(app.get("/api/v1/statistics/202611", Some(&a)).await, 200).await;
    assert_eq!(again["cached"], true);
    assert_eq!(again["rows"], s["rows"]);
    assert_eq!(again["refund"], s["refund"]);
    // Another period has none of it.
    let before = json_of(app.get("/api/v1/statistics/202610", Some(&a)).await, 200).await;
    assert_eq!(before["transfer_out"]["count"], 0);
    // The recomputation from the records agrees with what is served.
    let (_, diffs) = fapiao::service::office::statistics::check(&app.app).unwrap();
    assert!(diffs.is_empty(), "{diffs:?}");

    // The workbench card of November carries the transfer-out.
    let w = json_of(app.get("/api/v1/workbench/2026", Some(&a)).await, 200).await;
    let nov = w["cards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["period"] == "202611")
        .unwrap()
        .clone();
    assert_eq!(nov["transfer_out_tax"], 10_400, "{nov}");
    assert_eq!(nov["tax"], 46_400, "{nov}");

    // In the filing period (December, the declared period still November) December's table
    // is readable: 退税 confirmed now belong to it. Later months are not.
    let december = chrono::DateTime::parse_from_rfc3339("2026-12-05T10:00:00+08:00").unwrap();
    app.app
        .clock
        .set(&app.app.store, &office, Some(december))
        .unwrap();
    let w = json_of(app.get("/api/v1/workbench/2026", Some(&a)).await, 200).await;
    assert_eq!(w["current_period"], "202611", "{w}");
    let dec = json_of(app.get("/api/v1/statistics/202612", Some(&a)).await, 200).await;
    assert_eq!(dec["refund"]["rows"].as_array().unwrap().len(), 1);
    let e = json_of(app.get("/api/v1/statistics/202701", Some(&a)).await, 422).await;
    assert_eq!(e["error"]["field"], "period", "{e}");

    // The spreadsheet: the table where it was, the uses appended below it.
    let r = app
        .get("/api/v1/statistics/202611/export.xlsx", Some(&a))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap().to_vec();
    use calamine::{Reader, Xlsx};
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(book.sheet_names(), vec!["抵扣统计", "发票明细", "异常发票"]);
    let table = book.worksheet_range("抵扣统计").unwrap();
    let text = |r: &[calamine::Data]| r.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    let lines: Vec<Vec<String>> = table.rows().map(text).collect();
    // Caption (4 lines), header, then 5 kinds × 3 lines: the old table first.
    assert_eq!(lines[5][0], "增值税专用发票");
    assert_eq!(lines[5][1], "已认证");
    let certified = lines
        .iter()
        .position(|r| r[0] == "合计" && r[1] == "已认证")
        .unwrap();
    assert_eq!(lines[certified][8], "3");
    let uses = lines
        .iter()
        .position(|r| r[0] == "合计" && r[1] == "抵扣/不抵扣")
        .unwrap();
    assert!(uses > certified);
    assert_eq!(
        &lines[uses][2..8],
        ["3", "3800", "464", "2", "10500", "1365"]
    );
    let refunds = lines
        .iter()
        .position(|r| r[0] == "合计" && r[1] == "退税/代办退税")
        .unwrap();
    assert_eq!(&lines[refunds][2..8], ["2", "1000", "89", "1", "400", "52"]);
    let transfer = lines.iter().position(|r| r[0] == "进项税额转出").unwrap();
    assert_eq!(
        (&lines[transfer][2], &lines[transfer][4]),
        (&"1".to_string(), &"104".to_string())
    );
    assert_eq!(lines[transfer + 2][1], DIGITAL);
    // The 异常发票 sheet lists the 抵扣 exception only.
    let exc = book.worksheet_range("异常发票").unwrap();
    assert_eq!(exc.rows().filter(|r| r[2] == DIGITAL).count(), 1);

    // The print shows the same blocks.
    let r = app
        .get("/api/v1/statistics/202611/print.pdf", Some(&a))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let pdf = pdftotext(&r.bytes().await.unwrap());
    for s in [
        "按勾选用途统计",
        "464.00",
        "1,365.00",
        "退税勾选统计",
        "89.00",
        "进项税额转出（1份，转出税额104.00）",
        DIGITAL,
    ] {
        assert!(pdf.contains(s), "{s} in\n{pdf}");
    }

    // The page: the 抵扣 / 不抵扣 columns, the 退税 table, the transfer-out list.
    let r = app
        .client
        .post(app.url("/login/training"))
        .form(&[("taxpayer_id", TAXPAYER_A)])
        .send()
        .await
        .unwrap();
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("fapiao_session="))
        .unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    let html = app
        .client
        .get(app.url("/statistics?period=202611"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for s in [
        "按勾选用途统计（抵扣、不抵扣）",
        "有效税额",
        "464.00",
        "1,365.00",
        "退税勾选统计",
        "代办退税",
        "89.00",
        "进项税额转出（共 1 份，转出税额 104.00）",
        DIGITAL,
    ] {
        assert!(html.contains(s), "{s} missing");
    }
}
