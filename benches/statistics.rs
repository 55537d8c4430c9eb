//! 抵扣统计 benchmark: the full table (type × method, certified and exceptions, and the figures
//! of each 勾选用途 — 抵扣 at 有效税额, 不抵扣, 退税, 代办退税) and the
//! exception list of one taxpayer's period — every exception invoice's key in order, and the
//! first page (50) of them in full, as `GET /api/v1/statistics/{period}` answers — computed
//! by fapiao's pipeline (tantivy columns, segments in parallel with rayon, the page read from
//! redb) against SQLite `GROUP BY` with a covering index, on the same generated invoices.
//! Both answers must be equal (checked). The cached answer (what a repeated request gets:
//! the figures) is timed too.
//!
//! `cargo bench --bench statistics -- --invoices N [--runs R] [--seed S]` (other flags, such as
//! cargo's `--bench`, are ignored). The last line printed is one JSON object:
//! `{"invoices","fapiao_ms","sqlite_ms","ratio","cached_us"}` (ratio = fapiao / SQLite; the
//! times are medians over R runs, fapiao computed cold — never from its cache).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Instant;

use chrono::{Days, NaiveDate};
use fapiao::config::Settings;
use fapiao::domain::statistics::Tally;
use fapiao::domain::{
    CertMethod, CustomsAudit, Fen, Invoice, InvoiceKey, InvoiceStatus, InvoiceType, InvoiceUse,
    KeyShape, NoDeductReason, SelectionState, TaxPeriod, TaxpayerId, Usage,
};
use fapiao::service::office::invoices::import;
use fapiao::service::office::invoices::ImportMode;
use fapiao::service::App;
use fapiao::store::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rusqlite::{params, Connection};

const CHUNK: usize = 250_000;

struct Args {
    invoices: usize,
    runs: usize,
    seed: u64,
}

fn args() -> Args {
    let f = common::flags(&[("invoices", 100_000), ("runs", 7), ("seed", 7)]);
    Args {
        invoices: f["invoices"] as usize,
        runs: (f["runs"] as usize).max(1),
        seed: f["seed"],
    }
}

use common::credit_code;

const PERIOD: &str = "202610";

