//! HTTPS: the local CA and server certificate generated on first start when none is
//! configured, and the rustls server configuration that asks for (but does not require) a
//! client certificate signed by the tax CA.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DistinguishedName, RootCertStore, ServerConfig, SignatureScheme};
use time::{Duration, OffsetDateTime};

use crate::config::Settings;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS: {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("TLS: {path}: {reason}")]
    Pem { path: PathBuf, reason: String },
    #[error("TLS: certificate generation: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("TLS: {0}")]
    Rustls(String),
}

/// Paths of the generated certificate set under `<data>/certs/`.
#[derive(Debug, Clone)]
pub struct CertPaths {
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl CertPaths {
    pub fn in_dir(dir: &Path) -> CertPaths {
        CertPaths {
            ca_cert: dir.join("ca.pem"),
            ca_key: dir.join("ca.key"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
        }
    }
}

fn write(path: &Path, contents: &str, secret: bool) -> Result<(), TlsError> {
    let io = |source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    };
    fs::write(path, contents).map_err(io)?;
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    Ok(())
}

fn read(path: &Path) -> Result<String, TlsError> {
    fs::read_to_string(path).map_err(|source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Generates the local CA and a server certificate for `localhost`, `127.0.0.1`, `::1` and
/// this host's name, unless they already exist. `now` is the wall-clock time.
pub fn ensure_local_certs(dir: &Path, now: OffsetDateTime) -> Result<CertPaths, TlsError> {
    let paths = CertPaths::in_dir(dir);
    fs::create_dir_all(dir).map_err(|source| TlsError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    if !paths.ca_cert.exists() || !paths.ca_key.exists() {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "fapiao 本地税务数字证书 CA");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "fapiao");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(3650);
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        write(&paths.ca_key, &key.serialize_pem(), true)?;
        write(&paths.ca_cert, &cert.pem(), false)?;
        // A new CA invalidates any older server certificate.
        let _ = fs::remove_file(&paths.server_cert);
    }
    if !paths.server_cert.exists() || !paths.server_key.exists() {
        let issuer = load_issuer(&paths)?;
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        let mut names = vec!["localhost".to_string()];
        if !host.is_empty() && host != "localhost" {
            names.push(host);
        }
        let mut params = CertificateParams::new(names)?;
        params
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        params
            .subject_alt_names
            .push(SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()));
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(825);
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &issuer)?;
        write(&paths.server_key, &key.serialize_pem(), true)?;
        write(&paths.server_cert, &cert.pem(), false)?;
    }
    Ok(paths)
}

/// The local CA as an rcgen issuer (to sign server and, later, client certificates).
pub fn load_issuer(paths: &CertPaths) -> Result<Issuer<'static, KeyPair>, TlsError> {
    let key = KeyPair::from_pem(&read(&paths.ca_key)?)?;
    Ok(Issuer::from_ca_cert_pem(&read(&paths.ca_cert)?, key)?)
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem_err = |reason: String| TlsError::Pem {
        path: path.to_path_buf(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_err(e.to_string()))?;
    if certs.is_empty() {
        return Err(pem_err("no certificate found".into()));
    }
    Ok(certs)
}

/// Asks for a client certificate issued by the tax CA (the CA's name is the hint browsers
/// use to offer matching certificates) but accepts any chain at the TLS level, checking only
/// that the client holds the certificate's key: the application then verifies the chain
/// (`pki::checker`, then `service::office::certificates::admit`) and refuses a bad certificate with its own message, which a
/// failed handshake could not show.
#[derive(Debug)]
struct ChainCheckedLater {
    inner: Arc<dyn ClientCertVerifier>,
}

