//! Backup files: a whole store, copied from one read snapshot, in one file with a manifest.
//!
//! Layout: the 16-byte magic `FAPIAO-BACKUP\0\0\0`, the manifest's length (u32, little-endian),
//! the manifest (JSON), then the copied redb file. The manifest names the format version,
//! the schema version, the audit head at the snapshot, the rows per table, and the length and
//! SHA-256 of the redb part; nothing is read from a backup whose checksum does not match.
//!
//! A backup is written under a `.partial` name and renamed into place once complete and
//! flushed, so a crash (even `kill -9`) leaves no file under the final name, and a `.partial`
//! file has no valid checksum anyway. Training snapshots are backup files too.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};
use redb::{Database, ReadableDatabase};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::copy::{self, Copy, Count};
use super::prelude::*;
use super::tables;
use super::{Reader, Store, StoreError, SCHEMA_VERSION};
use crate::domain::audit::chain;

/// The first bytes of every backup file.
pub const MAGIC: &[u8; 16] = b"FAPIAO-BACKUP\0\0\0";
/// The backup format written by this binary; a newer one is refused.
pub const FORMAT: u32 = 1;
/// The largest manifest read (a manifest is a few kilobytes).
const MAX_MANIFEST: u32 = 1 << 20;

/// The audit head: the newest entry's sequence number and chain hash (hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditHead {
    pub seq: u64,
    pub hash: String,
}

impl AuditHead {
    pub fn new(seq: u64, hash: &chain::Hash) -> AuditHead {
        AuditHead {
            seq,
            hash: chain::hex(hash),
        }
    }
}

/// What a backup file says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub schema_version: u32,
    /// The version of fapiao that wrote it.
    pub written_by: String,
    pub created_at: DateTime<FixedOffset>,
    pub audit_head: AuditHead,
    /// Rows per table.
    pub counts: BTreeMap<String, u64>,
    /// Length of the store part in bytes.
    pub bytes: u64,
    /// SHA-256 (hex) of the store part.
    pub sha256: String,
}

/// Why a backup file cannot be used. The messages are for the person restoring.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("无法读取备份文件 {path}：{source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0} 不是 fapiao 备份文件")]
    NotABackup(String),
    #[error(
        "备份文件的格式版本（{found}）比本程序支持的版本（{supported}）新，请升级 fapiao 后再恢复"
    )]
    TooNew { found: u32, supported: u32 },
    #[error(
        "备份文件的数据版本（{found}）比本程序支持的版本（{supported}）新，请升级 fapiao 后再恢复"
    )]
    SchemaTooNew { found: u32, supported: u32 },
    #[error("备份文件不完整或已损坏：{0}")]
    Damaged(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A read-only window onto part of a file: a redb backend for the store inside a backup (or
/// a whole data file, from offset 0). Writes fail: whatever opens it cannot change the file.
#[derive(Debug)]
pub struct Slice {
    file: File,
    offset: u64,
    len: u64,
}

impl Slice {
    /// The file from `offset` to its end.
    pub fn new(file: File, offset: u64) -> std::io::Result<Slice> {
        let total = file.metadata()?.len();
        Ok(Slice {
            file,
            offset,
            len: total.saturating_sub(offset),
        })
    }
}

impl redb::StorageBackend for Slice {
    fn len(&self) -> Result<u64, std::io::Error> {
        Ok(self.len)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        self.file.read_exact_at(out, self.offset + offset)
    }

    fn set_len(&self, _len: u64) -> Result<(), std::io::Error> {
        Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "read-only",
        ))
    }

    fn sync_data(&self) -> Result<(), std::io::Error> {
        Ok(())
    }

    fn write(&self, _offset: u64, _data: &[u8]) -> Result<(), std::io::Error> {
        Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "read-only",
        ))
    }
}

