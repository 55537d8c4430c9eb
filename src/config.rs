//! Configuration: one TOML file, every key overridable by a `FAPIAO_…` environment variable
//! (nested keys joined with `__`, e.g. `FAPIAO_TLS__CERT`), then command-line flags.
//! Parsed once into [`Settings`] and validated at start-up; unknown keys are rejected.
//! May depend on: the domain core (for value types) only.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chrono::FixedOffset;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// Errors found while reading the configuration, before anything is served.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Figment(#[from] Box<figment::Error>),
    #[error("configuration: {key}: {reason}")]
    Invalid { key: &'static str, reason: String },
}

/// Every setting of the server. Defaults make `fapiao serve` work with no file at all.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Address to listen on, e.g. `127.0.0.1:8443`; port 0 picks a free port.
    pub listen: String,
    /// Directory holding `fapiao.redb`, the index and generated certificates.
    pub data_dir: PathBuf,
    /// Serve plain HTTP instead of HTTPS (for scripts on loopback).
    pub http: bool,
    pub tls: TlsSettings,
    /// Training mode: settable clock, training login without a certificate.
    pub training: bool,
    /// Certification time limit in days after the issue date (0 = no limit).
    pub lookback_days: u32,
    /// Offset of local business time, `+08:00` (China Standard Time) unless configured.
    pub timezone: String,
    pub session: SessionSettings,
    /// Read-only replica: every write is refused.
    pub read_only: bool,
    /// Log format: `json` (structured) or `pretty`.
    pub log_format: String,
    /// Local time (`HH:MM`, business clock) of the nightly statistics job that applies the
    /// day's scan certifications; missed runs happen at the next start.
    pub statistics_job_at: String,
    pub bulk: BulkSettings,
    pub interaction: InteractionSettings,
    /// Reverse proxies in front of the server (their addresses): only requests from these
    /// are believed about the client's address (`X-Forwarded-For`, for the audit log and the
    /// login limit) and the original host and scheme (`Forwarded`, `X-Forwarded-Host`,
    /// `X-Forwarded-Proto`, in the same-origin checks). Empty: nobody is.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// A secret that monitoring sends as `Authorization: Bearer …` to read `/metrics`. Unset:
    /// only the machine itself (loopback) may read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_token: Option<String>,
    pub backup: BackupSettings,
    /// Type codes of invoicing systems and vendor files beyond the national list
    /// (`[invoice_types] codes = { "31" = "digital_special" }`): code → kind.
    pub invoice_types: InvoiceTypeSettings,
    /// 勾选用途 codes of vendor sheets beyond the platform's 1, 2, 3 and 6
    /// (`[uses] codes = { "0" = "deduct" }`): code → use.
    pub uses: UseSettings,
}

/// `[uses]`: the office's own 勾选用途 codes for 批量勾选 sheets.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UseSettings {
    /// Code → use (its API name or Chinese label); a platform code may be remapped.
    pub codes: std::collections::BTreeMap<String, String>,
}

impl UseSettings {
    /// The table of use codes these settings make.
    pub fn table(&self) -> Result<crate::domain::UseCodes, ConfigError> {
        crate::domain::UseCodes::with_extra(
            self.codes.iter().map(|(c, u)| (c.as_str(), u.as_str())),
        )
        .map_err(|e| ConfigError::Invalid {
            key: "uses.codes",
            reason: e.message,
        })
    }
}

/// `[invoice_types]`: the office's own type codes for import files.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct InvoiceTypeSettings {
    /// Code → kind (its API name or Chinese label); a national code may be remapped.
    pub codes: std::collections::BTreeMap<String, String>,
}

impl InvoiceTypeSettings {
    /// The table of type codes these settings make.
    pub fn table(&self) -> Result<crate::domain::TypeCodes, ConfigError> {
        crate::domain::TypeCodes::with_extra(
            self.codes.iter().map(|(c, k)| (c.as_str(), k.as_str())),
        )
        .map_err(|e| ConfigError::Invalid {
            key: "invoice_types.codes",
            reason: e.message,
        })
    }
}

