//! 勾选用途 in the engine: selections per use, batches per use, 退税 in the month, the office's
//! registration, and what a later change of 有效税额 does to a pending batch.

use super::memory::MemoryBook;
use super::tests::{at, ctx, key, keys, me, tp, world};
use super::*;
use crate::domain::rules::{DeclarationAnswer, RowRefusal};
use crate::domain::{Fen, InvoiceUse, NoDeductReason, RefundRegistration, UseRequest};

fn row(n: u32, r: UseRequest) -> SelectionRow {
    SelectionRow::Select(key(n), r)
}

fn no_deduct(reason: NoDeductReason) -> UseRequest {
    UseRequest {
        use_: Some(InvoiceUse::NoDeduct),
        reason: Some(reason),
        reason_text: (reason == NoDeductReason::Other).then(|| "赠送客户".into()),
        ..UseRequest::default()
    }
}

fn lowered(tax: i64) -> UseRequest {
    UseRequest {
        effective_tax: Some(Fen::new(tax)),
        ..UseRequest::deduct()
    }
}

fn inv(b: &MemoryBook, n: u32) -> &Invoice {
    &b.invoices[&key(n).to_u128()]
}

fn exporter(b: &mut MemoryBook) {
    let office = Ctx {
        actor: Actor::Staff {
            username: "op".into(),
        },
        ..ctx(at(2026, 11, 20, 9, 0, 0))
    };
    set_registration(
        b,
        &office,
        &me(),
        RefundRegistration {
            exporter: true,
            trade_service: false,
        },
    )
    .unwrap();
}

/// 抵扣 (one with a lowered 有效税额) and 不抵扣 are confirmed in batches of their own, each
/// adding up its own tax, and the history names the use.
#[test]
fn each_use_has_its_batch_and_its_tax() {
    let mut b = world();
    let c = ctx(at(2026, 11, 20, 9, 0, 0));
    // Invoice n has tax 1,300 × n fen.
    let r = save_rows(
        &mut b,
        &c,
        &me(),
        &[
            row(1, UseRequest::deduct()),
            row(2, lowered(1_000)),
            row(3, no_deduct(NoDeductReason::Other)),
        ],
    )
    .unwrap();
    assert_eq!((r.selected, r.rejected.len()), (3, 0));
    assert_eq!(inv(&b, 1).usage, None, "plain 抵扣 is stored as before");
    assert_eq!(inv(&b, 2).effective_tax(), Fen::new(1_000));
    assert_eq!(inv(&b, 3).use_(), Some(InvoiceUse::NoDeduct));

    let d = make_batch(&mut b, &c, &me(), InvoiceUse::Deduct).unwrap();
    assert_eq!(d.batch.invoices, keys(&[1, 2]));
    assert_eq!(d.batch.tax, Fen::new(1_300 + 1_000));
    let n = make_batch(&mut b, &c, &me(), InvoiceUse::NoDeduct).unwrap();
    assert_eq!(n.batch.invoices, keys(&[3]));
    assert_eq!(n.batch.tax, Fen::new(3_900), "不抵扣 adds the face tax");
    assert_ne!(d.batch.number, n.batch.number);
    assert_eq!(n.batch.use_, InvoiceUse::NoDeduct);
    // Remaking 抵扣 keeps its own number, not 不抵扣's.
    let again = make_batch(&mut b, &c, &me(), InvoiceUse::Deduct).unwrap();
    assert_eq!(again.batch.number, d.batch.number);
    assert_eq!(
        make_batch(&mut b, &c, &me(), InvoiceUse::Refund).unwrap_err(),
        Refusal::NothingSelected
    );

    submit(&mut b, &c, &me(), tp("202611"), n.batch.number, None).unwrap();
    assert!(inv(&b, 3).selection.is_certified());
    assert!(
        !inv(&b, 1).selection.is_certified(),
        "the 抵扣 batch is apart"
    );
    submit(&mut b, &c, &me(), tp("202611"), d.batch.number, None).unwrap();
    assert!(inv(&b, 1).selection.is_certified() && inv(&b, 2).selection.is_certified());
    assert_eq!(
        inv(&b, 2).effective_tax(),
        Fen::new(1_000),
        "kept once confirmed"
    );
    let last = |n: u32| b.events[&key(n).to_u128()].last().unwrap().change.clone();
    assert!(matches!(
        last(3),
        InvoiceChange::ConfirmedFor {
            use_: InvoiceUse::NoDeduct,
            ..
        }
    ));
    assert!(matches!(last(1), InvoiceChange::Confirmed { .. }));
    let first = &b.events[&key(3).to_u128()][0].change;
    assert!(matches!(first, InvoiceChange::SelectedFor { .. }));
}

