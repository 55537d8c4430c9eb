//! Prometheus gauges beyond HTTP, served by `/metrics` next to actix-web-prom's request
//! families: the process (CPU, memory, open files, threads, start time), the data file's
//! size, the invoices held, how many commits the search index is behind the store, sessions,
//! the 征纳互动 queue and agents online, the nightly statistics job's last run and duration,
//! backups, and the rows of pages found in memory or read from the data file. A job
//! refreshes them every few seconds (read from the store and the hub; the rows are the only
//! figures counted along the way, by the store).

use prometheus::{IntGauge, Registry};

use crate::service::App;

pub struct Gauges {
    store_bytes: IntGauge,
    invoices: IntGauge,
    index_lag: IntGauge,
    sessions: IntGauge,
    chat_queue: IntGauge,
    agents_online: IntGauge,
    job_last_run: IntGauge,
    job_duration: IntGauge,
    backups: IntGauge,
    backup_last: IntGauge,
    backup_last_bytes: IntGauge,
    read_only: IntGauge,
    row_cache_hits: IntGauge,
    row_cache_misses: IntGauge,
}

fn gauge(registry: &Registry, name: &str, help: &str) -> Result<IntGauge, prometheus::Error> {
    let g = IntGauge::new(name, help)?;
    registry.register(Box::new(g.clone()))?;
    Ok(g)
}

impl Gauges {
    /// Creates the gauges (and the process collector) in `registry`.
    pub fn register(registry: &Registry) -> Result<Gauges, prometheus::Error> {
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        Ok(Gauges {
            store_bytes: gauge(
                registry,
                "fapiao_store_bytes",
                "Size of the data file fapiao.redb in bytes",
            )?,
            invoices: gauge(registry, "fapiao_invoices", "Invoices held in the store")?,
            index_lag: gauge(
                registry,
                "fapiao_index_lag_commits",
                "Invoice commits the search index is behind the store",
            )?,
            sessions: gauge(
                registry,
                "fapiao_sessions",
                "Login sessions held (taxpayers and staff)",
            )?,
            chat_queue: gauge(
                registry,
                "fapiao_interaction_queue",
                "征纳互动 interactions waiting for an agent",
            )?,
            agents_online: gauge(
                registry,
                "fapiao_interaction_agents_online",
                "Agents with an open 征纳互动 connection",
            )?,
            job_last_run: gauge(
                registry,
                "fapiao_statistics_job_last_run_timestamp_seconds",
                "When the nightly statistics job last ran (Unix time; 0: never)",
            )?,
            job_duration: gauge(
                registry,
                "fapiao_statistics_job_duration_milliseconds",
                "How long the nightly statistics job's last run took",
            )?,
            backups: gauge(
                registry,
                "fapiao_backups",
                "Backup files in the backup directory",
            )?,
            backup_last: gauge(
                registry,
                "fapiao_backup_last_timestamp_seconds",
                "When the newest backup was taken (Unix time; 0: none)",
            )?,
            backup_last_bytes: gauge(
                registry,
                "fapiao_backup_last_bytes",
                "Size of the newest backup file in bytes",
            )?,
            read_only: gauge(
                registry,
                "fapiao_read_only",
                "1 on a read-only audit replica, 0 on the primary",
            )?,
            row_cache_hits: gauge(
                registry,
                "fapiao_row_cache_hits",
                "Invoice rows of pages found in memory since start",
            )?,
            row_cache_misses: gauge(
                registry,
                "fapiao_row_cache_misses",
                "Invoice rows of pages read from the data file since start",
            )?,
        })
    }

    /// Reads the figures again; a figure that cannot be read keeps its last value.
    pub fn refresh(&self, app: &App) {
        let f = crate::service::figures::read(app);
        let set = |g: &IntGauge, v: Option<u64>| {
            if let Some(v) = v {
                g.set(i64::try_from(v).unwrap_or(i64::MAX));
            }
        };
        set(&self.store_bytes, f.store_bytes);
        set(&self.invoices, f.invoices);
        set(&self.index_lag, f.index_lag);
        set(&self.sessions, f.sessions);
        set(&self.chat_queue, Some(f.chat_queue));
        set(&self.agents_online, Some(f.agents_online));
        set(&self.job_duration, f.job_duration_ms);
        set(&self.backups, f.backups);
        set(&self.backup_last_bytes, f.backup_last_bytes);
        if let Some(t) = f.job_last_run {
            self.job_last_run.set(t);
        }
        if let Some(t) = f.backup_last {
            self.backup_last.set(t);
        }
        self.read_only.set(i64::from(app.store.is_read_only()));
        let (hits, misses) = app.store.row_cache_counts();
        set(&self.row_cache_hits, Some(hits));
        set(&self.row_cache_misses, Some(misses));
    }
}
