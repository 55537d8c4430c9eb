//! Backups (administrators) and training snapshots (administrators; restoring in training
//! mode only).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::router::Routes;
use super::super::schema::Binary;
use crate::error::AppResult;
use crate::http::extract::{Acting, JsonObject, StaffUser};
use crate::service::office::backups::{self, BackupInfo};
use crate::service::office::snapshots::{self, SnapshotInfo};

pub(super) fn routes(r: &mut Routes<'_>) {
    r.post("/office/backups", create_backup)
        .get("/office/backups", list_backups)
        .get("/office/backups/{file}", download_backup)
        .post("/office/snapshots", create_snapshot)
        .get("/office/snapshots", list_snapshots)
        .post("/office/snapshots/{name}/restore", restore_snapshot);
}

#[derive(Serialize, ToSchema)]
struct BackupList {
    total: usize,
    items: Vec<BackupInfo>,
}

/// A backup now: a consistent copy of the whole store from one read snapshot, while the
/// server keeps serving.
#[utoipa::path(
    post,
    path = "/api/v1/office/backups",
    tag = "office",
    summary = "立即备份",
    description = "管理员。备份写入配置的备份目录（默认数据目录下的 backups），按 `[backup] keep` 保留。",
    responses((status = 201, description = "备份完成", body = BackupInfo))
)]
async fn create_backup(a: Acting<StaffUser>) -> AppResult<HttpResponse> {
    let info = a.run(|app, who, _| backups::create(app, who)).await?;
    Ok(HttpResponse::Created().json(info))
}

#[utoipa::path(
    get,
    path = "/api/v1/office/backups",
    tag = "office",
    summary = "备份列表",
    responses((status = 200, description = "备份目录中的备份，新的在前", body = BackupList))
)]
async fn list_backups(a: Acting<StaffUser>) -> AppResult<HttpResponse> {
    let items = a.run(|app, _, _| backups::list(app)).await?;
    Ok(HttpResponse::Ok().json(BackupList {
        total: items.len(),
        items,
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/office/backups/{file}",
    tag = "office",
    summary = "下载备份",
    params(("file" = String, Path, description = "备份文件名", example = "fapiao-20261201-020000.fapiao-backup")),
    responses((status = 200, description = "备份文件", body = Binary, content_type = "application/octet-stream"))
)]
async fn download_backup(a: Acting<StaffUser>, file: web::Path<String>) -> AppResult<HttpResponse> {
    let file = file.into_inner();
    let name = file.clone();
    let path = a.run(move |app, _, _| backups::path_of(app, &name)).await?;
    let internal = |e: std::io::Error| crate::error::AppError::internal(e.to_string());
    let handle = std::fs::File::open(&path).map_err(internal)?;
    let len = handle.metadata().map_err(internal)?.len();
    // Streamed a megabyte at a time (a backup may be larger than the memory to spare), with
    // its length, so that a download cut short is seen as such.
    let chunks = futures_util::stream::unfold(Some(handle), |state| async move {
        let mut file = state?;
        let read = web::block(move || {
            use std::io::Read;
            let mut buf = vec![0u8; 1 << 20];
            let n = file.read(&mut buf)?;
            buf.truncate(n);
            Ok::<_, std::io::Error>((file, buf))
        })
        .await;
        match read {
            Ok(Ok((_, buf))) if buf.is_empty() => None,
            Ok(Ok((file, buf))) => Some((Ok(web::Bytes::from(buf)), Some(file))),
            Ok(Err(e)) => Some((Err(e), None)),
            Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file}\""),
        ))
        .no_chunking(len)
        .streaming(chunks))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SnapshotBody {
    /// 快照名称：1至40个汉字、字母、数字、连字符或下划线。
    #[schema(example = "第一课开始前")]
    name: String,
}

#[derive(Serialize, ToSchema)]
struct SnapshotList {
    total: usize,
    items: Vec<SnapshotInfo>,
}

#[utoipa::path(
    post,
    path = "/api/v1/office/snapshots",
    tag = "office",
    summary = "保存培训快照",
    description = "管理员。保存整个数据集的当前状态；同名快照已存在时 409 `duplicate`。",
    request_body = SnapshotBody,
    responses((status = 201, description = "已保存", body = SnapshotInfo))
)]
async fn create_snapshot(
    a: Acting<StaffUser>,
    body: JsonObject<SnapshotBody>,
) -> AppResult<HttpResponse> {
    let name = body.into_inner().name;
    let info = a
        .run(move |app, who, _| snapshots::create(app, who, &name))
        .await?;
    Ok(HttpResponse::Created().json(info))
}

#[utoipa::path(
    get,
    path = "/api/v1/office/snapshots",
    tag = "office",
    summary = "培训快照列表",
    responses((status = 200, description = "快照，新的在前", body = SnapshotList))
)]
async fn list_snapshots(a: Acting<StaffUser>) -> AppResult<HttpResponse> {
    let items = a.run(|app, _, _| snapshots::list(app)).await?;
    Ok(HttpResponse::Ok().json(SnapshotList {
        total: items.len(),
        items,
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/office/snapshots/{name}/restore",
    tag = "office",
    summary = "恢复培训快照（仅培训模式）",
    description = "管理员。用快照替换全部数据；所有登录会话结束，需重新登录。培训模式以外 403 `training_only`。",
    params(("name" = String, Path, description = "快照名称", example = "上课前")),
    responses((status = 200, description = "已恢复", body = SnapshotInfo))
)]
async fn restore_snapshot(
    a: Acting<StaffUser>,
    name: web::Path<String>,
) -> AppResult<HttpResponse> {
    let name = name.into_inner();
    let info = a
        .run(move |app, who, _| snapshots::restore(app, who, &name))
        .await?;
    Ok(HttpResponse::Ok().json(info))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_backup,
    list_backups,
    download_backup,
    create_snapshot,
    list_snapshots,
    restore_snapshot
))]
pub(super) struct Doc;
