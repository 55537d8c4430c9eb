//! 征纳互动 soak (issue 8): `--interactions` concurrent interactions (default 200), each a
//! taxpayer and an agent (`--agents` of them, default 10, each holding several), exchange
//! messages over real WebSockets on loopback for `--secs` seconds (default 20): every taxpayer
//! writes every `--every-ms` (default 1000) and the agent answers each message. Prints one
//! JSON summary line: p50/p99/max delivery latency and what was lost, duplicated or out of
//! order (all must be 0) — see `support/soak.rs` for what is checked.
//!
//! `cargo bench --bench soak -- --interactions 200 --secs 20`
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "support/soak.rs"]
mod soak;

use std::time::Duration;

use fapiao::config::{InteractionSettings, Settings};
use fapiao::service::App;

use common::flags;

fn main() {
    let f = flags(&[
        ("interactions", 200),
        ("agents", 10),
        ("secs", 20),
        ("every-ms", 1000),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        listen: "127.0.0.1:0".into(),
        http: true,
        data_dir: dir.path().join("fapiao"),
        log_format: "pretty".into(),
        training: true,
        interaction: InteractionSettings {
            working_hours: vec!["daily 00:00-24:00".into()],
            ..InteractionSettings::default()
        },
        ..Settings::default()
    };
    let app = App::open(settings).unwrap();
    let (ids, agents) = soak::seed(&app, f["interactions"] as usize, f["agents"] as usize);
    let (tx, rx) = std::sync::mpsc::channel();
    let server_app = app.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let running = fapiao::server::start(server_app).unwrap();
            tx.send(running.addr).unwrap();
            let _ = running.server.await;
        });
    });
    let addr = rx.recv().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let report = rt.block_on(soak::run(
        app.clone(),
        addr,
        &ids,
        &agents,
        f["secs"],
        Duration::from_millis(f["every-ms"]),
    ));
    println!("{}", report.json());
}
