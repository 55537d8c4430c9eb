//! Embedded TURN relay (RFC 5766) for the browser-to-browser WebRTC features.
//!
//! # Why this exists
//!
//! WebRTC peers on the same LAN normally connect directly over their host
//! candidates. Modern Chrome (and other Chromium browsers) no longer hand out
//! raw LAN IP addresses as host candidates: they hide them behind random
//! `*.local` mDNS names, and the remote browser has to resolve these names
//! with multicast DNS. Many office and enterprise networks break this:
//!
//! * multicast (and therefore mDNS) is filtered or not forwarded by the
//!   switches / access points, so `*.local` candidates never resolve;
//! * Wi-Fi client isolation, guest networks and VLAN separation stop two
//!   machines from exchanging packets directly even when addresses are known;
//! * there is no route to a public STUN server, so no server-reflexive
//!   candidate can be gathered either.
//!
//! In all of these cases ICE fails and the call never connects. A TURN relay
//! that both peers can reach (it runs inside this server, which every browser
//! already talks to) fixes this: each browser allocates a relayed address on
//! the relay and the media / data flows through it.
//!
//! # How it works
//!
//! * The relay listens on UDP [`TurnSettings::listen`]. (The `turn` 0.17 crate
//!   only implements the UDP transport, so there is no `transport=tcp`.)
//! * Relayed sockets are bound on the same IP as the listener, on ephemeral
//!   ports, and are advertised to browsers as [`TurnSettings::public_ip`].
//!   Firewalls must therefore allow inbound UDP to the listen port *and* to the
//!   ephemeral port range of this host.
//! * Authentication uses time-limited credentials in the style of the
//!   "TURN REST API" draft (as understood by coturn and browsers):
//!   `username = "<expiry unix seconds>:<label>"` and
//!   `password = base64(HMAC-SHA1(secret, username))`. The secret is 32 random
//!   bytes generated at every [`TurnRelay::start`], so credentials do not survive
//!   a restart and never need to be stored. Credentials are handed out by the
//!   web application (see [`TurnRelay::credentials`]) only to logged-in users.
//! * IPv4 is the supported case: browsers request IPv4 relays unless told
//!   otherwise, so `listen` and `public_ip` should be IPv4 addresses.
//!
//! The caller is responsible for honouring [`TurnSettings::enabled`]; `start`
//! always starts the relay. Start it from the main actix system (not from an
//! HTTP worker) and keep the [`TurnRelay`] alive for as long as the relay
//! should run; dropping it also stops the relay, [`TurnRelay::close`] does so
//! and waits until the listening socket is released.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Weak};
use std::time::Duration;

use rand::rngs::OsRng;
use rand::RngCore;
use tokio::net::UdpSocket;
use turn::auth::{generate_auth_key, AuthHandler};
use turn::relay::relay_static::RelayAddressGeneratorStatic;
use turn::server::config::{ConnConfig, ServerConfig};
use turn::server::Server;
use webrtc_util::vnet::net::Net;

use crate::config::{IceServer, TurnSettings};
use crate::service::interact::ice::TurnCredentials;
use crate::service::App;

/// Length of the per-process HMAC secret, in bytes.
const SECRET_LEN: usize = 32;

/// How long [`TurnRelay::close`] waits at most for the background tasks to release
/// the listening socket (it returns as soon as they have; on a machine under load they
/// took more than two seconds).
const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// Errors when starting the TURN relay.
#[derive(Debug, thiserror::Error)]
pub enum TurnError {
    /// The UDP listening socket could not be bound.
    #[error("cannot bind the TURN relay UDP socket on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },

    /// `public_ip` is not a usable IP address.
    #[error("invalid TURN public_ip {value:?}: {reason}")]
    BadPublicIp { value: String, reason: String },

