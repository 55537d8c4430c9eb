//! `spawn_app`: the real server on a random port over a temporary data directory, with
//! typed request helpers.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use fapiao::config::{SessionSettings, Settings};
use fapiao::domain::{Contact, CreditRating, Enterprise, Region, Role, TaxpayerId};
use fapiao::service::{self, App};
use fapiao::store::prelude::*;
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

pub const TAXPAYER_A: &str = "91350100M000100Y43";
pub const TAXPAYER_B: &str = "914403001922038216";
pub const NOT_ELIGIBLE: &str = "911100007109288314";
pub const NO_RATING: &str = "91330100716105852F";
pub const PASSWORD: &str = "Secret-2026";

#[derive(Debug, Clone)]
pub struct Opts {
    pub training: bool,
    pub http: bool,
    pub session: SessionSettings,
    /// Training clock to set before anything is created (RFC 3339).
    pub clock: Option<&'static str>,
    /// Reuse this data directory (seeding skips what exists).
    pub data_dir: Option<PathBuf>,
    /// 批量勾选 limits other than the defaults.
    pub bulk: Option<fapiao::config::BulkSettings>,
    /// 征纳互动 settings; by default the hours are always open.
    pub interaction: Option<fapiao::config::InteractionSettings>,
    /// The secret that reads `/metrics` (none: loopback only).
    pub metrics_token: Option<String>,
    /// TLS settings other than the defaults (certificates).
    pub tls: Option<fapiao::config::TlsSettings>,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            training: true,
            http: true,
            session: SessionSettings::default(),
            clock: None,
            data_dir: None,
            bulk: None,
            interaction: None,
            metrics_token: None,
            tls: None,
        }
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub client: Client,
    pub app: Arc<App>,
    pub data_dir: PathBuf,
    handle: actix_web::dev::ServerHandle,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        // Stop the server without waiting for its thread.
        std::thread::spawn(move || {
            let rt = actix_web::rt::System::new();
            rt.block_on(handle.stop(false));
        });
    }
}

pub fn taxpayer(
    id: &str,
    name: &str,
    eligible: bool,
    rating: Option<CreditRating>,
) -> service::office::taxpayers::NewTaxpayer {
    let id = TaxpayerId::parse(id).unwrap();
    service::office::taxpayers::NewTaxpayer {
        region: Region::of_taxpayer_id(&id).unwrap_or_else(|| Region::parse("110000").unwrap()),
        id,
        name: name.into(),
        authority: "国家税务总局福州市税务局".into(),
        eligible,
        credit_rating: rating,
        contact: Contact::default(),
        enterprise: Enterprise::default(),
        current_period: None,
        training: true,
    }
}

pub fn spawn_app(opts: Opts) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = opts
        .data_dir
        .clone()
        .unwrap_or_else(|| dir.path().to_path_buf());
    let settings = Settings {
        listen: "127.0.0.1:0".into(),
        data_dir: data_dir.clone(),
        http: opts.http,
        training: opts.training,
        session: opts.session.clone(),
        log_format: "pretty".into(),
        bulk: opts.bulk.clone().unwrap_or_default(),
        interaction: opts.interaction.clone().unwrap_or_else(|| {
            fapiao::config::InteractionSettings {
                working_hours: vec!["daily 00:00-24:00".into()],
                ..Default::default()
            }
        }),
        metrics_token: opts.metrics_token.clone(),
        tls: opts.tls.clone().unwrap_or_default(),
        ..Settings::default()
    };
    // A reused directory may still be held by a server being stopped: retry for a while.
    let mut tries = 0;
    let app = loop {
        match App::open(settings.clone()) {
            Ok(app) => break app,
            Err(e) if opts.data_dir.is_some() && tries < 100 => {
                tries += 1;
                let _ = e;
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => panic!("cannot open the app: {e}"),
        }
    };
    seed(&app, opts.clock);
    start(app, opts.http, data_dir, dir)
}

/// Creates the test staff and taxpayers (those not there yet), after setting the clock.
pub fn seed(app: &App, clock: Option<&str>) {
    if let Some(c) = clock {
        let to = chrono::DateTime::parse_from_rfc3339(c).unwrap();
        app.clock
            .set(&app.store, &app.system("test"), Some(to))
            .unwrap();
    }
    let who = app.system("test");
    let existing = app.store.read().unwrap().staff("admin").unwrap().is_some();
    if existing {
        return;
    }
    for (name, role) in [
        ("admin", Role::Admin),
        ("operator", Role::Operator),
        ("auditor", Role::Auditor),
        ("agent", Role::Agent),
    ] {
        service::office::staff::create(
            app,
            &who,
            service::office::staff::NewStaff {
                username: name.into(),
                display_name: String::new(),
                role,
                password: PASSWORD.into(),
            },
        )
        .unwrap();
    }
    for t in [
        taxpayer(
            TAXPAYER_A,
            "福州鑫达电子科技有限公司",
            true,
            Some(CreditRating::A),
        ),
        taxpayer(
            TAXPAYER_B,
            "深圳恒通物流有限公司",
            true,
            Some(CreditRating::B),
        ),
        taxpayer(
            NOT_ELIGIBLE,
            "北京瑞丰建材有限公司",
            false,
            Some(CreditRating::A),
        ),
        taxpayer(NO_RATING, "杭州宏远信息技术有限公司", true, None),
    ] {
        service::office::taxpayers::create(app, &who, t).unwrap();
    }
    // The taxpayers the tests log in as have confirmed 档案信息 at their first login (until
    // then every portal page sends them to 档案信息维护); `first_login_pending` undoes it.
    for id in [TAXPAYER_A, TAXPAYER_B] {
        set_first_login_done(app, id, true);
    }
}

