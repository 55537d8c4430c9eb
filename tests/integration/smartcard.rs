//! PIV smart cards through the real PC/SC stack (feature `smartcard`): the PIV card emulator
//! plays a card in vsmartcard's vpcd reader inside pcscd; `fapiao card enrol` (the binary)
//! enrols a taxpayer onto it through a running server; OpenSC's own tools find the
//! certificate on it; curl, with OpenSSL's PKCS#11 engine over OpenSC's module and the key on
//! the card, logs in to `POST /api/v1/session` over mTLS. Wrong PINs tell the tries left; a
//! card without PIV is named.
//!
//! Needs Debian's `pcscd` (running, with the vpcd driver), `vsmartcard-vpcd`, `opensc`,
//! `libengine-pkcs11-openssl` and `curl`; `.ci/run` installs and starts them. Skipped, loudly,
//! only when they are not installed.

use std::net::{Shutdown, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fapiao::smartcard::emulator::{self, Emulator, Kind};
use fapiao::smartcard::mgmt::{self, Algorithm};
use fapiao::smartcard::pcsc_card;
use serde_json::Value;

use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_fapiao");
const VPCD_DRIVER: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";
const OPENSC_PKCS11: &str = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";
const PKCS11_ENGINE: &str = "/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so";
/// vpcd's first reader.
const READER: &str = "Virtual PCD 00 00";

fn installed() -> bool {
    let missing: Vec<&str> = [
        ("pcscd", Path::new("/usr/sbin/pcscd")),
        ("vsmartcard-vpcd", Path::new(VPCD_DRIVER)),
        ("opensc", Path::new(OPENSC_PKCS11)),
        ("libengine-pkcs11-openssl", Path::new(PKCS11_ENGINE)),
    ]
    .iter()
    .filter(|(_, p)| !p.exists())
    .map(|(n, _)| *n)
    .collect();
    if missing.is_empty() {
        return true;
    }
    eprintln!(
        "\n\n!!!!! SKIPPED: the smart-card tests need {} (apt-get install pcscd vsmartcard-vpcd opensc libengine-pkcs11-openssl; .ci/run does) !!!!!\n\n",
        missing.join(", ")
    );
    false
}

/// Waits until pcscd sees a card in vpcd's reader (`present`) or none.
fn wait_reader(present: bool) -> Result<(), String> {
    let start = Instant::now();
    loop {
        let readers = match pcsc_card::readers() {
            Ok(r) => r,
            // pcscd may be starting.
            Err(_) if start.elapsed() < Duration::from_secs(5) => {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            Err(e) => {
                return Err(format!(
                    "PC/SC is installed but does not answer ({e}): start pcscd, e.g. `pcscd --foreground &` (.ci/run does)"
                ))
            }
        };
        let r = readers.iter().find(|r| r.name == READER);
        if r.is_none() && start.elapsed() > Duration::from_secs(10) {
            return Err(format!(
                "pcscd has no reader {READER:?} (readers: {readers:?}): is vsmartcard-vpcd's driver loaded?"
            ));
        }
        if r.is_some_and(|r| r.card_present == present) {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(15) {
            return Err(format!(
                "the virtual card was not {} in time",
                if present { "inserted" } else { "removed" }
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A card in vpcd's reader while it lives.
struct Inserted {
    stream: TcpStream,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn insert(card: Emulator) -> Inserted {
    let stream = TcpStream::connect(("127.0.0.1", emulator::VPCD_PORT))
        .expect("connect to vpcd (pcscd with vsmartcard-vpcd)");
    let theirs = stream.try_clone().unwrap();
    let card = Arc::new(Mutex::new(card));
    let thread = std::thread::spawn(move || {
        let _ = emulator::serve_vpcd(theirs, card);
    });
    wait_reader(true).unwrap();
    Inserted {
        stream,
        thread: Some(thread),
    }
}

impl Drop for Inserted {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        // Not a panic while unwinding from another one.
        let _ = wait_reader(false);
    }
}

fn run(program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(program);
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn card(args: &[&str]) -> Output {
    let mut all = vec!["card"];
    all.extend_from_slice(args);
    run(BIN, &all, &[])
}

#[tokio::test]
async fn a_piv_card_is_enrolled_found_by_opensc_and_logs_in_over_mtls() {
    if !installed() {
        return;
    }
    wait_reader(false).unwrap();
    // Only certificates bound to the taxpayer log in: the card's must be the one issued here.
    let app = spawn_app(Opts {
        http: false,
        training: false,
        tls: Some(fapiao::config::TlsSettings {
            require_bound: true,
            ..Default::default()
        }),
        ..Opts::default()
    });
    let admin = app.staff_token("admin").await;
    let ca = app.data_dir.join("certs/ca.pem");
    let ca = ca.to_str().unwrap();

    let inserted = insert(Emulator::new());
    let o = card(&["list"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("{READER}\tPIV 卡（9A 无证书）")),
        "{}",
        text(&o)
    );

    let enrol = |pin: &str| {
        card(&[
            "enrol",
            "--taxpayer",
            TAXPAYER_A,
            "--reader",
            READER,
            "--url",
            &app.base,
            "--token",
            &admin,
            "--ca",
            ca,
            "--pin",
            pin,
        ])
    };
    // A wrong PIN: refused with the tries left, nothing generated or issued.
    let o = enrol("999999");
    assert!(!o.status.success());
    assert!(
        text(&o).contains("PIN 码错误，还可再试 2 次"),
        "{}",
        text(&o)
    );
    let listed = app
        .get(
            &format!("/api/v1/office/taxpayers/{TAXPAYER_A}/certificates"),
            Some(&admin),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 0);

    let o = enrol("123456");
    assert!(o.status.success(), "{}", text(&o));
    let listed = app
        .get(
            &format!("/api/v1/office/taxpayers/{TAXPAYER_A}/certificates"),
            Some(&admin),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["how"], "csr");
    let serial = items[0]["serial"].as_str().unwrap().to_string();
    assert!(text(&o).contains(&serial), "{}", text(&o));

    // What the card holds, by our reading…
    let o = card(&["show", "--reader", READER]);
    assert!(o.status.success(), "{}", text(&o));
    let shown = text(&o);
    assert!(shown.contains(TAXPAYER_A), "{shown}");
    assert!(shown.contains(&serial), "{shown}");
    assert!(shown.contains("CHUID：GUID "), "{shown}");
    assert!(shown.contains("还可尝试 3 次"), "{shown}");

    // …and by OpenSC's: its PIV driver lays the card out as PKCS#15 and PKCS#11 objects.
    let o = run(
        "pkcs15-tool",
        &["--reader", READER, "--list-certificates"],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let listed = text(&o);
    assert!(
        listed.contains("Certificate for PIV Authentication"),
        "{listed}"
    );
    assert!(listed.to_lowercase().contains(&serial), "{listed}");
    let o = run(
        "pkcs11-tool",
        &["--module", OPENSC_PKCS11, "--list-objects"],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let objects = text(&o);
    assert!(
        objects.contains("Certificate Object; type = X.509 cert"),
        "{objects}"
    );
    assert!(objects.contains(TAXPAYER_A), "{objects}");
    assert!(objects.contains("EC"), "{objects}");

    // A TLS client with the key on the card (OpenSSL's PKCS#11 engine over OpenSC's module)
    // logs in as the taxpayer.
    let login = |pin: &str| {
        let key = format!("pkcs11:id=%01;type=private;pin-value={pin}");
        run(
            "curl",
            &[
                "-sS",
                "--engine",
                "pkcs11",
                "--cert-type",
                "ENG",
                "--cert",
                "pkcs11:id=%01;type=cert",
                "--key-type",
                "ENG",
                "--key",
                &key,
                "--cacert",
                ca,
                "-H",
                "content-type: application/json",
                "-d",
                "{}",
                "-w",
                "\n%{http_code}",
                &app.url("/api/v1/session"),
            ],
            &[("PKCS11_MODULE_PATH", OPENSC_PKCS11)],
        )
    };
    let o = login("123456");
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.trim_end().ends_with("200"), "{out}");
    let body: Value = serde_json::from_str(out.trim_end().rsplit_once('\n').unwrap().0).unwrap();
    let token = body["token"].as_str().unwrap();
    let me = app.get("/api/v1/me", Some(token)).await;
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.unwrap();
    assert!(me.to_string().contains(TAXPAYER_A), "{me}");

    // The PIN changes; the old one is then wrong, with the tries counted down.
    let o = card(&[
        "pin",
        "--reader",
        READER,
        "--pin",
        "123456",
        "--new-pin",
        "24681357",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = card(&[
        "pin",
        "--reader",
        READER,
        "--pin",
        "123456",
        "--new-pin",
        "11112222",
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("PIN 码错误，还可再试 2 次"),
        "{}",
        text(&o)
    );

    // Revoked: the card's certificate no longer logs in.
    let r = app
        .post_json(
            &format!("/api/v1/office/certificates/{serial}/revoke"),
            Some(&admin),
            &serde_json::json!({ "reason": "lost" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let o = login("24681357");
    let out = text(&o);
    assert!(out.trim_end().ends_with("403"), "{out}");
    assert!(out.contains("revoked"), "{out}");
    drop(inserted);

    // A card without the PIV application is named as such.
    let other = insert(Emulator::with(
        Kind::Other,
        Algorithm::TripleDes,
        &mgmt::DEFAULT_KEY,
    ));
    let o = card(&["show", "--reader", READER]);
    assert!(!o.status.success());
    assert!(text(&o).contains("卡片不是 PIV 卡"), "{}", text(&o));
    let o = card(&["list"]);
    assert!(
        text(&o).contains(&format!("{READER}\t非 PIV 卡")),
        "{}",
        text(&o)
    );
    drop(other);

    // No card in any reader.
    let o = card(&["show"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("读卡器中没有卡片"), "{}", text(&o));
}