    /// `public_ip` is missing and cannot be derived from `listen`.
    #[error(
        "TURN public_ip must be set when the relay listens on the wildcard address {listen}: \
         browsers need the LAN address to reach the relay"
    )]
    MissingPublicIp { listen: SocketAddr },

    /// The operating system random number generator failed.
    #[error("cannot generate the TURN credential secret: {0}")]
    Secret(#[source] rand::Error),

    /// The `turn` crate refused the server configuration.
    #[error("cannot start the TURN server: {0}")]
    Server(#[source] turn::Error),
}

/// A running embedded TURN relay.
pub struct TurnRelay {
    server: Server,
    /// Used by [`TurnRelay::close`] to wait until the server's tasks let go of
    /// the listening socket.
    socket: Weak<UdpSocket>,
    local_addr: SocketAddr,
    public_ip: IpAddr,
    auth: Arc<RestApiAuth>,
}

impl fmt::Debug for TurnRelay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TurnRelay")
            .field("local_addr", &self.local_addr)
            .field("public_ip", &self.public_ip)
            .field("credentials", &self.auth.0)
            .finish_non_exhaustive()
    }
}

impl TurnRelay {
    /// Binds the UDP listener on `settings.listen` and starts relaying.
    ///
    /// Must be called from within a tokio runtime (actix-rt is one).
    pub async fn start(settings: &TurnSettings) -> Result<TurnRelay, TurnError> {
        let socket = UdpSocket::bind(settings.listen.as_str())
            .await
            .map_err(|source| TurnError::Bind {
                addr: settings.listen.clone(),
                source,
            })?;
        let local_addr = socket.local_addr().map_err(|source| TurnError::Bind {
            addr: settings.listen.clone(),
            source,
        })?;
        let public_ip = resolve_public_ip(settings.public_ip.as_deref(), local_addr)?;

        let mut secret = [0u8; SECRET_LEN];
        OsRng
            .try_fill_bytes(&mut secret)
            .map_err(TurnError::Secret)?;
        let auth = Arc::new(RestApiAuth(Arc::new(TurnCredentials::new(
            &secret,
            &settings.realm,
            SocketAddr::new(public_ip, local_addr.port()),
            local_addr,
            settings.credential_ttl_secs,
        ))));

        let socket = Arc::new(socket);
        let weak_socket = Arc::downgrade(&socket);
        let server = Server::new(ServerConfig {
            conn_configs: vec![ConnConfig {
                conn: socket,
                relay_addr_generator: Box::new(RelayAddressGeneratorStatic {
                    relay_address: public_ip,
                    address: host_for_bind(local_addr.ip()),
                    net: Arc::new(Net::new(None)),
                }),
            }],
            realm: settings.realm.clone(),
            auth_handler: auth.clone(),
            // Zero selects the crate's default (10 minutes).
            channel_bind_timeout: Duration::ZERO,
            alloc_close_notify: None,
        })
        .await
        .map_err(TurnError::Server)?;

        tracing::info!(
            listen = %local_addr,
            public_ip = %public_ip,
            realm = %settings.realm,
            "TURN relay started"
        );

        Ok(TurnRelay {
            server,
            socket: weak_socket,
            local_addr,
            public_ip,
            auth,
        })
    }

    /// The address the UDP listener is bound to (useful when `listen` used port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Time-limited credentials for one browser, valid for
    /// `credential_ttl_secs` from `now_unix` (seconds since the Unix epoch).
    ///
    /// `label` only identifies the user in the relay's logs (e.g. a user id);
    /// it is not secret, but it is visible to the browser.
    pub fn credentials(&self, label: &str, now_unix: u64) -> IceServer {
        self.auth.0.credentials(label, now_unix)
    }

    /// The minter of this relay's credentials, shared with the service that hands them out.
    pub fn minter(&self) -> Arc<TurnCredentials> {
        self.auth.0.clone()
    }

