//! Tax certificates (税务数字证书) presented by TLS client authentication (S-T1).
//!
//! The TLS layer asks for a client certificate but accepts any chain (it only checks that the
//! client holds the key), so that a certificate that is expired, not yet valid or signed by
//! another CA reaches the application and gets its own clear refusal instead of a broken TLS
//! handshake. Here the chain is verified against the configured tax CA (webpki, as rustls
//! would) at the current wall time, and the taxpayer ID is read from the certificate:
//! **the subject's `serialNumber` attribute (OID 2.5.4.5)**, where Chinese tax certificates
//! carry the 纳税人识别号. A certificate without one is refused.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::ClientCertVerifier;
use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, RootCertStore};

use crate::domain::TaxpayerId;
use crate::error::{AppError, Code};

/// Why a presented certificate is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertRefusal {
    Expired,
    NotYetValid,
    /// Not signed by the tax CA.
    UnknownIssuer,
    /// No taxpayer ID in the subject's serialNumber, or not a valid one.
    NoTaxpayerId,
    /// Revoked by the tax office.
    Revoked,
    /// Signed by the tax CA but not issued or bound through this system, while
    /// `tls.require_bound` is set.
    Unbound,
    /// Anything else wrong with it (wrong usage, malformed…).
    Invalid(String),
}

impl CertRefusal {
    pub fn reason(&self) -> &'static str {
        match self {
            CertRefusal::Expired => "expired",
            CertRefusal::NotYetValid => "not_yet_valid",
            CertRefusal::UnknownIssuer => "unknown_issuer",
            CertRefusal::NoTaxpayerId => "no_taxpayer_id",
            CertRefusal::Revoked => "revoked",
            CertRefusal::Unbound => "unbound",
            CertRefusal::Invalid(_) => "invalid",
        }
    }

    pub fn message(&self) -> &'static str {
        match self {
            CertRefusal::Expired => "您的税务数字证书已过期，请联系主管税务机关更换证书后再登录",
            CertRefusal::NotYetValid => "您的税务数字证书尚未生效，请在证书有效期内登录",
            CertRefusal::UnknownIssuer => {
                "该证书不是税务机关签发的税务数字证书，无法登录本平台，请使用税务数字证书（金税盘或税控盘）登录"
            }
            CertRefusal::NoTaxpayerId => "证书中没有有效的纳税人识别号，无法识别纳税人身份",
            CertRefusal::Revoked => {
                "您的税务数字证书已被税务机关吊销，请联系主管税务机关重新办理证书"
            }
            CertRefusal::Unbound => {
                "该证书未在本平台登记，无法登录，请使用主管税务机关通过本平台发放的税务数字证书"
            }
            CertRefusal::Invalid(_) => "税务数字证书无效，请联系主管税务机关",
        }
    }
}

impl From<CertRefusal> for AppError {
    fn from(r: CertRefusal) -> Self {
        AppError::new(Code::CertificateInvalid)
            .with_message(r.message())
            .with_extra("reason", r.reason())
    }
}

/// Verifies client certificate chains against the tax CA.
#[derive(Debug, Clone)]
pub struct CertChecker {
    verifier: Arc<dyn ClientCertVerifier>,
}

impl CertChecker {
    /// A checker trusting the CA certificates in `roots`.
    pub fn new(roots: RootCertStore) -> Result<CertChecker, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(CertChecker { verifier })
    }

    /// The taxpayer a certificate chain (end entity first) identifies at wall time `now`
    /// (Unix seconds).
    pub fn identify(
        &self,
        chain: &[CertificateDer<'static>],
        now_secs: u64,
    ) -> Result<TaxpayerId, CertRefusal> {
        let (end, rest) = chain
            .split_first()
            .ok_or_else(|| CertRefusal::Invalid("empty chain".into()))?;
        let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(now_secs));
        if let Err(e) = self.verifier.verify_client_cert(end, rest, now) {
            return Err(match e {
                rustls::Error::InvalidCertificate(c) => match c {
                    CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                        CertRefusal::Expired
                    }
                    CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                        CertRefusal::NotYetValid
                    }
                    CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                        CertRefusal::UnknownIssuer
                    }
                    other => CertRefusal::Invalid(format!("{other:?}")),
                },
                other => CertRefusal::Invalid(other.to_string()),
            });
        }
        taxpayer_id_of(end)
    }
}

/// The taxpayer ID in a certificate's subject serialNumber.
pub fn taxpayer_id_of(cert: &CertificateDer<'_>) -> Result<TaxpayerId, CertRefusal> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref())
        .map_err(|e| CertRefusal::Invalid(e.to_string()))?;
    let value = parsed
        .subject()
        .iter_by_oid(&x509_parser::oid_registry::OID_X509_SERIALNUMBER)
        .next()
        .and_then(|a| a.as_str().ok())
        .ok_or(CertRefusal::NoTaxpayerId)?;
    TaxpayerId::parse(value).map_err(|_| CertRefusal::NoTaxpayerId)
}
