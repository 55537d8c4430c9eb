//! Small maud components shared by the pages, so that each thing is formatted once: money
//! (`Render for Fen`), the pager, and the invoice table with the columns a page needs.

use maud::{html, Markup, Render};

use crate::domain::{Fen, InvoiceStatus, SelectionState};
use crate::service::listing::InvoiceView;
use crate::service::portal::alerts::{Alert, AlertKind};

/// Money as the portal shows it: yuan with thousands separators, `1,234.50`.
impl Render for Fen {
    fn render_to(&self, buffer: &mut String) {
        buffer.push_str(&self.format_grouped());
    }
}

/// Page sizes offered by the pager's 每页显示 selector.
pub const PAGE_SIZES: &[usize] = &[10, 20, 50, 100, 200, 500];

/// The full pager: `共 N 条，第 n / m 页`, 首页, 上一页, 下一页, 尾页 (links made by
/// `link(page)`; the unavailable ones shown greyed out) and a form jumping to a page (and, when
/// the list's links carry `per_page`, choosing the page size). The form is a plain GET form:
/// it repeats the link's other parameters as hidden fields, so it works without scripts.
pub fn pager(
    label: &str,
    page: usize,
    per_page: usize,
    total: u64,
    link: impl Fn(usize) -> String,
) -> Markup {
    let pages = total.div_ceil(per_page.max(1) as u64).max(1);
    let nav = |text: &str, to: usize, rel: &str, on: bool| {
        html! {
            @if on { a href=(link(to)) rel=(rel) { (text) } }
            @else { span.off aria-disabled="true" { (text) } }
        }
    };
    let last = usize::try_from(pages).unwrap_or(usize::MAX);
    // The jump form's action and hidden fields come from the link of page 1.
    let first = link(1);
    let (before_fragment, fragment) = match first.split_once('#') {
        Some((a, f)) => (a.to_string(), format!("#{f}")),
        None => (first.clone(), String::new()),
    };
    let (path, query) = match before_fragment.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (before_fragment.clone(), String::new()),
    };
    let params: Vec<(String, String)> = serde_urlencoded::from_str(&query).unwrap_or_default();
    let sized = params.iter().any(|(k, _)| k == "per_page");
    let hidden: Vec<&(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "page" && k != "per_page")
        .collect();
    html! {
        nav.pager aria-label=(label) {
            span.count { "共 " span.num { (total) } " 条，第 " (page) " / " (pages) " 页" }
            (nav("首页", 1, "first", page > 1))
            (nav("上一页", page.saturating_sub(1).max(1), "prev", page > 1))
            (nav("下一页", page + 1, "next", page < last))
            (nav("尾页", last, "last", page < last))
            form.jump method="get" action={ (path) (fragment) } {
                @for (k, v) in &hidden { input type="hidden" name=(k) value=(v); }
                label { "转到第 " input name="page" type="number" min="1" max=(pages) value=(page) aria-label="页码"; " 页" }
                @if sized {
                    label { "每页显示 "
                        select name="per_page" aria-label="每页显示条数" {
                            @for n in PAGE_SIZES { option value=(n) selected[*n == per_page] { (n) "条" } }
                        }
                    }
                }
                button.secondary type="submit" { "跳转" }
            }
        }
    }
}

/// A number (amount, tax, count) in a table cell: right-aligned by the one `num` class.
pub fn num_td(v: impl Render) -> Markup {
    html! { td.num { (v) } }
}

/// A message carried across a Post/Redirect/Get redirect in the query string, as the console
/// pages do: `done` names a success the page words itself, `error` is a refusal's message.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct Flash {
    pub done: Option<String>,
    pub error: Option<String>,
}

impl Flash {
    /// The flash of a request (none when the query does not parse).
    pub fn of(req: &actix_web::HttpRequest) -> Flash {
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default()
    }
}

/// `path` with `error=message` added to its query (the target of a refused form's redirect).
/// Long messages are cut, so that the redirect stays a reasonable URL.
pub fn with_error(path: &str, message: &str) -> String {
    let cut: String = if message.chars().count() > 600 {
        message.chars().take(600).chain("……".chars()).collect()
    } else {
        message.to_string()
    };
    let (path, fragment) = match path.split_once('#') {
        Some((p, f)) => (p, format!("#{f}")),
        None => (path, String::new()),
    };
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}error={}{fragment}", url_part(&cut))
}

