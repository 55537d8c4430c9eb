//! 抵扣统计 (S-T9) and the home workbench (S-T3).
//!
//! The table of a taxpayer's period is computed by the index pipeline (`index::stats`) and
//! cached in redb with its update time. Any commit that changes an invoice certified in the
//! period removes the cache in the same transaction (see `store::Tx::flush_stale`), so
//! 勾选认证 figures are current as soon as a submit commits.

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use crate::domain::statistics::{ByMethod, Cached, Cell, Tally};
use crate::domain::{Fen, InvoiceKey, Paging, TaxPeriod, Taxpayer, TaxpayerId};
use crate::error::AppResult;
use crate::service::listing::InvoiceView;
use crate::service::App;
use crate::service::SCANS_APPLIED_AT;
use crate::store::prelude::*;
use crate::store::Who;

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct CellView {
    pub count: u64,
    #[schema(value_type = i64)]
    pub amount: Fen,
    #[schema(value_type = i64)]
    pub tax: Fen,
}

impl From<Cell> for CellView {
    fn from(c: Cell) -> Self {
        CellView {
            count: c.count,
            amount: c.amount,
            tax: c.tax,
        }
    }
}

/// 份数, 金额, 有效税额 (抵扣, 退税, 代办退税).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct EffectiveCellView {
    pub count: u64,
    #[schema(value_type = i64)]
    pub amount: Fen,
    #[schema(value_type = i64)]
    pub effective_tax: Fen,
}

impl From<Cell> for EffectiveCellView {
    fn from(c: Cell) -> Self {
        EffectiveCellView {
            count: c.count,
            amount: c.amount,
            effective_tax: c.tax,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct MethodView {
    pub selection: CellView,
    pub scan: CellView,
    pub total: CellView,
}

impl From<ByMethod> for MethodView {
    fn from(m: ByMethod) -> Self {
        MethodView {
            selection: m.selection.into(),
            scan: m.scan.into(),
            total: m.total.into(),
        }
    }
}

/// One row of the table: `selection`, `scan`, `total` are the figures certified for 抵扣
/// (API.md; tax = 有效税额); `exceptions` the certified invoices since become 作废/失控/红冲/
/// 异常, and `deductible` (可抵扣) the certified minus the exceptions; `deduct` the 抵扣
/// figures (份数, 金额, 有效税额 — `total` again, named by use) and `no_deduct` the 不抵扣 ones
/// (份数, 金额, 税额 — the face tax).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct RowView {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub label: &'static str,
    pub selection: CellView,
    pub scan: CellView,
    pub total: CellView,
    pub exceptions: MethodView,
    pub deductible: MethodView,
    pub deduct: EffectiveCellView,
    pub no_deduct: CellView,
}

/// One row of the 退税 table: `type` and `label` (`total` / 合计 for the total row), the 退税
/// and the 代办退税 figures (份数, 金额, 有效税额).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct RefundRowView {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub label: &'static str,
    pub refund: EffectiveCellView,
    pub agent_refund: EffectiveCellView,
}

/// The 退税 table of the period: 退税 and 代办退税 invoices confirmed in it (a 退税 selection
/// belongs to the month it is confirmed in). `rows` has a row per type with any, then the
/// total row (always; zeros when the period has none).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct RefundTableView {
    pub rows: Vec<RefundRowView>,
}

impl RefundTableView {
    /// The total row.
    pub fn total(&self) -> Option<&RefundRowView> {
        self.rows.last()
    }

    /// Whether the period has any 退税 or 代办退税 invoice.
    pub fn any(&self) -> bool {
        self.total()
            .is_some_and(|t| t.refund.count + t.agent_refund.count > 0)
    }
}

/// One 进项税额转出 recorded for the period.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct TransferOutItemView {
    /// 发票代码；数电票、海关缴款书没有（`null`）。
    pub code: Option<String>,
    pub number: String,
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "special")]
    pub kind: crate::domain::InvoiceType,
    /// The invoice's status when the transfer was recorded.
    #[schema(value_type = String, example = "out_of_control")]
    pub status: crate::domain::InvoiceStatus,
    /// The tax transferred out (what the invoice deducted).
    #[schema(value_type = i64)]
    pub tax: Fen,
    pub recorded_at: String,
}

/// 进项税额转出 recorded for the period: how many, their tax, and each.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct TransferOutView {
    pub count: u64,
    #[schema(value_type = i64)]
    pub tax: Fen,
    pub items: Vec<TransferOutItemView>,
}

