//! Small maud components shared by the pages, so that each thing is formatted once: money
//! (`Render for Fen`), the pager, and the invoice table with the columns a page needs.

use maud::{html, Markup, Render};

use crate::domain::{Fen, InvoiceStatus, SelectionState};
use crate::service::listing::InvoiceView;

/// Money as the portal shows it: yuan with thousands separators, `1,234.50`.
impl Render for Fen {
    fn render_to(&self, buffer: &mut String) {
        buffer.push_str(&self.format_grouped());
    }
}

/// `第 n / m 页` with 上一页 and 下一页 links made by `link(page)`.
pub fn pager(
    label: &str,
    page: usize,
    per_page: usize,
    total: u64,
    link: impl Fn(usize) -> String,
) -> Markup {
    let pages = total.div_ceil(per_page.max(1) as u64).max(1);
    html! {
        nav.pager aria-label=(label) {
            "第 " (page) " / " (pages) " 页 "
            @if page > 1 { a href=(link(page - 1)) { "上一页" } " " }
            @if (page as u64) < pages { a href=(link(page + 1)) { "下一页" } }
        }
    }
}

/// A column of an invoice table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    Code,
    Number,
    IssuedOn,
    SellerId,
    SellerName,
    Amount,
    Tax,
    /// 发票状态, marked as an exception when not 正常 (with `exceptions`).
    Status,
    /// 勾选标志 as on 发票勾选.
    Selection,
    /// 认证方式 of a certified invoice.
    Method,
    /// 确认/扫描日期.
    CertifiedOn,
}

impl Col {
    fn heading(self) -> Markup {
        let text = match self {
            Col::Code => "发票代码",
            Col::Number => "发票号码",
            Col::IssuedOn => "开票日期",
            Col::SellerId => "销方税号",
            Col::SellerName => "销方名称",
            Col::Amount => "金额",
            Col::Tax => "税额",
            Col::Status => "发票状态",
            Col::Selection => "勾选标志",
            Col::Method => "认证方式",
            Col::CertifiedOn => "确认/扫描日期",
        };
        html! {
            @if matches!(self, Col::Amount | Col::Tax) { th.num { (text) } } @else { th { (text) } }
        }
    }

    fn cell(self, i: &InvoiceView, exceptions: bool) -> Markup {
        html! {
            @match self {
                Col::Code => td.mono { (i.code_text()) },
                Col::Number => td.mono { (i.number) },
                Col::IssuedOn => td { (i.issued_on) },
                Col::SellerId => td.mono { (i.seller_id) },
                Col::SellerName => td { (i.seller_name) },
                Col::Amount => td.num { (i.amount) },
                Col::Tax => td.num { (i.tax) },
                Col::Status => td class=[(exceptions && i.status != InvoiceStatus::Normal).then_some("exception")] { (i.status.label_zh()) },
                Col::Selection => td { (selection_flag(&i.selection)) },
                Col::Method => td { @if matches!(i.selection, SelectionState::Scanned { .. }) { "扫描认证" } @else { "勾选认证" } },
                Col::CertifiedOn => td { (i.certified_on.map(|d| d.to_string()).unwrap_or_default()) },
            }
        }
    }
}

/// 勾选标志 on 发票勾选.
fn selection_flag(s: &SelectionState) -> &'static str {
    match s {
        SelectionState::Unselected => "未勾选",
        SelectionState::Selected { .. } => "已勾选",
        SelectionState::Confirmed { .. } => "已确认",
        SelectionState::Scanned { .. } => "扫描认证",
    }
}

/// The cell of a table's extra first column, from the row's index and invoice.
pub type LeadCell<'a> = dyn Fn(usize, &InvoiceView) -> Markup + 'a;

/// An invoice table with `cols`; `lead`, when given, renders an extra first column (its
/// heading and, per row, its cell from the row's index and invoice) such as the 勾选
/// checkbox or the 序号.
pub struct InvoiceTable<'a> {
    pub items: &'a [InvoiceView],
    pub cols: &'a [Col],
    /// Mark 发票状态 cells of exception invoices (作废, 失控, 红冲, 异常).
    pub exceptions: bool,
    pub lead: Option<(Markup, &'a LeadCell<'a>)>,
}

impl Render for InvoiceTable<'_> {
    fn render(&self) -> Markup {
        html! {
            table.grid {
                thead { tr {
                    @if let Some((h, _)) = &self.lead { th { (h) } }
                    @for c in self.cols { (c.heading()) }
                } }
                tbody {
                    @for (n, i) in self.items.iter().enumerate() {
                        tr {
                            @if let Some((_, cell)) = &self.lead { td { (cell(n, i)) } }
                            @for c in self.cols { (c.cell(i, self.exceptions)) }
                        }
                    }
                }
            }
        }
    }
}

/// `s` percent-encoded for a path segment or a query value in a link.
pub fn url_part(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod url_tests {
    use super::url_part;

    #[test]
    fn link_parts_are_percent_encoded() {
        assert_eq!(url_part("上课 a"), "%E4%B8%8A%E8%AF%BE%20a");
        assert_eq!(url_part("a/b?c"), "a%2Fb%3Fc");
    }
}
