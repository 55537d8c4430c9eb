//! The console's data pages over HTTP: 发票数据 (uploads of NDJSON, CSV and `.xlsx`, a refused
//! file that imports nothing, status changes one and many, scans and the refresh), 申报情况
//! and 申报期限 — each role per the matrix, forged posts refused, results read back through
//! the API.

use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use super::helpers::*;

const CODE: &str = "3500261130";
const SELLER: &str = "91330100716105852F";

fn app() -> TestApp {
    spawn_app(Opts {
        clock: Some("2026-11-20T10:00:00+08:00"),
        session: fapiao::config::SessionSettings {
            login_attempts_per_minute: 100_000,
            ..Default::default()
        },
        ..Opts::default()
    })
}

fn invoice(n: u32) -> Value {
    json!({
        "code": CODE, "number": format!("{n:08}"), "type": "special",
        "issued_on": "2026-11-05", "seller_id": SELLER,
        "seller_name": "杭州宏远信息技术有限公司", "buyer_id": TAXPAYER_A,
        "amount": 100_000 + i64::from(n), "tax": 13_000,
    })
}

fn ndjson(ns: &[u32]) -> String {
    ns.iter().map(|n| format!("{}\n", invoice(*n))).collect()
}

/// Audit entries with `action`.
fn audited(app: &TestApp, action: &str) -> usize {
    let filter = fapiao::service::AuditFilter {
        limit: usize::MAX,
        ..Default::default()
    };
    let (_, items) = fapiao::service::office::audit::list(&app.app, &filter).unwrap();
    items.iter().filter(|e| e.action == action).count()
}

/// All audit entries (a change counter).
fn audit_len(app: &TestApp) -> usize {
    let filter = fapiao::service::AuditFilter {
        limit: usize::MAX,
        ..Default::default()
    };
    fapiao::service::office::audit::list(&app.app, &filter)
        .unwrap()
        .1
        .len()
}

async fn page(app: &TestApp, path: &str, token: &str) -> (StatusCode, String) {
    let r = app.get(path, Some(token)).await;
    (r.status(), r.text().await.unwrap())
}

async fn post_form(app: &TestApp, path: &str, token: &str, form: &[(&str, &str)]) -> Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn upload(app: &TestApp, path: &str, token: &str, name: &str, bytes: Vec<u8>) -> Response {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_string());
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap()
}

/// The 303's target, then that page's text.
async fn follow(app: &TestApp, r: Response, token: &str) -> (String, String) {
    let status = r.status();
    let to = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    let Some(to) = to else {
        panic!("{status}: {}", r.text().await.unwrap());
    };
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (s, text) = page(app, &to, token).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    (to, text)
}

