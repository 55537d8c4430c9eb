//! The rules of selection and confirmation (S-P3, S-T6) as plain functions over plain data.
//! The time is always passed in. [`super::engine`] applies them to the records; this module
//! only decides.
//!
//! The period rules — the deadline and the closing of windows (S-P1, S-P2), 回退税款所属期
//! (S-T8) — live in [`super::period`], and why a batch is void with the batches; they are
//! re-exported here, so `rules::` names every decision the engine applies.

use chrono::{Days, NaiveDate};

pub use super::period::{
    deadline, periods_to_close, rollback_check, window_close_reason, CloseReason, RollbackFacts,
    RollbackRefusal, VoidReason,
};
use super::{
    CustomsAudit, DeclarationStatus, DomainError, Fen, Invoice, InvoiceStatus, InvoiceType,
    InvoiceUse, NoDeductReason, RefundRegistration, SelectionState, TaxPeriod, TaxpayerId, Usage,
    UseRequest, REASON_TEXT_MAX,
};

/// Why an invoice cannot be selected or unselected. The API gives `code()`; pages show
/// `message()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowRefusal {
    /// No invoice with this code and number among the taxpayer's: another taxpayer's invoice
    /// gets the same answer as a free key, so that keys cannot be probed.
    UnknownInvoice,
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
    /// A 海关缴款书 whose 稽核比对 result is not 相符.
    AuditMismatch(CustomsAudit),
    /// 退税 or 代办退税 by a taxpayer not registered for it.
    NotRefundEnterprise(InvoiceUse),
    /// A 海关缴款书 may only be selected for 抵扣.
    CustomsDeductOnly,
    /// Already selected for another use: unselect it first.
    UsedOtherwise(InvoiceUse),
    /// 有效税额 above the invoice's deductible tax (the most it may be).
    EffectiveTaxTooHigh(Fen),
    /// 有效税额 of zero or less.
    EffectiveTaxInvalid,
    /// 不抵扣 without a reason, or 其他 without a description.
    ReasonRequired,
}

