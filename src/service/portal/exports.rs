//! 导出明细 and 打印 (S-T6, S-T9): a confirmation batch and a period's 抵扣统计 as `.xlsx`
//! (umya-spreadsheet) and as A4 PDF (lopdf with an embedded CJK font). Both formats are built
//! from one gathered [`BatchReport`] / [`StatisticsReport`], so they always agree.

use chrono::{DateTime, FixedOffset};

use super::statistics::{RefundTableView, RowView, TransferOutView};
use super::{confirmation, query, statistics};
use crate::domain::{Fen, InvoiceKey, InvoiceUse, TaxPeriod, Taxpayer, TaxpayerId};
use crate::error::{AppError, AppResult};
use crate::formats::pdf::{self, Block};
use crate::formats::sheet::write::{self, Column, Kind, Sheet, Value};
use crate::service::listing::InvoiceView;
use crate::service::office::taxpayers;
use crate::service::App;
use crate::service::File;
use crate::store::prelude::*;
use crate::store::Who;

fn time(t: DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// An RFC 3339 time as the prints show it: to the second, in its own offset.
fn to_second(s: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|_| s.get(..19).unwrap_or(s).replace('T', " "))
}

fn money(v: Fen) -> String {
    v.format_grouped()
}

/// A confirmation batch with everything its exports show.
#[derive(Debug, Clone)]
pub struct BatchReport {
    pub taxpayer: Taxpayer,
    pub batch: confirmation::BatchView,
    pub invoices: Vec<InvoiceView>,
    pub printed_at: DateTime<FixedOffset>,
}

pub fn batch_report(
    app: &App,
    who: &Who,
    id: &TaxpayerId,
    period: TaxPeriod,
    number: u32,
) -> AppResult<BatchReport> {
    // batch_detail settles the taxpayer first; the record is read after it.
    let (o, invoices) = confirmation::batch_detail(app, who, id, period, number)?;
    let taxpayer = taxpayers::get(app, id)?;
    Ok(BatchReport {
        taxpayer,
        batch: confirmation::BatchView::from(&o),
        invoices,
        printed_at: who.now,
    })
}

const INVOICE_COLUMNS: [Column; 11] = [
    Column::new("序号", Kind::Count, 6.0),
    Column::new("发票代码", Kind::Text, 14.0),
    Column::new("发票号码", Kind::Text, 11.0),
    Column::new("开票日期", Kind::Date, 12.0),
    Column::new("发票类型", Kind::Text, 20.0),
    Column::new("销方税号", Kind::Text, 22.0),
    Column::new("销方名称", Kind::Text, 32.0),
    Column::new("金额", Kind::Money, 14.0),
    Column::new("税额", Kind::Money, 12.0),
    Column::new("发票状态", Kind::Text, 9.0),
    Column::new("确认/扫描日期", Kind::Date, 13.0),
];

fn invoice_rows(items: &[InvoiceView]) -> Vec<Vec<Value>> {
    let mut rows: Vec<Vec<Value>> = items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            vec![
                Value::Count(i64::try_from(i + 1).unwrap_or(i64::MAX)),
                Value::Text(v.code_text().to_owned()),
                Value::Text(v.number.clone()),
                Value::Date(v.issued_on),
                Value::Text(v.kind.label_zh().to_string()),
                Value::Text(v.seller_id.as_str().to_string()),
                Value::Text(v.seller_name.clone()),
                Value::Money(v.amount),
                Value::Money(v.tax),
                Value::Text(v.status.label_zh().to_string()),
                v.certified_on.map_or(Value::Empty, Value::Date),
            ]
        })
        .collect();
    let amount: Fen = items.iter().map(|v| v.amount).sum();
    let tax: Fen = items.iter().map(|v| v.tax).sum();
    let mut total = vec![Value::Empty; INVOICE_COLUMNS.len()];
    total[1] = Value::from("合计");
    total[2] = Value::Text(format!("{}份", items.len()));
    total[7] = Value::Money(amount);
    total[8] = Value::Money(tax);
    rows.push(total);
    rows
}

