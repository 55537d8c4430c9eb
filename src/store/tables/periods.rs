//! Tax periods: declarations, the deadlines the office records, confirmation batches, and
//! the cache of each period's 抵扣统计 (made stale by the commits that change it).

use redb::ReadableTable;

use super::{dec, enc, Tables, BATCHES, DEADLINES, DECLARATIONS, STATS, STATS_GEN, STATS_KEYS};
use crate::domain::statistics::Cached;
use crate::domain::{
    BatchStatus, ConfirmationBatch, DeclarationStatus, InvoiceKey, InvoiceUse, Region, TaxPeriod,
    TaxpayerId,
};
use crate::error::{AppError, AppResult};
use crate::store::codec::{self, date_to_days, days_to_date};
use crate::store::Tx;

/// Getters of the periods' tables, on a [`Reader`](crate::store::Reader) or a [`Tx`].
pub trait PeriodReads: Tables {
    fn declaration(
        &self,
        taxpayer: &TaxpayerId,
        period: TaxPeriod,
    ) -> AppResult<Option<DeclarationStatus>> {
        let t = self.table(DECLARATIONS)?;
        let v = t.get((taxpayer.as_str(), period.as_u32()))?;
        match v {
            None => Ok(None),
            Some(g) => DeclarationStatus::from_code(g.value())
                .map(Some)
                .ok_or_else(|| AppError::internal("bad declaration code")),
        }
    }

    /// A deadline recorded by the office for a region and period, if any.
    fn deadline(&self, region: &Region, period: TaxPeriod) -> AppResult<Option<chrono::NaiveDate>> {
        let t = self.table(DEADLINES)?;
        let v = t.get((region.code(), period.as_u32()))?;
        v.map(|g| days_to_date(g.value()).map_err(AppError::internal))
            .transpose()
    }

    fn batches(
        &self,
        taxpayer: &TaxpayerId,
        period: TaxPeriod,
    ) -> AppResult<Vec<ConfirmationBatch>> {
        let t = self.table(BATCHES)?;
        let p = period.as_u32();
        let mut out = Vec::new();
        for row in t.range((taxpayer.as_str(), p, 0u32)..=(taxpayer.as_str(), p, u32::MAX))? {
            let (_, v) = row?;
            out.push(decode_batch(v.value())?);
        }
        Ok(out)
    }

    /// The taxpayer's pending batches of the periods before `before`, oldest first.
    fn pending_batches_before(
        &self,
        taxpayer: &TaxpayerId,
        before: TaxPeriod,
    ) -> AppResult<Vec<ConfirmationBatch>> {
        let t = self.table(BATCHES)?;
        let mut out = Vec::new();
        for row in
            t.range((taxpayer.as_str(), 0u32, 0u32)..(taxpayer.as_str(), before.as_u32(), 0u32))?
        {
            let (_, v) = row?;
            let batch = decode_batch(v.value())?;
            if batch.status == BatchStatus::Pending {
                out.push(batch);
            }
        }
        Ok(out)
    }

    /// The cached statistics of a taxpayer's period, if current.
    fn stats(&self, taxpayer: &TaxpayerId, period: TaxPeriod) -> AppResult<Option<Cached>> {
        let t = self.table(STATS)?;
        let v = t.get((taxpayer.as_str(), period.as_u32()))?;
        v.map(|g| dec(g.value())).transpose()
    }

    /// `limit` cached exception keys from `offset` (reads only those bytes).
    fn stats_keys(
        &self,
        taxpayer: &TaxpayerId,
        period: TaxPeriod,
        offset: usize,
        limit: usize,
    ) -> AppResult<Vec<InvoiceKey>> {
        let t = self.table(STATS_KEYS)?;
        let Some(g) = t.get((taxpayer.as_str(), period.as_u32()))? else {
            return Ok(Vec::new());
        };
        let bytes = g.value();
        let start = offset.saturating_mul(16).min(bytes.len());
        let end = offset
            .saturating_add(limit)
            .saturating_mul(16)
            .min(bytes.len());
        bytes[start..end]
            .chunks_exact(16)
            .map(|c| {
                let v = u128::from_le_bytes(c.try_into().unwrap_or([0; 16]));
                InvoiceKey::from_u128(v).ok_or_else(|| AppError::internal("bad cached key"))
            })
            .collect()
    }

