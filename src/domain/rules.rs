//! The rules of periods, selection, confirmation and rollback (S-P1–S-P3, S-T6, S-T8) as
//! plain functions over plain data. The time is always passed in. [`super::engine`] applies
//! them to the records; this module only decides.

use chrono::{Days, NaiveDate};

use super::{DeclarationStatus, Invoice, InvoiceStatus, SelectionState, TaxPeriod, TaxpayerId};

/// The declaration deadline (申报截止日) of `period`: the office's date for the province if
/// one is recorded, else the statutory default, the 15th of the following month (S-P1).
pub fn deadline(period: TaxPeriod, recorded: Option<NaiveDate>) -> NaiveDate {
    recorded.unwrap_or_else(|| period.default_deadline())
}

/// Why a period's window closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The declaration of the period was recorded as 已申报.
    Declared,
    /// No declaration arrived and the deadline day ended.
    DeadlinePassed,
}

/// Whether the selection window of `period` is open on `today` (S-P1): "当期勾选、确认的
/// 开始时间为您完成上一期申报的当天，结束时间为您完成当期申报的当天；若您一直未进行当期申报，
/// 当期勾选确认的截止时间为您所在省份税务机关设置的当期申报截止期当天" — it stays open through
/// the whole deadline day (until 24:00 local time) unless the declaration is recorded first.
pub fn window_close_reason(
    today: NaiveDate,
    deadline: NaiveDate,
    declaration: Option<DeclarationStatus>,
) -> Option<CloseReason> {
    if declaration == Some(DeclarationStatus::Declared) {
        Some(CloseReason::Declared)
    } else if today > deadline {
        Some(CloseReason::DeadlinePassed)
    } else {
        None
    }
}

/// At most this many periods are closed in one settlement (a century of months): a guard
/// against a nonsensical clock, never reached in practice.
const MAX_ADVANCE: usize = 1200;

/// The periods whose windows have closed by `today`, oldest first, starting from `current`:
/// the first period returned is `current`, each next one its successor, and the period after
/// the last is the new current period. Empty when `current`'s window is still open. A server
/// that was down over a deadline catches up here: every passed deadline closes its period.
/// `facts(p)` gives the deadline and the recorded declaration status of `p`.
pub fn periods_to_close<E>(
    current: TaxPeriod,
    today: NaiveDate,
    mut facts: impl FnMut(TaxPeriod) -> Result<(NaiveDate, Option<DeclarationStatus>), E>,
) -> Result<Vec<(TaxPeriod, CloseReason)>, E> {
    let mut out = Vec::new();
    let mut p = current;
    while out.len() < MAX_ADVANCE && p != TaxPeriod::MAX {
        let (deadline, declaration) = facts(p)?;
        match window_close_reason(today, deadline, declaration) {
            Some(reason) => {
                out.push((p, reason));
                p = p.next();
            }
            None => break,
        }
    }
    Ok(out)
}

/// Why an invoice cannot be selected or unselected. The API gives `code()`; pages show
/// `message()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowRefusal {
    /// No invoice with this code and number.
    UnknownInvoice,
    /// The buyer is another taxpayer.
    NotYours,
    /// Status is not 正常 (S-P3).
    NotNormal(InvoiceStatus),
    /// Already confirmed (勾选认证): final.
    AlreadyConfirmed,
    /// Scan-certified at the tax office: certified already.
    ScanCertified,
    /// Issued after the end of the current period (未到期).
    NotYetDue,
    /// Older than the certification time limit.
    OutsideWindow,
    /// Unselecting an invoice that is not 已勾选.
    NotSelected,
    /// The same invoice appears twice in one request.
    DuplicateRow,
}

