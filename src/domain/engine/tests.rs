//! The engine's rules on plain data: scenarios for every edge of S-P1–S-P3, S-T6–S-T8, and
//! property tests over random sequences of operations.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};
use proptest::prelude::*;

use super::memory::MemoryBook;
use super::*;
use crate::domain::rules::{self, DeclarationAnswer, RowRefusal};
use crate::domain::{
    Contact, CreditRating, Enterprise, Fen, InvoiceStatus, InvoiceType, InvoiceUse, NoDeductReason,
    PasswordFailures, RefundRegistration, Region, UseRequest,
};

/// 批量勾选 rows (是 / 否) as the engine takes them.
fn file_rows(rows: &[(bool, &InvoiceKey)]) -> Vec<SelectionRow> {
    rows.iter()
        .map(|(tick, k)| {
            if *tick {
                SelectionRow::Select((*k).clone(), UseRequest::deduct())
            } else {
                SelectionRow::Unselect((*k).clone())
            }
        })
        .collect()
}

fn tz() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

pub(crate) fn at(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<FixedOffset> {
    tz().with_ymd_and_hms(y, m, d, h, mi, s).unwrap()
}

pub(crate) fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub(crate) fn tp(s: &str) -> TaxPeriod {
    TaxPeriod::parse(s).unwrap()
}

fn id(body: &str) -> TaxpayerId {
    let c = crate::domain::credit_code_check_char(body).unwrap();
    TaxpayerId::parse(&format!("{body}{c}")).unwrap()
}

pub(crate) fn me() -> TaxpayerId {
    id("91110108MA01A2B3C")
}

pub(crate) fn other() -> TaxpayerId {
    id("91310115MA1K3YJ2X")
}

fn seller() -> TaxpayerId {
    id("91440300MA5ABCDEF")
}

pub(crate) fn ctx(now: DateTime<FixedOffset>) -> Ctx {
    Ctx {
        actor: Actor::Taxpayer { id: me() },
        now,
        lookback_days: 180,
    }
}

pub(crate) fn taxpayer(tid: TaxpayerId, current: TaxPeriod) -> Taxpayer {
    Taxpayer {
        id: tid,
        name: "测试企业".into(),
        region: Region::parse("110000").unwrap(),
        authority: String::new(),
        eligible: true,
        credit_rating: Some(CreditRating::A),
        rating_history: Vec::new(),
        contact: Contact::default(),
        enterprise: Enterprise::default(),
        platform_password: None,
        password_failures: PasswordFailures::default(),
        certificates: Vec::new(),
        current_period: current,
        manual_advance_from: None,
        first_login_done: true,
        training: false,
        created_at: at(2026, 1, 1, 0, 0, 0),
    }
}

pub(crate) fn key(n: u32) -> InvoiceKey {
    InvoiceKey::parse("1100162130", &format!("{n:08}")).unwrap()
}

pub(crate) fn invoice(n: u32, buyer: TaxpayerId, issued_on: NaiveDate) -> Invoice {
    Invoice {
        key: key(n),
        kind: InvoiceType::Special,
        issued_on,
        seller_id: seller(),
        seller_name: "销方".into(),
        buyer_id: buyer,
        amount: Fen::new(10_000 * i64::from(n)),
        tax: Fen::new(1_300 * i64::from(n)),
        status: InvoiceStatus::Normal,
        selection: SelectionState::Unselected,
        audit: None,
        usage: None,
    }
}

/// A taxpayer in 202611 with five invoices of November 2026 (1..=5), one of December (6),
/// and one of another buyer (7).
pub(crate) fn world() -> MemoryBook {
    let mut b = MemoryBook::default();
    b.put_taxpayer(&taxpayer(me(), tp("202611"))).unwrap();
    b.put_taxpayer(&taxpayer(other(), tp("202611"))).unwrap();
    for n in 1..=5 {
        b.put_invoice(&invoice(n, me(), day(2026, 11, n))).unwrap();
    }
    b.put_invoice(&invoice(6, me(), day(2026, 12, 1))).unwrap();
    b.put_invoice(&invoice(7, other(), day(2026, 11, 7)))
        .unwrap();
    b
}

fn state(b: &MemoryBook, n: u32) -> SelectionState {
    b.invoices[&key(n).to_u128()].selection
}

fn current(b: &MemoryBook) -> TaxPeriod {
    b.taxpayers[&me()].current_period
}

pub(crate) fn keys(ns: &[u32]) -> Vec<InvoiceKey> {
    ns.iter().map(|&n| key(n)).collect()
}

#[test]
fn select_reports_each_row() {
    let mut b = world();
    let c = ctx(at(2026, 11, 23, 10, 0, 0));
    let r = save_selection(&mut b, &c, &me(), &keys(&[1, 2, 6, 7, 1, 99]), &keys(&[3])).unwrap();
    assert_eq!(r.selected, 2);
    assert_eq!(r.unselected, 0);
    let reasons: Vec<_> = r.rejected.iter().map(|(i, x)| (*i, x.reason)).collect();
    assert_eq!(
        reasons,
        vec![
            (2, RowRefusal::NotYetDue),
            (3, RowRefusal::UnknownInvoice),
            (4, RowRefusal::DuplicateRow),
            (5, RowRefusal::UnknownInvoice),
            (6, RowRefusal::NotSelected),
        ]
    );
    assert_eq!(
        state(&b, 1),
        SelectionState::Selected {
            period: tp("202611")
        }
    );
    assert_eq!(state(&b, 3), SelectionState::Unselected);
    assert_eq!(b.events[&key(1).to_u128()].len(), 1);
    // Selecting again is fine and records nothing new; unselecting works.
    let r = save_selection(&mut b, &c, &me(), &keys(&[1]), &keys(&[2])).unwrap();
    assert_eq!((r.selected, r.unselected), (1, 1));
    assert_eq!(b.events[&key(1).to_u128()].len(), 1);
    assert_eq!(state(&b, 2), SelectionState::Unselected);
    assert_eq!(b.audits.last().unwrap().0, "selection.save");
}

/// 批量勾选: a file lists every invoice, so 是 on a ticked one and 否 on an unticked one are
/// `unchanged`, not refusals; everything else is judged as on the page, row by row.
#[test]
fn a_file_counts_rows_that_change_nothing_as_unchanged() {
    let mut b = world();
    let c = ctx(at(2026, 11, 23, 10, 0, 0));
    save_selection(&mut b, &c, &me(), &keys(&[1]), &[]).unwrap();
    let (k1, k2, k3, k6, k99) = (key(1), key(2), key(3), key(6), key(99));
    let rows = vec![
        (true, &k1),   // already ticked
        (false, &k3),  // not ticked
        (true, &k2),   // ticks
        (true, &k6),   // not yet due
        (false, &k99), // unknown
        (false, &k1),  // duplicate of row 0
    ];
    let r = save_file_selection(&mut b, &c, &me(), &file_rows(&rows)).unwrap();
    assert_eq!((r.selected, r.unselected, r.unchanged), (1, 0, 2));
    let reasons: Vec<_> = r.rejected.iter().map(|(i, x)| (*i, x.reason)).collect();
    assert_eq!(
        reasons,
        vec![
            (3, RowRefusal::NotYetDue),
            (4, RowRefusal::UnknownInvoice),
            (5, RowRefusal::DuplicateRow),
        ]
    );
    assert_eq!(
        state(&b, 2),
        SelectionState::Selected {
            period: tp("202611")
        }
    );
    assert_eq!(b.audits.last().unwrap().0, "selection.import");
    // 否 on a ticked invoice unticks it.
    let r = save_file_selection(&mut b, &c, &me(), &file_rows(&[(false, &k1)])).unwrap();
    assert_eq!((r.selected, r.unselected, r.unchanged), (0, 1, 0));
    assert_eq!(state(&b, 1), SelectionState::Unselected);
    // On the page the same rows keep their meaning: unticking an unticked invoice is refused.
    let r = save_selection(&mut b, &c, &me(), &[], &keys(&[3])).unwrap();
    assert_eq!(r.unchanged, 0);
    assert_eq!(r.rejected[0].1.reason, RowRefusal::NotSelected);
}

#[test]
fn confirm_outside_the_filing_period() {
    let mut b = world();
    let c = ctx(at(2026, 11, 23, 10, 0, 0));
    assert_eq!(
        make_batch(&mut b, &c, &me(), InvoiceUse::Deduct).unwrap_err(),
        Refusal::NothingSelected
    );
    save_selection(&mut b, &c, &me(), &keys(&[1, 2]), &[]).unwrap();
    let o = make_batch(&mut b, &c, &me(), InvoiceUse::Deduct).unwrap();
    assert_eq!((o.batch.number, o.batch.count), (1, 2));
    assert_eq!(o.batch.amount, Fen::new(30_000));
    assert_eq!(o.batch.tax, Fen::new(3_900));
    assert_eq!(o.batch.status, BatchStatus::Pending);
    assert_eq!((o.period_confirmed_count, o.period_batches), (0, 0));
    let s = submit(&mut b, &c, &me(), tp("202611"), 1, None).unwrap();
    assert_eq!(s.batch.status, BatchStatus::Submitted);
    assert_eq!((s.period_confirmed_count, s.period_batches), (2, 1));
    assert_eq!(
        state(&b, 1),
        SelectionState::Confirmed {
            period: tp("202611"),
            batch: 1,
            on: day(2026, 11, 23)
        }
    );
    // Idempotent: a repeated 提交 returns the same batch and changes nothing.
    let before = b.invoices.clone();
    let again = submit(&mut b, &c, &me(), tp("202611"), 1, None).unwrap();
    assert_eq!(again.batch, s.batch);
    assert_eq!(b.invoices, before);
    // A second batch of the period is number 2 and counts the first.
    save_selection(&mut b, &c, &me(), &keys(&[3]), &[]).unwrap();
    let o = make_batch(&mut b, &c, &me(), InvoiceUse::Deduct).unwrap();
    assert_eq!(
        (o.batch.number, o.period_confirmed_count, o.period_batches),
        (2, 2, 1)
    );
    // Confirmed invoices cannot be unselected or selected again.
    let r = save_selection(&mut b, &c, &me(), &keys(&[1]), &keys(&[2])).unwrap();
    let reasons: Vec<_> = r.rejected.iter().map(|(_, x)| x.reason).collect();
    assert_eq!(
        reasons,
        vec![RowRefusal::AlreadyConfirmed, RowRefusal::AlreadyConfirmed]
    );
    assert_eq!(
        submit(&mut b, &c, &me(), tp("202611"), 9, None).unwrap_err(),
        Refusal::BatchNotFound
    );
}

#[test]
fn remaking_a_pending_batch_keeps_its_number_and_selection_change_is_caught() {
    let mut b = world();
    let c = ctx(at(2026, 11, 23, 10, 0, 0));
    save_selection(&mut b, &c, &me(), &keys(&[1]), &[]).unwrap();
    make_batch(&mut b, &c, &me(), InvoiceUse::Deduct).unwrap();
    save_selection(&mut b, &c, &me(), &keys(&[2]), &[]).unwrap();
    assert_eq!(
        submit(&mut b, &c, &me(), tp("202611"), 1, None).unwrap_err(),
        Refusal::SelectionChanged
    );
    let o = make_batch(&mut b, &c, &me(), InvoiceUse::Deduct).unwrap();
    assert_eq!((o.batch.number, o.batch.count), (1, 2));
    assert_eq!(
        submit(&mut b, &c, &me(), tp("202611"), 1, None)
            .unwrap()
            .batch
            .count,
        2
    );
}

#[test]
fn the_three_answers_in_the_filing_period() {
    let in_fp = ctx(at(2026, 12, 10, 9, 0, 0));
    // 未完成申报: submitted.
    let mut b = world();
    save_selection(&mut b, &in_fp, &me(), &keys(&[1, 2]), &[]).unwrap();
    make_batch(&mut b, &in_fp, &me(), InvoiceUse::Deduct).unwrap();
    let snapshot = b.clone();
    assert_eq!(
        submit(&mut b, &in_fp, &me(), tp("202611"), 1, None).unwrap_err(),
        Refusal::DeclarationAnswerRequired {
            period: tp("202611")
        }
    );
    let o = submit(
        &mut snapshot.clone(),
        &in_fp,
        &me(),
        tp("202611"),
        1,
        Some(DeclarationAnswer::NotDeclared),
    )
    .unwrap();
    assert_eq!(o.batch.status, BatchStatus::Submitted);
    // 不确定: nothing changes.
    let mut b = snapshot.clone();
    let o = submit(
        &mut b,
        &in_fp,
        &me(),
        tp("202611"),
        1,
        Some(DeclarationAnswer::Unsure),
    )
    .unwrap();
    assert_eq!(o.batch.status, BatchStatus::Pending);
    assert_eq!(b.invoices, snapshot.invoices);
    assert_eq!(b.batches, snapshot.batches);
    assert_eq!(current(&b), tp("202611"));
    // 已完成申报: void, back to 未勾选, period advances and the manual advance is remembered.
    let mut b = snapshot.clone();
    let o = submit(
        &mut b,
        &in_fp,
        &me(),
        tp("202611"),
        1,
        Some(DeclarationAnswer::Declared),
    )
    .unwrap();
    assert_eq!(o.batch.status, BatchStatus::Void);
    assert_eq!(o.batch.void_reason, Some(VoidReason::TaxpayerDeclared));
    assert_eq!(o.current_period, tp("202612"));
    assert_eq!(state(&b, 1), SelectionState::Unselected);
    assert_eq!(b.taxpayers[&me()].manual_advance_from, Some(tp("202611")));
    // The same answers with 未获取 or 未申报 recorded.
    for decl in [DeclarationStatus::Unknown, DeclarationStatus::NotDeclared] {
        let mut b = snapshot.clone();
        b.put_declaration(&me(), tp("202611"), decl).unwrap();
        assert!(matches!(
            submit(&mut b.clone(), &in_fp, &me(), tp("202611"), 1, None),
            Err(Refusal::DeclarationAnswerRequired { .. })
        ));
        let o = submit(
            &mut b,
            &in_fp,
            &me(),
            tp("202611"),
            1,
            Some(DeclarationAnswer::NotDeclared),
        )
        .unwrap();
        assert_eq!(o.batch.status, BatchStatus::Submitted);
    }
}

#[test]
fn declaration_recorded_before_and_after_a_pending_batch() {
    let in_fp = ctx(at(2026, 12, 3, 9, 0, 0));
    let office = Ctx {
        actor: Actor::Staff {
            username: "op".into(),
        },
        ..in_fp.clone()
    };
    // Before: the window closes at once, selections go back, nothing left to confirm.
    let mut b = world();
    save_selection(&mut b, &in_fp, &me(), &keys(&[1]), &[]).unwrap();
    let t = record_declaration(
        &mut b,
        &office,
        &me(),
        tp("202611"),
        DeclarationStatus::Declared,
    )
    .unwrap();
    assert_eq!(t.current_period, tp("202612"));
    assert_eq!(state(&b, 1), SelectionState::Unselected);
    assert_eq!(
        make_batch(&mut b, &in_fp, &me(), InvoiceUse::Deduct).unwrap_err(),
        Refusal::NothingSelected
    );
    // The December invoice is now due in 202612.
    let r = save_selection(&mut b, &in_fp, &me(), &keys(&[6, 1]), &[]).unwrap();
    assert_eq!(r.selected, 2);
    assert_eq!(
        state(&b, 6),
        SelectionState::Selected {
            period: tp("202612")
        }
    );
    // After: the pending batch becomes void (period_declared) and 提交 says so.
    let mut b = world();
    save_selection(&mut b, &in_fp, &me(), &keys(&[1, 2]), &[]).unwrap();
    make_batch(&mut b, &in_fp, &me(), InvoiceUse::Deduct).unwrap();
    record_declaration(
        &mut b,
        &office,
        &me(),
        tp("202611"),
        DeclarationStatus::Declared,
    )
    .unwrap();
    let o = submit(
        &mut b,
        &in_fp,
        &me(),
        tp("202611"),
        1,
        Some(DeclarationAnswer::NotDeclared),
    )
    .unwrap();
    assert_eq!(o.batch.status, BatchStatus::Void);
    assert_eq!(o.batch.void_reason, Some(VoidReason::PeriodDeclared));
    assert_eq!(o.current_period, tp("202612"));
    assert_eq!(state(&b, 1), SelectionState::Unselected);
    assert_eq!(b.taxpayers[&me()].manual_advance_from, None);
    // 未申报 and 未获取 do not close the window.
    let mut b = world();
    for s in [DeclarationStatus::NotDeclared, DeclarationStatus::Unknown] {
        let t = record_declaration(&mut b, &office, &me(), tp("202611"), s).unwrap();
        assert_eq!(t.current_period, tp("202611"));
    }
}

#[test]
fn window_boundaries_on_the_deadline_day() {
    let mut b = world();
    let c = ctx(at(2026, 11, 20, 9, 0, 0));
    save_selection(&mut b, &c, &me(), &keys(&[1]), &[]).unwrap();
    make_batch(&mut b, &c, &me(), InvoiceUse::Deduct).unwrap();
    // 23:59:59 on 2026-12-15 (+08:00): still open.
    let last = ctx(at(2026, 12, 15, 23, 59, 59));
    assert_eq!(
        settle(&mut b, &last, &me()).unwrap().current_period,
        tp("202611")
    );
    assert_eq!(
        state(&b, 1),
        SelectionState::Selected {
            period: tp("202611")
        }
    );
    // 00:00 on the 16th: closed, selection reverted, pending batch void.
    let next = ctx(at(2026, 12, 16, 0, 0, 0));
    assert_eq!(
        settle(&mut b, &next, &me()).unwrap().current_period,
        tp("202612")
    );
    assert_eq!(state(&b, 1), SelectionState::Unselected);
    let batch = &b.batches[&(me(), tp("202611"), 1)];
    assert_eq!(
        (batch.status, batch.void_reason),
        (BatchStatus::Void, Some(VoidReason::WindowClosed))
    );
    let o = submit(&mut b, &next, &me(), tp("202611"), 1, None).unwrap();
    assert_eq!(o.batch.status, BatchStatus::Void);
    assert!(b.audits.iter().any(|a| a.0 == "period.close"));
    // The same instant in UTC (16:00 on the 15th) is already the 16th in +08:00.
    let utc = ctx(at(2026, 12, 15, 23, 59, 59)); // still open in +08:00
    let mut b = world();
    assert_eq!(
        settle(&mut b, &utc, &me()).unwrap().current_period,
        tp("202611")
    );
}

#[test]
fn december_to_january_and_catching_up_after_downtime() {
    let mut b = world();
    b.taxpayers.get_mut(&me()).unwrap().current_period = tp("202612");
    let c = ctx(at(2027, 1, 15, 23, 59, 59));
    assert_eq!(
        settle(&mut b, &c, &me()).unwrap().current_period,
        tp("202612")
    );
    let c = ctx(at(2027, 1, 16, 0, 0, 0));
    assert_eq!(
        settle(&mut b, &c, &me()).unwrap().current_period,
        tp("202701")
    );
    // Down from 2027-01-16 to 2027-04-02: 202701 and 202702 close, 202703 is current.
    let c = ctx(at(2027, 4, 2, 8, 0, 0));
    assert_eq!(
        settle(&mut b, &c, &me()).unwrap().current_period,
        tp("202703")
    );
    let closes = b.audits.iter().filter(|a| a.0 == "period.close").count();
    assert_eq!(closes, 3);
}

#[test]
fn deadline_moved_by_the_office_extends_the_window() {
    let mut b = world();
    let region = b.taxpayers[&me()].region;
    b.deadlines
        .insert((region, tp("202611")), day(2026, 12, 22));
    let c = ctx(at(2026, 12, 20, 10, 0, 0));
    assert_eq!(
        settle(&mut b, &c, &me()).unwrap().current_period,
        tp("202611")
    );
    // The filing period runs to the moved deadline, so 提交 still asks.
    save_selection(&mut b, &c, &me(), &keys(&[1]), &[]).unwrap();
    make_batch(&mut b, &c, &me(), InvoiceUse::Deduct).unwrap();
    assert!(matches!(
        submit(&mut b, &c, &me(), tp("202611"), 1, None),
        Err(Refusal::DeclarationAnswerRequired { .. })
    ));
    let c = ctx(at(2026, 12, 23, 0, 0, 0));
    assert_eq!(
        settle(&mut b, &c, &me()).unwrap().current_period,
        tp("202612")
    );
}

#[test]
fn selections_past_the_time_limit_are_dropped() {
    let mut b = world();
    b.put_invoice(&invoice(8, me(), day(2026, 5, 27))).unwrap();
    let c = ctx(at(2026, 11, 23, 10, 0, 0)); // 2026-05-27 is exactly 180 days ago
    let r = save_selection(&mut b, &c, &me(), &keys(&[8]), &[]).unwrap();
    assert_eq!(r.selected, 1);
    let c = ctx(at(2026, 11, 24, 0, 0, 0));
    settle(&mut b, &c, &me()).unwrap();
    assert_eq!(state(&b, 8), SelectionState::Unselected);
    let r = save_selection(&mut b, &c, &me(), &keys(&[8]), &[]).unwrap();
    assert_eq!(r.rejected[0].1.reason, RowRefusal::OutsideWindow);
}

#[test]
fn status_change_unselects_but_keeps_certification() {
    let mut b = world();
    let c = ctx(at(2026, 11, 23, 10, 0, 0));
    save_selection(&mut b, &c, &me(), &keys(&[1, 2]), &[]).unwrap();
    make_batch(&mut b, &c, &me(), InvoiceUse::Deduct).unwrap();
    let inv = change_status(&mut b, &c, &key(1), InvoiceStatus::OutOfControl).unwrap();
    assert_eq!(inv.selection, SelectionState::Unselected);
    assert_eq!(state(&b, 1), SelectionState::Unselected);
    // The pending batch no longer matches.
    assert_eq!(
        submit(&mut b, &c, &me(), tp("202611"), 1, None).unwrap_err(),
        Refusal::SelectionChanged
    );
    make_batch(&mut b, &c, &me(), InvoiceUse::Deduct).unwrap();
    submit(&mut b, &c, &me(), tp("202611"), 1, None).unwrap();
    let inv = change_status(&mut b, &c, &key(2), InvoiceStatus::Voided).unwrap();
    assert!(matches!(inv.selection, SelectionState::Confirmed { .. }));
    assert_eq!(
        change_status(&mut b, &c, &key(99), InvoiceStatus::Voided).unwrap_err(),
        Refusal::InvoiceNotFound
    );
    let r = save_selection(&mut b, &c, &me(), &keys(&[1]), &[]).unwrap();
    assert_eq!(
        r.rejected[0].1.reason,
        RowRefusal::NotNormal(InvoiceStatus::OutOfControl)
    );
}

fn advanced_by_mistake() -> (MemoryBook, Ctx) {
    let mut b = world();
    let c = ctx(at(2026, 12, 5, 9, 0, 0));
    save_selection(&mut b, &c, &me(), &keys(&[1]), &[]).unwrap();
    make_batch(&mut b, &c, &me(), InvoiceUse::Deduct).unwrap();
    submit(
        &mut b,
        &c,
        &me(),
        tp("202611"),
        1,
        Some(DeclarationAnswer::Declared),
    )
    .unwrap();
    b.put_declaration(&me(), tp("202611"), DeclarationStatus::NotDeclared)
        .unwrap();
    (b, c)
}

#[test]
fn rollback_goes_back_and_clears_the_new_periods_selection() {
    let (mut b, c) = advanced_by_mistake();
    save_selection(&mut b, &c, &me(), &keys(&[6]), &[]).unwrap();
    make_batch(&mut b, &c, &me(), InvoiceUse::Deduct).unwrap();
    assert_eq!(rollback(&mut b, &c, &me()).unwrap(), tp("202611"));
    assert_eq!(current(&b), tp("202611"));
    assert_eq!(state(&b, 6), SelectionState::Unselected);
    let pending = &b.batches[&(me(), tp("202612"), 1)];
    assert_eq!(pending.void_reason, Some(VoidReason::RolledBack));
    assert_eq!(b.taxpayers[&me()].manual_advance_from, None);
    // Now back in 202611 the taxpayer can confirm (answering 未完成申报).
    save_selection(&mut b, &c, &me(), &keys(&[1]), &[]).unwrap();
    let o = make_batch(&mut b, &c, &me(), InvoiceUse::Deduct).unwrap();
    assert_eq!(o.batch.number, 2); // batch 1 of 202611 stays void
    let o = submit(
        &mut b,
        &c,
        &me(),
        tp("202611"),
        2,
        Some(DeclarationAnswer::NotDeclared),
    )
    .unwrap();
    assert_eq!(o.batch.status, BatchStatus::Submitted);
    // A second rollback is refused: the period did not advance by a wrong answer.
    assert_eq!(
        rollback(&mut b, &c, &me()).unwrap_err(),
        Refusal::Rollback(RollbackRefusal::NotManualAdvance)
    );
}

#[test]
fn rollback_refused_for_each_condition() {
    // Confirmed in the new period.
    let (mut b, c) = advanced_by_mistake();
    save_selection(&mut b, &c, &me(), &keys(&[6]), &[]).unwrap();
    make_batch(&mut b, &c, &me(), InvoiceUse::Deduct).unwrap();
    submit(&mut b, &c, &me(), tp("202612"), 1, None).unwrap();
    assert_eq!(
        rollback(&mut b, &c, &me()).unwrap_err(),
        Refusal::Rollback(RollbackRefusal::ConfirmedInNewPeriod)
    );
    // Previous period declared (or its result not known as 未申报).
    for s in [DeclarationStatus::Declared, DeclarationStatus::Unknown] {
        let (mut b, c) = advanced_by_mistake();
        b.put_declaration(&me(), tp("202611"), s).unwrap();
        assert_eq!(
            rollback(&mut b, &c, &me()).unwrap_err(),
            Refusal::Rollback(RollbackRefusal::PreviousPeriodDeclared)
        );
    }
    // After the filing period: 2026-12-16. (Settling does not close 202612 then.)
    let (mut b, _) = advanced_by_mistake();
    let late = ctx(at(2026, 12, 16, 0, 0, 0));
    assert_eq!(
        rollback(&mut b, &late, &me()).unwrap_err(),
        Refusal::Rollback(RollbackRefusal::OutsideFilingPeriod)
    );
    // Not advanced by the taxpayer: the office recorded 已申报.
    let mut b = world();
    let c = ctx(at(2026, 12, 5, 9, 0, 0));
    record_declaration(&mut b, &c, &me(), tp("202611"), DeclarationStatus::Declared).unwrap();
    assert_eq!(
        rollback(&mut b, &c, &me()).unwrap_err(),
        Refusal::Rollback(RollbackRefusal::NotManualAdvance)
    );
}

#[test]
fn a_scan_certifies_once_and_takes_a_selection_away() {
    let mut b = world();
    let c = ctx(at(2026, 11, 23, 10, 0, 0));
    save_selection(&mut b, &c, &me(), &keys(&[1, 2]), &[]).unwrap();
    make_batch(&mut b, &c, &me(), InvoiceUse::Deduct).unwrap();
    // Scanning a selected invoice: certified by scan, no longer selected.
    assert_eq!(
        apply_scan(&mut b, &c, &key(1), tp("202611"), day(2026, 11, 22)).unwrap(),
        Ok(())
    );
    assert_eq!(
        state(&b, 1),
        SelectionState::Scanned {
            period: tp("202611"),
            on: day(2026, 11, 22)
        }
    );
    let changes: Vec<_> = b.events[&key(1).to_u128()]
        .iter()
        .map(|e| e.change.action())
        .collect();
    assert_eq!(changes, ["selected", "unselected", "scanned"]);
    // The pending batch moved under it.
    assert_eq!(
        submit(&mut b, &c, &me(), tp("202611"), 1, None).unwrap_err(),
        Refusal::SelectionChanged
    );
    // Certified at most once: a second scan and a scan of a confirmed invoice are refused.
    assert_eq!(
        apply_scan(&mut b, &c, &key(1), tp("202611"), day(2026, 11, 22)).unwrap(),
        Err(ScanRefusal::AlreadyCertified)
    );
    make_batch(&mut b, &c, &me(), InvoiceUse::Deduct).unwrap();
    submit(&mut b, &c, &me(), tp("202611"), 1, None).unwrap();
    let before = b.invoices.clone();
    assert_eq!(
        apply_scan(&mut b, &c, &key(2), tp("202611"), day(2026, 11, 22)).unwrap(),
        Err(ScanRefusal::AlreadyCertified)
    );
    assert_eq!(b.invoices, before);
    assert_eq!(
        apply_scan(&mut b, &c, &key(99), tp("202611"), day(2026, 11, 22)).unwrap(),
        Err(ScanRefusal::UnknownInvoice)
    );
    // A period before the issue date, or a scan date before it.
    assert_eq!(
        apply_scan(&mut b, &c, &key(6), tp("202611"), day(2026, 12, 2)).unwrap(),
        Err(ScanRefusal::BeforeIssue)
    );
    assert_eq!(
        apply_scan(&mut b, &c, &key(3), tp("202611"), day(2026, 11, 2)).unwrap(),
        Err(ScanRefusal::BeforeIssue)
    );
    // A period after the month of the scan.
    assert_eq!(
        apply_scan(&mut b, &c, &key(3), tp("202612"), day(2026, 11, 22)).unwrap(),
        Err(ScanRefusal::PeriodAfterScan)
    );
    // Scanned invoices cannot be selected.
    let r = save_selection(&mut b, &c, &me(), &keys(&[1]), &[]).unwrap();
    assert_eq!(r.rejected[0].1.reason, RowRefusal::ScanCertified);
}

// ---- Property tests -------------------------------------------------------------------

#[derive(Debug, Clone)]
pub(crate) enum Op {
    Select(Vec<u32>),
    /// Select for a use (index into [`USES`]), with 有效税额 lowered to a share (1..=10
    /// tenths) of the tax and, for 不抵扣, a reason (index into `NoDeductReason::ALL`).
    SelectFor(Vec<u32>, u8, Option<u8>, u8),
    Unselect(Vec<u32>),
    Make,
    /// 确定 for a use (index into [`USES`]).
    MakeFor(u8),
    /// Submit the newest batch of the current period (or a given number), with an answer.
    Submit(Option<u32>, Option<u8>),
    /// Submit the newest 退税 batch of this month.
    SubmitRefund,
    Declare(u8, u8),
    Advance(u32),
    Rollback,
    Status(u32, u8),
    /// The office records the 退税 registration (bits: exporter, trade service).
    Register(u8),
    /// 进项税额转出 of these invoices for the current period.
    Transfer(Vec<u32>),
}

/// The uses the random operations pick from.
pub(crate) const USES: [InvoiceUse; 4] = [
    InvoiceUse::Deduct,
    InvoiceUse::NoDeduct,
    InvoiceUse::Refund,
    InvoiceUse::AgentRefund,
];

pub(crate) const N: u32 = 14;

pub(crate) fn op() -> impl Strategy<Value = Op> {
    let keys = proptest::collection::vec(1..=N + 1, 0..6);
    prop_oneof![
        4 => keys.clone().prop_map(Op::Select),
        3 => (keys.clone(), 0u8..4, proptest::option::of(1u8..=10), 0u8..5)
            .prop_map(|(k, u, t, r)| Op::SelectFor(k, u, t, r)),
        2 => keys.clone().prop_map(Op::Unselect),
        3 => Just(Op::Make),
        2 => (0u8..4).prop_map(Op::MakeFor),
        1 => Just(Op::SubmitRefund),
        1 => (0u8..4).prop_map(Op::Register),
        1 => keys.prop_map(Op::Transfer),
        3 => (proptest::option::of(1u32..4), proptest::option::of(0u8..3)).prop_map(|(n, a)| Op::Submit(n, a)),
        1 => (0u8..3, 0u8..3).prop_map(|(p, s)| Op::Declare(p, s)),
        3 => (0u32..12).prop_map(Op::Advance),
        1 => Just(Op::Rollback),
        1 => (1..=N, 0u8..5).prop_map(|(n, s)| Op::Status(n, s)),
    ]
}

/// Runs one operation of the random sequences on any book (the in-memory model or the store).
pub(crate) fn step<B: Book>(
    b: &mut B,
    op: &Op,
    now: &mut DateTime<FixedOffset>,
) -> Result<(), B::Error> {
    let c = ctx(*now);
    let office = Ctx {
        actor: Actor::Staff {
            username: "op".into(),
        },
        ..c.clone()
    };
    let cur = b
        .taxpayer(&me())?
        .ok_or(Refusal::TaxpayerNotFound)?
        .current_period;
    match op {
        Op::Select(ns) => save_selection(b, &c, &me(), &keys(ns), &[]).map(|_| ()),
        Op::Unselect(ns) => save_selection(b, &c, &me(), &[], &keys(ns)).map(|_| ()),
        Op::SelectFor(ns, u, share, reason) => {
            let use_ = USES[usize::from(*u) % USES.len()];
            let mut rows = Vec::new();
            for k in keys(ns) {
                let effective_tax = match (share, b.invoice(&k)?) {
                    (Some(s), Some(inv)) => {
                        Some(Fen::new(inv.deductible_tax().value() * i64::from(*s) / 10))
                    }
                    _ => None,
                };
                let reason = NoDeductReason::ALL[usize::from(*reason) % 5];
                rows.push(SelectionRow::Select(
                    k,
                    UseRequest {
                        use_: Some(use_),
                        effective_tax,
                        reason: Some(reason),
                        reason_text: (reason == NoDeductReason::Other).then(|| "其他用途".into()),
                    },
                ));
            }
            save_rows(b, &c, &me(), &rows).map(|_| ())
        }
        Op::Make => make_batch(b, &c, &me(), InvoiceUse::Deduct).map(|_| ()),
        Op::MakeFor(u) => make_batch(b, &c, &me(), USES[usize::from(*u) % USES.len()]).map(|_| ()),
        Op::SubmitRefund => {
            let month = TaxPeriod::of_date(c.today());
            let newest = b
                .batches(&me(), month)?
                .into_iter()
                .filter(|x| x.use_.is_refund())
                .map(|x| x.number)
                .max();
            match newest {
                Some(n) => submit(b, &c, &me(), month, n, None).map(|_| ()),
                None => Ok(()),
            }
        }
        Op::Register(bits) => {
            set_registration(b, &office, &me(), RefundRegistration::from_bits(*bits)).map(|_| ())
        }
        Op::Transfer(ns) => record_transfers_out(b, &c, &me(), cur, &keys(ns)).map(|_| ()),
        Op::Submit(n, a) => {
            let newest = b
                .batches(&me(), cur)?
                .iter()
                .filter(|x| !x.use_.is_refund())
                .map(|x| x.number)
                .max();
            let answer = a.map(|x| {
                [
                    DeclarationAnswer::NotDeclared,
                    DeclarationAnswer::Declared,
                    DeclarationAnswer::Unsure,
                ][usize::from(x)]
            });
            match n.or(newest) {
                Some(n) => submit(b, &c, &me(), cur, n, answer).map(|_| ()),
                None => Ok(()),
            }
        }
        Op::Declare(p, s) => {
            let period = cur.add_months(i32::from(*p) - 1);
            record_declaration(
                b,
                &office,
                &me(),
                period,
                DeclarationStatus::ALL[usize::from(*s)],
            )
            .map(|_| ())
        }
        Op::Advance(days) => {
            *now += chrono::Duration::hours(i64::from(*days) * 24 + 7);
            settle(b, &ctx(*now), &me()).map(|_| ())
        }
        Op::Rollback => rollback(b, &c, &me()).map(|_| ()),
        Op::Status(n, s) => change_status(
            b,
            &office,
            &key(*n),
            [
                InvoiceStatus::Normal,
                InvoiceStatus::Voided,
                InvoiceStatus::RedReversed,
                InvoiceStatus::OutOfControl,
                InvoiceStatus::Abnormal,
            ][usize::from(*s)],
        )
        .map(|_| ()),
    }
}

/// Invoices of the taxpayer spread over 202609..202701 (one of another buyer).
pub(crate) fn big_world() -> MemoryBook {
    let mut b = MemoryBook::default();
    b.put_taxpayer(&taxpayer(me(), tp("202610"))).unwrap();
    b.put_taxpayer(&taxpayer(other(), tp("202610"))).unwrap();
    for n in 1..=N {
        let issued = day(2026, 9, 1) + chrono::Days::new(u64::from(n) * 9);
        let buyer = if n == N { other() } else { me() };
        b.put_invoice(&invoice(n, buyer, issued)).unwrap();
    }
    b
}

fn check_invariants(b: &MemoryBook, c: &Ctx, certified_once: &mut BTreeMap<u128, SelectionState>) {
    let t = &b.taxpayers[&me()];
    for inv in b.invoices.values() {
        let k = inv.key.to_u128();
        // Confirmed invoices never change period or batch; certified at most once.
        if let Some(prev) = certified_once.get(&k) {
            assert_eq!(&inv.selection, prev, "certified invoice changed");
        } else if inv.selection.is_certified() {
            certified_once.insert(k, inv.selection);
        }
        let certs = b.events.get(&k).map_or(0, |e| {
            e.iter()
                .filter(|e| {
                    matches!(
                        e.change,
                        InvoiceChange::Confirmed { .. } | InvoiceChange::ConfirmedFor { .. }
                    )
                })
                .count()
        });
        assert!(certs <= 1, "certified twice");
        // Nothing outside the window is selected.
        if let SelectionState::Selected { period } = inv.selection {
            let owner = &b.taxpayers[&inv.buyer_id];
            let use_ = inv.use_().unwrap_or_default();
            assert_eq!(
                period,
                rules::use_period(use_, owner.current_period, c.today()),
                "a selection belongs to its use's period"
            );
            if use_.is_refund() {
                assert!(
                    b.registrations
                        .get(&inv.buyer_id)
                        .is_some_and(|r| r.allows(use_)),
                    "退税 selected without the registration"
                );
            }
            assert_eq!(inv.status, InvoiceStatus::Normal);
            assert!(inv.issued_on <= period.last_day());
            assert!(rules::within_time_limit(
                inv.issued_on,
                c.today(),
                c.lookback_days
            ));
        }
    }
    // Batch totals equal the sums of their invoices; submitted ones own their invoices.
    for batch in b.batches.values() {
        let invs: Vec<&Invoice> = batch
            .invoices
            .iter()
            .map(|k| &b.invoices[&k.to_u128()])
            .collect();
        assert_eq!(batch.count, invs.len() as u64);
        assert_eq!(
            batch.amount,
            invs.iter().fold(Fen::ZERO, |a, i| a + i.amount)
        );
        if batch.status == BatchStatus::Submitted {
            // What was confirmed is what the batch says: the uses and the 有效税额 added up.
            assert_eq!(
                batch.tax,
                invs.iter().fold(Fen::ZERO, |a, i| a + i.effective_tax())
            );
            for i in invs {
                assert_eq!(i.selection.period(), Some(batch.period));
                assert_eq!(i.selection.batch(), Some(batch.number));
                assert_eq!(i.use_(), Some(batch.use_));
            }
        }
    }
    // At most one pending batch per use, and only in its use's period.
    for use_ in USES {
        let pending: Vec<_> = b
            .batches
            .values()
            .filter(|x| x.status == BatchStatus::Pending && x.use_ == use_)
            .collect();
        assert!(pending.len() <= 1, "{use_}: {} pending", pending.len());
        for p in pending {
            assert_eq!(
                p.period,
                rules::use_period(use_, t.current_period, c.today())
            );
        }
    }
    // A transfer-out only for a deducted invoice that became an exception, once.
    for x in b.transfers.values() {
        let inv = &b.invoices[&x.key.to_u128()];
        assert!(inv.status.is_exception());
        assert_eq!(inv.use_(), Some(InvoiceUse::Deduct));
        assert!(inv.selection.is_certified());
    }
}

use std::collections::BTreeMap;

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn invariants_hold_after_every_step(ops in proptest::collection::vec(op(), 1..40)) {
        let mut b = big_world();
        let mut now = at(2026, 10, 20, 9, 0, 0);
        let mut certified = BTreeMap::new();
        for op in ops {
            let snapshot = b.clone();
            let result = step(&mut b, &op, &mut now);
            if result.is_err() {
                // A refused operation changes nothing (the store aborts its transaction).
                b = snapshot;
            }
            // Invariants are stated for a settled book.
            settle(&mut b, &ctx(now), &me()).unwrap();
            check_invariants(&b, &ctx(now), &mut certified);
        }
    }

    #[test]
    fn repeated_submit_is_idempotent(answer in proptest::option::of(0u8..3), day_of in 20u32..=40) {
        let mut b = world();
        let now = at(2026, 11, 1, 9, 0, 0) + chrono::Duration::days(i64::from(day_of));
        let c = ctx(now);
        save_selection(&mut b, &c, &me(), &keys(&[1, 2, 3]), &[]).unwrap();
        make_batch(&mut b, &c, &me(), InvoiceUse::Deduct).unwrap();
        let answer = answer.map(|x| [DeclarationAnswer::NotDeclared, DeclarationAnswer::Declared, DeclarationAnswer::Unsure][usize::from(x)]);
        let first = submit(&mut b, &c, &me(), tp("202611"), 1, answer);
        let after_first = (b.invoices.clone(), b.batches.clone(), b.taxpayers.clone());
        let second = submit(&mut b, &c, &me(), tp("202611"), 1, answer);
        prop_assert_eq!(first.is_ok(), second.is_ok());
        if let (Ok(f), Ok(s)) = (first, second) {
            prop_assert_eq!(f.batch, s.batch);
            prop_assert_eq!(after_first, (b.invoices.clone(), b.batches.clone(), b.taxpayers.clone()));
        }
    }
}
