//! Command line (clap): `serve`, `demo`, `staff`. Parses flags into settings, starts logging
//! and the server. `--help` on every command.

mod health;
mod ops;
#[cfg(feature = "smartcard")]
mod smartcard;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crate::config::Settings;
use crate::demo::DemoArgs;
use crate::domain::Role;
use crate::service::{self, App, StartError};

#[derive(Debug, Parser)]
#[command(
    name = "fapiao",
    version,
    about = "增值税发票选择确认平台 — VAT invoice selection and confirmation platform, in one binary"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the portal, the office console and the API.
    Serve(ServeArgs),
    /// Create a training dataset (when DIR is empty), turn training mode on and serve.
    Demo(DemoArgs),
    /// Import invoices from the invoicing system (.ndjson/.jsonl or .csv), all or nothing.
    Import {
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Data directory (overrides the configuration).
        #[arg(long)]
        data: Option<PathBuf>,
        /// The file to import.
        file: PathBuf,
    },
    /// Rebuild the invoice index from the store.
    Reindex {
        #[arg(long, short)]
        config: Option<PathBuf>,
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Integrity check: recompute the deduction statistics of every period with certified
    /// invoices from the raw records, compare each with its cache (or the index when none is
    /// cached), and report any difference (exit status 1 when one is found).
    Check {
        #[arg(long, short)]
        config: Option<PathBuf>,
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Manage tax office staff accounts.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// Ask a running server's /healthz (exit status 0 when it answers ok, 1 otherwise).
    Health {
        /// The server's address, e.g. `https://127.0.0.1:8443` (default: the configuration's
        /// listen address and scheme).
        #[arg(long)]
        url: Option<String>,
        /// CA certificate (PEM) that issued the server's certificate (default: the local CA
        /// in the data directory).
        #[arg(long)]
        ca: Option<PathBuf>,
        #[arg(long, short)]
        config: Option<PathBuf>,
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Back the whole store up into one file with a manifest: of a stopped store (`--data`),
    /// or asking a running server (`--url` and an administrator's session `--token`).
    Backup {
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Data directory of a stopped store (overrides the configuration).
        #[arg(long, conflicts_with = "url")]
        data: Option<PathBuf>,
        /// A running server, e.g. `https://127.0.0.1:8443`.
        #[arg(long, requires = "token")]
        url: Option<String>,
        /// An administrator's session token (from `POST /api/v1/office/session`).
        #[arg(long, env = "FAPIAO_BACKUP_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// CA certificate (PEM) of the server's certificate, for `https://`.
        #[arg(long)]
        ca: Option<PathBuf>,
        /// The backup file to write (never overwritten).
        #[arg(long)]
        to: PathBuf,
    },
    /// Restore a backup into a data directory (server stopped): the file is checked first;
    /// the index is rebuilt and the integrity check run after.
    Restore {
        /// The backup file.
        file: PathBuf,
        /// The data directory to restore into.
        #[arg(long)]
        data: PathBuf,
        /// Replace the data in a non-empty directory.
        #[arg(long)]
        force: bool,
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Integrity check of a data directory or a backup file, read-only: the audit log's hash
    /// chain, the deduction statistics, and each confirmed invoice's batch and audit entry
    /// (exit status 1 with the first break named).
    Verify {
        /// A backup file (instead of `--data`).
        file: Option<PathBuf>,
        #[arg(long, conflicts_with = "file")]
        data: Option<PathBuf>,
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Serve a backup file as a read-only audit replica (the file is not changed).
    Audit {
        /// The backup file.
        file: PathBuf,
        #[arg(long, short)]
        config: Option<PathBuf>,
        #[arg(long)]
        listen: Option<String>,
        #[arg(long)]
        http: bool,
        /// Working directory for the replica's index and certificates (default: a temporary
        /// one).
        #[arg(long)]
        work: Option<PathBuf>,
    },
    /// The configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// List smart-card readers (tax certificates on 金税盘/税控盘) seen by PC/SC.
    #[cfg(feature = "smartcard")]
    Readers,
    /// PIV smart cards: list readers and cards, enrol a taxpayer (key generated on the card,
    /// certificate issued by the office), show a card, change its PIN.
    #[cfg(feature = "smartcard")]
    #[command(subcommand)]
    Card(smartcard::CardCommand),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Load and check the configuration as `serve` would (exit status 1 when it is not valid).
    Check {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file (TOML); `FAPIAO_…` environment variables override it.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Listen address (overrides the configuration).
    #[arg(long)]
    pub listen: Option<String>,
    /// Data directory (overrides the configuration).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Serve plain HTTP (for scripts on loopback).
    #[arg(long)]
    pub http: bool,
    /// Serve an audit replica of the data file: opened read-only, never written; logins are
    /// kept in memory; every other write is refused.
    #[arg(long)]
    pub read_only: bool,
}

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Create a staff account (with the server stopped: a running server holds the data file;
    /// use its console then).
    Add {
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Data directory (overrides the configuration).
        #[arg(long)]
        data: Option<PathBuf>,
        /// 3–32 letters, digits, `.`, `_` or `-`.
        #[arg(long)]
        username: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Display name.
        #[arg(long, default_value = "")]
        name: String,
        /// Password (at least 8 characters, not letters or digits only). Or set
        /// FAPIAO_NEW_PASSWORD (read by this command only, not as a setting).
        #[arg(long, env = "FAPIAO_NEW_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

/// A staff role on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    Admin,
    Operator,
    Agent,
    Auditor,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Admin => Role::Admin,
            RoleArg::Operator => Role::Operator,
            RoleArg::Agent => Role::Agent,
            RoleArg::Auditor => Role::Auditor,
        }
    }
}

/// Entry point of the binary.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(a) => serve(a),
        Command::Demo(a) => crate::demo::run(a),
        Command::Staff(c) => staff(c),
        Command::Import { config, data, file } => import(config, data, &file),
        Command::Reindex { config, data } => reindex(config, data),
        Command::Check { config, data } => check(config, data),
        Command::Health {
            url,
            ca,
            config,
            data,
        } => health_command(url, ca, config, data),
        Command::Backup {
            config,
            data,
            url,
            token,
            ca,
            to,
        } => ops::backup(ops::BackupArgs {
            config,
            data,
            url,
            token,
            ca,
            to,
        }),
        Command::Restore {
            file,
            data,
            force,
            config,
        } => ops::restore(config, &file, data, force),
        Command::Verify { file, data, config } => ops::verify_command(config, data, file),
        Command::Audit {
            file,
            config,
            listen,
            http,
            work,
        } => ops::audit(config, file, listen, http, work),
        Command::Config(ConfigCommand::Check { config }) => ops::config_check(config),
        #[cfg(feature = "smartcard")]
        Command::Readers => smartcard::list_readers().map(|readers| {
            if readers.is_empty() {
                println!("未发现读卡器。");
            }
            for (name, present) in readers {
                let card = if present { "已插入" } else { "未插入" };
                println!("{name}\t{card}");
            }
        }),
        #[cfg(feature = "smartcard")]
        Command::Card(c) => smartcard::run(c),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fapiao: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(a: ServeArgs) -> Result<(), StartError> {
    let mut settings = Settings::load(a.config.as_deref())?;
    if let Some(l) = a.listen {
        settings.listen = l;
    }
    if let Some(d) = a.data {
        settings.data_dir = d;
    }
    settings.http |= a.http;
    settings.read_only |= a.read_only;
    settings.validate()?;
    crate::server::telemetry::init_logging(&settings.log_format);
    let app = App::open(settings)?;
    if let Some(b) = app.replica_banner() {
        println!("{b}");
    }
    if no_staff(&app)? {
        let hint = format!(
            "尚无税务人员账号。请停止服务后运行：FAPIAO_NEW_PASSWORD='…' fapiao staff add --data {} --username admin --role admin",
            app.settings.data_dir.display()
        );
        println!("{hint}");
        tracing::warn!("{hint}");
    }
    crate::server::run_until_stopped(app, |url| {
        tracing::info!(%url, "fapiao serving");
    })
}

fn health_command(
    url: Option<String>,
    ca: Option<PathBuf>,
    config: Option<PathBuf>,
    data: Option<PathBuf>,
) -> Result<(), StartError> {
    let mut settings = Settings::load(config.as_deref())?;
    if let Some(d) = data {
        settings.data_dir = d;
    }
    let url = match url {
        Some(u) => u,
        None => health::own_url(&settings)?,
    };
    let ca = ca.or_else(|| {
        let local = settings.certs_dir().join("ca.pem");
        local.exists().then_some(local)
    });
    let status = health::check(&url, ca.as_deref())?;
    println!("{url}：{status}");
    Ok(())
}

/// Whether the store has no staff account at all (a fresh installation).
fn no_staff(app: &App) -> Result<bool, StartError> {
    use crate::store::prelude::*;
    let list = app
        .store
        .read()
        .and_then(|r| r.staff_list())
        .map_err(|e| StartError::Other(e.message.to_string()))?;
    Ok(list.is_empty())
}

fn open_with(config: Option<PathBuf>, data: Option<PathBuf>) -> Result<Arc<App>, StartError> {
    let mut settings = Settings::load(config.as_deref())?;
    if let Some(d) = data {
        settings.data_dir = d;
    }
    crate::server::telemetry::init_logging("pretty");
    App::open(settings)
}

fn import(
    config: Option<PathBuf>,
    data: Option<PathBuf>,
    file: &std::path::Path,
) -> Result<(), StartError> {
    use crate::formats::invoice_file::FileFormat;
    let format = FileFormat::from_file_name(&file.to_string_lossy()).ok_or_else(|| {
        StartError::Other("文件类型不正确：请使用 .ndjson、.jsonl 或 .csv 文件".into())
    })?;
    // The file must be readable before the data directory is opened.
    let size = std::fs::metadata(file)
        .and_then(|m| std::fs::File::open(file).map(|_| m.len()))
        .map_err(|e| StartError::Other(format!("{}: {e}", file.display())))?;
    let app = open_with(config, data)?;
    let who = app.system("cli-import");
    // Streamed in both formats: read twice (check, then import in chunks), never whole. Each
    // pass has its bar over the file's bytes, with the rows counted (hidden when stderr is
    // not a terminal).
    let bar = indicatif::ProgressBar::new(size);
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let pass = std::cell::Cell::new(0u8);
    let style = |verb: &str, rows: &str| {
        indicatif::ProgressStyle::with_template(&format!(
            "{verb} {{wide_bar}} {{bytes}}/{{total_bytes}} {rows} {{msg}} 行（{{bytes_per_sec}}，剩余 {{eta}}）"
        ))
    };
    let result = service::office::invoices::import_stream(
        &app,
        &who,
        format,
        || {
            let p = pass.get() + 1;
            pass.set(p);
            let (verb, rows) = if p == 1 {
                ("检查", "已读")
            } else {
                ("导入", "已写入")
            };
            if let Ok(style) = style(verb, rows) {
                bar.set_style(style);
            }
            bar.reset();
            bar.set_message("0");
            std::fs::File::open(file)
                .map(|f| std::io::BufReader::with_capacity(1 << 20, bar.wrap_read(f)))
        },
        |_, rows| bar.set_message(rows.to_string()),
    );
    bar.finish_and_clear();
    match result {
        Ok(r) => {
            println!(
                "导入完成：新增 {} 张发票，{} 张与已有数据相同未变更。",
                r.imported, r.unchanged
            );
            Ok(())
        }
        Err(e) => {
            eprintln!("{}", e.message);
            if let Some(rows) = e.extra.get("rejected").and_then(|v| v.as_array()) {
                for r in rows.iter().take(50) {
                    eprintln!(
                        "  第{}行：{}",
                        r["line"],
                        r["reason"].as_str().unwrap_or("")
                    );
                }
                if rows.len() > 50 {
                    eprintln!("  ……共{}行有误", rows.len());
                }
            }
            Err(StartError::Other("导入失败，未导入任何发票".into()))
        }
    }
}

fn reindex(config: Option<PathBuf>, data: Option<PathBuf>) -> Result<(), StartError> {
    let app = open_with(config, data)?;
    let started = std::time::Instant::now();
    // The invoices to index, for the bar's length.
    let total = {
        use crate::store::prelude::*;
        app.store
            .read()
            .and_then(|r| r.invoice_count())
            .map_err(|e| StartError::Other(e.to_string()))?
    };
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "重建索引 {wide_bar} {pos}/{len} 张发票（{per_sec}，剩余 {eta}）",
    ) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let n = app
        .index
        .rebuild_counted(&app.store, |n| bar.set_position(n))
        .map_err(|e| StartError::Other(e.to_string()))?;
    bar.finish_and_clear();
    println!(
        "索引已重建：{n} 张发票，用时 {:.1} 秒。",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn check(config: Option<PathBuf>, data: Option<PathBuf>) -> Result<(), StartError> {
    let app = open_with(config, data)?;
    let started = std::time::Instant::now();
    let (n, diffs) = crate::service::office::statistics::check(&app)
        .map_err(|e| StartError::Other(e.to_string()))?;
    for d in &diffs {
        println!(
            "不一致：纳税人 {} 税款所属期 {}：{}",
            d.taxpayer_id, d.period, d.what
        );
    }
    println!(
        "已核对 {n} 份抵扣统计，{} 份不一致，用时 {:.1} 秒。",
        diffs.len(),
        started.elapsed().as_secs_f64()
    );
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(StartError::Other(format!(
            "integrity check failed: {} cached statistics differ from the records",
            diffs.len()
        )))
    }
}

fn staff(c: StaffCommand) -> Result<(), StartError> {
    match c {
        StaffCommand::Add {
            config,
            data,
            username,
            role,
            name,
            password,
        } => {
            // Bad input is refused before any data file is opened or created.
            let username = crate::domain::staff::parse_username(&username)
                .map_err(|e| StartError::Other(e.message))?;
            service::office::staff::check_password_strength("password", &password)
                .map_err(|e| StartError::Other(e.message))?;
            let mut settings = Settings::load(config.as_deref())?;
            if let Some(d) = data {
                settings.data_dir = d;
            }
            let db = settings.db_path();
            if !db.exists() {
                println!("在 {} 新建数据文件。", db.display());
            }
            let app = App::open(settings).map_err(|e| match e {
                StartError::Store(crate::store::StoreError::Open {
                    source: redb::DatabaseError::DatabaseAlreadyOpen,
                    ..
                }) => StartError::Other(format!(
                    "数据文件 {} 正由运行中的 fapiao 服务使用：请在税务人员控制台添加人员，或先停止服务再运行本命令",
                    db.display()
                )),
                e => e,
            })?;
            let role = Role::from(role);
            let who = app.system("cli");
            service::office::staff::create(
                &app,
                &who,
                service::office::staff::NewStaff {
                    username,
                    display_name: name,
                    role,
                    password,
                },
            )
            .map_err(|e| StartError::Other(e.message.to_string()))?;
            println!("已创建税务人员账号。");
            Ok(())
        }
    }
}
