//! The integrity check behind `fapiao verify` and a replica's start (S-X4): the audit log's
//! hash chain is whole, the deduction statistics recomputed from the invoice records equal
//! what is served, and every confirmed invoice belongs to a submitted batch that lists it and
//! has its confirming audit entry.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::domain::{ConfirmationBatch, SelectionState, TaxPeriod, TaxpayerId};
use crate::error::AppResult;
use crate::service::App;
use crate::store::backup::AuditHead;
use crate::store::prelude::*;

/// The actions that confirm a batch: a taxpayer's 提交, or a batch loaded with generated
/// training data.
pub const CONFIRMING: &[&str] = &["confirmation.submit", "confirmation.import"];

/// What the check found; `ok()` when nothing.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The head when the chain is whole.
    pub audit_head: Option<AuditHead>,
    /// The first break of the chain.
    pub audit_break: Option<String>,
    /// Statistics tables compared.
    pub statistics_checked: usize,
    /// Statistics that differ from the records.
    pub statistics_differ: Vec<String>,
    /// Confirmed invoices checked.
    pub confirmations_checked: u64,
    /// Confirmed invoices without their batch or its confirming entry (the first 100).
    pub confirmations_unbacked: Vec<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.audit_break.is_none()
            && self.statistics_differ.is_empty()
            && self.confirmations_unbacked.is_empty()
    }

    /// The first problem, in one line (for a replica's banner and the CLI's summary).
    pub fn first_problem(&self) -> Option<String> {
        self.audit_break
            .clone()
            .or_else(|| self.statistics_differ.first().cloned())
            .or_else(|| self.confirmations_unbacked.first().cloned())
    }
}

pub fn run(app: &App) -> AppResult<Report> {
    let r = app.store.read()?;
    let (audit_head, audit_break) = match r.verify_audit_chain()? {
        Ok((seq, hash)) => (Some(AuditHead::new(seq, &hash)), None),
        Err(b) => (None, Some(b.to_string())),
    };
    let (statistics_checked, diffs) = super::statistics::check(app)?;
    let statistics_differ = diffs
        .iter()
        .map(|d| format!("抵扣统计 {} {}：{}", d.taxpayer_id, d.period, d.what))
        .collect();

    let confirmed_by = crate::store::audit_targets(&r, CONFIRMING)?;
    let mut batches: HashMap<(TaxpayerId, u32), Vec<ConfirmationBatch>> = HashMap::new();
    let mut listed: HashMap<(TaxpayerId, u32, u32), HashSet<u128>> = HashMap::new();
    let mut checked = 0u64;
    let mut unbacked = Vec::new();
    let mut problems = 0u64;
    r.for_each_invoice_batch(100_000, |invoices| {
        for inv in invoices {
            let SelectionState::Confirmed { period, batch, .. } = inv.selection else {
                continue;
            };
            checked += 1;
            let buyer = inv.buyer_id.clone();
            let key = (buyer.clone(), period.as_u32());
            if !batches.contains_key(&key) {
                let list = r.batches(&buyer, period)?;
                for b in &list {
                    listed.insert(
                        (buyer.clone(), period.as_u32(), b.number),
                        b.invoices.iter().map(|k| k.to_u128()).collect(),
                    );
                }
                batches.insert(key.clone(), list);
            }
            let submitted = batches.get(&key).is_some_and(|list| {
                list.iter()
                    .any(|b| b.number == batch && b.status == crate::domain::BatchStatus::Submitted)
            });
            let in_batch = listed
                .get(&(buyer.clone(), period.as_u32(), batch))
                .is_some_and(|keys| keys.contains(&inv.key.to_u128()));
            let target = batch_target(&buyer, period, batch);
            let problem = if !submitted || !in_batch {
                Some("不在已提交的确认批次中")
            } else if !confirmed_by.contains(&target) {
                Some("没有确认的审计记录")
            } else {
                None
            };
            if let Some(p) = problem {
                problems += 1;
                if unbacked.len() < 100 {
                    unbacked.push(format!("已确认发票 {}（{}）{}", inv.key, target, p));
                }
            }
        }
        Ok(())
    })?;
    if problems > unbacked.len() as u64 {
        unbacked.push(format!("……共 {problems} 张"));
    }
    Ok(Report {
        audit_head,
        audit_break,
        statistics_checked,
        statistics_differ,
        confirmations_checked: checked,
        confirmations_unbacked: unbacked,
    })
}

/// The audit target of a batch, as the confirmation engine writes it.
pub fn batch_target(taxpayer: &TaxpayerId, period: TaxPeriod, number: u32) -> String {
    format!("{taxpayer} {period}#{number}")
}
