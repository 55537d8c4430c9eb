//! 发票勾选 query over HTTP: each filter, defaults, dependent fields, paging and totals, bad
//! conditions, the taxpayer scope, 单票查询, 未到期 and the office import.

use chrono::NaiveDate;
use fapiao::domain::{
    Contact, CreditRating, Enterprise, Fen, Invoice, InvoiceKey, InvoiceStatus, InvoiceType,
    Region, SelectionState, TaxPeriod, TaxpayerId,
};
use fapiao::service::office::invoices::import;
use fapiao::service::office::invoices::ImportMode;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

const CLOCK: &str = "2026-11-23T10:00:00+08:00";
const LATE: &str = "9144030071526726XG";
const S1: &str = "91330100716105852F";
const S2: &str = "911100007109288314";

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn p(s: &str) -> TaxPeriod {
    TaxPeriod::parse(s).unwrap()
}

#[allow(clippy::too_many_arguments)]
fn inv(
    code: &str,
    number: &str,
    buyer: &str,
    seller: &str,
    issued: &str,
    kind: InvoiceType,
    status: InvoiceStatus,
    selection: SelectionState,
    amount: i64,
) -> Invoice {
    Invoice {
        key: InvoiceKey::parse(code, number).unwrap(),
        kind,
        issued_on: d(issued),
        seller_id: TaxpayerId::parse(seller).unwrap(),
        seller_name: "测试销方有限公司".into(),
        buyer_id: TaxpayerId::parse(buyer).unwrap(),
        amount: Fen::new(amount),
        tax: Fen::tax_at_rate(Fen::new(amount), 130),
        status,
        selection,
        audit: None,
        usage: None,
    }
}

/// The fixture: A's invoices 1–6, B's 8, LATE's 9 (current period 202610).
async fn fixture() -> (TestApp, String, String, String) {
    let app = spawn_app(Opts {
        clock: Some(CLOCK),
        ..Opts::default()
    });
    let who = app.app.system("test");
    let late = TaxpayerId::parse(LATE).unwrap();
    fapiao::service::office::taxpayers::create(
        &app.app,
        &who,
        fapiao::service::office::taxpayers::NewTaxpayer {
            region: Region::of_taxpayer_id(&late).unwrap(),
            id: late,
            name: "深圳晚申报贸易有限公司".into(),
            authority: "国家税务总局深圳市税务局".into(),
            eligible: true,
            credit_rating: Some(CreditRating::B),
            contact: Contact::default(),
            enterprise: Enterprise::default(),
            current_period: Some(p("202610")),
            training: true,
        },
    )
    .unwrap();
    // Shenzhen's deadline for 202610 moved to the 25th: LATE's window is still open.
    fapiao::service::office::declarations::set_deadline(
        &app.app,
        &who,
        Region::parse("440300").unwrap(),
        p("202610"),
        d("2026-11-25"),
    )
    .unwrap();
    use InvoiceStatus::*;
    use InvoiceType::*;
    let rows = vec![
        inv(
            "3500261130",
            "00000001",
            TAXPAYER_A,
            S1,
            "2026-11-05",
            Special,
            Normal,
            SelectionState::Unselected,
            100_000,
        ),
        inv(
            "3500261130",
            "00000002",
            TAXPAYER_A,
            S2,
            "2026-10-20",
            Freight,
            Normal,
            SelectionState::Selected {
                period: p("202611"),
            },
            200_000,
        ),
        inv(
            "3500261130",
            "00000003",
            TAXPAYER_A,
            S1,
            "2026-09-10",
            Special,
            Normal,
            SelectionState::Confirmed {
                period: p("202609"),
                batch: 1,
                on: d("2026-10-12"),
            },
            300_000,
        ),
        inv(
            "135002620012",
            "00000004",
            TAXPAYER_A,
            S2,
            "2026-08-15",
            MotorVehicle,
            Normal,
            SelectionState::Scanned {
                period: p("202608"),
                on: d("2026-08-30"),
            },
            400_000,
        ),
        inv(
            "0350026113",
            "00000005",
            TAXPAYER_A,
            S2,
            "2026-07-01",
            Special,
            Voided,
            SelectionState::Unselected,
            500_000,
        ),
        inv(
            "3500261130",
            "00000006",
            TAXPAYER_A,
            S2,
            "2026-03-01",
            Special,
            Normal,
            SelectionState::Unselected,
            600_000,
        ),
        inv(
            "3500261130",
            "00000008",
            TAXPAYER_B,
            S2,
            "2026-10-05",
            Special,
            Normal,
            SelectionState::Unselected,
            800_000,
        ),
        inv(
            "3500261130",
            "00000009",
            LATE,
            S2,
            "2026-11-10",
            Special,
            Normal,
            SelectionState::Unselected,
            900_000,
        ),
    ];
    let rows = rows
        .into_iter()
        .enumerate()
        .map(|(i, v)| (i + 1, v))
        .collect();
    import(&app.app, &who, rows, ImportMode::Generated, false).unwrap();
    let a = app.taxpayer_token(TAXPAYER_A).await;
    let b = app.taxpayer_token(TAXPAYER_B).await;
    let late = app.taxpayer_token(LATE).await;
    (app, a, b, late)
}

