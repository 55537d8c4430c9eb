//! The office's issuing CA: taxpayer certificates (a key made here and handed over once in a
//! password-protected PKCS#12, or a taxpayer's CSR signed with the subject replaced), and the
//! CRL of the certificates revoked. The CA is the generated local CA under `<data>/certs/`, or
//! the configured `tls.client_ca` with its `tls.client_ca_key`.
//!
//! Issued certificates carry the taxpayer ID in the subject's serialNumber (OID 2.5.4.5), the
//! taxpayer's name as common name, key usage digitalSignature and extended key usage
//! clientAuth, and a random positive 128-bit serial number.

use rand::RngCore;
use rcgen::{
    CertificateParams, CertificateRevocationListParams, CertificateSigningRequestParams, DnType,
    ExtendedKeyUsagePurpose, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason,
    RevokedCertParams, SerialNumber,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::tls::{ensure_local_certs, CertPaths};
use crate::config::Settings;

/// Why the CA cannot issue or sign.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// `tls.client_ca` is configured without `tls.client_ca_key`.
    #[error("本系统未配置证书签发机构的私钥（tls.client_ca_key），无法签发证书或证书吊销列表，请联系系统管理员")]
    NoKey,
    #[error("证书签发机构不可用：{0}")]
    Unavailable(String),
}

/// Why a CSR is refused.
#[derive(Debug, thiserror::Error)]
pub enum CsrError {
    #[error("证书请求（CSR）无法解析，请提交 PEM 格式的 PKCS#10 证书请求")]
    Unparsable,
    #[error("证书请求（CSR）的签名无效")]
    BadSignature,
}

/// The CA's certificate, public (it needs no key).
#[derive(Debug, Clone)]
pub struct CaCertificate {
    pub der: Vec<u8>,
    pub pem: String,
}

fn unavailable(e: impl std::fmt::Display) -> CaError {
    CaError::Unavailable(e.to_string())
}

fn first_cert(pem: &str) -> Result<CertificateDer<'static>, CaError> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .next()
        .ok_or_else(|| unavailable("no certificate"))?
        .map_err(unavailable)
}

/// The PEM text of the issuing CA's certificate and the path of its key, if any.
fn ca_files(
    settings: &Settings,
    now: OffsetDateTime,
) -> Result<(String, Option<std::path::PathBuf>), CaError> {
    let (cert, key) = match &settings.tls.client_ca {
        Some(ca) => (ca.clone(), settings.tls.client_ca_key.clone()),
        None => {
            let paths: CertPaths =
                ensure_local_certs(&settings.certs_dir(), now).map_err(unavailable)?;
            (paths.ca_cert, Some(paths.ca_key))
        }
    };
    let pem = std::fs::read_to_string(&cert)
        .map_err(|e| unavailable(format!("{}: {e}", cert.display())))?;
    Ok((pem, key))
}

/// The issuing CA's certificate (the first of `tls.client_ca`, or the local CA's).
pub fn ca_certificate(settings: &Settings, now: OffsetDateTime) -> Result<CaCertificate, CaError> {
    let (pem, _) = ca_files(settings, now)?;
    let der = first_cert(&pem)?;
    Ok(CaCertificate {
        pem: pem_of(der.as_ref()),
        der: der.to_vec(),
    })
}

fn pem_of(der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// The issuing CA with its key.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    cert: CaCertificate,
}

impl Ca {
    /// The CA of `settings`: refused with [`CaError::NoKey`] when only its certificate is
    /// configured.
    pub fn load(settings: &Settings, now: OffsetDateTime) -> Result<Ca, CaError> {
        let (pem, key) = ca_files(settings, now)?;
        let key = key.ok_or(CaError::NoKey)?;
        let key_pem = std::fs::read_to_string(&key)
            .map_err(|e| unavailable(format!("{}: {e}", key.display())))?;
        let key = KeyPair::from_pem(&key_pem).map_err(unavailable)?;
        let der = first_cert(&pem)?;
        let issuer = Issuer::from_ca_cert_der(&der, key).map_err(unavailable)?;
        Ok(Ca {
            issuer,
            cert: CaCertificate {
                pem: pem_of(der.as_ref()),
                der: der.to_vec(),
            },
        })
    }

