//! 发票勾选 query benchmark: fapiao (redb + tantivy) against SQLite with the indexes a
//! competent engineer would create, on the same generated invoices and the same queries.
//!
//! `cargo bench --bench query -- --invoices N [--queries Q] [--seed S]`
//! The last line printed is one JSON object:
//! `{"invoices","queries","fapiao_p50_us","fapiao_p99_us","sqlite_p50_us","sqlite_p99_us",
//!   "p50_ratio","p99_ratio","fapiao_load_s","sqlite_load_s"}` (ratios are fapiao / SQLite).
//! Both sides must return the same totals and the same page for every query: checked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Instant;

use chrono::{Datelike, Days, NaiveDate};
use fapiao::config::Settings;
use fapiao::domain::{
    CustomsAudit, Fen, Invoice, InvoiceKey, InvoiceStatus, InvoiceType, KeyShape, SelectionState,
    TaxPeriod, TaxpayerId,
};
use fapiao::index::InvoiceFilter;
use fapiao::service::office::invoices::import;
use fapiao::service::office::invoices::ImportMode;
use fapiao::service::App;
use fapiao::store::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rusqlite::{params, Connection};

/// Invoices per import call (one redb transaction and one index commit each), as an
/// invoicing-system file of a busy day would be.
const CHUNK: usize = 250_000;

struct Args {
    invoices: usize,
    queries: usize,
    seed: u64,
}

fn args() -> Args {
    let f = common::flags(&[("invoices", 100_000), ("queries", 400), ("seed", 42)]);
    Args {
        invoices: f["invoices"] as usize,
        queries: f["queries"] as usize,
        seed: f["seed"],
    }
}

use common::credit_code;

struct Data {
    invoices: Vec<Invoice>,
    buyers: Vec<TaxpayerId>,
    sellers: Vec<TaxpayerId>,
    today: NaiveDate,
}

fn generate(n: usize, seed: u64) -> Data {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let start = today.checked_sub_days(Days::new(540)).unwrap();
    let n_buyers = (n / 10_000).clamp(20, 1000);
    let buyers: Vec<TaxpayerId> = (0..n_buyers as u64)
        .map(|i| credit_code(1_000_000 + i))
        .collect();
    let sellers: Vec<TaxpayerId> = (0..2000u64).map(|i| credit_code(5_000_000 + i)).collect();
    let mut invoices = Vec::with_capacity(n);
    let current = TaxPeriod::of_date(today);
    for i in 0..n {
        // One large taxpayer holds 10% of the invoices; the rest are spread.
        let b = if i % 10 == 0 {
            0
        } else {
            1 + rng.gen_range(0..n_buyers - 1)
        };
        let s = (rng.gen::<f64>().powi(2) * sellers.len() as f64) as usize;
        let issued = start + chrono::Duration::days(rng.gen_range(0..=540));
        // Today's mix: mostly 数电票, then paper and electronic 专票, 缴款书 and the rest.
        let kind = match rng.gen_range(0..100) {
            0..=39 => InvoiceType::DigitalSpecial,
            40..=44 => InvoiceType::DigitalOrdinary,
            45..=74 => InvoiceType::Special,
            75..=79 => InvoiceType::Freight,
            80..=84 => InvoiceType::MotorVehicle,
            85..=89 => InvoiceType::ESpecial,
            90..=92 => InvoiceType::Toll,
            93..=95 => InvoiceType::Agricultural,
            _ => InvoiceType::Customs,
        };
        let yy = issued.year() % 100;
        let key = match kind {
            InvoiceType::DigitalSpecial | InvoiceType::DigitalOrdinary => {
                InvoiceKey::parse_any(None, &format!("{yy:02}350{i:015}")).unwrap()
            }
            InvoiceType::Customs => {
                InvoiceKey::parse_any(None, &format!("3501{:04}1{i:09}-L01", issued.year()))
                    .unwrap()
            }
            _ => {
                let code = match kind {
                    InvoiceType::MotorVehicle => {
                        format!("1{:011}", 35_002_600_000 + (i as u64 / 50_000))
                    }
                    InvoiceType::ESpecial | InvoiceType::Toll => format!(
                        "0{:09}{}",
                        350_026_000 + (i as u64 / 50_000),
                        if kind == InvoiceType::ESpecial {
                            13
                        } else {
                            12
                        }
                    ),
                    _ => format!("{:010}", 3_500_261_130u64 + (i as u64 / 50_000) * 10),
                };
                InvoiceKey::parse(&code, &format!("{:08}", i % 100_000_000)).unwrap()
            }
        };
        let audit = (kind == InvoiceType::Customs).then_some(CustomsAudit::Match);
        let amount = Fen::new(rng.gen_range(10_000..50_000_000));
        let status = match rng.gen_range(0..100) {
            0..=94 => InvoiceStatus::Normal,
            95 => InvoiceStatus::Voided,
            96 => InvoiceStatus::RedReversed,
            97..=98 => InvoiceStatus::OutOfControl,
            _ => InvoiceStatus::Abnormal,
        };
        let pd = TaxPeriod::of_date(issued);
        let selection = if pd == current {
            if rng.gen_bool(0.3) {
                SelectionState::Selected { period: current }
            } else {
                SelectionState::Unselected
            }
        } else {
            match rng.gen_range(0..100) {
                0..=69 => SelectionState::Confirmed {
                    period: pd,
                    batch: rng.gen_range(1..4),
                    on: (pd.last_day() + Days::new(5)).min(today),
                },
                70..=74 => SelectionState::Scanned {
                    period: pd,
                    on: pd.last_day().min(today),
                },
                _ => SelectionState::Unselected,
            }
        };
        invoices.push(Invoice {
            key,
            kind,
            issued_on: issued,
            seller_id: sellers[s.min(sellers.len() - 1)].clone(),
            seller_name: format!("销方企业{s}有限公司"),
            buyer_id: buyers[b].clone(),
            amount,
            tax: Fen::tax_at_rate(amount, 130),
            status,
            selection,
            audit,
            usage: None,
        });
    }
    Data {
        invoices,
        buyers,
        sellers,
        today,
    }
}