impl RowRefusal {
    pub fn code(self) -> &'static str {
        match self {
            RowRefusal::UnknownInvoice => "unknown_invoice",
            RowRefusal::NotYours => "not_yours",
            RowRefusal::NotNormal(_) => "not_normal",
            RowRefusal::AlreadyConfirmed => "already_confirmed",
            RowRefusal::ScanCertified => "scan_certified",
            RowRefusal::NotYetDue => "not_yet_due",
            RowRefusal::OutsideWindow => "outside_window",
            RowRefusal::NotSelected => "not_selected",
            RowRefusal::DuplicateRow => "duplicate_row",
        }
    }

    pub fn message(self) -> String {
        match self {
            RowRefusal::UnknownInvoice => "发票不存在，请核对发票代码和发票号码".into(),
            RowRefusal::NotYours => "该发票的购方不是本纳税人".into(),
            RowRefusal::NotNormal(s) => format!("发票状态为{}，不能勾选", s.label_zh()),
            RowRefusal::AlreadyConfirmed => "该发票已确认，不能修改".into(),
            RowRefusal::ScanCertified => "该发票已扫描认证，不能勾选".into(),
            RowRefusal::NotYetDue => "该发票开票日期晚于当前税款所属期，尚未到期".into(),
            RowRefusal::OutsideWindow => "该发票已超过认证期限，不能勾选".into(),
            RowRefusal::NotSelected => "该发票未勾选，无需撤销".into(),
            RowRefusal::DuplicateRow => "同一发票在本次提交中重复出现".into(),
        }
    }
}

/// Whether `issued_on` is still within the certification time limit on `today` (S-P3):
/// at most `lookback_days` days ago; 0 means no limit. An invoice issued exactly
/// `lookback_days` days ago is still within it.
pub fn within_time_limit(issued_on: NaiveDate, today: NaiveDate, lookback_days: u32) -> bool {
    if lookback_days == 0 {
        return true;
    }
    match today.checked_sub_days(Days::new(u64::from(lookback_days))) {
        Some(earliest) => issued_on >= earliest,
        None => true,
    }
}

/// Whether `invoice` may be selected by `taxpayer` in its current period `period` on
/// `today` (S-P3): buyer is the taxpayer, status 正常, not certified, issued no later than
/// the last day of the period, and within the certification time limit. Selecting an
/// invoice already 已勾选 in this period is allowed (it stays selected).
pub fn check_select(
    invoice: &Invoice,
    taxpayer: &TaxpayerId,
    period: TaxPeriod,
    today: NaiveDate,
    lookback_days: u32,
) -> Result<(), RowRefusal> {
    if &invoice.buyer_id != taxpayer {
        return Err(RowRefusal::NotYours);
    }
    match invoice.selection {
        SelectionState::Confirmed { .. } => return Err(RowRefusal::AlreadyConfirmed),
        SelectionState::Scanned { .. } => return Err(RowRefusal::ScanCertified),
        SelectionState::Unselected | SelectionState::Selected { .. } => {}
    }
    if invoice.status != InvoiceStatus::Normal {
        return Err(RowRefusal::NotNormal(invoice.status));
    }
    if invoice.issued_on > period.last_day() {
        return Err(RowRefusal::NotYetDue);
    }
    if !within_time_limit(invoice.issued_on, today, lookback_days) {
        return Err(RowRefusal::OutsideWindow);
    }
    Ok(())
}

/// Whether `invoice` may be unselected by `taxpayer`: "未执行确认勾选操作前，可以对已勾选且
/// 未确认的发票进行取消勾选的回退处理".
pub fn check_unselect(invoice: &Invoice, taxpayer: &TaxpayerId) -> Result<(), RowRefusal> {
    if &invoice.buyer_id != taxpayer {
        return Err(RowRefusal::NotYours);
    }
    match invoice.selection {
        SelectionState::Selected { .. } => Ok(()),
        SelectionState::Confirmed { .. } => Err(RowRefusal::AlreadyConfirmed),
        SelectionState::Scanned { .. } => Err(RowRefusal::ScanCertified),
        SelectionState::Unselected => Err(RowRefusal::NotSelected),
    }
}

/// The taxpayer's answer at 提交 during the filing period (S-T6): "请您选择是否已完成税款所属期
/// XXXX年XX月的增值税申报工作".
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclarationAnswer {
    /// 未完成申报: the confirmation goes on.
    NotDeclared,
    /// 已完成申报: the batch is void and the period advances.
    Declared,
    /// 不确定: nothing happens.
    Unsure,
}

impl DeclarationAnswer {
    pub fn parse_api(s: &str) -> Result<Self, super::DomainError> {
        match s.trim() {
            "not_declared" | "未完成申报" => Ok(Self::NotDeclared),
            "declared" | "已完成申报" => Ok(Self::Declared),
            "unsure" | "不确定" => Ok(Self::Unsure),
            _ => Err(super::DomainError::new(
                "declaration",
                "申报情况应为 not_declared（未完成申报）、declared（已完成申报）或 unsure（不确定）",
            )),
        }
    }
}

