//! Generating a large demo in bounded memory (issue 22): runs the real command, `fapiao demo
//! --invoices N --no-serve --http --data DIR`, as a child process over a fresh directory, and
//! reports the child's peak resident memory (the kernel's high-water mark, from `getrusage`
//! of the waited child: file-backed pages the process mapped count too), its wall time, and
//! what it left on disk.
//!
//! `cargo bench --bench demo -- --invoices 10000000`
//!
//! Checks before it reports: the store holds N invoices, the index holds N documents, and the
//! index was in step with the store when the directory was opened again (no catch-up, no
//! rebuild). The last line printed is one JSON object.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::Instant;

use fapiao::config::Settings;
use fapiao::service::App;
use nix::sys::resource::{getrusage, UsageWho};
use serde_json::json;

use common::flags;

fn mb(bytes: u64) -> f64 {
    (bytes as f64 / 1e5).round() / 10.0
}

fn dir_bytes(dir: &std::path::Path) -> (u64, usize) {
    let mut bytes = 0;
    let mut segments = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        bytes += e.metadata().unwrap().len();
        if e.path().extension().is_some_and(|x| x == "fast") {
            segments += 1;
        }
    }
    (bytes, segments)
}

fn main() {
    let f = flags(&[("invoices", 1_000_000), ("seed", 2026)]);
    let n = f["invoices"];
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("fapiao");
    let started = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_fapiao"))
        .args(["demo", "--no-serve", "--http", "--invoices"])
        .arg(n.to_string())
        .arg("--seed")
        .arg(f["seed"].to_string())
        .arg("--data")
        .arg(&data)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert!(status.success(), "fapiao demo failed: {status}");
    // Linux reports kilobytes: the largest resident set of any waited child, here the one.
    let peak_kb = getrusage(UsageWho::RUSAGE_CHILDREN).unwrap().max_rss() as u64;

    let file_bytes = std::fs::metadata(data.join("fapiao.redb")).unwrap().len();
    let (index_bytes, segments) = dir_bytes(&data.join("index"));
    let app = App::open(Settings {
        data_dir: data.clone(),
        http: true,
        training: true,
        ..Settings::default()
    })
    .unwrap();
    assert_eq!(
        app.index.last_catch_up(),
        None,
        "the demo left its index out of step with the store"
    );
    let stored = {
        use fapiao::store::prelude::*;
        app.store.read().unwrap().invoice_count().unwrap()
    };
    assert_eq!(stored, n, "the store holds another number of invoices");
    assert_eq!(app.index.doc_count(), n, "the index holds another number");
    eprintln!("store and index agree: {n} invoices; {segments} index segments");
    println!(
        "{}",
        json!({
            "invoices": n,
            "secs": (secs * 10.0).round() / 10.0,
            "per_s": (n as f64 / secs).round(),
            "peak_rss_mb": mb(peak_kb * 1024),
            "peak_rss_kb": peak_kb,
            "data_file_mb": mb(file_bytes),
            "index_mb": mb(index_bytes),
            "index_segments": segments,
        })
    );
}