/// The code column of the SQLite baseline: the code, or for documents without one a text
/// that sorts as fapiao orders them (数电票 before coded invoices, 缴款书 after).
fn sql_code(k: &InvoiceKey) -> &str {
    match k.shape() {
        KeyShape::Coded => k.code().unwrap_or_default(),
        KeyShape::Digital => "",
        KeyShape::Customs => "~",
    }
}

fn days(d: NaiveDate) -> i64 {
    i64::from(fapiao::store::codec::date_to_days(d))
}

fn sel_code(s: &SelectionState) -> i64 {
    match s {
        SelectionState::Unselected => 0,
        SelectionState::Selected { .. } => 1,
        SelectionState::Confirmed { .. } => 2,
        SelectionState::Scanned { .. } => 3,
    }
}

fn load_sqlite(path: &std::path::Path, data: &Data) -> Connection {
    let mut c = Connection::open(path).unwrap();
    c.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-262144;
         CREATE TABLE invoices (
           code TEXT NOT NULL, number TEXT NOT NULL, type INTEGER NOT NULL, issued INTEGER NOT NULL,
           seller TEXT NOT NULL, seller_name TEXT NOT NULL, buyer TEXT NOT NULL,
           amount INTEGER NOT NULL, tax INTEGER NOT NULL, status INTEGER NOT NULL,
           sel INTEGER NOT NULL, period INTEGER NOT NULL, cert_on INTEGER NOT NULL, batch INTEGER NOT NULL,
           PRIMARY KEY (code, number));",
    )
    .unwrap();
    let tx = c.transaction().unwrap();
    {
        let mut st = tx
            .prepare("INSERT INTO invoices VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)")
            .unwrap();
        for i in &data.invoices {
            st.execute(params![
                sql_code(&i.key),
                i.key.number(),
                i.kind.code(),
                days(i.issued_on),
                i.seller_id.as_str(),
                i.seller_name,
                i.buyer_id.as_str(),
                i.amount.value(),
                i.tax.value(),
                i.status.code(),
                sel_code(&i.selection),
                i.selection.period().map(|p| p.as_u32()).unwrap_or(0),
                i.selection.certified_on().map(days).unwrap_or(0),
                i.selection.batch().unwrap_or(0),
            ])
            .unwrap();
        }
    }
    tx.commit().unwrap();
    // The indexes these queries need: by buyer and state over the issue date, by buyer and
    // seller, by buyer and certification date.
    c.execute_batch(
        "CREATE INDEX idx_default ON invoices (buyer, sel, status, issued);
         CREATE INDEX idx_seller ON invoices (buyer, seller, issued);
         CREATE INDEX idx_cert ON invoices (buyer, sel, cert_on);
         ANALYZE;",
    )
    .unwrap();
    c
}

