//! 批量勾选 (S-T5) over HTTP: download → edit → upload round trips in both formats, the
//! 2,000-invoice files, row-by-row results and the operation log, bad files changing nothing,
//! and the confirmation and statistics exports (spreadsheet and PDF).

use std::io::{Cursor, Read, Write};
use std::process::{Command, Stdio};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

pub const CODE: &str = "3500261130";
const SELLER: &str = "91330100716105852F";

async fn json_of(r: reqwest::Response, status: u16) -> Value {
    let s = r.status().as_u16();
    let text = r.text().await.unwrap();
    assert_eq!(s, status, "body: {text}");
    serde_json::from_str(&text).unwrap()
}

/// `n` invoices of A (numbers 1..=n) issued in November 2026, the clock on 2026-11-20.
async fn setup(n: u32, opts: Opts) -> (TestApp, String, String) {
    let app = spawn_app(Opts {
        clock: Some("2026-11-20T10:00:00+08:00"),
        ..opts
    });
    let op = app.staff_token("operator").await;
    let lines: Vec<String> = (1..=n)
        .map(|i| {
            json!({
                "code": CODE, "number": format!("{i:08}"), "type": "special",
                "issued_on": format!("2026-11-{:02}", 1 + i % 19), "seller_id": SELLER,
                "seller_name": "杭州宏远信息技术有限公司", "buyer_id": TAXPAYER_A,
                "amount": 100_000 + i64::from(i), "tax": 13_000,
            })
            .to_string()
        })
        .collect();
    for chunk in lines.chunks(5_000) {
        app.import_ndjson(&op, chunk.join("\n")).await;
    }
    let a = app.taxpayer_token(TAXPAYER_A).await;
    (app, op, a)
}

/// The office changes the status of A's invoice `number` (as `op`).
async fn set_status(app: &TestApp, op: &str, number: &str, status: &str) {
    json_of(
        app.send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/office/invoices/{CODE}/{number}/status"),
            Some(op),
            &json!({ "status": status }),
        )
        .await,
        200,
    )
    .await;
}

/// Selects the invoices `numbers` of A, 确定 and 提交 (batch 1 of 2026-11).
async fn confirm(app: &TestApp, a: &str, numbers: impl IntoIterator<Item = u32>) {
    let ns: Vec<Value> = numbers
        .into_iter()
        .map(|n| json!({"code": CODE, "number": format!("{n:08}")}))
        .collect();
    json_of(
        app.post_json("/api/v1/selections", Some(a), &json!({"select": ns}))
            .await,
        200,
    )
    .await;
    json_of(
        app.post_json("/api/v1/confirmations", Some(a), &json!({}))
            .await,
        200,
    )
    .await;
    json_of(
        app.post_json("/api/v1/confirmations/202611/1/submit", Some(a), &json!({}))
            .await,
        200,
    )
    .await;
}

const ALL_NOVEMBER: &str = "issued_from=2026-11-01&issued_to=2026-11-30";

async fn download(app: &TestApp, token: &str, query: &str) -> (String, Vec<(String, Vec<u8>)>) {
    let r = app
        .get(&format!("/api/v1/selections/export?{query}"), Some(token))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/zip");
    let cd = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    let bytes = r.bytes().await.unwrap().to_vec();
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut files = Vec::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        // Dated at the download (the training clock: 2026-11-20 10:00), not 1980.
        let t = f.last_modified().unwrap();
        assert_eq!((t.year(), t.month(), t.day(), t.hour()), (2026, 11, 20, 10));
        let mut b = Vec::new();
        f.read_to_end(&mut b).unwrap();
        files.push((f.name().unwrap().to_string(), b));
    }
    (cd, files)
}

