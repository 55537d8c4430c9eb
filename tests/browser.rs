//! Browser tests: Debian's headless Chromium, driven through chromedriver (fantoccini), against
//! the real server. `.ci/run` installs `chromium`, `chromium-driver` and a CJK font. Set
//! `FAPIAO_SCREENSHOTS=DIR` to save screenshots of the main pages (the README links the ones
//! committed under `docs/screenshots/`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "integration/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use helpers::*;
use serde_json::json;

struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_driver() -> Driver {
    start_driver_with_home(None).await
}

/// chromedriver (and the Chromium it starts) with `HOME` set, so that Chromium uses the NSS
/// database under `HOME/.pki/nssdb`.
#[allow(clippy::zombie_processes)] // Driver::drop kills and waits.
async fn start_driver_with_home(home: Option<&std::path::Path>) -> Driver {
    let port = free_port();
    let mut cmd = Command::new("chromedriver");
    if let Some(h) = home {
        cmd.env("HOME", h);
    }
    let child = cmd
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (Debian package chromium-driver) must be installed");
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{url}/status")).await.is_ok() {
            return Driver { child, url };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start");
}

async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run",
                     "--window-size=1366,768", "--lang=zh-CN"]
        }),
    );
    // chromedriver speaks plain HTTP on loopback: no TLS stack needed here.
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

async fn shot(c: &Client, name: &str) {
    if let Ok(dir) = std::env::var("FAPIAO_SCREENSHOTS") {
        std::fs::create_dir_all(&dir).unwrap();
        let png = c.screenshot().await.unwrap();
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png).unwrap();
    }
}

