//! 发票勾选 query benchmark: fapiao (redb + tantivy) against SQLite with the indexes a
//! competent engineer would create, on the same generated invoices and the same queries.
//!
//! `cargo bench --bench query -- --invoices N [--queries Q] [--seed S]`
//! `cargo bench --bench query -- --flat 50000 --sizes 1000000,3000000,10000000`: flat mode,
//! where the queried taxpayer holds `--flat` invoices at every store size and the rest belong
//! to other taxpayers (about 2,000 each); one line per size, then a summary line
//! `{"sizes","fapiao_p50_growth","sqlite_p50_growth",…}` (largest size / smallest).
//! Each size's line is one JSON object:
//! `{"invoices","queries","fapiao_p50_us","fapiao_p99_us","sqlite_p50_us","sqlite_p99_us",
//!   "p50_ratio","p99_ratio","fapiao_load_s","sqlite_load_s"}` (ratios are fapiao / SQLite).
//! Both sides must return the same totals and the same page for every query: checked (and in
//! flat mode, the same answers at every size). With several sizes, all are loaded first and
//! their queries then alternate in blocks of 50, so that the machine's drift over the
//! minutes between sizes does not fall on one size alone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Instant;

use nix::sys::resource::{getrusage, UsageWho};

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
    /// Flat mode: the queried taxpayer's invoice count (0: off).
    flat: usize,
    /// Store sizes to run one after the other (empty: `--invoices` alone).
    sizes: Vec<usize>,
}

fn args() -> Args {
    let f = common::flags(&[
        ("invoices", 100_000),
        ("queries", 400),
        ("seed", 42),
        ("flat", 0),
    ]);
    Args {
        invoices: f["invoices"] as usize,
        queries: f["queries"] as usize,
        seed: f["seed"],
        flat: f["flat"] as usize,
        sizes: common::list_flag("sizes")
            .into_iter()
            .map(|n| n as usize)
            .collect(),
    }
}

use common::credit_code;

/// In flat mode, the other taxpayers hold this many invoices each on average, whatever the
/// store's size: the store grows by adding taxpayers, not by growing them.
const OTHER_SHARE: usize = 2_000;

/// The generated store, described; its invoices are generated on demand (`Data::invoices`),
/// the same sequence every time, so that 10M invoices never sit in memory at once.
struct Data {
    n: usize,
    seed: u64,
    /// Flat mode: how many invoices the queried taxpayer (`buyers[0]`) holds.
    flat: Option<usize>,
    buyers: Vec<TaxpayerId>,
    sellers: Vec<TaxpayerId>,
    today: NaiveDate,
}

impl Data {
    fn new(n: usize, seed: u64, flat: Option<usize>) -> Data {
        if let Some(f) = flat {
            assert!(
                f > 0 && f < n,
                "--flat {f} must be above 0 and below the store's size {n}"
            );
        }
        let n_buyers = match flat {
            None => (n / 10_000).clamp(20, 1000),
            Some(f) => 1 + ((n - f) / OTHER_SHARE).max(20),
        };
        Data {
            n,
            seed,
            flat,
            buyers: (0..n_buyers as u64)
                .map(|i| credit_code(1_000_000 + i))
                .collect(),
            sellers: (0..2000u64).map(|i| credit_code(5_000_000 + i)).collect(),
            today: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        }
    }

    /// The invoices, in the order they are loaded.
    fn invoices(&self) -> Generator<'_> {
        Generator {
            data: self,
            i: 0,
            rng: ChaCha8Rng::seed_from_u64(self.seed),
            others: ChaCha8Rng::seed_from_u64(self.seed ^ 0x0_74e5),
        }
    }

    /// Flat mode: whether slot `i` is one of the queried taxpayer's `flat` slots, spread evenly
    /// over the whole sequence (so they land in every import chunk, as a real taxpayer's would).
    fn queried_slot(&self, i: usize, flat: usize) -> bool {
        let at = |i: usize| (i as u128 * flat as u128) / self.n as u128;
        at(i) != at(i + 1)
    }
}