/// Why a batch became void.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoidReason {
    /// The recorded declaration status of the period is 已申报.
    PeriodDeclared,
    /// The taxpayer answered 已完成申报.
    TaxpayerDeclared,
    /// The window closed at the deadline while the batch was pending.
    WindowClosed,
    /// The period was rolled back while the batch was pending (S-T8).
    RolledBack,
}

impl VoidReason {
    pub fn as_str(self) -> &'static str {
        match self {
            VoidReason::PeriodDeclared => "period_declared",
            VoidReason::TaxpayerDeclared => "taxpayer_declared",
            VoidReason::WindowClosed => "window_closed",
            VoidReason::RolledBack => "rolled_back",
        }
    }

    /// The manual's message for the void batch of `period`.
    pub fn message(self, period: TaxPeriod) -> String {
        match self {
            VoidReason::PeriodDeclared => format!(
                "本次确认不成功，原因：您税款所属期{}的申报工作已完成，本批次发票请您在下期进行勾选认证操作！",
                period.label_zh()
            ),
            VoidReason::TaxpayerDeclared => format!(
                "您已选择已完成税款所属期{}的申报，本次确认的数据无效，发票已回退至未勾选状态，税款所属期已变更为下期，请重新进行勾选和确认操作。",
                period.label_zh()
            ),
            VoidReason::WindowClosed => format!(
                "税款所属期{}的勾选确认期限已过，本次确认的数据无效，发票已回退至未勾选状态。",
                period.label_zh()
            ),
            VoidReason::RolledBack => format!(
                "税款所属期已回退，{}的待提交确认作废，发票已回退至未勾选状态。",
                period.label_zh()
            ),
        }
    }
}

/// What 提交 of a pending batch does (S-T6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitDecision {
    /// Confirm the batch: its invoices become 已确认.
    Submit,
    /// The batch is void, its invoices return to 未勾选 and the period advances.
    Void(VoidReason),
    /// 不确定: nothing changes.
    StayPending,
    /// Inside the filing period without an answer: the taxpayer must choose.
    AnswerRequired,
}

/// Decides 提交 for a pending batch of `period` on `today`. Outside the filing period the
/// answer is not asked. Inside it ("当您在申报期内进行确认操作时，平台会自动获取您当期的申报
/// 结果"): 已申报 recorded voids the batch; otherwise the taxpayer's answer decides.
pub fn submit_decision(
    period: TaxPeriod,
    today: NaiveDate,
    deadline: NaiveDate,
    declaration: Option<DeclarationStatus>,
    answer: Option<DeclarationAnswer>,
) -> SubmitDecision {
    if !period.filing_period(deadline).contains(today) {
        return SubmitDecision::Submit;
    }
    if declaration == Some(DeclarationStatus::Declared) {
        return SubmitDecision::Void(VoidReason::PeriodDeclared);
    }
    match answer {
        None => SubmitDecision::AnswerRequired,
        Some(DeclarationAnswer::NotDeclared) => SubmitDecision::Submit,
        Some(DeclarationAnswer::Declared) => SubmitDecision::Void(VoidReason::TaxpayerDeclared),
        Some(DeclarationAnswer::Unsure) => SubmitDecision::StayPending,
    }
}

/// The unmet condition of 回退税款所属期 (S-T8), in the order they are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RollbackRefusal {
    /// "在本平台确认勾选时，手工误点击'已完成申报'选项" does not hold.
    NotManualAdvance,
    /// "跳转到下期后，没有在'确认勾选'模块进行过确认已勾选发票的操作" does not hold.
    ConfirmedInNewPeriod,
    /// "系统获取到的当期申报结果为'未申报'" does not hold.
    PreviousPeriodDeclared,
    /// "回退功能在征期内有效" does not hold.
    OutsideFilingPeriod,
}

impl RollbackRefusal {
    pub fn code(self) -> &'static str {
        match self {
            RollbackRefusal::NotManualAdvance => "not_manual_advance",
            RollbackRefusal::ConfirmedInNewPeriod => "confirmed_in_new_period",
            RollbackRefusal::PreviousPeriodDeclared => "previous_period_declared",
            RollbackRefusal::OutsideFilingPeriod => "outside_filing_period",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            RollbackRefusal::NotManualAdvance => {
                "不符合回退条件：当前税款所属期不是因确认勾选时选择“已完成申报”而跳转的"
            }
            RollbackRefusal::ConfirmedInNewPeriod => {
                "不符合回退条件：跳转到下期后已进行过确认勾选操作"
            }
            RollbackRefusal::PreviousPeriodDeclared => {
                "不符合回退条件：系统获取到的上期申报结果不是“未申报”"
            }
            RollbackRefusal::OutsideFilingPeriod => "不符合回退条件：回退功能仅在征期内有效",
        }
    }
}

