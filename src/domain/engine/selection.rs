//! 保存 and 批量勾选 (S-T4, S-T5): ticks and unticks for the taxpayer's current period, row
//! by row.

use std::collections::BTreeSet;

use super::{record, settle, unselect_all, Book, Ctx};
use crate::domain::rules::{self, RowRefusal};
use crate::domain::{
    InvoiceChange, InvoiceKey, SelectionState, TaxpayerId, UnselectReason, Usage, UseRequest,
};

/// One refused row of a selection request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRow {
    pub key: InvoiceKey,
    pub reason: RowRefusal,
}

/// The result of saving ticks and unticks (S-T4, S-T5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectionReport {
    pub selected: u64,
    pub unselected: u64,
    /// Rows that asked for the state the invoice already had (bulk files only: a 批量勾选
    /// file lists every invoice, most of them unchanged).
    pub unchanged: u64,
    /// Each refused row with the index of the request list it came from (`select` rows
    /// first, then `unselect` rows).
    pub rejected: Vec<(usize, RejectedRow)>,
}

/// How rows that ask for the state an invoice already has are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectionMode {
    /// 发票勾选 保存: ticking a ticked invoice counts as selected; unticking an unticked
    /// one is refused (`not_selected`).
    Page,
    /// 批量勾选 upload: both are `unchanged`; the file lists every invoice.
    File,
}

/// One row of a selection request: select for a use, or unselect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectionRow {
    Select(InvoiceKey, UseRequest),
    Unselect(InvoiceKey),
}

impl SelectionRow {
    pub fn key(&self) -> &InvoiceKey {
        match self {
            SelectionRow::Select(k, _) | SelectionRow::Unselect(k) => k,
        }
    }
}

/// 保存 of plain 抵扣 selections: selects and unselects invoices for the taxpayer's current
/// period. Each row stands alone: valid rows apply, refused rows are reported with their
/// reason.
pub fn save_selection<B: Book>(
    b: &mut B,
    ctx: &Ctx,
    id: &TaxpayerId,
    select: &[InvoiceKey],
    unselect: &[InvoiceKey],
) -> Result<SelectionReport, B::Error> {
    let rows: Vec<SelectionRow> = select
        .iter()
        .map(|k| SelectionRow::Select(k.clone(), UseRequest::deduct()))
        .chain(unselect.iter().map(|k| SelectionRow::Unselect(k.clone())))
        .collect();
    save_rows(b, ctx, id, &rows)
}

/// 保存 with a use per selected row (`select` rows first, then `unselect` rows).
pub fn save_rows<B: Book>(
    b: &mut B,
    ctx: &Ctx,
    id: &TaxpayerId,
    rows: &[SelectionRow],
) -> Result<SelectionReport, B::Error> {
    apply_selection(b, ctx, id, rows, SelectionMode::Page, "selection.save")
}

/// 批量勾选 upload: `rows` in file order; rejections carry the row's index.
pub fn save_file_selection<B: Book>(
    b: &mut B,
    ctx: &Ctx,
    id: &TaxpayerId,
    rows: &[SelectionRow],
) -> Result<SelectionReport, B::Error> {
    apply_selection(b, ctx, id, rows, SelectionMode::File, "selection.import")
}

fn apply_selection<B: Book>(
    b: &mut B,
    ctx: &Ctx,
    id: &TaxpayerId,
    rows: &[SelectionRow],
    mode: SelectionMode,
    action: &str,
) -> Result<SelectionReport, B::Error> {
    let t = settle(b, ctx, id)?;
    let period = t.current_period;
    let today = ctx.today();
    let registration = b.registration(id)?;
    let mut seen = BTreeSet::new();
    let mut report = SelectionReport::default();
    #[derive(PartialEq)]
    enum Done {
        Selected,
        Unselected,
        Unchanged,
    }
    for (i, row) in rows.iter().enumerate() {
        let key = row.key();
        let outcome = (|| -> Result<Result<Done, RowRefusal>, B::Error> {
            if !seen.insert(key.to_u128()) {
                return Ok(Err(RowRefusal::DuplicateRow));
            }
            let Some(mut inv) = b.invoice(key)? else {
                return Ok(Err(RowRefusal::UnknownInvoice));
            };
            if let SelectionRow::Select(_, request) = row {
                let period = rules::use_period(request.use_or_default(), period, today);
                if let Err(r) = rules::check_select(&inv, id, period, today, ctx.lookback_days) {
                    return Ok(Err(r));
                }
                let usage = match rules::check_use(&inv, request, registration) {
                    Ok(u) => u,
                    Err(r) => return Ok(Err(r)),
                };
                // 抵扣 of the whole tax is kept as no recorded use: the row stays as it was
                // before uses existed.
                let usage = (usage != Usage::deduct(inv.deductible_tax())).then_some(usage);
                if inv.selection == (SelectionState::Selected { period }) && inv.usage == usage {
                    return Ok(Ok(match mode {
                        SelectionMode::Page => Done::Selected,
                        SelectionMode::File => Done::Unchanged,
                    }));
                }
                inv.selection = SelectionState::Selected { period };
                inv.usage = usage.clone();
                b.put_invoice(&inv)?;
                let change = match usage {
                    None => InvoiceChange::Selected { period },
                    Some(usage) => InvoiceChange::SelectedFor { period, usage },
                };
                record(b, ctx, key, change)?;
                Ok(Ok(Done::Selected))
            } else {
                match rules::check_unselect(&inv, id) {
                    Err(RowRefusal::NotSelected) if mode == SelectionMode::File => {
                        return Ok(Ok(Done::Unchanged))
                    }
                    Err(r) => return Ok(Err(r)),
                    Ok(()) => {}
                }
                unselect_all(b, ctx, std::slice::from_ref(key), UnselectReason::Taxpayer)?;
                Ok(Ok(Done::Unselected))
            }
        })()?;
        match outcome {
            Ok(Done::Selected) => report.selected += 1,
            Ok(Done::Unselected) => report.unselected += 1,
            Ok(Done::Unchanged) => report.unchanged += 1,
            Err(reason) => report.rejected.push((
                i,
                RejectedRow {
                    key: key.clone(),
                    reason,
                },
            )),
        }
    }
    b.audit(
        action,
        id.as_str(),
        format!(
            "period={period}; selected={}; unselected={}; unchanged={}; rejected={}",
            report.selected,
            report.unselected,
            report.unchanged,
            report.rejected.len()
        ),
    );
    Ok(report)
}
