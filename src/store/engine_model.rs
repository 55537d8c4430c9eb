//! The store as an engine [`Book`](crate::domain::engine::Book), checked against the
//! in-memory model: the same random operation sequences run on both, one redb write
//! transaction per operation (a refused one aborts), and after every step the invoices,
//! batches, taxpayers, histories and the table of selected invoices agree.

use proptest::prelude::*;

use crate::domain::engine::memory::MemoryBook;
use crate::domain::engine::tests::{at, big_world, op, step};
use crate::domain::engine::{self};
use crate::domain::{SelectionState, TaxPeriod};
use crate::store::prelude::*;
use crate::store::{AuditFilter, Store, Who};

fn load(store: &Store, model: &MemoryBook, who: &Who) {
    store
        .write(who, |tx| {
            for t in model.taxpayers.values() {
                tx.put_taxpayer(t)?;
            }
            tx.put_invoices(model.invoices.values())?;
            tx.audit("test.load", "", "");
            Ok(())
        })
        .unwrap();
}

fn compare(store: &Store, model: &MemoryBook) {
    let r = store.read().unwrap();
    for (k, inv) in &model.invoices {
        let got = r.invoice(&inv.key).unwrap().unwrap();
        assert_eq!(&got, inv, "invoice {k}");
        let events = r.invoice_events(&inv.key).unwrap();
        assert_eq!(events, model.events.get(k).cloned().unwrap_or_default());
    }
    for t in model.taxpayers.values() {
        assert_eq!(r.taxpayer(&t.id).unwrap().as_ref(), Some(t));
        // The selected table matches the invoices.
        let mut want: Vec<_> = model
            .invoices
            .values()
            .filter(|i| {
                i.buyer_id == t.id && matches!(i.selection, SelectionState::Selected { .. })
            })
            .map(|i| i.key.clone())
            .collect();
        want.sort();
        let mut got = engine::Ledger::selected(&r, &t.id, None).unwrap();
        got.sort();
        assert_eq!(got, want);
        // The selected table keeps each selection's period and use.
        let mut want = engine::Ledger::selected_uses(model, &t.id).unwrap();
        want.sort();
        let mut got = engine::Ledger::selected_uses(&r, &t.id).unwrap();
        got.sort();
        assert_eq!(got, want);
        assert_eq!(
            engine::Ledger::registration(&r, &t.id).unwrap(),
            engine::Ledger::registration(model, &t.id).unwrap()
        );
        let want: Vec<_> = model
            .transfers
            .values()
            .filter(|x| x.taxpayer == t.id)
            .cloned()
            .collect();
        let mut got = r.transfers_out(&t.id).unwrap();
        got.sort_by_key(|x| x.key.to_u128());
        assert_eq!(got, want);
        for p in [
            "202609", "202610", "202611", "202612", "202701", "202702", "202703",
        ] {
            let p = TaxPeriod::parse(p).unwrap();
            let want: Vec<_> = model
                .batches
                .values()
                .filter(|b| b.taxpayer == t.id && b.period == p)
                .cloned()
                .collect();
            assert_eq!(r.batches(&t.id, p).unwrap(), want);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, .. ProptestConfig::default() })]

    #[test]
    fn the_store_behaves_like_the_model(ops in proptest::collection::vec(op(), 1..30)) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("fapiao.redb"), false).unwrap();
        let mut model = big_world();
        let start = at(2026, 10, 20, 9, 0, 0);
        let who = Who::system("test", start);
        load(&store, &model, &who);
        let (mut now_model, mut now_store) = (start, start);
        let mut grouped = false;
        for o in ops {
            let snapshot = model.clone();
            let m = step(&mut model, &o, &mut now_model);
            if m.is_err() {
                model = snapshot;
            }
            // Every other operation goes through group commit (`write_grouped`), as selection
            // saves do: the same outcome, in a transaction another writer may run.
            let s = if grouped {
                let clock = std::sync::Arc::new(std::sync::Mutex::new(now_store));
                let (shared, o) = (clock.clone(), o.clone());
                let s = store.write_grouped(&Who::system("test", now_store), move |tx| {
                    let mut now = *shared.lock().unwrap();
                    let r = step(tx, &o, &mut now);
                    *shared.lock().unwrap() = now;
                    tx.audit("test.step", "", format!("{o:?}"));
                    r
                });
                now_store = *clock.lock().unwrap();
                s
            } else {
                store.write(&Who::system("test", now_store), |tx| {
                    let r = step(tx, &o, &mut now_store);
                    tx.audit("test.step", "", format!("{o:?}"));
                    r
                })
            };
            grouped = !grouped;
            prop_assert_eq!(m.is_ok(), s.is_ok(), "{:?}", o);
            prop_assert_eq!(now_model, now_store);
            compare(&store, &model);
        }
    }
}