/// Changing the 有效税额 of a selected invoice after 确定 is a change of the selection.
#[test]
fn a_new_effective_tax_after_make_is_caught_at_submit() {
    let mut b = world();
    let c = ctx(at(2026, 11, 20, 9, 0, 0));
    save_rows(&mut b, &c, &me(), &[row(1, UseRequest::deduct())]).unwrap();
    let o = make_batch(&mut b, &c, &me(), InvoiceUse::Deduct).unwrap();
    save_rows(&mut b, &c, &me(), &[row(1, lowered(500))]).unwrap();
    assert_eq!(
        submit(&mut b, &c, &me(), tp("202611"), o.batch.number, None).unwrap_err(),
        Refusal::SelectionChanged
    );
    let o = make_batch(&mut b, &c, &me(), InvoiceUse::Deduct).unwrap();
    assert_eq!(o.batch.tax, Fen::new(500));
    submit(&mut b, &c, &me(), tp("202611"), o.batch.number, None).unwrap();
}

/// Another use for a selected invoice is refused until it is unselected; the refused row
/// changes nothing.
#[test]
fn one_use_at_a_time() {
    let mut b = world();
    let c = ctx(at(2026, 11, 20, 9, 0, 0));
    save_rows(&mut b, &c, &me(), &[row(1, lowered(700))]).unwrap();
    let before = inv(&b, 1).clone();
    let r = save_rows(
        &mut b,
        &c,
        &me(),
        &[row(1, no_deduct(NoDeductReason::Welfare))],
    )
    .unwrap();
    assert_eq!(
        r.rejected[0].1.reason,
        RowRefusal::UsedOtherwise(InvoiceUse::Deduct)
    );
    assert_eq!(inv(&b, 1), &before);
    save_selection(&mut b, &c, &me(), &[], &keys(&[1])).unwrap();
    assert_eq!(inv(&b, 1).usage, None, "unselecting forgets the use");
    let r = save_rows(
        &mut b,
        &c,
        &me(),
        &[row(1, no_deduct(NoDeductReason::Welfare))],
    )
    .unwrap();
    assert_eq!(r.selected, 1);
}

/// 退税 is selected for the month even inside the filing period of the previous month, is
/// confirmed without the declaration question, and drops at the end of the month.
#[test]
fn refunds_belong_to_the_month() {
    let mut b = world();
    // 2026-12-05: the filing period of 202611, the current period.
    let c = ctx(at(2026, 12, 5, 9, 0, 0));
    let refund = UseRequest::of(InvoiceUse::Refund);
    let r = save_rows(&mut b, &c, &me(), &[row(1, refund.clone())]).unwrap();
    assert_eq!(
        r.rejected[0].1.reason,
        RowRefusal::NotRefundEnterprise(InvoiceUse::Refund)
    );
    exporter(&mut b);
    save_rows(
        &mut b,
        &c,
        &me(),
        &[row(1, refund.clone()), row(2, UseRequest::deduct())],
    )
    .unwrap();
    assert_eq!(
        inv(&b, 1).selection,
        SelectionState::Selected {
            period: tp("202612")
        }
    );
    assert_eq!(
        inv(&b, 2).selection,
        SelectionState::Selected {
            period: tp("202611")
        }
    );
    let o = make_batch(&mut b, &c, &me(), InvoiceUse::Refund).unwrap();
    assert_eq!(o.batch.period, tp("202612"));
    assert_eq!(o.batch.invoices, keys(&[1]));
    // No answer needed, although 202611's filing period asks it of 抵扣.
    submit(&mut b, &c, &me(), tp("202612"), o.batch.number, None).unwrap();
    assert!(inv(&b, 1).selection.is_certified());
    let d = make_batch(&mut b, &c, &me(), InvoiceUse::Deduct).unwrap();
    assert_eq!(
        submit(&mut b, &c, &me(), tp("202611"), d.batch.number, None).unwrap_err(),
        Refusal::DeclarationAnswerRequired {
            period: tp("202611")
        }
    );
    // 已完成申报 voids 抵扣 and moves the period, leaving the confirmed 退税 alone.
    submit(
        &mut b,
        &c,
        &me(),
        tp("202611"),
        d.batch.number,
        Some(DeclarationAnswer::Declared),
    )
    .unwrap();
    assert!(inv(&b, 1).selection.is_certified());
    assert_eq!(inv(&b, 2).selection, SelectionState::Unselected);

    // A 退税 selection not confirmed by the end of the month goes back to 未勾选.
    save_rows(&mut b, &c, &me(), &[row(3, refund)]).unwrap();
    make_batch(&mut b, &c, &me(), InvoiceUse::Refund).unwrap();
    let january = ctx(at(2027, 1, 2, 9, 0, 0));
    settle(&mut b, &january, &me()).unwrap();
    assert_eq!(inv(&b, 3).selection, SelectionState::Unselected);
    let void = b
        .batches
        .values()
        .filter(|x| x.use_ == InvoiceUse::Refund && x.status == BatchStatus::Void)
        .count();
    assert_eq!(void, 1);
}