    pub fn certificate(&self) -> &CaCertificate {
        &self.cert
    }
}

/// Who a certificate is for and for how long.
#[derive(Debug, Clone)]
pub struct Holder<'a> {
    pub taxpayer_id: &'a str,
    pub name: &'a str,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

/// A certificate just issued.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The serial number, lower-case hex.
    pub serial: String,
    /// SHA-256 of the DER, lower-case hex.
    pub fingerprint: String,
    pub der: Vec<u8>,
    pub pem: String,
}

/// A certificate with its key, as handed to the taxpayer once.
#[derive(Debug, Clone)]
pub struct IssuedWithKey {
    pub cert: Issued,
    pub key_pem: String,
    /// PKCS#12 with the certificate, its key and the CA, protected by the password given.
    pub p12: Vec<u8>,
}

/// SHA-256 of a certificate's DER, lower-case hex.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// A certificate's serial number as this system writes it (lower-case hex of its bytes).
pub fn serial_of(der: &[u8]) -> Option<String> {
    let (_, c) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(hex::encode(c.raw_serial()))
}

fn new_serial() -> Vec<u8> {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    // Positive and without a leading zero byte, so the DER INTEGER is these 16 bytes.
    bytes[0] = (bytes[0] & 0x7f).max(1);
    bytes.to_vec()
}

fn params_for(holder: &Holder<'_>) -> Result<(CertificateParams, Vec<u8>), CaError> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(unavailable)?;
    params
        .distinguished_name
        .push(DnType::CommonName, holder.name);
    params
        .distinguished_name
        .push(DnType::CustomDnType(vec![2, 5, 4, 5]), holder.taxpayer_id);
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.not_before = holder.not_before;
    params.not_after = holder.not_after;
    let serial = new_serial();
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    Ok((params, serial))
}

fn issued(serial: Vec<u8>, cert: &rcgen::Certificate) -> Issued {
    let der = cert.der().to_vec();
    Issued {
        serial: hex::encode(serial),
        fingerprint: fingerprint(&der),
        pem: cert.pem(),
        der,
    }
}

impl Ca {
    /// A certificate with a new key, in a PKCS#12 protected by `password`.
    pub fn issue_with_key(
        &self,
        holder: &Holder<'_>,
        password: &str,
    ) -> Result<IssuedWithKey, CaError> {
        let (params, serial) = params_for(holder)?;
        let key = KeyPair::generate().map_err(unavailable)?;
        let cert = params.signed_by(&key, &self.issuer).map_err(unavailable)?;
        let p12 = {
            use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
            let bad = |e: p12_keystore::error::Error| unavailable(format!("PKCS#12: {e}"));
            let chain = vec![
                Certificate::from_der(cert.der()).map_err(bad)?,
                Certificate::from_der(&self.cert.der).map_err(bad)?,
            ];
            let pk = PrivateKey::from_der(&key.serialize_der()).map_err(bad)?;
            let mut store = KeyStore::new();
            store.add_entry(
                holder.taxpayer_id,
                KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(
                    holder.taxpayer_id.as_bytes(),
                    pk,
                    chain,
                )),
            );
            store.writer(password).write().map_err(bad)?
        };
        Ok(IssuedWithKey {
            cert: issued(serial, &cert),
            key_pem: key.serialize_pem(),
            p12,
        })
    }

    /// A certificate for the key of a CSR (PEM): its signature is checked; its subject and
    /// extensions are replaced by the holder's.
    pub fn issue_for_csr(
        &self,
        holder: &Holder<'_>,
        csr_pem: &str,
    ) -> Result<Result<Issued, CsrError>, CaError> {
        let csr = match CertificateSigningRequestParams::from_pem(csr_pem) {
            Ok(c) => c,
            Err(rcgen::Error::InvalidCertificationRequestSignature) => {
                return Ok(Err(CsrError::BadSignature))
            }
            Err(_) => return Ok(Err(CsrError::Unparsable)),
        };
        let (params, serial) = params_for(holder)?;
        let request = CertificateSigningRequestParams {
            params,
            public_key: csr.public_key,
        };
        let cert = request.signed_by(&self.issuer).map_err(unavailable)?;
        Ok(Ok(issued(serial, &cert)))
    }

    /// The CRL listing `revoked` (serial hex, revocation time, reason), valid from `now` for
    /// `valid_for`, numbered `number`.
    pub fn crl(
        &self,
        revoked: &[(String, OffsetDateTime, RevokeReason)],
        now: OffsetDateTime,
        valid_for: time::Duration,
        number: u64,
    ) -> Result<Vec<u8>, CaError> {
        let mut revoked_certs = Vec::with_capacity(revoked.len());
        for (serial, at, reason) in revoked {
            let bytes = hex::decode(serial).map_err(unavailable)?;
            revoked_certs.push(RevokedCertParams {
                serial_number: SerialNumber::from_slice(&bytes),
                revocation_time: *at,
                reason_code: Some(reason.code()),
                invalidity_date: None,
            });
        }
        let params = CertificateRevocationListParams {
            this_update: now,
            next_update: now + valid_for,
            crl_number: SerialNumber::from(number),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = params.signed_by(&self.issuer).map_err(unavailable)?;
        Ok(crl.der().to_vec())
    }
}