#[test]
fn write_if_changed_drops_a_transaction_that_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("fapiao.redb"), false).unwrap();
    let who = Who::system("test", at(2026, 11, 1, 9, 0, 0));
    let model = big_world();
    let t = model.taxpayers.values().next().unwrap().clone();
    // Nothing recorded: dropped, even though it wrote.
    let v = store
        .write_if_changed(&who, |tx| {
            tx.put_taxpayer(&t)?;
            Ok(7)
        })
        .unwrap();
    assert_eq!(v, 7);
    assert!(store.read().unwrap().taxpayer(&t.id).unwrap().is_none());
    // The plain write refuses the same.
    assert!(store
        .write(&who, |tx| {
            tx.put_taxpayer(&t)?;
            Ok(())
        })
        .is_err());
    // Recorded: committed.
    store
        .write_if_changed(&who, |tx| {
            tx.put_taxpayer(&t)?;
            tx.audit("test", "", "");
            Ok(())
        })
        .unwrap();
    assert!(store.read().unwrap().taxpayer(&t.id).unwrap().is_some());
}

#[test]
fn an_invoice_written_twice_reaches_the_index_once_in_its_last_version() {
    use crate::domain::{Invoice, InvoiceStatus};
    use std::sync::{Arc, Mutex};
    #[derive(Default)]
    struct Sink(Mutex<Vec<(Vec<Invoice>, Vec<Invoice>)>>);
    impl crate::store::ChangeSink for Sink {
        fn invoices_changed(&self, new: &[Invoice], updated: &[Invoice], _: u64) {
            self.0
                .lock()
                .unwrap()
                .push((new.to_vec(), updated.to_vec()));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("fapiao.redb"), false).unwrap();
    let sink = Arc::new(Sink::default());
    store.set_sink(sink.clone());
    let who = Who::system("test", at(2026, 11, 1, 9, 0, 0));
    let model = big_world();
    let mut invs: Vec<Invoice> = model.invoices.values().take(2).cloned().collect();
    store
        .write(&who, |tx| {
            tx.put_invoices([&invs[0]])?;
            invs[0].status = InvoiceStatus::Voided;
            tx.put_invoices([&invs[0]])?;
            tx.audit("test", "", "");
            Ok(())
        })
        .unwrap();
    store
        .write(&who, |tx| {
            tx.put_invoices([&invs[0]])?;
            invs[0].status = InvoiceStatus::Abnormal;
            tx.put_invoices([&invs[0], &invs[1]])?;
            invs[0].status = InvoiceStatus::RedReversed;
            tx.put_invoices([&invs[0]])?;
            tx.audit("test", "", "");
            Ok(())
        })
        .unwrap();
    let calls = sink.0.lock().unwrap();
    assert_eq!(calls[0].0.len(), 1);
    assert_eq!(calls[0].0[0].status, InvoiceStatus::Voided);
    assert!(calls[0].1.is_empty());
    // Second: invs[1] is new, invs[0] updated once, last version.
    assert_eq!(calls[1].0.len(), 1);
    assert_eq!(calls[1].1.len(), 1);
    assert_eq!(calls[1].1[0].status, InvoiceStatus::RedReversed);
}

/// A write that holds the group-commit turn until `release` is told, so that the writes
/// started meanwhile queue and run as one group after it. Returns once it is running.
fn hold_the_turn(
    store: &std::sync::Arc<Store>,
    who: Who,
) -> (
    std::sync::mpsc::Sender<()>,
    std::thread::JoinHandle<crate::error::AppResult<()>>,
) {
    let (running_tx, running) = std::sync::mpsc::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let released = std::sync::Mutex::new(released);
    let s = store.clone();
    let first = std::thread::spawn(move || {
        s.write_grouped(&who, move |tx| {
            let _ = running_tx.send(());
            let _ = released.lock().unwrap().recv();
            tx.audit("test.first", "first", "");
            Ok(())
        })
    });
    running.recv().unwrap();
    (release, first)
}

/// Waits until `n` grouped writes are queued behind the one running.
fn until_queued(store: &Store, n: usize) {
    for _ in 0..2000 {
        if store.group_queue_len() >= n {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    panic!("the writes did not queue");
}

#[test]
fn grouped_writes_commit_together_each_under_its_own_name_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(Store::open(&dir.path().join("fapiao.redb"), false).unwrap());
    let start = at(2026, 11, 2, 9, 0, 0);
    let (release, first) = hold_the_turn(&store, Who::system("first", start));
    let writers: Vec<_> = (1..=8i64)
        .map(|i| {
            let s = store.clone();
            std::thread::spawn(move || {
                let who = Who::system(&format!("w{i}"), start + chrono::Duration::minutes(i));
                s.write_grouped(&who, move |tx| {
                    tx.audit("test.grouped", format!("w{i}"), "");
                    Ok(i * 10)
                })
            })
        })
        .collect();
    until_queued(&store, 8);
    release.send(()).unwrap();
    first.join().unwrap().unwrap();
    for (i, w) in (1..=8i64).zip(writers) {
        assert_eq!(w.join().unwrap().unwrap(), i * 10);
    }
    // The eight queued behind the first made one group: two durable transactions in all.
    let g = store.group_stats();
    assert_eq!((g.groups, g.writes), (2, 9));
    let r = store.read().unwrap();
    let (_, entries) = r
        .audit_entries(&AuditFilter {
            limit: 100,
            ..AuditFilter::default()
        })
        .unwrap();
    for i in 1..=8i64 {
        let e = entries
            .iter()
            .find(|e| e.target == format!("w{i}"))
            .unwrap_or_else(|| panic!("no entry of w{i}"));
        assert_eq!(
            e.actor.to_string(),
            Who::system(&format!("w{i}"), start).actor.to_string()
        );
        assert_eq!(e.at, start + chrono::Duration::minutes(i));
    }
}

#[test]
fn a_failing_change_fails_alone_and_the_rest_of_its_group_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(Store::open(&dir.path().join("fapiao.redb"), false).unwrap());
    let start = at(2026, 11, 2, 9, 0, 0);
    let t = big_world().taxpayers.values().next().unwrap().clone();
    let (release, first) = hold_the_turn(&store, Who::system("first", start));
    let writers: Vec<_> = (1..=4i64)
        .map(|i| {
            let (s, t) = (store.clone(), t.clone());
            std::thread::spawn(move || {
                s.write_grouped(&Who::system(&format!("w{i}"), start), move |tx| {
                    tx.audit("test.grouped", format!("w{i}"), "");
                    if i == 3 {
                        // Writes, then fails: none of it may stay.
                        tx.put_taxpayer(&t)?;
                        return Err(crate::error::AppError::new(crate::error::Code::Conflict));
                    }
                    Ok(i)
                })
            })
        })
        .collect();
    until_queued(&store, 4);
    release.send(()).unwrap();
    first.join().unwrap().unwrap();
    for (i, w) in (1..=4i64).zip(writers) {
        let got = w.join().unwrap();
        if i == 3 {
            assert_eq!(got.unwrap_err().code, crate::error::Code::Conflict);
        } else {
            assert_eq!(got.unwrap(), i);
        }
    }
    let r = store.read().unwrap();
    assert!(r.taxpayer(&t.id).unwrap().is_none());
    let (_, entries) = r
        .audit_entries(&AuditFilter {
            limit: 100,
            ..AuditFilter::default()
        })
        .unwrap();
    let mut targets: Vec<&str> = entries
        .iter()
        .filter(|e| e.action == "test.grouped")
        .map(|e| e.target.as_str())
        .collect();
    targets.sort_unstable();
    assert_eq!(targets, ["w1", "w2", "w4"]);
}
