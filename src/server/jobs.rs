//! Background jobs, all in one place: the 征纳互动 hub, the embedded TURN relay, the
//! settlement tick with the nightly statistics job, and the session purge.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;

use crate::error::AppResult;
use crate::service::App;

/// Starts every background job of a running server (inside its actix system).
pub fn spawn(app: Arc<App>) -> AppResult<()> {
    crate::service::interact::Interact::start(&app)?;
    super::turn::spawn(&app);
    if app.store.is_read_only() {
        spawn_replica_check(app.clone());
    } else {
        spawn_backups(app.clone())?;
    }
    spawn_housekeeping(app);
    Ok(())
}

/// A replica checks what it serves once, at start (the chain, the statistics, the
/// confirmations); the result joins its banner.
fn spawn_replica_check(app: Arc<App>) {
    actix_web::rt::spawn(async move {
        let a = app.clone();
        let result = web::block(move || crate::service::office::verify::run(&a)).await;
        let problem = match result {
            Ok(Ok(report)) => {
                if report.ok() {
                    tracing::info!("replica integrity check passed");
                } else {
                    tracing::error!(problem = ?report.first_problem(), "replica integrity check failed");
                }
                report.first_problem()
            }
            Ok(Err(e)) => Some(e.message.to_string()),
            Err(e) => Some(e.to_string()),
        };
        let _ = app.replica_check.set(problem);
    });
}

/// The `[backup]` schedule: a backup every `every` (the first one `every` after start), kept
/// to the newest `keep`.
fn spawn_backups(app: Arc<App>) -> AppResult<()> {
    let every = app
        .settings
        .backup
        .interval_secs()
        .map_err(|e| crate::error::AppError::internal(e.to_string()))?;
    let Some(every) = every else {
        return Ok(());
    };
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(every));
        tick.tick().await;
        loop {
            tick.tick().await;
            let app = app.clone();
            let result = web::block(move || {
                let who = app.system("backup");
                crate::service::office::backups::create(&app, &who)
            })
            .await;
            match result {
                Ok(Ok(b)) => {
                    tracing::info!(file = %b.file, bytes = b.bytes, "scheduled backup written")
                }
                Ok(Err(e)) => tracing::error!(error = %e, "scheduled backup failed"),
                Err(e) => tracing::error!(error = %e, "scheduled backup failed"),
            }
        }
    });
    Ok(())
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
            if app.store.is_read_only() {
                // A replica shows the source as it was: nothing to settle or apply.
                continue;
            }
            let result = web::block(move || {
                let who = app.system("period");
                let n = crate::service::settle::settle_all(&app, &who)?;
                if crate::service::office::statistics::run_job_if_due(&app)? {
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
                app.logins.forget_idle();
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