/// `GET /api/v1/statistics/{period}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StatisticsView {
    #[schema(value_type = String, example = "202611")]
    pub period: TaxPeriod,
    /// 报表更新时间: when the figures were computed.
    pub updated_at: String,
    /// When scan certifications were last applied (the nightly job or a refresh).
    pub scans_applied_at: Option<String>,
    pub rows: Vec<RowView>,
    /// How many exception invoices the period has; `exceptions` is the page `page` of them
    /// (`per_page` each, in key order).
    pub exceptions_total: u64,
    pub page: usize,
    pub per_page: usize,
    pub exceptions: Vec<InvoiceView>,
    /// Whether the answer came from the cache.
    pub cached: bool,
    /// 退税 / 代办退税 of the period.
    pub refund: RefundTableView,
    /// 进项税额转出 recorded for the period.
    pub transfer_out: TransferOutView,
}

fn rows<K>(t: &Tally<K>) -> Vec<RowView> {
    t.rows()
        .into_iter()
        .map(|r| RowView {
            kind: r.kind.map_or("total", |k| k.as_str()),
            label: r.kind.map_or("合计", |k| k.label_zh()),
            selection: r.certified.selection.into(),
            scan: r.certified.scan.into(),
            total: r.certified.total.into(),
            exceptions: r.exceptions.into(),
            deductible: r.deductible.into(),
            deduct: r.deduct().into(),
            no_deduct: r.no_deduct.into(),
        })
        .collect()
}

fn refund_table<K>(t: &Tally<K>) -> RefundTableView {
    RefundTableView {
        rows: t
            .refund_rows()
            .into_iter()
            .map(|r| RefundRowView {
                kind: r.kind.map_or("total", |k| k.as_str()),
                label: r.kind.map_or("合计", |k| k.label_zh()),
                refund: r.refund.into(),
                agent_refund: r.agent_refund.into(),
            })
            .collect(),
    }
}

/// The 进项税额转出 the taxpayer recorded for `period`, in key order.
pub fn transfers_out(
    r: &crate::store::Reader,
    taxpayer: &TaxpayerId,
    period: TaxPeriod,
) -> AppResult<TransferOutView> {
    let recorded: Vec<_> = r
        .transfers_out(taxpayer)?
        .into_iter()
        .filter(|t| t.period == period)
        .collect();
    let keys: Vec<InvoiceKey> = recorded.iter().map(|t| t.key.clone()).collect();
    let kinds: std::collections::HashMap<u128, crate::domain::InvoiceType> = r
        .invoices_by_keys(&keys)?
        .into_iter()
        .map(|i| (i.key.to_u128(), i.kind))
        .collect();
    let mut view = TransferOutView {
        count: 0,
        tax: Fen::ZERO,
        items: Vec::with_capacity(recorded.len()),
    };
    for t in recorded {
        view.count += 1;
        view.tax += t.tax;
        view.items.push(TransferOutItemView {
            code: t.key.code().map(str::to_string),
            number: t.key.number().to_string(),
            kind: kinds
                .get(&t.key.to_u128())
                .copied()
                .unwrap_or(crate::domain::InvoiceType::Special),
            status: t.status,
            tax: t.tax,
            recorded_at: t.at.to_rfc3339(),
        });
    }
    Ok(view)
}

/// A period's figures, from the cache or just computed (then with every exception key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figures {
    pub cached: Cached,
    /// All exception keys, in key order, when computed now; `None` when read from the cache
    /// (the keys are then read a page at a time).
    pub keys: Option<Vec<InvoiceKey>>,
    pub from_cache: bool,
}

/// The period's figures, from the cache or computed by the index pipeline and cached.
pub fn tally(app: &App, who: &Who, taxpayer: &TaxpayerId, period: TaxPeriod) -> AppResult<Figures> {
    let gen = {
        let r = app.store.read()?;
        if let Some(c) = r.stats(taxpayer, period)? {
            return Ok(Figures {
                cached: c,
                keys: None,
                from_cache: true,
            });
        }
        r.stats_gen(taxpayer, period)?
    };
    // Read the generation first, then bring the index up to at least that state.
    app.index.catch_up(&app.store)?;
    let t = app.index.tally(taxpayer, period)?;
    let c = Cached::new(&t, who.now);
    // Keep it unless the period changed meanwhile (housekeeping: not a business change).
    app.store.housekeeping(|tx| {
        if tx.stats_gen(taxpayer, period)? == gen {
            tx.put_stats(taxpayer, period, &c, &t.exception_keys)?;
        }
        Ok(())
    })?;
    Ok(Figures {
        cached: c,
        keys: Some(t.exception_keys),
        from_cache: false,
    })
}

