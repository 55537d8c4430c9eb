//! `fapiao health`: asks a running server's `/healthz` — for the container's HEALTHCHECK and
//! monitoring scripts, with no curl needed. Succeeds when the server answers 200 with
//! `"status":"ok"`; fails (exit 1) when it cannot be reached or says anything else.
//!
//! HTTPS is verified: against `--ca` when given, else the local CA the server generated in its
//! data directory (`<data>/certs/ca.pem`).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use crate::config::Settings;
use crate::service::StartError;

const TIMEOUT: Duration = Duration::from_secs(5);

fn fail(msg: impl Into<String>) -> StartError {
    StartError::Other(msg.into())
}

/// A `/healthz` URL split into its parts.
#[derive(Debug, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    pub host: String,
    pub port: u16,
    pub path: String,
}

/// Reads `http[s]://host[:port][/path]` (no path: `/healthz`).
pub fn parse_url(url: &str) -> Result<Target, StartError> {
    let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(fail(format!("地址应以 http:// 或 https:// 开头：{url}")));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/healthz"),
    };
    let path = if path == "/" { "/healthz" } else { path };
    let default_port = if https { 443 } else { 80 };
    // `[::1]:8443`, `host:8443` or `host`.
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, p) = v6
            .split_once(']')
            .ok_or_else(|| fail(format!("地址不正确：{url}")))?;
        (h, p.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| fail(format!("端口不正确：{url}")))?,
        None => default_port,
    };
    if host.is_empty() {
        return Err(fail(format!("地址不正确：{url}")));
    }
    Ok(Target {
        https,
        host: host.to_string(),
        port,
        path: path.to_string(),
    })
}

/// The URL of this configuration's own server: its listen address (an unspecified address
/// asked on loopback) and scheme.
pub fn own_url(settings: &Settings) -> Result<String, StartError> {
    let addr = settings.listen_addr()?;
    let ip = match addr.ip() {
        std::net::IpAddr::V4(v4) if v4.is_unspecified() => "127.0.0.1".to_string(),
        std::net::IpAddr::V6(v6) if v6.is_unspecified() => "[::1]".to_string(),
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        std::net::IpAddr::V4(v4) => v4.to_string(),
    };
    let scheme = if settings.http { "http" } else { "https" };
    Ok(format!("{scheme}://{ip}:{}/healthz", addr.port()))
}

