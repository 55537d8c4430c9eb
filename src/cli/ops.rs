//! Operations commands: `backup`, `restore`, `verify`, `audit` (serve a backup file as a
//! read-only replica) and `config check`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::config::Settings;
use crate::service::office::verify;
use crate::service::{App, StartError};
use crate::store::backup;
use crate::store::Store;

fn fail(msg: impl Into<String>) -> StartError {
    StartError::Other(msg.into())
}

fn settings_with(config: Option<&Path>, data: Option<PathBuf>) -> Result<Settings, StartError> {
    let mut settings = Settings::load(config)?;
    if let Some(d) = data {
        settings.data_dir = d;
    }
    Ok(settings)
}

fn progress_bar(what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} 行 ({eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

/// `fapiao backup`: of a stopped store (`--data`), or asking a running server (`--url` with
/// an administrator's session token) and downloading the file it wrote.
pub struct BackupArgs {
    pub config: Option<PathBuf>,
    pub data: Option<PathBuf>,
    pub url: Option<String>,
    pub token: Option<String>,
    pub ca: Option<PathBuf>,
    pub to: PathBuf,
}

pub fn backup(a: BackupArgs) -> Result<(), StartError> {
    if a.to.exists() {
        return Err(fail(format!("{} 已存在，不会覆盖", a.to.display())));
    }
    if let Some(url) = a.url {
        return backup_remote(&url, a.token.as_deref(), a.ca.as_deref(), &a.to);
    }
    let settings = settings_with(a.config.as_deref(), a.data)?;
    let db = settings.db_path();
    if !db.exists() {
        return Err(fail(format!("数据文件 {} 不存在", db.display())));
    }
    let tz = settings.tz()?;
    let now = chrono::DateTime::from_timestamp(
        i64::try_from(crate::service::Clock::wall_unix()).unwrap_or(0),
        0,
    )
    .unwrap_or_default()
    .with_timezone(&tz);
    let bar = progress_bar("正在备份");
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let m = match backup::backup_file(&db, &a.to, now, &progress) {
        // A file not closed cleanly (the server was killed): open it as the server would,
        // which repairs it, then back up. Nobody else holds it (that is refused above).
        Err(backup::BackupError::Store(crate::store::StoreError::Open {
            source: redb::DatabaseError::RepairAborted,
            ..
        })) => {
            println!("数据文件 {} 上次未正常关闭，已自动修复后备份。", db.display());
            let store = Store::open(&db, false)?;
            store.backup_to(&a.to, now, &progress)
        }
        other => other,
    }
    .map_err(|e| match e {
        backup::BackupError::Store(crate::store::StoreError::Open {
            source: redb::DatabaseError::DatabaseAlreadyOpen,
            ..
        }) => fail(format!(
            "数据文件 {} 正由运行中的 fapiao 服务使用：请用 --url 和管理员令牌请运行中的服务备份，或在控制台备份",
            db.display()
        )),
        backup::BackupError::Store(crate::store::StoreError::Open {
            source: redb::DatabaseError::RepairAborted,
            ..
        }) => fail(format!(
            "数据文件 {} 上次未正常关闭：请先启动一次服务（会自动修复）再备份",
            db.display()
        )),
        e => fail(e.to_string()),
    })?;
    bar.finish_and_clear();
    println!(
        "已备份到 {}：{} 字节，SHA-256 {}，审计记录第 {} 条（哈希 {}）。",
        a.to.display(),
        m.bytes,
        m.sha256,
        m.audit_head.seq,
        m.audit_head.hash
    );
    Ok(())
}

fn backup_remote(
    url: &str,
    token: Option<&str>,
    ca: Option<&Path>,
    to: &Path,
) -> Result<(), StartError> {
    let token = token.ok_or_else(|| fail("请用 --token 给出管理员的会话令牌"))?;
    let base = url.trim_end_matches('/');
    let long = Duration::from_secs(3600);
    let (status, body) = super::health::exchange(
        "POST",
        &format!("{base}/api/v1/office/backups"),
        ca,
        Some(token),
        long,
    )?;
    if super::health::code(&status) != Some(201) {
        return Err(fail(format!(
            "服务器未能备份（{status}）：{}",
            String::from_utf8_lossy(&body)
        )));
    }
    let info: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| fail(format!("回应无法解析：{e}")))?;
    let file = info["file"]
        .as_str()
        .ok_or_else(|| fail("回应中没有备份文件名"))?;
    let (status, bytes) = super::health::exchange(
        "GET",
        &format!("{base}/api/v1/office/backups/{file}"),
        ca,
        Some(token),
        long,
    )?;
    if super::health::code(&status) != Some(200) {
        return Err(fail(format!("下载备份失败（{status}）")));
    }
    let part = backup::partial_name(to);
    std::fs::write(&part, &bytes).map_err(|e| fail(format!("{}：{e}", part.display())))?;
    // Checked before it takes its name: a download cut short is never a backup.
    match backup::open(&part) {
        Ok(_) => {}
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            return Err(fail(format!("下载的备份无效：{e}")));
        }
    }
    std::fs::rename(&part, to).map_err(|e| fail(format!("{}：{e}", to.display())))?;
    println!(
        "已备份到 {}：{} 字节，SHA-256 {}，审计记录第 {} 条（哈希 {}）。",
        to.display(),
        bytes.len(),
        info["sha256"].as_str().unwrap_or(""),
        info["audit_head"]["seq"],
        info["audit_head"]["hash"].as_str().unwrap_or("")
    );
    Ok(())
}