/// One query of the mix, with its page.
struct Q {
    filter: InvoiceFilter,
    page: usize,
    per_page: usize,
}

fn queries(data: &Data, n: usize, seed: u64) -> Vec<Q> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        // Half the queries are the large taxpayer's, half a random other's.
        let buyer = if i % 2 == 0 {
            data.buyers[0].clone()
        } else {
            data.buyers[1 + rng.gen_range(0..data.buyers.len() - 1)].clone()
        };
        let end = data.today - Days::new(rng.gen_range(0..60));
        let from = end - Days::new(182);
        let base = InvoiceFilter {
            buyer: Some(buyer),
            issued_from: Some(from),
            issued_to: Some(end),
            status: Some(InvoiceStatus::Normal),
            sel: vec![0],
            ..InvoiceFilter::default()
        };
        let q = match i % 8 {
            // Default conditions over six months (first page).
            0..=2 => Q {
                filter: base,
                page: 1,
                per_page: 50,
            },
            // With a seller.
            3 => {
                let s = (rng.gen::<f64>().powi(2) * 50.0) as usize;
                Q {
                    filter: InvoiceFilter {
                        seller: Some(data.sellers[s].clone()),
                        sel: vec![0, 1],
                        ..base
                    },
                    page: 1,
                    per_page: 50,
                }
            }
            // Certified by method and date.
            4 | 5 => {
                let to = data.today - Days::new(rng.gen_range(0..120));
                Q {
                    filter: InvoiceFilter {
                        sel: vec![if i % 8 == 4 { 2 } else { 3 }],
                        issued_from: Some(data.today - Days::new(540)),
                        issued_to: Some(data.today),
                        certified_from: Some(to - Days::new(90)),
                        certified_to: Some(to),
                        ..base
                    },
                    page: 1,
                    per_page: 50,
                }
            }
            // Paging deep into the results.
            _ => Q {
                filter: InvoiceFilter {
                    sel: vec![0, 1],
                    status: None,
                    ..base
                },
                page: 1 + rng.gen_range(5..40),
                per_page: 50,
            },
        };
        out.push(q);
    }
    out
}

type Answer = (u64, i64, i64, Vec<(String, String)>);

fn run_fapiao(app: &App, q: &Q) -> Answer {
    let found = app.index.search(&q.filter, q.page, q.per_page).unwrap();
    // Read the page from the store, as the service does.
    let r = app.store.read().unwrap();
    let mut page = Vec::with_capacity(found.keys.len());
    for k in &found.keys {
        let inv = r.invoice(k).unwrap().unwrap();
        page.push((sql_code(&inv.key).to_string(), inv.key.number().to_string()));
    }
    (found.total, found.amount, found.tax, page)
}