impl RowRefusal {
    pub fn code(self) -> &'static str {
        match self {
            RowRefusal::UnknownInvoice => "unknown_invoice",
            RowRefusal::NotNormal(_) => "not_normal",
            RowRefusal::AlreadyConfirmed => "already_confirmed",
            RowRefusal::ScanCertified => "scan_certified",
            RowRefusal::NotYetDue => "not_yet_due",
            RowRefusal::OutsideWindow => "outside_window",
            RowRefusal::NotSelected => "not_selected",
            RowRefusal::DuplicateRow => "duplicate_row",
            RowRefusal::AuditMismatch(_) => "audit_mismatch",
            RowRefusal::NotRefundEnterprise(_) => "not_refund_enterprise",
            RowRefusal::CustomsDeductOnly => "customs_deduct_only",
            RowRefusal::UsedOtherwise(_) => "used_otherwise",
            RowRefusal::EffectiveTaxTooHigh(_) => "effective_tax_too_high",
            RowRefusal::EffectiveTaxInvalid => "effective_tax_invalid",
            RowRefusal::ReasonRequired => "reason_required",
        }
    }

    pub fn message(self) -> String {
        match self {
            RowRefusal::UnknownInvoice => "发票不存在，请核对发票代码和发票号码".into(),
            RowRefusal::NotNormal(s) => format!("发票状态为{}，不能勾选", s.label_zh()),
            RowRefusal::AlreadyConfirmed => "该发票已确认，不能修改".into(),
            RowRefusal::ScanCertified => "该发票已扫描认证，不能勾选".into(),
            RowRefusal::NotYetDue => "该发票开票日期晚于当前税款所属期，尚未到期".into(),
            RowRefusal::OutsideWindow => "该发票已超过认证期限，不能勾选".into(),
            RowRefusal::NotSelected => "该发票未勾选，无需撤销".into(),
            RowRefusal::DuplicateRow => "同一发票在本次提交中重复出现".into(),
            RowRefusal::AuditMismatch(a) => format!(
                "海关缴款书稽核比对结果为{}，相符后才能勾选抵扣",
                a.label_zh()
            ),
            RowRefusal::NotRefundEnterprise(InvoiceUse::AgentRefund) => {
                "贵单位未登记为外贸综合服务企业，不能勾选代办退税".into()
            }
            RowRefusal::NotRefundEnterprise(_) => "贵单位未登记为出口退税企业，不能勾选退税".into(),
            RowRefusal::CustomsDeductOnly => {
                "海关缴款书只能勾选用于抵扣，不能用于退税或不抵扣".into()
            }
            RowRefusal::UsedOtherwise(u) => format!(
                "该发票已勾选用于{}，请先撤销勾选后再选择其他用途",
                u.label_zh()
            ),
            RowRefusal::EffectiveTaxTooHigh(max) => {
                format!("有效税额不能大于发票税额 {}", max.format_plain())
            }
            RowRefusal::EffectiveTaxInvalid => "有效税额应大于 0".into(),
            RowRefusal::ReasonRequired => {
                "勾选不抵扣时请选择不抵扣原因；原因为“其他”时请填写具体说明".into()
            }
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

/// 抵扣统计 exists for the current period and the ones before it: a later period has nothing
/// certified yet, so there is no table to show, export or print.
pub fn check_statistics_period(period: TaxPeriod, current: TaxPeriod) -> Result<(), DomainError> {
    if period > current {
        return Err(DomainError::new(
            "period",
            format!(
                "{}尚未到来，当前税款所属期为{}，无抵扣统计",
                period.label_zh(),
                current.label_zh()
            ),
        ));
    }
    Ok(())
}

/// [`check_statistics_period`], also allowing the calendar month of `today` to an enterprise
/// registered for 退税 or 代办退税: those are confirmed for the month itself, which in the
/// filing period is after the current (declared) period, and their 退税 table must be readable
/// then. Other taxpayers have nothing in that month and keep the plain rule.
pub fn check_statistics_month(
    period: TaxPeriod,
    current: TaxPeriod,
    today: NaiveDate,
    registration: RefundRegistration,
) -> Result<(), DomainError> {
    let refunds = registration.exporter || registration.trade_service;
    if refunds && period <= TaxPeriod::of_date(today) {
        return Ok(());
    }
    check_statistics_period(period, current)
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
        return Err(RowRefusal::UnknownInvoice);
    }
    match invoice.selection {
        SelectionState::Confirmed { .. } => return Err(RowRefusal::AlreadyConfirmed),
        SelectionState::Scanned { .. } => return Err(RowRefusal::ScanCertified),
        SelectionState::Unselected | SelectionState::Selected { .. } => {}
    }
    if invoice.status != InvoiceStatus::Normal {
        return Err(RowRefusal::NotNormal(invoice.status));
    }
    if let Some(a) = invoice.audit.filter(|a| *a != CustomsAudit::Match) {
        return Err(RowRefusal::AuditMismatch(a));
    }
    if invoice.issued_on > period.last_day() {
        return Err(RowRefusal::NotYetDue);
    }
    if !within_time_limit(invoice.issued_on, today, lookback_days) {
        return Err(RowRefusal::OutsideWindow);
    }
    Ok(())
}

/// The period a selection for `use_` belongs to: 抵扣 and 不抵扣 the taxpayer's current tax
/// period; 退税 and 代办退税 always the month of `today`.
pub fn use_period(use_: InvoiceUse, current: TaxPeriod, today: NaiveDate) -> TaxPeriod {
    if use_.is_refund() {
        TaxPeriod::of_date(today)
    } else {
        current
    }
}

/// What a selection row asks for, checked against the invoice and the taxpayer's
/// registration (after [`check_select`]): the use must be allowed (退税 only for registered
/// enterprises, a 缴款书 only for 抵扣), an invoice already selected keeps its use until it is
/// unselected, 有效税额 lies in (0, deductible tax] (default: all of it), and 不抵扣 names its
/// reason (其他 with a description). 不抵扣 counts the face tax.
pub fn check_use(
    invoice: &Invoice,
    request: &UseRequest,
    registration: RefundRegistration,
) -> Result<Usage, RowRefusal> {
    let use_ = request.use_or_default();
    if let (SelectionState::Selected { .. }, Some(current)) = (invoice.selection, invoice.use_()) {
        if current != use_ {
            return Err(RowRefusal::UsedOtherwise(current));
        }
    }
    if invoice.kind == InvoiceType::Customs && use_ != InvoiceUse::Deduct {
        return Err(RowRefusal::CustomsDeductOnly);
    }
    if !registration.allows(use_) {
        return Err(RowRefusal::NotRefundEnterprise(use_));
    }
    let max = invoice.deductible_tax();
    if use_ == InvoiceUse::NoDeduct {
        let reason = request.reason.ok_or(RowRefusal::ReasonRequired)?;
        let text = request
            .reason_text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| t.chars().take(REASON_TEXT_MAX).collect::<String>());
        if reason == NoDeductReason::Other && text.is_none() {
            return Err(RowRefusal::ReasonRequired);
        }
        return Ok(Usage {
            use_,
            effective_tax: invoice.tax,
            reason: Some(reason),
            reason_text: if reason == NoDeductReason::Other {
                text
            } else {
                None
            },
        });
    }
    let effective_tax = match request.effective_tax {
        None => max,
        Some(t) if t.value() <= 0 => return Err(RowRefusal::EffectiveTaxInvalid),
        Some(t) if t > max => return Err(RowRefusal::EffectiveTaxTooHigh(max)),
        Some(t) => t,
    };
    Ok(Usage {
        use_,
        effective_tax,
        reason: None,
        reason_text: None,
    })
}

