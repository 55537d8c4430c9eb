//! The two ways into the tables: [`Reader`] over a read snapshot, [`Tx`] inside a write
//! transaction. Both offer the same getters, written once as the read traits of each table
//! group (see [`tables`](super::tables) and [`prelude`](super::prelude)) over [`Tables`];
//! only [`Tx`] writes.

use std::collections::{BTreeSet, HashMap};

use redb::{ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};

use super::tables::audit::AuditDraft;
use super::tables::Tables;
use crate::domain::Invoice;
use crate::error::AppResult;

/// A read snapshot.
pub struct Reader {
    txn: ReadTransaction,
}

impl Reader {
    pub(super) fn new(txn: ReadTransaction) -> Self {
        Reader { txn }
    }

    pub(super) fn into_txn(self) -> ReadTransaction {
        self.txn
    }
}

impl Tables for Reader {
    fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
        &self,
        def: TableDefinition<K, V>,
    ) -> AppResult<impl ReadableTable<K, V> + '_> {
        Ok(self.txn.open_table(def)?)
    }
}

/// An open write transaction with its pending audit entries.
pub struct Tx {
    pub(super) txn: WriteTransaction,
    pub(super) audits: Vec<AuditDraft>,
    /// Invoices inserted by this transaction.
    pub(super) new: Vec<Invoice>,
    /// Invoices changed by this transaction.
    pub(super) updated: Vec<Invoice>,
    /// (taxpayer, period) whose statistics this transaction made stale.
    pub(super) stale: BTreeSet<(String, u32)>,
}

impl Tables for Tx {
    fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
        &self,
        def: TableDefinition<K, V>,
    ) -> AppResult<impl ReadableTable<K, V> + '_> {
        self.open(def)
    }
}

impl Tx {
    pub(super) fn new(txn: WriteTransaction) -> Self {
        Tx {
            txn,
            audits: Vec::new(),
            new: Vec::new(),
            updated: Vec::new(),
            stale: BTreeSet::new(),
        }
    }

    #[allow(clippy::type_complexity)]
    pub(super) fn into_parts(
        self,
    ) -> (
        WriteTransaction,
        Vec<AuditDraft>,
        (Vec<Invoice>, Vec<Invoice>),
    ) {
        let (new, updated) = latest_versions(self.new, self.updated);
        (self.txn, self.audits, (new, updated))
    }

    pub(super) fn abort(self) -> AppResult<()> {
        self.txn.abort()?;
        Ok(())
    }

    /// Opens a table for writing (the table groups' write methods).
    pub(super) fn open<K: redb::Key + 'static, V: redb::Value + 'static>(
        &self,
        def: TableDefinition<K, V>,
    ) -> AppResult<redb::Table<'_, K, V>> {
        Ok(self.txn.open_table(def)?)
    }
}

/// The invoices a transaction touched, each once in its last written version: an invoice
/// written several times (say its status changed, then its selection) reaches the index
/// once, and one inserted then changed counts as new.
fn latest_versions(mut new: Vec<Invoice>, updated: Vec<Invoice>) -> (Vec<Invoice>, Vec<Invoice>) {
    if updated.is_empty() {
        return (new, updated);
    }
    let mut last: HashMap<u128, usize> = HashMap::new();
    for (i, inv) in updated.iter().enumerate() {
        last.insert(inv.key.to_u128(), i);
    }
    for inv in new.iter_mut() {
        if let Some(i) = last.remove(&inv.key.to_u128()) {
            *inv = updated[i].clone();
        }
    }
    let mut keep: Vec<usize> = last.into_values().collect();
    keep.sort_unstable();
    let updated = keep.into_iter().map(|i| updated[i].clone()).collect();
    (new, updated)
}
