//! The tables of the data file and typed access to them, one file per group of tables.
//!
//! Each group's getters are a read trait whose methods are written once, as default methods
//! over [`Tables`], and so are offered alike by a read snapshot ([`Reader`](super::Reader))
//! and a write transaction ([`Tx`](super::Tx)); its writes are methods of [`Tx`](super::Tx).
//!
//! The definitions below are the on-disk layout (table names, key and value types; values
//! are encoded by [`codec`](super::codec)): they never change meaning.

use redb::{ReadableTable, TableDefinition};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::codec;
use crate::error::{AppError, AppResult};

pub(super) mod alerts;
pub(super) mod audit;
pub(super) mod certificates;
pub(super) mod index_journal;
pub(super) mod interactions;
pub(super) mod invoices;
pub(super) mod periods;
pub(super) mod settings;
pub(super) mod staff;
pub(super) mod taxpayers;

pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
pub const SETTINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("settings");
pub const TAXPAYERS: TableDefinition<&str, &[u8]> = TableDefinition::new("taxpayers");
/// Invoice key (`InvoiceKey::to_u128`) → invoice row.
pub const INVOICES: TableDefinition<u128, &[u8]> = TableDefinition::new("invoices");
/// (taxpayer, period) → declaration status code.
pub const DECLARATIONS: TableDefinition<(&str, u32), u8> = TableDefinition::new("declarations");
/// (region code, period) → deadline (days from CE).
pub const DEADLINES: TableDefinition<(&str, u32), i32> = TableDefinition::new("deadlines");
/// (taxpayer, period, batch number) → confirmation batch.
pub const BATCHES: TableDefinition<(&str, u32, u32), &[u8]> = TableDefinition::new("batches");
pub const STAFF: TableDefinition<&str, &[u8]> = TableDefinition::new("staff");
/// Username → `StaffMeta` (must change the password, last login): kept apart from the staff
/// record so that records written before it still decode.
pub const STAFF_META: TableDefinition<&str, &[u8]> = TableDefinition::new("staff_meta");
/// Username → the regions (6-digit codes) an agent serves in 征纳互动; no row: every region.
pub const STAFF_REGIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("staff_regions");
/// SHA-256 of the session token → session.
pub const SESSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("sessions");
/// The names of the tables a replica or a snapshot starts without.
pub const SESSIONS_NAME: &str = "sessions";
pub const THROTTLE_NAME: &str = "throttle";
pub const SESSION_CERTS_NAME: &str = "session_certs";
/// Login state: not backed up, not copied into replicas or snapshots.
pub const EPHEMERAL: &[&str] = &[SESSIONS_NAME, THROTTLE_NAME, SESSION_CERTS_NAME];
/// Login throttling counters by key (e.g. `staff:<username>`).
pub const THROTTLE: TableDefinition<&str, &[u8]> = TableDefinition::new("throttle");
/// The 已勾选 invoices: (buyer, issue date in days from CE, invoice key) → period, with the
/// use's code above bit 24 for uses other than 抵扣 (see `selected_value`).
/// Kept in step with the invoices by `Tx::put_invoices`.
pub const SELECTED: TableDefinition<(&str, i32, u128), u32> = TableDefinition::new("selected");
/// Taxpayer → [`RefundRegistration::bits`](crate::domain::RefundRegistration::bits); no row:
/// not registered for 退税.
pub const REFUND_REGISTRATIONS: TableDefinition<&str, u8> =
    TableDefinition::new("refund_registrations");
/// (taxpayer, invoice key) → the 进项税额转出 recorded for the invoice.
pub const TRANSFERS_OUT: TableDefinition<(&str, u128), &[u8]> =
    TableDefinition::new("transfers_out");
/// Seller's taxpayer id → the office's flag ([`RiskySeller`](crate::domain::RiskySeller)).
pub const RISKY_SELLERS: TableDefinition<&str, &[u8]> = TableDefinition::new("risky_sellers");
/// Taxpayer → its previous and latest login (`alerts::Visits`): "since the last visit".
pub const TAXPAYER_VISITS: TableDefinition<&str, &[u8]> = TableDefinition::new("taxpayer_visits");
/// (buyer, time in ms since the epoch, invoice key) → a status change of the buyer's invoice
/// (`alerts::StatusNote`), written with the invoice's history entry.
pub const STATUS_CHANGES: TableDefinition<(&str, i64, u128), &[u8]> =
    TableDefinition::new("status_changes");