impl BatchReport {
    pub fn title(&self) -> String {
        format!(
            "增值税发票确认明细（{}第{}次确认）",
            self.batch.period.label_zh(),
            self.batch.batch
        )
    }

    fn stem(&self) -> String {
        format!(
            "{}_{}_{}",
            self.taxpayer.id.as_str(),
            self.batch.period,
            self.batch.batch
        )
    }

    /// Label/value pairs of the batch summary (the page's 本次确认 box).
    pub fn summary(&self) -> Vec<(String, String)> {
        let b = &self.batch;
        let mut out = vec![
            ("税款所属期".to_string(), b.period.label_zh()),
            ("确认批次".into(), format!("第{}次确认", b.batch)),
            ("状态".into(), b.status.label_zh().into()),
            ("确认时间".into(), to_second(&b.made_at)),
            ("本次确认发票份数".into(), b.count.to_string()),
            ("本次确认金额".into(), money(b.amount)),
            ("本次确认税额".into(), money(b.tax)),
            ("本期累计确认次数".into(), b.period_batches.to_string()),
            (
                "本期累计确认份数".into(),
                b.period_confirmed_count.to_string(),
            ),
        ];
        if let Some(s) = &b.submitted_at {
            out.insert(4, ("提交时间".into(), to_second(s)));
        }
        if let Some(m) = &b.message {
            out.push(("说明".into(), m.clone()));
        }
        out
    }

    pub fn xlsx(&self) -> AppResult<File> {
        let t = &self.taxpayer;
        let mut caption = vec![
            self.title(),
            format!("纳税人识别号：{}　纳税人名称：{}", t.id.as_str(), t.name),
        ];
        caption.extend(self.summary().chunks(3).map(|c| {
            c.iter()
                .map(|(k, v)| format!("{k}：{v}"))
                .collect::<Vec<_>>()
                .join("　")
        }));
        caption.push(format!("导出时间：{}", time(self.printed_at)));
        let sheet = Sheet {
            name: "确认明细".into(),
            caption,
            columns: INVOICE_COLUMNS.to_vec(),
            rows: invoice_rows(&self.invoices),
        };
        Ok(File {
            name: format!("{}.xlsx", self.stem()),
            bytes: write::xlsx(&[sheet])?,
        })
    }
}

fn pdf_bytes(r: &pdf::Report) -> AppResult<Vec<u8>> {
    pdf::render(r).map_err(|e| AppError::internal(format!("pdf: {e}")))
}

/// An invoice list as a PDF table (A4 portrait: the seller's ID and the type are left out).
fn invoice_table(items: &[InvoiceView]) -> pdf::Table {
    use pdf::Column as C;
    let rows = items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            vec![
                (i + 1).to_string(),
                v.code_text().to_owned(),
                v.number.clone(),
                v.issued_on.format("%Y-%m-%d").to_string(),
                v.seller_name.clone(),
                money(v.amount),
                money(v.tax),
                v.status.label_zh().to_string(),
            ]
        })
        .collect();
    let amount: Fen = items.iter().map(|v| v.amount).sum();
    let tax: Fen = items.iter().map(|v| v.tax).sum();
    pdf::Table::new(vec![
        C::center("序号", 0.55),
        C::center("发票代码", 1.35),
        C::center("发票号码", 1.0),
        C::center("开票日期", 1.1),
        C::left("销方名称", 2.5),
        C::right("金额", 1.35),
        C::right("税额", 1.15),
        C::center("状态", 0.6),
    ])
    .with_rows(rows)
    .with_total(vec![
        String::new(),
        "合计".into(),
        format!("{}份", items.len()),
        String::new(),
        String::new(),
        money(amount),
        money(tax),
        String::new(),
    ])
}

impl BatchReport {
    /// 打印本页: the batch summary and its invoices.
    pub fn pdf(&self) -> AppResult<File> {
        let report = pdf::Report {
            title: self.title(),
            taxpayer_name: self.taxpayer.name.clone(),
            taxpayer_id: self.taxpayer.id.as_str().to_string(),
            period: self.batch.period.label_zh(),
            updated_at: format!("打印时间：{}", time(self.printed_at)),
            blocks: vec![
                Block::Heading("确认汇总".into()),
                Block::Fields(self.summary()),
                Block::Heading(format!("确认发票明细（{}份）", self.invoices.len())),
                Block::Table(invoice_table(&self.invoices)),
            ],
        };
        Ok(File {
            name: format!("{}.pdf", self.stem()),
            bytes: pdf_bytes(&report)?,
        })
    }
}

