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
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
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

/// The rustls configuration for `settings`: configured certificate or the generated one;
/// client certificates optional, verified against the configured or local CA.
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
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Rustls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Rustls(e.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
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
