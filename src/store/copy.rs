//! Whole-store copies: every table, from one read snapshot, into another redb database.
//!
//! One list of the tables ([`each_table`]) serves creating them, copying them into a backup or
//! a replica's memory, counting them for a backup's manifest, and replacing the live tables
//! with a training snapshot's. A test checks the list against the tables a store really has,
//! so a table added later cannot be left out of backups.

use std::collections::BTreeMap;

use redb::{ReadTransaction, ReadableTable, ReadableTableMetadata, TableDefinition};
use redb::{TableHandle, WriteTransaction};

use super::tables::{self, *};
use super::StoreError;

/// Something done to each table of the store in turn.
pub(super) trait TableVisitor {
    fn visit<K: redb::Key + 'static, V: redb::Value + 'static>(
        &mut self,
        def: TableDefinition<K, V>,
    ) -> Result<(), StoreError>;
}

/// Every table of the data file, `meta` first.
pub(super) fn each_table(v: &mut impl TableVisitor) -> Result<(), StoreError> {
    v.visit(tables::META)?;
    v.visit(SETTINGS)?;
    v.visit(TAXPAYERS)?;
    v.visit(INVOICES)?;
    v.visit(DECLARATIONS)?;
    v.visit(DEADLINES)?;
    v.visit(BATCHES)?;
    v.visit(STAFF)?;
    v.visit(STAFF_META)?;
    v.visit(STAFF_REGIONS)?;
    v.visit(SESSIONS)?;
    v.visit(THROTTLE)?;
    v.visit(AUDIT)?;
    v.visit(AUDIT_CHAIN)?;
    v.visit(SELECTED)?;
    v.visit(REFUND_REGISTRATIONS)?;
    v.visit(TRANSFERS_OUT)?;
    v.visit(RISKY_SELLERS)?;
    v.visit(TAXPAYER_VISITS)?;
    v.visit(STATUS_CHANGES)?;
    v.visit(INVOICE_EVENTS)?;
    v.visit(TAXPAYER_CHANGES)?;
    v.visit(STATS)?;
    v.visit(STATS_KEYS)?;
    v.visit(STATS_GEN)?;
    v.visit(PENDING_SCANS)?;
    v.visit(BULK_LOG)?;
    v.visit(INTERACTIONS)?;
    v.visit(OPEN_INTERACTIONS)?;
    v.visit(CHAT)?;
    v.visit(CERTIFICATES)?;
    v.visit(TAXPAYER_CERTIFICATES)?;
    v.visit(SESSION_CERTS)?;
    v.visit(INDEX_JOURNAL)?;
    Ok(())
}

/// Creates every table (so that readers never meet a missing one).
pub(super) struct Create<'a>(pub &'a WriteTransaction);

impl TableVisitor for Create<'_> {
    fn visit<K: redb::Key + 'static, V: redb::Value + 'static>(
        &mut self,
        def: TableDefinition<K, V>,
    ) -> Result<(), StoreError> {
        self.0.open_table(def)?;
        Ok(())
    }
}

/// Copies every table of `from` into `to` (whose tables must be empty or absent), except
/// those named in `skip`; counts the rows copied per table.
pub(super) struct Copy<'a> {
    pub from: &'a ReadTransaction,
    pub to: &'a WriteTransaction,
    pub skip: &'a [&'a str],
    pub counts: BTreeMap<String, u64>,
}

impl TableVisitor for Copy<'_> {
    fn visit<K: redb::Key + 'static, V: redb::Value + 'static>(
        &mut self,
        def: TableDefinition<K, V>,
    ) -> Result<(), StoreError> {
        let mut to = self.to.open_table(def)?;
        if self.skip.contains(&def.name()) {
            return Ok(());
        }
        let from = match self.from.open_table(def) {
            Ok(t) => t,
            // A table the source predates: nothing to copy.
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let mut n = 0u64;
        for row in from.iter()? {
            let (k, v) = row?;
            to.insert(k.value(), v.value())?;
            n += 1;
        }
        self.counts.insert(def.name().to_string(), n);
        Ok(())
    }
}

/// Empties every table of a write transaction except those named in `keep`.
pub(super) struct Clear<'a> {
    pub txn: &'a WriteTransaction,
    pub keep: &'a [&'a str],
}

impl TableVisitor for Clear<'_> {
    fn visit<K: redb::Key + 'static, V: redb::Value + 'static>(
        &mut self,
        def: TableDefinition<K, V>,
    ) -> Result<(), StoreError> {
        if !self.keep.contains(&def.name()) {
            self.txn.delete_table(def)?;
            self.txn.open_table(def)?;
        }
        Ok(())
    }
}

/// Counts the rows of every table in a read snapshot.
pub(super) struct Count<'a> {
    pub txn: &'a ReadTransaction,
    pub counts: BTreeMap<String, u64>,
}

impl TableVisitor for Count<'_> {
    fn visit<K: redb::Key + 'static, V: redb::Value + 'static>(
        &mut self,
        def: TableDefinition<K, V>,
    ) -> Result<(), StoreError> {
        let n = match self.txn.open_table(def) {
            Ok(t) => t.len()?,
            Err(redb::TableError::TableDoesNotExist(_)) => 0,
            Err(e) => return Err(e.into()),
        };
        self.counts.insert(def.name().to_string(), n);
        Ok(())
    }
}

/// The names of the tables in the list.
#[cfg(test)]
pub(super) struct Names(pub Vec<String>);

#[cfg(test)]
impl TableVisitor for Names {
    fn visit<K: redb::Key + 'static, V: redb::Value + 'static>(
        &mut self,
        def: TableDefinition<K, V>,
    ) -> Result<(), StoreError> {
        self.0.push(def.name().to_string());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::ReadableDatabase;

    /// Every table a store creates is in the list, so none is left out of a backup.
    #[test]
    fn caches_of_older_layouts_are_dropped_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.redb");
        {
            let store = crate::store::Store::open(&path, false).unwrap();
            let txn = store.db.begin_write().unwrap();
            {
                let old: TableDefinition<(&str, u32), &[u8]> =
                    TableDefinition::new("stats_by_kind");
                let mut t = txn.open_table(old).unwrap();
                t.insert(("91110108MA01ABCD2X", 202611), [1u8, 2, 3].as_slice())
                    .unwrap();
            }
            txn.commit().unwrap();
        }
        let store = crate::store::Store::open(&path, false).unwrap();
        let txn = store.db.begin_read().unwrap();
        let names: Vec<String> = txn
            .list_tables()
            .unwrap()
            .map(|t| t.name().to_string())
            .collect();
        assert!(!names.iter().any(|n| n == "stats_by_kind"), "{names:?}");
        assert!(names.iter().any(|n| n == STATS.name()));
    }

    #[test]
    fn the_list_names_every_table_of_a_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("f.redb"), false).unwrap();
        let txn = store.db.begin_read().unwrap();
        let mut real: Vec<String> = txn
            .list_tables()
            .unwrap()
            .map(|t| t.name().to_string())
            .collect();
        let mut names = Names(Vec::new());
        each_table(&mut names).unwrap();
        real.sort();
        names.0.sort();
        assert_eq!(real, names.0);
    }
}