/// A period's 抵扣统计 with every certified invoice of the period.
#[derive(Debug, Clone)]
pub struct StatisticsReport {
    pub taxpayer: Taxpayer,
    pub period: TaxPeriod,
    pub updated_at: String,
    pub scans_applied_at: Option<String>,
    pub rows: Vec<RowView>,
    /// 退税 / 代办退税 of the period.
    pub refund: RefundTableView,
    /// 进项税额转出 recorded for the period.
    pub transfer_out: TransferOutView,
    /// Every invoice certified in the period (查看明细), all statuses and uses.
    pub details: Vec<InvoiceView>,
    /// Those certified for 抵扣 and since become 作废/失控/红冲/异常.
    pub exceptions: Vec<InvoiceView>,
    pub printed_at: DateTime<FixedOffset>,
}

pub fn statistics_report(
    app: &App,
    who: &Who,
    id: &TaxpayerId,
    period: TaxPeriod,
) -> AppResult<StatisticsReport> {
    // statistics settles the taxpayer first; the record is read after it.
    let view = statistics::statistics(app, who, id, period, crate::domain::Paging::first(1))?;
    let taxpayer = taxpayers::get(app, id)?;
    let mut details = Vec::new();
    let mut page = 1;
    loop {
        let p =
            query::certified_in_period(app, id, period, crate::domain::Paging::new(page, 500)?)?;
        let n = p.items.len();
        details.extend(p.items);
        if n < 500 || details.len() as u64 >= p.total {
            break;
        }
        page += 1;
    }
    // The exceptions are the 抵扣 invoices among them (不抵扣 and 退税 deducted nothing), as
    // the table counts them.
    let candidates: Vec<InvoiceKey> = details
        .iter()
        .filter(|v| v.status.is_exception())
        .filter_map(|v| InvoiceKey::parse_any(v.code.as_deref(), &v.number).ok())
        .collect();
    let deducted: std::collections::HashSet<u128> = app
        .store
        .read()?
        .invoices_by_keys(&candidates)?
        .iter()
        .filter(|i| i.use_() == Some(InvoiceUse::Deduct))
        .map(|i| i.key.to_u128())
        .collect();
    let exceptions = details
        .iter()
        .filter(|v| v.status.is_exception())
        .filter(|v| {
            InvoiceKey::parse_any(v.code.as_deref(), &v.number)
                .is_ok_and(|k| deducted.contains(&k.to_u128()))
        })
        .cloned()
        .collect();
    Ok(StatisticsReport {
        taxpayer,
        period,
        updated_at: view.updated_at,
        scans_applied_at: view.scans_applied_at,
        rows: view.rows,
        refund: view.refund,
        transfer_out: view.transfer_out,
        details,
        exceptions,
        printed_at: who.now,
    })
}

/// The three figures of a cell: 份数, 金额, 税额.
fn cell_values(c: &statistics::CellView) -> [Value; 3] {
    [
        Value::Count(i64::try_from(c.count).unwrap_or(i64::MAX)),
        Value::Money(c.amount),
        Value::Money(c.tax),
    ]
}

impl StatisticsReport {
    pub fn title(&self) -> String {
        format!("申报抵扣发票统计表（{}）", self.period.label_zh())
    }

    pub fn updated_line(&self) -> String {
        let t = self.updated_at.replace('T', " ");
        let t = t.get(..19).unwrap_or(&t).to_string();
        format!("报表更新时间：{t}")
    }