/// Reads and checks a backup file: magic, versions, length and checksum of the store part.
/// Returns the manifest and a window onto the store part.
pub fn open(path: &Path) -> Result<(Manifest, Slice), BackupError> {
    let mut file = File::open(path).map_err(io(path))?;
    let mut magic = [0u8; 16];
    if file.read_exact(&mut magic).is_err() || &magic != MAGIC {
        return Err(BackupError::NotABackup(path.display().to_string()));
    }
    let mut len = [0u8; 4];
    file.read_exact(&mut len)
        .map_err(|_| BackupError::Damaged("清单缺失".into()))?;
    let len = u32::from_le_bytes(len);
    if len > MAX_MANIFEST {
        return Err(BackupError::Damaged("清单长度不正确".into()));
    }
    let mut text = vec![0u8; len as usize];
    file.read_exact(&mut text)
        .map_err(|_| BackupError::Damaged("清单不完整".into()))?;
    // The format version first, so that a newer manifest is refused for what it is.
    #[derive(Deserialize)]
    struct Version {
        format: u32,
    }
    let v: Version = serde_json::from_slice(&text)
        .map_err(|e| BackupError::Damaged(format!("清单无法解析（{e}）")))?;
    if v.format > FORMAT {
        return Err(BackupError::TooNew {
            found: v.format,
            supported: FORMAT,
        });
    }
    let m: Manifest = serde_json::from_slice(&text)
        .map_err(|e| BackupError::Damaged(format!("清单无法解析（{e}）")))?;
    if m.schema_version > SCHEMA_VERSION {
        return Err(BackupError::SchemaTooNew {
            found: m.schema_version,
            supported: SCHEMA_VERSION,
        });
    }
    let offset = 16 + 4 + u64::from(len);
    let total = file.metadata().map_err(io(path))?.len();
    if total.saturating_sub(offset) != m.bytes {
        return Err(BackupError::Damaged(format!(
            "数据部分应为 {} 字节，实际为 {} 字节",
            m.bytes,
            total.saturating_sub(offset)
        )));
    }
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let sum: [u8; 32] = hasher.finalize().into();
    if chain::hex(&sum) != m.sha256 {
        return Err(BackupError::Damaged("校验和不符".into()));
    }
    let slice = Slice::new(file, offset).map_err(io(path))?;
    Ok((m, slice))
}

/// Copies the store part of a checked backup to `to` (a new data file), flushed to disk.
pub fn extract(slice: &Slice, to: &Path) -> Result<(), BackupError> {
    let mut out = File::create(to).map_err(io(to))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0u64;
    while at < slice.len {
        let n = usize::try_from((slice.len - at).min(buf.len() as u64)).unwrap_or(buf.len());
        slice
            .file
            .read_exact_at(&mut buf[..n], slice.offset + at)
            .map_err(io(to))?;
        out.write_all(&buf[..n]).map_err(io(to))?;
        at += n as u64;
    }
    out.sync_all().map_err(io(to))?;
    Ok(())
}