/// A pending 退税 batch whose invoices were all unselected before the month ended is still
/// voided when the month ends: no selection points at it any more.
#[test]
fn an_emptied_refund_batch_is_voided_at_month_end() {
    let mut b = world();
    exporter(&mut b);
    let c = ctx(at(2026, 11, 20, 9, 0, 0));
    save_rows(
        &mut b,
        &c,
        &me(),
        &[row(1, UseRequest::of(InvoiceUse::Refund))],
    )
    .unwrap();
    let o = make_batch(&mut b, &c, &me(), InvoiceUse::Refund).unwrap();
    save_selection(&mut b, &c, &me(), &[], &keys(&[1])).unwrap();
    let id = (me(), o.batch.period, o.batch.number);
    assert_eq!(b.batches[&id].status, BatchStatus::Pending);
    // Still November: the batch stays pending.
    settle(&mut b, &ctx(at(2026, 11, 30, 23, 0, 0)), &me()).unwrap();
    assert_eq!(b.batches[&id].status, BatchStatus::Pending);
    let december = ctx(at(2026, 12, 1, 0, 1, 0));
    assert!(
        !pending_settlement(&b, &december, &b.taxpayers[&me()].clone())
            .unwrap()
            .is_empty()
    );
    settle(&mut b, &december, &me()).unwrap();
    assert_eq!(b.batches[&id].status, BatchStatus::Void);
    assert_eq!(b.batches[&id].void_reason, Some(VoidReason::WindowClosed));
    // Settled: nothing left to do.
    assert!(
        pending_settlement(&b, &december, &b.taxpayers[&me()].clone())
            .unwrap()
            .is_empty()
    );
}

/// Withdrawing the registration drops the 退税 selections not yet confirmed.
#[test]
fn withdrawing_the_registration_drops_unconfirmed_refunds() {
    let mut b = world();
    exporter(&mut b);
    let c = ctx(at(2026, 11, 20, 9, 0, 0));
    save_rows(
        &mut b,
        &c,
        &me(),
        &[
            row(1, UseRequest::of(InvoiceUse::Refund)),
            row(2, UseRequest::deduct()),
        ],
    )
    .unwrap();
    let o = make_batch(&mut b, &c, &me(), InvoiceUse::Refund).unwrap();
    set_registration(&mut b, &c, &me(), RefundRegistration::default()).unwrap();
    assert_eq!(inv(&b, 1).selection, SelectionState::Unselected);
    assert!(matches!(
        inv(&b, 2).selection,
        SelectionState::Selected { .. }
    ));
    let batch = &b.batches[&(me(), o.batch.period, o.batch.number)];
    assert_eq!(batch.status, BatchStatus::Void);
    assert_eq!(
        batch.void_reason,
        Some(crate::domain::rules::VoidReason::RegistrationWithdrawn)
    );
    assert!(b
        .audits
        .iter()
        .any(|a| a.0 == "taxpayer.refund_registration"));
}