    /// The table as lines of (发票类型, 项目, then 勾选认证, 扫描认证, 合计 each as
    /// 份数/金额/税额).
    pub fn table(&self) -> Vec<(String, &'static str, [&statistics::CellView; 3])> {
        let mut out = Vec::new();
        for r in &self.rows {
            out.push((
                r.label.to_string(),
                "已认证",
                [&r.selection, &r.scan, &r.total],
            ));
            out.push((
                r.label.to_string(),
                "其中：异常发票",
                [
                    &r.exceptions.selection,
                    &r.exceptions.scan,
                    &r.exceptions.total,
                ],
            ));
            out.push((
                r.label.to_string(),
                "可抵扣",
                [
                    &r.deductible.selection,
                    &r.deductible.scan,
                    &r.deductible.total,
                ],
            ));
        }
        out
    }

    pub fn xlsx(&self) -> AppResult<File> {
        let t = &self.taxpayer;
        let caption = vec![
            self.title(),
            format!("纳税人识别号：{}　纳税人名称：{}", t.id.as_str(), t.name),
            format!(
                "税款所属期：{}　{}",
                self.period.label_zh(),
                self.updated_line()
            ),
            format!("导出时间：{}", time(self.printed_at)),
        ];
        let mut columns = vec![
            Column::new("发票类型", Kind::Text, 20.0),
            Column::new("项目", Kind::Text, 14.0),
        ];
        for titles in [
            ["勾选认证份数", "勾选认证金额", "勾选认证税额"],
            ["扫描认证份数", "扫描认证金额", "扫描认证税额"],
            ["合计份数", "合计金额", "合计税额"],
        ] {
            columns.push(Column::new(titles[0], Kind::Count, 12.0));
            columns.push(Column::new(titles[1], Kind::Money, 15.0));
            columns.push(Column::new(titles[2], Kind::Money, 14.0));
        }
        let mut rows: Vec<Vec<Value>> = self
            .table()
            .into_iter()
            .map(|(kind, item, cells)| {
                let mut row = vec![Value::Text(kind), Value::from(item)];
                for c in cells {
                    row.extend(cell_values(c));
                }
                row
            })
            .collect();
        // The blocks of the uses follow the table (which keeps its place), each after an
        // empty line and its own heading line.
        rows.extend(self.use_rows());
        let summary = Sheet {
            name: "抵扣统计".into(),
            caption,
            columns,
            rows,
        };
        let details = Sheet {
            name: "发票明细".into(),
            caption: vec![format!(
                "{}已认证发票明细（含全部发票状态）",
                self.period.label_zh()
            )],
            columns: INVOICE_COLUMNS.to_vec(),
            rows: invoice_rows(&self.details),
        };
        let exceptions = Sheet {
            name: "异常发票".into(),
            caption: vec![
                "认证后状态变为作废、失控、红冲或异常的发票，不能作为当期抵扣的有效依据".into(),
            ],
            columns: INVOICE_COLUMNS.to_vec(),
            rows: invoice_rows(&self.exceptions),
        };
        Ok(File {
            name: format!("{}_{}_抵扣统计.xlsx", t.id.as_str(), self.period),
            bytes: write::xlsx(&[summary, details, exceptions])?,
        })
    }
}

/// 份数, 金额, 有效税额 of a cell of the uses.
fn effective_values(c: &statistics::EffectiveCellView) -> [Value; 3] {
    [
        Value::Count(i64::try_from(c.count).unwrap_or(i64::MAX)),
        Value::Money(c.amount),
        Value::Money(c.effective_tax),
    ]
}

fn text_row(cells: &[&str]) -> Vec<Value> {
    cells.iter().map(|c| Value::from(*c)).collect()
}