    /// Stops the relay, drops all allocations, and waits (briefly) until the
    /// listening socket has been released so the port can be bound again.
    pub async fn close(self) {
        if let Err(err) = self.server.close().await {
            tracing::warn!(error = %err, "closing the TURN relay failed");
        }
        let released = tokio::time::timeout(CLOSE_WAIT, async {
            while self.socket.strong_count() > 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        if released.is_err() {
            tracing::warn!(
                listen = %self.local_addr,
                "TURN relay socket still in use after close"
            );
        } else {
            tracing::info!(listen = %self.local_addr, "TURN relay stopped");
        }
    }
}

/// Checks time-limited "TURN REST API" credentials.
struct RestApiAuth(Arc<TurnCredentials>);

impl AuthHandler for RestApiAuth {
    fn auth_handle(
        &self,
        username: &str,
        realm: &str,
        src_addr: SocketAddr,
    ) -> Result<Vec<u8>, turn::Error> {
        if realm != self.0.realm() {
            tracing::debug!(%src_addr, realm, "TURN request for a foreign realm refused");
            return Err(turn::Error::Other(format!("unknown realm {realm:?}")));
        }
        let expiry_text = username.split_once(':').map_or(username, |(e, _)| e);
        let expiry: u64 = expiry_text.parse().map_err(|_| {
            tracing::debug!(%src_addr, username, "malformed TURN username refused");
            turn::Error::Other(format!("malformed TURN username {username:?}"))
        })?;
        let now = crate::service::clock::Clock::wall_unix();
        if expiry <= now {
            tracing::debug!(%src_addr, username, "expired TURN credential refused");
            return Err(turn::Error::Other(format!(
                "expired TURN username {username:?}"
            )));
        }
        // The crate checks MESSAGE-INTEGRITY with this key, so a wrong
        // password fails there.
        Ok(generate_auth_key(
            username,
            realm,
            &self.0.password(username),
        ))
    }
}

/// Picks the IP advertised to browsers for the listener and the relays.
fn resolve_public_ip(public_ip: Option<&str>, listen: SocketAddr) -> Result<IpAddr, TurnError> {
    let value = public_ip.map(str::trim).filter(|v| !v.is_empty());
    let Some(value) = value else {
        return if listen.ip().is_unspecified() {
            Err(TurnError::MissingPublicIp { listen })
        } else {
            Ok(listen.ip())
        };
    };
    let bad = |reason: String| TurnError::BadPublicIp {
        value: value.to_owned(),
        reason,
    };
    let ip: IpAddr = value
        .parse()
        .map_err(|_| bad("not an IP address (host names are not accepted)".to_owned()))?;
    if ip.is_unspecified() {
        return Err(bad(
            "a wildcard address cannot be reached by browsers; use the LAN address".to_owned(),
        ));
    }
    if ip.is_multicast() {
        return Err(bad(
            "a multicast address cannot be a relay address".to_owned()
        ));
    }
    if ip.is_ipv4() != listen.is_ipv4() {
        return Err(bad(format!(
            "its address family differs from the listen address {listen}"
        )));
    }
    Ok(ip)
}

/// The host part for `RelayAddressGeneratorStatic::address`, which is
/// formatted as `"{address}:{port}"`.
fn host_for_bind(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// Starts the embedded TURN relay when configured (inside the server's runtime) and hands
/// its credentials to 征纳互动; the relay runs as long as the server.
pub fn spawn(app: &Arc<App>) {
    let settings = app.settings.interaction.turn.clone();
    if !settings.enabled {
        return;
    }
    let app = app.clone();
    actix_web::rt::spawn(async move {
        match TurnRelay::start(&settings).await {
            Ok(relay) => {
                tracing::info!(addr = %relay.local_addr(), "TURN relay for 征纳互动 calls");
                app.interact.set_turn(relay.minter());
                // Keep the relay alive until the server's runtime stops.
                std::future::pending::<()>().await;
                drop(relay);
            }
            Err(e) => tracing::error!(error = %e, "the embedded TURN relay did not start"),
        }
    });
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use turn::client::{Client, ClientConfig};
    use webrtc_util::Conn;

    use super::*;

    const REALM: &str = "fapiao";
    const TIMEOUT: Duration = Duration::from_secs(5);

    fn settings(listen: &str, public_ip: Option<&str>) -> TurnSettings {
        TurnSettings {
            enabled: true,
            listen: listen.to_owned(),
            public_ip: public_ip.map(str::to_owned),
            realm: REALM.to_owned(),
            credential_ttl_secs: 12 * 3600,
        }
    }

    fn now_unix() -> u64 {
        crate::service::clock::Clock::wall_unix()
    }

    async fn loopback_relay() -> TurnRelay {
        TurnRelay::start(&settings("127.0.0.1:0", Some("127.0.0.1")))
            .await
            .unwrap()
    }

    /// A TURN client talking to `relay` with the given credentials.
    async fn client(relay: &TurnRelay, username: &str, password: &str) -> Client {
        let conn = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let server = relay.local_addr().to_string();
        let client = Client::new(ClientConfig {
            stun_serv_addr: server.clone(),
            turn_serv_addr: server,
            username: username.to_owned(),
            password: password.to_owned(),
            realm: REALM.to_owned(),
            software: String::new(),
            rto_in_ms: 0,
            conn: Arc::new(conn),
            vnet: None,
        })
        .await
        .unwrap();
        client.listen().await.unwrap();
        client
    }

    #[tokio::test]
    async fn credentials_have_rest_api_shape() {
        let relay = loopback_relay().await;
        let port = relay.local_addr().port();
        let ice = relay.credentials("user-42", 1_000);

        assert_eq!(
            ice.urls,
            vec![format!("turn:127.0.0.1:{port}?transport=udp")]
        );
        let username = ice.username.unwrap();
        assert_eq!(username, format!("{}:user-42", 1_000 + 12 * 3600));
        let credential = ice.credential.unwrap();
        // base64 of a 20-byte SHA-1 HMAC.
        use base64::Engine;
        assert_eq!(
            base64::prelude::BASE64_STANDARD
                .decode(&credential)
                .unwrap()
                .len(),
            20
        );
        assert_eq!(credential, relay.auth.0.password(&username));
        relay.close().await;
    }

    #[tokio::test]
    async fn data_flows_through_the_relay() {
        let relay = loopback_relay().await;
        let ice = relay.credentials("alice", now_unix());
        let client = client(
            &relay,
            ice.username.as_deref().unwrap(),
            ice.credential.as_deref().unwrap(),
        )
        .await;

        let relay_conn = tokio::time::timeout(TIMEOUT, client.allocate())
            .await
            .unwrap()
            .unwrap();
        let relayed = relay_conn.local_addr().unwrap();
        assert_eq!(relayed.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_ne!(relayed.port(), relay.local_addr().port());

        // A plain UDP peer that knows nothing about TURN.
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let peer_addr = peer.local_addr().unwrap();

        // Client -> relay -> peer. Sending creates the permission for the peer.
        relay_conn
            .send_to(b"ping via relay", peer_addr)
            .await
            .unwrap();
        let mut buf = [0u8; 1500];
        let (n, from) = tokio::time::timeout(TIMEOUT, peer.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], b"ping via relay");
        assert_eq!(from, relayed, "the peer must see the relayed address");

        // Peer -> relay -> client.
        peer.send_to(b"pong from peer", relayed).await.unwrap();
        let (n, from) = tokio::time::timeout(TIMEOUT, relay_conn.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], b"pong from peer");
        assert_eq!(from, peer_addr);

        relay_conn.close().await.unwrap();
        client.close().await.unwrap();
        relay.close().await;
    }

    #[tokio::test]
    async fn expired_credential_is_refused() {
        let relay = loopback_relay().await;
        // Issued 13 h ago with a 12 h TTL: expired an hour ago.
        let ice = relay.credentials("bob", now_unix() - 13 * 3600);
        let client = client(
            &relay,
            ice.username.as_deref().unwrap(),
            ice.credential.as_deref().unwrap(),
        )
        .await;

        let result = tokio::time::timeout(TIMEOUT, client.allocate())
            .await
            .expect("the relay must answer, not time out");
        assert!(result.is_err(), "expired credential was accepted");
        client.close().await.unwrap();
        relay.close().await;
    }

    #[tokio::test]
    async fn wrong_password_is_refused() {
        let relay = loopback_relay().await;
        let ice = relay.credentials("carol", now_unix());
        let client = client(&relay, ice.username.as_deref().unwrap(), "not-the-password").await;

        let result = tokio::time::timeout(TIMEOUT, client.allocate())
            .await
            .expect("the relay must answer, not time out");
        assert!(result.is_err(), "wrong password was accepted");
        client.close().await.unwrap();
        relay.close().await;
    }

    #[tokio::test]
    async fn credentials_of_another_relay_are_refused() {
        let relay = loopback_relay().await;
        let other = loopback_relay().await;
        // Same username shape, different per-process secret.
        let ice = other.credentials("dave", now_unix());
        let client = client(
            &relay,
            ice.username.as_deref().unwrap(),
            ice.credential.as_deref().unwrap(),
        )
        .await;

        let result = tokio::time::timeout(TIMEOUT, client.allocate())
            .await
            .expect("the relay must answer, not time out");
        assert!(result.is_err(), "foreign credential was accepted");
        client.close().await.unwrap();
        relay.close().await;
        other.close().await;
    }

    // Multi-threaded so the server's tasks really run concurrently with close().
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn port_is_released_after_close() {
        let relay = loopback_relay().await;
        let addr = relay.local_addr();
        // Leave an allocation behind to make sure close tears it down too.
        let ice = relay.credentials("erin", now_unix());
        let client = client(
            &relay,
            ice.username.as_deref().unwrap(),
            ice.credential.as_deref().unwrap(),
        )
        .await;
        let _relay_conn = tokio::time::timeout(TIMEOUT, client.allocate())
            .await
            .unwrap()
            .unwrap();

        relay.close().await;
        let again = TurnRelay::start(&settings(&addr.to_string(), Some("127.0.0.1")))
            .await
            .unwrap();
        assert_eq!(again.local_addr(), addr);
        client.close().await.unwrap();
        again.close().await;
    }

    #[tokio::test]
    async fn bind_failure_names_the_address() {
        let taken = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        let err = TurnRelay::start(&settings(&addr, Some("127.0.0.1")))
            .await
            .unwrap_err();
        assert!(matches!(err, TurnError::Bind { .. }), "{err:?}");
        assert!(err.to_string().contains(&addr), "{err}");
    }

    #[tokio::test]
    async fn bad_public_ip_is_rejected() {
        for bad in ["not-an-ip", "0.0.0.0", "224.0.0.251", "::1"] {
            let err = TurnRelay::start(&settings("127.0.0.1:0", Some(bad)))
                .await
                .unwrap_err();
            assert!(
                matches!(err, TurnError::BadPublicIp { .. }),
                "{bad}: {err:?}"
            );
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn public_ip_defaults_to_a_specific_listen_address() {
        let specific: SocketAddr = "192.168.1.5:3478".parse().unwrap();
        assert_eq!(
            resolve_public_ip(None, specific).unwrap(),
            IpAddr::V4(Ipv4Addr::new(192, 168, 1, 5))
        );
        assert_eq!(
            resolve_public_ip(Some("  "), specific).unwrap(),
            specific.ip()
        );
        let wildcard: SocketAddr = "0.0.0.0:3478".parse().unwrap();
        assert!(matches!(
            resolve_public_ip(None, wildcard),
            Err(TurnError::MissingPublicIp { .. })
        ));
        assert_eq!(
            resolve_public_ip(Some(" 10.0.0.7 "), wildcard).unwrap(),
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7))
        );
    }

    #[test]
    fn ipv6_addresses_are_bracketed() {
        let ip = IpAddr::V6(Ipv6Addr::LOCALHOST);
        assert_eq!(
            crate::service::interact::ice::turn_url(SocketAddr::new(ip, 3478)),
            "turn:[::1]:3478?transport=udp"
        );
        assert_eq!(host_for_bind(ip), "[::1]");
    }
}
