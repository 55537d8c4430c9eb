//! Settings (typed values by key) and the `meta` table (schema version, invoice change
//! counter).

use redb::ReadableTable;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{dec, enc, Tables, META, SETTINGS};
use crate::error::AppResult;
use crate::store::Tx;

/// Key in `meta` of the invoice change counter (a little-endian `u64`).
pub(in crate::store) const INVOICE_SEQ: &str = "invoice_seq";

/// A little-endian `u64` as stored in `meta` (0 when malformed).
pub(in crate::store) fn decode_u64(b: &[u8]) -> u64 {
    b.try_into().map(u64::from_le_bytes).unwrap_or(0)
}

/// Getters of the settings and `meta` tables, on a [`Reader`](crate::store::Reader) or a
/// [`Tx`].
pub trait SettingReads: Tables {
    fn setting<T: DeserializeOwned>(&self, key: &str) -> AppResult<Option<T>> {
        let t = self.table(SETTINGS)?;
        let v = t.get(key)?;
        v.map(|g| dec(g.value())).transpose()
    }

    /// The invoice change counter: bumped by every commit that changes invoices.
    fn invoice_seq(&self) -> AppResult<u64> {
        let t = self.table(META)?;
        let v = t.get(INVOICE_SEQ)?;
        Ok(v.map(|g| decode_u64(g.value())).unwrap_or(0))
    }
}

impl<T: Tables> SettingReads for T {}

impl Tx {
    pub fn put_setting<T: Serialize>(&mut self, key: &str, value: &T) -> AppResult<()> {
        let bytes = enc(value)?;
        self.open(SETTINGS)?.insert(key, bytes.as_slice())?;
        Ok(())
    }

    pub fn delete_setting(&mut self, key: &str) -> AppResult<()> {
        self.open(SETTINGS)?.remove(key)?;
        Ok(())
    }
}
