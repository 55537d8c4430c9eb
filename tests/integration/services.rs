//! The store and services without HTTP: audited atomic writes, import all-or-nothing and
//! idempotence, schema version, the demo generator.

use chrono::NaiveDate;
use fapiao::domain::{
    Fen, Invoice, InvoiceKey, InvoiceStatus, InvoiceType, SelectionState, TaxPeriod, TaxpayerId,
};
use fapiao::error::Code;
use fapiao::service::office::invoices::import;
use fapiao::service::office::invoices::ImportMode;
use fapiao::store::prelude::*;
use fapiao::store::AuditFilter;
use fapiao::store::{Store, StoreError, Who};

use crate::helpers::*;

fn invoice(code: &str, number: &str, amount: i64) -> Invoice {
    Invoice {
        key: InvoiceKey::parse(code, number).unwrap(),
        kind: InvoiceType::Special,
        issued_on: NaiveDate::from_ymd_opt(2026, 10, 8).unwrap(),
        seller_id: TaxpayerId::parse(TAXPAYER_B).unwrap(),
        seller_name: "深圳恒通物流有限公司".into(),
        buyer_id: TaxpayerId::parse(TAXPAYER_A).unwrap(),
        amount: Fen::new(amount),
        tax: Fen::tax_at_rate(Fen::new(amount), 130),
        status: InvoiceStatus::Normal,
        selection: SelectionState::Selected {
            period: TaxPeriod::parse("202610").unwrap(),
        },
        audit: None,
        usage: None,
    }
}

fn lines(v: Vec<Invoice>) -> Vec<(usize, Invoice)> {
    v.into_iter().enumerate().map(|(i, x)| (i + 1, x)).collect()
}

#[test]
fn a_write_without_audit_entry_is_refused_and_leaves_nothing() {
    let app = spawn_app(Opts::default());
    let who = app.app.system("test");
    let before = app.app.store.read().unwrap().invoice_count().unwrap();
    let err = app
        .app
        .store
        .write(&who, |tx| {
            tx.put_invoices([&invoice("3500261130", "00000001", 1000)])?;
            Ok(())
        })
        .unwrap_err();
    assert_eq!(err.code, Code::Internal);
    assert_eq!(
        app.app.store.read().unwrap().invoice_count().unwrap(),
        before
    );
}

#[test]
fn import_is_all_or_nothing_idempotent_and_rejects_conflicts() {
    let app = spawn_app(Opts::default());
    let who = app.app.system("test");
    let good = vec![
        invoice("3500261130", "00000001", 100_000),
        invoice("3500261130", "00000002", 250_000),
    ];
    // One bad row (tax above amount) rejects the whole batch, naming the line.
    let mut bad = good.clone();
    let mut wrong = invoice("3500261130", "00000003", 100);
    wrong.tax = Fen::new(5000);
    bad.push(wrong);
    let err = import(&app.app, &who, lines(bad), ImportMode::Office, false).unwrap_err();
    assert_eq!(err.code, Code::InvalidValue);
    assert_eq!(err.extra["rejected"][0]["line"], 3);
    assert_eq!(app.app.store.read().unwrap().invoice_count().unwrap(), 0);

    let r = import(
        &app.app,
        &who,
        lines(good.clone()),
        ImportMode::Office,
        false,
    )
    .unwrap();
    assert_eq!((r.imported, r.unchanged), (2, 0));
    // The office import ignores the incoming selection state.
    let stored = app
        .app
        .store
        .read()
        .unwrap()
        .invoice(&good[0].key)
        .unwrap()
        .unwrap();
    assert_eq!(stored.selection, SelectionState::Unselected);
    // Identical re-import: a no-op.
    let r = import(
        &app.app,
        &who,
        lines(good.clone()),
        ImportMode::Office,
        false,
    )
    .unwrap();
    assert_eq!((r.imported, r.unchanged), (0, 2));
    // Same key, different content: rejected, nothing changes.
    let conflict = vec![
        invoice("3500261130", "00000009", 1),
        invoice("3500261130", "00000001", 999),
    ];
    let err = import(&app.app, &who, lines(conflict), ImportMode::Office, false).unwrap_err();
    assert_eq!(err.extra["rejected"][0]["line"], 2);
    assert_eq!(app.app.store.read().unwrap().invoice_count().unwrap(), 2);
    // Duplicates inside one file are caught too.
    let dup = vec![
        invoice("3500261130", "00000005", 1),
        invoice("3500261130", "00000005", 1),
    ];
    assert!(import(&app.app, &who, lines(dup), ImportMode::Office, false).is_err());
    // Every successful import left an audit entry.
    let (_, entries) = app
        .app
        .store
        .read()
        .unwrap()
        .audit_entries(&AuditFilter {
            limit: 100,
            ..AuditFilter::default()
        })
        .unwrap();
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.action == "invoice.import")
            .count(),
        2
    );
}