/// `fapiao restore FILE --data DIR`: checks the whole file before touching anything, puts
/// the store in place, rebuilds the index and runs the integrity check.
pub fn restore(
    config: Option<PathBuf>,
    file: &Path,
    data: PathBuf,
    force: bool,
) -> Result<(), StartError> {
    let (m, slice) = backup::open(file).map_err(|e| fail(e.to_string()))?;
    let mut settings = settings_with(config.as_deref(), Some(data.clone()))?;
    settings.read_only = false;
    let db = settings.db_path();
    let non_empty = std::fs::read_dir(&data)
        .map(|mut d| d.next().is_some())
        .unwrap_or(false);
    if non_empty && !force {
        return Err(fail(format!(
            "数据目录 {} 不是空的：恢复会替换其中的数据。确认要替换请加 --force",
            data.display()
        )));
    }
    if db.exists() {
        // A running server holds its file: never restore under it.
        match redb::Database::open(&db) {
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                return Err(fail(format!(
                    "数据文件 {} 正由运行中的 fapiao 服务使用：请先停止服务再恢复",
                    db.display()
                )))
            }
            Ok(d) => drop(d),
            // A damaged file is replaced.
            Err(_) => {}
        }
    }
    std::fs::create_dir_all(&data).map_err(|e| fail(format!("{}：{e}", data.display())))?;
    let part = backup::partial_name(&db);
    backup::extract(&slice, &part).map_err(|e| fail(e.to_string()))?;
    std::fs::rename(&part, &db).map_err(|e| fail(format!("{}：{e}", db.display())))?;
    let index = data.join("index");
    if index.exists() {
        std::fs::remove_dir_all(&index).map_err(|e| fail(format!("{}：{e}", index.display())))?;
    }
    // The restored file's history branches off the original's here.
    Store::open(&db, false)?
        .new_lineage()
        .map_err(|e| fail(e.message.to_string()))?;
    println!(
        "已恢复 {}（{} 的备份，审计记录第 {} 条），正在重建索引并校验……",
        file.display(),
        m.created_at.format("%Y-%m-%d %H:%M:%S"),
        m.audit_head.seq
    );
    let app = App::open(settings)?;
    report(&app)
}

/// Prints an integrity report; an error (exit status 1) names the first problem.
fn report(app: &App) -> Result<(), StartError> {
    let r = verify::run(app).map_err(|e| fail(e.message.to_string()))?;
    match (&r.audit_head, &r.audit_break) {
        (Some(h), _) => println!("审计日志哈希链完整：共 {} 条，链头哈希 {}", h.seq, h.hash),
        (None, Some(b)) => println!("审计日志哈希链断裂：{b}"),
        _ => {}
    }
    println!(
        "抵扣统计：核对 {} 份，{} 份与发票记录不符",
        r.statistics_checked,
        r.statistics_differ.len()
    );
    for d in &r.statistics_differ {
        println!("  {d}");
    }
    println!(
        "已确认发票：核对 {} 张，{} 张缺少确认批次或确认记录",
        r.confirmations_checked,
        r.confirmations_unbacked.len()
    );
    for d in &r.confirmations_unbacked {
        println!("  {d}");
    }
    match r.first_problem() {
        None => {
            println!("校验通过。");
            Ok(())
        }
        Some(p) => Err(fail(format!("校验未通过：{p}"))),
    }
}