async fn numbers(app: &TestApp, token: &str, query: &str) -> (Vec<String>, Value) {
    let r = app
        .get(
            &format!("/api/v1/invoices?issued_from=2026-01-01&issued_to=2026-11-30{query}"),
            Some(token),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{query}");
    let body: Value = r.json().await.unwrap();
    let nums = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            i["number"]
                .as_str()
                .unwrap()
                .trim_start_matches('0')
                .to_string()
        })
        .collect();
    (nums, body)
}

#[tokio::test]
async fn every_filter_with_its_defaults() {
    let (app, a, _, _) = fixture().await;
    let cases: &[(&str, &[&str])] = &[
        // Defaults: 未认证, 未勾选, 正常; within the look-back window and the current period.
        ("", &["1"]),
        ("&selected=all", &["1", "2"]),
        ("&selected=true", &["2"]),
        ("&selected=all&status=all", &["1", "2", "5"]),
        ("&status=voided", &["5"]),
        ("&certified=true", &["3"]),
        ("&certified=true&method=scan", &["4"]),
        ("&certified=true&method=all", &["3", "4"]),
        (
            "&certified=true&method=all&certified_from=2026-10-01",
            &["3"],
        ),
        ("&certified=true&method=all&certified_to=2026-09-30", &["4"]),
        ("&certified=true&method=all&type=motor_vehicle", &["4"]),
        ("&selected=all&type=freight", &["2"]),
        (&format!("&selected=all&seller_id={S1}"), &["1"]),
        ("&selected=all&code=3500261130&number=00000002", &["2"]),
        ("&selected=all&number=00000001", &["1"]),
        ("&certified=true&code=135002620012&method=all", &["4"]),
    ];
    for (q, expected) in cases {
        let (got, _) = numbers(&app, &a, q).await;
        assert_eq!(&got, expected, "query {q}");
    }
}

#[tokio::test]
async fn paging_order_and_totals_over_all_matches() {
    let (app, a, _, _) = fixture().await;
    let (all, body) = numbers(&app, &a, "&selected=all&status=all").await;
    assert_eq!(all, ["1", "2", "5"], "newest first");
    assert_eq!(body["total"], 3);
    assert_eq!(body["amount"], 800_000);
    assert_eq!(body["per_page"], 50);
    let (page2, body) = numbers(&app, &a, "&selected=all&status=all&per_page=1&page=2").await;
    assert_eq!(page2, ["2"]);
    assert_eq!(
        body["total"], 3,
        "totals are over all matches, not the page"
    );
    assert_eq!(body["amount"], 800_000);
    // A page past the end is refused, saying how many pages there are.
    let r = app
        .get(
            "/api/v1/invoices?issued_from=2026-01-01&issued_to=2026-11-30&selected=all&status=all&per_page=2&page=9",
            Some(&a),
        )
        .await;
    let body = expect_error(r, 422, "invalid_value").await;
    assert_eq!(body["error"]["field"], "page");
    assert_eq!(
        body["error"]["message"],
        "页码超出范围：共2页，请输入1至2之间的页码"
    );
    // The invoice object's shape.
    let (_, body) = numbers(&app, &a, "&certified=true").await;
    let item = &body["items"][0];
    assert_eq!(item["code"], "3500261130");
    assert_eq!(item["type"], "special");
    assert_eq!(item["selection"], "confirmed");
    assert_eq!(item["period"], "202609");
    assert_eq!(item["certified_on"], "2026-10-12");
    assert_eq!(item["batch"], 1);
    assert_eq!(item["amount"], 300_000);
    assert_eq!(item["tax"], 39_000);
    // Leading zeros kept.
    let (_, body) = numbers(&app, &a, "&status=voided").await;
    assert_eq!(body["items"][0]["code"], "0350026113");
}

