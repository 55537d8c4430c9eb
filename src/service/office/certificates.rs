//! Taxpayer certificates (税务数字证书) issued by the office: issue (a key made here, handed
//! over once in a password-protected PKCS#12, or the taxpayer's CSR), list, revoke (which ends
//! the sessions opened with the certificate), the CRL and the CA certificate; and the check at
//! certificate login that a certificate is neither revoked nor, when `tls.require_bound` is
//! set, unknown to this system.
//!
//! Issuing again for a taxpayer is renewal: the older certificate stays valid until it expires
//! or the office revokes it (reason `replaced`), so the taxpayer can install the new one first.

use base64::Engine;
use chrono::{DateTime, FixedOffset};
use rand::Rng;
use serde::Serialize;
use time::OffsetDateTime;

use crate::domain::TaxpayerId;
use crate::error::{AppError, AppResult, Code};
use crate::pki::checker::CertRefusal;
use crate::pki::issue::{self, Ca, CaError, CsrError, Holder, RevokeReason};
use crate::service::App;
use crate::store::prelude::*;
use crate::store::{CertificateRecord, IssuedHow, Revocation, RevokedWhy, Who};

/// Days before expiry from which the console lists a certificate as expiring.
pub const EXPIRING_DAYS: i64 = 30;

/// A certificate as the office sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CertificateInfo {
    /// Serial number, lower-case hex.
    #[schema(example = "5f1c0a9e3b7d4c2a8e6f0b1d2c3e4f50")]
    pub serial: String,
    #[schema(value_type = String, example = "91350100M000100Y43")]
    pub taxpayer_id: TaxpayerId,
    /// SHA-256 of the certificate's DER, lower-case hex.
    pub fingerprint: String,
    #[schema(value_type = String, example = "2026-12-02T10:00:00+08:00")]
    pub not_before: DateTime<FixedOffset>,
    #[schema(value_type = String, example = "2028-12-02T10:00:00+08:00")]
    pub not_after: DateTime<FixedOffset>,
    /// `active`, `revoked` or `expired`.
    #[schema(example = "active")]
    pub state: &'static str,
    /// The staff member who issued it.
    pub issued_by: String,
    #[schema(value_type = String, example = "2026-12-02T10:00:00+08:00")]
    pub issued_at: DateTime<FixedOffset>,
    /// `p12` (key made here) or `csr` (the taxpayer's own key).
    #[schema(example = "p12")]
    pub how: &'static str,
    #[schema(value_type = Option<String>)]
    pub revoked_at: Option<DateTime<FixedOffset>>,
    /// `lost`, `replaced` or `closed`.
    pub revoked_reason: Option<&'static str>,
    pub revoked_by: Option<String>,
}

/// What issuing answers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IssuedCertificate {
    pub serial: String,
    /// The certificate, PEM.
    pub certificate: String,
    /// Only for a key made here: the PKCS#12 (certificate, key and CA), base64. Shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p12: Option<String>,
    /// Only with `p12`: its password. Shown once, never stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

fn at(app: &App, secs: i64) -> DateTime<FixedOffset> {
    DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .with_timezone(&app.clock.tz())
}

fn reason_str(r: RevokedWhy) -> &'static str {
    match r {
        RevokedWhy::Lost => "lost",
        RevokedWhy::Replaced => "replaced",
        RevokedWhy::Closed => "closed",
    }
}

fn state_of(c: &CertificateRecord, wall: i64) -> &'static str {
    if c.revoked.is_some() {
        "revoked"
    } else if c.not_after < wall {
        "expired"
    } else {
        "active"
    }
}

fn info(app: &App, c: &CertificateRecord, wall: i64) -> CertificateInfo {
    CertificateInfo {
        serial: c.serial.clone(),
        taxpayer_id: c.taxpayer.clone(),
        fingerprint: c.fingerprint.clone(),
        not_before: at(app, c.not_before),
        not_after: at(app, c.not_after),
        state: state_of(c, wall),
        issued_by: c.issued_by.clone(),
        issued_at: at(app, c.issued_at),
        how: match c.how {
            IssuedHow::P12 => "p12",
            IssuedHow::Csr => "csr",
        },
        revoked_at: c.revoked.as_ref().map(|r| at(app, r.at)),
        revoked_reason: c.revoked.as_ref().map(|r| reason_str(r.reason)),
        revoked_by: c.revoked.as_ref().map(|r| r.by.clone()),
    }
}

fn wall_time(secs: i64) -> AppResult<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(secs).map_err(|e| AppError::internal(e.to_string()))
}

fn ca_error(e: CaError) -> AppError {
    match e {
        CaError::NoKey => AppError::new(Code::CaKeyMissing).with_message(e.to_string()),
        CaError::Unavailable(_) => AppError::internal(e.to_string()),
    }
}

