//! Browser tests: Debian's headless Chromium, driven through chromedriver (fantoccini), against
//! the real server. `.ci/run` installs `chromium`, `chromium-driver` and a CJK font. Set
//! `FAPIAO_SCREENSHOTS=DIR` to save screenshots of the main pages (the README links the ones
//! committed under `docs/screenshots/`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../integration/helpers.rs"]
#[allow(dead_code)]
mod helpers;

// 风险纳税人 and 进项税额转出.
mod alerts;
// The console walks, one file per group of console pages.
mod console_certificates;
mod console_data;
mod console_people;
mod console_training;
mod documents;
// The portal's pages against the manual.
mod portal_manual;
// 勾选用途 on the selection pages.
mod uses;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt;
use helpers::*;
use serde_json::{json, Value};

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
    browser_with(driver, &[]).await
}

/// A Chromium session with `extra` command-line flags after the usual ones.
async fn browser_with(driver: &Driver, extra: &[&str]) -> Client {
    let mut args = vec![
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1366,768",
        "--lang=zh-CN",
    ];
    args.extend_from_slice(extra);
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({ "binary": "/usr/bin/chromium", "args": args }),
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

/// Logs in as taxpayer `id` from the training login list and waits for 首页.
async fn taxpayer_login(c: &Client, app: &TestApp, id: &str) {
    c.goto(&app.url("/login")).await.unwrap();
    c.find(Locator::XPath(&format!(
        "//input[@value='{id}']/following-sibling::button"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait_text(c, "当前税款所属期").await;
}

/// Logs `username` (password [`PASSWORD`]) in through the console's login form and waits for
/// the console.
async fn staff_login(c: &Client, app: &TestApp, username: &str) {
    c.goto(&app.url("/office/login")).await.unwrap();
    c.find(Locator::Css("input[name=username]"))
        .await
        .unwrap()
        .send_keys(username)
        .await
        .unwrap();
    c.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    c.find(Locator::Css("form[action='/office/login'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(c, "税务人员工作台").await;
}

/// Replaces the text of the input `css`.
async fn fill(c: &Client, css: &str, text: &str) {
    let e = c.find(Locator::Css(css)).await.unwrap();
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

/// Chooses `value` in the select `css`.
async fn choose(c: &Client, css: &str, value: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .select_by_value(value)
        .await
        .unwrap();
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
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
        let rows: Vec<fapiao::formats::sheet::selection::DownloadRow> = (1..=60)
            .map(|n| fapiao::formats::sheet::selection::DownloadRow {
                code: "3500261130".into(),
                number: format!("{n:08}"),
                digital: String::new(),
                issued_on: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
                kind: "增值税专用发票".into(),
                seller_id: "91330100716105852F".into(),
                seller_name: "杭州宏远信息技术有限公司".into(),
                amount: 10_000,
                tax: 1_300,
                status: "正常".into(),
                selected: true,
                usage: None,
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("勾选清单.xlsx");
        std::fs::write(
            &path,
            fapiao::formats::sheet::selection::workbook(&rows).unwrap(),
        )
        .unwrap();
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
        // The confirmation step, then 提交 for good.
        wait_text(&c, "您本次将确认发票 60 份").await;
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
        wait_text(&c, "税款所属期将变更为下期。是否继续？").await;
        button(&c, "提交").await;
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
        // (The answer page, not the one 确定 was clicked on, must be there first.)
        wait_text(&c, "请您选择是否已完成税款所属期2026年11月的增值税申报工作").await;
        button(&c, "未完成申报").await;
        wait_text(&c, "提交后已确认数据不可修改").await;
        button(&c, "提交").await;
        wait_text(&c, "当前状态为“已提交”").await;
        // 档案信息维护: set a platform password; then ten wrong tries lock the account.
        c.goto(&app.url("/profile")).await.unwrap();
        click(&c, "input[name=enabled][value=true]").await;
        fill(&c, "input[name=confirm]", "abcd1234").await;
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
        click(&c, "form.password button").await;
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
    let issued = fapiao::pki::tls::issue_client_cert(
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

/// Chromium flags for 征纳互动 calls: a fake camera and microphone, no permission prompt, and
/// videos that play without a click.
const MEDIA_FLAGS: &[&str] = &[
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
];

/// What the page's 征纳互动 scripts know, for the failure messages.
const ZN_DIAG: &str = "return {url: location.href, \
    widget: window.ZN ? window.ZN.state() : null, \
    console: window.ZNConsole ? window.ZNConsole.state() : null, \
    status: Array.from(document.querySelectorAll('#zn-window .zn-status, #console-status'))\
        .map(e => e.textContent).join(' | ')}";

/// Whether the widget's newest message is scrolled into view.
const LAST_IN_VIEW: &str = "const s = document.querySelector('#zn-window .zn-scroll'), \
    m = Array.from(s.querySelectorAll('.zn-m')).pop(); \
    if (!m) { return false; } \
    const sr = s.getBoundingClientRect(), mr = m.getBoundingClientRect(); \
    return mr.bottom <= sr.bottom + 1 && mr.top >= sr.top - 1";

/// Polls `script` (called with `args`) until it returns something other than null or false;
/// up to `secs` seconds. On time-out, panics naming `what`, with the last value and what the
/// page's 征纳互动 script knows.
async fn wait_js(c: &Client, what: &str, secs: u64, script: &str, args: Vec<Value>) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let last = match c.execute(script, args.clone()).await {
            Ok(v) if !matches!(v, Value::Null | Value::Bool(false)) => return v,
            Ok(v) => v,
            Err(e) => json!(e.to_string()),
        };
        if tokio::time::Instant::now() >= deadline {
            let page = c
                .execute(ZN_DIAG, vec![])
                .await
                .unwrap_or_else(|e| json!(e.to_string()));
            panic!("waited {secs} s for {what}; last value: {last}; page: {page}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks the element once it is shown and enabled (up to 10 s).
async fn click_ready(c: &Client, css: &str) {
    wait_js(
        c,
        &format!("{css} to be shown and enabled"),
        10,
        "const e = document.querySelector(arguments[0]); \
         return !!e && !e.disabled && e.checkVisibility()",
        vec![json!(css)],
    )
    .await;
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Types `text` into the textarea `input` and clicks `send`.
async fn type_and_send(c: &Client, input: &str, send: &str, text: &str) {
    wait_js(
        c,
        &format!("{input} to be enabled"),
        10,
        "const e = document.querySelector(arguments[0]); \
         return !!e && !e.disabled && e.checkVisibility()",
        vec![json!(input)],
    )
    .await;
    let field = c.find(Locator::Css(input)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
    click_ready(c, send).await;
}

/// The transcript shown under `scope` (`#zn-window` or `#panel-<i>`): `(seq, from, text)` per
/// message, `from` being the `zn-<from>` class.
async fn shown(c: &Client, scope: &str) -> Vec<(u64, String, String)> {
    let v = c
        .execute(
            "return Array.from(document.querySelectorAll(arguments[0] + ' .zn-log .zn-m[data-seq]'))\
             .map(d => [+d.dataset.seq, \
                 (/zn-(taxpayer|agent|bot|system)/.exec(d.className) || ['', ''])[1], \
                 d.querySelector('.zn-text').textContent])",
            vec![json!(scope)],
        )
        .await
        .unwrap();
    serde_json::from_value(v).unwrap()
}

/// Waits (10 s) until `scope` shows a message from `from` containing `text` with a seq above
/// `after`; returns that seq.
async fn wait_msg(c: &Client, who: &str, scope: &str, from: &str, text: &str, after: u64) -> u64 {
    wait_js(
        c,
        &format!("{who} to show a {from} message after seq {after} containing {text:?}"),
        10,
        "const m = Array.from(document.querySelectorAll(\
             arguments[0] + ' .zn-log .zn-m.zn-' + arguments[1] + '[data-seq]'))\
             .find(d => +d.dataset.seq > arguments[3] \
                 && d.querySelector('.zn-text').textContent.includes(arguments[2])); \
         return m ? +m.dataset.seq : null",
        vec![json!(scope), json!(from), json!(text), json!(after)],
    )
    .await
    .as_u64()
    .unwrap()
}

/// Asserts that a transcript's seqs run 1, 2, 3… with nothing repeated or missing.
fn assert_in_order(who: &str, list: &[(u64, String, String)]) {
    let seqs: Vec<u64> = list.iter().map(|m| m.0).collect();
    let want: Vec<u64> = (1..=list.len() as u64).collect();
    assert_eq!(
        seqs, want,
        "{who}'s messages are not 1..n in order: {list:?}"
    );
}

/// 征纳互动 end to end in two headless Chromiums with fake cameras: the taxpayer's widget
/// (loaded on first use; the bot; 发起人工导税 and the queue), the agent's console (the queue,
/// accept, chat both ways), the widget surviving a page change without duplicates, a video call
/// that reaches `connected` on both sides (screen-share button, hiding the chat, hang-up), the
/// agent's end and the taxpayer's rating, stored as the API shows. `FAPIAO_SCREENSHOTS` saves
/// `interaction-taxpayer.png` and `interaction-agent.png` during the call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interaction_taxpayer_and_agent_chat_and_call_in_two_chromiums() {
    let started = std::time::Instant::now();
    let app = spawn_app(Opts {
        interaction: Some(fapiao::config::InteractionSettings {
            working_hours: vec!["daily 00:00-24:00".into()],
            ..Default::default()
        }),
        ..Opts::default()
    });
    let faq = fapiao::service::interact::faq::seed().unwrap();
    let (agent_driver, taxpayer_driver) = tokio::join!(start_driver(), start_driver());
    let (a, t) = tokio::join!(
        browser_with(&agent_driver, MEDIA_FLAGS),
        browser_with(&taxpayer_driver, MEDIA_FLAGS)
    );
    // The console is tall: the call and the newest messages in one screenshot.
    a.set_window_size(1366, 1000).await.unwrap();
    const W: &str = "#zn-window";
    const NAME: &str = "福州鑫达电子科技有限公司";
    let result = std::panic::AssertUnwindSafe(async {
        // The agent: 税务人员登录, then the console (online while it is open).
        a.goto(&app.url("/office/login")).await.unwrap();
        a.find(Locator::Css("input[name=username]"))
            .await
            .unwrap()
            .send_keys("agent")
            .await
            .unwrap();
        a.find(Locator::Css("input[name=password]"))
            .await
            .unwrap()
            .send_keys(PASSWORD)
            .await
            .unwrap();
        a.find(Locator::Css("form[action='/office/login'] button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_js(
            &a,
            "the agent's login to leave /office/login",
            10,
            "return location.pathname !== '/office/login'",
            vec![],
        )
        .await;
        a.goto(&app.url("/office/interact")).await.unwrap();
        wait_js(
            &a,
            "the console to connect",
            10,
            "return document.getElementById('console').dataset.live === '1'",
            vec![],
        )
        .await;

        // The taxpayer: training login; the widget's script is fetched on first use only.
        taxpayer_login(&t, &app, TAXPAYER_A).await;
        let before = t
            .execute(
                "return [!!document.querySelector('script[src*=\"chat.js\"]'), !!window.ZN, \
                 !!document.getElementById('zn-window')]",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            before,
            json!([false, false, false]),
            "chat.js must not be loaded before the first click"
        );
        click_ready(&t, "#zn-open").await;
        wait_js(
            &t,
            "chat.js to be loaded and the window shown",
            10,
            "const w = document.getElementById('zn-window'); \
             return !!document.querySelector('script[src*=\"chat.js\"]') && !!window.ZN \
                 && !!w && w.checkVisibility()",
            vec![],
        )
        .await;
        let greeting = wait_msg(&t, "the taxpayer", W, "bot", "发起人工导税", 0).await;
        assert_eq!(greeting, 1, "the bot's greeting comes first");

        // A question the bot knows, then a vague word and one of its suggestions.
        let known = &faq[0];
        type_and_send(&t, "#zn-input", "#zn-send", &known.question).await;
        let q = wait_msg(&t, "the taxpayer", W, "taxpayer", &known.question, 0).await;
        let answered = wait_msg(&t, "the taxpayer", W, "bot", &known.answer, q).await;
        type_and_send(&t, "#zn-input", "#zn-send", "发票").await;
        let vague = wait_msg(&t, "the taxpayer", W, "taxpayer", "发票", answered).await;
        let suggested = wait_msg(&t, "the taxpayer", W, "bot", "您是否要咨询以下问题：", vague).await;
        let picked = wait_js(
            &t,
            "the suggested questions",
            10,
            "const m = document.querySelector('#zn-window .zn-m.zn-bot[data-seq=\"' + arguments[0] + '\"]'); \
             const b = m && m.querySelector('.zn-suggest .zn-q'); return b ? b.textContent : null",
            vec![json!(suggested)],
        )
        .await
        .as_str()
        .unwrap()
        .to_string();
        let entry = faq
            .iter()
            .find(|e| e.question == picked)
            .unwrap_or_else(|| panic!("the suggestion {picked:?} is not a FAQ question"));
        t.find(Locator::XPath(&format!(
            "//div[@data-seq='{suggested}']//button[contains(@class,'zn-q')][1]"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
        let asked = wait_msg(&t, "the taxpayer", W, "taxpayer", &picked, suggested).await;
        wait_msg(&t, "the taxpayer", W, "bot", &entry.answer, asked).await;

        // 发起人工导税: queued, first in line.
        click_ready(&t, "#zn-human").await;
        wait_js(
            &t,
            "the taxpayer to be queued with the position shown",
            10,
            "const p = document.getElementById('zn-position'); \
             return window.ZN.state().stage === 'queued' && p.checkVisibility() \
                 && p.textContent.includes('当前排队第 1 位')",
            vec![],
        )
        .await;
        let i = t
            .execute("return window.ZN.state().interaction", vec![])
            .await
            .unwrap()
            .as_u64()
            .expect("the widget's interaction id");
        let panel = format!("#panel-{i}");

        // The agent sees who waits, accepts; a tab for the interaction appears.
        wait_js(
            &a,
            "the taxpayer's name and ID in the queue",
            10,
            "const li = document.querySelector('#queue-list li[data-i=\"' + arguments[0] + '\"]'); \
             return !!li && li.textContent.includes(arguments[1]) && li.textContent.includes(arguments[2])",
            vec![json!(i), json!(NAME), json!(TAXPAYER_A)],
        )
        .await;
        click_ready(&a, "#accept-oldest").await;
        wait_js(
            &a,
            "the interaction's tab and panel, assigned and selected",
            10,
            "const p = document.getElementById('panel-' + arguments[0]), \
                   tab = document.getElementById('tab-' + arguments[0]); \
             return !!p && p.dataset.stage === 'assigned' && p.checkVisibility() \
                 && tab.getAttribute('aria-selected') === 'true' && tab.textContent.includes(arguments[1])",
            vec![json!(i), json!(NAME)],
        )
        .await;
        wait_js(
            &t,
            "the taxpayer's window to show the agent",
            10,
            "return window.ZN.state().stage === 'assigned' \
                 && document.querySelector('#zn-window .zn-info').textContent.includes('为您服务')",
            vec![],
        )
        .await;

        // Chat both ways.
        let hello = "您好，我是税务工作人员，请问有什么可以帮您？";
        type_and_send(&a, &format!("#input-{i}"), &format!("#send-{i}"), hello).await;
        let s1 = wait_msg(&a, "the agent", &panel, "agent", hello, 0).await;
        assert_eq!(wait_msg(&t, "the taxpayer", W, "agent", hello, 0).await, s1);
        let reply = "我想问一下勾选后怎么确认？";
        type_and_send(&t, "#zn-input", "#zn-send", reply).await;
        let s2 = wait_msg(&t, "the taxpayer", W, "taxpayer", reply, s1).await;
        assert_eq!(wait_msg(&a, "the agent", &panel, "taxpayer", reply, s1).await, s2);
        let mine = shown(&t, W).await;
        assert_in_order("the taxpayer", &mine);
        wait_js(
            &a,
            "the console to hold the whole transcript",
            10,
            "return document.querySelectorAll(arguments[0] + ' .zn-log .zn-m[data-seq]').length === arguments[1]",
            vec![json!(panel), json!(mine.len())],
        )
        .await;
        let theirs = shown(&a, &panel).await;
        assert_eq!(mine, theirs, "both sides show the same transcript");
        let last: Vec<&str> = mine.iter().rev().take(2).map(|m| m.2.as_str()).collect();
        assert_eq!(last, [reply, hello]);

        // Another portal page: the window comes back with the conversation, nothing twice.
        t.goto(&app.url("/select")).await.unwrap();
        wait_js(
            &t,
            "the widget to come back on /select",
            10,
            "const w = document.getElementById('zn-window'); \
             return location.pathname === '/select' && !!window.ZN && window.ZN.state().connected \
                 && window.ZN.state().stage === 'assigned' && !!w && w.checkVisibility()",
            vec![],
        )
        .await;
        let again = "我换了一个页面。";
        type_and_send(&t, "#zn-input", "#zn-send", again).await;
        let s3 = wait_msg(&t, "the taxpayer", W, "taxpayer", again, s2).await;
        // Frames come in commit order: anything resent would be here before the echo.
        let after = shown(&t, W).await;
        assert_in_order("the taxpayer after the page change", &after);
        assert_eq!(
            after.len(),
            mine.len() + 1,
            "the same messages plus the new one: {after:?}"
        );
        assert_eq!(&after[..mine.len()], &mine[..]);
        assert_eq!(s3, after.len() as u64);
        wait_msg(&a, "the agent", &panel, "taxpayer", again, s2).await;

        // 发起视频 → 接听视频: both peer connections reach `connected` with fake media.
        t.execute("window.confirm = () => true; return true", vec![])
            .await
            .unwrap();
        click_ready(&t, "#zn-video").await;
        click_ready(&a, &format!("#answer-{i}")).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let tc = t
                .execute(
                    "const w = document.getElementById('zn-window'); \
                     return [w.dataset.call, w.querySelector('.zn-remote').videoWidth]",
                    vec![],
                )
                .await
                .unwrap();
            let ac = a
                .execute(
                    "const p = document.getElementById('panel-' + arguments[0]); \
                     return [p.dataset.call, p.querySelector('.zn-remote').videoWidth]",
                    vec![json!(i)],
                )
                .await
                .unwrap();
            if tc[0] == "connected" && ac[0] == "connected" && tc[1] != 0 && ac[1] != 0 {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                let tp = t.execute(ZN_DIAG, vec![]).await.unwrap();
                let ap = a.execute(ZN_DIAG, vec![]).await.unwrap();
                panic!(
                    "waited 20 s for both peer connections to be connected with video \
                     ([state, remote videoWidth]): taxpayer {tc}, agent {ac}; \
                     taxpayer page: {tp}; agent page: {ap}"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        wait_js(
            &t,
            "the newest message to stay in view above the video",
            2,
            LAST_IN_VIEW,
            vec![],
        )
        .await;
        shot(&t, "interaction-taxpayer").await;
        a.execute(
            "document.getElementById('chats-pane').scrollIntoView(); return true",
            vec![],
        )
        .await
        .unwrap();
        shot(&a, "interaction-agent").await;
        wait_js(
            &t,
            "#zn-screen in the call (Chromium has getDisplayMedia)",
            5,
            "return document.getElementById('zn-screen').checkVisibility()",
            vec![],
        )
        .await;
        click_ready(&t, "#zn-hide-chat").await;
        wait_js(
            &t,
            "隐藏聊天 to hide the messages and the input",
            5,
            "const w = document.getElementById('zn-window'); \
             return !w.querySelector('.zn-scroll').checkVisibility() \
                 && !w.querySelector('.zn-compose').checkVisibility() \
                 && w.querySelector('.zn-video').checkVisibility() \
                 && document.getElementById('zn-hide-chat').getAttribute('aria-pressed') === 'true'",
            vec![],
        )
        .await;
        click_ready(&t, "#zn-hide-chat").await;
        wait_js(
            &t,
            "显示聊天 to show the messages and the input again",
            5,
            "const w = document.getElementById('zn-window'); \
             return w.querySelector('.zn-scroll').checkVisibility() \
                 && w.querySelector('.zn-compose').checkVisibility() \
                 && document.getElementById('zn-hide-chat').getAttribute('aria-pressed') === 'false'",
            vec![],
        )
        .await;
        wait_js(
            &t,
            "the newest message in view when the chat is shown again",
            2,
            LAST_IN_VIEW,
            vec![],
        )
        .await;

        // 关闭视频 by the taxpayer: both back to text.
        click_ready(&t, "#zn-hangup").await;
        wait_js(
            &t,
            "the taxpayer's call to close",
            10,
            "const w = document.getElementById('zn-window'); \
             return w.dataset.call === 'none' && !w.querySelector('.zn-video').checkVisibility() \
                 && document.getElementById('zn-video').checkVisibility()",
            vec![],
        )
        .await;
        wait_js(
            &a,
            "the console's call to close",
            10,
            "const p = document.getElementById('panel-' + arguments[0]); \
             return p.dataset.call === 'none' && !p.querySelector('.c-video').checkVisibility() \
                 && !document.getElementById('answer-' + arguments[0]).checkVisibility()",
            vec![json!(i)],
        )
        .await;
        let text1 = "视频已关闭，我再用文字问一下。";
        type_and_send(&t, "#zn-input", "#zn-send", text1).await;
        let s4 = wait_msg(&a, "the agent", &panel, "taxpayer", text1, s3).await;
        let text2 = "好的，请讲。";
        type_and_send(&a, &format!("#input-{i}"), &format!("#send-{i}"), text2).await;
        wait_msg(&t, "the taxpayer", W, "agent", text2, s4).await;

        // 结束互动 → the rating: 4 stars and a comment.
        a.execute("window.confirm = () => true; return true", vec![])
            .await
            .unwrap();
        click_ready(&a, &format!("#end-{i}")).await;
        wait_js(
            &t,
            "the rating view",
            10,
            "return document.querySelectorAll('#zn-window input[name=zn-stars]').length === 5 \
                 && document.getElementById('zn-rate-submit').checkVisibility()",
            vec![],
        )
        .await;
        click_ready(&t, "label[for=zn-star-4]").await;
        let comment = "回答很耐心，谢谢！";
        let field = t.find(Locator::Css("#zn-comment")).await.unwrap();
        field.send_keys(comment).await.unwrap();
        let checked = t
            .execute(
                "return document.querySelector('input[name=zn-stars]:checked').value",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(checked, json!("4"));
        click_ready(&t, "#zn-rate-submit").await;
        wait_js(
            &t,
            "感谢您的评价",
            10,
            "return window.ZN.state().stage === 'rated' \
                 && document.querySelector('#zn-window .zn-end').textContent.includes('感谢您的评价')",
            vec![],
        )
        .await;
        wait_js(
            &a,
            "the rating in the agent's panel",
            10,
            "const p = document.getElementById('panel-' + arguments[0]); \
             return p.dataset.stage === 'rated' && p.textContent.includes('纳税人已完成评价：4 星') \
                 && p.textContent.includes('★★★★☆')",
            vec![json!(i)],
        )
        .await;

        // Stored: the transcript API as 管理员.
        let admin = app.staff_token("admin").await;
        let r = app
            .get(&format!("/api/v1/interactions/{i}"), Some(&admin))
            .await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        let x = &body["interaction"];
        assert_eq!(
            (&x["stage"], &x["rating"], &x["comment"], &x["agent"]),
            (&json!("rated"), &json!(4), &json!(comment), &json!("agent")),
            "{x}"
        );
        let texts: Vec<&str> = body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["text"].as_str())
            .collect();
        let at: Vec<Option<usize>> = [hello, reply, again, text1, text2]
            .iter()
            .map(|s| texts.iter().position(|x| x == s))
            .collect();
        assert!(
            at.iter().all(Option::is_some) && at.windows(2).all(|w| w[0] < w[1]),
            "the stored transcript has the chat in order: {texts:?}"
        );

        // A shared computer: 退出, another taxpayer logs in in the same tab — nothing of the
        // first one's chat is kept or shown.
        t.goto(&app.url("/logout")).await.unwrap();
        taxpayer_login(&t, &app, TAXPAYER_B).await;
        wait_js(
            &t,
            "the first taxpayer's chat to be forgotten in this tab",
            10,
            "return sessionStorage.getItem('zn.data') === null \
                 && sessionStorage.getItem('zn.who') === document.getElementById('zn').dataset.who \
                 && !document.getElementById('zn-window')",
            vec![],
        )
        .await;
    })
    .catch_unwind()
    .await;
    let _ = a.close().await;
    let _ = t.close().await;
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
    eprintln!("征纳互动 in two Chromiums: {:?}", started.elapsed());
}
