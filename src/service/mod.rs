//! Services: the one layer that both the pages (`web`) and the JSON API (`api`) call.
//! Each operation takes the acting [`Who`] (with the current time passed in) and returns
//! plain data or an [`AppError`](crate::error::AppError). Blocking work stays here; handlers
//! run it off the async executor.
//! May depend on: the domain core, the store, `config`, `error`. Never on actix or maud.

pub mod audit;
pub mod auth;
pub mod bulk;
pub mod certificates;
pub mod clock;
pub mod exports;
pub mod faq;
pub mod faq_bot;
pub mod interact;
pub mod invoice_files;
pub mod invoice_query;
pub mod invoices;
pub mod periods;
pub mod staff;
pub mod statistics;
pub mod taxpayers;
pub mod turn;

use std::sync::Arc;

use crate::config::Settings;
use crate::error::AppResult;
use crate::index::InvoiceIndex;
use crate::store::{Store, StoreError, Who};

pub use clock::Clock;

/// Everything the services need, shared by all requests.
#[derive(Debug)]
pub struct App {
    pub store: Store,
    pub index: Arc<InvoiceIndex>,
    pub clock: Clock,
    pub settings: Settings,
    pub interact: interact::Interact,
}

impl App {
    /// Opens the store from the settings and loads the clock.
    pub fn open(settings: Settings) -> Result<Arc<App>, StartError> {
        let store = Store::open(&settings.db_path(), settings.read_only)?;
        let index = Arc::new(
            InvoiceIndex::open(&settings.data_dir.join("index"))
                .map_err(|e| StartError::Other(format!("index: {e}")))?,
        );
        // Bring the index in step with the truth before anything is served.
        index
            .catch_up(&store)
            .map_err(|e| StartError::Other(format!("index: {e}")))?;
        store.set_sink(index.clone());
        let tz = settings
            .tz()
            .map_err(|e| StartError::Other(e.to_string()))?;
        let clock = Clock::load(&store, tz, settings.training)
            .map_err(|e| StartError::Other(e.to_string()))?;
        let hours = crate::domain::WorkingHours::parse(&settings.interaction.working_hours)
            .map_err(|e| StartError::Other(e.to_string()))?;
        let faq = faq::current(&store).map_err(|e| StartError::Other(e.to_string()))?;
        let interact =
            interact::Interact::new(hours, faq, settings.interaction.ice_servers.clone())
                .map_err(|e| StartError::Other(e.to_string()))?;
        Ok(Arc::new(App {
            store,
            index,
            clock,
            settings,
            interact,
        }))
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