#[test]
fn a_newer_schema_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.redb");
    drop(Store::open(&path, false).unwrap());
    {
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let def: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
            let mut t = txn.open_table(def).unwrap();
            t.insert("schema_version", 99u32.to_le_bytes().as_slice())
                .unwrap();
        }
        txn.commit().unwrap();
    }
    match Store::open(&path, false) {
        Err(e @ StoreError::TooNew { found: 99, .. }) => {
            assert!(e.to_string().contains("请升级"), "{e}");
        }
        other => panic!("expected TooNew, got {other:?}"),
    }
}

#[test]
fn read_only_store_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.redb");
    drop(Store::open(&path, false).unwrap());
    let store = Store::open(&path, true).unwrap();
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-23T10:00:00+08:00").unwrap();
    let err = store
        .write(&Who::system("t", now), |tx| {
            tx.audit("x", "y", "");
            Ok(())
        })
        .unwrap_err();
    assert_eq!(err.code, Code::ReadOnly);
}

fn demo_app(seed: u64, n: u64) -> (TestApp, fapiao::demo::Summary) {
    let app = spawn_app(Opts::default());
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-23T10:00:00+08:00").unwrap();
    let who = Who::system("demo", now);
    // The helper registered four taxpayers; the demo adds five training taxpayers of its own.
    let s = fapiao::demo::generate(&app.app, &who, n, seed, false).unwrap();
    (app, s)
}

#[test]
fn demo_dataset_is_deterministic_and_realistic() {
    let (a, sa) = demo_app(7, 3000);
    let (b, sb) = demo_app(7, 3000);
    let (_c, sc) = demo_app(8, 3000);
    assert_eq!(sa.taxpayers, sb.taxpayers);
    assert!(sa.sellers >= 200);
    let ra = a.app.store.read().unwrap();
    let rb = b.app.store.read().unwrap();
    let mut total = 0usize;
    let mut counts = Vec::new();
    for (id, _, _) in &sa.taxpayers {
        let ia = ra.invoices_of(id).unwrap();
        assert_eq!(ia, rb.invoices_of(id).unwrap(), "same seed, same data");
        total += ia.len();
        counts.push(ia.len());
    }
    assert_eq!(total, 3000);
    assert_ne!(sa.taxpayers, sc.taxpayers, "another seed, other data");
    assert!(
        counts[0] * 10 >= total * 3,
        "large taxpayer holds at least 30%: {counts:?}"
    );

    let all: Vec<Invoice> = sa
        .taxpayers
        .iter()
        .flat_map(|(id, _, _)| ra.invoices_of(id).unwrap())
        .collect();
    let share =
        |f: &dyn Fn(&Invoice) -> bool| all.iter().filter(|i| f(i)).count() * 100 / all.len();
    assert!(share(&|i| i.status == InvoiceStatus::Normal) >= 90);
    assert!(all.iter().any(|i| i.status == InvoiceStatus::Voided));
    assert!(all
        .iter()
        .any(|i| i.kind == InvoiceType::MotorVehicle && i.key.code_or_dash().len() == 12));
    assert!(all
        .iter()
        .any(|i| matches!(i.selection, SelectionState::Scanned { .. })));
    assert!(all
        .iter()
        .any(|i| matches!(i.selection, SelectionState::Selected { .. })));
    assert!(share(&|i| matches!(i.selection, SelectionState::Confirmed { .. })) >= 50);
    // Every kind of document, 数电票 the most common since December 2024, 缴款书 with their
    // 稽核比对 result (and selected only when 相符).
    for k in InvoiceType::ALL {
        assert!(all.iter().any(|i| i.kind == k), "no {k} in the demo");
    }
    let recent: Vec<&Invoice> = all
        .iter()
        .filter(|i| i.issued_on >= chrono::NaiveDate::from_ymd_opt(2024, 12, 1).unwrap())
        .collect();
    let digital = recent.iter().filter(|i| i.kind.is_digital()).count();
    assert!(digital * 2 > recent.len(), "{digital} of {}", recent.len());
    for i in &all {
        assert_eq!(i.kind == InvoiceType::Customs, i.audit.is_some(), "{i:?}");
        if i.audit
            .is_some_and(|a| a != fapiao::domain::CustomsAudit::Match)
        {
            assert_eq!(i.selection, SelectionState::Unselected, "{i:?}");
        }
    }
    // Tax is at one of 13/9/6/3 % of the amount (农产品: none on the face, it is computed).
    for i in all.iter().filter(|i| i.kind != InvoiceType::Agricultural) {
        assert!(
            [130, 90, 60, 30]
                .iter()
                .any(|r| Fen::tax_at_rate(i.amount, *r) == i.tax),
            "{i:?}"
        );
    }
    // Every confirmed invoice is in a submitted batch with matching totals.
    for (id, _, _) in &sa.taxpayers {
        let t = ra.taxpayer(id).unwrap().unwrap();
        let invoices = ra.invoices_of(id).unwrap();
        let mut p = t.current_period.add_months(-18);
        while p <= t.current_period {
            for batch in ra.batches(id, p).unwrap() {
                let members: Vec<&Invoice> = invoices
                    .iter()
                    .filter(|i| matches!(i.selection, SelectionState::Confirmed { period, batch: n, .. } if period == p && n == batch.number))
                    .collect();
                assert_eq!(members.len() as u64, batch.count);
                assert_eq!(members.iter().map(|i| i.tax).sum::<Fen>(), batch.tax);
            }
            p = p.next();
        }
        // Past periods are declared.
        assert_eq!(
            ra.declaration(id, t.current_period.prev()).unwrap(),
            Some(fapiao::domain::DeclarationStatus::Declared)
        );
    }
}