/// Scheduled online backups (`[backup]`), and where every backup is written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BackupSettings {
    /// How often the server backs itself up: `30m`, `6h`, `1d`, …; empty: never (backups
    /// are then taken on request only).
    pub every: String,
    /// How many backups to keep in `dir`; older ones are removed after each new backup
    /// (0: keep all).
    pub keep: u32,
    /// Where backups are written; unset: `<data_dir>/backups`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
}

impl Default for BackupSettings {
    fn default() -> Self {
        BackupSettings {
            every: String::new(),
            keep: 7,
            dir: None,
        }
    }
}

impl BackupSettings {
    /// The schedule's interval in seconds (`None`: no schedule).
    pub fn interval_secs(&self) -> Result<Option<u64>, ConfigError> {
        let s = self.every.trim();
        if s.is_empty() {
            return Ok(None);
        }
        let bad = || ConfigError::Invalid {
            key: "backup.every",
            reason: format!("expected a duration such as 30m, 6h or 1d, got {s:?}"),
        };
        let unit = s.chars().last().ok_or_else(bad)?;
        let n: u64 = s[..s.len() - unit.len_utf8()]
            .trim()
            .parse()
            .map_err(|_| bad())?;
        let secs = match unit {
            'm' => n.checked_mul(60),
            'h' => n.checked_mul(3600),
            'd' => n.checked_mul(86_400),
            _ => None,
        }
        .ok_or_else(bad)?;
        if secs < 60 {
            return Err(bad());
        }
        Ok(Some(secs))
    }
}

/// 征纳互动 (S-I): working hours of 人工导税, the WebSocket's timing, and what the browsers
/// are told for WebRTC (ICE servers, the embedded TURN relay).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct InteractionSettings {
    /// Days and hours when 发起人工导税 is offered (business clock), e.g.
    /// `["mon-fri 09:00-12:00", "mon-fri 13:30-17:30"]`. Empty: never.
    pub working_hours: Vec<String>,
    /// A taxpayer who disconnects (reload, network) keeps the interaction this long.
    pub grace_secs: u64,
    /// The server pings every socket this often …
    pub heartbeat_secs: u64,
    /// … and drops one that has said nothing (not even a pong) for this long.
    pub client_timeout_secs: u64,
    /// Longest chat message in characters.
    pub max_message_chars: usize,
    /// Frames a taxpayer may send at once, all their sockets together (a token bucket) …
    pub rate_burst: u32,
    /// … and per second after that.
    pub rate_per_sec: u32,
    /// The same for staff (征纳互动坐席 and 管理员, by user name), who serve many
    /// conversations at once.
    pub staff_rate_burst: u32,
    pub staff_rate_per_sec: u32,
    /// Open sockets (browser windows) per login session; the next is refused.
    pub max_sockets_per_session: usize,
    /// Open sockets per person (a taxpayer, a staff user name) over all their sessions.
    pub max_sockets_per_person: usize,
    /// ICE servers handed to the browsers for calls (STUN/TURN URLs); the embedded relay,
    /// when enabled, is added to them.
    pub ice_servers: Vec<IceServer>,
    pub turn: TurnSettings,
    /// A hand-off waits for the agents serving the taxpayer's region; when none of them is
    /// online: `"any"` — any online agent may take it — or `"wait"` — it stays queued for
    /// its region.
    pub fallback: crate::domain::interaction::routing::Fallback,
    /// Regions (6-digit codes such as `"110000"`) whose taxpayers get no bot: they go
    /// straight to the human queue.
    pub bot_off_regions: Vec<crate::domain::Region>,
}