/// The facts 回退税款所属期 is decided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollbackFacts {
    pub current: TaxPeriod,
    /// The period left by answering 已完成申报, if that is how the period last advanced.
    pub manual_advance_from: Option<TaxPeriod>,
    /// Submitted confirmation batches in the current period.
    pub submitted_in_current: usize,
    /// The recorded declaration status of the previous period.
    pub previous_declaration: Option<DeclarationStatus>,
    /// The deadline of the previous period.
    pub previous_deadline: NaiveDate,
    pub today: NaiveDate,
}

/// Whether the period may go back (S-T8); `Ok` names the period it goes back to.
pub fn rollback_check(f: &RollbackFacts) -> Result<TaxPeriod, RollbackRefusal> {
    let previous = f.current.prev();
    if f.manual_advance_from != Some(previous) || previous == f.current {
        return Err(RollbackRefusal::NotManualAdvance);
    }
    if f.submitted_in_current > 0 {
        return Err(RollbackRefusal::ConfirmedInNewPeriod);
    }
    if f.previous_declaration != Some(DeclarationStatus::NotDeclared) {
        return Err(RollbackRefusal::PreviousPeriodDeclared);
    }
    if !previous
        .filing_period(f.previous_deadline)
        .contains(f.today)
    {
        return Err(RollbackRefusal::OutsideFilingPeriod);
    }
    Ok(previous)
}