/// Sets whether taxpayer `id` has confirmed 档案信息 at the first login.
pub fn set_first_login_done(app: &App, id: &str, done: bool) {
    let id = TaxpayerId::parse(id).unwrap();
    app.store
        .write(&app.system("test"), |tx| {
            let mut t = tx.taxpayer(&id)?.unwrap();
            t.first_login_done = done;
            tx.put_taxpayer(&t)?;
            tx.audit("test.setup", "", "");
            Ok(())
        })
        .unwrap();
}

fn start(app: Arc<App>, http: bool, data_dir: PathBuf, dir: tempfile::TempDir) -> TestApp {
    let (tx, rx) = std::sync::mpsc::channel();
    let server_app = app.clone();
    std::thread::spawn(move || {
        let sys = actix_web::rt::System::new();
        sys.block_on(async move {
            match fapiao::server::start(server_app) {
                Ok(running) => {
                    tx.send(Ok((running.addr, running.server.handle())))
                        .unwrap();
                    let _ = running.server.await;
                }
                Err(e) => tx.send(Err(e.to_string())).unwrap(),
            }
        });
    });
    let (addr, handle) = rx.recv().unwrap().unwrap();
    let scheme = if http { "http" } else { "https" };
    // Idle pooled connections are dropped before the server's keep-alive (5 s) ends them, so a
    // request after a slow step (a test building a large file) never meets a closed socket.
    let mut builder = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(std::time::Duration::from_secs(2));
    if !http {
        let ca = std::fs::read(data_dir.join("certs/ca.pem")).unwrap();
        builder = builder
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
            .tls_built_in_root_certs(false);
    }
    TestApp {
        addr,
        base: format!("{scheme}://{addr}"),
        client: builder.build().unwrap(),
        app,
        data_dir,
        handle,
        _dir: dir,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut r = self.client.get(self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.unwrap()
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Response {
        let mut r = self.client.request(method, self.url(path)).json(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.send_json(reqwest::Method::POST, path, token, body)
            .await
    }

    pub async fn staff_login(&self, username: &str, password: &str) -> Response {
        self.post_json(
            "/api/v1/office/session",
            None,
            &json!({"username": username, "password": password}),
        )
        .await
    }

    /// Logs a staff member in and returns the token.
    pub async fn staff_token(&self, username: &str) -> String {
        self.staff_token_with(username, PASSWORD).await
    }

    /// Logs a staff member in with `password` and returns the token.
    pub async fn staff_token_with(&self, username: &str, password: &str) -> String {
        let r = self.staff_login(username, password).await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn taxpayer_login(&self, id: &str) -> Response {
        self.post_json("/api/v1/session", None, &json!({ "taxpayer_id": id }))
            .await
    }

    pub async fn taxpayer_token(&self, id: &str) -> String {
        let r = self.taxpayer_login(id).await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

impl TestApp {
    /// Imports invoices (JSON lines) through the office API as `token`; asserts success.
    pub async fn import_ndjson(&self, token: &str, body: impl Into<String>) {
        let r = self
            .client
            .post(self.url("/api/v1/office/invoices"))
            .bearer_auth(token)
            .header("content-type", "application/x-ndjson")
            .body(body.into())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    }
}

/// Asserts the status and the API error code of a response; returns the body.
pub async fn expect_error(r: Response, status: u16, code: &str) -> Value {
    assert_eq!(r.status().as_u16(), status, "unexpected status");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "body: {body}");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    body
}

/// A read-only replica of the data file in `data_dir` (nothing is seeded: the file is only
/// read), served over plain HTTP.
pub fn spawn_replica(data_dir: PathBuf) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        listen: "127.0.0.1:0".into(),
        data_dir: data_dir.clone(),
        http: true,
        training: true,
        read_only: true,
        log_format: "pretty".into(),
        ..Settings::default()
    };
    let app = App::open(settings).unwrap();
    start(app, true, data_dir, dir)
}

/// Flags `seller` as a risky seller with the office's `reason`, straight in the store (the
/// office's risky-seller routes are tested with their own API).
pub fn flag_seller(app: &App, seller: &str, reason: &str) {
    let r = fapiao::domain::RiskySeller {
        seller_id: TaxpayerId::parse(seller).unwrap(),
        reason: reason.into(),
        by: "test".into(),
        at: chrono::DateTime::parse_from_rfc3339("2026-11-01T09:00:00+08:00").unwrap(),
    };
    app.store
        .write(&app.system("test"), |tx| {
            tx.put_risky_seller(&r)?;
            tx.audit("test.setup", seller, reason);
            Ok(())
        })
        .unwrap();
}

impl TestApp {
    /// The office records taxpayer `id`'s 退税 registration (as `token`); returns the answer.
    pub async fn set_refund_registration(
        &self,
        token: &str,
        id: &str,
        exporter: bool,
        trade_service: bool,
    ) -> Response {
        self.send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/office/taxpayers/{id}/refund-registration"),
            Some(token),
            &json!({"exporter": exporter, "trade_service": trade_service}),
        )
        .await
    }
}

/// The application on `data_dir` through the library, in training mode over plain HTTP,
/// without a server (for tests that seed, crash or reopen a data directory).
pub fn open_training(data_dir: impl Into<PathBuf>) -> std::sync::Arc<App> {
    App::open(Settings {
        data_dir: data_dir.into(),
        listen: "127.0.0.1:0".into(),
        http: true,
        training: true,
        ..Settings::default()
    })
    .unwrap()
}
