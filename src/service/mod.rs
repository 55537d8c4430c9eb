//! Services: the one layer that both the pages (`web`) and the JSON API (`api`) call, grouped
//! by who uses them — [`portal`] (the taxpayer), [`office`] (tax office staff), [`interact`]
//! (征纳互动: hub, protocol, knowledge base and bot) — plus [`auth`] and the [`clock`], and
//! what the groups share: [`settle`] (settling a taxpayer's periods) and [`listing`] (invoice
//! pages). Each operation takes the acting [`Who`] (with the current time passed in) and
//! returns plain data or an [`AppError`](crate::error::AppError). Blocking work stays here;
//! handlers run it off the async executor.

pub mod auth;
pub mod clock;
pub mod figures;
pub mod interact;
pub mod listing;
pub mod login_guard;
pub mod office;
pub mod portal;
pub mod settle;

use std::sync::Arc;

use crate::config::Settings;
use crate::error::AppResult;
use crate::index::InvoiceIndex;
use crate::store::prelude::*;
use crate::store::{Store, StoreError};

pub use crate::store::backup::AuditHead;
/// The store's getters (its read traits), for the layers above that read a snapshot.
pub use crate::store::prelude as store_reads;
pub use crate::store::Who;
pub use crate::store::{AuditFilter, Subject};

pub use clock::Clock;

/// The settings key of the time scan certifications were last applied to the statistics.
pub(crate) const SCANS_APPLIED_AT: &str = "scans_applied_at";

/// A file to send: its name and bytes.
#[derive(Debug)]
pub struct File {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Everything the services need, shared by all requests.
#[derive(Debug)]
pub struct App {
    pub store: Store,
    pub index: Arc<InvoiceIndex>,
    pub clock: Clock,
    pub settings: Settings,
    pub interact: interact::Interact,
    /// The per-address login limit and the one-login-per-account lock.
    pub logins: login_guard::LoginGuard,
    /// A replica's integrity check at start-up: its first problem, or `None` when all held.
    pub replica_check: std::sync::OnceLock<Option<String>>,
}

impl App {
    /// Opens the store from the settings and loads the clock.
    pub fn open(settings: Settings) -> Result<Arc<App>, StartError> {
        let store = Store::open(&settings.db_path(), settings.read_only)?;
        App::with_store(settings, store)
    }

    /// The application over an opened store (a replica of a backup file, say).
    pub fn with_store(settings: Settings, store: Store) -> Result<Arc<App>, StartError> {
        // The type codes of import files: the national list and the office's own, fixed for
        // the life of the process (a second App in one process keeps the first table).
        let types = settings
            .invoice_types
            .table()
            .map_err(|e| StartError::Other(e.to_string()))?;
        crate::domain::TypeCodes::install(types);
        let uses = settings
            .uses
            .table()
            .map_err(|e| StartError::Other(e.to_string()))?;
        crate::domain::UseCodes::install(uses);
        let index = Arc::new(
            InvoiceIndex::open(&settings.data_dir.join("index"))
                .map_err(|e| StartError::Other(format!("index: {e}")))?,
        );
        // Bring the index in step with the truth before anything is served.
        index
            .catch_up(&store)
            .map_err(|e| StartError::Other(format!("index: {e}")))?;
        store.set_sink(index.clone());
        // Selection saves are answered after the store's durable flush; the index commits
        // them in the background, queries seeing them meanwhile through its overlay.
        index
            .start_committer(crate::index::COMMIT_EVERY)
            .map_err(|e| StartError::Other(format!("index: {e}")))?;
        let tz = settings
            .tz()
            .map_err(|e| StartError::Other(e.to_string()))?;
        let clock = Clock::load(&store, tz, settings.training)
            .map_err(|e| StartError::Other(e.to_string()))?;
        let hours = crate::domain::WorkingHours::parse(&settings.interaction.working_hours)
            .map_err(|e| StartError::Other(e.to_string()))?;
        let faq = interact::faq::current(&store).map_err(|e| StartError::Other(e.to_string()))?;
        let interact =
            interact::Interact::new(hours, faq, settings.interaction.ice_servers.clone())
                .map_err(|e| StartError::Other(e.to_string()))?;
        let logins = login_guard::LoginGuard::new(settings.session.login_attempts_per_minute);
        let app = App {
            store,
            index,
            clock,
            settings,
            interact,
            logins,
            replica_check: std::sync::OnceLock::new(),
        };
        // A data file written before the audit log was hash-chained is chained now, once,
        // by an audited write (the migration records itself as `audit.chain_start`).
        if !app.store.is_read_only() && !app.store.audit_chained()? {
            app.store
                .write(&app.system("upgrade"), |tx| {
                    tx.audit("store.upgrade", "audit", "audit log hash chain");
                    Ok(())
                })
                .map_err(|e| StartError::Other(e.message.to_string()))?;
        }
        Ok(Arc::new(app))
    }

    /// The banner of a read-only replica: where its data stands (the newest audit entry's
    /// time and the audit head it was opened at) and, once checked, whether it checked out.
    pub fn replica_banner(&self) -> Option<String> {
        let r = self.store.replica()?;
        let at = r.as_of.map_or_else(
            || "（无审计记录）".to_string(),
            |t| {
                t.with_timezone(&self.clock.tz())
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            },
        );
        let hash = crate::domain::audit::chain::hex(&r.head_hash);
        let mut s = format!(
            "只读副本：数据截至 {at}（审计记录第 {} 条，哈希 {}…）",
            r.head_seq,
            &hash[..16]
        );
        match self.replica_check.get() {
            Some(Some(problem)) => s.push_str(&format!("；完整性校验未通过：{problem}")),
            Some(None) => s.push_str("；完整性校验通过"),
            None => {}
        }
        Some(s)
    }

    /// A `Who` for the system itself at the current time.
    pub fn system(&self, what: &str) -> Who {
        Who {
            actor: crate::domain::Actor::System {
                what: what.to_string(),
            },
            address: None,
            wall: self.clock.wall(),
            now: self.clock.now(),
        }
    }

    pub fn training(&self) -> bool {
        self.settings.training
    }

    /// Liveness of the store: a read transaction can be opened.
    pub fn health(&self) -> AppResult<()> {
        self.store.read()?.last_audit_seq()?;
        Ok(())
    }
}

/// Errors starting the application.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("{0}")]
    Other(String),
}
