//! Start-up: builds the actix-web application from the settings — HTTPS (rustls) or plain
//! HTTP, middleware (request ids and structured logs, metrics, security headers, HTML error
//! pages, the same-origin check), the JSON API and the pages — binds it, starts the background
//! jobs, and runs it until SIGINT/SIGTERM. Tests and `fapiao serve` share this path; binding
//! port 0 picks a free port, which [`Running::addr`] reports.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::{web, HttpServer};
use actix_web_prom::PrometheusMetricsBuilder;
use tracing_actix_web::TracingLogger;

use super::{jobs, middleware};
use crate::error::{AppError, Code};
use crate::http::extract;
use crate::pki::checker::CertChecker;
use crate::pki::tls;
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
    let registry = prometheus::Registry::new();
    let gauges = std::sync::Arc::new(
        super::metrics::Gauges::register(&registry)
            .map_err(|e| StartError::Other(format!("metrics: {e}")))?,
    );
    gauges.refresh(&app);
    {
        let (app, gauges) = (app.clone(), gauges.clone());
        actix_web::rt::spawn(async move {
            let mut tick = actix_web::rt::time::interval(std::time::Duration::from_secs(10));
            loop {
                tick.tick().await;
                let (app, gauges) = (app.clone(), gauges.clone());
                let _ = web::block(move || gauges.refresh(&app)).await;
            }
        });
    }
    let prometheus = PrometheusMetricsBuilder::new("fapiao")
        .registry(registry)
        .endpoint("/metrics")
        .mask_unmatched_patterns("UNKNOWN")
        .build()
        .map_err(|e| StartError::Other(format!("metrics: {e}")))?;
    jobs::spawn(app.clone()).map_err(|e| StartError::Other(e.to_string()))?;
    let data = web::Data::from(app.clone());
    // The tax CA's chain checker for certificate logins (HTTPS only).
    let checker: Option<web::Data<CertChecker>> = if https {
        let wall = app.clock.wall();
        let now = time::OffsetDateTime::from_unix_timestamp(wall.timestamp())
            .map_err(|e| StartError::Other(e.to_string()))?;
        let roots =
            tls::client_roots(settings, now).map_err(|e| StartError::Other(e.to_string()))?;
        Some(web::Data::new(
            CertChecker::new(roots).map_err(StartError::Other)?,
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
            .app_data(crate::http::json_config(1 << 20))
            .app_data(query_config())
            .app_data(path_config())
            .wrap(actix_web::middleware::from_fn(middleware::replica))
            .wrap(actix_web::middleware::from_fn(crate::http::origin::csrf))
            .wrap(actix_web::middleware::from_fn(
                crate::web::errors::html_errors,
            ))
            .wrap(middleware::security_headers(https))
            .wrap(prometheus.clone())
            .wrap(actix_web::middleware::from_fn(middleware::metrics_guard))
            .wrap(TracingLogger::<super::telemetry::Spans>::new())
            .configure(crate::api::routes)
            .configure(crate::web::routes)
            .default_service(web::to(crate::web::errors::not_found))
    };
    // Signals are handled by the caller (see [`run_until_stopped`]), registered before the
    // address is announced so that an early SIGTERM still shuts down gracefully.
    let server = HttpServer::new(factory)
        .on_connect(extract::remember_client_certificate)
        .shutdown_timeout(10)
        .worker_max_blocking_threads(BLOCKING_THREADS_PER_WORKER)
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
    Ok(Running {
        addr,
        https,
        server,
    })
}

/// Threads each worker runs its requests' store and index work on (actix's default is 512
/// divided by the cores). The work is CPU-bound but for a save waiting for its group's
/// flush, and every thread keeps its own allocator pages: with 50 connections the default
/// grew to one thread each, and at 10M invoices the freed pages they held put the server
/// past 1 GiB under load (see `docs/benchmarks.md`).
const BLOCKING_THREADS_PER_WORKER: usize = 8;

/// Runs the server until SIGINT/SIGTERM, then stops gracefully (in-flight requests finish).
pub fn run_until_stopped(app: Arc<App>, announce: impl FnOnce(&str)) -> Result<(), StartError> {
    let weak = Arc::downgrade(&app);
    let result = actix_web::rt::System::new().block_on(async move {
        let signals = shutdown_signals()?;
        let running = start(app)?;
        let handle = running.server.handle();
        announce(&running.base_url());
        actix_web::rt::spawn(async move {
            signals.await;
            tracing::info!("shutting down");
            handle.stop(true).await;
        });
        running
            .server
            .await
            .map_err(|e| StartError::Other(e.to_string()))
    });
    // The server and its tasks are gone; let the background threads let go of the app too,
    // so that the store is dropped and redb marks its file as cleanly closed (a file that is
    // not would need a repair before a read-only open: `fapiao backup`, `verify`, a replica).
    for _ in 0..100 {
        if weak.strong_count() == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    if weak.strong_count() > 0 {
        tracing::warn!("the data file was not closed cleanly; the next start repairs it");
    }
    result
}

/// A future that completes on the first SIGINT or SIGTERM; the handlers are registered
/// when this function returns.
fn shutdown_signals() -> Result<impl std::future::Future<Output = ()>, StartError> {
    use actix_web::rt::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).map_err(|e| StartError::Other(e.to_string()))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| StartError::Other(e.to_string()))?;
    Ok(async move {
        let t = Box::pin(async move { term.recv().await });
        let i = Box::pin(async move { int.recv().await });
        futures_util::future::select(t, i).await;
    })
}
