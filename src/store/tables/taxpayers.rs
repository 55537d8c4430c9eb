//! Taxpayers and the office's changes to their records.

use redb::ReadableTable;

use super::{dec, enc, Tables, RISKY_SELLERS, TAXPAYERS, TAXPAYER_CHANGES};
use crate::domain::{ProfileChange, RiskySeller, Taxpayer, TaxpayerId};
use crate::error::AppResult;
use crate::store::Tx;

/// Getters of the taxpayers' tables, on a [`Reader`](crate::store::Reader) or a [`Tx`].
pub trait TaxpayerReads: Tables {
    fn taxpayer(&self, id: &TaxpayerId) -> AppResult<Option<Taxpayer>> {
        let t = self.table(TAXPAYERS)?;
        let v = t.get(id.as_str())?;
        v.map(|g| dec(g.value())).transpose()
    }

    fn taxpayers(&self) -> AppResult<Vec<Taxpayer>> {
        let t = self.table(TAXPAYERS)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (_, v) = row?;
            out.push(dec(v.value())?);
        }
        Ok(out)
    }

    /// A seller the office flagged as a risk.
    fn risky_seller(&self, seller: &TaxpayerId) -> AppResult<Option<RiskySeller>> {
        let t = self.table(RISKY_SELLERS)?;
        let v = t.get(seller.as_str())?;
        v.map(|g| dec(g.value())).transpose()
    }

    /// Every flagged seller, by taxpayer id.
    fn risky_sellers(&self) -> AppResult<Vec<RiskySeller>> {
        let t = self.table(RISKY_SELLERS)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (_, v) = row?;
            out.push(dec(v.value())?);
        }
        Ok(out)
    }

    /// The office's changes to a taxpayer's record, oldest first.
    fn taxpayer_changes(&self, taxpayer: &TaxpayerId) -> AppResult<Vec<ProfileChange>> {
        let t = self.table(TAXPAYER_CHANGES)?;
        let mut out = Vec::new();
        for row in t.range((taxpayer.as_str(), 0u32)..=(taxpayer.as_str(), u32::MAX))? {
            let (_, v) = row?;
            out.push(dec(v.value())?);
        }
        Ok(out)
    }
}

impl<T: Tables> TaxpayerReads for T {}

impl Tx {
    pub fn put_risky_seller(&mut self, r: &RiskySeller) -> AppResult<()> {
        let bytes = enc(r)?;
        self.open(RISKY_SELLERS)?
            .insert(r.seller_id.as_str(), bytes.as_slice())?;
        Ok(())
    }

    /// Removes a flag; whether there was one.
    pub fn delete_risky_seller(&mut self, seller: &TaxpayerId) -> AppResult<bool> {
        Ok(self.open(RISKY_SELLERS)?.remove(seller.as_str())?.is_some())
    }

    pub fn put_taxpayer(&mut self, t: &Taxpayer) -> AppResult<()> {
        let bytes = enc(t)?;
        self.open(TAXPAYERS)?
            .insert(t.id.as_str(), bytes.as_slice())?;
        Ok(())
    }

    /// Appends a change of a taxpayer's record.
    pub fn add_taxpayer_change(
        &mut self,
        taxpayer: &TaxpayerId,
        c: &ProfileChange,
    ) -> AppResult<()> {
        let bytes = enc(c)?;
        let mut t = self.open(TAXPAYER_CHANGES)?;
        let next = match t
            .range((taxpayer.as_str(), 0u32)..=(taxpayer.as_str(), u32::MAX))?
            .next_back()
        {
            Some(row) => row?.0.value().1 + 1,
            None => 0,
        };
        t.insert((taxpayer.as_str(), next), bytes.as_slice())?;
        Ok(())
    }
}