/// 抵扣统计 of `period` for the taxpayer, with the page `page` of its exception list.
pub fn statistics(
    app: &App,
    who: &Who,
    taxpayer: &TaxpayerId,
    period: TaxPeriod,
    paging: Paging,
) -> AppResult<StatisticsView> {
    let t = crate::service::settle::settled(app, who, taxpayer)?;
    let registration = app.store.read()?.refund_registration(taxpayer)?;
    crate::domain::rules::check_statistics_month(
        period,
        t.current_period,
        who.now.date_naive(),
        registration,
    )?;
    let (offset, per_page) = (paging.offset(), paging.per_page());
    let r0 = app.store.read()?;
    // Figures and the key page from one snapshot when cached.
    let (f, page_keys) = match r0.stats(taxpayer, period)? {
        Some(c) => {
            let keys = r0.stats_keys(taxpayer, period, offset, per_page)?;
            (
                Figures {
                    cached: c,
                    keys: None,
                    from_cache: true,
                },
                keys,
            )
        }
        None => {
            drop(r0);
            let f = tally(app, who, taxpayer, period)?;
            let keys = f
                .keys
                .as_deref()
                .unwrap_or(&[])
                .iter()
                .skip(offset)
                .take(per_page)
                .cloned()
                .collect();
            (f, keys)
        }
    };
    paging.within(f.cached.exception_count)?;
    let r = app.store.read()?;
    let transfer_out = transfers_out(&r, taxpayer, period)?;
    let exceptions = r
        .invoices_by_keys(&page_keys)?
        .iter()
        .map(InvoiceView::from)
        .collect();
    Ok(StatisticsView {
        period,
        updated_at: f.cached.computed_at.to_rfc3339(),
        scans_applied_at: r
            .setting::<DateTime<FixedOffset>>(SCANS_APPLIED_AT)?
            .map(|t| t.to_rfc3339()),
        rows: rows(&f.cached.figures()),
        refund: refund_table(&f.cached.figures()),
        transfer_out,
        exceptions_total: f.cached.exception_count,
        page: paging.page(),
        per_page,
        exceptions,
        cached: f.from_cache,
    })
}

/// One month card of the workbench.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Card {
    #[schema(value_type = String, example = "202611")]
    pub period: TaxPeriod,
    pub state: CardState,
    pub count: u64,
    #[schema(value_type = i64)]
    pub tax: Fen,
    /// 进项税额转出 recorded for the month (0 when none).
    #[schema(value_type = i64)]
    pub transfer_out_tax: Fen,
}

/// Where a month stands against the current period.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CardState {
    /// Before the current period (orange: query only).
    Past,
    /// The current period (green: actionable).
    Current,
    /// After it (grey).
    Future,
}

/// `GET /api/v1/workbench/{year}`: the 12 months of `year` with their certified count and
/// tax (勾选认证 + 扫描认证, for 抵扣) and the 进项税额转出 recorded for each.
pub fn workbench(
    app: &App,
    who: &Who,
    taxpayer: &TaxpayerId,
    year: i32,
) -> AppResult<(Taxpayer, Vec<Card>)> {
    let t = crate::service::settle::settled(app, who, taxpayer)?;
    let transfers = app.store.read()?.transfers_out(taxpayer)?;
    let mut cards = Vec::with_capacity(12);
    for m in 1..=12 {
        let p = TaxPeriod::new(year, m)?;
        let state = match p.cmp(&t.current_period) {
            std::cmp::Ordering::Less => CardState::Past,
            std::cmp::Ordering::Equal => CardState::Current,
            std::cmp::Ordering::Greater => CardState::Future,
        };
        let (count, tax) = if state == CardState::Future {
            (0, Fen::ZERO)
        } else {
            let c = tally(app, who, taxpayer, p)?
                .cached
                .figures()
                .certified_total();
            (c.count, c.tax)
        };
        let transfer_out_tax = transfers
            .iter()
            .filter(|x| x.period == p)
            .map(|x| x.tax)
            .sum();
        cards.push(Card {
            period: p,
            state,
            count,
            tax,
            transfer_out_tax,
        });
    }
    Ok((t, cards))
}