/// The `.partial` name a file is written under before it is complete.
pub fn partial_name(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

impl Store {
    /// Writes a backup of the whole store to `dest` from one read snapshot: writers go on
    /// while it is copied. `progress` is told each table as it is done (rows so far, rows in
    /// all). Sessions and login counters are not backed up.
    pub fn backup_to(
        &self,
        dest: &Path,
        created_at: DateTime<FixedOffset>,
        progress: &dyn Fn(u64, u64),
    ) -> Result<Manifest, BackupError> {
        write_backup(&self.db, dest, created_at, progress)
    }
}

/// A backup of the data file at `source` (a stopped store), opened read-only: the file is
/// not changed, and a backup killed half-way leaves it as it was.
pub fn backup_file(
    source: &Path,
    dest: &Path,
    created_at: DateTime<FixedOffset>,
    progress: &dyn Fn(u64, u64),
) -> Result<Manifest, BackupError> {
    let db = redb::ReadOnlyDatabase::open(source).map_err(|source_err| {
        BackupError::Store(StoreError::Open {
            path: source.display().to_string(),
            source: source_err,
        })
    })?;
    write_backup(&db, dest, created_at, progress)
}

fn write_backup(
    db: &impl ReadableDatabase,
    dest: &Path,
    created_at: DateTime<FixedOffset>,
    progress: &dyn Fn(u64, u64),
) -> Result<Manifest, BackupError> {
    let txn = db.begin_read().map_err(StoreError::from)?;
    let mut count = Count {
        txn: &txn,
        counts: BTreeMap::new(),
    };
    copy::each_table(&mut count)?;
    let mut counts = count.counts;
    for name in tables::EPHEMERAL {
        counts.insert((*name).into(), 0);
    }
    let total: u64 = counts.values().sum();
    let reader = Reader::new(txn);
    let (seq, hash) = reader
        .audit_head()
        .map_err(|e| StoreError::Corrupt(e.message.to_string()))?;
    let txn = reader.into_txn();

    let db_path = partial_name(&dest.with_extension("store"));
    let part = partial_name(dest);
    let _ = std::fs::remove_file(&db_path);
    {
        let db = Database::builder()
            .create(&db_path)
            .map_err(|source| StoreError::Open {
                path: db_path.display().to_string(),
                source,
            })?;
        let w = db.begin_write().map_err(StoreError::from)?;
        let mut done = 0u64;
        let mut c = ProgressCopy {
            inner: Copy {
                from: &txn,
                to: &w,
                skip: tables::EPHEMERAL,
                counts: BTreeMap::new(),
            },
            done: &mut done,
            counts: &counts,
            total,
            progress,
        };
        copy::each_table(&mut c)?;
        w.commit().map_err(StoreError::from)?;
    }
    drop(txn);

    let result = (|| {
        let mut src = File::open(&db_path).map_err(io(&db_path))?;
        let bytes = src.metadata().map_err(io(&db_path))?.len();
        let mut hasher = Sha256::new();
        std::io::copy(&mut src, &mut HashWriter(&mut hasher)).map_err(io(&db_path))?;
        let sum: [u8; 32] = hasher.finalize().into();
        let manifest = Manifest {
            format: FORMAT,
            schema_version: SCHEMA_VERSION,
            written_by: env!("CARGO_PKG_VERSION").to_string(),
            created_at,
            audit_head: AuditHead::new(seq, &hash),
            counts,
            bytes,
            sha256: chain::hex(&sum),
        };
        let text = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| BackupError::Damaged(e.to_string()))?;
        let mut out = File::create(&part).map_err(io(&part))?;
        out.write_all(MAGIC).map_err(io(&part))?;
        out.write_all(&(text.len() as u32).to_le_bytes())
            .map_err(io(&part))?;
        out.write_all(&text).map_err(io(&part))?;
        src.seek(SeekFrom::Start(0)).map_err(io(&db_path))?;
        if super::failpoint("backup_half") {
            // Crash test: die (no unwinding, no cleanup) with half the store written.
            let mut half = (&mut src).take(bytes / 2);
            std::io::copy(&mut half, &mut out).map_err(io(&part))?;
            let _ = out.sync_all();
            std::process::abort();
        }
        std::io::copy(&mut src, &mut out).map_err(io(&part))?;
        out.sync_all().map_err(io(&part))?;
        std::fs::rename(&part, dest).map_err(io(dest))?;
        if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(manifest)
    })();
    let _ = std::fs::remove_file(&db_path);
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    result
}

struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// [`Copy`] that reports progress after each table.
struct ProgressCopy<'a, 'b> {
    inner: Copy<'a>,
    done: &'b mut u64,
    counts: &'b BTreeMap<String, u64>,
    total: u64,
    progress: &'b dyn Fn(u64, u64),
}

