//! Random operation sequences through the services (selections for every 勾选用途 — 抵扣 with
//! a lowered 有效税额, 不抵扣, 退税, 代办退税 — confirmations per use with each answer, status
//! changes, scans, declarations, the clock, rollback): after every step the integrity check
//! finds every cached 抵扣统计 table, and the index pipeline's where none is cached, equal to a
//! recomputation from the raw records — so no operation leaves a stale cache behind, and both
//! computations agree on every use.

use std::sync::Arc;

use fapiao::config::Settings;
use fapiao::domain::engine::SelectionRow;
use fapiao::domain::rules::DeclarationAnswer;
use fapiao::domain::{
    DeclarationStatus, Fen, Invoice, InvoiceKey, InvoiceStatus, InvoiceType, InvoiceUse,
    NoDeductReason, RefundRegistration, SelectionState, TaxPeriod, TaxpayerId, UseRequest,
};
use fapiao::service::App;
use proptest::prelude::*;

use crate::helpers::*;
use fapiao::service::{office, portal, settle};

const CODE: &str = "3500261132";
const N: u32 = 16;

#[derive(Debug, Clone)]
enum Op {
    Select(Vec<u32>),
    /// Select for `InvoiceUse::ALL[use]`; 抵扣 of `share` tenths of the tax (10: in full).
    SelectFor(Vec<u32>, usize, i64),
    Confirm(u8, usize),
    Status(u32, u8),
    Scan(u32, bool),
    Refresh,
    Declare(u8),
    Advance(u32),
    Rollback,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => proptest::collection::vec(1..=N, 1..5).prop_map(Op::Select),
        3 => (proptest::collection::vec(1..=N, 1..4), 0usize..4, 1i64..=10)
            .prop_map(|(ns, u, share)| Op::SelectFor(ns, u, share)),
        4 => (0u8..3, 0usize..4).prop_map(|(a, u)| Op::Confirm(a, u)),
        2 => (1..=N, 0u8..5).prop_map(|(n, s)| Op::Status(n, s)),
        2 => (1..=N, any::<bool>()).prop_map(|(n, prev)| Op::Scan(n, prev)),
        1 => Just(Op::Refresh),
        1 => (0u8..3).prop_map(Op::Declare),
        2 => (1u32..20).prop_map(Op::Advance),
        1 => Just(Op::Rollback),
    ]
}

fn key(n: u32) -> InvoiceKey {
    InvoiceKey::parse(CODE, &format!("{n:08}")).unwrap()
}

fn open(dir: &std::path::Path) -> Arc<App> {
    let settings = Settings {
        data_dir: dir.to_path_buf(),
        training: true,
        log_format: "pretty".into(),
        ..Settings::default()
    };
    let app = App::open(settings).unwrap();
    seed(&app, Some("2026-10-20T09:00:00+08:00"));
    let who = app.system("test");
    let a = TaxpayerId::parse(TAXPAYER_A).unwrap();
    let kinds = [
        InvoiceType::Special,
        InvoiceType::Freight,
        InvoiceType::MotorVehicle,
    ];
    let invoices: Vec<Invoice> = (1..=N)
        .map(|n| Invoice {
            key: key(n),
            kind: kinds[(n % 3) as usize],
            issued_on: chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap()
                + chrono::Days::new(u64::from(n) * 3),
            seller_id: TaxpayerId::parse("91330100716105852F").unwrap(),
            seller_name: "杭州宏远信息技术有限公司".into(),
            buyer_id: a.clone(),
            amount: Fen::new(1_000 * i64::from(n)),
            tax: Fen::new(130 * i64::from(n)),
            status: InvoiceStatus::Normal,
            selection: SelectionState::Unselected,
            audit: None,
            usage: None,
        })
        .collect();
    fapiao::service::office::invoices::import(
        &app,
        &who,
        invoices.into_iter().enumerate().collect(),
        fapiao::service::office::invoices::ImportMode::Office,
        false,
    )
    .unwrap();
    // An exporter and 外贸综合服务企业: every use is allowed.
    let c = settle::ctx(&app, &who);
    app.store
        .write(&who, |tx| {
            fapiao::domain::engine::set_registration(
                tx,
                &c,
                &a,
                RefundRegistration {
                    exporter: true,
                    trade_service: true,
                },
            )
        })
        .unwrap();
    app
}

