//! ICE servers handed to browsers for 征纳互动 calls, and the time-limited credentials of the
//! embedded TURN relay ("TURN REST API" style, as coturn and browsers understand it):
//! `username = "<expiry unix seconds>:<label>"`, `password = base64(HMAC-SHA1(secret,
//! username))`. The relay itself is a network server (`server::turn`); it checks what is
//! minted here with the same secret.

use std::net::SocketAddr;

use base64::prelude::BASE64_STANDARD;
use base64::Engine;
use ring::hmac;

use crate::config::IceServer;

/// Mints and checks the relay's credentials; the secret lives only in memory.
pub struct TurnCredentials {
    key: hmac::Key,
    realm: String,
    url: String,
    addr: SocketAddr,
    ttl_secs: u64,
}

impl std::fmt::Debug for TurnCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnCredentials")
            .field("realm", &self.realm)
            .field("url", &self.url)
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

impl TurnCredentials {
    /// `advertised` is the address browsers reach (`public_ip` and the listening port);
    /// `addr` the address the relay listens on.
    pub fn new(
        secret: &[u8],
        realm: &str,
        advertised: SocketAddr,
        addr: SocketAddr,
        ttl_secs: u64,
    ) -> TurnCredentials {
        TurnCredentials {
            key: hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret),
            realm: realm.to_string(),
            url: turn_url(advertised),
            addr,
            ttl_secs,
        }
    }

    /// Time-limited credentials for one browser, valid for `ttl_secs` from `now_unix`.
    /// `label` only identifies the user in the relay's logs; it is visible to the browser.
    pub fn credentials(&self, label: &str, now_unix: u64) -> IceServer {
        let expiry = now_unix.saturating_add(self.ttl_secs);
        let username = format!("{expiry}:{label}");
        let credential = self.password(&username);
        IceServer {
            urls: vec![self.url.clone()],
            username: Some(username),
            credential: Some(credential),
        }
    }

    /// `base64(HMAC-SHA1(secret, username))`.
    pub fn password(&self, username: &str) -> String {
        BASE64_STANDARD.encode(hmac::sign(&self.key, username.as_bytes()).as_ref())
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The relay's listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// The `turn:` URI (RFC 7065) of a relay reached at `addr` (IPv6 addresses bracketed).
pub fn turn_url(addr: SocketAddr) -> String {
    format!("turn:{addr}?transport=udp")
}