/// A 帮助 panel of a module: its 关注要点 (from the manual), folded until opened.
pub fn help_panel(module: &str, points: &[&str]) -> Markup {
    html! {
        details.help {
            summary { "帮助：" (module) "关注要点" }
            ol { @for p in points { li { (p) } } }
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
    /// 勾选用途 of a selected or confirmed invoice (with the 不抵扣 reason).
    Use,
}

impl Col {
    pub fn heading(self) -> Markup {
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
            Col::Use => "勾选用途",
        };
        html! {
            @if matches!(self, Col::Amount | Col::Tax) { th.num { (text) } } @else { th { (text) } }
        }
    }

    pub fn cell(self, i: &InvoiceView, exceptions: bool) -> Markup {
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
                Col::Use => td.usage { (use_text(i)) },
            }
        }
    }
}

/// 勾选用途 as lists show it: the use, and a 不抵扣 invoice's reason; blank when unselected.
pub fn use_text(i: &InvoiceView) -> String {
    match (i.use_, i.reason) {
        (None, _) => String::new(),
        (Some(u), Some(r)) => match &i.reason_text {
            Some(t) => format!("{}（{}：{}）", u.label_zh(), r.label_zh(), t),
            None => format!("{}（{}）", u.label_zh(), r.label_zh()),
        },
        (Some(u), None) => u.label_zh().to_string(),
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
            // The wrapper scrolls a wide table sideways on a narrow screen instead of squeezing
            // its headers.
            div.table-wrap { table.grid {
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
            } }
        }
    }
}

/// `s` percent-encoded for a path segment or a query value in a link.
pub fn url_part(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Alerts shown in the 风险提醒 panel; the rest are counted.
const ALERTS_SHOWN: usize = 20;

/// 风险提醒: the alerts of `service::portal::alerts`, newest first — on 首页 always
/// (`show_empty`), on 发票勾选 when there are any.
pub fn alerts_panel(alerts: &[Alert], show_empty: bool) -> Markup {
    let count = |k: AlertKind| alerts.iter().filter(|a| a.kind == k).count();
    let exceptions = count(AlertKind::CertifiedBecameException);
    if alerts.is_empty() && !show_empty {
        return html! {};
    }
    html! {
        section.card.alerts #alerts aria-labelledby="alerts-h" {
            h2 #alerts-h { "风险提醒" }
            @if alerts.is_empty() {
                p.empty { "暂无风险提醒。" }
            } @else {
                p.hint {
                    "上次登录以来状态变化的发票 " strong { (count(AlertKind::StatusChanged)) } " 份；"
                    "已认证抵扣后转为异常、尚未转出的发票 " strong { (exceptions) } " 份；"
                    "风险纳税人开具的未确认发票 " strong { (count(AlertKind::RiskySeller)) } " 份。"
                }
                ul.alerts {
                    @for a in alerts.iter().take(ALERTS_SHOWN) {
                        li class={ "alert " (a.kind.as_str()) } {
                            span.kind { "【" (a.kind.label_zh()) "】" }
                            (a.message)
                            span.when { "（" (a.at.format("%Y-%m-%d %H:%M")) "）" }
                        }
                    }
                }
                @if alerts.len() > ALERTS_SHOWN {
                    p.hint { "仅显示最新的" (ALERTS_SHOWN) "条，共" (alerts.len()) "条。" }
                }
                @if exceptions > 0 {
                    p { a.button href="/transfers-out" { "去做进项税额转出" } }
                }
            }
        }
    }
}

#[cfg(test)]
mod url_tests {
    use super::{url_part, with_error};

    #[test]
    fn errors_go_into_the_query_before_the_fragment() {
        assert_eq!(with_error("/a#b", "错"), "/a?error=%E9%94%99#b");
        assert_eq!(with_error("/a?x=1", "e"), "/a?x=1&error=e");
    }

    #[test]
    fn link_parts_are_percent_encoded() {
        assert_eq!(url_part("上课 a"), "%E4%B8%8A%E8%AF%BE%20a");
        assert_eq!(url_part("a/b?c"), "a%2Fb%3Fc");
    }
}
