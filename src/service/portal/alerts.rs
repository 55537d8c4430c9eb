//! 风险提醒: what the taxpayer is warned about at login (首页) and on 发票勾选 —
//! - `status_changed`: its invoices whose status changed since the last visit (the login
//!   before the current one; at the first visit, since that login);
//! - `certified_became_exception`: certified-for-抵扣 invoices that became 失控, 异常, 作废 or
//!   红冲 and are not yet transferred out (进项税额转出);
//! - `risky_seller`: its unconfirmed invoices of sellers the office flagged, with the reason.
//!
//! Newest first, at most [`MAX_ALERTS`].

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use crate::domain::{InvoiceChange, InvoiceKey, RiskySeller, TaxpayerId};
use crate::error::AppResult;
use crate::index::InvoiceFilter;
use crate::service::portal::transfers;
use crate::service::App;
use crate::store::prelude::*;
use crate::store::Who;

/// Most alerts returned.
pub const MAX_ALERTS: usize = 200;
/// Most invoices named per flagged seller.
const PER_SELLER: usize = 50;

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    StatusChanged,
    CertifiedBecameException,
    RiskySeller,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::StatusChanged => "status_changed",
            AlertKind::CertifiedBecameException => "certified_became_exception",
            AlertKind::RiskySeller => "risky_seller",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            AlertKind::StatusChanged => "发票状态变化",
            AlertKind::CertifiedBecameException => "已认证发票转为异常",
            AlertKind::RiskySeller => "风险纳税人",
        }
    }
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub kind: AlertKind,
    pub invoice: Option<InvoiceKey>,
    pub seller_id: Option<TaxpayerId>,
    pub message: String,
    pub at: DateTime<FixedOffset>,
}

/// An invoice as a message names it.
pub fn invoice_label(key: &InvoiceKey) -> String {
    match key.code() {
        Some(code) => format!("发票（代码{code}，号码{}）", key.number()),
        None => format!("发票（号码{}）", key.number()),
    }
}

/// The taxpayer's alerts at `who.now`, newest first (at most [`MAX_ALERTS`]).
pub fn alerts(app: &App, who: &Who, id: &TaxpayerId) -> AppResult<Vec<Alert>> {
    crate::service::settle::settled(app, who, id)?;
    let mut out = Vec::new();

    // Certified invoices that became exceptions, not yet transferred out.
    let (candidates, _) = transfers::candidates(app, id)?;
    let r = app.store.read()?;
    for c in &candidates {
        let i = &c.invoice;
        // When it turned: its latest status change (else its issue date).
        let at = r
            .invoice_events(&i.key)?
            .into_iter()
            .rev()
            .find(|e| matches!(e.change, InvoiceChange::Status { .. }))
            .map(|e| e.at);
        out.push(Alert {
            kind: AlertKind::CertifiedBecameException,
            invoice: Some(i.key.clone()),
            seller_id: Some(i.seller_id.clone()),
            message: format!(
                "已认证抵扣的{}（销方：{}）已变为{}，请做进项税额转出，应转出税额{}元",
                invoice_label(&i.key),
                i.seller_name,
                i.status.label_zh(),
                c.tax
            ),
            at: at.unwrap_or_else(|| start_of(i.issued_on, who)),
        });
    }

    // Status changes since the last visit (the newest per invoice).
    if let Some(v) = r.visits(id)? {
        let mut seen = BTreeSet::new();
        for n in r.status_changes_since(id, v.since(), MAX_ALERTS * 2)? {
            if !seen.insert(n.key.to_u128()) {
                continue;
            }
            out.push(Alert {
                kind: AlertKind::StatusChanged,
                invoice: Some(n.key.clone()),
                seller_id: None,
                message: format!(
                    "{}的状态由{}变为{}",
                    invoice_label(&n.key),
                    n.from.label_zh(),
                    n.to.label_zh()
                ),
                at: n.at,
            });
        }
    }

    // Unconfirmed invoices of flagged sellers.
    let flags = r.risky_sellers()?;
    drop(r);
    if !flags.is_empty() {
        app.index.catch_up(&app.store)?;
        let mut found: BTreeMap<String, (RiskySeller, Vec<InvoiceKey>)> = BTreeMap::new();
        for flag in flags {
            let f = InvoiceFilter {
                buyer: Some(id.clone()),
                seller: Some(flag.seller_id.clone()),
                sel: vec![0, 1],
                ..InvoiceFilter::default()
            };
            let page = app.index.search(&f, 1, PER_SELLER)?;
            if !page.keys.is_empty() {
                found.insert(flag.seller_id.to_string(), (flag, page.keys));
            }
        }
        for (flag, keys) in found.into_values() {
            for k in keys {
                out.push(Alert {
                    kind: AlertKind::RiskySeller,
                    message: format!(
                        "{}的销方（{}）已被税务机关标记为风险纳税人：{}。勾选前请核实业务真实性",
                        invoice_label(&k),
                        flag.seller_id,
                        flag.reason
                    ),
                    invoice: Some(k),
                    seller_id: Some(flag.seller_id.clone()),
                    at: flag.at,
                });
            }
        }
    }

    out.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.kind.cmp(&b.kind)));
    out.truncate(MAX_ALERTS);
    Ok(out)
}

/// Midnight of `d` in the business zone.
fn start_of(d: chrono::NaiveDate, who: &Who) -> DateTime<FixedOffset> {
    d.and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(*who.now.offset()).single())
        .unwrap_or(who.now)
}

/// An alert as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlertView {
    /// `status_changed`、`certified_became_exception` 或 `risky_seller`。
    #[schema(example = "status_changed")]
    pub kind: &'static str,
    /// 相关发票（数电票、缴款书的 `code` 为 `null`）。
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice: Option<AlertInvoice>,
    /// 销方税号（已认证发票转为异常、风险纳税人时）。
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "91330100716105852F")]
    pub seller_id: Option<String>,
    pub message: String,
    /// 发生时间（RFC 3339）。
    pub at: String,
}

/// The invoice of an alert.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlertInvoice {
    /// 发票代码；数电票、海关缴款书没有（`null`）。
    pub code: Option<String>,
    pub number: String,
}

impl From<&Alert> for AlertView {
    fn from(a: &Alert) -> Self {
        AlertView {
            kind: a.kind.as_str(),
            invoice: a.invoice.as_ref().map(|k| AlertInvoice {
                code: k.code().map(str::to_owned),
                number: k.number().to_string(),
            }),
            seller_id: a.seller_id.as_ref().map(|s| s.to_string()),
            message: a.message.clone(),
            at: a.at.to_rfc3339(),
        }
    }
}

/// `GET /api/v1/alerts`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlertsView {
    pub items: Vec<AlertView>,
}
