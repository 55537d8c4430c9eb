//! Server: builds the actix-web application from the settings — HTTPS (rustls) or plain
//! HTTP, middleware (request ids and structured logs, metrics, security headers, HTML error
//! pages), the JSON API and the pages — and binds it. Tests and `fapiao serve` share this
//! path; binding port 0 picks a free port, which [`Running::addr`] reports.
//! May depend on: everything below it (service, api, web, config, error).

pub mod extract;
pub mod middleware;
pub mod tls;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, HttpServer};
use actix_web_prom::PrometheusMetricsBuilder;
use tracing_actix_web::TracingLogger;

use crate::error::{AppError, Code};
use crate::service::{App, StartError};

/// A bound server, ready to be awaited.
pub struct Running {
    pub addr: SocketAddr,
    pub https: bool,
    pub server: actix_web::dev::Server,
}

impl Running {
    pub fn base_url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }
}

/// JSON bodies that do not parse are 400 `malformed`; valid JSON of the wrong shape is 422.
fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(1 << 20)
        .error_handler(|err, _req| {
            use actix_web::error::JsonPayloadError as J;
            let e = match &err {
                J::Deserialize(de) if de.is_data() => {
                    AppError::new(Code::InvalidValue).with_message(format!("请求内容不正确：{de}"))
                }
                J::OverflowKnownLength { .. } | J::Overflow { .. } => AppError::new(Code::TooLarge),
                J::ContentType => AppError::new(Code::UnsupportedType)
                    .with_message("请求内容类型应为 application/json"),
                _ => AppError::new(Code::Malformed).with_message(format!("请求格式不正确：{err}")),
            };
            e.into()
        })
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        AppError::new(Code::InvalidValue)
            .with_message(format!("查询条件不正确：{err}"))
            .into()
    })
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _req| {
        AppError::new(Code::NotFound)
            .with_message(format!("路径不正确：{err}"))
            .into()
    })
}

/// Binds the server for `app` (HTTPS unless `settings.http`), without running it yet.
pub fn start(app: Arc<App>) -> Result<Running, StartError> {
    let settings = &app.settings;
    let addr = settings.listen_addr()?;
    let listener = TcpListener::bind(addr)
        .map_err(|e| StartError::Other(format!("cannot listen on {addr}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Other(e.to_string()))?;
    let https = !settings.http;
    let prometheus = PrometheusMetricsBuilder::new("fapiao")
        .endpoint("/metrics")
        .mask_unmatched_patterns("UNKNOWN")
        .build()
        .map_err(|e| StartError::Other(format!("metrics: {e}")))?;
    crate::service::interact::Interact::start(&app)
        .map_err(|e| StartError::Other(e.to_string()))?;
    let data = web::Data::from(app.clone());
    // The tax CA's chain checker for certificate logins (HTTPS only).
    let checker: Option<web::Data<crate::service::certificates::CertChecker>> = if https {
        let wall = app.clock.wall();
        let now = time::OffsetDateTime::from_unix_timestamp(wall.timestamp())
            .map_err(|e| StartError::Other(e.to_string()))?;
        let roots =
            tls::client_roots(settings, now).map_err(|e| StartError::Other(e.to_string()))?;
        Some(web::Data::new(
            crate::service::certificates::CertChecker::new(roots).map_err(StartError::Other)?,
        ))
    } else {
        None
    };
    let factory = move || {
        let mut a = actix_web::App::new();
        if let Some(c) = &checker {
            a = a.app_data(c.clone());
        }
        a.app_data(data.clone())
            .app_data(json_config())
            .app_data(query_config())
            .app_data(path_config())
            .wrap(actix_web::middleware::from_fn(middleware::html_errors))
            .wrap(actix_web::middleware::from_fn(middleware::csrf))
            .wrap(middleware::security_headers(https))
            .wrap(prometheus.clone())
            .wrap(TracingLogger::default())
            .configure(crate::api::routes)
            .configure(crate::web::routes)
            .default_service(web::to(crate::web::not_found))
    };
    // Signals are handled by the caller (see `cli::run_server`), registered before the
    // address is announced so that an early SIGTERM still shuts down gracefully.
    let server = HttpServer::new(factory)
        .on_connect(extract::remember_client_certificate)
        .shutdown_timeout(10)
        .disable_signals();
    let server = if https {
        let wall = app.clock.wall();
        let now = time::OffsetDateTime::from_unix_timestamp(wall.timestamp())
            .map_err(|e| StartError::Other(e.to_string()))?;
        let tls =
            tls::server_config(settings, now).map_err(|e| StartError::Other(e.to_string()))?;
        server
            .listen_rustls_0_23(listener, tls)
            .map_err(|e| StartError::Other(e.to_string()))?
    } else {
        server
            .listen(listener)
            .map_err(|e| StartError::Other(e.to_string()))?
    };
    let server = server.run();
    crate::service::interact::Interact::start_turn(&app);
    spawn_housekeeping(app);
    Ok(Running {
        addr,
        https,
        server,
    })
}

/// Settles every taxpayer now and every minute (windows whose deadline day ended close even
/// when nobody asks) and runs the nightly statistics job when due (at start when a run was
/// missed), and purges expired sessions now and every ten minutes.
fn spawn_housekeeping(app: Arc<App>) {
    let settle_app = app.clone();
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            let app = settle_app.clone();
            let result = web::block(move || {
                let who = app.system("period");
                let n = crate::service::periods::settle_all(&app, &who)?;
                if crate::service::statistics::run_job_if_due(&app)? {
                    tracing::info!("statistics job ran: scan certifications applied");
                }
                Ok::<_, crate::error::AppError>(n)
            })
            .await;
            match result {
                Ok(Ok(n)) if n > 0 => tracing::info!(taxpayers = n, "periods settled"),
                Ok(Err(e)) => tracing::warn!(error = %e, "period settlement failed"),
                Err(e) => tracing::warn!(error = %e, "period settlement failed"),
                _ => {}
            }
        }
    });
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            let app = app.clone();
            let result = web::block(move || {
                let wall = app.clock.wall().timestamp();
                crate::service::auth::purge_expired_sessions(&app, wall)
            })
            .await;
            match result {
                Ok(Ok(n)) if n > 0 => tracing::info!(purged = n, "expired sessions removed"),
                Ok(Err(e)) => tracing::warn!(error = %e, "session purge failed"),
                Err(e) => tracing::warn!(error = %e, "session purge failed"),
                _ => {}
            }
        }
    });
}