async fn upload(app: &TestApp, token: &str, name: &str, bytes: Vec<u8>) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_string());
    let form = reqwest::multipart::Form::new().part("file", part);
    app.client
        .post(app.url("/api/v1/selections/import"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// Numbers of A's 已勾选 invoices.
async fn selected(app: &TestApp, token: &str) -> Vec<String> {
    let r = json_of(
        app.get(
            &format!("/api/v1/invoices?{ALL_NOVEMBER}&selected=true&per_page=500"),
            Some(token),
        )
        .await,
        200,
    )
    .await;
    let mut v: Vec<String> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["number"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

/// Sets 是否勾选 (column J) of the given sheet rows in a downloaded workbook.
fn edit_xlsx(bytes: &[u8], marks: &[(u32, &str)]) -> Vec<u8> {
    let mut book = umya_spreadsheet::reader::xlsx::read_reader(Cursor::new(bytes), true).unwrap();
    let ws = book.sheet_mut(0).unwrap();
    for (row, v) in marks {
        ws.cell_mut((10u32, *row)).set_value_string(*v);
    }
    let mut out = Cursor::new(Vec::new());
    umya_spreadsheet::writer::xlsx::write_writer(&book, &mut out).unwrap();
    out.into_inner()
}

/// The rows of a downloaded workbook as strings (header first), read with calamine.
fn rows_of(bytes: &[u8]) -> Vec<Vec<String>> {
    use calamine::{Reader, Xlsx};
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    let name = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&name).unwrap();
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

/// Writes an `.xls` with Debian's python3-xlwt (see tests/data/write_xls.py).
pub fn xls(sheets: Value) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("file.xls");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/write_xls.py");
    let mut child = Command::new("/usr/bin/python3")
        .arg(script)
        .arg(&out)
        .stdin(Stdio::piped())
        .spawn()
        .expect("python3 (with python3-xlwt) is needed for the .xls tests");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(json!({ "sheets": sheets }).to_string().as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "write_xls.py failed");
    std::fs::read(out).unwrap()
}

#[tokio::test]
async fn twenty_five_hundred_invoices_download_as_files_of_2000_and_500() {
    let (app, _, a) = setup(2_500, Opts::default()).await;
    let (cd, files) = download(&app, &a, ALL_NOVEMBER).await;
    // attachment; filename="<ID>_<8 digits>.zip"
    let name = cd
        .split("filename=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let (id, rest) = name.split_once('_').unwrap();
    assert_eq!(id, TAXPAYER_A);
    let digits = rest.strip_suffix(".zip").unwrap();
    assert!(
        digits.len() == 8 && digits.bytes().all(|b| b.is_ascii_digit()),
        "{name}"
    );
    assert!(cd.starts_with("attachment"), "{cd}");

    assert_eq!(files.len(), 2);
    assert!(files[0].0.ends_with("_1.xlsx") && files[1].0.ends_with("_2.xlsx"));
    let counts: Vec<usize> = files.iter().map(|(_, b)| rows_of(b).len() - 1).collect();
    assert_eq!(counts, vec![2_000, 500]);
    // Every invoice exactly once across the files.
    let mut numbers: Vec<String> = files
        .iter()
        .flat_map(|(_, b)| rows_of(b).into_iter().skip(1).map(|r| r[1].clone()))
        .collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 2_500);
    // The header as the manual implies, and one row's content.
    let rows = rows_of(&files[0].1);
    assert_eq!(
        rows[0],
        vec![
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
    assert_eq!(rows[1][0], CODE);
    assert_eq!(rows[1][4], SELLER);
    assert_eq!(rows[1][8], "正常");
    assert_eq!(rows[1][9], "否");
}

#[tokio::test]
async fn download_filters_by_issue_date_seller_and_selection_flag() {
    let (app, op, a) = setup(30, Opts::default()).await;
    // Another seller's invoice, a voided one and an already confirmed one.
    app.import_ndjson(
        &op,
        json!({"code": CODE, "number": "00000100", "type": "special", "issued_on": "2026-11-03",
               "seller_id": TAXPAYER_B, "seller_name": "深圳某公司", "buyer_id": TAXPAYER_A,
               "amount": 5000, "tax": 650})
        .to_string(),
    )
    .await;
    set_status(&app, &op, "00000002", "voided").await;
    let sel = |ns: &[u32]| json!({"select": ns.iter().map(|n| json!({"code": CODE, "number": format!("{n:08}")})).collect::<Vec<_>>()});
    confirm(&app, &a, [3]).await;
    json_of(
        app.post_json("/api/v1/selections", Some(&a), &sel(&[4, 5]))
            .await,
        200,
    )
    .await;

    let count = |files: &[(String, Vec<u8>)]| -> Vec<String> {
        let mut v: Vec<String> = files
            .iter()
            .flat_map(|(_, b)| rows_of(b).into_iter().skip(1).map(|r| r[1].clone()))
            .collect();
        v.sort();
        v
    };
    let (_, all) = download(&app, &a, ALL_NOVEMBER).await;
    let all = count(&all);
    // 30 + the other seller's − voided − confirmed.
    assert_eq!(all.len(), 29);
    assert!(!all.contains(&"00000002".to_string()) && !all.contains(&"00000003".to_string()));
    let (_, ticked) = download(&app, &a, &format!("{ALL_NOVEMBER}&selected=true")).await;
    assert_eq!(count(&ticked), vec!["00000004", "00000005"]);
    let (_, files) = download(&app, &a, &format!("{ALL_NOVEMBER}&selected=true")).await;
    assert!(rows_of(&files[0].1).iter().skip(1).all(|r| r[9] == "是"));
    let (_, other) = download(&app, &a, &format!("{ALL_NOVEMBER}&seller_id={TAXPAYER_B}")).await;
    assert_eq!(count(&other), vec!["00000100"]);
    let (_, early) = download(&app, &a, "issued_from=2026-11-01&issued_to=2026-11-02").await;
    assert!(rows_of(&early[0].1)
        .iter()
        .skip(1)
        .all(|r| r[2] == "2026-11-01" || r[2] == "2026-11-02"));
    // Nothing matching: 404 with the manual's message; a bad date: 422.
    let r = app
        .get(
            "/api/v1/selections/export?issued_from=2026-10-01&issued_to=2026-10-02",
            Some(&a),
        )
        .await;
    let body = expect_error(r, 404, "not_found").await;
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("没有查询到"));
    let r = app
        .get(
            "/api/v1/selections/export?issued_from=x&issued_to=2026-10-02",
            Some(&a),
        )
        .await;
    expect_error(r, 422, "invalid_value").await;
}

#[tokio::test]
async fn xlsx_round_trip_selects_exactly_the_marked_rows_and_logs_the_result() {
    let (app, _, a) = setup(30, Opts::default()).await;
    let (_, files) = download(&app, &a, ALL_NOVEMBER).await;
    let original = &files[0].1;
    let rows = rows_of(original);
    // Mark sheet rows 3, 5 and 20 (1-based; row 1 is the header).
    let marked: Vec<String> = [3usize, 5, 20]
        .iter()
        .map(|r| rows[r - 1][1].clone())
        .collect();
    let edited = edit_xlsx(original, &[(3, "是"), (5, "是"), (20, "是")]);
    let r = json_of(upload(&app, &a, "清单.xlsx", edited).await, 200).await;
    assert_eq!(r["selected"], 3, "{r}");
    assert_eq!(r["unselected"], 0);
    assert_eq!(r["unchanged"], 27);
    assert_eq!(r["rows"], 30);
    assert_eq!(r["format"], "xlsx");
    assert_eq!(r["file_name"], "清单.xlsx");
    assert_eq!(r["rejected"], json!([]));
    let mut expect = marked.clone();
    expect.sort();
    assert_eq!(selected(&app, &a).await, expect);

    // The same file again changes nothing; then 否 on one of them unticks it.
    let again = edit_xlsx(original, &[(3, "是"), (5, "是"), (20, "是")]);
    let r = json_of(upload(&app, &a, "清单.xlsx", again).await, 200).await;
    assert_eq!(
        (r["selected"].as_u64(), r["unchanged"].as_u64()),
        (Some(0), Some(30))
    );
    let untick = edit_xlsx(original, &[(3, "是"), (5, "否"), (20, "是")]);
    let r = json_of(upload(&app, &a, "第三次.xlsx", untick).await, 200).await;
    assert_eq!(r["unselected"], 1, "{r}");
    let mut expect: Vec<String> = vec![marked[0].clone(), marked[2].clone()];
    expect.sort();
    assert_eq!(selected(&app, &a).await, expect);

    // The operation log on the page: newest first and highlighted, three entries.
    let page = app.get("/bulk", Some(&a)).await.text().await.unwrap();
    let first = page.find("第三次.xlsx").unwrap();
    let second = page.find("清单.xlsx").unwrap();
    assert!(first < second, "newest first");
    let latest_row = &page[..first];
    assert!(
        latest_row.rfind("class=\"latest\"").is_some(),
        "newest highlighted"
    );
    assert_eq!(page.matches("class=\"latest\"").count(), 1);
    // The audit log has each upload.
    let admin = app.staff_token("admin").await;
    let audit = json_of(app.get("/api/v1/office/audit", Some(&admin)).await, 200).await;
    let n = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "bulk.upload")
        .count();
    assert_eq!(n, 3);
}

#[tokio::test]
async fn xls_round_trip_with_numbers_stored_as_numbers_and_columns_reordered() {
    let (app, _, a) = setup(12, Opts::default()).await;
    let (_, files) = download(&app, &a, ALL_NOVEMBER).await;
    let rows = rows_of(&files[0].1);
    // An Excel 2003 file made from the download: 是否勾选 first, the code and the number as
    // number cells (the number's leading zeros lost), a title row above the header.
    let mut sheet = vec![
        json!(["批量勾选清单", null, null]),
        json!(["是否勾选", "发票号码", "发票代码"]),
    ];
    let mut marked = Vec::new();
    for (i, r) in rows.iter().skip(1).enumerate() {
        let tick = i % 3 == 0;
        if tick {
            marked.push(r[1].clone());
        }
        let number: u64 = r[1].parse().unwrap();
        let code: u64 = r[0].parse().unwrap();
        sheet.push(json!([if tick { " 是" } else { "否　" }, number, code]));
    }
    let bytes = xls(json!([{"name": "Sheet1", "rows": sheet, "merge": []}]));
    let r = json_of(upload(&app, &a, "old.xls", bytes).await, 200).await;
    assert_eq!(r["format"], "xls");
    assert_eq!(r["selected"], marked.len() as u64, "{r}");
    assert_eq!(r["rejected"], json!([]));
    marked.sort();
    assert_eq!(selected(&app, &a).await, marked);
}

#[tokio::test]
async fn each_row_stands_alone_with_its_row_number_and_reason() {
    let (app, op, a) = setup(10, Opts::default()).await;
    // 2 is voided, 3 is confirmed, B's invoice is not A's.
    set_status(&app, &op, "00000002", "voided").await;
    app.import_ndjson(
        &op,
        json!({"code": CODE, "number": "00000200", "type": "special", "issued_on": "2026-11-03",
               "seller_id": SELLER, "seller_name": "x", "buyer_id": TAXPAYER_B,
               "amount": 5000, "tax": 650})
        .to_string(),
    )
    .await;
    confirm(&app, &a, [3]).await;
    let sheet = json!([
        ["发票代码", "发票号码", "是否勾选"],
        [CODE, "00000001", "是"],
        [CODE, "00000002", "是"],
        [CODE, "00000003", "否"],
        [CODE, "00000200", "是"],
        [CODE, "00000999", "是"],
        [CODE, "00000001", "是"],
        [CODE, "00000004", "可以"],
        [CODE, "00000005", null],
        ["12", "00000006", "是"],
        [null, null, null],
        [CODE, "00000007", "是"],
    ]);
    let r = json_of(
        upload(
            &app,
            &a,
            "mixed.xls",
            xls(json!([{"name": "S", "rows": sheet}])),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["selected"], 2, "{r}");
    let got: Vec<(u64, String)> = r["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["row"].as_u64().unwrap(),
                x["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(u64, String)> = [
        (3, "not_normal"),
        (4, "already_confirmed"),
        (5, "unknown_invoice"),
        (6, "unknown_invoice"),
        (7, "duplicate_row"),
        (8, "choice_invalid"),
        (9, "choice_missing"),
        (10, "invalid_key"),
    ]
    .iter()
    .map(|(r, s)| (*r, s.to_string()))
    .collect();
    assert_eq!(got, want);
    assert!(r["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| !x["message"].as_str().unwrap().is_empty()));
    assert_eq!(selected(&app, &a).await, vec!["00000001", "00000007"]);
}

/// Every bad file is refused with its own status and message, and changes nothing: no
/// selection, no log entry, no audit entry.
#[tokio::test]
async fn bad_files_are_refused_and_change_nothing() {
    let (app, _, a) = setup(
        5,
        Opts {
            bulk: Some(fapiao::config::BulkSettings {
                max_upload_bytes: 1 << 20,
                max_upload_rows: 50,
                ..Default::default()
            }),
            ..Opts::default()
        },
    )
    .await;
    let (_, files) = download(&app, &a, ALL_NOVEMBER).await;
    let good = edit_xlsx(&files[0].1, &[(2, "是"), (3, "是")]);
    let header_only = |cols: Value| xls(json!([{"name": "S", "rows": [cols, [CODE, "00000001"]]}]));
    let many_rows: Vec<Value> = std::iter::once(json!(["发票代码", "发票号码", "是否勾选"]))
        .chain((1..=51).map(|i| json!([CODE, format!("{i:08}"), "是"])))
        .collect();
    let mut bomb = zip::ZipWriter::new(Cursor::new(Vec::new()));
    {
        let mut src = zip::ZipArchive::new(Cursor::new(good.clone())).unwrap();
        for i in 0..src.len() {
            bomb.raw_copy_file(src.by_index(i).unwrap()).unwrap();
        }
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(9));
        bomb.start_file("xl/worksheets/sheet9.xml", opts).unwrap();
        let zeros = vec![b' '; 1 << 20];
        for _ in 0..80 {
            bomb.write_all(&zeros).unwrap();
        }
    }
    let bomb = bomb.finish().unwrap().into_inner();
    assert!(bomb.len() < 1 << 20, "bomb is {} bytes", bomb.len());
    let mut corrupt = good.clone();
    let mid = corrupt.len() / 2;
    for b in &mut corrupt[mid..mid + 300] {
        *b = !*b;
    }
    let xls_good = xls(
        json!([{"name": "S", "rows": [["发票代码", "发票号码", "是否勾选"], [CODE, "00000001", "是"]]}]),
    );
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("empty.xlsx", Vec::new(), 422, "invalid_value"),
        (
            "a.pdf.xlsx",
            b"%PDF-1.4 not a sheet".to_vec(),
            415,
            "unsupported_type",
        ),
        (
            "a.csv",
            "发票代码,发票号码,是否勾选\n".as_bytes().to_vec(),
            415,
            "unsupported_type",
        ),
        (
            "png.xls",
            b"\x89PNG\r\n\x1a\n....".to_vec(),
            415,
            "unsupported_type",
        ),
        (
            "cut.xlsx",
            good[..good.len() / 2].to_vec(),
            422,
            "invalid_value",
        ),
        (
            "cut.xls",
            xls_good[..xls_good.len() / 2].to_vec(),
            422,
            "invalid_value",
        ),
        ("corrupt.xlsx", corrupt, 422, "invalid_value"),
        (
            "corrupt.xls",
            {
                // The compound file's header (sector sizes, FAT) overwritten after the signature.
                let mut b = xls_good.clone();
                for x in &mut b[0x1C..0x50] {
                    *x = 0xEE;
                }
                b
            },
            422,
            "invalid_value",
        ),
        (
            "nocol.xls",
            header_only(json!(["发票代码", "发票号码", "备注"])),
            422,
            "invalid_value",
        ),
        (
            "rows.xls",
            xls(json!([{"name": "S", "rows": many_rows}])),
            413,
            "too_large",
        ),
        ("big.xlsx", vec![b'P'; (1 << 20) + 1], 413, "too_large"),
        ("bomb.xlsx", bomb, 413, "too_large"),
    ];
    for (name, bytes, status, code) in cases {
        let r = upload(&app, &a, name, bytes).await;
        let body = expect_error(r, status, code).await;
        if name == "nocol.xls" {
            let m = body["error"]["message"].as_str().unwrap();
            assert!(m.contains("是否勾选"), "{m}");
        }
    }
    // A body that is not multipart is taken as the file itself: still judged by content.
    let r = app
        .client
        .post(app.url("/api/v1/selections/import?name=x.xlsx"))
        .bearer_auth(&a)
        .body("just text")
        .send()
        .await
        .unwrap();
    expect_error(r, 415, "unsupported_type").await;
    // Multipart without a file field.
    let form = reqwest::multipart::Form::new().text("other", "x");
    let r = app
        .client
        .post(app.url("/api/v1/selections/import"))
        .bearer_auth(&a)
        .multipart(form)
        .send()
        .await
        .unwrap();
    expect_error(r, 422, "invalid_value").await;

    assert!(selected(&app, &a).await.is_empty());
    let page = app.get("/bulk", Some(&a)).await.text().await.unwrap();
    assert!(page.contains("暂无批量勾选记录"));
    let admin = app.staff_token("admin").await;
    let audit = json_of(app.get("/api/v1/office/audit", Some(&admin)).await, 200).await;
    assert!(!audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "bulk.upload" || e["action"] == "selection.import"));
    // The good file still works afterwards.
    let r = json_of(upload(&app, &a, "good.xlsx", good).await, 200).await;
    assert_eq!(r["selected"], 2);
    // Staff and anonymous callers may not upload.
    let r = upload(&app, &admin, "good.xlsx", b"x".to_vec()).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_page_downloads_uploads_and_shows_the_result() {
    let (app, _, a) = setup(5, Opts::default()).await;
    let page = app.get("/bulk", Some(&a)).await.text().await.unwrap();
    for s in [
        "下载发票文件",
        "上传",
        "勾选标志",
        "enctype=\"multipart/form-data\"",
        "2026-11-30",
    ] {
        assert!(page.contains(s), "{s}");
    }
    let r = app
        .get(
            &format!("/bulk/download?{ALL_NOVEMBER}&selected=all"),
            Some(&a),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/zip");
    let zip_bytes = r.bytes().await.unwrap().to_vec();
    let mut z = zip::ZipArchive::new(Cursor::new(zip_bytes)).unwrap();
    let mut book = Vec::new();
    z.by_index(0).unwrap().read_to_end(&mut book).unwrap();
    let edited = edit_xlsx(&book, &[(2, "是")]);
    let part = reqwest::multipart::Part::bytes(edited).file_name("mine.xlsx");
    let r = app
        .client
        .post(app.url("/bulk/upload"))
        .bearer_auth(&a)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/bulk?uploaded=1");
    let page = app
        .get("/bulk?uploaded=1", Some(&a))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("批量勾选操作成功"), "{page}");
    assert!(page.contains("勾选1份"));
    // A wrong file: the page again, with the error and its status.
    let part = reqwest::multipart::Part::bytes(b"hello".to_vec()).file_name("x.txt");
    let r = app
        .client
        .post(app.url("/bulk/upload"))
        .bearer_auth(&a)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    // Post/Redirect/Get: back to the page with the error (a reload uploads nothing).
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/bulk?error="), "{to}");
    let page = app.get(&to, Some(&a)).await.text().await.unwrap();
    assert!(page.contains("文件类型不正确"), "{page}");
    // Nothing matching the download conditions: the page with the message.
    let r = app
        .get(
            "/bulk/download?issued_from=2026-10-01&issued_to=2026-10-02",
            Some(&a),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("没有查询到符合条件的发票记录"));
}

fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils) is needed");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn a_confirmation_batch_exports_as_a_spreadsheet_and_prints_as_a_pdf() {
    let (app, _, a) = setup(12, Opts::default()).await;
    confirm(&app, &a, 1..=12).await;
    let r = app
        .get("/api/v1/confirmations/202611/1/export.xlsx", Some(&a))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let rows = rows_of(&r.bytes().await.unwrap());
    let header = rows.iter().position(|r| r[0] == "序号").unwrap();
    assert!(rows[0][0].contains("2026年11月第1次确认"));
    assert!(rows.iter().take(header).any(|r| r[0].contains(TAXPAYER_A)));
    let body = &rows[header + 1..];
    assert_eq!(body.len(), 13, "12 invoices and the total");
    assert_eq!(body[12][1], "合计");
    assert_eq!(body[12][2], "12份");
    // 12 × 1,000.00 + (1 + … + 12) fen = 12,000.78 yuan.
    assert_eq!(body[12][7], "12000.78");
    assert!(body.iter().take(12).all(|r| r[1] == CODE));

    let r = app
        .get("/api/v1/confirmations/202611/1/print.pdf", Some(&a))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = r.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let text = pdftotext(&pdf);
    for s in [
        "增值税发票确认明细",
        TAXPAYER_A,
        "2026年11月",
        "已提交",
        "12,000.78",
        "第 1 页 共 1 页",
    ] {
        assert!(text.contains(s), "{s} missing in:\n{text}");
    }
    // Another taxpayer's batch, or one that does not exist: 404.
    let b = app.taxpayer_token(TAXPAYER_B).await;
    let r = app
        .get("/api/v1/confirmations/202611/1/print.pdf", Some(&b))
        .await;
    expect_error(r, 404, "not_found").await;
    let r = app
        .get("/api/v1/confirmations/202611/9/export.xlsx", Some(&a))
        .await;
    expect_error(r, 404, "not_found").await;
}

#[tokio::test]
async fn statistics_export_and_print_include_the_exceptions() {
    let (app, op, a) = setup(6, Opts::default()).await;
    confirm(&app, &a, 1..=6).await;
    set_status(&app, &op, "00000004", "out_of_control").await;
    let r = app
        .get("/api/v1/statistics/202611/export.xlsx", Some(&a))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap().to_vec();
    use calamine::{Reader, Xlsx};
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    assert_eq!(book.sheet_names(), vec!["抵扣统计", "发票明细", "异常发票"]);
    let table = book.worksheet_range("抵扣统计").unwrap();
    let total_row: Vec<String> = table
        .rows()
        .find(|r| r[0] == "合计" && r[1] == "已认证")
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(total_row[2], "6");
    let deductible: Vec<String> = table
        .rows()
        .find(|r| r[0] == "合计" && r[1] == "可抵扣")
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(deductible[2], "5");
    let details = book.worksheet_range("发票明细").unwrap();
    assert_eq!(details.rows().filter(|r| r[1] == CODE).count(), 6);
    let exc = book.worksheet_range("异常发票").unwrap();
    let exc_numbers: Vec<String> = exc
        .rows()
        .filter(|r| r[1] == CODE)
        .map(|r| r[2].to_string())
        .collect();
    assert_eq!(exc_numbers, vec!["00000004"]);

    let r = app
        .get("/api/v1/statistics/202611/print.pdf", Some(&a))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let pdf = r.bytes().await.unwrap();
    if let Ok(dir) = std::env::var("FAPIAO_SCREENSHOTS") {
        // The rendered page linked from the README (docs/screenshots/print-statistics.png).
        let file = std::path::Path::new(&dir).join("print-statistics.pdf");
        std::fs::write(&file, &pdf).unwrap();
        let out = std::path::Path::new(&dir).join("print-statistics");
        let ok = Command::new("pdftoppm")
            .args(["-png", "-r", "100", "-f", "1", "-l", "1", "-singlefile"])
            .arg(&file)
            .arg(&out)
            .status()
            .unwrap();
        assert!(ok.success());
        std::fs::remove_file(file).unwrap();
    }
    let text = pdftotext(&pdf);
    for s in [
        "申报抵扣发票统计表",
        "报表更新时间",
        TAXPAYER_A,
        "异常发票清单（1份）",
        "00000004",
        "失控",
        "第 1 页 共 1 页",
    ] {
        assert!(text.contains(s), "{s} missing in:\n{text}");
    }
    let r = app
        .get("/api/v1/statistics/2026-13/print.pdf", Some(&a))
        .await;
    assert_eq!(r.status().as_u16(), 422);
}
