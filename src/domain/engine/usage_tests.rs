//! 进项税额转出 on plain data: what is recorded (the 有效税额 the invoice deducted), and each
//! refusal — 正常 invoices, 不抵扣 confirmations, a second transfer, another period.

use crate::domain::engine::memory::MemoryBook;
use crate::domain::engine::tests::{at, ctx, day, invoice, key, keys, me, other, taxpayer, tp};
use crate::domain::engine::*;
use crate::domain::{
    Actor, Fen, InvoiceChange, InvoiceStatus, InvoiceUse, NoDeductReason, SelectionState,
    TransferRefusal, UseRequest,
};

/// A taxpayer in 202611 with invoices 1..=4 of November 2026 (tax 1,300 × n fen each) and
/// one of another buyer (9).
fn world() -> MemoryBook {
    let mut b = MemoryBook::default();
    b.put_taxpayer(&taxpayer(me(), tp("202611"))).unwrap();
    b.put_taxpayer(&taxpayer(other(), tp("202611"))).unwrap();
    for n in 1..=4 {
        b.put_invoice(&invoice(n, me(), day(2026, 11, n))).unwrap();
    }
    b.put_invoice(&invoice(9, other(), day(2026, 11, 9)))
        .unwrap();
    b
}

/// Selects `rows` and confirms them (one batch of `use_`), on 2026-11-23.
fn confirm(b: &mut MemoryBook, rows: Vec<SelectionRow>, use_: InvoiceUse) {
    let c = ctx(at(2026, 11, 23, 10, 0, 0));
    let r = save_rows(b, &c, &me(), &rows).unwrap();
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    let o = make_batch(b, &c, &me(), use_).unwrap();
    submit(b, &c, &me(), tp("202611"), o.batch.number, None).unwrap();
}

fn office() -> Ctx {
    Ctx {
        actor: Actor::Staff {
            username: "operator".into(),
        },
        ..ctx(at(2026, 11, 24, 9, 0, 0))
    }
}

fn refusals(r: &TransferReport) -> Vec<(usize, TransferRefusal)> {
    r.rejected.iter().map(|(i, _, x)| (*i, *x)).collect()
}

#[test]
fn a_confirmed_invoice_that_became_out_of_control_transfers_its_effective_tax() {
    let mut b = world();
    // Invoice 1 with a lowered 有效税额 (1,000 of 1,300), invoice 2 with the face tax.
    let lowered = UseRequest {
        effective_tax: Some(Fen::new(1_000)),
        ..UseRequest::deduct()
    };
    confirm(
        &mut b,
        vec![
            SelectionRow::Select(key(1), lowered),
            SelectionRow::Select(key(2), UseRequest::deduct()),
        ],
        InvoiceUse::Deduct,
    );
    change_status(&mut b, &office(), &key(1), InvoiceStatus::OutOfControl).unwrap();
    change_status(&mut b, &office(), &key(2), InvoiceStatus::RedReversed).unwrap();
    let c = ctx(at(2026, 11, 25, 10, 0, 0));
    let r = record_transfers_out(&mut b, &c, &me(), tp("202611"), &keys(&[1, 2])).unwrap();
    assert_eq!(r.rejected, vec![]);
    assert_eq!(r.tax, Fen::new(1_000 + 2_600));
    let recorded: Vec<_> = r
        .recorded
        .iter()
        .map(|t| (t.key.clone(), t.tax, t.status, t.period))
        .collect();
    assert_eq!(
        recorded,
        vec![
            (
                key(1),
                Fen::new(1_000),
                InvoiceStatus::OutOfControl,
                tp("202611")
            ),
            (
                key(2),
                Fen::new(2_600),
                InvoiceStatus::RedReversed,
                tp("202611")
            ),
        ]
    );
    // Kept in the book, in the invoice's history, and audited once.
    assert_eq!(b.transfers[&key(1).to_u128()].tax, Fen::new(1_000));
    let last = b.events[&key(1).to_u128()].last().unwrap();
    assert_eq!(
        last.change,
        InvoiceChange::TransferredOut {
            period: tp("202611"),
            tax: Fen::new(1_000)
        }
    );
    assert_eq!(b.audits.last().unwrap().0, "transfer_out.record");
    // The invoice itself stays certified.
    assert!(matches!(
        b.invoices[&key(1).to_u128()].selection,
        SelectionState::Confirmed { .. }
    ));
}