/// `n` invoices certified in 202610 for one buyer (70 % 勾选认证, 30 % 扫描认证, about 4 %
/// since become exceptions), and `n / 10` others (other buyers, other periods, uncertified)
/// that the computation must leave out.
fn generate(n: usize, seed: u64) -> (Vec<Invoice>, TaxpayerId) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let buyer = credit_code(1_000_000);
    let others: Vec<TaxpayerId> = (1..50u64).map(|i| credit_code(1_000_000 + i)).collect();
    let sellers: Vec<TaxpayerId> = (0..500u64).map(|i| credit_code(5_000_000 + i)).collect();
    let period = TaxPeriod::parse(PERIOD).unwrap();
    let first = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
    let mut out = Vec::with_capacity(n + n / 10);
    for i in 0..n + n / 10 {
        let ours = i < n;
        let issued = first + Days::new(rng.gen_range(0..150));
        // Today's mix of kinds (docs/documents.md).
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
        let key = match kind {
            InvoiceType::DigitalSpecial | InvoiceType::DigitalOrdinary => {
                InvoiceKey::parse_any(None, &format!("26350{i:015}")).unwrap()
            }
            InvoiceType::Customs => {
                InvoiceKey::parse_any(None, &format!("350120261{i:09}-L01")).unwrap()
            }
            _ => {
                let code = match kind {
                    InvoiceType::MotorVehicle => {
                        format!("1{:011}", 35_002_600_000 + (i as u64 / 90_000_000))
                    }
                    InvoiceType::ESpecial | InvoiceType::Toll => format!(
                        "0{:09}{}",
                        350_026_000 + (i as u64 / 90_000_000),
                        if kind == InvoiceType::ESpecial {
                            13
                        } else {
                            12
                        }
                    ),
                    _ => format!("{:010}", 3_500_261_130u64 + (i as u64 / 90_000_000) * 10),
                };
                InvoiceKey::parse(&code, &format!("{:08}", i % 90_000_000)).unwrap()
            }
        };
        let status = match rng.gen_range(0..100) {
            0..=95 => InvoiceStatus::Normal,
            96 => InvoiceStatus::Voided,
            97 => InvoiceStatus::RedReversed,
            98 => InvoiceStatus::OutOfControl,
            _ => InvoiceStatus::Abnormal,
        };
        let on = NaiveDate::from_ymd_opt(2026, 11, 10).unwrap();
        let selection = if ours {
            if rng.gen_bool(0.7) {
                SelectionState::Confirmed {
                    period,
                    batch: rng.gen_range(1..5),
                    on,
                }
            } else {
                SelectionState::Scanned { period, on }
            }
        } else {
            match rng.gen_range(0..3) {
                0 => SelectionState::Unselected,
                1 => SelectionState::Confirmed {
                    period: TaxPeriod::parse("202609").unwrap(),
                    batch: 1,
                    on,
                },
                _ => SelectionState::Scanned { period, on },
            }
        };
        let amount = Fen::new(rng.gen_range(10_000..50_000_000));
        let tax = Fen::tax_at_rate(amount, 130);
        // 勾选用途 of a confirmed invoice: mostly 抵扣 in full, some 抵扣 of a lowered 有效税额,
        // 不抵扣, 退税 and 代办退税 (a 缴款书 only 抵扣).
        let usage = match selection {
            SelectionState::Confirmed { .. } if kind != InvoiceType::Customs => {
                let full = fapiao::domain::invoice::deductible_tax(kind, amount, tax);
                let other = |use_| Usage {
                    use_,
                    effective_tax: full,
                    reason: None,
                    reason_text: None,
                };
                match rng.gen_range(0..100) {
                    0..=5 if full.value() > 1 => Some(Usage {
                        effective_tax: Fen::new(rng.gen_range(1..full.value())),
                        ..Usage::deduct(full)
                    }),
                    6..=13 => Some(Usage {
                        effective_tax: tax,
                        reason: Some(NoDeductReason::Welfare),
                        ..other(InvoiceUse::NoDeduct)
                    }),
                    14..=16 => Some(other(InvoiceUse::Refund)),
                    17..=19 => Some(other(InvoiceUse::AgentRefund)),
                    _ => None,
                }
            }
            _ => None,
        };
        out.push(Invoice {
            key,
            kind,
            issued_on: issued,
            seller_id: sellers[rng.gen_range(0..sellers.len())].clone(),
            seller_name: "杭州宏远信息技术有限公司".into(),
            buyer_id: if ours {
                buyer.clone()
            } else {
                others[rng.gen_range(0..others.len())].clone()
            },
            amount,
            tax,
            status,
            selection,
            audit: (kind == InvoiceType::Customs).then_some(CustomsAudit::Match),
            usage,
        });
    }
    (out, buyer)
}

fn load_sqlite(path: &std::path::Path, invoices: &[Invoice]) -> Connection {
    let mut c = Connection::open(path).unwrap();
    c.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-262144;
         CREATE TABLE invoices (
           code TEXT NOT NULL, number TEXT NOT NULL, type INTEGER NOT NULL, issued INTEGER NOT NULL,
           seller TEXT NOT NULL, seller_name TEXT NOT NULL, buyer TEXT NOT NULL,
           amount INTEGER NOT NULL, tax INTEGER NOT NULL, status INTEGER NOT NULL,
           sel INTEGER NOT NULL, period INTEGER NOT NULL,
           use_code INTEGER NOT NULL, effective_tax INTEGER,
           PRIMARY KEY (code, number));",
    )
    .unwrap();
    let tx = c.transaction().unwrap();
    {
        let mut st = tx
            .prepare("INSERT INTO invoices VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)")
            .unwrap();
        for i in invoices {
            let sel = match i.selection {
                SelectionState::Unselected => 0,
                SelectionState::Selected { .. } => 1,
                SelectionState::Confirmed { .. } => 2,
                SelectionState::Scanned { .. } => 3,
            };
            st.execute(params![
                sql_code(&i.key),
                i.key.number(),
                i.kind.code(),
                i64::from(fapiao::store::codec::date_to_days(i.issued_on)),
                i.seller_id.as_str(),
                i.seller_name,
                i.buyer_id.as_str(),
                i.amount.value(),
                i.tax.value(),
                i.status.code(),
                sel,
                i.selection.period().map(|p| p.as_u32()).unwrap_or(0),
                // 1 抵扣 unless recorded otherwise; 有效税额 only when recorded.
                i.usage.as_ref().map_or(1, |u| u.use_.code()),
                i.usage.as_ref().map(|u| u.effective_tax.value()),
            ])
            .unwrap();
        }
    }
    tx.commit().unwrap();
    // A covering index for the statistics: the whole computation reads the index only.
    c.execute_batch(
        "CREATE INDEX idx_stats ON invoices
           (buyer, period, sel, type, status, use_code, amount, tax, effective_tax);
         ANALYZE;",
    )
    .unwrap();
    c
}