/// The 发票勾选 and 未到期 queries as the HTTP worker runs them (`Wait::Not`): the same page as
/// the query that may wait, and a stop — writing nothing — where the taxpayer must be settled
/// or the index caught up with the store first; the query that may wait then does it.
#[test]
fn a_query_that_must_not_wait_stops_before_a_write_and_agrees_otherwise() {
    use fapiao::domain::query::RawConditions;
    use fapiao::service::listing::Wait;
    use fapiao::service::portal::query::{not_yet_due_as, NotYetDueRaw};
    use fapiao::service::portal::selection::query_as;

    let t = spawn_app(Opts {
        clock: Some("2026-10-20T10:00:00+08:00"),
        ..Opts::default()
    });
    let app = &t.app;
    let buyer = TaxpayerId::parse(TAXPAYER_A).unwrap();
    let mut who = app.system("test");
    who.actor = fapiao::domain::Actor::Taxpayer { id: buyer.clone() };
    let rows = vec![
        invoice("3500261130", "00000001", 100_000),
        invoice("3500261130", "00000002", 250_000),
    ];
    import(app, &who, lines(rows), ImportMode::Office, false).unwrap();
    let raw = RawConditions {
        issued_from: Some("2026-10-01".into()),
        issued_to: Some("2026-10-20".into()),
        ..RawConditions::default()
    };
    let page = |who: &Who, wait| {
        query_as(app, who, &buyer, &raw, wait)
            .unwrap()
            .map(|p| serde_json::to_value(p).unwrap())
    };

    // Settled and in step: the same answer either way.
    let waited = page(&who, Wait::Allowed).unwrap();
    assert_eq!(waited["total"], 2);
    assert_eq!(page(&who, Wait::Not), Some(waited));

    // A change the index has not applied yet (its listener away for the commit, as when a
    // group's changes are not yet synced or after a crash): stop, and leave the index
    // behind; the query that may wait catches it up and sees the change.
    struct Away;
    impl fapiao::store::ChangeSink for Away {
        fn invoices_changed(&self, _: &[Invoice], _: &[Invoice], _: u64) {}
    }
    let mut late = invoice("3500261130", "00000003", 50_000);
    late.selection = SelectionState::Unselected;
    app.store.set_sink(std::sync::Arc::new(Away));
    app.store
        .write(&who, |tx| {
            tx.put_invoices([&late])?;
            tx.audit("test.put", "3500261130-00000003", "");
            Ok(())
        })
        .unwrap();
    app.store.set_sink(app.index.clone());
    assert!(!app.index.in_step(&app.store).unwrap());
    assert_eq!(page(&who, Wait::Not), None);
    assert!(!app.index.in_step(&app.store).unwrap());
    assert_eq!(page(&who, Wait::Allowed).unwrap()["total"], 3);
    assert!(app.index.in_step(&app.store).unwrap());
    assert!(page(&who, Wait::Not).is_some());

    // Two months on the window of 202610 has closed: stop before settling, with the taxpayer
    // and the audit log as they were; the query that may wait settles.
    let mut later = who.clone();
    later.now = chrono::DateTime::parse_from_rfc3339("2026-12-20T10:00:00+08:00").unwrap();
    later.wall = later.now;
    let audit_len = || {
        app.store
            .read()
            .unwrap()
            .audit_entries(&AuditFilter {
                limit: 1000,
                ..AuditFilter::default()
            })
            .unwrap()
            .1
            .len()
    };
    let (before, entries) = (
        app.store.read().unwrap().taxpayer(&buyer).unwrap().unwrap(),
        audit_len(),
    );
    assert_eq!(page(&later, Wait::Not), None);
    let due = NotYetDueRaw::default();
    assert!(not_yet_due_as(app, &later, &buyer, &due, Wait::Not)
        .unwrap()
        .is_none());
    let unchanged = app.store.read().unwrap().taxpayer(&buyer).unwrap().unwrap();
    assert_eq!(unchanged.current_period, before.current_period);
    assert_eq!(audit_len(), entries);
    assert!(page(&later, Wait::Allowed).is_some());
    let settled = app.store.read().unwrap().taxpayer(&buyer).unwrap().unwrap();
    assert!(settled.current_period > before.current_period);
    assert!(page(&later, Wait::Not).is_some());
    assert!(not_yet_due_as(app, &later, &buyer, &due, Wait::Not)
        .unwrap()
        .is_some());
}
