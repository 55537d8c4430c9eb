//! The binary itself: `fapiao demo` generates, serves over HTTP or HTTPS, answers /healthz,
//! and stops gracefully on SIGTERM; `--help` everywhere.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_fapiao");

struct Demo {
    child: Child,
    url: String,
    output: Vec<String>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[allow(clippy::zombie_processes)] // Demo::drop kills and waits.
fn start_demo(dir: &std::path::Path, http: bool) -> Demo {
    let mut cmd = Command::new(BIN);
    cmd.args(["demo", "--data"])
        .arg(dir)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--invoices",
            "800",
            "--seed",
            "3",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if http {
        cmd.arg("--http");
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut output = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("demo printed its address in time");
        output.push(line.clone());
        if line.contains("健康检查") {
            let url = output
                .iter()
                .find_map(|l| l.split("已启动：").nth(1))
                .expect("address line")
                .trim()
                .to_string();
            return Demo { child, url, output };
        }
    }
}

fn sigterm_and_wait(demo: &mut Demo) {
    let pid = demo.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = demo.child.try_wait().unwrap() {
            assert!(status.success(), "graceful exit, got {status}");
            return;
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn demo_over_http_generates_serves_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut demo = start_demo(dir.path(), true);
    assert!(demo.url.starts_with("http://127.0.0.1:"), "{}", demo.url);
    let all = demo.output.join("\n");
    assert!(all.contains("5 户培训纳税人"), "{all}");
    assert!(all.contains("800 张发票"), "{all}");
    let password_line = demo.output.iter().find(|l| l.contains("用户名 admin"));
    assert!(password_line.is_some(), "{all}");
    let body: serde_json::Value = reqwest::get(format!("{}/healthz", demo.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["status"], "ok");
    // `fapiao health` says the same, with no curl: exit 0 while it runs, 1 once it stopped.
    let health = |url: &str| {
        Command::new(BIN)
            .args(["health", "--url", url])
            .output()
            .unwrap()
    };
    let out = health(&demo.url);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("200"));
    let url = demo.url.clone();
    sigterm_and_wait(&mut demo);
    let out = health(&url);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("无法连接"));

    // A second start finds the data and does not generate again.
    let mut again = start_demo(dir.path(), true);
    assert!(again.output.iter().any(|l| l.contains("已有数据")));
    sigterm_and_wait(&mut again);
}

#[tokio::test]
async fn demo_serves_https_with_its_local_ca() {
    let dir = tempfile::tempdir().unwrap();
    let mut demo = start_demo(dir.path(), false);
    assert!(demo.url.starts_with("https://"), "{}", demo.url);
    let ca = std::fs::read(dir.path().join("certs/ca.pem")).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .tls_built_in_root_certs(false)
        .build()
        .unwrap();
    let r = client
        .get(format!("{}/healthz", demo.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // `fapiao health` verifies HTTPS against the data directory's local CA.
    let out = Command::new(BIN)
        .args(["health", "--url", &demo.url, "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // …and refuses a certificate it cannot verify (a CA that did not issue it).
    let other = tempfile::tempdir().unwrap();
    let foreign =
        fapiao::pki::tls::ensure_local_certs(other.path(), time::OffsetDateTime::now_utc())
            .unwrap()
            .ca_cert;
    let out = Command::new(BIN)
        .args(["health", "--url", &demo.url, "--ca"])
        .arg(&foreign)
        .output()
        .unwrap();
    assert!(!out.status.success());
    // Without the CA the certificate is not trusted.
    let untrusted = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .build()
        .unwrap()
        .get(format!("{}/healthz", demo.url))
        .send()
        .await;
    assert!(untrusted.is_err());
    // Each training taxpayer got a certificate: a real certificate login, as curl --cert does.
    let line = demo
        .output
        .iter()
        .find(|l| l.contains("证书登录：curl"))
        .expect("the demo prints how to log in with a certificate");
    let base = line
        .split("--cert ")
        .nth(1)
        .and_then(|x| x.split(".pem").next())
        .unwrap()
        .to_string();
    let cert = std::fs::read_to_string(format!("{base}.pem")).unwrap();
    let key = std::fs::read_to_string(format!("{base}.key")).unwrap();
    let id = std::path::Path::new(&base)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert!(std::fs::metadata(format!("{base}.p12")).unwrap().len() > 0);
    assert!(!std::fs::read_to_string(format!("{base}.p12.password"))
        .unwrap()
        .trim()
        .is_empty());
    let with_cert = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .tls_built_in_root_certs(false)
        .identity(reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).unwrap())
        .build()
        .unwrap();
    let body: serde_json::Value = with_cert
        .post(format!("{}/api/v1/session", demo.url))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["taxpayer_id"], id.as_str(), "{body}");
    // The login page sees the certificate.
    let page = with_cert
        .get(format!("{}/login", demo.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("已检测到税务数字证书") && page.contains(&id));
    sigterm_and_wait(&mut demo);
}

#[test]
fn help_on_every_command() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["demo", "--help"],
        vec!["staff", "add", "--help"],
    ] {
        let out = Command::new(BIN).args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(!out.stdout.is_empty());
    }
    let out = Command::new(BIN).args(["demo", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--data",
        "--listen",
        "--http",
        "--invoices",
        "--seed",
        "--admin-password",
    ] {
        assert!(text.contains(flag), "{flag}");
    }
}

#[test]
fn serve_refuses_a_bad_configuration_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "listne = \"0.0.0.0:1\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("listne"), "{err}");
}

fn staff_add(
    data: &std::path::Path,
    args: &[&str],
    password: Option<&str>,
) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.args(["staff", "add", "--data"]).arg(data).args(args);
    cmd.env_remove("FAPIAO_NEW_PASSWORD");
    if let Some(p) = password {
        cmd.env("FAPIAO_NEW_PASSWORD", p);
    }
    cmd.output().unwrap()
}

#[test]
fn staff_add_refuses_bad_input_before_touching_any_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for (args, password, says) in [
        (
            vec!["--username", "a b", "--role", "admin"],
            Some("Secret-2026"),
            "用户名应为3至32位",
        ),
        (
            vec!["--username", "admin", "--role", "admin"],
            Some("short"),
            "密码长度不能少于8位",
        ),
        (
            vec!["--username", "admin", "--role", "boss"],
            Some("Secret-2026"),
            "boss",
        ),
    ] {
        let out = staff_add(&data, &args, password);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!data.exists(), "nothing is created for bad input");
    }
}

