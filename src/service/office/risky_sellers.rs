//! 风险纳税人: sellers the office flags, with the reason taxpayers are shown (alerts at login
//! and on 发票勾选). Flagging and removing are audited in their own write transaction.

use serde::Serialize;

use crate::domain::{check_risk_reason, RiskySeller, TaxpayerId};
use crate::error::{AppError, AppResult, Code};
use crate::service::App;
use crate::store::prelude::*;
use crate::store::Who;

/// A seller id as the office types it; a clear message when it is not one.
pub fn parse_seller(s: &str) -> AppResult<TaxpayerId> {
    TaxpayerId::parse(s.trim())
        .map_err(|e| AppError::invalid("seller_id", format!("销方税号不正确：{}", e.message)))
}

/// Every flagged seller, newest flag first, with its name when the seller is a taxpayer
/// of this platform.
pub fn list(app: &App) -> AppResult<Vec<(RiskySeller, Option<String>)>> {
    let r = app.store.read()?;
    let mut out = Vec::new();
    for s in r.risky_sellers()? {
        let name = r.taxpayer(&s.seller_id)?.map(|t| t.name);
        out.push((s, name));
    }
    out.sort_by(|a, b| {
        b.0.at
            .cmp(&a.0.at)
            .then_with(|| a.0.seller_id.cmp(&b.0.seller_id))
    });
    Ok(out)
}

/// Flags `seller_id` (or changes its reason). Bad input changes nothing.
pub fn flag(app: &App, who: &Who, seller_id: &str, reason: &str) -> AppResult<RiskySeller> {
    let seller = parse_seller(seller_id)?;
    let reason = check_risk_reason(reason)?;
    let flag = RiskySeller {
        seller_id: seller.clone(),
        reason,
        by: match &who.actor {
            crate::domain::Actor::Staff { username } => username.clone(),
            other => other.to_string(),
        },
        at: who.now,
    };
    app.store.write(who, |tx| {
        let before = tx.risky_seller(&seller)?;
        tx.put_risky_seller(&flag)?;
        tx.audit(
            if before.is_some() {
                "risky_seller.update"
            } else {
                "risky_seller.flag"
            },
            seller.as_str(),
            format!("reason={}", flag.reason),
        );
        Ok(())
    })?;
    Ok(flag)
}

/// Removes the flag of `seller_id`; 404 when it has none.
pub fn unflag(app: &App, who: &Who, seller_id: &str) -> AppResult<RiskySeller> {
    let seller = parse_seller(seller_id)?;
    app.store.write(who, |tx| {
        let Some(before) = tx.risky_seller(&seller)? else {
            return Err(AppError::new(Code::NotFound).with_message("该销方未被标记为风险纳税人"));
        };
        tx.delete_risky_seller(&seller)?;
        tx.audit(
            "risky_seller.remove",
            seller.as_str(),
            format!("reason={}", before.reason),
        );
        Ok(before)
    })
}

/// A flagged seller as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RiskySellerView {
    #[schema(example = "91330100716105852F")]
    pub seller_id: String,
    /// 本平台纳税人档案中的名称（销方不是本平台纳税人时无此项）。
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seller_name: Option<String>,
    pub reason: String,
    /// 标记人。
    pub by: String,
    /// 标记时间（RFC 3339）。
    pub at: String,
}

impl RiskySellerView {
    pub fn of(s: &RiskySeller, name: Option<String>) -> RiskySellerView {
        RiskySellerView {
            seller_id: s.seller_id.to_string(),
            seller_name: name,
            reason: s.reason.clone(),
            by: s.by.clone(),
            at: s.at.to_rfc3339(),
        }
    }
}