/// A private working directory for a replica's derived files (its index), removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new() -> Result<Scratch, StartError> {
        let mut bytes = [0u8; 8];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
        let dir = std::env::temp_dir().join(format!("fapiao-replica-{}", hex::encode(bytes)));
        std::fs::create_dir_all(&dir).map_err(|e| fail(format!("{}：{e}", dir.display())))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A read-only replica of a backup file (checked first) or of a data directory's file, with
/// its index in `work`.
fn replica(
    config: Option<&Path>,
    file: Option<&Path>,
    data: Option<PathBuf>,
    work: &Path,
) -> Result<Arc<App>, StartError> {
    let mut settings = settings_with(config, data)?;
    let store = match file {
        Some(f) => {
            let (_, slice) = backup::open(f).map_err(|e| fail(e.to_string()))?;
            Store::replica_of(slice, f.display().to_string())?
        }
        None => {
            let db = settings.db_path();
            if !db.exists() {
                return Err(fail(format!("数据文件 {} 不存在", db.display())));
            }
            Store::open_replica(&db)?
        }
    };
    settings.data_dir = work.to_path_buf();
    settings.read_only = true;
    App::with_store(settings, store)
}

/// `fapiao verify --data DIR` or `fapiao verify FILE`: reads the store without changing it.
pub fn verify_command(
    config: Option<PathBuf>,
    data: Option<PathBuf>,
    file: Option<PathBuf>,
) -> Result<(), StartError> {
    let scratch = Scratch::new()?;
    let app = replica(config.as_deref(), file.as_deref(), data, &scratch.0)?;
    report(&app)
}

/// `fapiao audit FILE`: serves a backup file as a read-only replica.
pub fn audit(
    config: Option<PathBuf>,
    file: PathBuf,
    listen: Option<String>,
    http: bool,
    data: Option<PathBuf>,
) -> Result<(), StartError> {
    let scratch = Scratch::new()?;
    let work = data.unwrap_or_else(|| scratch.0.clone());
    let mut app = replica(config.as_deref(), Some(&file), None, &work)?;
    if listen.is_some() || http {
        let a = Arc::get_mut(&mut app).ok_or_else(|| fail("replica in use"))?;
        if let Some(l) = listen {
            a.settings.listen = l;
        }
        a.settings.http |= http;
        a.settings.validate()?;
    }
    crate::server::telemetry::init_logging(&app.settings.log_format);
    println!(
        "{}",
        app.replica_banner().unwrap_or_else(|| "只读副本".into())
    );
    crate::server::run_until_stopped(app, |url| {
        println!("只读副本已启动：{url}");
        tracing::info!(%url, "fapiao audit replica serving");
    })
}

/// `fapiao config check`: loads and checks the configuration as `serve` would, and says
/// what it found.
pub fn config_check(config: Option<PathBuf>) -> Result<(), StartError> {
    let settings = Settings::load(config.as_deref())?;
    settings.validate()?;
    let db = settings.db_path();
    println!("配置有效。");
    println!("  监听地址：{}", settings.listen);
    println!(
        "  协议：{}",
        if settings.http {
            "HTTP（仅限本机脚本）"
        } else {
            "HTTPS"
        }
    );
    println!(
        "  数据文件：{}（{}）",
        db.display(),
        if db.exists() {
            "已存在"
        } else {
            "首次启动时创建"
        }
    );
    println!(
        "  培训模式：{}",
        if settings.training { "是" } else { "否" }
    );
    println!(
        "  只读副本：{}",
        if settings.read_only { "是" } else { "否" }
    );
    let every = settings.backup.interval_secs()?;
    println!(
        "  定时备份：{}",
        match every {
            Some(s) => format!(
                "每 {} 分钟，保留 {} 份，写入 {}",
                s / 60,
                settings.backup.keep,
                settings.backup_dir().display()
            ),
            None => "未开启".into(),
        }
    );
    println!(
        "  运行指标 /metrics：{}",
        if settings.metrics_token.is_some() {
            "凭令牌读取"
        } else {
            "仅限本机"
        }
    );
    for (what, path) in [
        ("服务器证书", settings.tls.cert.as_ref()),
        ("服务器私钥", settings.tls.key.as_ref()),
        ("客户端 CA", settings.tls.client_ca.as_ref()),
    ] {
        if let Some(p) = path {
            if !p.exists() {
                return Err(fail(format!("{what} {} 不存在", p.display())));
            }
        }
    }
    Ok(())
}