impl ClientCertVerifier for ChainCheckedLater {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The CA certificates that sign taxpayers' certificates: the configured one or the local CA.
pub fn client_roots(settings: &Settings, now: OffsetDateTime) -> Result<RootCertStore, TlsError> {
    let path = match &settings.tls.client_ca {
        Some(ca) => ca.clone(),
        None => ensure_local_certs(&settings.certs_dir(), now)?.ca_cert,
    };
    let mut roots = RootCertStore::empty();
    for ca in load_certs(&path)? {
        roots
            .add(ca)
            .map_err(|e| TlsError::Rustls(format!("client CA: {e}")))?;
    }
    Ok(roots)
}

/// A taxpayer certificate issued by the local CA, as the demo hands out: PEM certificate,
/// PEM private key (PKCS#8) and a PKCS#12 bundle for browsers protected by `p12_password`.
pub struct IssuedCert {
    pub cert_pem: String,
    pub key_pem: String,
    pub p12: Vec<u8>,
}

/// Issues a client certificate for `id` under the local CA in `dir`: the taxpayer ID in the
/// subject's serialNumber, the enterprise name as common name, valid `not_before..not_after`.
pub fn issue_client_cert(
    dir: &Path,
    id: &str,
    name: &str,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    p12_password: &str,
) -> Result<IssuedCert, TlsError> {
    let paths = CertPaths::in_dir(dir);
    let issuer = load_issuer(&paths)?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, name);
    params
        .distinguished_name
        .push(DnType::CustomDnType(vec![2, 5, 4, 5]), id);
    params
        .distinguished_name
        .push(DnType::OrganizationName, name);
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.not_before = not_before;
    params.not_after = not_after;
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;
    let ca_der = load_certs(&paths.ca_cert)?;
    let p12 = {
        use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
        let bad = |e: p12_keystore::error::Error| TlsError::Rustls(format!("PKCS#12: {e}"));
        let mut chain = vec![Certificate::from_der(cert.der()).map_err(bad)?];
        for c in &ca_der {
            chain.push(Certificate::from_der(c).map_err(bad)?);
        }
        let pk = PrivateKey::from_der(&key.serialize_der()).map_err(bad)?;
        let mut store = KeyStore::new();
        store.add_entry(
            id,
            KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(id.as_bytes(), pk, chain)),
        );
        store.writer(p12_password).write().map_err(bad)?
    };
    Ok(IssuedCert {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        p12,
    })
}

/// The rustls configuration for `settings`: configured certificate or the generated one;
/// client certificates asked for, their chains checked by the application.
pub fn server_config(settings: &Settings, now: OffsetDateTime) -> Result<ServerConfig, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let generated = match (&settings.tls.cert, &settings.tls.key) {
        (Some(_), Some(_)) if settings.tls.client_ca.is_some() => None,
        _ => Some(ensure_local_certs(&settings.certs_dir(), now)?),
    };
    let (cert_path, key_path) = match (&settings.tls.cert, &settings.tls.key, &generated) {
        (Some(c), Some(k), _) => (c.clone(), k.clone()),
        (_, _, Some(g)) => (g.server_cert.clone(), g.server_key.clone()),
        _ => return Err(TlsError::Rustls("no server certificate".into())),
    };
    let client_ca = match (&settings.tls.client_ca, &generated) {
        (Some(ca), _) => ca.clone(),
        (None, Some(g)) => g.ca_cert.clone(),
        (None, None) => return Err(TlsError::Rustls("no client CA".into())),
    };
    let certs = load_certs(&cert_path)?;
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| TlsError::Pem {
        path: key_path.clone(),
        reason: e.to_string(),
    })?;
    let mut roots = RootCertStore::empty();
    for ca in load_certs(&client_ca)? {
        roots
            .add(ca)
            .map_err(|e| TlsError::Rustls(format!("client CA: {e}")))?;
    }
    let inner = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    let verifier = Arc::new(ChainCheckedLater { inner });
    ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Rustls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Rustls(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_and_builds_a_config() {
        let dir = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let p = ensure_local_certs(dir.path(), now).unwrap();
        let first = fs::read_to_string(&p.server_cert).unwrap();
        ensure_local_certs(dir.path(), now).unwrap();
        assert_eq!(first, fs::read_to_string(&p.server_cert).unwrap());
        let settings = Settings {
            data_dir: dir.path().to_path_buf(),
            ..Settings::default()
        };
        assert!(server_config(&settings, now).is_ok());
    }
}
