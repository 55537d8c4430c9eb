//! 抵扣统计, scans and the workbench over HTTP, the statistics job, `fapiao check`, and the
//! cached statistics after random operation sequences.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;
use fapiao::store::prelude::*;

const S1: &str = "91330100716105852F";
const CODE: &str = "3500261130";

/// A's invoices of November 2026: n, type, amount (fen); tax = 13 %.
const INVOICES: &[(u32, &str, i64)] = &[
    (1, "special", 100_000),
    (2, "special", 200_000),
    (3, "freight", 50_000),
    (4, "motor_vehicle", 1_000_000),
    (5, "special", 30_000),
    (6, "freight", 70_000),
    (7, "motor_vehicle", 400_000),
    (8, "special", 10_000),
];

fn tax(amount: i64) -> i64 {
    amount * 13 / 100
}

async fn json_of(r: reqwest::Response, status: u16) -> Value {
    let s = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!(s, status, "body: {body}");
    body
}

async fn setup() -> (TestApp, String, String, String) {
    let app = spawn_app(Opts {
        clock: Some("2026-11-20T10:00:00+08:00"),
        ..Opts::default()
    });
    let op = app.staff_token("operator").await;
    let admin = app.staff_token("admin").await;
    let lines: Vec<String> = INVOICES
        .iter()
        .map(|(n, kind, amount)| {
            json!({
                "code": CODE, "number": format!("{n:08}"), "type": kind,
                "issued_on": format!("2026-11-{n:02}"), "seller_id": S1,
                "seller_name": "杭州宏远信息技术有限公司", "buyer_id": TAXPAYER_A,
                "amount": amount, "tax": tax(*amount),
            })
            .to_string()
        })
        .collect();
    app.import_ndjson(&op, lines.join("\n")).await;
    let a = app.taxpayer_token(TAXPAYER_A).await;
    (app, op, admin, a)
}

fn keys(ns: &[u32]) -> Value {
    Value::Array(
        ns.iter()
            .map(|n| json!({"code": CODE, "number": format!("{n:08}")}))
            .collect(),
    )
}

async fn confirm(app: &TestApp, a: &str, ns: &[u32]) {
    json_of(
        app.post_json("/api/v1/selections", Some(a), &json!({"select": keys(ns)}))
            .await,
        200,
    )
    .await;
    let b = json_of(
        app.post_json("/api/v1/confirmations", Some(a), &json!({}))
            .await,
        200,
    )
    .await;
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
    assert_eq!(s["status"], "submitted");
}

async fn scans(app: &TestApp, op: &str, lines: &[(u32, &str, &str)]) -> reqwest::Response {
    let body: Vec<String> = lines
        .iter()
        .map(|(n, on, p)| {
            json!({"code": CODE, "number": format!("{n:08}"), "scanned_on": on, "period": p})
                .to_string()
        })
        .collect();
    app.client
        .post(app.url("/api/v1/office/scans"))
        .bearer_auth(op)
        .header("content-type", "application/x-ndjson")
        .body(body.join("\n"))
        .send()
        .await
        .unwrap()
}

fn cell(v: &Value) -> (u64, i64, i64) {
    (
        v["count"].as_u64().unwrap(),
        v["amount"].as_i64().unwrap(),
        v["tax"].as_i64().unwrap(),
    )
}

async fn stats(app: &TestApp, a: &str, period: &str) -> Value {
    json_of(
        app.get(&format!("/api/v1/statistics/{period}"), Some(a))
            .await,
        200,
    )
    .await
}

