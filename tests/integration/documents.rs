//! Today's documents over HTTP (数电票, 电子专票, 通行费, 农产品, 海关缴款书): loaded, refused
//! with their own reasons, found by their numbers (`/api/v1/invoices/-/{number}`), queried by
//! kind, selected (a 缴款书 only when its 稽核比对 is 相符), confirmed, and counted in 抵扣统计
//! with a row per kind — every figure computed by hand below.

use serde_json::{json, Value};

use crate::helpers::*;

const SELLER: &str = "91330100716105852F";
const DIGITAL_SPECIAL: &str = "26330000000000000101";
const DIGITAL_ORDINARY: &str = "26330000000000000102";
const E_SPECIAL: &str = "033002600113";
const TOLL: &str = "033002600112";
const AGRICULTURAL: &str = "3300261130";
const CUSTOMS_MATCH: &str = "290120261000000001-L01";
const CUSTOMS_PENDING: &str = "290120261000000002-L01";

fn line(code: Option<&str>, number: &str, kind: &str, day: u32, amount: i64, tax: i64) -> Value {
    json!({
        "code": code, "number": number, "type": kind,
        "issued_on": format!("2026-11-{day:02}"), "seller_id": SELLER,
        "seller_name": "杭州宏远信息技术有限公司", "buyer_id": TAXPAYER_A,
        "amount": amount, "tax": tax,
    })
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

fn lines(rows: &[Value]) -> String {
    rows.iter().map(|r| format!("{r}\n")).collect()
}

async fn json_of(r: reqwest::Response, status: u16) -> Value {
    let s = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!(s, status, "body: {body}");
    body
}

async fn import(app: &TestApp, op: &str, body: String) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/office/invoices"))
        .bearer_auth(op)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap()
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

fn cell(v: &Value) -> (u64, i64, i64) {
    (
        v["count"].as_u64().unwrap(),
        v["amount"].as_i64().unwrap(),
        v["tax"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn every_kind_is_loaded_found_selected_confirmed_and_counted() {
    let app = spawn_app(Opts {
        clock: Some("2026-11-20T10:00:00+08:00"),
        ..Opts::default()
    });
    let op = app.staff_token("operator").await;
    let a = app.taxpayer_token(TAXPAYER_A).await;
    let good = [
        line(None, DIGITAL_SPECIAL, "digital_special", 3, 100_000, 13_000),
        line(None, DIGITAL_ORDINARY, "数电普票", 4, 20_000, 600),
        line(Some(E_SPECIAL), "00000001", "e_special", 5, 50_000, 6_500),
        line(Some(TOLL), "00000001", "toll", 6, 10_300, 300),
        // 农产品: exempt, no tax on the face; 9 % of 10,000.00 yuan = 900.00 is deducted.
        line(
            Some(AGRICULTURAL),
            "00000009",
            "agricultural",
            7,
            1_000_000,
            0,
        ),
        with(
            line(None, CUSTOMS_MATCH, "customs", 8, 2_000_000, 260_000),
            "audit_result",
            json!("match"),
        ),
        // No audit_result: 滞留 until the comparison returns.
        line(None, CUSTOMS_PENDING, "17", 9, 500_000, 65_000),
    ];

    // Each kind's own refusal, in a file that is refused whole: nothing is imported.
    let bad = [
        line(
            Some("3300261130"),
            DIGITAL_SPECIAL,
            "digital_special",
            3,
            1,
            0,
        ),
        line(Some("033002600111"), "00000002", "e_special", 3, 1, 0),
        line(None, "25330000000000000103", "digital_special", 3, 1, 0),
        line(None, "29012026100000000123", "customs", 3, 1, 0),
        with(
            line(Some(AGRICULTURAL), "00000010", "special", 3, 1, 0),
            "audit_result",
            json!("match"),
        ),
        line(None, "26990000000000000104", "digital_ordinary", 3, 1, 0),
    ];
    let mut body = lines(&good);
    body.push_str(&lines(&bad));
    let e = json_of(import(&app, &op, body).await, 422).await;
    let reasons: Vec<String> = e["rejected"]
        .as_array()
        .unwrap_or_else(|| panic!("{e}"))
        .iter()
        .map(|r| format!("{}:{}", r["line"], r["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(reasons.len(), 6, "{reasons:?}");
    for (i, want) in [
        "数电票没有发票代码",
        "电子专票的发票代码应为12位，第11—12位为13",
        "数电票号码前两位为开票年份25，与开票日期（2026年）不符",
        "20位数字是数电票号码，不是缴款书号码",
        "只有海关缴款书有稽核比对结果",
        "数电票号码第3—4位应为省级税务局代码（如11北京、44广东），而不是99",
    ]
    .iter()
    .enumerate()
    {
        assert!(
            reasons[i].starts_with(&format!("{}:", 8 + i)) && reasons[i].contains(want),
            "{} should say {want}",
            reasons[i]
        );
    }
    expect_error(
        app.get(&format!("/api/v1/invoices/-/{DIGITAL_SPECIAL}"), Some(&a))
            .await,
        404,
        "not_found",
    )
    .await;

    app.import_ndjson(&op, lines(&good)).await;

    // Found by number, with `code: null`.
    let d = json_of(
        app.get(&format!("/api/v1/invoices/-/{DIGITAL_SPECIAL}"), Some(&a))
            .await,
        200,
    )
    .await;
    assert_eq!(d["code"], Value::Null);
    assert_eq!(d["number"], DIGITAL_SPECIAL);
    assert_eq!(d["type"], "digital_special");
    let c = json_of(
        app.get(&format!("/api/v1/invoices/-/{CUSTOMS_PENDING}"), Some(&a))
            .await,
        200,
    )
    .await;
    assert_eq!(
        (c["type"].as_str(), c["audit_result"].as_str()),
        (Some("customs"), Some("pending"))
    );
    let g = json_of(
        app.get(
            &format!("/api/v1/invoices/{AGRICULTURAL}/00000009"),
            Some(&a),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (g["tax"].as_i64(), g["deductible_tax"].as_i64()),
        (Some(0), Some(90_000))
    );

    // 发票勾选 by kind and by 数电票号码.
    let q = "/api/v1/invoices?issued_from=2026-11-01&issued_to=2026-11-30";
    let all = json_of(app.get(q, Some(&a)).await, 200).await;
    assert_eq!(all["total"], 7);
    let customs = json_of(app.get(&format!("{q}&type=customs"), Some(&a)).await, 200).await;
    assert_eq!(customs["total"], 2);
    let one = json_of(
        app.get(&format!("{q}&digital_number={DIGITAL_ORDINARY}"), Some(&a))
            .await,
        200,
    )
    .await;
    assert_eq!(one["total"], 1);
    assert_eq!(one["items"][0]["number"], DIGITAL_ORDINARY);
    let one = json_of(
        app.get(&format!("{q}&number={CUSTOMS_MATCH}"), Some(&a))
            .await,
        200,
    )
    .await;
    assert_eq!(one["total"], 1);
    // An eight-digit number alone finds the coded invoices with it, not a 数电票.
    let coded = json_of(
        app.get(&format!("{q}&number=00000001"), Some(&a)).await,
        200,
    )
    .await;
    assert_eq!(coded["total"], 2);
    let e = expect_error(
        app.get(&format!("{q}&number=1234567"), Some(&a)).await,
        422,
        "invalid_value",
    )
    .await;
    assert_eq!(e["error"]["field"], "number");

    // Select everything: the 滞留 缴款书 is refused with its reason.
    let keys = json!([
        {"code": null, "number": DIGITAL_SPECIAL},
        {"number": DIGITAL_ORDINARY},
        {"code": E_SPECIAL, "number": "00000001"},
        {"code": TOLL, "number": "00000001"},
        {"code": AGRICULTURAL, "number": "00000009"},
        {"code": null, "number": CUSTOMS_MATCH},
        {"code": null, "number": CUSTOMS_PENDING},
    ]);
    let s = json_of(
        app.post_json("/api/v1/selections", Some(&a), &json!({"select": keys}))
            .await,
        200,
    )
    .await;
    let rejected = s["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1, "{s}");
    assert_eq!(rejected[0]["code"], Value::Null);
    assert_eq!(rejected[0]["number"], CUSTOMS_PENDING);
    assert_eq!(rejected[0]["reason"], "audit_mismatch");
    assert_eq!(
        rejected[0]["message"],
        "海关缴款书稽核比对结果为滞留，相符后才能勾选抵扣"
    );

    // Confirm: the batch deducts the computed tax of the 农产品 invoice.
    let b = json_of(
        app.post_json("/api/v1/confirmations", Some(&a), &json!({}))
            .await,
        200,
    )
    .await;
    let amount = 100_000 + 20_000 + 50_000 + 10_300 + 1_000_000 + 2_000_000;
    let tax = 13_000 + 600 + 6_500 + 300 + 90_000 + 260_000;
    assert_eq!(
        (b["count"].as_u64(), b["amount"].as_i64(), b["tax"].as_i64()),
        (Some(6), Some(amount), Some(tax))
    );
    let path = format!(
        "/api/v1/confirmations/{}/{}/submit",
        b["period"].as_str().unwrap(),
        b["batch"]
    );
    json_of(
        app.post_json(&path, Some(&a), &json!({"declaration": "not_declared"}))
            .await,
        200,
    )
    .await;

    // 抵扣统计: the manual's three kinds (zeros), then a row per kind present, then the total.
    let st = json_of(app.get("/api/v1/statistics/202611", Some(&a)).await, 200).await;
    let rows = st["rows"].as_array().unwrap();
    let types: Vec<&str> = rows.iter().map(|r| r["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "special",
            "freight",
            "motor_vehicle",
            "e_special",
            "digital_special",
            "digital_ordinary",
            "toll",
            "agricultural",
            "customs",
            "total"
        ]
    );
    let by = |t: &str| rows.iter().find(|r| r["type"] == t).unwrap()["selection"].clone();
    assert_eq!(cell(&by("special")), (0, 0, 0));
    assert_eq!(cell(&by("digital_special")), (1, 100_000, 13_000));
    assert_eq!(cell(&by("digital_ordinary")), (1, 20_000, 600));
    assert_eq!(cell(&by("e_special")), (1, 50_000, 6_500));
    assert_eq!(cell(&by("toll")), (1, 10_300, 300));
    assert_eq!(cell(&by("agricultural")), (1, 1_000_000, 90_000));
    assert_eq!(cell(&by("customs")), (1, 2_000_000, 260_000));
    assert_eq!(cell(&by("total")), (6, amount, tax));

    // The print and the spreadsheet have the same rows, named in Chinese.
    let r = app
        .get("/api/v1/statistics/202611/print.pdf", Some(&a))
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let text = pdftotext(&r.bytes().await.unwrap());
    for label in [
        "增值税电子专用发票",
        "电子发票（增值税专用发票）",
        "电子发票（普通发票）",
        "收费公路通行费增值税电子普通发票",
        "农产品收购发票或销售发票",
        "海关进口增值税专用缴款书",
    ] {
        assert!(
            text.contains(label),
            "{label} missing in the print:\n{text}"
        );
    }
    assert!(
        text.contains("900.00"),
        "the 农产品 deduction in the print:\n{text}"
    );
    let r = app
        .get("/api/v1/statistics/202611/export.xlsx", Some(&a))
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let bytes = r.bytes().await.unwrap();
    let cells = {
        use calamine::{Reader, Xlsx};
        let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
        let mut all = String::new();
        for name in book.sheet_names() {
            let range = book.worksheet_range(&name).unwrap();
            for row in range.rows() {
                for c in row {
                    all.push_str(&c.to_string());
                    all.push('|');
                }
            }
        }
        all
    };
    for label in [
        "电子发票（增值税专用发票）",
        "海关进口增值税专用缴款书",
        "农产品收购发票或销售发票",
    ] {
        assert!(
            cells.contains(label),
            "{label} missing in the sheet: {cells}"
        );
    }

    // The comparison returns 相符: the office records it, and the 缴款书 can be selected.
    let path = format!("/api/v1/office/invoices/-/{CUSTOMS_PENDING}/audit");
    let r = app
        .send_json(
            reqwest::Method::PUT,
            &path,
            Some(&op),
            &json!({"audit_result": "相符"}),
        )
        .await;
    let v = json_of(r, 200).await;
    assert_eq!(v["audit_result"], "match");
    let r = app
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/office/invoices/{AGRICULTURAL}/00000009/audit"),
            Some(&op),
            &json!({"audit_result": "match"}),
        )
        .await;
    let e = expect_error(r, 422, "invalid_value").await;
    assert_eq!(e["error"]["message"], "只有海关缴款书有稽核比对结果");
    let s = json_of(
        app.post_json(
            "/api/v1/selections",
            Some(&a),
            &json!({"select": [{"code": null, "number": CUSTOMS_PENDING}]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(s["rejected"].as_array().unwrap().len(), 0, "{s}");
    // Its history names the comparison in Chinese.
    let h = json_of(
        app.get(&format!("/api/v1/invoices/-/{CUSTOMS_PENDING}"), Some(&a))
            .await,
        200,
    )
    .await;
    let text = h.to_string();
    assert!(text.contains("稽核比对结果由滞留变更为相符"), "{text}");
}
