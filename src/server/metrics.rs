//! Prometheus gauges beyond HTTP, served by `/metrics` next to actix-web-prom's request
//! families: the data file's size, the invoices held, how many commits the search index is
//! behind the store, and when the nightly statistics job last ran. A job refreshes them every
//! few seconds (they are read from the store, not counted along the way).

use prometheus::{IntGauge, Registry};

use crate::service::App;

pub struct Gauges {
    store_bytes: IntGauge,
    invoices: IntGauge,
    index_lag: IntGauge,
    job_last_run: IntGauge,
}

fn gauge(registry: &Registry, name: &str, help: &str) -> Result<IntGauge, prometheus::Error> {
    let g = IntGauge::new(name, help)?;
    registry.register(Box::new(g.clone()))?;
    Ok(g)
}

impl Gauges {
    /// Creates the gauges in `registry`.
    pub fn register(registry: &Registry) -> Result<Gauges, prometheus::Error> {
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
            job_last_run: gauge(
                registry,
                "fapiao_statistics_job_last_run_timestamp_seconds",
                "When the nightly statistics job last ran (Unix time; 0: never)",
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
        if let Some(t) = f.job_last_run {
            self.job_last_run.set(t);
        }
    }
}