/// (invoice key, n) → invoice event: each invoice's history of changes.
pub const INVOICE_EVENTS: TableDefinition<(u128, u32), &[u8]> =
    TableDefinition::new("invoice_events");
/// (taxpayer, n) → a change of the taxpayer's record made by the office.
pub const TAXPAYER_CHANGES: TableDefinition<(&str, u32), &[u8]> =
    TableDefinition::new("taxpayer_changes");
/// (taxpayer, period) → cached 抵扣统计 (`statistics::Cached`); removed by any commit that
/// changes an invoice certified in that period.
/// (Named anew whenever the layout grows — from three kinds to every kind (`stats_by_kind`),
/// then with the figures per 勾选用途 (`stats_by_use`): figures cached in an older layout are
/// simply not found, and recomputed; [`RETIRED`] drops the old tables.)
pub const STATS: TableDefinition<(&str, u32), &[u8]> = TableDefinition::new("stats_by_use");
/// Tables of older layouts, dropped when a store is opened for writing (caches only: their
/// contents are recomputed under the new names).
pub const RETIRED: [&str; 2] = ["stats", "stats_by_kind"];
/// (taxpayer, period) → the cached exception keys, 16 bytes each (`InvoiceKey::to_u128`,
/// little-endian), in key order.
pub const STATS_KEYS: TableDefinition<(&str, u32), &[u8]> = TableDefinition::new("stats_keys");
/// (taxpayer, period) → generation, bumped with each such removal (guards a cache write
/// racing a change).
pub const STATS_GEN: TableDefinition<(&str, u32), u64> = TableDefinition::new("stats_gen");
/// Invoice key → scan record waiting for the statistics job.
pub const PENDING_SCANS: TableDefinition<u128, &[u8]> = TableDefinition::new("pending_scans");
/// Sequence → audit entry; append-only.
pub const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");
/// Sequence → SHA-256 chain hash of that audit entry (`domain::audit::chain`), written in
/// the transaction that appends the entry.
pub const AUDIT_CHAIN: TableDefinition<u64, &[u8]> = TableDefinition::new("audit_chain");
/// 批量勾选 operation log: (taxpayer, sequence) → `BulkUpload`.
pub const BULK_LOG: TableDefinition<(&str, u32), &[u8]> = TableDefinition::new("bulk_log");
/// 征纳互动: interaction id → `InteractionRecord`.
pub const INTERACTIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("interactions");
/// The interactions not yet closed: id → taxpayer.
pub const OPEN_INTERACTIONS: TableDefinition<u64, &str> = TableDefinition::new("open_interactions");
/// (interaction id, seq) → `ChatMessage`: the transcripts.
pub const CHAT: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("chat");

/// Serial number (lower-case hex) → `CertificateRecord`: the taxpayer certificates issued.
pub const CERTIFICATES: TableDefinition<&str, &[u8]> = TableDefinition::new("certificates");
/// (taxpayer, serial) → issued at (Unix seconds): each taxpayer's certificates.
pub const TAXPAYER_CERTIFICATES: TableDefinition<(&str, &str), i64> =
    TableDefinition::new("taxpayer_certificates");
/// SHA-256 of a session token → fingerprint (SHA-256 hex) of the client certificate the
/// session was opened with. Kept apart from `sessions` so that older session rows decode.
pub const SESSION_CERTS: TableDefinition<&[u8], &str> = TableDefinition::new("session_certs");

/// Invoice change counter (`meta`'s `invoice_seq`) → the keys of the invoices that commit
/// added or changed (see [`index_journal`]): lets an index a few commits behind catch up
/// without a rebuild. The newest `index_journal::KEEP` commits are kept.
pub const INDEX_JOURNAL: TableDefinition<u64, &[u8]> = TableDefinition::new("index_journal");

/// Where the getters read from: a read snapshot ([`Reader`](super::Reader)) or a write
/// transaction ([`Tx`](super::Tx), which sees its own uncommitted writes). Every read trait
/// of the store (see [`prelude`](super::prelude)) is implemented for every `Tables`.
pub trait Tables {
    /// Opens a table for reading.
    fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
        &self,
        def: TableDefinition<K, V>,
    ) -> AppResult<impl ReadableTable<K, V> + '_>;
}

pub(super) fn dec<T: DeserializeOwned>(bytes: &[u8]) -> AppResult<T> {
    codec::decode(bytes).map_err(AppError::internal)
}

pub(super) fn enc<T: Serialize>(value: &T) -> AppResult<Vec<u8>> {
    codec::encode(value).map_err(AppError::internal)
}
