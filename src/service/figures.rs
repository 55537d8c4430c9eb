//! The figures operations watch (served as Prometheus gauges by `server::metrics`, shown on
//! the console's 工作台): the data file's size, the invoices held, how many invoice commits
//! the search index is behind the store, sessions, the 征纳互动 queue and agents online, the
//! nightly statistics job's last run and duration, and the newest backup. A figure that
//! cannot be read is `None`.

use super::App;
use crate::store::prelude::*;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    pub store_bytes: Option<u64>,
    pub invoices: Option<u64>,
    pub index_lag: Option<u64>,
    /// Sessions held in the store (a replica's: in its memory).
    pub sessions: Option<u64>,
    /// 征纳互动 interactions waiting for an agent.
    pub chat_queue: u64,
    /// Agents with an open 征纳互动 socket.
    pub agents_online: u64,
    /// Unix time; `Some(0)` when the job never ran.
    pub job_last_run: Option<i64>,
    /// The job's last run, in milliseconds.
    pub job_duration_ms: Option<u64>,
    /// Backups in the backup directory.
    pub backups: Option<u64>,
    /// The newest backup's time (Unix) and size; `Some(0)` when there is none.
    pub backup_last: Option<i64>,
    pub backup_last_bytes: Option<u64>,
}

pub fn read(app: &App) -> Figures {
    let mut f = Figures {
        store_bytes: std::fs::metadata(app.settings.db_path())
            .ok()
            .map(|m| m.len()),
        chat_queue: app.interact.queued(),
        agents_online: app.interact.agents_online(),
        ..Figures::default()
    };
    if let Ok(r) = app.store.read() {
        f.invoices = r.invoice_count().ok();
        f.index_lag = r
            .invoice_seq()
            .ok()
            .map(|seq| seq.abs_diff(app.index.applied_seq()));
        f.sessions = r.session_count().ok();
    }
    f.job_last_run = super::office::statistics::last_job_run(app)
        .ok()
        .map(|last| last.map_or(0, |t| t.timestamp()));
    f.job_duration_ms = super::office::statistics::last_job_duration_ms(app)
        .ok()
        .flatten();
    if let Ok(list) = super::office::backups::list(app) {
        f.backups = Some(list.len() as u64);
        f.backup_last = Some(list.first().map_or(0, |b| b.created_at.timestamp()));
        f.backup_last_bytes = Some(list.first().map_or(0, |b| b.bytes));
    }
    f
}
