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
use crate::store::{Store, Who};

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
        for o in ops {
            let snapshot = model.clone();
            let m = step(&mut model, &o, &mut now_model);
            if m.is_err() {
                model = snapshot;
            }
            let s = store.write(&Who::system("test", now_store), |tx| {
                let r = step(tx, &o, &mut now_store);
                tx.audit("test.step", "", format!("{o:?}"));
                r
            });
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