fn no_taxpayer() -> AppError {
    AppError::new(Code::NotFound).with_message("纳税人不存在")
}

fn no_certificate() -> AppError {
    AppError::new(Code::NotFound).with_message("证书不存在")
}

/// The staff username of `who` (the actor's name otherwise).
fn username(who: &Who) -> String {
    match &who.actor {
        crate::domain::Actor::Staff { username } => username.clone(),
        other => other.to_string(),
    }
}

/// A password for a PKCS#12: 16 letters and digits, without look-alikes.
fn new_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    (0..16)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The longest CSR accepted (PEM characters).
const MAX_CSR_CHARS: usize = 16 * 1024;

/// Issues a certificate for taxpayer `id`: with a key made here (`csr` `None`; the answer has
/// the PKCS#12 and its password, once) or for the key of the CSR given (PEM; its signature is
/// checked and its subject replaced by the taxpayer's). Recorded with its audit entry.
pub fn issue(
    app: &App,
    who: &Who,
    id: &TaxpayerId,
    csr: Option<&str>,
) -> AppResult<IssuedCertificate> {
    if csr.is_some_and(|c| c.len() > MAX_CSR_CHARS) {
        return Err(AppError::new(Code::CsrInvalid)
            .with_message(format!("证书请求（CSR）过长（最多{MAX_CSR_CHARS}个字符）")));
    }
    let taxpayer = app.store.read()?.taxpayer(id)?.ok_or_else(no_taxpayer)?;
    let wall = who.wall.timestamp();
    let now = wall_time(wall)?;
    let ca = Ca::load(&app.settings, now).map_err(ca_error)?;
    let days = i64::from(app.settings.tls.client_cert_days);
    let holder = Holder {
        taxpayer_id: id.as_str(),
        name: &taxpayer.name,
        // A little margin for clients whose clocks run slow.
        not_before: now - time::Duration::minutes(10),
        not_after: now + time::Duration::days(days),
    };
    let (cert, answer, how) = match csr {
        None => {
            let password = new_password();
            let made = ca.issue_with_key(&holder, &password).map_err(ca_error)?;
            let answer = IssuedCertificate {
                serial: made.cert.serial.clone(),
                certificate: made.cert.pem.clone(),
                p12: Some(base64::engine::general_purpose::STANDARD.encode(&made.p12)),
                password: Some(password),
            };
            (made.cert, answer, IssuedHow::P12)
        }
        Some(pem) => match ca.issue_for_csr(&holder, pem).map_err(ca_error)? {
            Ok(cert) => {
                let answer = IssuedCertificate {
                    serial: cert.serial.clone(),
                    certificate: cert.pem.clone(),
                    p12: None,
                    password: None,
                };
                (cert, answer, IssuedHow::Csr)
            }
            Err(e) => {
                let reason = match e {
                    CsrError::Unparsable => "unparsable",
                    CsrError::BadSignature => "bad_signature",
                };
                return Err(AppError::new(Code::CsrInvalid)
                    .with_message(e.to_string())
                    .with_extra("reason", reason));
            }
        },
    };
    let record = CertificateRecord {
        serial: cert.serial.clone(),
        taxpayer: id.clone(),
        fingerprint: cert.fingerprint.clone(),
        not_before: holder.not_before.unix_timestamp(),
        not_after: holder.not_after.unix_timestamp(),
        issued_at: wall,
        issued_by: username(who),
        how,
        revoked: None,
    };
    app.store.write(who, |tx| {
        if tx.taxpayer(id)?.is_none() {
            return Err(no_taxpayer());
        }
        let renews: Vec<String> = tx
            .certificates_of(id)?
            .iter()
            .filter(|c| state_of(c, wall) == "active")
            .map(|c| c.serial.clone())
            .collect();
        tx.put_certificate(&record)?;
        let how = match how {
            IssuedHow::P12 => "p12",
            IssuedHow::Csr => "csr",
        };
        let mut detail = format!(
            "serial={} how={how} fingerprint={}",
            record.serial, record.fingerprint
        );
        if !renews.is_empty() {
            detail.push_str(&format!(" renews={}", renews.join(",")));
        }
        tx.audit("certificate.issue", id, detail);
        Ok(())
    })?;
    Ok(answer)
}

/// The certificates of taxpayer `id`, newest first.
pub fn list(app: &App, id: &TaxpayerId) -> AppResult<Vec<CertificateInfo>> {
    let r = app.store.read()?;
    if r.taxpayer(id)?.is_none() {
        return Err(no_taxpayer());
    }
    let wall = app.clock.wall().timestamp();
    let mut out: Vec<CertificateInfo> = r
        .certificates_of(id)?
        .iter()
        .map(|c| info(app, c, wall))
        .collect();
    out.sort_by(|a, b| b.issued_at.cmp(&a.issued_at).then(b.serial.cmp(&a.serial)));
    Ok(out)
}