struct Generator<'a> {
    data: &'a Data,
    i: usize,
    /// Default mode: every draw. Flat mode: the queried taxpayer's invoices alone, so that they
    /// are the same (except for their numbers) at every store size.
    rng: ChaCha8Rng,
    /// Flat mode: the other taxpayers' invoices.
    others: ChaCha8Rng,
}

impl Iterator for Generator<'_> {
    type Item = Invoice;

    fn next(&mut self) -> Option<Invoice> {
        let d = self.data;
        let i = self.i;
        if i >= d.n {
            return None;
        }
        self.i += 1;
        let n_buyers = d.buyers.len();
        let (b, rng) = match d.flat {
            // One large taxpayer holds 10% of the invoices; the rest are spread.
            None => {
                let b = if i.is_multiple_of(10) {
                    0
                } else {
                    1 + self.rng.gen_range(0..n_buyers - 1)
                };
                (b, &mut self.rng)
            }
            Some(f) if d.queried_slot(i, f) => (0, &mut self.rng),
            Some(_) => (1 + self.others.gen_range(0..n_buyers - 1), &mut self.others),
        };
        Some(invoice(rng, d, i, b))
    }
}

/// Invoice `i` of the sequence, for buyer `b`, drawn from `rng`.
fn invoice(rng: &mut ChaCha8Rng, d: &Data, i: usize, b: usize) -> Invoice {
    let today = d.today;
    let start = today.checked_sub_days(Days::new(540)).unwrap();
    let current = TaxPeriod::of_date(today);
    let sellers = &d.sellers;
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
            InvoiceKey::parse_any(None, &format!("3501{:04}1{i:09}-L01", issued.year())).unwrap()
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
    Invoice {
        key,
        kind,
        issued_on: issued,
        seller_id: sellers[s.min(sellers.len() - 1)].clone(),
        seller_name: format!("销方企业{s}有限公司"),
        buyer_id: d.buyers[b].clone(),
        amount,
        tax: Fen::tax_at_rate(amount, 130),
        status,
        selection,
        audit,
        usage: None,
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

/// Loads the invoices into SQLite; returns the connection and the seconds spent loading
/// (generating the invoices is not counted).
fn load_sqlite(path: &std::path::Path, data: &Data) -> (Connection, f64) {
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
    let mut spent = 0.0;
    let tx = c.transaction().unwrap();
    {
        let mut st = tx
            .prepare("INSERT INTO invoices VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)")
            .unwrap();
        let mut all = data.invoices();
        loop {
            let chunk: Vec<Invoice> = all.by_ref().take(CHUNK).collect();
            if chunk.is_empty() {
                break;
            }
            let started = Instant::now();
            for i in &chunk {
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
            spent += started.elapsed().as_secs_f64();
        }
    }
    let started = Instant::now();
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
    spent += started.elapsed().as_secs_f64();
    (c, spent)
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
        // Half the queries are the large taxpayer's, half a random other's; in flat mode all
        // are the queried taxpayer's (the others' share is not what is held constant).
        let buyer = if i % 2 == 0 || data.flat.is_some() {
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

/// The answer, and the microseconds the index search took (the rest is the page read).
fn run_fapiao(app: &App, q: &Q) -> (Answer, f64) {
    let t = Instant::now();
    let found = app.index.search(&q.filter, q.page, q.per_page).unwrap();
    let searched = t.elapsed().as_secs_f64() * 1e6;
    // Read the page from the store, as the service does.
    let r = app.store.read().unwrap();
    let invoices = r.invoices_by_keys(&found.keys).unwrap();
    assert_eq!(
        invoices.len(),
        found.keys.len(),
        "a key of the page is not in the store"
    );
    let page = invoices
        .iter()
        .map(|inv| (sql_code(&inv.key).to_string(), inv.key.number().to_string()))
        .collect();
    ((found.total, found.amount, found.tax, page), searched)
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

/// What one store size measured.
struct Run {
    invoices: usize,
    /// The digest of the answers (matches found, their amount).
    digest: (u64, i64),
    queries: usize,
    f50: f64,
    f99: f64,
    s50: f64,
    s99: f64,
    /// The index's segments when measured (each a query visits).
    segments: usize,
}

/// One store size, loaded on both sides, and what its queries measured so far.
struct Loaded {
    n: usize,
    flat: Option<usize>,
    qs: Vec<Q>,
    app: std::sync::Arc<App>,
    conn: Connection,
    dir: tempfile::TempDir,
    fapiao_load: f64,
    sqlite_load: f64,
    /// Microseconds per query, in query order: fapiao, SQLite, and fapiao's index search.
    tf: Vec<f64>,
    ts: Vec<f64>,
    searches: Vec<f64>,
    /// A digest of the answers: in flat mode it is the same at every store size.
    found: u64,
    amounts: i64,
}

/// Generates and loads `n` invoices on both sides.
fn load(a: &Args, n: usize) -> Loaded {
    let flat = (a.flat > 0).then_some(a.flat);
    eprintln!(
        "{n} invoices{}…",
        flat.map(|f| format!(", {f} of them the queried taxpayer's"))
            .unwrap_or_default()
    );
    let data = Data::new(n, a.seed, flat);
    let dir = tempfile::tempdir().unwrap();

    // fapiao: store + index through the import service.
    let settings = Settings {
        data_dir: dir.path().join("fapiao"),
        ..Settings::default()
    };
    let app = App::open(settings).unwrap();
    let who = app.system("bench");
    let mut fapiao_load = 0.0;
    let mut line = 1;
    let mut all = data.invoices();
    // CPU time of the whole process over the load, less what generating the rows took on this
    // thread (it happens between the timed imports): the load's cost per invoice on all cores.
    let cpu_start = cpu_secs(UsageWho::RUSAGE_SELF);
    let faults_start = minor_faults();
    let mut generating_cpu = 0.0;
    loop {
        let generating = cpu_secs(UsageWho::RUSAGE_THREAD);
        let rows: Vec<(usize, Invoice)> = all
            .by_ref()
            .take(CHUNK)
            .map(|i| {
                line += 1;
                (line, i)
            })
            .collect();
        generating_cpu += cpu_secs(UsageWho::RUSAGE_THREAD) - generating;
        if rows.is_empty() {
            break;
        }
        let started = Instant::now();
        import(&app, &who, rows, ImportMode::Generated, true).unwrap();
        fapiao_load += started.elapsed().as_secs_f64();
    }
    // As `fapiao import` ends: durable, and the index's segments packed.
    let started = Instant::now();
    app.store.flush().unwrap();
    let packing = Instant::now();
    let merged = app.index.compact().unwrap();
    eprintln!(
        "index segments packed: {merged} merged away in {:.2}s",
        packing.elapsed().as_secs_f64()
    );
    fapiao_load += started.elapsed().as_secs_f64();
    eprintln!("fapiao load: {fapiao_load:.2}s");
    let load_cpu = cpu_secs(UsageWho::RUSAGE_SELF) - cpu_start - generating_cpu;
    eprintln!(
        "fapiao load CPU: {load_cpu:.2}s on all cores, {:.2} µs per invoice, {} page faults",
        load_cpu * 1e6 / n as f64,
        minor_faults() - faults_start
    );
    if std::env::var("BENCH_SPLIT").is_ok() {
        let t = Instant::now();
        app.index.rebuild(&app.store).unwrap();
        eprintln!("index rebuild alone: {:.2}s", t.elapsed().as_secs_f64());
    }

    let (conn, sqlite_load) = load_sqlite(&dir.path().join("sqlite.db"), &data);
    eprintln!("sqlite load: {sqlite_load:.2}s");

    let qs = queries(&data, a.queries, a.seed);
    Loaded {
        n,
        flat,
        tf: Vec::with_capacity(qs.len()),
        ts: Vec::with_capacity(qs.len()),
        searches: Vec::with_capacity(qs.len()),
        qs,
        app,
        conn,
        dir,
        fapiao_load,
        sqlite_load,
        found: 0,
        amounts: 0,
    }
}

/// Queries measured at one size before the next size's turn (see `main`).
const BLOCK: usize = 50;

/// Warms both sides (page cache, prepared statements, the processor's caches) with the
/// first queries, unmeasured.
fn warm(l: &Loaded) {
    for q in l.qs.iter().take(20) {
        run_fapiao(&l.app, q);
        run_sqlite(&l.conn, q);
    }
}

/// Runs query `i` on both sides, times each and checks that the answers are the same.
fn measure(l: &mut Loaded, i: usize) {
    let q = &l.qs[i];
    let t = Instant::now();
    let (fa, searched) = run_fapiao(&l.app, q);
    l.tf.push(t.elapsed().as_secs_f64() * 1e6);
    l.searches.push(searched);
    l.found += fa.0;
    l.amounts += fa.1;
    let t = Instant::now();
    let sa = run_sqlite(&l.conn, q);
    l.ts.push(t.elapsed().as_secs_f64() * 1e6);
    assert_eq!(
        (fa.0, fa.1, fa.2),
        (sa.0, sa.1, sa.2),
        "{} invoices, query {i}: totals differ",
        l.n
    );
    assert_eq!(fa.3, sa.3, "{} invoices, query {i}: pages differ", l.n);
}

/// Prints a measured size's figures (the JSON line on stdout, the breakdown on stderr) and
/// deletes its data.
fn report(l: Loaded) -> Run {
    let Loaded {
        n,
        flat,
        qs,
        app,
        conn,
        dir,
        fapiao_load,
        sqlite_load,
        mut tf,
        mut ts,
        mut searches,
        found,
        amounts,
    } = l;
    if let Some(secs) = std::env::var("BENCH_PROFILE_SECS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
    {
        profile(&app, &qs, secs);
    }
    // Where the tail is: each kind of query of the mix on its own (stderr).
    for (name, kinds) in [
        ("default", &[0, 1, 2][..]),
        ("seller", &[3]),
        ("certified", &[4, 5]),
        ("deep pages", &[6, 7]),
    ] {
        let pick = |t: &[f64]| {
            let mut v: Vec<f64> = t
                .iter()
                .enumerate()
                .filter(|(i, _)| kinds.contains(&(i % 8)))
                .map(|(_, x)| *x)
                .collect();
            v.sort_by(f64::total_cmp);
            (percentile(&v, 0.5), percentile(&v, 0.99))
        };
        let ((f50, f99), (s50, s99)) = (pick(&tf), pick(&ts));
        eprintln!(
            "  {n} invoices, {name}: fapiao p50 {f50:.0} µs p99 {f99:.0} µs; sqlite p50 {s50:.0} µs p99 {s99:.0} µs"
        );
    }
    tf.sort_by(f64::total_cmp);
    ts.sort_by(f64::total_cmp);
    searches.sort_by(f64::total_cmp);
    eprintln!(
        "{n} invoices, answers agree: {found} invoices found in all, amount {amounts} fen; \
         fapiao index search p50 {:.0} µs of {:.0} µs",
        percentile(&searches, 0.5),
        percentile(&tf, 0.5)
    );
    let r = Run {
        invoices: n,
        digest: (found, amounts),
        queries: qs.len(),
        f50: percentile(&tf, 0.5),
        f99: percentile(&tf, 0.99),
        s50: percentile(&ts, 0.5),
        s99: percentile(&ts, 0.99),
        segments: app.index.segment_count(),
    };
    let mut line = serde_json::json!({
        "invoices": n,
        "queries": r.queries,
        "fapiao_p50_us": r.f50.round(),
        "fapiao_p99_us": r.f99.round(),
        "sqlite_p50_us": r.s50.round(),
        "sqlite_p99_us": r.s99.round(),
        "p50_ratio": round3(r.f50 / r.s50),
        "p99_ratio": round3(r.f99 / r.s99),
        "fapiao_load_s": (fapiao_load * 100.0).round() / 100.0,
        "sqlite_load_s": (sqlite_load * 100.0).round() / 100.0,
        "fapiao_segments": r.segments,
    });
    if let Some(f) = flat {
        line["flat"] = f.into();
    }
    println!("{line}");
    drop(conn);
    drop(app);
    drop(dir);
    r
}

/// `BENCH_PROFILE_SECS=S`: after the measured queries, runs fapiao's queries alone (unmeasured)
/// for S seconds, for a profiler attached to the process (`perf record -p PID`).
fn profile(app: &App, qs: &[Q], secs: f64) {
    let segments = app.index.segment_count();
    eprintln!(
        "profiling fapiao queries for {secs} s, pid {}, {segments} index segments",
        std::process::id()
    );
    let started = Instant::now();
    let mut done = 0;
    while started.elapsed().as_secs_f64() < secs {
        run_fapiao(app, &qs[done % qs.len()]);
        done += 1;
    }
    eprintln!(
        "profiled: {done} queries, {:.0} µs each",
        started.elapsed().as_secs_f64() * 1e6 / done as f64
    );
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn main() {
    let a = args();
    let sizes = if a.sizes.is_empty() {
        vec![a.invoices]
    } else {
        a.sizes.clone()
    };
    let mut loaded: Vec<Loaded> = sizes.iter().map(|&n| load(&a, n)).collect();
    // With several sizes, their queries alternate in blocks (a block of queries at every
    // size, then the next block) once all are loaded: the machine's ups and downs over the
    // minutes a size takes then fall on every size alike, which a growth figure from runs
    // minutes apart did not (its p50s moved by ±15 % from run to run on a shared 2-core
    // machine). Blocks, not single queries: a query right after one on another store finds
    // the processor's caches holding that store's data, and in this mode all of one size's
    // queries are the same taxpayer's, so within a block they run as they would alone.
    let k = loaded.len();
    for block in (0..a.queries).step_by(BLOCK) {
        for l in loaded.iter_mut() {
            warm(l);
            for i in block..(block + BLOCK).min(a.queries) {
                measure(l, i);
            }
        }
        // The sizes take turns at going first.
        loaded.rotate_left(1 % k);
    }
    loaded.sort_by_key(|l| l.n);
    let runs: Vec<Run> = loaded.into_iter().map(report).collect();
    if a.flat > 0 {
        // The queried taxpayer and its invoices are the same at every size, so are the answers.
        for r in &runs {
            assert_eq!(
                r.digest, runs[0].digest,
                "flat mode: the answers at {} invoices differ from those at {}",
                r.invoices, runs[0].invoices
            );
        }
    }
    if runs.len() > 1 {
        // Growth from the smallest store to the largest: the last line, one JSON object.
        let small = runs.iter().min_by_key(|r| r.invoices).unwrap();
        let large = runs.iter().max_by_key(|r| r.invoices).unwrap();
        let mut summary = serde_json::json!({
            "sizes": runs.iter().map(|r| r.invoices).collect::<Vec<_>>(),
            "queries": small.queries,
            "fapiao_p50_us": runs.iter().map(|r| r.f50.round()).collect::<Vec<_>>(),
            "sqlite_p50_us": runs.iter().map(|r| r.s50.round()).collect::<Vec<_>>(),
            "fapiao_segments": runs.iter().map(|r| r.segments).collect::<Vec<_>>(),
            "fapiao_p50_growth": round3(large.f50 / small.f50),
            "sqlite_p50_growth": round3(large.s50 / small.s50),
            "fapiao_p99_growth": round3(large.f99 / small.f99),
            "sqlite_p99_growth": round3(large.s99 / small.s99),
        });
        if a.flat > 0 {
            summary["flat"] = a.flat.into();
        }
        println!("{summary}");
    }
}

/// User and system CPU seconds of the process (`RUSAGE_SELF`) or of the calling thread.
fn cpu_secs(who: UsageWho) -> f64 {
    let u = getrusage(who).expect("getrusage");
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    secs(u.user_time()) + secs(u.system_time())
}

/// Minor page faults of the process so far (fresh memory the kernel had to zero, mostly).
fn minor_faults() -> i64 {
    getrusage(UsageWho::RUSAGE_SELF).map_or(0, |u| u.minor_page_faults())
}
