//! 批量勾选 timings (issue 7): the download of `--invoices` selectable invoices (default
//! 20,000: ten `.xlsx` files of 2,000, zipped) and the upload of a `--rows`-row sheet (default
//! 2,000, every row 是), through the service layer both the API and the pages call. The
//! upload is measured on a fresh copy of the selection each run (the file is read, every row
//! applied in one transaction, the log written). Prints one JSON summary line.
//!
//! `cargo bench --bench bulk -- --invoices 20000 --rows 2000 --runs 5`
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Instant;

use chrono::{Days, NaiveDate};
use fapiao::config::Settings;
use fapiao::domain::{
    Contact, CreditRating, Enterprise, Fen, Invoice, InvoiceKey, InvoiceStatus, InvoiceType,
    Region, SelectionState,
};
use fapiao::formats::sheet::selection::{self, DownloadRow};
use fapiao::service::office::invoices::import;
use fapiao::service::office::invoices::ImportMode;
use fapiao::service::portal::bulk::ExportQuery;
use fapiao::service::App;

use common::{credit_code, flags};
use fapiao::service::{office, portal};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let f = flags(&[("invoices", 20_000), ("rows", 2_000), ("runs", 5)]);
    let (n, rows, runs) = (
        f["invoices"] as usize,
        f["rows"] as usize,
        f["runs"].max(1) as usize,
    );
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        data_dir: dir.path().join("fapiao"),
        log_format: "pretty".into(),
        training: true,
        ..Settings::default()
    };
    let app = App::open(settings).unwrap();
    let clock = chrono::DateTime::parse_from_rfc3339("2026-11-20T10:00:00+08:00").unwrap();
    app.clock
        .set(&app.store, &app.system("bench"), Some(clock))
        .unwrap();
    let who = app.system("bench");
    let buyer = credit_code(1_000_000);
    office::taxpayers::create(
        &app,
        &who,
        office::taxpayers::NewTaxpayer {
            id: buyer.clone(),
            name: "福州鑫达电子科技有限公司".into(),
            region: Region::of_taxpayer_id(&buyer).unwrap(),
            authority: "国家税务总局福州市税务局".into(),
            eligible: true,
            credit_rating: Some(CreditRating::A),
            contact: Contact::default(),
            enterprise: Enterprise::default(),
            current_period: None,
            training: true,
        },
    )
    .unwrap();
    let seller = credit_code(5_000_000);
    let first = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
    let invoices: Vec<(usize, Invoice)> = (0..n)
        .map(|i| {
            let amount = Fen::new(100_000 + i as i64);
            (
                i + 1,
                Invoice {
                    key: InvoiceKey::parse("3500261130", &format!("{:08}", i + 1)).unwrap(),
                    kind: InvoiceType::Special,
                    issued_on: first + Days::new((i % 80) as u64),
                    seller_id: seller.clone(),
                    seller_name: "杭州宏远信息技术有限公司".into(),
                    buyer_id: buyer.clone(),
                    amount,
                    tax: Fen::tax_at_rate(amount, 130),
                    status: InvoiceStatus::Normal,
                    selection: SelectionState::Unselected,
                    audit: None,
                    usage: None,
                },
            )
        })
        .collect();
    import(&app, &who, invoices, ImportMode::Generated, true).unwrap();
    app.store.flush().unwrap();
    let me = fapiao::store::Who {
        actor: fapiao::domain::Actor::Taxpayer { id: buyer.clone() },
        ..app.system("bench")
    };
    let q = ExportQuery {
        issued_from: Some("2026-09-01".into()),
        issued_to: Some("2026-11-30".into()),
        ..ExportQuery::default()
    };
    let mut down = Vec::new();
    let mut size = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let d = portal::bulk::export(&app, &me, &buyer, &q).unwrap();
        down.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(d.invoices, n);
        assert_eq!(d.files, n.div_ceil(selection::ROWS_PER_FILE));
        size = d.zip.len();
    }

    // A sheet of `rows` rows marked 是, as the download would give after editing.
    let sheet: Vec<DownloadRow> = (0..rows)
        .map(|i| DownloadRow {
            code: "3500261130".into(),
            number: format!("{:08}", i + 1),
            digital: String::new(),
            issued_on: first,
            kind: "增值税专用发票".into(),
            seller_id: seller.as_str().into(),
            seller_name: "杭州宏远信息技术有限公司".into(),
            amount: 100_000,
            tax: 13_000,
            status: "正常".into(),
            selected: true,
            usage: None,
        })
        .collect();
    let file = selection::workbook(&sheet).unwrap();
    let untick: Vec<DownloadRow> = sheet
        .iter()
        .cloned()
        .map(|mut r| {
            r.selected = false;
            r
        })
        .collect();
    let undo = selection::workbook(&untick).unwrap();
    let mut up = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let v = portal::bulk::upload(&app, &me, &buyer, "bench.xlsx", &file).unwrap();
        up.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(v.selected as usize, rows.min(n));
        let v = portal::bulk::upload(&app, &me, &buyer, "undo.xlsx", &undo).unwrap();
        assert_eq!(v.unselected as usize, rows.min(n));
    }
    println!(
        "{}",
        serde_json::json!({
            "invoices": n,
            "download_ms": (median(down) * 10.0).round() / 10.0,
            "zip_bytes": size,
            "upload_rows": rows,
            "upload_ms": (median(up) * 10.0).round() / 10.0,
            "file_bytes": file.len(),
        })
    );
}
