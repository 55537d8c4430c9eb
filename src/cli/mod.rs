//! Command line (clap): `serve`, `demo`, `staff`. Parses flags into settings, starts logging
//! and the server. `--help` on every command.
//! May depend on: everything (it is the top of the stack).

#[cfg(feature = "smartcard")]
mod smartcard;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crate::config::Settings;
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
    /// Integrity check: recompute every cached deduction statistic from the raw records and
    /// report any difference (exit status 1 when one is found).
    Check {
        #[arg(long, short)]
        config: Option<PathBuf>,
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Manage tax office staff accounts.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// List smart-card readers (tax certificates on 金税盘/税控盘) seen by PC/SC.
    #[cfg(feature = "smartcard")]
    Readers,
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
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Data directory; the dataset is generated only when it holds no data yet.
    #[arg(long, default_value = "demo-data")]
    pub data: PathBuf,
    /// Listen address.
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: String,
    /// Serve plain HTTP instead of HTTPS.
    #[arg(long)]
    pub http: bool,
    /// Number of invoices to generate.
    #[arg(long, default_value_t = 20_000)]
    pub invoices: u64,
    /// Random seed: the same seed gives the same dataset (for the same day).
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Password of the staff user `admin` (generated and printed once when not given).
    #[arg(long)]
    pub admin_password: Option<String>,
    /// Generate the dataset and exit without serving.
    #[arg(long)]
    pub no_serve: bool,
}

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Create a staff account.
    Add {
        #[arg(long, short)]
        config: Option<PathBuf>,
        #[arg(long)]
        username: String,
        /// admin, operator, agent or auditor.
        #[arg(long)]
        role: String,
        /// Display name.
        #[arg(long, default_value = "")]
        name: String,
        /// Password (at least 8 characters, not letters or digits only). Or set FAPIAO_NEW_PASSWORD.
        #[arg(long, env = "FAPIAO_NEW_PASSWORD", hide_env_values = true)]
        password: String,
    },
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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fapiao: {e}");
            ExitCode::FAILURE
        }
    }
}

pub fn init_logging(format: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // One line per request when its span closes (request id, route, status, latency).
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE);
    let _ = if format == "json" {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
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
    settings.validate()?;
    init_logging(&settings.log_format);
    let app = App::open(settings)?;
    run_server(app, |url| {
        tracing::info!(%url, "fapiao serving");
    })
}

/// Runs the server until SIGINT/SIGTERM, then stops gracefully (in-flight requests finish).
pub fn run_server(app: Arc<App>, announce: impl FnOnce(&str)) -> Result<(), StartError> {
    actix_web::rt::System::new().block_on(async move {
        let signals = shutdown_signals()?;
        let running = crate::server::start(app)?;
        let handle = running.server.handle();
        announce(&running.base_url());
        actix_web::rt::spawn(async move {
            signals.await;
            tracing::info!("shutting down");
            handle.stop(true).await;
        });
        running
            .server
            .await
            .map_err(|e| StartError::Other(e.to_string()))
    })
}

/// A future that completes on the first SIGINT or SIGTERM; the handlers are registered
/// when this function returns.
fn shutdown_signals() -> Result<impl std::future::Future<Output = ()>, StartError> {
    use actix_web::rt::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).map_err(|e| StartError::Other(e.to_string()))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| StartError::Other(e.to_string()))?;
    Ok(async move {
        let t = Box::pin(async move { term.recv().await });
        let i = Box::pin(async move { int.recv().await });
        futures_util::future::select(t, i).await;
    })
}

fn open_with(config: Option<PathBuf>, data: Option<PathBuf>) -> Result<Arc<App>, StartError> {
    let mut settings = Settings::load(config.as_deref())?;
    if let Some(d) = data {
        settings.data_dir = d;
    }
    init_logging("pretty");
    App::open(settings)
}

fn import(
    config: Option<PathBuf>,
    data: Option<PathBuf>,
    file: &std::path::Path,
) -> Result<(), StartError> {
    use crate::service::invoice_files::FileFormat;
    let format = FileFormat::from_file_name(&file.to_string_lossy()).ok_or_else(|| {
        StartError::Other("文件类型不正确：请使用 .ndjson、.jsonl 或 .csv 文件".into())
    })?;
    let bytes =
        std::fs::read(file).map_err(|e| StartError::Other(format!("{}: {e}", file.display())))?;
    let app = open_with(config, data)?;
    let who = app.system("cli-import");
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(format!("正在导入 {}（校验并写入）…", file.display()));
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let result = service::invoices::import_file(&app, &who, &bytes, format);
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
    let n = app
        .index
        .rebuild(&app.store)
        .map_err(|e| StartError::Other(e.to_string()))?;
    println!(
        "索引已重建：{n} 张发票，用时 {:.1} 秒。",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn check(config: Option<PathBuf>, data: Option<PathBuf>) -> Result<(), StartError> {
    let app = open_with(config, data)?;
    let started = std::time::Instant::now();
    let (n, diffs) =
        crate::service::statistics::check(&app).map_err(|e| StartError::Other(e.to_string()))?;
    for d in &diffs {
        println!(
            "不一致：纳税人 {} 税款所属期 {}：{}",
            d.taxpayer_id, d.period, d.what
        );
    }
    println!(
        "已核对 {n} 份抵扣统计缓存，{} 份不一致，用时 {:.1} 秒。",
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
            username,
            role,
            name,
            password,
        } => {
            let settings = Settings::load(config.as_deref())?;
            let role = Role::parse(&role).map_err(|e| StartError::Other(e.message))?;
            let app = App::open(settings)?;
            let who = app.system("cli");
            service::staff::create(
                &app,
                &who,
                service::staff::NewStaff {
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