/// A platform password must be at least 8 characters and mix letters with digits or
/// symbols (S-T11): letters only or digits only is too weak.
pub fn password_strength(password: &str) -> Result<(), super::DomainError> {
    let weak = || super::DomainError::new("password", "平台密码至少8位，且不能为纯字母或纯数字");
    if password.chars().count() < 8 {
        return Err(weak());
    }
    if password.chars().all(char::is_alphabetic) || password.chars().all(|c| c.is_ascii_digit()) {
        return Err(weak());
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::{Fen, InvoiceKey, InvoiceType};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn tp(s: &str) -> TaxPeriod {
        TaxPeriod::parse(s).unwrap()
    }

    /// A valid unified social credit code from its first 17 characters.
    pub(crate) fn id(body: &str) -> TaxpayerId {
        let c = crate::domain::credit_code_check_char(body).unwrap();
        TaxpayerId::parse(&format!("{body}{c}")).unwrap()
    }

    fn buyer() -> TaxpayerId {
        id("91110108MA01A2B3C")
    }

    fn seller() -> TaxpayerId {
        id("91440300MA5ABCDEF")
    }

    fn invoice(issued_on: NaiveDate) -> Invoice {
        Invoice {
            key: InvoiceKey::parse("1100162130", "00000001").unwrap(),
            kind: InvoiceType::Special,
            issued_on,
            seller_id: seller(),
            seller_name: "销方".into(),
            buyer_id: buyer(),
            amount: Fen::new(10_000),
            tax: Fen::new(1_300),
            status: InvoiceStatus::Normal,
            selection: SelectionState::Unselected,
        }
    }

    #[test]
    fn window_is_open_through_the_whole_deadline_day() {
        let dl = d(2026, 12, 15);
        // 2026-12-15 23:59:59 +08:00 is still the 15th locally: open.
        assert_eq!(window_close_reason(d(2026, 12, 15), dl, None), None);
        // 00:00 on the 16th: closed.
        assert_eq!(
            window_close_reason(d(2026, 12, 16), dl, None),
            Some(CloseReason::DeadlinePassed)
        );
        assert_eq!(
            window_close_reason(d(2026, 12, 2), dl, Some(DeclarationStatus::Declared)),
            Some(CloseReason::Declared)
        );
        for s in [DeclarationStatus::NotDeclared, DeclarationStatus::Unknown] {
            assert_eq!(window_close_reason(d(2026, 12, 15), dl, Some(s)), None);
        }
    }

    #[test]
    fn default_deadline_and_office_override() {
        assert_eq!(deadline(tp("202611"), None), d(2026, 12, 15));
        assert_eq!(deadline(tp("202612"), None), d(2027, 1, 15));
        assert_eq!(deadline(tp("202601"), Some(d(2026, 2, 24))), d(2026, 2, 24));
    }

    fn close(
        current: TaxPeriod,
        today: NaiveDate,
        deadline_of: impl Fn(TaxPeriod) -> NaiveDate,
        declaration_of: impl Fn(TaxPeriod) -> Option<DeclarationStatus>,
    ) -> Vec<(TaxPeriod, CloseReason)> {
        periods_to_close(current, today, |p| {
            Ok::<_, ()>((deadline_of(p), declaration_of(p)))
        })
        .unwrap()
    }

    #[test]
    fn closing_catches_up_over_several_deadlines_and_years() {
        // Server down from mid-November 2026 to February 2027: 202610, 202611, 202612 close.
        let closed = close(
            tp("202610"),
            d(2027, 2, 1),
            |p| p.default_deadline(),
            |_| None,
        );
        assert_eq!(
            closed,
            vec![
                (tp("202610"), CloseReason::DeadlinePassed),
                (tp("202611"), CloseReason::DeadlinePassed),
                (tp("202612"), CloseReason::DeadlinePassed),
            ]
        );
        assert_eq!(closed.last().unwrap().0.next(), tp("202701"));
        // A declaration closes early; the next period then stays open.
        let closed = close(
            tp("202611"),
            d(2026, 12, 3),
            |p| p.default_deadline(),
            |p| (p == tp("202611")).then_some(DeclarationStatus::Declared),
        );
        assert_eq!(closed, vec![(tp("202611"), CloseReason::Declared)]);
        assert!(close(
            tp("202611"),
            d(2026, 12, 15),
            |p| p.default_deadline(),
            |_| None
        )
        .is_empty());
    }

    #[test]
    fn deadline_moved_by_the_office() {
        let moved = |p: TaxPeriod| {
            if p == tp("202601") {
                d(2026, 2, 24)
            } else {
                p.default_deadline()
            }
        };
        // The default would have closed 202601 on 2026-02-16; the moved deadline keeps it open.
        assert!(close(tp("202601"), d(2026, 2, 16), moved, |_| None).is_empty());
        assert!(close(tp("202601"), d(2026, 2, 24), moved, |_| None).is_empty());
        assert_eq!(
            close(tp("202601"), d(2026, 2, 25), moved, |_| None).len(),
            1
        );
        // Moved earlier: closes sooner.
        let earlier = |p: TaxPeriod| {
            if p == tp("202601") {
                d(2026, 2, 10)
            } else {
                p.default_deadline()
            }
        };
        assert_eq!(
            close(tp("202601"), d(2026, 2, 11), earlier, |_| None).len(),
            1
        );
    }

    #[test]
    fn months_of_different_lengths_and_december() {
        // February of a leap year: invoices of 2028-02-29 are due in 202802.
        let inv = invoice(d(2028, 2, 29));
        assert_eq!(
            check_select(&inv, &buyer(), tp("202802"), d(2028, 3, 5), 180),
            Ok(())
        );
        assert_eq!(
            check_select(&inv, &buyer(), tp("202801"), d(2028, 3, 5), 180),
            Err(RowRefusal::NotYetDue)
        );
        // 30-day month: the 30th is due, the 1st of next month is not.
        let p = tp("202611");
        assert_eq!(
            check_select(&invoice(d(2026, 11, 30)), &buyer(), p, d(2026, 12, 1), 180),
            Ok(())
        );
        assert_eq!(
            check_select(&invoice(d(2026, 12, 1)), &buyer(), p, d(2026, 12, 1), 180),
            Err(RowRefusal::NotYetDue)
        );
        // December → January: 2026-12-31 belongs to 202612, which closes on 2027-01-15.
        let dec = tp("202612");
        assert_eq!(
            check_select(
                &invoice(d(2026, 12, 31)),
                &buyer(),
                dec,
                d(2027, 1, 15),
                180
            ),
            Ok(())
        );
        assert_eq!(dec.filing_period(deadline(dec, None)).from, d(2027, 1, 1));
        assert_eq!(dec.next(), tp("202701"));
    }

    #[test]
    fn invoice_exactly_at_the_look_back_limit() {
        let today = d(2026, 11, 23);
        let limit = today.checked_sub_days(Days::new(180)).unwrap(); // 2026-05-27
        assert_eq!(limit, d(2026, 5, 27));
        let p = tp("202611");
        assert_eq!(
            check_select(&invoice(limit), &buyer(), p, today, 180),
            Ok(())
        );
        let older = limit.pred_opt().unwrap();
        assert_eq!(
            check_select(&invoice(older), &buyer(), p, today, 180),
            Err(RowRefusal::OutsideWindow)
        );
        // 360 under the 2017 rule; 0 = no limit (since 2020-03-01).
        assert_eq!(
            check_select(&invoice(older), &buyer(), p, today, 360),
            Ok(())
        );
        assert_eq!(
            check_select(&invoice(d(2001, 1, 1)), &buyer(), p, today, 0),
            Ok(())
        );
        assert!(within_time_limit(limit, today, 180));
        assert!(!within_time_limit(older, today, 180));
    }

    #[test]
    fn selection_refusals() {
        let p = tp("202611");
        let today = d(2026, 11, 23);
        let mut inv = invoice(d(2026, 11, 2));
        let other = seller();
        assert_eq!(
            check_select(&inv, &other, p, today, 180),
            Err(RowRefusal::NotYours)
        );
        assert_eq!(check_unselect(&inv, &other), Err(RowRefusal::NotYours));
        assert_eq!(check_unselect(&inv, &buyer()), Err(RowRefusal::NotSelected));
        for s in [
            InvoiceStatus::Voided,
            InvoiceStatus::RedReversed,
            InvoiceStatus::OutOfControl,
            InvoiceStatus::Abnormal,
        ] {
            inv.status = s;
            assert_eq!(
                check_select(&inv, &buyer(), p, today, 180),
                Err(RowRefusal::NotNormal(s))
            );
        }
        inv.status = InvoiceStatus::Normal;
        inv.selection = SelectionState::Selected { period: p };
        assert_eq!(check_select(&inv, &buyer(), p, today, 180), Ok(()));
        assert_eq!(check_unselect(&inv, &buyer()), Ok(()));
        inv.selection = SelectionState::Confirmed {
            period: p,
            batch: 1,
            on: today,
        };
        assert_eq!(
            check_select(&inv, &buyer(), p, today, 180),
            Err(RowRefusal::AlreadyConfirmed)
        );
        assert_eq!(
            check_unselect(&inv, &buyer()),
            Err(RowRefusal::AlreadyConfirmed)
        );
        inv.selection = SelectionState::Scanned {
            period: p,
            on: today,
        };
        assert_eq!(
            check_select(&inv, &buyer(), p, today, 180),
            Err(RowRefusal::ScanCertified)
        );
        assert_eq!(
            check_unselect(&inv, &buyer()),
            Err(RowRefusal::ScanCertified)
        );
        let codes: std::collections::HashSet<_> = [
            RowRefusal::UnknownInvoice,
            RowRefusal::NotYours,
            RowRefusal::NotNormal(InvoiceStatus::Voided),
            RowRefusal::AlreadyConfirmed,
            RowRefusal::ScanCertified,
            RowRefusal::NotYetDue,
            RowRefusal::OutsideWindow,
            RowRefusal::NotSelected,
            RowRefusal::DuplicateRow,
        ]
        .iter()
        .map(|r| {
            assert!(!r.message().is_empty());
            r.code()
        })
        .collect();
        assert_eq!(codes.len(), 9);
    }

    #[test]
    fn submit_outside_the_filing_period_needs_no_answer() {
        let p = tp("202611");
        let dl = d(2026, 12, 15);
        for today in [d(2026, 11, 1), d(2026, 11, 30)] {
            assert_eq!(
                submit_decision(p, today, dl, None, None),
                SubmitDecision::Submit
            );
            // A recorded status is not consulted before the filing period begins.
            assert_eq!(
                submit_decision(p, today, dl, Some(DeclarationStatus::Declared), None),
                SubmitDecision::Submit
            );
        }
    }

    #[test]
    fn submit_in_the_filing_period_the_three_answers() {
        let p = tp("202611");
        let dl = d(2026, 12, 15);
        for today in [d(2026, 12, 1), d(2026, 12, 15)] {
            assert_eq!(
                submit_decision(p, today, dl, Some(DeclarationStatus::Declared), None),
                SubmitDecision::Void(VoidReason::PeriodDeclared)
            );
            // Recorded 已申报 wins over any answer.
            assert_eq!(
                submit_decision(
                    p,
                    today,
                    dl,
                    Some(DeclarationStatus::Declared),
                    Some(DeclarationAnswer::NotDeclared)
                ),
                SubmitDecision::Void(VoidReason::PeriodDeclared)
            );
            for decl in [
                None,
                Some(DeclarationStatus::NotDeclared),
                Some(DeclarationStatus::Unknown),
            ] {
                assert_eq!(
                    submit_decision(p, today, dl, decl, None),
                    SubmitDecision::AnswerRequired
                );
                assert_eq!(
                    submit_decision(p, today, dl, decl, Some(DeclarationAnswer::NotDeclared)),
                    SubmitDecision::Submit
                );
                assert_eq!(
                    submit_decision(p, today, dl, decl, Some(DeclarationAnswer::Declared)),
                    SubmitDecision::Void(VoidReason::TaxpayerDeclared)
                );
                assert_eq!(
                    submit_decision(p, today, dl, decl, Some(DeclarationAnswer::Unsure)),
                    SubmitDecision::StayPending
                );
            }
        }
    }

    fn facts() -> RollbackFacts {
        RollbackFacts {
            current: tp("202612"),
            manual_advance_from: Some(tp("202611")),
            submitted_in_current: 0,
            previous_declaration: Some(DeclarationStatus::NotDeclared),
            previous_deadline: d(2026, 12, 15),
            today: d(2026, 12, 10),
        }
    }

    #[test]
    fn rollback_allowed_when_all_hold() {
        assert_eq!(rollback_check(&facts()), Ok(tp("202611")));
        // Last day of the filing period.
        assert_eq!(
            rollback_check(&RollbackFacts {
                today: d(2026, 12, 15),
                ..facts()
            }),
            Ok(tp("202611"))
        );
    }

    #[test]
    fn each_rollback_condition_failing_alone() {
        let cases = [
            (
                RollbackFacts {
                    manual_advance_from: None,
                    ..facts()
                },
                RollbackRefusal::NotManualAdvance,
            ),
            (
                RollbackFacts {
                    manual_advance_from: Some(tp("202610")),
                    ..facts()
                },
                RollbackRefusal::NotManualAdvance,
            ),
            (
                RollbackFacts {
                    submitted_in_current: 1,
                    ..facts()
                },
                RollbackRefusal::ConfirmedInNewPeriod,
            ),
            (
                RollbackFacts {
                    previous_declaration: Some(DeclarationStatus::Declared),
                    ..facts()
                },
                RollbackRefusal::PreviousPeriodDeclared,
            ),
            (
                RollbackFacts {
                    previous_declaration: Some(DeclarationStatus::Unknown),
                    ..facts()
                },
                RollbackRefusal::PreviousPeriodDeclared,
            ),
            (
                RollbackFacts {
                    previous_declaration: None,
                    ..facts()
                },
                RollbackRefusal::PreviousPeriodDeclared,
            ),
            (
                RollbackFacts {
                    today: d(2026, 12, 16),
                    ..facts()
                },
                RollbackRefusal::OutsideFilingPeriod,
            ),
            (
                RollbackFacts {
                    today: d(2026, 11, 30),
                    ..facts()
                },
                RollbackRefusal::OutsideFilingPeriod,
            ),
        ];
        for (f, want) in cases {
            assert_eq!(rollback_check(&f), Err(want), "{f:?}");
            assert!(!want.message().is_empty());
        }
    }

    #[test]
    fn password_strength_rules() {
        for weak in [
            "",
            "a1b2c3d",
            "abcdefgh",
            "ABCDEFGHIJ",
            "12345678",
            "纳税人纳税人纳税",
        ] {
            assert_eq!(
                password_strength(weak).unwrap_err().field,
                "password",
                "{weak}"
            );
        }
        for ok in ["abcd1234", "Passw0rd!", "中文密码abc12"] {
            assert!(password_strength(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn answers_parse() {
        assert_eq!(
            DeclarationAnswer::parse_api("unsure").unwrap(),
            DeclarationAnswer::Unsure
        );
        assert_eq!(
            DeclarationAnswer::parse_api("已完成申报").unwrap(),
            DeclarationAnswer::Declared
        );
        assert_eq!(
            DeclarationAnswer::parse_api("maybe").unwrap_err().field,
            "declaration"
        );
    }
}
