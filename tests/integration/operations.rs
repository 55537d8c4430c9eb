//! Operations (S-X1, S-X3–S-X5): online backups taken while clients write, restore, crashes
//! during a backup, the read-only replica, the audit hash chain and `fapiao verify`, training
//! snapshots, and the metrics of `/metrics`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use fapiao::domain::{Invoice, SelectionState};
use fapiao::service::App;
use fapiao::store::prelude::*;
use fapiao::store::ChangeSink;
use redb::ReadableTable;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_fapiao");
const CODE: &str = "3500261130";
const SELLER: &str = "91330100716105852F";

/// `n` invoices of each of `buyers`, issued in November 2026.
fn invoices(buyers: &[&str], n: u32) -> String {
    let mut lines = Vec::new();
    for (b, buyer) in buyers.iter().enumerate() {
        for i in 0..n {
            let number = format!("{:08}", b as u32 * 10_000 + i + 1);
            lines.push(
                json!({
                    "code": CODE, "number": number, "type": "special",
                    "issued_on": format!("2026-11-{:02}", i % 19 + 1), "seller_id": SELLER,
                    "seller_name": "杭州宏远信息技术有限公司", "buyer_id": buyer,
                    "amount": 10_000 + i64::from(i), "tax": 1_300,
                })
                .to_string(),
            );
        }
    }
    lines.join("\n")
}

fn key(n: u32) -> Value {
    json!({"code": CODE, "number": format!("{n:08}")})
}

/// What the invoices say, from one snapshot: (key → selection state and status).
fn digest(app: &App) -> BTreeMap<String, String> {
    let r = app.store.read().unwrap();
    let mut out = BTreeMap::new();
    r.for_each_invoice_batch(10_000, |batch| {
        for inv in batch {
            out.insert(
                inv.key.to_string(),
                format!("{:?} {:?}", inv.selection, inv.status),
            );
        }
        Ok(())
    })
    .unwrap();
    out
}

/// Records, after every commit that changes invoices (told with the commit lock held, so no
/// other commit comes between), the audit head and the invoices' digest; passes the change
/// on to the index.
struct Recorder {
    app: Mutex<Option<Arc<App>>>,
    inner: Arc<dyn ChangeSink>,
    seen: Mutex<Vec<(u64, BTreeMap<String, String>)>>,
}

impl ChangeSink for Recorder {
    fn invoices_changed(&self, new: &[Invoice], updated: &[Invoice], seq: u64) {
        self.inner.invoices_changed(new, updated, seq);
        if let Some(app) = self.app.lock().unwrap().clone() {
            let head = app.store.read().unwrap().last_audit_seq().unwrap();
            let d = digest(&app);
            self.seen.lock().unwrap().push((head, d));
        }
    }
}

async fn run_fapiao(args: &[&str]) -> (bool, String) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let out = Command::new(BIN)
            .args(&args)
            .env_remove("FAPIAO_FAILPOINT")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    })
    .await
    .unwrap()
}