#[tokio::test]
async fn bad_conditions_are_422_naming_the_field() {
    let (app, a, _, _) = fixture().await;
    for (q, field) in [
        ("/api/v1/invoices?issued_to=2026-11-30", "issued_from"),
        ("/api/v1/invoices?issued_from=2026-01-01", "issued_to"),
        ("/api/v1/invoices?issued_from=2026-12-01&issued_to=2026-11-30", "issued_to"),
        ("/api/v1/invoices?issued_from=2026-01-01&issued_to=2026-11-30&per_page=501", "per_page"),
        ("/api/v1/invoices?issued_from=2026-01-01&issued_to=2026-11-30&page=0", "page"),
        ("/api/v1/invoices?issued_from=2026-01-01&issued_to=2026-11-30&method=scan", "method"),
        ("/api/v1/invoices?issued_from=2026-01-01&issued_to=2026-11-30&certified=true&selected=true", "selected"),
        ("/api/v1/invoices?issued_from=2026-01-01&issued_to=2026-11-30&type=bogus", "type"),
        ("/api/v1/invoices?issued_from=2026-01-01&issued_to=2026-11-30&status=lost", "status"),
        ("/api/v1/invoices?issued_from=2026-01-01&issued_to=2026-11-30&code=123", "code"),
        ("/api/v1/invoices?issued_from=2026-01-01&issued_to=2026-11-30&seller_id=91350100M000100Y44", "seller_id"),
    ] {
        let body = expect_error(app.get(q, Some(&a)).await, 422, "invalid_value").await;
        assert_eq!(body["error"]["field"], field, "{q}: {body}");
    }
    // A staff token is not a taxpayer.
    let staff = app.staff_token("admin").await;
    expect_error(
        app.get(
            "/api/v1/invoices?issued_from=2026-01-01&issued_to=2026-11-30",
            Some(&staff),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn another_taxpayers_invoice_is_never_listed_or_read() {
    let (app, a, b, _) = fixture().await;
    let (nums, _) = numbers(&app, &b, "&selected=all&status=all").await;
    assert_eq!(nums, ["8"]);
    let (nums, _) = numbers(&app, &a, "&selected=all&status=all&number=00000008").await;
    assert!(nums.is_empty());
    expect_error(
        app.get("/api/v1/invoices/3500261130/00000008", Some(&a))
            .await,
        404,
        "not_found",
    )
    .await;
    let r = app
        .get("/api/v1/invoices/3500261130/00000008", Some(&b))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn single_invoice_query_within_the_window() {
    let (app, a, _, _) = fixture().await;
    let body: Value = app
        .get("/api/v1/invoices/135002620012/00000004", Some(&a))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["type"], "motor_vehicle");
    assert_eq!(body["selection"], "scanned");
    assert!(body["history"].is_array());
    // Older than the certification time limit and never certified: not offered.
    expect_error(
        app.get("/api/v1/invoices/3500261130/00000006", Some(&a))
            .await,
        404,
        "not_found",
    )
    .await;
    expect_error(
        app.get("/api/v1/invoices/12/00000006", Some(&a)).await,
        422,
        "invalid_value",
    )
    .await;
}

#[tokio::test]
async fn not_yet_due_invoices_only_through_their_own_query() {
    let (app, a, _, late) = fixture().await;
    // LATE is still in 202610: its November invoice is 未到期.
    let (nums, _) = numbers(&app, &late, "&selected=all&status=all").await;
    assert!(nums.is_empty(), "not offered for selection");
    let body: Value = app
        .get("/api/v1/invoices/not-yet-due", Some(&late))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["total"], 1);
    assert_eq!(body["items"][0]["number"], "00000009");
    let body: Value = app
        .get("/api/v1/invoices/not-yet-due", Some(&a))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["total"], 0);
    let body = expect_error(
        app.get("/api/v1/invoices/not-yet-due?issued_from=x", Some(&late))
            .await,
        422,
        "invalid_value",
    )
    .await;
    assert_eq!(body["error"]["field"], "issued_from");
}

fn ndjson(lines: &[(&str, &str, i64)]) -> String {
    lines
        .iter()
        .map(|(code, number, amount)| {
            serde_json::json!({
                "code": code, "number": number, "type": "special", "issued_on": "2026-11-02",
                "seller_id": S1, "seller_name": "杭州宏远信息技术有限公司", "buyer_id": TAXPAYER_A,
                "amount": amount, "tax": amount * 13 / 100, "selection": "confirmed"
            })
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn post_import(app: &TestApp, token: &str, ct: &str, body: String) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/office/invoices"))
        .bearer_auth(token)
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn office_import_all_or_nothing_idempotent_and_queryable() {
    let (app, a, _, _) = fixture().await;
    let op = app.staff_token("operator").await;
    let file = ndjson(&[
        ("4400261130", "00000101", 10_000),
        ("4400261130", "00000102", 20_000),
    ]);
    let r = post_import(&app, &op, "application/x-ndjson", file.clone()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["imported"], 2);
    // Immediately visible to the buyer, as 未勾选 whatever the file said.
    let (nums, _) = numbers(&app, &a, "&code=4400261130").await;
    assert_eq!(nums, ["101", "102"]);
    // Identical re-import: a no-op.
    let body: Value = post_import(&app, &op, "application/x-ndjson", file)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (body["imported"].as_u64(), body["unchanged"].as_u64()),
        (Some(0), Some(2))
    );
    // One bad line rejects the file; nothing from it is imported.
    let bad = format!(
        "{}\n{{\"code\": \"44\"}}",
        ndjson(&[("4400261130", "00000103", 1000)])
    );
    let body = expect_error(
        post_import(&app, &op, "application/x-ndjson", bad).await,
        422,
        "invalid_value",
    )
    .await;
    assert_eq!(body["rejected"][0]["line"], 2);
    let (nums, _) = numbers(&app, &a, "&code=4400261130").await;
    assert_eq!(nums.len(), 2);
    // A different invoice under an existing key is rejected.
    let conflict = ndjson(&[("4400261130", "00000101", 99_999)]);
    let body = expect_error(
        post_import(&app, &op, "application/x-ndjson", conflict).await,
        422,
        "invalid_value",
    )
    .await;
    assert_eq!(body["rejected"][0]["line"], 1);
    // CSV with a header row.
    let csv = format!(
        "code,number,type,issued_on,seller_id,seller_name,buyer_id,amount,tax\n4400261130,00000201,special,2026-11-03,{S1},\"杭州宏远, 分公司\",{TAXPAYER_A},5000,650\n"
    );
    let body: Value = post_import(&app, &op, "text/csv", csv)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["imported"], 1);
    // Wrong type, wrong role, not staff.
    expect_error(
        post_import(&app, &op, "application/pdf", "x".into()).await,
        415,
        "unsupported_type",
    )
    .await;
    let auditor = app.staff_token("auditor").await;
    expect_error(
        post_import(&app, &auditor, "text/csv", "x".into()).await,
        403,
        "wrong_role",
    )
    .await;
    expect_error(
        post_import(&app, &a, "text/csv", "x".into()).await,
        403,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn office_searches_invoices_by_seller_name_words() {
    let (app, a, _, _) = fixture().await;
    let who = app.app.system("test");
    let mut named = inv(
        "4400261130",
        "00000301",
        TAXPAYER_B,
        S1,
        "2026-11-02",
        InvoiceType::Special,
        InvoiceStatus::Normal,
        SelectionState::Unselected,
        1000,
    );
    named.seller_name = "深圳鑫达电子科技有限公司".into();
    let mut other = inv(
        "4400261130",
        "00000302",
        TAXPAYER_A,
        S2,
        "2026-11-02",
        InvoiceType::Special,
        InvoiceStatus::Normal,
        SelectionState::Unselected,
        1000,
    );
    other.seller_name = "广州恒通物流有限公司".into();
    import(
        &app.app,
        &who,
        vec![(1, named), (2, other)],
        ImportMode::Office,
        false,
    )
    .unwrap();
    let staff = app.staff_token("auditor").await;
    let body: Value = app
        .get("/api/v1/office/invoices?seller_name=鑫达电子", Some(&staff))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["total"], 1, "{body}");
    assert_eq!(body["items"][0]["number"], "00000301");
    let body: Value = app
        .get("/api/v1/office/invoices?seller_name=恒通物流", Some(&staff))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["total"], 1);
    let body: Value = app
        .get("/api/v1/office/invoices?seller_name=达电物流", Some(&staff))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["total"], 0, "all words must occur");
    let body: Value = app
        .get(
            &format!("/api/v1/office/invoices?buyer_id={TAXPAYER_B}&seller_name=恒通"),
            Some(&staff),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["total"], 0, "scoped to the buyer");
    let body: Value = app
        .get(
            &format!("/api/v1/office/invoices?buyer_id={TAXPAYER_A}&seller_name=有限公司"),
            Some(&staff),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["total"], 7, "the fixture's six and the new one");
    expect_error(
        app.get("/api/v1/office/invoices?seller_name=鑫", Some(&staff))
            .await,
        422,
        "invalid_value",
    )
    .await;
    expect_error(
        app.get("/api/v1/office/invoices", Some(&staff)).await,
        422,
        "invalid_value",
    )
    .await;
    // Taxpayers cannot use the office search.
    expect_error(
        app.get("/api/v1/office/invoices?seller_name=鑫达", Some(&a))
            .await,
        403,
        "forbidden",
    )
    .await;
}