fn tls_config(ca: &Path) -> Result<Arc<rustls::ClientConfig>, StartError> {
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| fail(format!("无法读取 CA 证书 {}：{e}", ca.display())))?;
    for c in certs {
        roots
            .add(c)
            .map_err(|e| fail(format!("CA 证书 {} 不可用：{e}", ca.display())))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// One HTTP/1.1 exchange with a server of ours: `method` on `url` (HTTPS verified against
/// `ca`), with a bearer token when given. Returns the status line and the body (the server
/// answers with a Content-Length, or closes the connection at the end).
pub fn exchange(
    method: &str,
    url: &str,
    ca: Option<&Path>,
    bearer: Option<&str>,
    timeout: Duration,
) -> Result<(String, Vec<u8>), StartError> {
    exchange_with_body(method, url, ca, bearer, None, timeout)
}

/// [`exchange`] with a JSON request body.
pub fn exchange_with_body(
    method: &str,
    url: &str,
    ca: Option<&Path>,
    bearer: Option<&str>,
    body: Option<&[u8]>,
    timeout: Duration,
) -> Result<(String, Vec<u8>), StartError> {
    let t = parse_url(url)?;
    let addr = (t.host.as_str(), t.port)
        .to_socket_addrs()
        .map_err(|e| fail(format!("无法解析地址 {}：{e}", t.host)))?
        .next()
        .ok_or_else(|| fail(format!("无法解析地址 {}", t.host)))?;
    let tcp = TcpStream::connect_timeout(&addr, TIMEOUT)
        .map_err(|e| fail(format!("无法连接 {url}：{e}")))?;
    tcp.set_read_timeout(Some(timeout))
        .and_then(|()| tcp.set_write_timeout(Some(timeout)))
        .map_err(|e| fail(e.to_string()))?;
    let auth = bearer
        .map(|b| format!("Authorization: Bearer {b}\r\n"))
        .unwrap_or_default();
    let kind = if body.is_some() {
        "Content-Type: application/json\r\n"
    } else {
        ""
    };
    let body = body.unwrap_or_default();
    let mut request = format!(
        "{method} {} HTTP/1.1\r\nHost: {}:{}\r\nConnection: close\r\nAccept: application/json, application/octet-stream\r\n{kind}Content-Length: {}\r\n{auth}\r\n",
        t.path,
        t.host,
        t.port,
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    let mut answer = Vec::new();
    if t.https {
        let ca = ca.ok_or_else(|| fail("HTTPS 地址需要 CA 证书：请用 --ca 指定"))?;
        let name = ServerName::try_from(t.host.clone())
            .map_err(|e| fail(format!("服务器名称不正确：{e}")))?;
        let conn = rustls::ClientConnection::new(tls_config(ca)?, name)
            .map_err(|e| fail(e.to_string()))?;
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        tls.write_all(&request)
            .map_err(|e| fail(format!("请求失败：{e}")))?;
        // A server that closes without close_notify still gave its whole answer.
        if let Err(e) = tls.read_to_end(&mut answer) {
            if answer.is_empty() {
                return Err(fail(format!("读取回应失败：{e}")));
            }
        }
    } else {
        let mut tcp = tcp;
        tcp.write_all(&request)
            .map_err(|e| fail(format!("请求失败：{e}")))?;
        tcp.read_to_end(&mut answer)
            .map_err(|e| fail(format!("读取回应失败：{e}")))?;
    }
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| fail(format!("{url} 的回应不完整")))?;
    let head = String::from_utf8_lossy(&answer[..split]).to_string();
    let body = answer[split + 4..].to_vec();
    let status = head.lines().next().unwrap_or("").trim().to_string();
    let length = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())
            .flatten()
    });
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Err(fail(format!("{url} 的回应为分块传输，无法读取")));
    }
    if length.is_some_and(|n| n != body.len()) {
        return Err(fail(format!("{url} 的回应不完整")));
    }
    Ok((status, body))
}

/// The status code of a status line.
pub fn code(status: &str) -> Option<u16> {
    status.split_whitespace().nth(1)?.parse().ok()
}

/// Asks `url` (see the module) and returns the answer's status line when it is healthy.
pub fn check(url: &str, ca: Option<&Path>) -> Result<String, StartError> {
    let (status, body) = exchange("GET", url, ca, None, TIMEOUT)?;
    let ok =
        code(&status) == Some(200) && String::from_utf8_lossy(&body).contains("\"status\":\"ok\"");
    if ok {
        Ok(status)
    } else {
        Err(fail(format!("服务不健康：{url} 回应 {status}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_read_with_their_defaults() {
        let t = parse_url("https://127.0.0.1:8443").unwrap();
        assert_eq!(
            t,
            Target {
                https: true,
                host: "127.0.0.1".into(),
                port: 8443,
                path: "/healthz".into()
            }
        );
        let t = parse_url("http://[::1]/x").unwrap();
        assert_eq!(
            (t.https, t.host.as_str(), t.port, t.path.as_str()),
            (false, "::1", 80, "/x")
        );
        assert!(parse_url("ftp://x").is_err());
        assert!(parse_url("http://:80").is_err());
        assert!(parse_url("http://h:port").is_err());
        let s = Settings {
            listen: "0.0.0.0:9443".into(),
            ..Settings::default()
        };
        assert_eq!(own_url(&s).unwrap(), "https://127.0.0.1:9443/healthz");
    }
}