#[test]
fn staff_add_uses_data_and_the_new_password_variable_and_says_when_a_server_holds_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = staff_add(
        &data,
        &["--username", "admin", "--role", "admin", "--name", "管理员"],
        Some("Secret-2026"),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("新建数据文件"), "{text}");
    assert!(data.join("fapiao.redb").exists());
    // A store held by a running server: a clear word, not redb's.
    let settings = fapiao::config::Settings {
        data_dir: data.clone(),
        ..Default::default()
    };
    let held = fapiao::service::App::open(settings).unwrap();
    let out = staff_add(
        &data,
        &["--username", "clerk", "--role", "operator"],
        Some("Secret-2026"),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("正由运行中的 fapiao 服务使用"), "{err}");
    drop(held);
    let out = staff_add(
        &data,
        &["--username", "clerk", "--role", "operator"],
        Some("Secret-2026"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn serve_on_a_store_without_staff_says_how_to_create_the_first_administrator() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--http", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .env_remove("FAPIAO_NEW_PASSWORD")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let logs = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.push(line);
            if seen.iter().any(|l| l.contains("fapiao staff add")) {
                break;
            }
        }
    }
    // The same hint goes to the log right after standard output.
    std::thread::sleep(Duration::from_secs(1));
    let _ = child.kill();
    let _ = child.wait();
    let all = seen.join("\n");
    assert!(all.contains("尚无税务人员账号"), "{all}");
    // Logs written to a pipe (a file, the journal) carry no colour codes.
    let logs = logs.join().unwrap();
    assert!(logs.contains("尚无税务人员账号"), "{logs}");
    assert!(!logs.contains('\u{1b}'), "{logs}");
    assert!(all.contains("--role admin"), "{all}");
}