/// One entry of RTCConfiguration.iceServers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// The embedded TURN relay (RFC 5766) for LANs where browsers cannot reach each other
/// directly (no multicast for mDNS candidates, client isolation, VLANs).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TurnSettings {
    pub enabled: bool,
    /// UDP address the relay listens on (the relay crate serves TURN over UDP only; relayed
    /// ports are random high UDP ports on the same host).
    pub listen: String,
    /// The address browsers are told to reach the relay at and relayed addresses are
    /// allocated on (the server's LAN address); required when enabled.
    pub public_ip: Option<String>,
    pub realm: String,
    /// Lifetime of the credentials handed to a browser.
    pub credential_ttl_secs: u64,
}

impl Default for TurnSettings {
    fn default() -> Self {
        TurnSettings {
            enabled: false,
            listen: "0.0.0.0:3478".into(),
            public_ip: None,
            realm: "fapiao".into(),
            credential_ttl_secs: 12 * 3600,
        }
    }
}

impl Default for InteractionSettings {
    fn default() -> Self {
        InteractionSettings {
            working_hours: vec!["mon-fri 09:00-12:00".into(), "mon-fri 13:30-17:30".into()],
            grace_secs: 30,
            heartbeat_secs: 5,
            client_timeout_secs: 20,
            max_message_chars: 2000,
            rate_burst: 120,
            rate_per_sec: 5,
            staff_rate_burst: 600,
            staff_rate_per_sec: 30,
            max_sockets_per_session: 5,
            max_sockets_per_person: 10,
            ice_servers: Vec::new(),
            turn: TurnSettings::default(),
            fallback: Default::default(),
            bot_off_regions: Vec::new(),
        }
    }
}

/// Limits of 批量勾选 (S-T5) files.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BulkSettings {
    /// Largest upload in bytes (413 above it).
    pub max_upload_bytes: usize,
    /// Most data rows in an uploaded sheet (413 above it).
    pub max_upload_rows: usize,
    /// Most invoices in one download (the filter must be narrowed above it).
    pub max_download: usize,
}