fn run_sqlite(c: &Connection, q: &Q) -> Answer {
    let f = &q.filter;
    let mut cond = vec![
        "buyer = ?1".to_string(),
        "issued BETWEEN ?2 AND ?3".to_string(),
    ];
    let sels = f
        .sel
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(",");
    cond.push(format!("sel IN ({sels})"));
    if let Some(s) = f.status {
        cond.push(format!("status = {}", s.code()));
    }
    if let Some(s) = &f.seller {
        cond.push(format!("seller = '{}'", s.as_str()));
    }
    if let (Some(a), Some(b)) = (f.certified_from, f.certified_to) {
        cond.push(format!("cert_on BETWEEN {} AND {}", days(a), days(b)));
    }
    let wh = cond.join(" AND ");
    let buyer = f.buyer.as_ref().unwrap().as_str();
    let from = days(f.issued_from.unwrap());
    let to = days(f.issued_to.unwrap());
    let (total, amount, tax): (i64, i64, i64) = c
        .prepare_cached(&format!(
            "SELECT COUNT(*), COALESCE(SUM(amount),0), COALESCE(SUM(tax),0) FROM invoices WHERE {wh}"
        ))
        .unwrap()
        .query_row(params![buyer, from, to], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap();
    let offset = (q.page - 1) * q.per_page;
    let mut st = c
        .prepare_cached(&format!(
            "SELECT code, number, type, issued, seller, seller_name, amount, tax, status, sel, period, cert_on, batch
             FROM invoices WHERE {wh} ORDER BY issued DESC, code, number LIMIT {} OFFSET {offset}",
            q.per_page
        ))
        .unwrap();
    let page = st
        .query_map(params![buyer, from, to], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    (total as u64, amount, tax, page)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let a = args();
    eprintln!("generating {} invoices…", a.invoices);
    let data = generate(a.invoices, a.seed);
    let dir = tempfile::tempdir().unwrap();

    // fapiao: store + index through the import service.
    let settings = Settings {
        data_dir: dir.path().join("fapiao"),
        ..Settings::default()
    };
    let app = App::open(settings).unwrap();
    let who = app.system("bench");
    let started = Instant::now();
    let mut line = 1;
    for chunk in data.invoices.chunks(CHUNK) {
        let rows: Vec<(usize, Invoice)> = chunk
            .iter()
            .cloned()
            .map(|i| {
                line += 1;
                (line, i)
            })
            .collect();
        import(&app, &who, rows, ImportMode::Generated, true).unwrap();
    }
    app.store.flush().unwrap();
    let fapiao_load = started.elapsed().as_secs_f64();
    eprintln!("fapiao load: {fapiao_load:.2}s");
    if std::env::var("BENCH_SPLIT").is_ok() {
        let t = Instant::now();
        app.index.rebuild(&app.store).unwrap();
        eprintln!("index rebuild alone: {:.2}s", t.elapsed().as_secs_f64());
    }

    let started = Instant::now();
    let conn = load_sqlite(&dir.path().join("sqlite.db"), &data);
    let sqlite_load = started.elapsed().as_secs_f64();
    eprintln!("sqlite load: {sqlite_load:.2}s");

    let qs = queries(&data, a.queries, a.seed);
    // Warm both (page cache, prepared statements).
    for q in qs.iter().take(20) {
        run_fapiao(&app, q);
        run_sqlite(&conn, q);
    }
    let mut tf = Vec::with_capacity(qs.len());
    let mut ts = Vec::with_capacity(qs.len());
    for (i, q) in qs.iter().enumerate() {
        let t = Instant::now();
        let fa = run_fapiao(&app, q);
        tf.push(t.elapsed().as_secs_f64() * 1e6);
        let t = Instant::now();
        let sa = run_sqlite(&conn, q);
        ts.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(
            (fa.0, fa.1, fa.2),
            (sa.0, sa.1, sa.2),
            "query {i}: totals differ"
        );
        assert_eq!(fa.3, sa.3, "query {i}: pages differ");
    }
    tf.sort_by(f64::total_cmp);
    ts.sort_by(f64::total_cmp);
    let (f50, f99, s50, s99) = (
        percentile(&tf, 0.5),
        percentile(&tf, 0.99),
        percentile(&ts, 0.5),
        percentile(&ts, 0.99),
    );
    println!(
        "{}",
        serde_json::json!({
            "invoices": a.invoices,
            "queries": qs.len(),
            "fapiao_p50_us": f50.round(),
            "fapiao_p99_us": f99.round(),
            "sqlite_p50_us": s50.round(),
            "sqlite_p99_us": s99.round(),
            "p50_ratio": (f50 / s50 * 1000.0).round() / 1000.0,
            "p99_ratio": (f99 / s99 * 1000.0).round() / 1000.0,
            "fapiao_load_s": (fapiao_load * 100.0).round() / 100.0,
            "sqlite_load_s": (sqlite_load * 100.0).round() / 100.0,
        })
    );
}
