//! Staff accounts, login sessions and login throttles.

use chrono::{DateTime, FixedOffset};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::{dec, enc, Tables, SESSIONS, STAFF, STAFF_META, STAFF_REGIONS, THROTTLE};
use crate::domain::{Region, Staff, TaxpayerId};
use crate::error::AppResult;
use crate::store::{codec, Tx};

/// A login session as stored (keyed by the SHA-256 of its token; the token itself is never
/// stored). Times are Unix seconds of the wall clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub subject: Subject,
    pub created_at: i64,
    pub last_seen: i64,
    pub address: Option<String>,
}

/// Whom a session belongs to. (Externally tagged: postcard cannot read internal tags.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Subject {
    Staff { username: String },
    Taxpayer { id: TaxpayerId },
}

/// Failed-attempt counter used to throttle logins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throttle {
    /// Unix seconds when the current window began.
    pub window_start: i64,
    pub failures: u32,
}

/// What is kept of a staff account besides its record (table `staff_meta`; an account
/// without a row has the default: no change required, never logged in).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffMeta {
    /// Set when an administrator reset the password; cleared when the user changes it.
    pub must_change_password: bool,
    /// Wall time of the last successful login.
    pub last_login_at: Option<DateTime<FixedOffset>>,
}

/// Getters of the staff, session and throttle tables, on a [`Reader`](crate::store::Reader)
/// or a [`Tx`].
pub trait StaffReads: Tables {
    fn staff(&self, username: &str) -> AppResult<Option<Staff>> {
        let t = self.table(STAFF)?;
        let v = t.get(username)?;
        v.map(|g| dec(g.value())).transpose()
    }

    fn staff_list(&self) -> AppResult<Vec<Staff>> {
        let t = self.table(STAFF)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (_, v) = row?;
            out.push(dec(v.value())?);
        }
        Ok(out)
    }

    /// The account's meta row, or the default when it has none.
    fn staff_meta(&self, username: &str) -> AppResult<StaffMeta> {
        let t = self.table(STAFF_META)?;
        let v = t.get(username)?;
        Ok(v.map(|g| dec(g.value())).transpose()?.unwrap_or_default())
    }

    /// The regions the account serves in 征纳互动 (none: every region).
    fn staff_regions(&self, username: &str) -> AppResult<Vec<Region>> {
        let t = self.table(STAFF_REGIONS)?;
        let v = t.get(username)?;
        Ok(v.map(|g| dec(g.value())).transpose()?.unwrap_or_default())
    }

    /// Sessions held (live or not yet purged).
    fn session_count(&self) -> AppResult<u64> {
        use redb::ReadableTableMetadata;
        Ok(self.table(SESSIONS)?.len()?)
    }

    fn session(&self, token_hash: &[u8]) -> AppResult<Option<SessionRecord>> {
        let t = self.table(SESSIONS)?;
        let v = t.get(token_hash)?;
        v.map(|g| dec(g.value())).transpose()
    }

    fn throttle(&self, key: &str) -> AppResult<Option<Throttle>> {
        let t = self.table(THROTTLE)?;
        let v = t.get(key)?;
        v.map(|g| dec(g.value())).transpose()
    }
}

impl<T: Tables> StaffReads for T {}

impl Tx {
    pub fn put_staff(&mut self, s: &Staff) -> AppResult<()> {
        let bytes = enc(s)?;
        self.open(STAFF)?
            .insert(s.username.as_str(), bytes.as_slice())?;
        Ok(())
    }

    pub fn put_staff_meta(&mut self, username: &str, m: &StaffMeta) -> AppResult<()> {
        let bytes = enc(m)?;
        self.open(STAFF_META)?.insert(username, bytes.as_slice())?;
        Ok(())
    }

    /// Sets the regions `username` serves (empty: every region, and the row goes).
    pub fn put_staff_regions(&mut self, username: &str, regions: &[Region]) -> AppResult<()> {
        let mut t = self.open(STAFF_REGIONS)?;
        if regions.is_empty() {
            t.remove(username)?;
        } else {
            let bytes = enc(&regions.to_vec())?;
            t.insert(username, bytes.as_slice())?;
        }
        Ok(())
    }

    pub fn put_session(&mut self, token_hash: &[u8], s: &SessionRecord) -> AppResult<()> {
        let bytes = enc(s)?;
        self.open(SESSIONS)?.insert(token_hash, bytes.as_slice())?;
        Ok(())
    }

    pub fn delete_session(&mut self, token_hash: &[u8]) -> AppResult<bool> {
        self.open(super::SESSION_CERTS)?.remove(token_hash)?;
        Ok(self.open(SESSIONS)?.remove(token_hash)?.is_some())
    }

    /// Removes sessions for which `expired` holds; returns how many.
    pub fn purge_sessions(&mut self, expired: impl Fn(&SessionRecord) -> bool) -> AppResult<usize> {
        let mut t = self.open(SESSIONS)?;
        let mut n = 0usize;
        t.retain(|_, v| match codec::decode::<SessionRecord>(v) {
            Ok(s) if expired(&s) => {
                n += 1;
                false
            }
            Ok(_) => true,
            Err(_) => {
                n += 1;
                false
            }
        })?;
        drop(t);
        self.purge_session_certificates()?;
        Ok(n)
    }

    pub fn put_throttle(&mut self, key: &str, t: &Throttle) -> AppResult<()> {
        let bytes = enc(t)?;
        self.open(THROTTLE)?.insert(key, bytes.as_slice())?;
        Ok(())
    }

    pub fn clear_throttle(&mut self, key: &str) -> AppResult<()> {
        self.open(THROTTLE)?.remove(key)?;
        Ok(())
    }
}
