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

/// One row of the table: `selection`, `scan`, `total` are the certified figures (API.md);
/// `exceptions` the certified invoices since become 作废/失控/红冲/异常, and `deductible`
/// (可抵扣) the certified minus the exceptions.
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
        })
        .collect()
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
    crate::domain::rules::check_statistics_period(period, t.current_period)?;
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
/// tax (勾选认证 + 扫描认证).
pub fn workbench(
    app: &App,
    who: &Who,
    taxpayer: &TaxpayerId,
    year: i32,
) -> AppResult<(Taxpayer, Vec<Card>)> {
    let t = crate::service::settle::settled(app, who, taxpayer)?;
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
        cards.push(Card {
            period: p,
            state,
            count,
            tax,
        });
    }
    Ok((t, cards))
}
