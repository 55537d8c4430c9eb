//! `fapiao import` of a CSV file larger than one transaction's chunk: streamed in two passes
//! (check, then durable chunks), all or nothing, with the lines of a whole-file count.

use std::path::Path;
use std::process::Command;

use fapiao::service::office::invoices::STREAM_CHUNK;
use fapiao::store::prelude::*;
use fapiao::store::{AuditFilter, Store};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_fapiao");
const CLOCK: &str = "2026-11-23T10:00:00+08:00";
const SELLER: &str = "91330100716105852F";
const CODE: &str = "3700261130";

/// The rows: one chunk and a bit more.
const ROWS: usize = STREAM_CHUNK + 2_500;

fn seed_dir(dir: &Path) {
    let app = open_training(dir);
    seed(&app, Some(CLOCK));
    drop(app);
}

/// Row `i` (0-based): invoice number i+1, A's every third row and B's the others, issued in
/// October 2026; money in yuan. Returns the amount and tax in fen.
fn money(i: usize) -> (i64, i64) {
    let amount = 10_000 + i as i64;
    (amount, amount * 13 / 100)
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// Writes the CSV (BOM, Chinese header, CRLF; every 997th seller name quoted over two
/// lines) with `last` as the last row's issue date; returns the last row's line.
fn write_csv(path: &Path, last: &str) -> usize {
    use std::io::Write;
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    w.write_all(
        "\u{FEFF}发票代码,发票号码,发票类型,开票日期,销方税号,销方名称,购方税号,金额,税额\r\n"
            .as_bytes(),
    )
    .unwrap();
    let mut line = 2;
    let mut last_line = 0;
    for i in 0..ROWS {
        let buyer = if i % 3 == 0 { TAXPAYER_A } else { TAXPAYER_B };
        let date = if i + 1 == ROWS {
            last.to_owned()
        } else {
            format!("2026-10-{:02}", i % 28 + 1)
        };
        let name = if i % 997 == 0 {
            "\"杭州宏远\r\n信息技术有限公司\""
        } else {
            "杭州宏远信息技术有限公司"
        };
        let (amount, tax) = money(i);
        write!(
            w,
            "{CODE},{:08},专用发票,{date},{SELLER},{name},{buyer},{},{}\r\n",
            i + 1,
            yuan(amount),
            yuan(tax)
        )
        .unwrap();
        last_line = line;
        line += if i % 997 == 0 { 2 } else { 1 };
    }
    w.flush().unwrap();
    last_line
}

fn import_cli(data: &Path, file: &Path) -> std::process::Output {
    Command::new(BIN)
        .arg("import")
        .arg("--data")
        .arg(data)
        .arg(file)
        .env_remove("FAPIAO_FAILPOINT")
        .output()
        .unwrap()
}

/// (invoices stored, `invoice.import` audit entries).
fn stored(dir: &Path) -> (u64, usize) {
    let store = Store::open(&dir.join("fapiao.redb"), false).unwrap();
    let r = store.read().unwrap();
    let (_, entries) = r
        .audit_entries(&AuditFilter {
            limit: usize::MAX,
            ..Default::default()
        })
        .unwrap();
    let imports = entries
        .iter()
        .filter(|e| e.action == "invoice.import")
        .count();
    (r.invoice_count().unwrap(), imports)
}

#[tokio::test]
async fn a_csv_larger_than_a_chunk_is_imported_all_or_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    seed_dir(&dir);
    let file = tmp.path().join("发票.csv");

    // The last row is bad: nothing is written, and the line is the file's (quoted fields
    // over two lines count both).
    let last_line = write_csv(&file, "2026-13-01");
    assert!(last_line > ROWS + 1, "{last_line}");
    let out = import_cli(&dir, &file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "导入失败，共1行有误，未导入任何发票。第{last_line}行：开票日期不是有效的日期：2026-13-01"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("导入失败，未导入任何发票"), "{stderr}");
    assert_eq!(stored(&dir), (0, 0));

    // Fixed, it goes in whole, in two transactions (a chunk and the rest).
    write_csv(&file, "2026-10-28");
    let out = import_cli(&dir, &file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout.contains(&format!(
            "导入完成：新增 {ROWS} 张发票，0 张与已有数据相同未变更。"
        )),
        "{stdout}"
    );
    // Progress bars stay off stderr when it is not a terminal.
    assert!(!String::from_utf8_lossy(&out.stderr).contains("检查"));
    assert_eq!(stored(&dir), (ROWS as u64, 2));

    // Queries and totals over the index see every row.
    let app = spawn_app(Opts {
        data_dir: Some(dir.clone()),
        clock: Some(CLOCK),
        ..Opts::default()
    });
    for (taxpayer, of) in [(TAXPAYER_A, 0), (TAXPAYER_B, 1)] {
        let token = app.taxpayer_token(taxpayer).await;
        let r = app
            .get(
                "/api/v1/invoices?issued_from=2026-10-01&issued_to=2026-10-31&per_page=10",
                Some(&token),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.unwrap();
        let mine: Vec<usize> = (0..ROWS).filter(|i| (i % 3 == 0) == (of == 0)).collect();
        assert_eq!(body["total"], mine.len(), "{taxpayer}");
        assert_eq!(
            body["amount"],
            mine.iter().map(|&i| money(i).0).sum::<i64>()
        );
        assert_eq!(body["tax"], mine.iter().map(|&i| money(i).1).sum::<i64>());
    }
    // A row with a two-line seller name (row 2991, A's), as written.
    let token = app.taxpayer_token(TAXPAYER_A).await;
    let r = app
        .get("/api/v1/invoices?issued_from=2026-10-01&issued_to=2026-10-31&number=00002992&per_page=10", Some(&token))
        .await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["total"], 1, "{body}");
    assert_eq!(
        body["items"][0]["seller_name"],
        "杭州宏远\r\n信息技术有限公司"
    );
    drop(app);
    drop(tmp);
}