/// The 进项税额转出 an invoice calls for: certified for 抵扣 (勾选 or 扫描) and since become
/// 失控, 异常, 作废 or 红冲 — the tax it deducted (its 有效税额). `None` when it needs none.
pub fn transfer_out_tax(invoice: &Invoice) -> Option<Fen> {
    if !invoice.status.is_exception() {
        return None;
    }
    match (&invoice.selection, &invoice.usage) {
        (SelectionState::Scanned { .. }, _) => Some(invoice.deductible_tax()),
        (SelectionState::Confirmed { .. }, Some(u)) if u.use_ == InvoiceUse::Deduct => {
            Some(u.effective_tax)
        }
        (SelectionState::Confirmed { .. }, None) => Some(invoice.deductible_tax()),
        _ => None,
    }
}

/// Whether `invoice` may be unselected by `taxpayer`: "未执行确认勾选操作前，可以对已勾选且
/// 未确认的发票进行取消勾选的回退处理".
pub fn check_unselect(invoice: &Invoice, taxpayer: &TaxpayerId) -> Result<(), RowRefusal> {
    if &invoice.buyer_id != taxpayer {
        return Err(RowRefusal::UnknownInvoice);
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
            audit: None,
            usage: None,
        }
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
    fn statistics_exist_up_to_the_month_of_refunds() {
        let current = tp("202611");
        let in_filing = NaiveDate::from_ymd_opt(2026, 12, 10).unwrap();
        let reg = exporter();
        assert!(check_statistics_month(tp("202612"), current, in_filing, reg).is_ok());
        assert!(check_statistics_month(tp("202611"), current, in_filing, reg).is_ok());
        let e = check_statistics_month(tp("202701"), current, in_filing, reg).unwrap_err();
        assert_eq!(
            e.message,
            "2027年1月尚未到来，当前税款所属期为2026年11月，无抵扣统计"
        );
        let november = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        assert!(check_statistics_month(tp("202612"), current, november, reg).is_err());
        // Without a 退税 registration the month after the current period stays refused.
        let none = RefundRegistration::default();
        assert!(check_statistics_month(tp("202612"), current, in_filing, none).is_err());
        assert!(check_statistics_month(tp("202611"), current, in_filing, none).is_ok());
    }

    #[test]
    fn statistics_exist_up_to_the_current_period() {
        let current = tp("202611");
        assert!(check_statistics_period(tp("202611"), current).is_ok());
        assert!(check_statistics_period(tp("202001"), current).is_ok());
        let e = check_statistics_period(tp("202612"), current).unwrap_err();
        assert_eq!(e.field, "period");
        assert_eq!(
            e.message,
            "2026年12月尚未到来，当前税款所属期为2026年11月，无抵扣统计"
        );
    }

    #[test]
    fn selection_refusals() {
        let p = tp("202611");
        let today = d(2026, 11, 23);
        let mut inv = invoice(d(2026, 11, 2));
        let other = seller();
        assert_eq!(
            check_select(&inv, &other, p, today, 180),
            Err(RowRefusal::UnknownInvoice),
            "another taxpayer's invoice is answered as if it did not exist"
        );
        assert_eq!(
            check_unselect(&inv, &other),
            Err(RowRefusal::UnknownInvoice)
        );
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
            RowRefusal::NotNormal(InvoiceStatus::Voided),
            RowRefusal::AlreadyConfirmed,
            RowRefusal::ScanCertified,
            RowRefusal::NotYetDue,
            RowRefusal::OutsideWindow,
            RowRefusal::NotSelected,
            RowRefusal::DuplicateRow,
            RowRefusal::AuditMismatch(CustomsAudit::Pending),
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
    fn a_customs_payment_is_selected_only_when_its_audit_matches() {
        let p = tp("202611");
        let today = d(2026, 11, 23);
        let mut inv = invoice(d(2026, 11, 2));
        inv.kind = crate::domain::InvoiceType::Customs;
        inv.key = crate::domain::InvoiceKey::parse_any(None, "530120261000123456-L01").unwrap();
        for a in [
            CustomsAudit::Mismatch,
            CustomsAudit::Pending,
            CustomsAudit::Missing,
            CustomsAudit::Duplicate,
        ] {
            inv.audit = Some(a);
            let r = check_select(&inv, &buyer(), p, today, 180);
            assert_eq!(r, Err(RowRefusal::AuditMismatch(a)));
            assert_eq!(r.unwrap_err().code(), "audit_mismatch");
        }
        assert_eq!(
            RowRefusal::AuditMismatch(CustomsAudit::Pending).message(),
            "海关缴款书稽核比对结果为滞留，相符后才能勾选抵扣"
        );
        inv.audit = Some(CustomsAudit::Match);
        assert_eq!(check_select(&inv, &buyer(), p, today, 180), Ok(()));
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

    fn exporter() -> RefundRegistration {
        RefundRegistration {
            exporter: true,
            trade_service: false,
        }
    }

    fn req(use_: InvoiceUse) -> UseRequest {
        UseRequest::of(use_)
    }

    #[test]
    fn a_plain_request_deducts_the_whole_tax() {
        let inv = invoice(d(2026, 11, 2));
        let u = check_use(&inv, &UseRequest::deduct(), RefundRegistration::default()).unwrap();
        assert_eq!(u, Usage::deduct(Fen::new(1_300)));
    }

    #[test]
    fn effective_tax_may_be_lowered_but_not_raised_or_zeroed() {
        let inv = invoice(d(2026, 11, 2));
        let with = |t: i64| UseRequest {
            effective_tax: Some(Fen::new(t)),
            ..UseRequest::deduct()
        };
        let none = RefundRegistration::default();
        assert_eq!(
            check_use(&inv, &with(800), none).unwrap().effective_tax,
            Fen::new(800)
        );
        assert_eq!(
            check_use(&inv, &with(1_300), none).unwrap().effective_tax,
            Fen::new(1_300)
        );
        assert_eq!(
            check_use(&inv, &with(1_301), none),
            Err(RowRefusal::EffectiveTaxTooHigh(Fen::new(1_300)))
        );
        assert_eq!(
            check_use(&inv, &with(0), none),
            Err(RowRefusal::EffectiveTaxInvalid)
        );
        assert_eq!(
            check_use(&inv, &with(-5), none),
            Err(RowRefusal::EffectiveTaxInvalid)
        );
        // 农产品: the most is the computed deduction (9 % of the amount), not the face tax.
        let farm = Invoice {
            kind: InvoiceType::Agricultural,
            tax: Fen::ZERO,
            ..inv
        };
        assert_eq!(
            check_use(&farm, &with(900), none).unwrap().effective_tax,
            Fen::new(900)
        );
        assert_eq!(
            check_use(&farm, &with(901), none),
            Err(RowRefusal::EffectiveTaxTooHigh(Fen::new(900)))
        );
        assert!(RowRefusal::EffectiveTaxTooHigh(Fen::new(1_300))
            .message()
            .contains("13.00"));
    }

    #[test]
    fn no_deduct_needs_its_reason_and_counts_the_face_tax() {
        let inv = invoice(d(2026, 11, 2));
        let none = RefundRegistration::default();
        let mut r = req(InvoiceUse::NoDeduct);
        assert_eq!(check_use(&inv, &r, none), Err(RowRefusal::ReasonRequired));
        r.reason = Some(NoDeductReason::Other);
        assert_eq!(check_use(&inv, &r, none), Err(RowRefusal::ReasonRequired));
        r.reason_text = Some("  ".into());
        assert_eq!(check_use(&inv, &r, none), Err(RowRefusal::ReasonRequired));
        r.reason_text = Some(" 用于职工食堂 ".into());
        r.effective_tax = Some(Fen::new(1));
        let u = check_use(&inv, &r, none).unwrap();
        assert_eq!(u.use_, InvoiceUse::NoDeduct);
        assert_eq!(
            u.effective_tax,
            Fen::new(1_300),
            "the face tax, whatever was asked"
        );
        assert_eq!(u.reason_text.as_deref(), Some("用于职工食堂"));
        // A description is kept only for 其他.
        r.reason = Some(NoDeductReason::Welfare);
        let u = check_use(&inv, &r, none).unwrap();
        assert_eq!(u.reason, Some(NoDeductReason::Welfare));
        assert_eq!(u.reason_text, None);
        assert_eq!(RowRefusal::ReasonRequired.code(), "reason_required");
    }

    #[test]
    fn refunds_need_the_registration_and_customs_only_deducts() {
        let inv = invoice(d(2026, 11, 2));
        let none = RefundRegistration::default();
        assert_eq!(
            check_use(&inv, &req(InvoiceUse::Refund), none),
            Err(RowRefusal::NotRefundEnterprise(InvoiceUse::Refund))
        );
        assert!(check_use(&inv, &req(InvoiceUse::Refund), exporter()).is_ok());
        assert_eq!(
            check_use(&inv, &req(InvoiceUse::AgentRefund), exporter()),
            Err(RowRefusal::NotRefundEnterprise(InvoiceUse::AgentRefund))
        );
        let ts = RefundRegistration {
            exporter: false,
            trade_service: true,
        };
        assert!(check_use(&inv, &req(InvoiceUse::AgentRefund), ts).is_ok());
        assert!(RowRefusal::NotRefundEnterprise(InvoiceUse::AgentRefund)
            .message()
            .contains("外贸综合服务企业"));
        let customs = Invoice {
            kind: InvoiceType::Customs,
            audit: Some(CustomsAudit::Match),
            ..inv
        };
        for u in [
            InvoiceUse::Refund,
            InvoiceUse::AgentRefund,
            InvoiceUse::NoDeduct,
        ] {
            let mut r = req(u);
            r.reason = Some(NoDeductReason::TaxExempt);
            let all = RefundRegistration {
                exporter: true,
                trade_service: true,
            };
            assert_eq!(
                check_use(&customs, &r, all),
                Err(RowRefusal::CustomsDeductOnly)
            );
        }
        assert!(check_use(&customs, &UseRequest::deduct(), none).is_ok());
    }

    #[test]
    fn a_selected_invoice_keeps_its_use_until_unselected() {
        let p = tp("202611");
        let mut inv = invoice(d(2026, 11, 2));
        inv.selection = SelectionState::Selected { period: p };
        // Plain 抵扣 (no recorded use) refuses 不抵扣; 抵扣 again is fine.
        let mut nd = req(InvoiceUse::NoDeduct);
        nd.reason = Some(NoDeductReason::NonTaxable);
        let none = RefundRegistration::default();
        assert_eq!(
            check_use(&inv, &nd, none),
            Err(RowRefusal::UsedOtherwise(InvoiceUse::Deduct))
        );
        assert!(check_use(&inv, &UseRequest::deduct(), none).is_ok());
        inv.usage = Some(check_use(&invoice(d(2026, 11, 2)), &nd, none).unwrap());
        assert_eq!(
            check_use(&inv, &UseRequest::deduct(), none),
            Err(RowRefusal::UsedOtherwise(InvoiceUse::NoDeduct))
        );
        assert!(RowRefusal::UsedOtherwise(InvoiceUse::NoDeduct)
            .message()
            .contains("不抵扣"));
    }

    #[test]
    fn refunds_belong_to_the_month_and_the_rest_to_the_tax_period() {
        let today = d(2026, 12, 10);
        let current = tp("202611");
        assert_eq!(use_period(InvoiceUse::Deduct, current, today), current);
        assert_eq!(use_period(InvoiceUse::NoDeduct, current, today), current);
        assert_eq!(use_period(InvoiceUse::Refund, current, today), tp("202612"));
        assert_eq!(
            use_period(InvoiceUse::AgentRefund, current, today),
            tp("202612")
        );
    }

    #[test]
    fn transfer_out_is_due_for_deducted_invoices_that_became_exceptions() {
        let p = tp("202611");
        let on = d(2026, 12, 3);
        let mut inv = invoice(d(2026, 11, 2));
        inv.selection = SelectionState::Confirmed {
            period: p,
            batch: 1,
            on,
        };
        assert_eq!(transfer_out_tax(&inv), None, "still 正常");
        for s in [
            InvoiceStatus::OutOfControl,
            InvoiceStatus::Abnormal,
            InvoiceStatus::Voided,
            InvoiceStatus::RedReversed,
        ] {
            inv.status = s;
            assert_eq!(transfer_out_tax(&inv), Some(Fen::new(1_300)));
        }
        // The 有效税额 deducted, not the face tax.
        inv.usage = Some(Usage::deduct(Fen::new(700)));
        assert_eq!(transfer_out_tax(&inv), Some(Fen::new(700)));
        // Not deducted: nothing to transfer.
        inv.usage = Some(Usage {
            use_: InvoiceUse::NoDeduct,
            effective_tax: Fen::new(1_300),
            reason: Some(NoDeductReason::Welfare),
            reason_text: None,
        });
        assert_eq!(transfer_out_tax(&inv), None);
        inv.usage = None;
        inv.selection = SelectionState::Scanned { period: p, on };
        assert_eq!(transfer_out_tax(&inv), Some(Fen::new(1_300)));
        inv.selection = SelectionState::Selected { period: p };
        assert_eq!(transfer_out_tax(&inv), None, "not certified");
    }
}