/// The answer both sides give: the table with every exception key (in key order), and the
/// first page of exception invoices.
type Answer = (Tally, Vec<(String, String, i64, i64, u8)>);

/// The code column of the SQLite baseline: the code, or a text sorting after every code as
/// fapiao orders keys (coded, then 数电票, then 缴款书).
fn sql_code(k: &InvoiceKey) -> &str {
    match k.shape() {
        KeyShape::Coded => k.code().unwrap_or_default(),
        KeyShape::Digital => "~1",
        KeyShape::Customs => "~2",
    }
}

fn key_of(code: &str, number: &str) -> InvoiceKey {
    if code.starts_with('~') {
        InvoiceKey::parse_any(None, number).unwrap()
    } else {
        InvoiceKey::parse(code, number).unwrap()
    }
}

const PAGE: usize = 50;

fn sqlite_answer(c: &Connection, buyer: &TaxpayerId) -> Answer {
    let period = TaxPeriod::parse(PERIOD).unwrap().as_u32();
    let mut t = Tally::<()>::default();
    // 有效税额: as recorded, else the deductible tax (农产品: 9 % of the amount).
    let mut st = c
        .prepare_cached(
            "SELECT type, sel, status, use_code, COUNT(*), SUM(amount), SUM(tax),
                    SUM(COALESCE(effective_tax,
                        CASE WHEN type = 8 THEN (amount * 90 + 500) / 1000 ELSE tax END))
             FROM invoices
             WHERE buyer = ?1 AND period = ?2 AND sel IN (2, 3)
             GROUP BY type, sel, status, use_code",
        )
        .unwrap();
    let mut rows = st.query(params![buyer.as_str(), period]).unwrap();
    while let Some(r) = rows.next().unwrap() {
        let kind = InvoiceType::from_code(r.get::<_, u8>(0).unwrap()).unwrap();
        let method = if r.get::<_, i64>(1).unwrap() == 2 {
            CertMethod::Selection
        } else {
            CertMethod::Scan
        };
        let status = InvoiceStatus::from_code(r.get::<_, u8>(2).unwrap()).unwrap();
        let use_ = InvoiceUse::from_code(r.get::<_, u8>(3).unwrap()).unwrap();
        let (count, amount, tax, effective): (i64, i64, i64, i64) = (
            r.get(4).unwrap(),
            r.get(5).unwrap(),
            r.get(6).unwrap(),
            r.get(7).unwrap(),
        );
        let (t_i, m_i) = (
            fapiao::domain::statistics::TYPES
                .iter()
                .position(|x| *x == kind)
                .unwrap(),
            usize::from(method == CertMethod::Scan),
        );
        let cell = |tax: i64| fapiao::domain::statistics::Cell {
            count: count as u64,
            amount: Fen::new(amount),
            tax: Fen::new(tax),
        };
        match use_ {
            InvoiceUse::Deduct => {
                t.certified[t_i][m_i] += cell(effective);
                if status.is_exception() {
                    t.exceptions[t_i][m_i] += cell(effective);
                }
            }
            InvoiceUse::NoDeduct => t.no_deduct[t_i] += cell(tax),
            InvoiceUse::Refund => t.refund[t_i] += cell(effective),
            InvoiceUse::AgentRefund => t.agent_refund[t_i] += cell(effective),
        }
    }
    let mut st = c
        .prepare_cached(
            "SELECT code, number FROM invoices
             WHERE buyer = ?1 AND period = ?2 AND sel IN (2, 3) AND status != 1 AND use_code = 1
             ORDER BY code, number",
        )
        .unwrap();
    let keys: Vec<InvoiceKey> = st
        .query_map(params![buyer.as_str(), period], |r| {
            Ok(key_of(&r.get::<_, String>(0)?, &r.get::<_, String>(1)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut st = c
        .prepare_cached(
            "SELECT code, number, amount, tax, status FROM invoices
             WHERE buyer = ?1 AND period = ?2 AND sel IN (2, 3) AND status != 1 AND use_code = 1
             ORDER BY code, number LIMIT ?3",
        )
        .unwrap();
    let list: Vec<(String, String, i64, i64, u8)> = st
        .query_map(params![buyer.as_str(), period, PAGE as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let t = Tally {
        certified: t.certified,
        exceptions: t.exceptions,
        no_deduct: t.no_deduct,
        refund: t.refund,
        agent_refund: t.agent_refund,
        exception_keys: keys,
    };
    (t, list)
}

fn fapiao_answer(app: &App, buyer: &TaxpayerId) -> Answer {
    let period = TaxPeriod::parse(PERIOD).unwrap();
    let t = app.index.tally(buyer, period).unwrap();
    // The table as shown, and the exception invoices read from the truth.
    let _rows = t.rows();
    let r = app.store.read().unwrap();
    let first = &t.exception_keys[..t.exception_keys.len().min(PAGE)];
    let list = r
        .invoices_by_keys(first)
        .unwrap()
        .iter()
        .map(|i| {
            (
                sql_code(&i.key).to_string(),
                i.key.number().to_string(),
                i.amount.value(),
                i.tax.value(),
                i.status.code(),
            )
        })
        .collect();
    (t, list)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let a = args();
    let (invoices, buyer) = generate(a.invoices, a.seed);
    let dir = tempfile::tempdir().unwrap();
    eprintln!("loading {} invoices…", invoices.len());
    let settings = Settings {
        data_dir: dir.path().join("fapiao"),
        log_format: "pretty".into(),
        ..Settings::default()
    };
    let app = App::open(settings).unwrap();
    let who = app.system("bench");
    let started = Instant::now();
    for (c, chunk) in invoices.chunks(CHUNK).enumerate() {
        let rows: Vec<(usize, Invoice)> = chunk
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, inv)| (c * CHUNK + i + 1, inv))
            .collect();
        import(&app, &who, rows, ImportMode::Generated, true).unwrap();
    }
    app.store.flush().unwrap();
    eprintln!("fapiao loaded in {:.1} s", started.elapsed().as_secs_f64());
    let started = Instant::now();
    let c = load_sqlite(&dir.path().join("sqlite.db"), &invoices);
    eprintln!("sqlite loaded in {:.1} s", started.elapsed().as_secs_f64());
    drop(invoices);

    // Same answers.
    let f = fapiao_answer(&app, &buyer);
    let s = sqlite_answer(&c, &buyer);
    assert_eq!(f.0, s.0, "tables differ");
    assert_eq!(f.1, s.1, "exception lists differ");
    let total = f.0.certified_total();
    eprintln!(
        "table agrees: {} certified, ¥{}, tax ¥{}; {} exceptions (first page of {} compared)",
        total.count,
        total.amount,
        total.tax,
        f.0.exception_keys.len(),
        f.1.len()
    );

    let mut ft = Vec::new();
    let mut st = Vec::new();
    for _ in 0..a.runs {
        let t = Instant::now();
        std::hint::black_box(fapiao_answer(&app, &buyer));
        ft.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        std::hint::black_box(sqlite_answer(&c, &buyer));
        st.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    // The cached answer: what the service returns on a repeated request.
    let period = TaxPeriod::parse(PERIOD).unwrap();
    fapiao::service::portal::statistics::tally(&app, &who, &buyer, period).unwrap();
    let mut ct = Vec::new();
    for _ in 0..a.runs.max(20) {
        let t = Instant::now();
        let c = fapiao::service::portal::statistics::tally(&app, &who, &buyer, period).unwrap();
        let rows = c.cached.figures().rows();
        ct.push(t.elapsed().as_secs_f64() * 1e6);
        assert!(c.from_cache);
        assert_eq!(rows, f.0.rows());
        assert_eq!(c.cached.exception_count, f.0.exception_keys.len() as u64);
    }
    let (fm, sm, cu) = (median(ft), median(st), median(ct));
    println!(
        "{}",
        serde_json::json!({
            "invoices": a.invoices,
            "fapiao_ms": (fm * 100.0).round() / 100.0,
            "sqlite_ms": (sm * 100.0).round() / 100.0,
            "ratio": ((fm / sm) * 1000.0).round() / 1000.0,
            "cached_us": (cu * 10.0).round() / 10.0,
        })
    );
}