impl StatisticsReport {
    /// The lines the spreadsheet adds below the table: 抵扣 / 不抵扣 per kind, the 退税
    /// table (when the period has any), and the 进项税额转出 of the period with its list.
    fn use_rows(&self) -> Vec<Vec<Value>> {
        let mut out = vec![
            vec![],
            text_row(&["按勾选用途统计", "用途"]),
            text_row(&[
                "发票类型",
                "项目",
                "抵扣份数",
                "抵扣金额",
                "抵扣有效税额",
                "不抵扣份数",
                "不抵扣金额",
                "不抵扣税额",
            ]),
        ];
        for r in &self.rows {
            let mut row = vec![Value::from(r.label), Value::from("抵扣/不抵扣")];
            row.extend(effective_values(&r.deduct));
            row.extend(cell_values(&r.no_deduct));
            out.push(row);
        }
        if self.refund.any() {
            out.push(vec![]);
            out.push(text_row(&["退税勾选统计", "用途"]));
            out.push(text_row(&[
                "发票类型",
                "项目",
                "退税份数",
                "退税金额",
                "退税有效税额",
                "代办退税份数",
                "代办退税金额",
                "代办退税有效税额",
            ]));
            for r in &self.refund.rows {
                let mut row = vec![Value::from(r.label), Value::from("退税/代办退税")];
                row.extend(effective_values(&r.refund));
                row.extend(effective_values(&r.agent_refund));
                out.push(row);
            }
        }
        let t = &self.transfer_out;
        out.push(vec![]);
        out.push(vec![
            Value::from("进项税额转出"),
            Value::from("合计"),
            Value::Count(i64::try_from(t.count).unwrap_or(i64::MAX)),
            Value::Empty,
            Value::Money(t.tax),
        ]);
        if !t.items.is_empty() {
            out.push(text_row(&[
                "发票代码",
                "发票号码",
                "发票类型",
                "发票状态",
                "转出税额",
                "记录时间",
            ]));
            for i in &t.items {
                out.push(vec![
                    Value::Text(i.code.clone().unwrap_or_default()),
                    Value::Text(i.number.clone()),
                    Value::from(i.kind.label_zh()),
                    Value::from(i.status.label_zh()),
                    Value::Money(i.tax),
                    Value::Text(to_second(&i.recorded_at)),
                ]);
            }
        }
        out
    }