impl Default for BulkSettings {
    fn default() -> Self {
        BulkSettings {
            max_upload_bytes: 5 * 1024 * 1024,
            max_upload_rows: 20_000,
            max_download: 100_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSettings {
    /// Server certificate chain (PEM). When unset, one is generated under `<data>/certs/`.
    pub cert: Option<PathBuf>,
    /// Server private key (PEM).
    pub key: Option<PathBuf>,
    /// CA (PEM) that signs taxpayers' client certificates. When unset, the generated local CA.
    pub client_ca: Option<PathBuf>,
    /// The private key (PEM) of `client_ca`, with which this system issues taxpayers'
    /// certificates and signs the CRL. Without it (and with `client_ca` set) issuing is
    /// refused.
    pub client_ca_key: Option<PathBuf>,
    /// Validity in days of the taxpayer certificates this system issues.
    pub client_cert_days: u32,
    /// Only certificates issued (recorded) by this system log in; others of the same CA are
    /// refused with `reason: "unbound"`.
    pub require_bound: bool,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            cert: None,
            key: None,
            client_ca: None,
            client_ca_key: None,
            client_cert_days: 730,
            require_bound: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSettings {
    /// A session unused for this long ends.
    pub idle_secs: u64,
    /// A session ends this long after login whatever its use.
    pub max_secs: u64,
    /// Wrong staff passwords allowed per user within `throttle_window_secs`.
    pub staff_max_failures: u32,
    pub throttle_window_secs: u64,
    /// Login tries allowed per client address and minute (a burst of as many), in front of
    /// every login route, staff and taxpayer.
    pub login_attempts_per_minute: u32,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            idle_secs: 30 * 60,
            max_secs: 12 * 3600,
            staff_max_failures: 5,
            throttle_window_secs: 15 * 60,
            login_attempts_per_minute: 30,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8443".into(),
            data_dir: PathBuf::from("data"),
            http: false,
            tls: TlsSettings::default(),
            training: false,
            lookback_days: 180,
            timezone: "+08:00".into(),
            session: SessionSettings::default(),
            read_only: false,
            log_format: "json".into(),
            statistics_job_at: "02:00".into(),
            bulk: BulkSettings::default(),
            interaction: InteractionSettings::default(),
            trusted_proxies: Vec::new(),
            metrics_token: None,
            backup: BackupSettings::default(),
            invoice_types: InvoiceTypeSettings::default(),
            uses: UseSettings::default(),
        }
    }
}

impl Settings {
    /// The time of day of the nightly statistics job.
    pub fn job_time(&self) -> Result<chrono::NaiveTime, ConfigError> {
        chrono::NaiveTime::parse_from_str(self.statistics_job_at.trim(), "%H:%M").map_err(|_| {
            ConfigError::Invalid {
                key: "statistics_job_at",
                reason: format!("{:?} is not a time of day HH:MM", self.statistics_job_at),
            }
        })
    }

    /// Defaults, then the TOML file (if any), then `FAPIAO_…` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::Invalid {
                    key: "--config",
                    reason: format!("file {} not found", path.display()),
                });
            }
            fig = fig.merge(Toml::file_exact(path));
        }
        // `FAPIAO_FAILPOINT` is a test hook read by the store, not a setting.
        // `FAPIAO_NEW_PASSWORD` is read by `fapiao staff add` alone.
        fig = fig.merge(
            Env::prefixed("FAPIAO_")
                .split("__")
                .ignore(&["failpoint", "new_password"]),
        );
        let settings: Settings = fig.extract().map_err(Box::new)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks what serde cannot: addresses, offsets, non-zero durations.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        self.tz()?;
        self.job_time()?;
        self.invoice_types.table()?;
        self.uses.table()?;
        if self.bulk.max_upload_bytes == 0
            || self.bulk.max_upload_rows == 0
            || self.bulk.max_download == 0
        {
            return Err(ConfigError::Invalid {
                key: "bulk",
                reason: "max_upload_bytes, max_upload_rows and max_download must be positive"
                    .into(),
            });
        }
        crate::domain::WorkingHours::parse(&self.interaction.working_hours).map_err(|e| {
            ConfigError::Invalid {
                key: "interaction.working_hours",
                reason: e.to_string(),
            }
        })?;
        let i = &self.interaction;
        if i.grace_secs == 0
            || i.heartbeat_secs == 0
            || i.client_timeout_secs <= i.heartbeat_secs
            || i.max_message_chars == 0
        {
            return Err(ConfigError::Invalid {
                key: "interaction",
                reason: "grace_secs, heartbeat_secs and max_message_chars must be positive and \
                         client_timeout_secs longer than heartbeat_secs"
                    .into(),
            });
        }
        if i.rate_burst == 0
            || i.rate_per_sec == 0
            || i.staff_rate_burst == 0
            || i.staff_rate_per_sec == 0
            || i.max_sockets_per_session == 0
            || i.max_sockets_per_person < i.max_sockets_per_session
        {
            return Err(ConfigError::Invalid {
                key: "interaction",
                reason: "rate_burst, rate_per_sec, staff_rate_burst, staff_rate_per_sec and \
                         max_sockets_per_session must be positive and max_sockets_per_person \
                         at least max_sockets_per_session"
                    .into(),
            });
        }
        if i.turn.enabled && i.turn.public_ip.is_none() {
            return Err(ConfigError::Invalid {
                key: "interaction.turn.public_ip",
                reason: "the embedded TURN relay needs the address browsers reach it at".into(),
            });
        }
        if self.session.idle_secs == 0 || self.session.max_secs == 0 {
            return Err(ConfigError::Invalid {
                key: "session",
                reason: "idle_secs and max_secs must be positive".into(),
            });
        }
        if self.tls.client_cert_days == 0 || self.tls.client_cert_days > 3650 {
            return Err(ConfigError::Invalid {
                key: "tls.client_cert_days",
                reason: "expected 1 to 3650 days".into(),
            });
        }
        if self.tls.client_ca_key.is_some() && self.tls.client_ca.is_none() {
            return Err(ConfigError::Invalid {
                key: "tls.client_ca_key",
                reason: "client_ca_key needs client_ca".into(),
            });
        }
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            return Err(ConfigError::Invalid {
                key: "tls",
                reason: "cert and key must be given together".into(),
            });
        }
        self.backup.interval_secs()?;
        if !matches!(self.log_format.as_str(), "json" | "pretty") {
            return Err(ConfigError::Invalid {
                key: "log_format",
                reason: "expected json or pretty".into(),
            });
        }
        Ok(())
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen.parse().map_err(|e| ConfigError::Invalid {
            key: "listen",
            reason: format!("{e}"),
        })
    }

    /// The configured business time zone as a fixed offset (China has no daylight saving).
    pub fn tz(&self) -> Result<FixedOffset, ConfigError> {
        parse_offset(&self.timezone).ok_or_else(|| ConfigError::Invalid {
            key: "timezone",
            reason: format!("expected an offset like +08:00, got {:?}", self.timezone),
        })
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("fapiao.redb")
    }

    /// Where backups are written.
    pub fn backup_dir(&self) -> PathBuf {
        self.backup
            .dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("backups"))
    }

    /// Where training snapshots are kept.
    pub fn snapshot_dir(&self) -> PathBuf {
        self.data_dir.join("snapshots")
    }

    pub fn certs_dir(&self) -> PathBuf {
        self.data_dir.join("certs")
    }
}