    /// Every cached statistic (for the integrity check).
    fn all_stats(&self) -> AppResult<Vec<(TaxpayerId, TaxPeriod, Cached)>> {
        let t = self.table(STATS)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (k, v) = row?;
            let (tp, p) = k.value();
            let tp = TaxpayerId::parse(tp).map_err(|e| AppError::internal(e.message))?;
            let p = TaxPeriod::from_u32(p).ok_or_else(|| AppError::internal("bad period"))?;
            out.push((tp, p, dec(v.value())?));
        }
        Ok(out)
    }

    /// The change generation of a taxpayer's period statistics.
    fn stats_gen(&self, taxpayer: &TaxpayerId, period: TaxPeriod) -> AppResult<u64> {
        let t = self.table(STATS_GEN)?;
        let v = t.get((taxpayer.as_str(), period.as_u32()))?;
        Ok(v.map(|g| g.value()).unwrap_or(0))
    }
}

impl<T: Tables> PeriodReads for T {}

impl Tx {
    pub fn put_declaration(
        &mut self,
        taxpayer: &TaxpayerId,
        period: TaxPeriod,
        status: DeclarationStatus,
    ) -> AppResult<()> {
        self.open(DECLARATIONS)?
            .insert((taxpayer.as_str(), period.as_u32()), status.code())?;
        Ok(())
    }

    pub fn put_deadline(
        &mut self,
        region: &Region,
        period: TaxPeriod,
        deadline: chrono::NaiveDate,
    ) -> AppResult<()> {
        self.open(DEADLINES)?
            .insert((region.code(), period.as_u32()), date_to_days(deadline))?;
        Ok(())
    }

    pub fn put_batch(&mut self, b: &ConfirmationBatch) -> AppResult<()> {
        let mut bytes = enc(b)?;
        // The batch's use follows the record (a 抵扣 batch is written as before uses existed).
        if b.use_ != InvoiceUse::Deduct {
            bytes.push(b.use_.code());
        }
        self.open(BATCHES)?.insert(
            (b.taxpayer.as_str(), b.period.as_u32(), b.number),
            bytes.as_slice(),
        )?;
        Ok(())
    }

    /// Caches a period's figures and its exception keys (in key order).
    pub fn put_stats(
        &mut self,
        taxpayer: &TaxpayerId,
        period: TaxPeriod,
        c: &Cached,
        keys: &[InvoiceKey],
    ) -> AppResult<()> {
        let bytes = enc(c)?;
        self.open(STATS)?
            .insert((taxpayer.as_str(), period.as_u32()), bytes.as_slice())?;
        let mut flat = Vec::with_capacity(keys.len() * 16);
        for k in keys {
            flat.extend_from_slice(&k.to_u128().to_le_bytes());
        }
        self.open(STATS_KEYS)?
            .insert((taxpayer.as_str(), period.as_u32()), flat.as_slice())?;
        Ok(())
    }

    /// Removes the cached statistics this transaction made stale and bumps their
    /// generations (called by the store just before commit).
    pub(in crate::store) fn flush_stale(&mut self) -> AppResult<()> {
        if self.stale.is_empty() {
            return Ok(());
        }
        let stale = std::mem::take(&mut self.stale);
        let mut cache = self.txn.open_table(STATS)?;
        let mut cache_keys = self.txn.open_table(STATS_KEYS)?;
        let mut gens = self.txn.open_table(STATS_GEN)?;
        for (tp, p) in &stale {
            cache.remove((tp.as_str(), *p))?;
            cache_keys.remove((tp.as_str(), *p))?;
            let g = gens.get((tp.as_str(), *p))?.map(|g| g.value()).unwrap_or(0);
            gens.insert((tp.as_str(), *p), g + 1)?;
        }
        Ok(())
    }
}

/// A batch record: the postcard batch, then the use's code when it is not 抵扣.
fn decode_batch(bytes: &[u8]) -> AppResult<ConfirmationBatch> {
    let (mut batch, rest): (ConfirmationBatch, &[u8]) =
        codec::decode_with_rest(bytes).map_err(AppError::internal)?;
    batch.use_ = match rest {
        [] => InvoiceUse::Deduct,
        [c] => InvoiceUse::from_code(*c).ok_or_else(|| AppError::internal("bad batch use"))?,
        _ => return Err(AppError::internal("bad batch record")),
    };
    Ok(batch)
}
