//! What the risk alerts read: each taxpayer's visits (the previous and the latest login) and
//! the status changes of its invoices by time, kept beside the invoices' histories so that
//! "changed since the last visit" is a range read, not a walk over every invoice.

use chrono::{DateTime, FixedOffset};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::{dec, enc, Tables, STATUS_CHANGES, TAXPAYER_VISITS};
use crate::domain::{InvoiceKey, InvoiceStatus, TaxpayerId};
use crate::error::{AppError, AppResult};
use crate::store::Tx;

/// A taxpayer's logins as the alerts need them (business time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visits {
    /// The login before the latest one (none at the first).
    pub previous: Option<DateTime<FixedOffset>>,
    /// The latest login.
    pub last: DateTime<FixedOffset>,
}

impl Visits {
    /// "Since the last visit": the login before this one, or this one at the first visit.
    pub fn since(&self) -> DateTime<FixedOffset> {
        self.previous.unwrap_or(self.last)
    }
}

/// One status change of one of a buyer's invoices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusNote {
    pub key: InvoiceKey,
    pub from: InvoiceStatus,
    pub to: InvoiceStatus,
    pub at: DateTime<FixedOffset>,
}

/// Getters of the alert tables, on a [`Reader`](crate::store::Reader) or a [`Tx`].
pub trait AlertReads: Tables {
    fn visits(&self, taxpayer: &TaxpayerId) -> AppResult<Option<Visits>> {
        let t = self.table(TAXPAYER_VISITS)?;
        let v = t.get(taxpayer.as_str())?;
        v.map(|g| dec(g.value())).transpose()
    }

    /// The status changes of the buyer's invoices at or after `since`, newest first, at most
    /// `limit`.
    fn status_changes_since(
        &self,
        buyer: &TaxpayerId,
        since: DateTime<FixedOffset>,
        limit: usize,
    ) -> AppResult<Vec<StatusNote>> {
        let t = self.table(STATUS_CHANGES)?;
        let from = since.timestamp_millis();
        let mut out = Vec::new();
        for row in t
            .range((buyer.as_str(), from, 0u128)..=(buyer.as_str(), i64::MAX, u128::MAX))?
            .rev()
        {
            if out.len() >= limit {
                break;
            }
            let (_, v) = row?;
            out.push(dec(v.value())?);
        }
        Ok(out)
    }
}

impl<T: Tables> AlertReads for T {}

impl Tx {
    /// Records a login: the latest becomes the previous.
    pub fn note_visit(
        &mut self,
        taxpayer: &TaxpayerId,
        at: DateTime<FixedOffset>,
    ) -> AppResult<()> {
        let previous = self.visits(taxpayer)?.map(|v| v.last);
        let bytes = enc(&Visits { previous, last: at })?;
        self.open(TAXPAYER_VISITS)?
            .insert(taxpayer.as_str(), bytes.as_slice())?;
        Ok(())
    }

    /// Files a status change of an invoice under its buyer and time (the invoice, already
    /// written in this transaction, names the buyer).
    pub fn note_status_change(
        &mut self,
        key: &InvoiceKey,
        from: InvoiceStatus,
        to: InvoiceStatus,
        at: DateTime<FixedOffset>,
    ) -> AppResult<()> {
        use super::invoices::InvoiceReads;
        let inv = self
            .invoice(key)?
            .ok_or_else(|| AppError::internal("status change of a missing invoice"))?;
        let note = StatusNote {
            key: key.clone(),
            from,
            to,
            at,
        };
        let bytes = enc(&note)?;
        self.open(STATUS_CHANGES)?.insert(
            (inv.buyer_id.as_str(), at.timestamp_millis(), key.to_u128()),
            bytes.as_slice(),
        )?;
        Ok(())
    }
}