/// Parses `+08:00`, `-05:30`, `+0800` or `Z`.
pub fn parse_offset(s: &str) -> Option<FixedOffset> {
    let s = s.trim();
    if s == "Z" || s == "UTC" {
        return FixedOffset::east_opt(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let h: i32 = digits[..2].parse().ok()?;
    let m: i32 = digits[2..].parse().ok()?;
    if h > 14 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn invoice_type_codes_extend_the_national_list() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "f.toml",
                "[invoice_types]\ncodes = { \"31\" = \"digital_special\", \"95\" = \"农产品发票\" }\n",
            )?;
            let s = Settings::load(Some(Path::new("f.toml"))).map_err(|e| e.to_string())?;
            let t = s.invoice_types.table().map_err(|e| e.to_string())?;
            assert_eq!(
                t.parse("31").ok(),
                Some(crate::domain::InvoiceType::DigitalSpecial)
            );
            assert_eq!(
                t.parse("95").ok(),
                Some(crate::domain::InvoiceType::Agricultural)
            );
            assert_eq!(
                t.parse("81").ok(),
                Some(crate::domain::InvoiceType::DigitalSpecial)
            );
            jail.create_file(
                "g.toml",
                "[invoice_types]\ncodes = { \"31\" = \"nothing\" }\n",
            )?;
            let e = Settings::load(Some(Path::new("g.toml")))
                .unwrap_err()
                .to_string();
            assert!(e.contains("invoice_types.codes"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn use_codes_extend_the_platform_list() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "f.toml",
                "[uses]\ncodes = { \"0\" = \"deduct\", \"9\" = \"不抵扣\" }\n",
            )?;
            let s = Settings::load(Some(Path::new("f.toml"))).map_err(|e| e.to_string())?;
            let t = s.uses.table().map_err(|e| e.to_string())?;
            assert_eq!(t.parse("0").ok(), Some(crate::domain::InvoiceUse::Deduct));
            assert_eq!(t.parse("9").ok(), Some(crate::domain::InvoiceUse::NoDeduct));
            assert_eq!(t.parse("2").ok(), Some(crate::domain::InvoiceUse::Refund));
            jail.create_file("g.toml", "[uses]\ncodes = { \"0\" = \"rebate\" }\n")?;
            let e = Settings::load(Some(Path::new("g.toml")))
                .unwrap_err()
                .to_string();
            assert!(e.contains("uses.codes"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn certificate_keys_have_defaults_and_limits() {
        let s = Settings::default();
        assert_eq!(s.tls.client_cert_days, 730);
        assert!(!s.tls.require_bound);
        assert!(s.validate().is_ok());
        let mut bad = Settings::default();
        bad.tls.client_cert_days = 0;
        assert!(bad.validate().is_err());
        let mut bad = Settings::default();
        bad.tls.client_ca_key = Some(PathBuf::from("/x/ca.key"));
        assert!(bad.validate().is_err());
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("+08:00").unwrap().local_minus_utc(), 8 * 3600);
        assert_eq!(
            parse_offset("-0530").unwrap().local_minus_utc(),
            -(5 * 3600 + 1800)
        );
        assert!(parse_offset("08:00").is_none());
        assert!(parse_offset("+25:00").is_none());
    }

    #[test]
    fn the_interaction_limits_must_be_positive_and_the_person_cap_hold_a_session() {
        assert!(Settings::default().validate().is_ok());
        let broken: [fn(&mut InteractionSettings); 6] = [
            |i| i.rate_burst = 0,
            |i| i.rate_per_sec = 0,
            |i| i.staff_rate_burst = 0,
            |i| i.staff_rate_per_sec = 0,
            |i| i.max_sockets_per_session = 0,
            |i| i.max_sockets_per_person = i.max_sockets_per_session - 1,
        ];
        for (n, brk) in broken.iter().enumerate() {
            let mut s = Settings::default();
            brk(&mut s.interaction);
            assert!(s.validate().is_err(), "case {n}");
        }
    }

    #[test]
    fn file_then_env_and_unknown_keys_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.toml");
        std::fs::write(
            &path,
            "listen = \"0.0.0.0:9000\"\nlookback_days = 360\n[session]\nidle_secs = 60\n",
        )
        .unwrap();
        figment::Jail::expect_with(|jail| {
            jail.set_env("FAPIAO_LOOKBACK_DAYS", "0");
            jail.set_env("FAPIAO_TLS__CLIENT_CA", "/x/ca.pem");
            let s = Settings::load(Some(&path)).map_err(|e| e.to_string())?;
            assert_eq!(s.listen, "0.0.0.0:9000");
            assert_eq!(s.lookback_days, 0);
            assert_eq!(s.session.idle_secs, 60);
            assert_eq!(s.tls.client_ca, Some(PathBuf::from("/x/ca.pem")));
            Ok(())
        });
        std::fs::write(&path, "listne = \"x\"\n").unwrap();
        assert!(Settings::load(Some(&path)).is_err());
        std::fs::write(&path, "timezone = \"CST\"\n").unwrap();
        assert!(Settings::load(Some(&path)).is_err());
    }

    #[test]
    fn the_example_configuration_loads_and_new_password_is_not_a_setting() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/fapiao.toml");
        figment::Jail::expect_with(|jail| {
            // Read by `fapiao staff add` alone: the loader must not refuse it.
            jail.set_env("FAPIAO_NEW_PASSWORD", "Secret-2026");
            jail.set_env("FAPIAO_TRUSTED_PROXIES", "[\"10.0.0.1\"]");
            let s = Settings::load(Some(&example)).map_err(|e| e.to_string())?;
            assert_eq!(s.listen, "0.0.0.0:8443");
            assert_eq!(s.data_dir, PathBuf::from("/var/lib/fapiao"));
            assert_eq!(s.session.login_attempts_per_minute, 30);
            assert_eq!(
                s.trusted_proxies,
                vec!["10.0.0.1".parse::<std::net::IpAddr>().unwrap()]
            );
            Ok(())
        });
    }
}