/// Invoices of TAXPAYER_A through the API.
async fn invoices_of_a(app: &TestApp, token: &str) -> Value {
    let r = app
        .get(
            &format!("/api/v1/office/invoices?buyer_id={TAXPAYER_A}&per_page=500"),
            Some(token),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// An `.xlsx` file written by umya-spreadsheet: a title row, the Chinese header, and rows
/// with money in yuan as numbers.
fn xlsx(rows: &[(String, &str)]) -> Vec<u8> {
    let mut book = umya_spreadsheet::new_file();
    let ws = book.sheet_mut(0).unwrap();
    ws.cell_mut((1, 1)).set_value_string("发票数据");
    let header = [
        "发票代码",
        "发票号码",
        "发票类型",
        "开票日期",
        "销方税号",
        "销方名称",
        "购方税号",
        "金额（元）",
        "税额（元）",
    ];
    for (c, h) in header.iter().enumerate() {
        ws.cell_mut((c as u32 + 1, 2)).set_value_string(*h);
    }
    for (i, (number, date)) in rows.iter().enumerate() {
        let r = i as u32 + 3;
        let texts = [
            CODE,
            number.as_str(),
            "增值税专用发票",
            date,
            SELLER,
            "杭州宏远信息技术有限公司",
            TAXPAYER_A,
        ];
        for (c, v) in texts.iter().enumerate() {
            ws.cell_mut((c as u32 + 1, r)).set_value_string(*v);
        }
        ws.cell_mut((8, r)).set_value_number(1234.5);
        ws.cell_mut((9, r)).set_value_number(160.49);
    }
    let mut out = std::io::Cursor::new(Vec::new());
    umya_spreadsheet::writer::xlsx::write_writer(&book, &mut out).unwrap();
    out.into_inner()
}

const PAGES: [&str; 3] = [
    "/office/invoices",
    "/office/declarations",
    "/office/deadlines",
];

#[tokio::test]
async fn each_role_sees_the_data_pages_per_the_matrix_and_the_auditor_changes_nothing() {
    let app = app();
    let op = app.staff_token("operator").await;
    app.import_ndjson(&op, ndjson(&[1])).await;
    for (role, reads, writes) in [
        ("admin", true, true),
        ("operator", true, true),
        ("auditor", true, false),
        ("agent", false, false),
    ] {
        let t = app.staff_token(role).await;
        for path in PAGES {
            let (s, text) = page(&app, path, &t).await;
            if reads {
                assert_eq!(s, StatusCode::OK, "{role} {path}");
                assert!(text.contains("aria-current=\"page\""), "{role} {path}");
                // Write controls only for those who may write.
                assert_eq!(text.contains("method=\"post\""), writes, "{role} {path}");
            } else {
                assert_eq!(s, StatusCode::FORBIDDEN, "{role} {path}");
            }
        }
        if writes {
            continue;
        }
        // Forged posts: refused, nothing changed.
        let before = audit_len(&app);
        let number = "00000001";
        let forms: [(&str, Vec<(&str, &str)>); 6] = [
            (
                "/office/invoices/status",
                vec![("code", CODE), ("number", number), ("status", "voided")],
            ),
            (
                "/office/invoices/status-bulk",
                vec![("key", "3500261130/00000001"), ("status", "voided")],
            ),
            ("/office/invoices/refresh", vec![]),
            (
                "/office/declarations",
                vec![
                    ("taxpayer_id", TAXPAYER_A),
                    ("period", "202611"),
                    ("status", "declared"),
                ],
            ),
            (
                "/office/deadlines",
                vec![
                    ("region", "350000"),
                    ("period", "202611"),
                    ("deadline", "2026-12-18"),
                ],
            ),
            ("/office/invoices/refresh", vec![("x", "1")]),
        ];
        for (path, form) in forms {
            let r = post_form(&app, path, &t, &form).await;
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{role} {path}");
        }
        for path in [
            "/office/invoices/import",
            "/office/invoices/scans",
            "/office/declarations/import",
        ] {
            let r = upload(&app, path, &t, "a.ndjson", ndjson(&[2]).into_bytes()).await;
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{role} {path}");
        }
        assert_eq!(audit_len(&app), before, "{role}: nothing audited");
        let inv = invoices_of_a(&app, &op).await;
        assert_eq!(inv["total"], 1);
        assert_eq!(inv["items"][0]["status"], "normal");
        let d = app
            .get(
                &format!("/api/v1/office/declarations/{TAXPAYER_A}/202611"),
                Some(&op),
            )
            .await
            .json::<Value>()
            .await
            .unwrap();
        assert_eq!(d["status"], Value::Null);
    }
}

#[tokio::test]
async fn ndjson_csv_and_xlsx_uploads_import_through_the_page() {
    let app = app();
    let op = app.staff_token("operator").await;
    let r = upload(
        &app,
        "/office/invoices/import",
        &op,
        "发票.ndjson",
        ndjson(&[1, 2]).into_bytes(),
    )
    .await;
    let (to, text) = follow(&app, r, &op).await;
    assert!(to.contains("imported=2"), "{to}");
    assert!(text.contains("导入成功：新增发票2份"), "{text}");
    // The same file again: nothing new.
    let r = upload(
        &app,
        "/office/invoices/import",
        &op,
        "发票.ndjson",
        ndjson(&[1, 2]).into_bytes(),
    )
    .await;
    let (_, text) = follow(&app, r, &op).await;
    assert!(
        text.contains("新增发票0份，与已有数据相同未变化2份"),
        "{text}"
    );
    // The Chinese-header CSV, money in yuan.
    let csv = format!(
        "发票代码,发票号码,发票类型,开票日期,销方税号,销方名称,购方税号,金额（元）,税额（元）\n\
         {CODE},00000003,增值税专用发票,2026/11/6,{SELLER},杭州宏远信息技术有限公司,{TAXPAYER_A},500.00,65.00\n"
    );
    let r = upload(
        &app,
        "/office/invoices/import",
        &op,
        "发票.csv",
        csv.into_bytes(),
    )
    .await;
    let (_, text) = follow(&app, r, &op).await;
    assert!(text.contains("新增发票1份"), "{text}");
    // A real .xlsx.
    let book = xlsx(&[
        ("00000004".into(), "2026-11-07"),
        ("00000005".into(), "2026-11-08"),
    ]);
    let r = upload(&app, "/office/invoices/import", &op, "发票.xlsx", book).await;
    let (_, text) = follow(&app, r, &op).await;
    assert!(text.contains("新增发票2份"), "{text}");
    let inv = invoices_of_a(&app, &op).await;
    assert_eq!(inv["total"], 5);
    let by_number = |n: &str| {
        inv["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["number"] == n)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_number("00000003")["amount"], 50_000);
    assert_eq!(by_number("00000004")["amount"], 123_450);
    assert_eq!(by_number("00000004")["tax"], 16_049);
    assert_eq!(by_number("00000005")["issued_on"], "2026-11-08");
    assert_eq!(audited(&app, "invoice.import"), 4);
    // The page finds them: by key, by buyer (paged), by seller.
    let (_, text) = page(
        &app,
        &format!("/office/invoices?code={CODE}&number=00000004"),
        &op,
    )
    .await;
    assert!(text.contains("找到 1 份发票"), "{text}");
    assert!(text.contains("1,234.50"), "{text}");
    let (_, text) = page(
        &app,
        &format!("/office/invoices?buyer_id={TAXPAYER_A}"),
        &op,
    )
    .await;
    assert!(text.contains("共 5 条"), "{text}");
    let (_, text) = page(&app, &format!("/office/invoices?seller_id={SELLER}"), &op).await;
    assert!(text.contains("共 5 条"), "{text}");
}

#[tokio::test]
async fn a_refused_import_leaves_nothing_and_lists_the_lines() {
    let app = app();
    let op = app.staff_token("operator").await;
    let before = audit_len(&app);
    // Line 3 of four has a bad number; line 4 a tax above the amount (the importer's check).
    let mut bad = invoice(3);
    bad["number"] = json!("123");
    let mut lines = vec![
        invoice(1).to_string(),
        invoice(2).to_string(),
        bad.to_string(),
    ];
    lines.push(invoice(4).to_string());
    let r = upload(
        &app,
        "/office/invoices/import",
        &op,
        "发票.ndjson",
        lines.join("\n").into_bytes(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = r.text().await.unwrap();
    assert!(text.contains("未导入任何发票"), "{text}");
    assert!(text.contains("有误的行"), "{text}");
    assert!(text.contains("<td class=\"num\">3</td>"), "{text}");
    assert!(text.contains("发票号码应为8位数字"), "{text}");
    // A spreadsheet with one bad row (row 4: a date that is no date).
    let book = xlsx(&[
        ("00000005".into(), "2026-11-07"),
        ("00000006".into(), "2026-13-01"),
    ]);
    let r = upload(&app, "/office/invoices/import", &op, "发票.xlsx", book).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = r.text().await.unwrap();
    assert!(text.contains("<td class=\"num\">4</td>"), "{text}");
    assert!(text.contains("开票日期"), "{text}");
    // Not a file the import knows.
    let r = upload(
        &app,
        "/office/invoices/import",
        &op,
        "发票.txt",
        b"x".to_vec(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(r.text().await.unwrap().contains("文件类型不正确"));
    assert_eq!(invoices_of_a(&app, &op).await["total"], 0);
    assert_eq!(audited(&app, "invoice.import"), 0);
    assert_eq!(audit_len(&app), before);
}

#[tokio::test]
async fn statuses_change_one_and_many_through_the_page() {
    let app = app();
    let op = app.staff_token("operator").await;
    app.import_ndjson(&op, ndjson(&[1, 2, 3])).await;
    let r = post_form(
        &app,
        "/office/invoices/status",
        &op,
        &[("code", CODE), ("number", "00000001"), ("status", "voided")],
    )
    .await;
    let (_, text) = follow(&app, r, &op).await;
    assert!(text.contains("已将1份发票的状态变更为“作废”"), "{text}");
    let r = post_form(
        &app,
        "/office/invoices/status-bulk",
        &op,
        &[
            ("back_buyer_id", TAXPAYER_A),
            ("key", "3500261130/00000002"),
            ("key", "3500261130/00000003"),
            ("status", "out_of_control"),
        ],
    )
    .await;
    let (to, text) = follow(&app, r, &op).await;
    assert!(to.contains(&format!("buyer_id={TAXPAYER_A}")), "{to}");
    assert!(text.contains("已将2份发票的状态变更为“失控”"), "{text}");
    let inv = invoices_of_a(&app, &op).await;
    let statuses: Vec<(&str, &str)> = inv["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["number"].as_str().unwrap(), i["status"].as_str().unwrap()))
        .collect();
    for (n, s) in [
        ("00000001", "voided"),
        ("00000002", "out_of_control"),
        ("00000003", "out_of_control"),
    ] {
        assert!(statuses.contains(&(n, s)), "{statuses:?}");
    }
    // Bad input: a Chinese reason, nothing changed.
    let before = audit_len(&app);
    let r = post_form(
        &app,
        "/office/invoices/status",
        &op,
        &[("code", CODE), ("number", "00000001"), ("status", "lost")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("发票状态"));
    let r = post_form(
        &app,
        "/office/invoices/status",
        &op,
        &[("code", CODE), ("number", "00000009"), ("status", "normal")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = post_form(
        &app,
        "/office/invoices/status-bulk",
        &op,
        &[("status", "normal")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("请选择1至"));
    // One unknown among known ones: all or nothing.
    let r = post_form(
        &app,
        "/office/invoices/status-bulk",
        &op,
        &[
            ("key", "3500261130/00000001"),
            ("key", "3500261130/00000009"),
            ("status", "normal"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(audit_len(&app), before);
    let inv = invoices_of_a(&app, &op).await;
    assert!(inv["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["status"] != "normal"));
}

#[tokio::test]
async fn scans_import_and_the_refresh_applies_them() {
    let app = app();
    let op = app.staff_token("operator").await;
    app.import_ndjson(&op, ndjson(&[1, 2])).await;
    let scan = |n: u32, on: &str| {
        json!({"code": CODE, "number": format!("{n:08}"), "scanned_on": on, "period": "202611"})
            .to_string()
    };
    // A bad line refuses the file: nothing waits.
    let body = format!("{}\n{}\n", scan(1, "2026-11-19"), scan(2, "2026-13-01"));
    let r = upload(
        &app,
        "/office/invoices/scans",
        &op,
        "scan.ndjson",
        body.into_bytes(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = r.text().await.unwrap();
    assert!(text.contains("未导入任何记录"), "{text}");
    assert!(text.contains("<td class=\"num\">2</td>"), "{text}");
    assert!(
        text.contains("待应用的扫描认证记录 <strong>0</strong> 条"),
        "{text}"
    );
    let body = format!("{}\n", scan(1, "2026-11-19"));
    let r = upload(
        &app,
        "/office/invoices/scans",
        &op,
        "scan.ndjson",
        body.into_bytes(),
    )
    .await;
    let (_, text) = follow(&app, r, &op).await;
    assert!(text.contains("已导入扫描认证记录1条"), "{text}");
    assert!(
        text.contains("待应用的扫描认证记录 <strong>1</strong> 条"),
        "{text}"
    );
    let refreshes = audited(&app, "statistics.refresh");
    let r = post_form(&app, "/office/invoices/refresh", &op, &[]).await;
    let (to, text) = follow(&app, r, &op).await;
    assert!(to.contains("applied=1"), "{to}");
    assert!(text.contains("已应用扫描认证记录1条"), "{text}");
    assert!(
        text.contains("待应用的扫描认证记录 <strong>0</strong> 条"),
        "{text}"
    );
    let inv = invoices_of_a(&app, &op).await;
    let first = inv["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["number"] == "00000001")
        .cloned()
        .unwrap();
    assert_eq!(first["selection"], "scanned", "{first}");
    assert_eq!(audited(&app, "statistics.refresh"), refreshes + 1);
}

#[tokio::test]
async fn declarations_are_recorded_and_imported_through_the_page() {
    let app = app();
    let op = app.staff_token("operator").await;
    let r = post_form(
        &app,
        "/office/declarations",
        &op,
        &[
            ("taxpayer_id", TAXPAYER_B),
            ("period", "202610"),
            ("status", "not_declared"),
        ],
    )
    .await;
    let (_, text) = follow(&app, r, &op).await;
    assert!(text.contains("申报状态已记录"), "{text}");
    assert!(text.contains("未申报"), "{text}");
    let d: Value = app
        .get(
            &format!("/api/v1/office/declarations/{TAXPAYER_B}/202610"),
            Some(&op),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(d["status"], "not_declared");
    // The list of a period: every taxpayer, with what is recorded.
    let (_, text) = page(&app, "/office/declarations?period=202610", &op).await;
    assert!(text.contains("共 4 户纳税人"), "{text}");
    assert!(text.contains("未记录"), "{text}");
    // Bad input: the reason, nothing recorded.
    let before = audit_len(&app);
    for (id, period, status, why) in [
        ("123", "202610", "declared", "纳税人识别号"),
        (TAXPAYER_A, "202613", "declared", "税款所属期"),
        (TAXPAYER_A, "202610", "maybe", "申报状态不正确"),
        ("350100123456789", "202610", "declared", ""),
    ] {
        let r = post_form(
            &app,
            "/office/declarations",
            &op,
            &[("taxpayer_id", id), ("period", period), ("status", status)],
        )
        .await;
        assert!(r.status().is_client_error(), "{id} {period} {status}");
        let text = r.text().await.unwrap();
        assert!(
            text.contains(why) && text.contains("notice error"),
            "{text}"
        );
    }
    // A CSV file: all or nothing.
    let bad = format!(
        "纳税人识别号,税款所属期,申报状态\n{TAXPAYER_A},202610,declared\n350100123456789,202610,已申报\n"
    );
    let r = upload(
        &app,
        "/office/declarations/import",
        &op,
        "申报.csv",
        bad.into_bytes(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = r.text().await.unwrap();
    assert!(text.contains("<td class=\"num\">3</td>"), "{text}");
    assert!(text.contains("不存在"), "{text}");
    assert_eq!(audit_len(&app), before);
    let good = format!("{TAXPAYER_A},202610,declared\n{NO_RATING},202610,未申报\n");
    let r = upload(
        &app,
        "/office/declarations/import",
        &op,
        "申报.csv",
        good.into_bytes(),
    )
    .await;
    let (_, text) = follow(&app, r, &op).await;
    assert!(text.contains("已记录2条申报状态"), "{text}");
    for (id, want) in [(TAXPAYER_A, "declared"), (NO_RATING, "not_declared")] {
        let d: Value = app
            .get(
                &format!("/api/v1/office/declarations/{id}/202610"),
                Some(&op),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(d["status"], want, "{id}");
    }
}

#[tokio::test]
async fn deadlines_are_edited_through_the_page() {
    let app = app();
    let op = app.staff_token("operator").await;
    let (s, text) = page(&app, "/office/deadlines?region=350000&year=2026", &op).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(text.matches("name=\"deadline\"").count(), 12, "{text}");
    let r = post_form(
        &app,
        "/office/deadlines",
        &op,
        &[
            ("region", "350000"),
            ("period", "202611"),
            ("deadline", "2026-12-18"),
        ],
    )
    .await;
    let (to, text) = follow(&app, r, &op).await;
    assert!(
        to.contains("region=350000") && to.contains("year=2026"),
        "{to}"
    );
    assert!(
        text.contains("已保存2026年11月的申报截止日") || text.contains("已保存"),
        "{text}"
    );
    assert!(text.contains("本省设定"), "{text}");
    let list: Value = app
        .get("/api/v1/office/deadlines/350000?year=2026", Some(&op))
        .await
        .json()
        .await
        .unwrap();
    let nov = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["period"] == "202611")
        .cloned()
        .unwrap();
    assert_eq!(nov["deadline"], "2026-12-18");
    assert_eq!(nov["recorded"], true);
    // Out of the following month, or not a date: the reason, nothing changed.
    let before = audit_len(&app);
    for (deadline, why) in [("2027-01-20", "申报截止日应在"), ("12/18", "申报截止日")] {
        let r = post_form(
            &app,
            "/office/deadlines",
            &op,
            &[
                ("region", "350000"),
                ("period", "202611"),
                ("deadline", deadline),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{deadline}");
        assert!(r.text().await.unwrap().contains(why), "{deadline}");
    }
    let r = post_form(
        &app,
        "/office/deadlines",
        &op,
        &[
            ("region", "999999"),
            ("period", "202611"),
            ("deadline", "2026-12-18"),
        ],
    )
    .await;
    assert!(r.status().is_client_error());
    assert_eq!(audit_len(&app), before);
    let (s, text) = page(&app, "/office/deadlines?year=abc", &op).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text.contains("年份应为"), "{text}");
}