impl copy::TableVisitor for ProgressCopy<'_, '_> {
    fn visit<K: redb::Key + 'static, V: redb::Value + 'static>(
        &mut self,
        def: redb::TableDefinition<K, V>,
    ) -> Result<(), StoreError> {
        use redb::TableHandle;
        self.inner.visit(def)?;
        *self.done += self.counts.get(def.name()).copied().unwrap_or(0);
        (self.progress)(*self.done, self.total);
        Ok(())
    }
}

impl Store {
    /// Replaces every table of the live store with those of the store inside a checked
    /// backup (a training snapshot), in one write transaction, and appends the audit entry
    /// `action` on `target` after the restored log (its chain continues from the restored
    /// head). Sessions and login counters start empty. The invoice change counter moves past
    /// both the live and the restored one, and the file gets a new lineage (see
    /// `tables::index_journal`), so the index sees a change and is rebuilt by the caller
    /// ([`crate::index`] is not told of restored invoices one by one).
    pub fn replace_with(
        &self,
        source: Slice,
        who: &super::Who,
        action: &str,
        target: &str,
        detail: String,
    ) -> crate::error::AppResult<()> {
        use super::tables::settings::{decode_u64, INVOICE_SEQ};
        use crate::error::{AppError, Code};
        use redb::ReadableTable;
        if self.read_only {
            return Err(AppError::new(Code::ReadOnly));
        }
        let ro = redb::Builder::new()
            .open_read_only_with_backend(source)
            .map_err(|e| AppError::internal(e.to_string()))?;
        let from = ro.begin_read()?;
        self.write_inner(who, true, false, redb::Durability::Immediate, |tx| {
            let seq_of = |v: Option<redb::AccessGuard<'_, &[u8]>>| v.map(|v| decode_u64(v.value()));
            let live = seq_of(tx.txn.open_table(tables::META)?.get(INVOICE_SEQ)?).unwrap_or(0);
            copy::each_table(&mut copy::Clear {
                txn: &tx.txn,
                keep: &[],
            })
            .map_err(|e| AppError::internal(e.to_string()))?;
            // The snapshot's index journal describes another history: not copied.
            let mut skip = tables::EPHEMERAL.to_vec();
            skip.push(redb::TableHandle::name(&tables::INDEX_JOURNAL));
            copy::each_table(&mut Copy {
                from: &from,
                to: &tx.txn,
                skip: &skip,
                counts: BTreeMap::new(),
            })
            .map_err(|e| AppError::internal(e.to_string()))?;
            let mut meta = tx.txn.open_table(tables::META)?;
            let restored = seq_of(meta.get(INVOICE_SEQ)?).unwrap_or(0);
            let next = live.max(restored) + 1;
            meta.insert(INVOICE_SEQ, next.to_le_bytes().as_slice())?;
            drop(meta);
            // A new history begins: no index journalled before it may be replayed.
            tables::index_journal::new_lineage(&tx.txn)?;
            tx.audit(action, target, detail);
            Ok(())
        })?;
        // Every invoice may differ now (the commit lists none as changed).
        self.rows.forget_all();
        Ok(())
    }
}

/// Reads only the manifest of a backup file (for listings; [`open`] checks the content).
pub fn manifest(path: &Path) -> Result<Manifest, BackupError> {
    let mut file = File::open(path).map_err(io(path))?;
    let mut head = [0u8; 20];
    if file.read_exact(&mut head).is_err() || &head[..16] != MAGIC {
        return Err(BackupError::NotABackup(path.display().to_string()));
    }
    let len = u32::from_le_bytes([head[16], head[17], head[18], head[19]]);
    if len > MAX_MANIFEST {
        return Err(BackupError::Damaged("清单长度不正确".into()));
    }
    let mut text = vec![0u8; len as usize];
    file.read_exact(&mut text)
        .map_err(|_| BackupError::Damaged("清单不完整".into()))?;
    serde_json::from_slice(&text).map_err(|e| BackupError::Damaged(format!("清单无法解析（{e}）")))
}
