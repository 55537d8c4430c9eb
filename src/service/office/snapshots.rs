//! Training snapshots (S-O5): named copies of the whole dataset — save the state before a
//! class, put it back after. A snapshot is a backup file in `<data>/snapshots/`; restoring
//! one replaces every table in one write transaction (training mode only), ends every
//! session, rebuilds the search index and reloads the clock and the knowledge base.

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use super::backups::{backup_error, EXTENSION};
use crate::error::{AppError, AppResult, Code};
use crate::service::{App, Who};
use crate::store::backup::{self, AuditHead};

/// A saved snapshot.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SnapshotInfo {
    pub name: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<FixedOffset>,
    /// The audit head of the saved state: after a restore the log runs to exactly this entry,
    /// followed by the restore's own entry.
    pub audit_head: AuditHead,
}

/// Snapshot names: 1–40 letters (Chinese too), digits, `-` or `_`.
pub fn parse_name(s: &str) -> AppResult<String> {
    let s = s.trim();
    let n = s.chars().count();
    if (1..=40).contains(&n)
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    {
        Ok(s.to_string())
    } else {
        Err(AppError::invalid(
            "name",
            "快照名称应为1至40个汉字、字母、数字、连字符或下划线",
        ))
    }
}

fn path_of(app: &App, name: &str) -> PathBuf {
    app.settings
        .snapshot_dir()
        .join(format!("{name}.{EXTENSION}"))
}

/// Saves the current state under `name` (an existing name: 409 `duplicate`).
pub fn create(app: &App, who: &Who, name: &str) -> AppResult<SnapshotInfo> {
    let name = parse_name(name)?;
    if app.store.is_read_only() {
        return Err(AppError::new(Code::ReadOnly));
    }
    let dir = app.settings.snapshot_dir();
    std::fs::create_dir_all(&dir).map_err(|e| AppError::internal(e.to_string()))?;
    let path = path_of(app, &name);
    if path.exists() {
        return Err(AppError::new(Code::Duplicate).with_message("同名快照已存在"));
    }
    let m = app
        .store
        .backup_to(&path, who.wall, &|_, _| {})
        .map_err(backup_error)?;
    app.store.write(who, |tx| {
        tx.audit(
            "snapshot.create",
            &name,
            format!("audit_head={}; sha256={}", m.audit_head.seq, m.sha256),
        );
        Ok(())
    })?;
    Ok(SnapshotInfo {
        name,
        created_at: m.created_at,
        audit_head: m.audit_head,
    })
}

/// The saved snapshots, newest first.
pub fn list(app: &App) -> AppResult<Vec<SnapshotInfo>> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(app.settings.snapshot_dir()) else {
        return Ok(out);
    };
    let suffix = format!(".{EXTENSION}");
    for e in entries.flatten() {
        let p = e.path();
        let Some(name) = p
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(&suffix))
        else {
            continue;
        };
        if let Ok(m) = backup::manifest(&p) {
            out.push(SnapshotInfo {
                name: name.to_string(),
                created_at: m.created_at,
                audit_head: m.audit_head,
            });
        }
    }
    out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.name.cmp(&b.name)));
    Ok(out)
}

/// Puts the state saved as `name` back (training mode only): every table is replaced in one
/// transaction; sessions end (everyone logs in again); the index is rebuilt; the training
/// clock and the knowledge base are reloaded from the restored state.
pub fn restore(app: &App, who: &Who, name: &str) -> AppResult<SnapshotInfo> {
    if !app.training() {
        return Err(AppError::new(Code::TrainingOnly).with_message("恢复快照仅在培训模式下可用"));
    }
    let name = parse_name(name)?;
    let path = path_of(app, &name);
    if !path.is_file() {
        return Err(AppError::new(Code::NotFound).with_message("快照不存在"));
    }
    let (m, slice) = backup::open(&path).map_err(backup_error)?;
    app.store.replace_with(
        slice,
        who,
        "snapshot.restore",
        &name,
        format!(
            "audit_head={}; hash={}",
            m.audit_head.seq, m.audit_head.hash
        ),
    )?;
    app.index.catch_up(&app.store)?;
    app.clock.reload(&app.store)?;
    app.interact
        .set_faq(crate::service::interact::faq::current(&app.store)?)?;
    Ok(SnapshotInfo {
        name,
        created_at: m.created_at,
        audit_head: m.audit_head,
    })
}
