//! Online backups (S-X3): a consistent copy of the whole store, taken from one read snapshot
//! while the server keeps serving, written as one file with a manifest into the backup
//! directory; on request (administrators, `fapiao backup`) or on the `[backup]` schedule,
//! with retention.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use crate::error::{AppError, AppResult, Code};
use crate::service::{App, Who};
use crate::store::backup::{self, AuditHead, BackupError, Manifest};

/// The file name ending of backups (and training snapshots).
pub const EXTENSION: &str = "fapiao-backup";

/// One backup file, as the API lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BackupInfo {
    /// File name in the backup directory (download it from `/api/v1/office/backups/{file}`).
    pub file: String,
    /// Size of the file in bytes.
    pub bytes: u64,
    /// SHA-256 (hex) of the store inside it (the manifest's checksum).
    pub sha256: String,
    pub audit_head: AuditHead,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<FixedOffset>,
}

/// One backup at a time (a second request waits for the first).
static RUNNING: Mutex<()> = Mutex::new(());

/// A backup error as the API answers it.
pub fn backup_error(e: BackupError) -> AppError {
    match e {
        BackupError::Io { .. } => AppError::internal(e.to_string()),
        BackupError::Store(s) => AppError::internal(s.to_string()),
        other => AppError::new(Code::InvalidValue).with_message(other.to_string()),
    }
}

fn info(file: String, path: &Path, m: &Manifest) -> BackupInfo {
    BackupInfo {
        file,
        bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        sha256: m.sha256.clone(),
        audit_head: m.audit_head.clone(),
        created_at: m.created_at,
    }
}

/// Writes a backup of the whole store into `dir` under a name from its time, reporting
/// progress (rows copied, rows in all); then keeps the newest `keep` (0: all).
pub fn write_into(
    app: &App,
    dir: &Path,
    keep: u32,
    at: DateTime<FixedOffset>,
    progress: &dyn Fn(u64, u64),
) -> AppResult<(PathBuf, Manifest)> {
    let _one = RUNNING
        .lock()
        .map_err(|_| AppError::internal("backup lock poisoned"))?;
    std::fs::create_dir_all(dir).map_err(|e| AppError::internal(e.to_string()))?;
    let stem = format!("fapiao-{}", at.format("%Y%m%d-%H%M%S"));
    let mut path = dir.join(format!("{stem}.{EXTENSION}"));
    let mut n = 1;
    while path.exists() {
        n += 1;
        path = dir.join(format!("{stem}-{n}.{EXTENSION}"));
    }
    let manifest = app
        .store
        .backup_to(&path, at, progress)
        .map_err(backup_error)?;
    prune(dir, keep);
    Ok((path, manifest))
}

/// Removes all but the newest `keep` backups of `dir` (by name, which sorts by time), and
/// any `.partial` left by a crash.
fn prune(dir: &Path, keep: u32) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut names: Vec<PathBuf> = Vec::new();
    for e in entries.flatten() {
        let p = e.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(".partial") {
            let _ = std::fs::remove_file(&p);
        } else if name.starts_with("fapiao-") && name.ends_with(EXTENSION) {
            names.push(p);
        }
    }
    if keep == 0 || names.len() <= keep as usize {
        return;
    }
    names.sort();
    let excess = names.len() - keep as usize;
    for p in names.into_iter().take(excess) {
        let _ = std::fs::remove_file(p);
    }
}

/// `POST /api/v1/office/backups`: a backup now, into the configured directory, audited.
pub fn create(app: &App, who: &Who) -> AppResult<BackupInfo> {
    if app.store.is_read_only() {
        return Err(AppError::new(Code::ReadOnly));
    }
    let dir = app.settings.backup_dir();
    let (path, m) = write_into(app, &dir, app.settings.backup.keep, who.wall, &|_, _| {})?;
    let file = file_name(&path);
    app.store.write(who, |tx| {
        tx.audit(
            "backup.create",
            &file,
            format!(
                "audit_head={}; sha256={}; bytes={}",
                m.audit_head.seq, m.sha256, m.bytes
            ),
        );
        Ok(())
    })?;
    Ok(info(file, &path, &m))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string()
}

/// The backups in the directory, newest first (each file's manifest is read, not its
/// checksum: a damaged file shows here and is refused by restore).
pub fn list(app: &App) -> AppResult<Vec<BackupInfo>> {
    let dir = app.settings.backup_dir();
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(out);
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = file_name(&p);
        if !name.ends_with(EXTENSION) {
            continue;
        }
        if let Ok(m) = backup::manifest(&p) {
            out.push(info(name, &p, &m));
        }
    }
    out.sort_by(|a, b| b.file.cmp(&a.file));
    Ok(out)
}

/// The path of backup `file` for download: a plain name of an existing backup in the
/// directory (no path separators), else 404.
pub fn path_of(app: &App, file: &str) -> AppResult<PathBuf> {
    let plain = !file.is_empty()
        && !file.starts_with('.')
        && file
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && file.ends_with(EXTENSION);
    let path = app.settings.backup_dir().join(file);
    if !plain || !path.is_file() {
        return Err(AppError::new(Code::NotFound).with_message("备份文件不存在"));
    }
    Ok(path)
}
