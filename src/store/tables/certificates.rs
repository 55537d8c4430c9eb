//! Taxpayer certificates issued by the office, and which certificate each certificate
//! login's session was opened with (so that revoking a certificate ends its sessions).

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::{dec, enc, Tables, CERTIFICATES, SESSIONS, SESSION_CERTS, TAXPAYER_CERTIFICATES};
use crate::domain::TaxpayerId;
use crate::error::AppResult;
use crate::store::Tx;

/// How the taxpayer got the key of a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IssuedHow {
    /// The key was made here and handed over in a PKCS#12.
    P12,
    /// The taxpayer's own key, from a CSR.
    Csr,
}

/// Why a certificate was revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RevokedWhy {
    Lost,
    Replaced,
    Closed,
}

/// A revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// Unix seconds of the wall clock.
    pub at: i64,
    pub reason: RevokedWhy,
    /// Staff username.
    pub by: String,
}

/// A certificate issued by the office (table `certificates`, keyed by the serial number in
/// lower-case hex). Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateRecord {
    pub serial: String,
    pub taxpayer: TaxpayerId,
    /// SHA-256 of the DER, lower-case hex.
    pub fingerprint: String,
    pub not_before: i64,
    pub not_after: i64,
    pub issued_at: i64,
    /// Staff username.
    pub issued_by: String,
    pub how: IssuedHow,
    pub revoked: Option<Revocation>,
}

/// Getters of the certificate tables, on a [`Reader`](crate::store::Reader) or a [`Tx`].
pub trait CertificateReads: Tables {
    fn certificate(&self, serial: &str) -> AppResult<Option<CertificateRecord>> {
        let t = self.table(CERTIFICATES)?;
        let v = t.get(serial)?;
        v.map(|g| dec(g.value())).transpose()
    }

    /// A taxpayer's certificates, in serial order.
    fn certificates_of(&self, taxpayer: &TaxpayerId) -> AppResult<Vec<CertificateRecord>> {
        let index = self.table(TAXPAYER_CERTIFICATES)?;
        let certs = self.table(CERTIFICATES)?;
        let mut out = Vec::new();
        // Serials are hex: every one sorts below "g".
        for row in index.range((taxpayer.as_str(), "")..(taxpayer.as_str(), "g"))? {
            let (k, _) = row?;
            let (_, serial) = k.value();
            if let Some(v) = certs.get(serial)? {
                out.push(dec(v.value())?);
            }
        }
        Ok(out)
    }

    /// Every certificate issued.
    fn all_certificates(&self) -> AppResult<Vec<CertificateRecord>> {
        let t = self.table(CERTIFICATES)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (_, v) = row?;
            out.push(dec(v.value())?);
        }
        Ok(out)
    }

    /// The fingerprint of the certificate a session was opened with, if any.
    fn session_certificate(&self, token_hash: &[u8]) -> AppResult<Option<String>> {
        let t = self.table(SESSION_CERTS)?;
        let v = t.get(token_hash)?;
        Ok(v.map(|g| g.value().to_string()))
    }
}

impl<T: Tables> CertificateReads for T {}

impl Tx {
    pub fn put_certificate(&mut self, c: &CertificateRecord) -> AppResult<()> {
        let bytes = enc(c)?;
        self.open(CERTIFICATES)?
            .insert(c.serial.as_str(), bytes.as_slice())?;
        self.open(TAXPAYER_CERTIFICATES)?
            .insert((c.taxpayer.as_str(), c.serial.as_str()), c.issued_at)?;
        Ok(())
    }

    /// Records that the session of `token_hash` was opened with the certificate of
    /// `fingerprint`.
    pub fn put_session_certificate(
        &mut self,
        token_hash: &[u8],
        fingerprint: &str,
    ) -> AppResult<()> {
        self.open(SESSION_CERTS)?.insert(token_hash, fingerprint)?;
        Ok(())
    }

    /// Ends every session opened with the certificate of `fingerprint`; returns how many.
    pub fn end_certificate_sessions(&mut self, fingerprint: &str) -> AppResult<usize> {
        let mut ended = Vec::new();
        {
            let t = self.open(SESSION_CERTS)?;
            for row in t.iter()? {
                let (k, v) = row?;
                if v.value() == fingerprint {
                    ended.push(k.value().to_vec());
                }
            }
        }
        let mut n = 0;
        for hash in &ended {
            self.open(SESSION_CERTS)?.remove(hash.as_slice())?;
            if self.open(SESSIONS)?.remove(hash.as_slice())?.is_some() {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Forgets the certificates of sessions that no longer exist.
    pub fn purge_session_certificates(&mut self) -> AppResult<()> {
        let mut gone = Vec::new();
        {
            let certs = self.open(SESSION_CERTS)?;
            let sessions = self.open(SESSIONS)?;
            for row in certs.iter()? {
                let (k, _) = row?;
                if sessions.get(k.value())?.is_none() {
                    gone.push(k.value().to_vec());
                }
            }
        }
        let mut t = self.open(SESSION_CERTS)?;
        for hash in &gone {
            t.remove(hash.as_slice())?;
        }
        Ok(())
    }
}