/// The demo's data, stopped: backed up from the command line, verified (its confirmed
/// invoices all have their batches and confirming entries), and served as an audit replica
/// straight from the backup file, which it leaves unchanged.
#[tokio::test]
async fn demo_data_backs_up_verifies_and_serves_as_an_audit_replica() {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut demo = start_demo(&data, true);
    let password = demo
        .output
        .iter()
        .find_map(|l| l.split("用户名 admin，密码 ").nth(1))
        .and_then(|rest| rest.split('（').next())
        .expect("the demo prints the admin password")
        .to_string();
    sigterm_and_wait(&mut demo);
    let file = dir.path().join("demo.fapiao-backup");
    let run = |args: &[&str]| {
        let out = Command::new(BIN).args(args).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let (ok, text) = run(&[
        "backup",
        "--data",
        data.to_str().unwrap(),
        "--to",
        file.to_str().unwrap(),
    ]);
    assert!(ok && text.contains("已备份到"), "{text}");
    // Never over an existing file.
    let (ok, text) = run(&[
        "backup",
        "--data",
        data.to_str().unwrap(),
        "--to",
        file.to_str().unwrap(),
    ]);
    assert!(!ok && text.contains("不会覆盖"), "{text}");
    for args in [
        vec!["verify", file.to_str().unwrap()],
        vec!["verify", "--data", data.to_str().unwrap()],
    ] {
        let (ok, text) = run(&args);
        assert!(ok, "{args:?}: {text}");
        assert!(text.contains("校验通过"), "{text}");
        assert!(
            !text.contains("核对 0 张"),
            "the demo has confirmed invoices: {text}"
        );
    }
    let before = hex::encode(Sha256::digest(std::fs::read(&file).unwrap()));

    let mut child = Command::new(BIN)
        .args([
            "audit",
            file.to_str().unwrap(),
            "--http",
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut url = None;
    let mut lines = Vec::new();
    while url.is_none() {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("the replica did not start: {lines:?}"));
        url = line
            .split("只读副本已启动：")
            .nth(1)
            .map(|u| u.trim().to_string());
        lines.push(line);
    }
    let url = url.unwrap();
    assert!(lines[0].starts_with("只读副本：数据截至"), "{lines:?}");
    let page = reqwest::get(format!("{url}/office/login"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("只读副本：数据截至"), "{page}");
    let client = reqwest::Client::new();
    let login: serde_json::Value = client
        .post(format!("{url}/api/v1/office/session"))
        .json(&serde_json::json!({"username": "admin", "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = client
        .post(format!("{url}/api/v1/office/backups"))
        .bearer_auth(login["token"].as_str().unwrap_or(""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "read_only");
    let _ = child.kill();
    let _ = child.wait();
    let after = hex::encode(Sha256::digest(std::fs::read(&file).unwrap()));
    assert_eq!(before, after, "the audit replica changed its backup file");
}

/// `fapiao config check` passes the example configuration and names a bad key or value.
#[test]
fn config_check_passes_the_example_and_names_what_is_wrong() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/fapiao.toml");
    let out = Command::new(BIN)
        .args(["config", "check", "--config", example])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("配置有效") && text.contains("定时备份：每 1440 分钟"),
        "{text}"
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[backup]\nevery = \"5x\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["config", "check", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("backup.every"));
}

/// A server killed with SIGKILL leaves its data file not closed cleanly; `fapiao backup
/// --data` repairs it (as the next start would) and backs it up, and the backup verifies.
#[test]
fn a_backup_of_a_killed_servers_store_repairs_it_first() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = Command::new(BIN)
        .args(["serve", "--http", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The first line is the first-administrator hint, printed once the store is open.
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("staff add"), "{first}");
    child.kill().unwrap();
    child.wait().unwrap();
    let file = dir.path().join("b.fapiao-backup");
    let out = Command::new(BIN)
        .args(["backup", "--data"])
        .arg(&data)
        .arg("--to")
        .arg(&file)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("已自动修复后备份"), "{text}");
    let out = Command::new(BIN).arg("verify").arg(&file).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
