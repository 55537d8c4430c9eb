//! The figures operations watch (served as Prometheus gauges by `server::metrics`): the data
//! file's size, the invoices held, how many invoice commits the search index is behind the
//! store, and when the nightly statistics job last ran. A figure that cannot be read is `None`.

use super::App;
use crate::store::prelude::*;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    pub store_bytes: Option<u64>,
    pub invoices: Option<u64>,
    pub index_lag: Option<u64>,
    /// Unix time; `Some(0)` when the job never ran.
    pub job_last_run: Option<i64>,
}

pub fn read(app: &App) -> Figures {
    let mut f = Figures {
        store_bytes: std::fs::metadata(app.settings.db_path())
            .ok()
            .map(|m| m.len()),
        ..Figures::default()
    };
    if let Ok(r) = app.store.read() {
        f.invoices = r.invoice_count().ok();
        f.index_lag = r
            .invoice_seq()
            .ok()
            .map(|seq| seq.abs_diff(app.index.applied_seq()));
    }
    f.job_last_run = super::office::statistics::last_job_run(app)
        .ok()
        .map(|last| last.map_or(0, |t| t.timestamp()));
    f
}