fn sha_of(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// A backup taken while three taxpayers select, unselect, confirm and submit as fast as they
/// can restores to exactly the state of some prefix of the primary's audit log: the audit head
/// and hashes agree with the primary's at that entry, and so do the invoices, the query
/// answers and the statistics.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_while_clients_write_restores_a_prefix_of_the_log() {
    let app = spawn_app(Opts {
        clock: Some("2026-11-25T10:00:00+08:00"),
        ..Opts::default()
    });
    let op = app.staff_token("operator").await;
    let admin = app.staff_token("admin").await;
    let buyers = [TAXPAYER_A, TAXPAYER_B];
    app.import_ndjson(&op, invoices(&buyers, 60)).await;

    let recorder = Arc::new(Recorder {
        app: Mutex::new(Some(app.app.clone())),
        inner: app.app.index.clone(),
        seen: Mutex::new(Vec::new()),
    });
    let start_head = app.app.store.read().unwrap().last_audit_seq().unwrap();
    recorder
        .seen
        .lock()
        .unwrap()
        .push((start_head, digest(&app.app)));
    app.app.store.set_sink(recorder.clone());

    // Writers: each taxpayer selects a few invoices at a time, confirms and submits, again
    // and again, until told to stop.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for (b, buyer) in buyers.iter().enumerate() {
        let token = app.taxpayer_token(buyer).await;
        let (client, base, stop) = (app.client.clone(), app.base.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut next = 0u32;
            let mut ops = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && next < 57 {
                let keys: Vec<Value> = (0..3)
                    .map(|i| key(b as u32 * 10_000 + next + i + 1))
                    .collect();
                next += 3;
                let post = |path: &str, body: Value| {
                    client
                        .post(format!("{base}{path}"))
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                };
                let r = post("/api/v1/selections", json!({"select": keys}))
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::OK);
                if next.is_multiple_of(6) {
                    // Change of mind on one of them.
                    let r = post("/api/v1/selections", json!({"unselect": [keys[0].clone()]}))
                        .await
                        .unwrap();
                    assert_eq!(r.status(), StatusCode::OK);
                }
                let batch: Value = post("/api/v1/confirmations", json!({}))
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let path = format!(
                    "/api/v1/confirmations/{}/{}/submit",
                    batch["period"].as_str().unwrap(),
                    batch["batch"]
                );
                let r = post(&path, json!({"declaration": "not_declared"}))
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::OK);
                ops += 1;
            }
            ops
        }));
    }
    // The backup, once the writers are well under way.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let r = app
        .post_json("/api/v1/office/backups", Some(&admin), &json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let info: Value = r.json().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut ops = 0;
    for w in writers {
        ops += w.await.unwrap();
    }
    assert!(ops >= 4, "the writers did too little: {ops}");
    let head = info["audit_head"]["seq"].as_u64().unwrap();
    let final_head = app.app.store.read().unwrap().last_audit_seq().unwrap();
    assert!(
        head > start_head + 2 && head < final_head,
        "the backup ({head}) was not taken while the log grew from {start_head} to {final_head}"
    );

    // The primary's hash at that entry is the backup's head.
    let primary_hash = app
        .app
        .store
        .read()
        .unwrap()
        .audit_hash(head)
        .unwrap()
        .unwrap();
    assert_eq!(info["audit_head"]["hash"], hex::encode(primary_hash));

    // Download it as an auditor would, and restore it with the command line.
    let auditor = app.staff_token("auditor").await;
    let file = info["file"].as_str().unwrap();
    let r = app
        .get(&format!("/api/v1/office/backups/{file}"), Some(&auditor))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap();
    assert_eq!(bytes.len() as u64, info["bytes"].as_u64().unwrap());
    let keep = tempfile::tempdir().unwrap();
    let copy = keep.path().join("copy.fapiao-backup");
    std::fs::write(&copy, &bytes).unwrap();
    let restored_dir = keep.path().join("restored");
    let (ok, out) = run_fapiao(&[
        "restore",
        copy.to_str().unwrap(),
        "--data",
        restored_dir.to_str().unwrap(),
    ])
    .await;
    assert!(ok, "restore failed: {out}");
    assert!(out.contains("校验通过"), "{out}");

    // The state recorded at the last invoice change at or before the backup's head.
    let expected = recorder
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(h, _)| *h <= head)
        .max_by_key(|(h, _)| *h)
        .map(|(_, d)| d.clone())
        .unwrap();
    let restored = spawn_app(Opts {
        data_dir: Some(restored_dir.clone()),
        clock: None,
        ..Opts::default()
    });
    assert_eq!(digest(&restored.app), expected);
    let r = restored.app.store.read().unwrap();
    assert_eq!(r.last_audit_seq().unwrap(), head);
    for seq in 1..=head {
        assert_eq!(
            r.audit_hash(seq).unwrap(),
            app.app.store.read().unwrap().audit_hash(seq).unwrap(),
            "entry {seq}"
        );
    }
    drop(r);

    // Query answers and statistics of the restored server follow from those invoices.
    for (b, buyer) in buyers.iter().enumerate() {
        let t = restored.taxpayer_token(buyer).await;
        let want_confirmed: Vec<String> = expected
            .iter()
            .filter(|(k, v)| {
                let n: u32 = k[11..].parse().unwrap();
                n > b as u32 * 10_000
                    && n <= b as u32 * 10_000 + 10_000
                    && v.starts_with("Confirmed")
            })
            .map(|(k, _)| k[11..].to_string())
            .collect();
        let q: Value = restored
            .get(
                "/api/v1/invoices?issued_from=2026-11-01&issued_to=2026-11-30&certified=true&per_page=500",
                Some(&t),
            )
            .await
            .json()
            .await
            .unwrap();
        let mut got: Vec<String> = q["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["number"].as_str().unwrap().to_string())
            .collect();
        got.sort();
        assert_eq!(got, want_confirmed, "{buyer}: confirmed invoices");
        let s: Value = restored
            .get("/api/v1/statistics/202611", Some(&t))
            .await
            .json()
            .await
            .unwrap();
        let total = s["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == "total")
            .and_then(|r| r["selection"]["count"].as_u64());
        assert_eq!(
            total,
            Some(want_confirmed.len() as u64),
            "{buyer}: statistics {s}"
        );
    }
    let _ = SelectionState::Unselected;
}

/// A backup cut short — the process aborted with half the store written, or killed with
/// SIGKILL at any moment — leaves no file under the backup's name, nothing restore accepts,
/// and the primary intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_cut_short_is_never_accepted_and_the_primary_is_intact() {
    let keep = tempfile::tempdir().unwrap();
    let data = keep.path().join("data");
    {
        let app = spawn_app(Opts {
            clock: Some("2026-11-25T10:00:00+08:00"),
            data_dir: Some(data.clone()),
            ..Opts::default()
        });
        let op = app.staff_token("operator").await;
        app.import_ndjson(&op, invoices(&[TAXPAYER_A], 2000)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let to = keep.path().join("b.fapiao-backup");
    let to_s = to.to_str().unwrap().to_string();
    let data_s = data.to_str().unwrap().to_string();

    // Aborted half-way through writing the file.
    let out = Command::new(BIN)
        .args(["backup", "--data", &data_s, "--to", &to_s])
        .env("FAPIAO_FAILPOINT", "backup_half")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!to.exists(), "a half backup took the backup's name");
    let partial = keep.path().join("b.fapiao-backup.partial");
    assert!(partial.exists(), "the failpoint did not fire");
    let empty = keep.path().join("empty");
    let (ok, text) = run_fapiao(&[
        "restore",
        partial.to_str().unwrap(),
        "--data",
        empty.to_str().unwrap(),
    ])
    .await;
    assert!(!ok, "restore accepted a half backup: {text}");
    assert!(text.contains("不完整或已损坏"), "{text}");
    assert!(
        !empty.join("fapiao.redb").exists(),
        "a refused restore wrote data"
    );

    // Killed at a few moments of a real backup.
    for delay in [5u64, 30, 80] {
        let _ = std::fs::remove_file(&to);
        let mut child = Command::new(BIN)
            .args(["backup", "--data", &data_s, "--to", &to_s])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let _ = child.kill();
        let status = child.wait().unwrap();
        if to.exists() {
            // It finished before the kill: then it is whole.
            assert!(status.success() || to.exists());
            let (ok, text) = run_fapiao(&["verify", &to_s]).await;
            assert!(ok, "a backup under its name does not verify: {text}");
        }
    }
    // The primary: opens, verifies, and serves.
    let (ok, text) = run_fapiao(&["verify", "--data", &data_s]).await;
    assert!(ok, "{text}");
    let app = spawn_app(Opts {
        data_dir: Some(data.clone()),
        ..Opts::default()
    });
    let a = app.taxpayer_token(TAXPAYER_A).await;
    let q: Value = app
        .get(
            "/api/v1/invoices?issued_from=2026-11-01&issued_to=2026-11-30&selected=all&per_page=1",
            Some(&a),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(q["total"], 2000);
}

/// Restore checks before it touches anything: a damaged file, a newer format, or a
/// non-empty directory without `--force` are refused and change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_damaged_newer_and_non_empty_and_changes_nothing() {
    let keep = tempfile::tempdir().unwrap();
    let data = keep.path().join("data");
    {
        let app = spawn_app(Opts {
            data_dir: Some(data.clone()),
            ..Opts::default()
        });
        let op = app.staff_token("operator").await;
        app.import_ndjson(&op, invoices(&[TAXPAYER_A], 20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let good = keep.path().join("good.fapiao-backup");
    let (ok, text) = run_fapiao(&[
        "backup",
        "--data",
        data.to_str().unwrap(),
        "--to",
        good.to_str().unwrap(),
    ])
    .await;
    assert!(ok, "{text}");
    let bytes = std::fs::read(&good).unwrap();

    // One byte changed in the store part.
    let mut flipped = bytes.clone();
    let at = flipped.len() - 100;
    flipped[at] ^= 0x40;
    let bad = keep.path().join("bad.fapiao-backup");
    std::fs::write(&bad, &flipped).unwrap();
    // Truncated.
    let short = keep.path().join("short.fapiao-backup");
    std::fs::write(&short, &bytes[..bytes.len() / 2]).unwrap();
    // A newer format.
    let text_start = 20;
    let len = u32::from_le_bytes(bytes[16..20].try_into().unwrap()) as usize;
    let manifest = String::from_utf8(bytes[text_start..text_start + len].to_vec()).unwrap();
    let newer_manifest = manifest.replacen("\"format\": 1", "\"format\": 9", 1);
    assert_ne!(newer_manifest, manifest);
    let mut newer = bytes[..16].to_vec();
    newer.extend_from_slice(&(newer_manifest.len() as u32).to_le_bytes());
    newer.extend_from_slice(newer_manifest.as_bytes());
    newer.extend_from_slice(&bytes[text_start + len..]);
    let newer_file = keep.path().join("newer.fapiao-backup");
    std::fs::write(&newer_file, &newer).unwrap();

    let target = keep.path().join("target");
    for (file, says) in [
        (&bad, "校验和不符"),
        (&short, "不完整或已损坏"),
        (&newer_file, "格式版本（9）"),
    ] {
        let (ok, text) = run_fapiao(&[
            "restore",
            file.to_str().unwrap(),
            "--data",
            target.to_str().unwrap(),
        ])
        .await;
        assert!(!ok, "{file:?} was restored");
        assert!(text.contains(says), "{file:?}: {text}");
        assert!(!target.exists(), "{file:?} touched the target");
        let (ok, _) = run_fapiao(&["verify", file.to_str().unwrap()]).await;
        assert!(!ok, "{file:?} verified");
    }

    // A non-empty directory needs --force; the data there is unchanged without it.
    let before = sha_of(&data.join("fapiao.redb"));
    let (ok, text) = run_fapiao(&[
        "restore",
        good.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ])
    .await;
    assert!(!ok);
    assert!(text.contains("--force"), "{text}");
    assert_eq!(sha_of(&data.join("fapiao.redb")), before);
    let (ok, text) = run_fapiao(&[
        "restore",
        good.to_str().unwrap(),
        "--data",
        target.to_str().unwrap(),
    ])
    .await;
    assert!(ok, "{text}");
    let (ok, text) = run_fapiao(&[
        "restore",
        good.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--force",
    ])
    .await;
    assert!(ok, "{text}");
}

/// Flips one byte of an entry's stored bytes (its detail is at the end), or removes the
/// entry, in a copy of a store, through redb as someone with the file would.
fn tamper(db: &Path, seq: u64, delete: bool) {
    let audit: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("audit");
    let d = redb::Database::open(db).unwrap();
    let w = d.begin_write().unwrap();
    {
        let mut t = w.open_table(audit).unwrap();
        if delete {
            t.remove(seq).unwrap();
        } else {
            let mut bytes = t.get(seq).unwrap().unwrap().value().to_vec();
            let last = bytes.len() - 1;
            bytes[last] ^= 0x01;
            t.insert(seq, bytes.as_slice()).unwrap();
        }
    }
    w.commit().unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    std::fs::copy(from.join("fapiao.redb"), to.join("fapiao.redb")).unwrap();
}

/// Every entry is chained to the one before; `fapiao verify` names the first entry changed
/// or removed by someone with the file, and passes the untouched store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fapiao_verify_names_a_changed_or_deleted_audit_entry() {
    let keep = tempfile::tempdir().unwrap();
    let data = keep.path().join("data");
    let head;
    {
        let app = spawn_app(Opts {
            clock: Some("2026-11-25T10:00:00+08:00"),
            data_dir: Some(data.clone()),
            ..Opts::default()
        });
        let op = app.staff_token("operator").await;
        app.import_ndjson(&op, invoices(&[TAXPAYER_A], 10)).await;
        let a = app.taxpayer_token(TAXPAYER_A).await;
        let r = app
            .post_json(
                "/api/v1/selections",
                Some(&a),
                &json!({"select": [key(1), key(2)]}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let h: Value = app
            .get(
                "/api/v1/office/audit/head",
                Some(&app.staff_token("auditor").await),
            )
            .await
            .json()
            .await
            .unwrap();
        head = h["seq"].as_u64().unwrap();
        assert_eq!(h["hash"].as_str().unwrap().len(), 64);
        // Entries list their hash and the previous one's: a chain.
        let admin = app.staff_token("admin").await;
        let page: Value = app
            .get("/api/v1/office/audit?per_page=5", Some(&admin))
            .await
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        for pair in items.windows(2) {
            assert_eq!(pair[0]["prev_hash"], pair[1]["hash"], "{pair:?}");
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(head > 8);
    let (ok, text) = run_fapiao(&["verify", "--data", data.to_str().unwrap()]).await;
    assert!(ok, "{text}");
    assert!(text.contains("哈希链完整"), "{text}");

    let changed = keep.path().join("changed");
    copy_dir(&data, &changed);
    tamper(&changed.join("fapiao.redb"), 5, false);
    let (ok, text) = run_fapiao(&["verify", "--data", changed.to_str().unwrap()]).await;
    assert!(!ok, "a changed entry verified: {text}");
    assert!(text.contains("第 5 条") && text.contains("篡改"), "{text}");

    let deleted = keep.path().join("deleted");
    copy_dir(&data, &deleted);
    tamper(&deleted.join("fapiao.redb"), 7, true);
    let (ok, text) = run_fapiao(&["verify", "--data", deleted.to_str().unwrap()]).await;
    assert!(!ok, "a deleted entry verified: {text}");
    assert!(text.contains("第 7 条") && text.contains("缺失"), "{text}");

    // Verifying read the copies without changing them.
    let before = sha_of(&changed.join("fapiao.redb"));
    let _ = run_fapiao(&["verify", "--data", changed.to_str().unwrap()]).await;
    assert_eq!(sha_of(&changed.join("fapiao.redb")), before);
}

/// A store written before the chain existed (no chain table, no marker) is chained once
/// when opened, by an audited migration; the chain then verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchained_store_is_migrated_once_with_an_audit_entry() {
    let keep = tempfile::tempdir().unwrap();
    let data = keep.path().join("data");
    let before;
    {
        let app = spawn_app(Opts {
            data_dir: Some(data.clone()),
            ..Opts::default()
        });
        before = app.app.store.read().unwrap().last_audit_seq().unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    {
        // Make it look like an old file: drop the chain and its marker.
        let d = redb::Database::open(data.join("fapiao.redb")).unwrap();
        let w = d.begin_write().unwrap();
        let chain: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("audit_chain");
        w.delete_table(chain).unwrap();
        let meta: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
        w.open_table(meta)
            .unwrap()
            .remove("audit_chain_from")
            .unwrap();
        w.commit().unwrap();
    }
    let app = spawn_app(Opts {
        data_dir: Some(data.clone()),
        ..Opts::default()
    });
    let admin = app.staff_token("admin").await;
    let page: Value = app
        .get("/api/v1/office/audit?per_page=500", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    let migrations = actions
        .iter()
        .filter(|a| **a == "audit.chain_start")
        .count();
    assert_eq!(migrations, 1, "{actions:?}");
    let report = fapiao::service::office::verify::run(&app.app).unwrap();
    assert!(report.ok(), "{report:?}");
    assert!(report.audit_head.unwrap().seq > before);
}

/// The replica: its data file is byte-identical after logins and reads by every role and a
/// taxpayer; every write endpoint answers 403 `read_only`; every page shows the banner and
/// no write control.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_reads_everything_writes_nothing_and_leaves_its_file_unchanged() {
    let keep = tempfile::tempdir().unwrap();
    let data = keep.path().join("data");
    {
        let app = spawn_app(Opts {
            clock: Some("2026-11-25T10:00:00+08:00"),
            data_dir: Some(data.clone()),
            ..Opts::default()
        });
        let op = app.staff_token("operator").await;
        app.import_ndjson(&op, invoices(&[TAXPAYER_A], 10)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let db = data.join("fapiao.redb");
    let before = sha_of(&db);
    let modified = std::fs::metadata(&db).unwrap().modified().unwrap();
    let replica = spawn_replica(data.clone());

    // Logins of every role and a taxpayer; reads answer.
    let mut tokens = Vec::new();
    for role in ["admin", "operator", "auditor", "agent"] {
        tokens.push((role, replica.staff_token(role).await));
    }
    let a = replica.taxpayer_token(TAXPAYER_A).await;
    let q: Value = replica
        .get(
            "/api/v1/invoices?issued_from=2026-11-01&issued_to=2026-11-30&selected=all&per_page=5",
            Some(&a),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(q["total"], 10);
    let admin = &tokens[0].1;
    for path in [
        "/api/v1/office/taxpayers",
        "/api/v1/office/audit",
        "/api/v1/office/audit/head",
        "/api/v1/office/staff",
        "/api/v1/office/clock",
        "/api/v1/office/backups",
    ] {
        let r = replica.get(path, Some(admin)).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    // Pages carry the banner and no write control.
    let page = replica
        .client
        .get(replica.url("/"))
        .header("cookie", format!("fapiao_session={a}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("只读副本：数据截至"), "{page}");
    // No page offers a write: the only forms that post are logging out (and the console's).
    for path in [
        "/",
        "/select?issued_from=2026-11-01&issued_to=2026-11-30",
        "/confirm",
        "/bulk",
        "/profile",
        "/statistics",
    ] {
        let body = write_forms(&replica, path, &a, &["/logout"]).await;
        assert!(!body.contains("id=\"zn\""), "{path}: 征纳互动 on a replica");
    }
    for path in [
        "/office",
        "/office/taxpayers",
        "/office/invoices",
        "/office/training",
        "/office/staff",
    ] {
        write_forms(
            &replica,
            path,
            admin,
            &["/office/logout", "/office/password"],
        )
        .await;
    }

    // Every write endpoint of the API refuses, whoever asks.
    let writes: Vec<(String, String)> = fapiao::api::route_table()
        .into_iter()
        .filter(|(m, _)| m != "get")
        .filter(|(m, p)| {
            !matches!(
                (m.as_str(), p.as_str()),
                ("post", "/api/v1/session")
                    | ("delete", "/api/v1/session")
                    | ("post", "/api/v1/office/session")
                    | ("delete", "/api/v1/office/session")
            )
        })
        .collect();
    assert!(writes.len() > 20);
    for (m, p) in &writes {
        let path = p
            .replace("{id}", TAXPAYER_A)
            .replace("{taxpayer_id}", TAXPAYER_A)
            .replace("{period}", "202611")
            .replace("{region}", "350000")
            .replace("{code}", CODE)
            .replace("{number}", "00000001")
            .replace("{username}", "operator")
            .replace("{name}", "x")
            .replace("{file}", "x")
            .replace("{batch}", "1")
            .replace(['{', '}'], "");
        for token in [admin.as_str(), a.as_str()] {
            let r = replica
                .send_json(
                    reqwest::Method::from_bytes(m.to_uppercase().as_bytes()).unwrap(),
                    &path,
                    Some(token),
                    &json!({}),
                )
                .await;
            expect_error(r, 403, "read_only").await;
        }
    }
    // Logging out is allowed (the session lives in memory).
    let r = replica
        .client
        .delete(replica.url("/api/v1/session"))
        .bearer_auth(&a)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    drop(replica);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(sha_of(&db), before, "the replica changed its file");
    assert_eq!(
        std::fs::metadata(&db).unwrap().modified().unwrap(),
        modified
    );
}

/// Reads `path` on a replica as `token`: it shows the banner, and its only forms that post go
/// to one of `allowed`. Returns the page.
async fn write_forms(replica: &TestApp, path: &str, token: &str, allowed: &[&str]) -> String {
    let body = replica
        .client
        .get(replica.url(path))
        .header("cookie", format!("fapiao_session={token}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("只读副本"), "{path}: no banner");
    let posts: Vec<&str> = body
        .split("method=\"post\"")
        .skip(1)
        .map(|rest| rest.split('>').next().unwrap_or(""))
        .filter(|form| {
            !allowed
                .iter()
                .any(|a| form.contains(&format!("action=\"{a}\"")))
        })
        .collect();
    assert!(
        posts.is_empty(),
        "{path} offers writes on a replica: {posts:?}"
    );
    body
}

/// Training snapshots: save, change things, restore — the same invoices, statistics and
/// audit log (up to the saved head, then the restore's own entry); sessions start fresh;
/// refused outside training mode and to non-administrators.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_restore_brings_back_exactly_the_saved_state() {
    let app = spawn_app(Opts {
        clock: Some("2026-11-25T10:00:00+08:00"),
        ..Opts::default()
    });
    let op = app.staff_token("operator").await;
    let admin = app.staff_token("admin").await;
    app.import_ndjson(&op, invoices(&[TAXPAYER_A], 12)).await;
    let a = app.taxpayer_token(TAXPAYER_A).await;
    let r = app
        .post_json(
            "/api/v1/selections",
            Some(&a),
            &json!({"select": [key(1), key(2)]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // Two confirmed, one selected: something to show in the statistics.
    let batch: Value = app
        .post_json("/api/v1/confirmations", Some(&a), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let r = app
        .post_json(
            &format!("/api/v1/confirmations/202611/{}/submit", batch["batch"]),
            Some(&a),
            &json!({"declaration": "not_declared"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .post_json("/api/v1/selections", Some(&a), &json!({"select": [key(5)]}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let query = |app: &TestApp, t: String| {
        let c = app.client.clone();
        let url = app.url("/api/v1/invoices?issued_from=2026-11-01&issued_to=2026-11-30&selected=all&per_page=100");
        async move {
            c.get(url)
                .bearer_auth(t)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let stats = |app: &TestApp, t: String| {
        let c = app.client.clone();
        let url = app.url("/api/v1/statistics/202611");
        async move {
            c.get(url)
                .bearer_auth(t)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let q_before = query(&app, a.clone()).await;
    let s_before = stats(&app, a.clone()).await;
    assert!(s_before.to_string().contains("\"count\":2"), "{s_before}");
    let d_before = digest(&app.app);

    // Only administrators; bad names refused.
    let r = app
        .post_json(
            "/api/v1/office/snapshots",
            Some(&op),
            &json!({"name": "上课前"}),
        )
        .await;
    expect_error(r, 403, "wrong_role").await;
    let r = app
        .post_json(
            "/api/v1/office/snapshots",
            Some(&admin),
            &json!({"name": "../x"}),
        )
        .await;
    expect_error(r, 422, "invalid_value").await;
    let r = app
        .post_json(
            "/api/v1/office/snapshots",
            Some(&admin),
            &json!({"name": "上课前"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let saved: Value = r.json().await.unwrap();
    let head = saved["audit_head"]["seq"].as_u64().unwrap();
    let r = app
        .post_json(
            "/api/v1/office/snapshots",
            Some(&admin),
            &json!({"name": "上课前"}),
        )
        .await;
    expect_error(r, 409, "duplicate").await;
    let list: Value = app
        .get("/api/v1/office/snapshots", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["name"], "上课前");

    // The class changes things.
    let r = app
        .post_json(
            "/api/v1/selections",
            Some(&a),
            &json!({"select": [key(3), key(4)], "unselect": [key(5)]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    app.import_ndjson(&op, invoices(&[TAXPAYER_A, TAXPAYER_B], 12))
        .await;
    assert_ne!(digest(&app.app), d_before);

    let r = app
        .post_json(
            &format!("/api/v1/office/snapshots/{}/restore", "上课前"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    // Sessions start fresh.
    let r = app.get("/api/v1/invoices", Some(&a)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let a = app.taxpayer_token(TAXPAYER_A).await;
    assert_eq!(digest(&app.app), d_before);
    let mut q_after = query(&app, a.clone()).await;
    let mut q_was = q_before.clone();
    for q in [&mut q_after, &mut q_was] {
        q.as_object_mut().unwrap().remove("as_of");
    }
    assert_eq!(q_after, q_was);
    let mut s_after = stats(&app, a.clone()).await;
    let mut s_was = s_before.clone();
    for s in [&mut s_after, &mut s_was] {
        s.as_object_mut().unwrap().remove("updated_at");
        s.as_object_mut().unwrap().remove("cached");
    }
    assert_eq!(s_after, s_was);
    // The log: the saved entries exactly, then the restore.
    let r = app.app.store.read().unwrap();
    assert_eq!(
        r.audit_hash(head).unwrap().map(hex::encode),
        saved["audit_head"]["hash"].as_str().map(String::from)
    );
    let last = r.last_audit_seq().unwrap();
    let (_, newest) = r
        .audit_entries(&fapiao::service::AuditFilter {
            limit: 20,
            ..Default::default()
        })
        .unwrap();
    let next = newest.iter().find(|e| e.seq == head + 1).unwrap();
    assert_eq!(next.action, "snapshot.restore");
    assert!(last > head, "the restore is recorded after the saved head");
    drop(r);
    let report = fapiao::service::office::verify::run(&app.app).unwrap();
    assert!(report.ok(), "{report:?}");

    // Outside training mode, restore is refused.
    let prod = spawn_app(Opts {
        training: false,
        ..Opts::default()
    });
    let padmin = prod.staff_token("admin").await;
    let r = prod
        .post_json(
            "/api/v1/office/snapshots",
            Some(&padmin),
            &json!({"name": "s1"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = prod
        .post_json(
            "/api/v1/office/snapshots/s1/restore",
            Some(&padmin),
            &json!({}),
        )
        .await;
    expect_error(r, 403, "training_only").await;
}

/// `/metrics` has the operations figures beyond HTTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_name_process_store_sessions_chat_job_and_backups() {
    let app = spawn_app(Opts {
        metrics_token: Some("m-secret".into()),
        ..Opts::default()
    });
    let admin = app.staff_token("admin").await;
    let r = app
        .post_json("/api/v1/office/backups", Some(&admin), &json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // The gauges are refreshed every 10 s; the first read after start has the start values,
    // so ask the service for the same figures too.
    let f = fapiao::service::figures::read(&app.app);
    assert_eq!(f.backups, Some(1));
    assert!(f.sessions.unwrap() >= 1);
    let text = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("m-secret")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for family in [
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "fapiao_store_bytes",
        "fapiao_invoices",
        "fapiao_index_lag_commits",
        "fapiao_sessions",
        "fapiao_interaction_queue",
        "fapiao_interaction_agents_online",
        "fapiao_statistics_job_last_run_timestamp_seconds",
        "fapiao_statistics_job_duration_milliseconds",
        "fapiao_backups",
        "fapiao_backup_last_timestamp_seconds",
        "fapiao_backup_last_bytes",
        "fapiao_read_only",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(family)),
            "{family} missing from /metrics"
        );
    }
}

#[allow(dead_code)]
fn unused(_: PathBuf) {}