    /// 抵扣 and 不抵扣 per kind, for the print.
    fn uses_table(&self) -> pdf::Table {
        use pdf::Column as C;
        let rows = self
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.label.to_string(),
                    r.deduct.count.to_string(),
                    money(r.deduct.amount),
                    money(r.deduct.effective_tax),
                    r.no_deduct.count.to_string(),
                    money(r.no_deduct.amount),
                    money(r.no_deduct.tax),
                ]
            })
            .collect();
        pdf::Table::new(vec![
            C::left("发票类型", 2.0),
            C::right("抵扣份数", 0.8),
            C::right("抵扣金额", 1.4),
            C::right("有效税额", 1.3),
            C::right("不抵扣份数", 0.9),
            C::right("不抵扣金额", 1.4),
            C::right("不抵扣税额", 1.3),
        ])
        .with_rows(rows)
    }

    /// The 退税 table, for the print.
    fn refund_table(&self) -> pdf::Table {
        use pdf::Column as C;
        let rows = self
            .refund
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.label.to_string(),
                    r.refund.count.to_string(),
                    money(r.refund.amount),
                    money(r.refund.effective_tax),
                    r.agent_refund.count.to_string(),
                    money(r.agent_refund.amount),
                    money(r.agent_refund.effective_tax),
                ]
            })
            .collect();
        pdf::Table::new(vec![
            C::left("发票类型", 2.0),
            C::right("退税份数", 0.8),
            C::right("退税金额", 1.4),
            C::right("退税有效税额", 1.3),
            C::right("代办退税份数", 0.9),
            C::right("代办退税金额", 1.4),
            C::right("代办退税有效税额", 1.3),
        ])
        .with_rows(rows)
    }

    /// The 进项税额转出 list, for the print.
    fn transfer_out_table(&self) -> pdf::Table {
        use pdf::Column as C;
        let t = &self.transfer_out;
        let rows = t
            .items
            .iter()
            .map(|i| {
                vec![
                    i.code.clone().unwrap_or_default(),
                    i.number.clone(),
                    i.kind.label_zh().to_string(),
                    i.status.label_zh().to_string(),
                    money(i.tax),
                    to_second(&i.recorded_at),
                ]
            })
            .collect();
        pdf::Table::new(vec![
            C::center("发票代码", 1.35),
            C::center("发票号码", 1.6),
            C::left("发票类型", 1.9),
            C::center("状态", 0.6),
            C::right("转出税额", 1.3),
            C::center("记录时间", 1.9),
        ])
        .with_rows(rows)
        .with_total(vec![
            "合计".into(),
            format!("{}份", t.count),
            String::new(),
            String::new(),
            money(t.tax),
            String::new(),
        ])
    }

    fn figures_table(&self, deductible: bool) -> pdf::Table {
        use pdf::Column as C;
        let mut rows = Vec::new();
        for r in &self.rows {
            let m = if deductible {
                (
                    &r.deductible.selection,
                    &r.deductible.scan,
                    &r.deductible.total,
                )
            } else {
                (&r.selection, &r.scan, &r.total)
            };
            for (method, c) in [("勾选认证", m.0), ("扫描认证", m.1), ("合计", m.2)] {
                rows.push(vec![
                    r.label.to_string(),
                    method.to_string(),
                    c.count.to_string(),
                    money(c.amount),
                    money(c.tax),
                ]);
            }
        }
        pdf::Table::new(vec![
            C::left("发票类型", 2.2),
            C::center("认证方式", 1.2),
            C::right("份数", 0.9),
            C::right("金额", 1.8),
            C::right("税额", 1.6),
        ])
        .with_rows(rows)
    }

    /// 打印: the table, what is deductible, the exception list, then — each when the period
    /// has any — 抵扣 / 不抵扣 per kind, the 退税 table and the 进项税额转出 of the period.
    pub fn pdf(&self) -> AppResult<File> {
        let mut blocks = vec![
            Block::Heading("已认证发票".into()),
            Block::Table(self.figures_table(false)),
            Block::Heading("可抵扣发票（已认证发票扣除异常发票）".into()),
            Block::Table(self.figures_table(true)),
            Block::Heading(format!("异常发票清单（{}份）", self.exceptions.len())),
        ];
        if self.exceptions.is_empty() {
            blocks.push(Block::Paragraph("本期没有认证后状态异常的发票。".into()));
        } else {
            blocks.push(Block::Paragraph(
                "以下发票认证后状态变为作废、失控、红冲或异常，不能作为当期抵扣的有效依据。".into(),
            ));
            blocks.push(Block::Table(invoice_table(&self.exceptions)));
        }
        // The blocks of the uses, each when the period has any of it (so a period of plain
        // 抵扣 only, whose 抵扣 figures are the table's 合计, prints as before uses existed).
        let no_deduct = self
            .rows
            .last()
            .is_some_and(|total| total.no_deduct.count > 0);
        if no_deduct {
            blocks.push(Block::Heading("按勾选用途统计（抵扣、不抵扣）".into()));
            blocks.push(Block::Paragraph(
                "抵扣按有效税额统计；不抵扣按票面税额统计，不参与当期抵扣。".into(),
            ));
            blocks.push(Block::Table(self.uses_table()));
        }
        if self.refund.any() {
            blocks.push(Block::Heading("退税勾选统计".into()));
            blocks.push(Block::Table(self.refund_table()));
        }
        if self.transfer_out.count > 0 {
            blocks.push(Block::Heading(format!(
                "进项税额转出（{}份，转出税额{}）",
                self.transfer_out.count,
                money(self.transfer_out.tax)
            )));
            blocks.push(Block::Table(self.transfer_out_table()));
        }
        let mut updated = self.updated_line();
        if let Some(s) = &self.scans_applied_at {
            let s = s.replace('T', " ");
            updated.push_str(&format!(
                "　扫描认证数据更新时间：{}",
                s.get(..19).unwrap_or(&s)
            ));
        }
        let report = pdf::Report {
            title: "申报抵扣发票统计表".into(),
            taxpayer_name: self.taxpayer.name.clone(),
            taxpayer_id: self.taxpayer.id.as_str().to_string(),
            period: self.period.label_zh(),
            updated_at: updated,
            blocks,
        };
        Ok(File {
            name: format!("{}_{}_抵扣统计.pdf", self.taxpayer.id.as_str(), self.period),
            bytes: pdf_bytes(&report)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn print_times_are_to_the_second() {
        assert_eq!(
            to_second("2026-12-02T01:04:10.207328475+08:00"),
            "2026-12-02 01:04:10"
        );
        assert_eq!(
            to_second("2026-12-02T01:04:10+08:00"),
            "2026-12-02 01:04:10"
        );
    }
}