#[tokio::test]
async fn table_scans_exceptions_and_update_times() {
    let (app, op, admin, a) = setup().await;
    // Nothing certified yet: zeros everywhere.
    let s = stats(&app, &a, "202611").await;
    assert_eq!(s["rows"].as_array().unwrap().len(), 4);
    assert_eq!(cell(&s["rows"][3]["total"]), (0, 0, 0));
    // The server ran the missed nightly job at start (nothing pending then).
    let started_job = s["scans_applied_at"].as_str().unwrap().to_string();
    // 勾选认证 of 1, 2, 3, 4: current as soon as the submit commits.
    confirm(&app, &a, &[1, 2, 3, 4]).await;
    let s = stats(&app, &a, "202611").await;
    assert_eq!(s["cached"], false);
    let rows = s["rows"].as_array().unwrap();
    let types: Vec<&str> = rows.iter().map(|r| r["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["special", "freight", "motor_vehicle", "total"]);
    assert_eq!(cell(&rows[0]["selection"]), (2, 300_000, 39_000));
    assert_eq!(cell(&rows[1]["selection"]), (1, 50_000, 6_500));
    assert_eq!(cell(&rows[2]["selection"]), (1, 1_000_000, 130_000));
    assert_eq!(cell(&rows[3]["selection"]), (4, 1_350_000, 175_500));
    assert_eq!(cell(&rows[3]["scan"]), (0, 0, 0));
    assert_eq!(cell(&rows[3]["total"]), (4, 1_350_000, 175_500));
    let first_update = s["updated_at"].as_str().unwrap().to_string();
    // The same question again: from the cache, same time.
    let again = stats(&app, &a, "202611").await;
    assert_eq!(again["cached"], true);
    assert_eq!(again["updated_at"], first_update.as_str());
    // Scan records wait for the job: the table does not move yet.
    json_of(
        scans(
            &app,
            &op,
            &[(5, "2026-11-19", "202611"), (6, "2026-11-20", "202611")],
        )
        .await,
        200,
    )
    .await;
    let s = stats(&app, &a, "202611").await;
    assert_eq!(cell(&s["rows"][3]["scan"]), (0, 0, 0));
    assert_eq!(s["updated_at"], first_update.as_str());
    // A scan of a confirmed invoice, a bad line, a duplicate: the whole file is refused.
    let e = json_of(
        scans(
            &app,
            &op,
            &[
                (1, "2026-11-19", "202611"),
                (7, "2026-13-01", "202611"),
                (5, "2026-11-19", "202611"),
            ],
        )
        .await,
        422,
    )
    .await;
    let lines: Vec<u64> = e["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2]);
    let e = json_of(
        scans(
            &app,
            &op,
            &[(1, "2026-11-19", "202611"), (5, "2026-11-19", "202611")],
        )
        .await,
        422,
    )
    .await;
    assert_eq!(e["rejected"].as_array().unwrap().len(), 2);
    // The refresh applies them; the update time moves.
    let auditor = app.staff_token("auditor").await;
    let r = app
        .post_json(
            "/api/v1/office/statistics/refresh",
            Some(&auditor),
            &json!({}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 403);
    let r = json_of(
        app.post_json("/api/v1/office/statistics/refresh", Some(&op), &json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(r["applied"], 2);
    let s = stats(&app, &a, "202611").await;
    assert_eq!(s["cached"], false);
    assert_ne!(s["updated_at"], first_update.as_str());
    assert_ne!(s["scans_applied_at"], started_job.as_str());
    let rows = s["rows"].as_array().unwrap();
    assert_eq!(cell(&rows[0]["scan"]), (1, 30_000, 3_900));
    assert_eq!(cell(&rows[1]["scan"]), (1, 70_000, 9_100));
    assert_eq!(cell(&rows[1]["total"]), (2, 120_000, 15_600));
    assert_eq!(cell(&rows[3]["scan"]), (2, 100_000, 13_000));
    assert_eq!(cell(&rows[3]["total"]), (6, 1_450_000, 188_500));
    assert_eq!(
        cell(&rows[3]["deductible"]["total"]),
        (6, 1_450_000, 188_500)
    );
    // A scanned invoice is certified: not selectable, and its history says so.
    let one = json_of(
        app.get(&format!("/api/v1/invoices/{CODE}/00000005"), Some(&a))
            .await,
        200,
    )
    .await;
    assert_eq!(one["selection"], "scanned");
    assert_eq!(one["history"][0]["action"], "scanned");
    // Each kind of status change moves an invoice into the exception list.
    let mut expected_exceptions: Vec<&str> = Vec::new();
    for (n, status) in [
        (1u32, "voided"),
        (3, "red_reversed"),
        (5, "out_of_control"),
        (4, "abnormal"),
    ] {
        let r = app
            .send_json(
                Method::PUT,
                &format!("/api/v1/office/invoices/{CODE}/{n:08}/status"),
                Some(&op),
                &json!({"status": status}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        expected_exceptions.push(match n {
            1 => "00000001",
            3 => "00000003",
            4 => "00000004",
            _ => "00000005",
        });
        expected_exceptions.sort_unstable();
        let s = stats(&app, &a, "202611").await;
        assert_eq!(s["cached"], false, "a status change invalidates");
        let got: Vec<&str> = s["exceptions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["number"].as_str().unwrap())
            .collect();
        assert_eq!(got, expected_exceptions);
        let ex = s["exceptions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["number"] == format!("{n:08}"))
            .unwrap();
        assert_eq!(ex["status"], status);
    }
    let s = stats(&app, &a, "202611").await;
    let rows = s["rows"].as_array().unwrap();
    // special: 勾选 1 (voided) + 2; 扫描 5 (失控)
    assert_eq!(
        cell(&rows[0]["exceptions"]["selection"]),
        (1, 100_000, 13_000)
    );
    assert_eq!(cell(&rows[0]["exceptions"]["scan"]), (1, 30_000, 3_900));
    assert_eq!(
        cell(&rows[0]["deductible"]["selection"]),
        (1, 200_000, 26_000)
    );
    assert_eq!(cell(&rows[0]["deductible"]["scan"]), (0, 0, 0));
    // freight: 3 (红冲) 勾选; 6 scanned stays valid
    assert_eq!(cell(&rows[1]["deductible"]["total"]), (1, 70_000, 9_100));
    // motor vehicle: 4 (异常)
    assert_eq!(cell(&rows[2]["deductible"]["total"]), (0, 0, 0));
    assert_eq!(cell(&rows[3]["total"]), (6, 1_450_000, 188_500));
    assert_eq!(
        cell(&rows[3]["exceptions"]["total"]),
        (4, 1_180_000, 153_400)
    );
    assert_eq!(cell(&rows[3]["deductible"]["total"]), (2, 270_000, 35_100));
    // The exception list is paged.
    let page = json_of(
        app.get("/api/v1/statistics/202611?page=2&per_page=3", Some(&a))
            .await,
        200,
    )
    .await;
    assert_eq!(
        (
            page["exceptions_total"].as_u64(),
            page["page"].as_u64(),
            page["per_page"].as_u64()
        ),
        (Some(4), Some(2), Some(3))
    );
    let nums: Vec<&str> = page["exceptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["number"].as_str().unwrap())
        .collect();
    assert_eq!(nums, ["00000005"]);
    assert_eq!(page["cached"], true);
    json_of(
        app.get("/api/v1/statistics/202611?per_page=501", Some(&a))
            .await,
        422,
    )
    .await;
    // Back to 正常: out of the list again.
    app.send_json(
        Method::PUT,
        &format!("/api/v1/office/invoices/{CODE}/00000004/status"),
        Some(&op),
        &json!({"status": "normal"}),
    )
    .await;
    let s = stats(&app, &a, "202611").await;
    assert_eq!(s["exceptions"].as_array().unwrap().len(), 3);
    // The integrity check agrees with every cached table.
    let (n, diffs) = fapiao::service::office::statistics::check(&app.app).unwrap();
    assert!(n >= 1);
    assert!(diffs.is_empty(), "{diffs:?}");
    let _ = admin;
}

#[tokio::test]
async fn workbench_cards_across_a_period_change() {
    let (app, op, admin, a) = setup().await;
    confirm(&app, &a, &[1, 2]).await;
    let w = json_of(app.get("/api/v1/workbench/2026", Some(&a)).await, 200).await;
    let cards = w["cards"].as_array().unwrap();
    assert_eq!(cards.len(), 12);
    let states: Vec<&str> = cards.iter().map(|c| c["state"].as_str().unwrap()).collect();
    assert_eq!(&states[..10], ["past"; 10]);
    assert_eq!((states[10], states[11]), ("current", "future"));
    assert_eq!(
        (
            cards[10]["period"].as_str(),
            cards[10]["count"].as_u64(),
            cards[10]["tax"].as_i64()
        ),
        (Some("202611"), Some(2), Some(39_000))
    );
    // The declaration closes 202611: it becomes past, 202612 current.
    let r = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/office/declarations/{TAXPAYER_A}/202611"),
            Some(&op),
            &json!({"status": "declared"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let w = json_of(app.get("/api/v1/workbench/2026", Some(&a)).await, 200).await;
    let cards = w["cards"].as_array().unwrap();
    assert_eq!(
        (cards[10]["state"].as_str(), cards[11]["state"].as_str()),
        (Some("past"), Some("current"))
    );
    assert_eq!(cards[10]["count"], 2);
    // A scan certified in 202612 (scanned in December) shows on December's card once applied.
    let r = app
        .send_json(
            Method::PUT,
            "/api/v1/office/clock",
            Some(&admin),
            &json!({"now": "2026-12-02T10:00:00+08:00"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let e = json_of(scans(&app, &op, &[(3, "2026-11-20", "202612")]).await, 422).await;
    assert!(e["rejected"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("所属期不能晚于"));
    json_of(scans(&app, &op, &[(3, "2026-12-02", "202612")]).await, 200).await;
    json_of(
        app.post_json("/api/v1/office/statistics/refresh", Some(&op), &json!({}))
            .await,
        200,
    )
    .await;
    let w = json_of(app.get("/api/v1/workbench/2026", Some(&a)).await, 200).await;
    assert_eq!(
        (
            w["cards"][11]["count"].as_u64(),
            w["cards"][11]["tax"].as_i64()
        ),
        (Some(1), Some(6_500))
    );
    let w = json_of(app.get("/api/v1/workbench/2027", Some(&a)).await, 200).await;
    assert!(w["cards"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["state"] == "future"));
    let e = json_of(app.get("/api/v1/workbench/26", Some(&a)).await, 422).await;
    assert_eq!(e["error"]["field"], "year");
    let e = json_of(app.get("/api/v1/statistics/2026-11", Some(&a)).await, 422).await;
    assert_eq!(e["error"]["field"], "period");
    let e = json_of(app.get("/api/v1/statistics/202611", Some(&op)).await, 403).await;
    assert_eq!(e["error"]["code"], "forbidden");
}

#[tokio::test]
async fn the_nightly_job_runs_once_a_day_and_after_downtime() {
    let (app, op, _admin, _a) = setup().await;
    let svc = &app.app;
    // First start: no run on record, so the last due time (02:00 today) was missed: the
    // server ran it at start (or this call does, whichever comes first); then not again.
    let _ = fapiao::service::office::statistics::run_job_if_due(svc).unwrap();
    assert!(svc
        .store
        .read()
        .unwrap()
        .setting::<String>("statistics_job_last")
        .unwrap()
        .is_some());
    assert!(!fapiao::service::office::statistics::run_job_if_due(svc).unwrap());
    json_of(scans(&app, &op, &[(7, "2026-11-20", "202611")]).await, 200).await;
    // Later the same day: not due; the scan waits.
    let set = |t: &str| {
        let to = chrono::DateTime::parse_from_rfc3339(t).unwrap();
        svc.clock
            .set(&svc.store, &svc.system("test"), Some(to))
            .unwrap();
    };
    set("2026-11-21T01:59:00+08:00");
    assert!(!fapiao::service::office::statistics::run_job_if_due(svc).unwrap());
    assert_eq!(svc.store.read().unwrap().pending_scans().unwrap().len(), 1);
    set("2026-11-21T02:00:00+08:00");
    assert!(fapiao::service::office::statistics::run_job_if_due(svc).unwrap());
    assert!(svc
        .store
        .read()
        .unwrap()
        .pending_scans()
        .unwrap()
        .is_empty());
    // Down over two nights: one catch-up run at the next check.
    set("2026-11-23T09:00:00+08:00");
    assert!(fapiao::service::office::statistics::run_job_if_due(svc).unwrap());
    assert!(!fapiao::service::office::statistics::run_job_if_due(svc).unwrap());
}

/// Imports invoice 1 for A (issued 2026-11-02) and confirms it; returns A's token.
async fn one_confirmed_invoice(app: &TestApp) -> String {
    let op = app.staff_token("operator").await;
    let line = json!({
        "code": CODE, "number": "00000001", "type": "special", "issued_on": "2026-11-02",
        "seller_id": S1, "seller_name": "杭州宏远信息技术有限公司", "buyer_id": TAXPAYER_A,
        "amount": 100_000, "tax": 13_000,
    });
    app.import_ndjson(&op, line.to_string()).await;
    let a = app.taxpayer_token(TAXPAYER_A).await;
    confirm(app, &a, &[1]).await;
    a
}

#[tokio::test]
async fn fapiao_check_catches_a_corrupted_cache() {
    let keep = tempfile::tempdir().unwrap();
    let dir = keep.path().join("data");
    let app = spawn_app(Opts {
        clock: Some("2026-11-20T10:00:00+08:00"),
        data_dir: Some(dir.clone()),
        ..Opts::default()
    });
    let a = one_confirmed_invoice(&app).await;
    stats(&app, &a, "202611").await;
    let id = fapiao::domain::TaxpayerId::parse(TAXPAYER_A).unwrap();
    let p = fapiao::domain::TaxPeriod::parse("202611").unwrap();
    let who = app.app.system("test");
    let good = fapiao::service::portal::statistics::tally(&app.app, &who, &id, p)
        .unwrap()
        .cached;
    let keys = app
        .app
        .store
        .read()
        .unwrap()
        .stats_keys(&id, p, 0, usize::MAX)
        .unwrap();
    assert!(fapiao::service::office::statistics::check(&app.app)
        .unwrap()
        .1
        .is_empty());
    // One fen off in one cell.
    let mut bad = good.clone();
    bad.certified[0][0].tax += fapiao::domain::Fen::new(1);
    fapiao::service::office::statistics::overwrite_cache(&app.app, &id, p, &bad, &keys).unwrap();
    let (_, diffs) = fapiao::service::office::statistics::check(&app.app).unwrap();
    assert_eq!(diffs.len(), 1);
    assert_eq!(diffs[0].what, "certified figures differ");
    // The right figures with an exception list that is not the period's.
    let other = fapiao::domain::InvoiceKey::parse(CODE, "00000999").unwrap();
    fapiao::service::office::statistics::overwrite_cache(&app.app, &id, p, &good, &[other])
        .unwrap();
    let (_, diffs) = fapiao::service::office::statistics::check(&app.app).unwrap();
    assert_eq!(diffs[0].what, "exception list differs");
    fapiao::service::office::statistics::overwrite_cache(&app.app, &id, p, &good, &keys).unwrap();
    assert!(fapiao::service::office::statistics::check(&app.app)
        .unwrap()
        .1
        .is_empty());
    fapiao::service::office::statistics::overwrite_cache(&app.app, &id, p, &bad, &keys).unwrap();
    drop(a);
    drop(app);
    // The command says so and exits non-zero (after the server let go of the files).
    let bin = env!("CARGO_BIN_EXE_fapiao");
    let mut out = None;
    for _ in 0..50 {
        let o = std::process::Command::new(bin)
            .args(["check", "--data"])
            .arg(&dir)
            .output()
            .unwrap();
        let text =
            String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
        if text.contains("cannot open") || text.contains("Database already open") {
            std::thread::sleep(std::time::Duration::from_millis(100));
            continue;
        }
        out = Some((o.status.code(), text));
        break;
    }
    let (code, text) = out.expect("check ran");
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("不一致") && text.contains(TAXPAYER_A),
        "{text}"
    );
}

#[tokio::test]
async fn fapiao_check_recomputes_tables_that_have_no_cache() {
    let app = spawn_app(Opts {
        clock: Some("2026-11-20T10:00:00+08:00"),
        ..Opts::default()
    });
    let a = one_confirmed_invoice(&app).await;
    // Nobody read the statistics: nothing is cached, as after a crash that lost the cache.
    assert!(app
        .app
        .store
        .read()
        .unwrap()
        .all_stats()
        .unwrap()
        .is_empty());
    let (n, diffs) = fapiao::service::office::statistics::check(&app.app).unwrap();
    assert_eq!(
        n, 1,
        "the period with a confirmed invoice is recomputed and compared"
    );
    assert!(diffs.is_empty(), "{diffs:?}");
    // A future period has no statistics, and no report to print.
    let r = app
        .get("/api/v1/statistics/209912/print.pdf", Some(&a))
        .await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["field"], "period", "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("尚未到来"));
}