/// The active certificates expiring within [`EXPIRING_DAYS`], soonest first.
pub fn expiring(app: &App) -> AppResult<Vec<CertificateInfo>> {
    let wall = app.clock.wall().timestamp();
    let until = wall + EXPIRING_DAYS * 86_400;
    let mut out: Vec<CertificateInfo> = app
        .store
        .read()?
        .all_certificates()?
        .iter()
        .filter(|c| state_of(c, wall) == "active" && c.not_after <= until)
        .map(|c| info(app, c, wall))
        .collect();
    out.sort_by_key(|a| a.not_after);
    Ok(out)
}

/// Parses a revocation reason.
pub fn parse_reason(s: &str) -> AppResult<RevokedWhy> {
    match s.trim() {
        "lost" => Ok(RevokedWhy::Lost),
        "replaced" => Ok(RevokedWhy::Replaced),
        "closed" => Ok(RevokedWhy::Closed),
        _ => Err(AppError::invalid(
            "reason",
            "吊销原因须为 lost（证书遗失）、replaced（已换发新证书）或 closed（纳税人注销）",
        )),
    }
}

fn normal_serial(serial: &str) -> AppResult<String> {
    let s = serial.trim().to_ascii_lowercase();
    if s.is_empty() || s.len() > 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(no_certificate());
    }
    Ok(s)
}

/// Revokes the certificate `serial` for `reason` (`lost`, `replaced`, `closed`) and ends
/// every session opened with it, in one transaction with its audit entry.
pub fn revoke(app: &App, who: &Who, serial: &str, reason: &str) -> AppResult<CertificateInfo> {
    let why = parse_reason(reason)?;
    let serial = normal_serial(serial)?;
    let wall = who.wall.timestamp();
    let record = app.store.write(who, |tx| {
        let mut c = tx.certificate(&serial)?.ok_or_else(no_certificate)?;
        if c.revoked.is_some() {
            return Err(AppError::new(Code::Conflict).with_message("该证书已吊销"));
        }
        c.revoked = Some(Revocation {
            at: wall,
            reason: why,
            by: username(who),
        });
        tx.put_certificate(&c)?;
        let ended = tx.end_certificate_sessions(&c.fingerprint)?;
        tx.audit(
            "certificate.revoke",
            &c.taxpayer,
            format!(
                "serial={} reason={} sessions_ended={ended}",
                c.serial,
                reason_str(why)
            ),
        );
        Ok(c)
    })?;
    Ok(info(app, &record, wall))
}

/// The issuing CA's certificate.
pub fn ca_certificate(app: &App) -> AppResult<issue::CaCertificate> {
    let now = wall_time(app.clock.wall().timestamp())?;
    issue::ca_certificate(&app.settings, now).map_err(ca_error)
}

/// How long a CRL is valid: clients fetch a new one by then.
const CRL_DAYS: i64 = 7;

/// The CRL (DER) of every certificate revoked, signed now by the CA.
pub fn crl(app: &App) -> AppResult<Vec<u8>> {
    let wall = app.clock.wall().timestamp();
    let now = wall_time(wall)?;
    let mut revoked = Vec::new();
    for c in app.store.read()?.all_certificates()? {
        if let Some(r) = &c.revoked {
            let reason = match r.reason {
                RevokedWhy::Lost => RevokeReason::Lost,
                RevokedWhy::Replaced => RevokeReason::Replaced,
                RevokedWhy::Closed => RevokeReason::Closed,
            };
            revoked.push((c.serial.clone(), wall_time(r.at)?, reason));
        }
    }
    let ca = Ca::load(&app.settings, now).map_err(ca_error)?;
    let number = u64::try_from(wall).unwrap_or(0);
    ca.crl(&revoked, now, time::Duration::days(CRL_DAYS), number)
        .map_err(ca_error)
}

/// The check at certificate login, after the chain: a certificate this system issued must not
/// be revoked; one it did not issue logs in only while `tls.require_bound` is unset.
pub fn admit(app: &App, end_entity_der: &[u8]) -> AppResult<Result<(), CertRefusal>> {
    let record = match issue::serial_of(end_entity_der) {
        Some(serial) => app.store.read()?.certificate(&serial)?,
        None => None,
    };
    let fingerprint = issue::fingerprint(end_entity_der);
    Ok(match record {
        Some(c) if c.fingerprint == fingerprint => {
            if c.revoked.is_some() {
                Err(CertRefusal::Revoked)
            } else {
                Ok(())
            }
        }
        _ if app.settings.tls.require_bound => Err(CertRefusal::Unbound),
        _ => Ok(()),
    })
}