/// The page's main text once it contains `needle` (pages load after a click; up to 10 s).
async fn wait_text(c: &Client, needle: &str) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(m) = c.find(Locator::Css("main")).await {
            if let Ok(t) = m.text().await {
                if t.contains(needle) {
                    return t;
                }
                last = t;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the page never showed {needle:?}; it shows: {last}");
}

/// Training login, ticking across two pages with the unsaved-changes warning, 保存, the
/// page-level select-all, 确定 and 提交, the statistics — in a real browser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taxpayer_selects_confirms_and_reads_statistics_in_chromium() {
    let app = spawn_app(Opts {
        clock: Some("2026-11-20T09:00:00+08:00"),
        ..Opts::default()
    });
    let op = app.staff_token("operator").await;
    let lines: Vec<String> = (1..=60)
        .map(|n| {
            json!({
                "code": "3500261130", "number": format!("{n:08}"), "type": "special",
                "issued_on": format!("2026-11-{:02}", 1 + n % 19), "seller_id": "91330100716105852F",
                "seller_name": "杭州宏远信息技术有限公司", "buyer_id": TAXPAYER_A,
                "amount": 10_000 * i64::from(n), "tax": 1_300 * i64::from(n),
            })
            .to_string()
        })
        .collect();
    app.import_ndjson(&op, lines.join("\n")).await;
    let driver = start_driver().await;
    let c = browser(&driver).await;
    let result = async {
        // Log in from the training list.
        c.goto(&app.url("/login")).await.unwrap();
        shot(&c, "login").await;
        c.find(Locator::XPath(&format!(
            "//input[@value='{TAXPAYER_A}']/following-sibling::button"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
        wait_text(&c, "当前税款所属期").await;
        shot(&c, "home").await;
        // 发票勾选: 60 invoices on two pages.
        c.goto(&app.url("/select?issued_from=2026-11-01&issued_to=2026-11-30"))
            .await
            .unwrap();
        wait_text(&c, "共 60 条").await;
        let boxes = c.find_all(Locator::Css("input[name=tick]")).await.unwrap();
        assert_eq!(boxes.len(), 50);
        boxes[0].click().await.unwrap();
        // Leaving the page unsaved warns; staying keeps the page.
        c.find(Locator::LinkText("下一页"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let alert = c.get_alert_text().await.unwrap();
        assert!(alert.contains("尚未保存"), "{alert}");
        c.dismiss_alert().await.unwrap();
        assert!(!c.current_url().await.unwrap().as_str().contains("page=2"));
        c.find(Locator::XPath("//button[text()='保存']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(&c, "保存成功：勾选 1 份").await;
        // The page-level select-all (at most 100), then 保存.
        c.find(Locator::Css("#select-all input"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let checked = c
            .execute(
                "return document.querySelectorAll('input[name=tick]:checked').length",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(checked, json!(50));
        shot(&c, "select").await;
        c.find(Locator::XPath("//button[text()='保存']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(&c, "保存成功：勾选 50 份").await;
        // 批量勾选: upload a sheet marking all 60 是 through the file input.
        let rows: Vec<fapiao::sheet::selection::DownloadRow> = (1..=60)
            .map(|n| fapiao::sheet::selection::DownloadRow {
                code: "3500261130".into(),
                number: format!("{n:08}"),
                issued_on: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
                kind: "增值税专用发票".into(),
                seller_id: "91330100716105852F".into(),
                seller_name: "杭州宏远信息技术有限公司".into(),
                amount: 10_000,
                tax: 1_300,
                status: "正常".into(),
                selected: true,
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("勾选清单.xlsx");
        std::fs::write(&path, fapiao::sheet::selection::workbook(&rows).unwrap()).unwrap();
        c.goto(&app.url("/bulk")).await.unwrap();
        wait_text(&c, "下载发票文件").await;
        c.find(Locator::Css("input[type=file]"))
            .await
            .unwrap()
            .send_keys(path.to_str().unwrap())
            .await
            .unwrap();
        c.find(Locator::XPath("//button[text()='上传']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let t = wait_text(&c, "批量勾选操作成功").await;
        assert!(t.contains("勾选9份") && t.contains("未变化51份"), "{t}");
        let latest = c
            .execute(
                "return getComputedStyle(document.querySelector('tr.latest td')).color",
                vec![],
            )
            .await
            .unwrap();
        assert_ne!(
            latest,
            json!("rgb(0, 0, 0)"),
            "the newest log entry is in red"
        );
        shot(&c, "bulk").await;
        // 确认勾选: 确定, then 提交.
        c.goto(&app.url("/confirm")).await.unwrap();
        wait_text(&c, "共 60 份").await;
        c.find(Locator::XPath("//button[text()='确定']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let t = wait_text(&c, "本次确认（待提交）").await;
        assert!(t.contains("这是本期的第 1 次确认操作"), "{t}");
        shot(&c, "confirm").await;
        c.find(Locator::XPath("//button[text()='提交']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(&c, "当前状态为“已提交”").await;
        // 抵扣统计.
        c.goto(&app.url("/statistics?period=2026-11"))
            .await
            .unwrap();
        wait_text(&c, "2026年11月申报抵扣发票统计表").await;
        shot(&c, "statistics").await;
        c.goto(&app.url("/help")).await.unwrap();
        shot(&c, "help").await;
    }
    .await;
    c.close().await.unwrap();
    result
}

/// In the filing period: the three answers at 提交 (不确定, then 已完成申报 by mistake), the
/// rollback from the home page with its automatic logout, then 未完成申报; the platform
/// password set on 档案信息维护 and the lockout after ten wrong tries — in a real browser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filing_period_answers_rollback_and_password_lockout_in_chromium() {
    let app = spawn_app(Opts {
        clock: Some("2026-11-20T09:00:00+08:00"),
        ..Opts::default()
    });
    let op = app.staff_token("operator").await;
    let admin = app.staff_token("admin").await;
    let lines: Vec<String> = (1..=3)
        .map(|n| {
            json!({
                "code": "3500261130", "number": format!("{n:08}"), "type": "special",
                "issued_on": "2026-11-05", "seller_id": "91330100716105852F",
                "seller_name": "杭州宏远信息技术有限公司", "buyer_id": TAXPAYER_A,
                "amount": 100_000, "tax": 13_000,
            })
            .to_string()
        })
        .collect();
    app.import_ndjson(&op, lines.join("\n")).await;
    let r = app
        .send_json(
            reqwest::Method::PUT,
            "/api/v1/office/clock",
            Some(&admin),
            &json!({"now": "2026-12-03T09:00:00+08:00"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let driver = start_driver().await;
    let c = browser(&driver).await;
    let login = |c: &Client| {
        let c = c.clone();
        let url = app.url("/login");
        async move {
            c.goto(&url).await.unwrap();
            c.find(Locator::XPath(&format!(
                "//input[@value='{TAXPAYER_A}']/following-sibling::button"
            )))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
            wait_text(&c, "当前税款所属期").await;
        }
    };
    let button = |c: &Client, label: &str| {
        let c = c.clone();
        let xpath = format!("//button[text()='{label}']");
        async move {
            c.find(Locator::XPath(&xpath))
                .await
                .unwrap()
                .click()
                .await
                .unwrap()
        }
    };
    let result = async {
        login(&c).await;
        c.goto(&app.url("/select?issued_from=2026-11-01&issued_to=2026-11-30"))
            .await
            .unwrap();
        wait_text(&c, "共 3 条").await;
        c.find(Locator::Css("#select-all input"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        button(&c, "保存").await;
        wait_text(&c, "保存成功：勾选 3 份").await;
        c.goto(&app.url("/confirm")).await.unwrap();
        button(&c, "确定").await;
        wait_text(&c, "请您选择是否已完成税款所属期2026年11月的增值税申报工作").await;
        button(&c, "不确定").await;
        wait_text(&c, "您需要先确定当前税款所属期的申报工作").await;
        button(&c, "已完成申报").await;
        wait_text(&c, "税款所属期已变更为下期").await;
        // The office learns that 202611 was not declared: 回退 appears on the home page.
        let r = app
            .send_json(
                reqwest::Method::PUT,
                &format!("/api/v1/office/declarations/{TAXPAYER_A}/202611"),
                Some(&op),
                &json!({"status": "not_declared"}),
            )
            .await;
        assert_eq!(r.status(), 200);
        c.goto(&app.url("/")).await.unwrap();
        wait_text(&c, "2026年12月").await;
        c.find(Locator::LinkText("回退税款所属期"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(&c, "回退后税款所属期").await;
        button(&c, "提交申请").await;
        wait_text(&c, "回退成功").await;
        c.find(Locator::LinkText("确定"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        // Logged out: back to the login page; log in again, still 202611.
        let t = c
            .find(Locator::Css("h1"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(t, "纳税人登录");
        login(&c).await;
        wait_text(&c, "2026年11月").await;
        c.goto(&app.url("/select?issued_from=2026-11-01&issued_to=2026-11-30"))
            .await
            .unwrap();
        c.find(Locator::Css("#select-all input"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        button(&c, "保存").await;
        wait_text(&c, "保存成功").await;
        c.goto(&app.url("/confirm")).await.unwrap();
        button(&c, "确定").await;
        button(&c, "未完成申报").await;
        wait_text(&c, "当前状态为“已提交”").await;
        // 档案信息维护: set a platform password; then ten wrong tries lock the account.
        c.goto(&app.url("/profile")).await.unwrap();
        c.find(Locator::Css("input[name=password]"))
            .await
            .unwrap()
            .send_keys("abcd1234")
            .await
            .unwrap();
        c.find(Locator::Css("input[name=question]"))
            .await
            .unwrap()
            .send_keys("开户银行？")
            .await
            .unwrap();
        c.find(Locator::Css("input[name=answer]"))
            .await
            .unwrap()
            .send_keys("兴业银行")
            .await
            .unwrap();
        button(&c, "启用平台密码").await;
        wait_text(&c, "平台密码已设置").await;
        c.goto(&app.url("/logout")).await.unwrap();
        button(&c, "确定").await;
        for left in (1..=10).rev() {
            c.goto(&app.url("/login")).await.unwrap();
            let field = c
                .find(Locator::XPath(&format!(
                    "//input[@value='{TAXPAYER_A}']/following-sibling::input[@name='password']"
                )))
                .await
                .unwrap();
            field.send_keys("wrong-pass").await.unwrap();
            c.find(Locator::XPath(&format!(
                "//input[@value='{TAXPAYER_A}']/following-sibling::button"
            )))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
            wait_text(&c, &format!("还可以尝试{left}次")).await;
        }
        // The eleventh wrong try locks; then even the right password is refused today.
        for pw in ["wrong-pass", "abcd1234"] {
            c.goto(&app.url("/login")).await.unwrap();
            let field = c
                .find(Locator::XPath(&format!(
                    "//input[@value='{TAXPAYER_A}']/following-sibling::input[@name='password']"
                )))
                .await
                .unwrap();
            field.send_keys(pw).await.unwrap();
            c.find(Locator::XPath(&format!(
                "//input[@value='{TAXPAYER_A}']/following-sibling::button"
            )))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
            wait_text(&c, "错误次数超过十次").await;
        }
    }
    .await;
    c.close().await.unwrap();
    result
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .expect("libnss3-tools (certutil, pk12util) must be installed");
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A real client certificate in Chromium: the demo-style PKCS#12 imported into the browser's
/// NSS database, the local CA trusted, and the `AutoSelectCertificateForUrls` policy so that
/// headless Chromium presents it; the login page sees it and logs in with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_login_in_chromium() {
    let app = spawn_app(Opts {
        http: false,
        ..Opts::default()
    });
    let origin = app.base.clone();
    let home = tempfile::tempdir().unwrap();
    let nss = home.path().join(".pki/nssdb");
    std::fs::create_dir_all(&nss).unwrap();
    let db = format!("sql:{}", nss.display());
    let now = time::OffsetDateTime::now_utc();
    let certs = app.data_dir.join("certs");
    let issued = fapiao::server::tls::issue_client_cert(
        &certs,
        TAXPAYER_A,
        "福州鑫达电子科技有限公司",
        now - time::Duration::days(1),
        now + time::Duration::days(30),
        "p12-secret",
    )
    .unwrap();
    let p12 = home.path().join("a.p12");
    std::fs::write(&p12, &issued.p12).unwrap();
    run(Command::new("certutil").args(["-N", "--empty-password", "-d", &db]));
    run(Command::new("pk12util")
        .args(["-d", &db, "-W", "p12-secret", "-i"])
        .arg(&p12));
    run(Command::new("certutil")
        .args(["-A", "-t", "C,,", "-n", "fapiao-local-ca", "-d", &db, "-i"])
        .arg(certs.join("ca.pem")));
    // Managed policy: present the certificate to this origin without asking.
    let policies = std::path::Path::new("/etc/chromium/policies/managed");
    std::fs::create_dir_all(policies).expect("write access to /etc/chromium/policies/managed");
    let policy = policies.join(format!("fapiao-test-{}.json", app.addr.port()));
    let rule = json!({"pattern": origin, "filter": {}}).to_string();
    std::fs::write(
        &policy,
        json!({"AutoSelectCertificateForUrls": [rule]}).to_string(),
    )
    .unwrap();
    let driver = start_driver_with_home(Some(home.path())).await;
    let c = browser(&driver).await;
    let result = async {
        c.goto(&format!("{origin}/login")).await.unwrap();
        let t = wait_text(&c, "已检测到税务数字证书").await;
        assert!(t.contains(TAXPAYER_A), "{t}");
        c.find(Locator::XPath(
            "//form[@action='/login/certificate']//button",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
        wait_text(&c, "当前税款所属期").await;
        c.goto(&format!("{origin}/help/check")).await.unwrap();
        wait_text(&c, "HTTPS 加密连接").await;
        wait_text(&c, "已检测到税务数字证书").await;
    }
    .await;
    c.close().await.unwrap();
    let _ = std::fs::remove_file(&policy);
    result
}