#[test]
fn a_normal_invoice_needs_no_transfer() {
    let mut b = world();
    confirm(
        &mut b,
        vec![SelectionRow::Select(key(1), UseRequest::deduct())],
        InvoiceUse::Deduct,
    );
    let c = ctx(at(2026, 11, 25, 10, 0, 0));
    // 1: confirmed but 正常; 3: 失控 but never certified.
    change_status(&mut b, &office(), &key(3), InvoiceStatus::OutOfControl).unwrap();
    let r = record_transfers_out(&mut b, &c, &me(), tp("202611"), &keys(&[1, 3])).unwrap();
    assert_eq!(
        refusals(&r),
        vec![
            (0, TransferRefusal::NotRequired),
            (1, TransferRefusal::NotRequired)
        ]
    );
    assert!(r.recorded.is_empty());
    assert_eq!(r.tax, Fen::ZERO);
    assert!(b.transfers.is_empty());
}

#[test]
fn an_invoice_is_transferred_once() {
    let mut b = world();
    confirm(
        &mut b,
        vec![SelectionRow::Select(key(3), UseRequest::deduct())],
        InvoiceUse::Deduct,
    );
    change_status(&mut b, &office(), &key(3), InvoiceStatus::Abnormal).unwrap();
    let c = ctx(at(2026, 11, 25, 10, 0, 0));
    let first = record_transfers_out(&mut b, &c, &me(), tp("202611"), &keys(&[3])).unwrap();
    assert_eq!(first.tax, Fen::new(3_900));
    let events = b.events[&key(3).to_u128()].len();
    // Again, alone and twice in one request, plus an unknown and another buyer's invoice.
    let again =
        record_transfers_out(&mut b, &c, &me(), tp("202611"), &keys(&[3, 3, 77, 9])).unwrap();
    assert_eq!(
        refusals(&again),
        vec![
            (0, TransferRefusal::AlreadyTransferred(tp("202611"))),
            (1, TransferRefusal::DuplicateRow),
            (2, TransferRefusal::UnknownInvoice),
            (3, TransferRefusal::UnknownInvoice),
        ]
    );
    assert!(again.recorded.is_empty());
    assert_eq!(b.transfers.len(), 1);
    assert_eq!(b.events[&key(3).to_u128()].len(), events);
}

#[test]
fn only_the_current_period_takes_a_transfer() {
    let mut b = world();
    confirm(
        &mut b,
        vec![SelectionRow::Select(key(1), UseRequest::deduct())],
        InvoiceUse::Deduct,
    );
    change_status(&mut b, &office(), &key(1), InvoiceStatus::Voided).unwrap();
    let c = ctx(at(2026, 11, 25, 10, 0, 0));
    let before = b.clone();
    for p in ["202610", "202612"] {
        match record_transfers_out(&mut b, &c, &me(), tp(p), &keys(&[1])) {
            Err(Refusal::Invalid(e)) => {
                assert_eq!(e.field, "period");
                assert!(e.message.contains("2026年11月"), "{}", e.message);
            }
            other => panic!("{p}: {other:?}"),
        }
    }
    // Nothing to transfer is refused too.
    assert!(matches!(
        record_transfers_out(&mut b, &c, &me(), tp("202611"), &[]),
        Err(Refusal::Invalid(_))
    ));
    assert!(b.transfers.is_empty());
    assert_eq!(b.events, before.events);
}

#[test]
fn a_no_deduct_confirmation_needs_no_transfer() {
    let mut b = world();
    let no_deduct = UseRequest {
        use_: Some(InvoiceUse::NoDeduct),
        reason: Some(NoDeductReason::Welfare),
        ..UseRequest::default()
    };
    confirm(
        &mut b,
        vec![SelectionRow::Select(key(4), no_deduct)],
        InvoiceUse::NoDeduct,
    );
    assert!(matches!(
        b.invoices[&key(4).to_u128()].selection,
        SelectionState::Confirmed { .. }
    ));
    change_status(&mut b, &office(), &key(4), InvoiceStatus::OutOfControl).unwrap();
    let c = ctx(at(2026, 11, 25, 10, 0, 0));
    let r = record_transfers_out(&mut b, &c, &me(), tp("202611"), &keys(&[4])).unwrap();
    assert_eq!(refusals(&r), vec![(0, TransferRefusal::NotRequired)]);
    assert!(b.transfers.is_empty());
}