/// Why the office revokes a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeReason {
    /// The key or the medium was lost (key compromise).
    Lost,
    /// A new certificate replaces it.
    Replaced,
    /// The taxpayer closed (cessation of operation).
    Closed,
}

impl RevokeReason {
    fn code(self) -> RevocationReason {
        match self {
            RevokeReason::Lost => RevocationReason::KeyCompromise,
            RevokeReason::Replaced => RevocationReason::Superseded,
            RevokeReason::Closed => RevocationReason::CessationOfOperation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(dir: &std::path::Path) -> Settings {
        Settings {
            data_dir: dir.to_path_buf(),
            ..Settings::default()
        }
    }

    #[test]
    fn issues_parses_and_lists_in_a_crl() {
        let dir = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc();
        let ca = Ca::load(&settings(dir.path()), now).unwrap();
        let holder = Holder {
            taxpayer_id: "91350100M000100Y43",
            name: "测试企业",
            not_before: now,
            not_after: now + time::Duration::days(730),
        };
        let c = ca.issue_with_key(&holder, "pw").unwrap();
        assert_eq!(
            serial_of(&c.cert.der).as_deref(),
            Some(c.cert.serial.as_str())
        );
        let (_, x) = x509_parser::parse_x509_certificate(&c.cert.der).unwrap();
        assert!(x.subject().to_string().contains("测试企业"));
        let crl = ca
            .crl(
                &[(c.cert.serial.clone(), now, RevokeReason::Lost)],
                now,
                time::Duration::days(7),
                1,
            )
            .unwrap();
        let (_, crl) = x509_parser::parse_x509_crl(&crl).unwrap();
        let listed: Vec<String> = crl
            .iter_revoked_certificates()
            .map(|r| hex::encode(r.raw_serial()))
            .collect();
        assert_eq!(listed, vec![c.cert.serial]);
    }

    #[test]
    fn a_certificate_without_its_key_cannot_issue() {
        let dir = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc();
        let paths = ensure_local_certs(dir.path(), now).unwrap();
        let s = Settings {
            tls: crate::config::TlsSettings {
                client_ca: Some(paths.ca_cert),
                ..Default::default()
            },
            ..settings(dir.path())
        };
        assert!(matches!(Ca::load(&s, now), Err(CaError::NoKey)));
        assert!(ca_certificate(&s, now).is_ok());
    }
}
