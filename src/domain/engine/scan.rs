//! 扫描认证 (S-O3): checking and applying the scan records the office imports.

use chrono::NaiveDate;

use super::{record, unselect_all, Book, Ctx, Refusal};
use crate::domain::{
    Invoice, InvoiceChange, InvoiceKey, SelectionState, TaxPeriod, UnselectReason,
};

/// Why a scan record cannot be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanRefusal {
    UnknownInvoice,
    /// Confirmed or scanned already: an invoice is certified at most once.
    AlreadyCertified,
    /// The period ends before the invoice was issued.
    BeforeIssue,
    /// The period is after the month of the scan.
    PeriodAfterScan,
}

impl ScanRefusal {
    pub fn message(self) -> &'static str {
        match self {
            ScanRefusal::UnknownInvoice => "发票不存在",
            ScanRefusal::AlreadyCertified => "该发票已认证（勾选认证或扫描认证），不能重复认证",
            ScanRefusal::BeforeIssue => "扫描认证日期或所属期早于开票日期",
            ScanRefusal::PeriodAfterScan => "扫描认证的所属期不能晚于扫描认证日期所在月份",
        }
    }
}

/// Checks a scan record against the invoice as it stands.
pub fn check_scan(
    invoice: Option<&Invoice>,
    period: TaxPeriod,
    scanned_on: NaiveDate,
) -> Result<(), ScanRefusal> {
    let inv = invoice.ok_or(ScanRefusal::UnknownInvoice)?;
    if inv.selection.is_certified() {
        return Err(ScanRefusal::AlreadyCertified);
    }
    if inv.issued_on > period.last_day() || scanned_on < inv.issued_on {
        return Err(ScanRefusal::BeforeIssue);
    }
    if period > TaxPeriod::of_date(scanned_on) {
        return Err(ScanRefusal::PeriodAfterScan);
    }
    Ok(())
}

/// Applies one scan record (扫描认证): the invoice becomes certified in `period` on
/// `scanned_on`; an 已勾选 invoice loses its selection first. Refused (and nothing changes)
/// when the invoice is already certified.
pub fn apply_scan<B: Book>(
    b: &mut B,
    ctx: &Ctx,
    key: &InvoiceKey,
    period: TaxPeriod,
    scanned_on: NaiveDate,
) -> Result<Result<(), ScanRefusal>, B::Error> {
    let inv = b.invoice(key)?;
    if let Err(r) = check_scan(inv.as_ref(), period, scanned_on) {
        return Ok(Err(r));
    }
    if matches!(
        inv.as_ref().map(|i| i.selection),
        Some(SelectionState::Selected { .. })
    ) {
        unselect_all(b, ctx, std::slice::from_ref(key), UnselectReason::Scanned)?;
    }
    let mut inv = b.invoice(key)?.ok_or(Refusal::InvoiceNotFound)?;
    inv.selection = SelectionState::Scanned {
        period,
        on: scanned_on,
    };
    b.put_invoice(&inv)?;
    record(
        b,
        ctx,
        key,
        InvoiceChange::Scanned {
            period,
            on: scanned_on,
        },
    )?;
    Ok(Ok(()))
}