fn who(app: &App) -> fapiao::store::Who {
    let mut w = app.system("test");
    w.actor = fapiao::domain::Actor::Taxpayer {
        id: TaxpayerId::parse(TAXPAYER_A).unwrap(),
    };
    w
}

fn step(app: &App, op: &Op) {
    let a = TaxpayerId::parse(TAXPAYER_A).unwrap();
    let w = who(app);
    let office = app.system("office");
    let cur = settle::settled(app, &w, &a).unwrap().current_period;
    // Refusals are part of the game; what matters is what is left behind.
    let _ = match op {
        Op::Select(ns) => {
            let keys: Vec<_> = ns.iter().map(|n| key(*n)).collect();
            portal::selection::select(app, &w, &a, &keys, &[]).map(|_| ())
        }
        Op::SelectFor(ns, u, share) => {
            let use_ = InvoiceUse::ALL[*u];
            let rows: Vec<SelectionRow> = ns
                .iter()
                .map(|n| {
                    let request = UseRequest {
                        use_: Some(use_),
                        // 130 fen per n of tax: share tenths of it.
                        effective_tax: (use_ != InvoiceUse::NoDeduct && *share < 10)
                            .then(|| Fen::new(130 * i64::from(*n) * share / 10)),
                        reason: (use_ == InvoiceUse::NoDeduct).then_some(NoDeductReason::Welfare),
                        reason_text: None,
                    };
                    SelectionRow::Select(key(*n), request)
                })
                .collect();
            portal::selection::select_rows(app, &w, &a, &rows).map(|_| ())
        }
        Op::Confirm(answer, u) => {
            portal::confirmation::make_batch(app, &w, &a, InvoiceUse::ALL[*u]).and_then(|b| {
                let answer = [
                    DeclarationAnswer::NotDeclared,
                    DeclarationAnswer::Declared,
                    DeclarationAnswer::Unsure,
                ][usize::from(*answer)];
                portal::confirmation::submit(
                    app,
                    &w,
                    &a,
                    b.batch.period,
                    b.batch.number,
                    Some(answer),
                )
                .map(|_| ())
            })
        }
        Op::Status(n, s) => {
            let status = [
                InvoiceStatus::Normal,
                InvoiceStatus::Voided,
                InvoiceStatus::RedReversed,
                InvoiceStatus::OutOfControl,
                InvoiceStatus::Abnormal,
            ][usize::from(*s)];
            office::invoices::change_status(app, &office, &[key(*n)], status).map(|_| ())
        }
        Op::Scan(n, prev) => {
            let p = if *prev { cur.prev() } else { cur };
            let line = serde_json::json!({
                "code": CODE, "number": format!("{n:08}"),
                "scanned_on": office.now.date_naive().to_string(), "period": p.to_string(),
            });
            office::statistics::import_scans(app, &office, line.to_string().as_bytes()).map(|_| ())
        }
        Op::Refresh => office::statistics::apply_scans(app, &office).map(|_| ()),
        Op::Declare(s) => office::declarations::record_declaration(
            app,
            &office,
            &a,
            cur,
            [
                DeclarationStatus::Declared,
                DeclarationStatus::NotDeclared,
                DeclarationStatus::Unknown,
            ][usize::from(*s)],
        )
        .map(|_| ()),
        Op::Advance(days) => {
            let to = app.clock.now() + chrono::Duration::days(i64::from(*days));
            app.clock.set(&app.store, &office, Some(to)).unwrap();
            settle::settle_all(app, &app.system("period")).map(|_| ())
        }
        Op::Rollback => portal::profile::rollback(app, &w, &a).map(|_| ()),
    };
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    #[test]
    fn cached_statistics_always_equal_a_recomputation(ops in proptest::collection::vec(op(), 1..25)) {
        let dir = tempfile::tempdir().unwrap();
        let app = open(dir.path());
        let a = TaxpayerId::parse(TAXPAYER_A).unwrap();
        let periods_of_interest: Vec<TaxPeriod> =
            ["202609", "202610", "202611", "202612", "202701"].iter().map(|p| TaxPeriod::parse(p).unwrap()).collect();
        for o in &ops {
            // Fill the caches, act, then check what the caches say against the records.
            for p in &periods_of_interest {
                portal::statistics::tally(&app, &who(&app), &a, *p).unwrap();
            }
            step(&app, o);
            let (n, diffs) = office::statistics::check(&app).unwrap();
            prop_assert!(diffs.is_empty(), "after {:?}: {:?} ({} cached)", o, diffs, n);
        }
    }
}
