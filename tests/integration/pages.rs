//! Pages over HTTP: login redirect, cookie session, HTML errors, logout confirmation.

use reqwest::StatusCode;

use crate::helpers::*;
use fapiao::store::prelude::*;

/// The text of a PDF (poppler's pdftotext).
fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args([path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils) is needed");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn with_cookie(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    cookie: &str,
) -> reqwest::Response {
    app.client
        .request(method, app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

/// The page a form's answer redirects to (Post/Redirect/Get): the answer must be a 303, and
/// the page it names is fetched with `cookie`. Returns the location and the page.
async fn follow(app: &TestApp, r: reqwest::Response, cookie: &str) -> (String, String) {
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "a form answers with a redirect"
    );
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let page = with_cookie(app, reqwest::Method::GET, &to, cookie).await;
    assert_eq!(page.status(), StatusCode::OK, "{to}");
    (to, page.text().await.unwrap())
}

fn session_cookie(r: &reqwest::Response) -> String {
    let c = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("fapiao_session="))
        .expect("session cookie");
    assert!(c.contains("HttpOnly"), "{c}");
    assert!(c.contains("SameSite=Strict"), "{c}");
    c.split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn home_needs_login_and_training_login_sets_a_cookie() {
    let app = spawn_app(Opts::default());
    let r = app.get("/", None).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login");

    let login = app.get("/login", None).await.text().await.unwrap();
    assert!(login.contains("培训纳税人"));
    assert!(login.contains(TAXPAYER_A));

    let r = post_form(&app, "/login/training", &[("taxpayer_id", TAXPAYER_A)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = session_cookie(&r);
    let home = with_cookie(&app, reqwest::Method::GET, "/", &cookie).await;
    assert_eq!(home.status(), StatusCode::OK);
    let html = home.text().await.unwrap();
    for text in [
        "福州鑫达电子科技有限公司",
        "发票勾选",
        "确认勾选",
        "抵扣统计",
        "档案信息维护",
        "退出",
        "当前税款所属期",
    ] {
        assert!(html.contains(text), "missing {text}");
    }

    // 退出 asks first, then ends the session.
    let confirm = with_cookie(&app, reqwest::Method::GET, "/logout", &cookie)
        .await
        .text()
        .await
        .unwrap();
    assert!(confirm.contains("您确定要退出本平台吗"));
    let r = with_cookie(&app, reqwest::Method::POST, "/logout", &cookie).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = with_cookie(&app, reqwest::Method::GET, "/", &cookie).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn refused_login_shows_the_manual_message_on_the_page() {
    let app = spawn_app(Opts::default());
    let r = post_form(&app, "/login/training", &[("taxpayer_id", NO_RATING)]).await;
    let (to, page) = follow(&app, r, "").await;
    assert!(to.starts_with("/login?note=closed&error="), "{to}");
    assert!(page.contains("信用等级未设置"));
}

#[tokio::test]
async fn errors_are_html_pages_off_the_api() {
    let app = spawn_app(Opts::default());
    let r = app.get("/no/such/page", None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(r.text().await.unwrap().contains("页面不存在"));
    let r = app.get("/office", None).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/office/login");
}

#[tokio::test]
async fn staff_page_login_and_console() {
    let app = spawn_app(Opts::default());
    let r = post_form(
        &app,
        "/office/login",
        &[("username", "admin"), ("password", "wrong-one-1")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("用户名或密码错误"));
    let r = post_form(
        &app,
        "/office/login",
        &[("username", "admin"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = session_cookie(&r);
    let html = with_cookie(&app, reqwest::Method::GET, "/office", &cookie)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("税务人员工作台"));
    assert!(html.contains("管理员"));
    // A taxpayer cookie does not open the office console.
    let css = app.get("/assets/app.css", None).await;
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
}

/// 首页: the period line with its deadline, 12 month cards coloured by state with their
/// figures, the year switch; 回退税款所属期 only when allowed, then its confirmation, the
/// rollback and the logout.
#[tokio::test]
async fn home_workbench_and_the_rollback_flow() {
    let app = spawn_app(Opts {
        clock: Some("2026-12-03T09:00:00+08:00"),
        ..Opts::default()
    });
    let op = app.staff_token("operator").await;
    let line = serde_json::json!({
        "code": "3500261130", "number": "00000001", "type": "special", "issued_on": "2026-11-02",
        "seller_id": "91330100716105852F", "seller_name": "杭州宏远信息技术有限公司",
        "buyer_id": TAXPAYER_A, "amount": 100_000, "tax": 13_000,
    });
    app.import_ndjson(&op, line.to_string()).await;
    // A's period is 202612 (created in December); put it back in November for this story.
    let a = fapiao::domain::TaxpayerId::parse(TAXPAYER_A).unwrap();
    let r = post_form(&app, "/login/training", &[("taxpayer_id", TAXPAYER_A)]).await;
    let cookie = session_cookie(&r);
    let html = with_cookie(&app, reqwest::Method::GET, "/", &cookie)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("当前税款所属期：<strong>2026年12月</strong>"),
        "{html}"
    );
    assert!(html.contains("2027年01月15日"));
    assert_eq!(html.matches("class=\"month past\"").count(), 11);
    assert_eq!(html.matches("class=\"month current\"").count(), 1);
    assert!(!html.contains("回退税款所属期</a>"));
    let next = with_cookie(&app, reqwest::Method::GET, "/?year=2027", &cookie)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(next.matches("class=\"month future\"").count(), 12);
    // Not allowed: the confirmation page says so, the POST is refused.
    let page = with_cookie(&app, reqwest::Method::GET, "/rollback", &cookie)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("不符合回退税款所属期的条件"));
    let r = with_cookie(&app, reqwest::Method::POST, "/rollback", &cookie).await;
    let (to, page) = follow(&app, r, &cookie).await;
    assert!(to.starts_with("/rollback?error="), "{to}");
    assert!(page.contains("不符合回退条件"), "{page}");
    // The story where it is allowed: confirmed in 202611 by answering 已完成申报 by mistake.
    let who = app.app.system("test");
    app.app
        .store
        .write(&who, |tx| {
            let mut t = tx.taxpayer(&a)?.unwrap();
            t.current_period = fapiao::domain::TaxPeriod::parse("202611").unwrap();
            tx.put_taxpayer(&t)?;
            tx.audit("test.setup", "", "");
            Ok(())
        })
        .unwrap();
    let token = app.taxpayer_token(TAXPAYER_A).await;
    let sel = serde_json::json!({"select": [{"code": "3500261130", "number": "00000001"}]});
    assert_eq!(
        app.post_json("/api/v1/selections", Some(&token), &sel)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.post_json(
            "/api/v1/confirmations",
            Some(&token),
            &serde_json::json!({})
        )
        .await
        .status(),
        StatusCode::OK
    );
    let v: serde_json::Value = app
        .post_json(
            "/api/v1/confirmations/202611/1/submit",
            Some(&token),
            &serde_json::json!({"declaration": "declared"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "void");
    let r = app
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/office/declarations/{TAXPAYER_A}/202611"),
            Some(&op),
            &serde_json::json!({"status": "not_declared"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = with_cookie(&app, reqwest::Method::GET, "/", &cookie)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("href=\"/rollback\""), "the button appears");
    let page = with_cookie(&app, reqwest::Method::GET, "/rollback", &cookie)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("回退后税款所属期")
            && page.contains("2026年11月")
            && page.contains("提交申请")
    );
    let r = with_cookie(&app, reqwest::Method::POST, "/rollback", &cookie).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cleared = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|v| v.to_str().unwrap().starts_with("fapiao_session=;"));
    assert!(cleared);
    let (to, page) = follow(&app, r, "").await;
    assert_eq!(to, "/rollback/done?period=202611");
    assert!(
        page.contains("回退成功") && page.contains("2026年11月"),
        "{page}"
    );
    // Logged out: the old session is gone.
    let r = with_cookie(&app, reqwest::Method::GET, "/", &cookie).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

/// 确认勾选 page: the selected list with totals, 确定 → 待提交 with the running figures, the
/// three answers in the filing period, 已提交, history and detail.
#[tokio::test]
async fn confirm_page_flow_in_the_filing_period() {
    let app = spawn_app(Opts {
        clock: Some("2026-11-20T09:00:00+08:00"),
        ..Opts::default()
    });
    let op = app.staff_token("operator").await;
    let lines: Vec<String> = (1..=3)
        .map(|n| {
            serde_json::json!({
                "code": "3500261130", "number": format!("{n:08}"), "type": "special", "issued_on": "2026-11-02",
                "seller_id": "91330100716105852F", "seller_name": "杭州宏远<信息>技术有限公司",
                "buyer_id": TAXPAYER_A, "amount": 100_000 * n, "tax": 13_000 * n,
            })
            .to_string()
        })
        .collect();
    app.import_ndjson(&op, lines.join("\n")).await;
    let admin = app.staff_token("admin").await;
    let r = app
        .send_json(
            reqwest::Method::PUT,
            "/api/v1/office/clock",
            Some(&admin),
            &serde_json::json!({"now": "2026-12-03T09:00:00+08:00"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let token = app.taxpayer_token(TAXPAYER_A).await;
    let sel = serde_json::json!({"select": [{"code": "3500261130", "number": "00000001"}, {"code": "3500261130", "number": "00000002"}]});
    assert_eq!(
        app.post_json("/api/v1/selections", Some(&token), &sel)
            .await
            .status(),
        StatusCode::OK
    );
    let r = post_form(&app, "/login/training", &[("taxpayer_id", TAXPAYER_A)]).await;
    let cookie = session_cookie(&r);
    let html = with_cookie(&app, reqwest::Method::GET, "/confirm", &cookie)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("已勾选未确认的发票"));
    assert!(
        html.contains("3,000.00") && html.contains("390.00"),
        "totals"
    );
    assert!(html.contains("杭州宏远&lt;信息&gt;技术有限公司"), "escaped");
    let form = |path: &str, fields: &[(&str, &str)]| {
        app.client
            .post(app.url(path))
            .header("cookie", &cookie)
            .form(fields)
            .send()
    };
    let (to, html) = follow(&app, form("/confirm/make", &[]).await.unwrap(), &cookie).await;
    assert_eq!(to, "/confirm#pending-h");
    assert!(
        html.contains("本次确认（待提交）")
            && html.contains("这是本期的第 <strong>1</strong> 次确认操作")
    );
    assert!(html.contains("请您选择是否已完成税款所属期2026年11月的增值税申报工作"));
    for label in ["未完成申报", "已完成申报", "不确定"] {
        assert!(html.contains(label));
    }
    // A reload of the redirect's page makes no second batch.
    let again = with_cookie(&app, reqwest::Method::GET, &to, &cookie)
        .await
        .text()
        .await
        .unwrap();
    assert!(again.contains("这是本期的第 <strong>1</strong> 次确认操作"));
    let (_, html) = follow(
        &app,
        form("/confirm/202611/1/submit", &[("declaration", "unsure")])
            .await
            .unwrap(),
        &cookie,
    )
    .await;
    assert!(html.contains("您需要先确定当前税款所属期的申报工作"));
    let (to, html) = follow(
        &app,
        form("/confirm/202611/1/submit", &[]).await.unwrap(),
        &cookie,
    )
    .await;
    assert!(to.starts_with("/confirm?error="), "{to}");
    assert!(
        html.contains(
            "role=\"alert\">尊敬的纳税人：因获取您税款所属期2026年11月的申报结果信息有延迟"
        ),
        "{html}"
    );
    // The confirmation step: a page repeating the count and tax; nothing is submitted yet.
    let step = with_cookie(
        &app,
        reqwest::Method::GET,
        "/confirm/202611/1/submit?declaration=not_declared",
        &cookie,
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        step.contains("您本次将确认发票 <strong>2</strong> 份，税额合计 <strong>390.00</strong>"),
        "{step}"
    );
    assert!(step.contains("name=\"declaration\" value=\"not_declared\""));
    let (to, html) = follow(
        &app,
        form(
            "/confirm/202611/1/submit",
            &[("declaration", "not_declared")],
        )
        .await
        .unwrap(),
        &cookie,
    )
    .await;
    assert!(html.contains("当前状态为“已提交”"), "{html}");
    assert!(html.contains("第1次") && html.contains("已提交"));
    // Reloading the result submits nothing again; the step page now refuses.
    let again = with_cookie(&app, reqwest::Method::GET, &to, &cookie)
        .await
        .text()
        .await
        .unwrap();
    assert!(again.contains("当前状态为“已提交”"));
    let r = with_cookie(
        &app,
        reqwest::Method::GET,
        "/confirm/202611/1/submit?declaration=not_declared",
        &cookie,
    )
    .await;
    let (_, html) = follow(&app, r, &cookie).await;
    assert!(html.contains("该批次不是待提交状态"));
    // 确认标志 已确认: the submitted invoices, paged.
    let html = with_cookie(
        &app,
        reqwest::Method::GET,
        "/confirm?flag=confirmed",
        &cookie,
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(html.contains("2026年11月已确认的发票") && html.contains("00000002"));
    assert!(
        html.contains("共 <strong class=\"num\">2</strong> 份"),
        "{html}"
    );
    let r = with_cookie(&app, reqwest::Method::GET, "/confirm?flag=x", &cookie).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = with_cookie(
        &app,
        reqwest::Method::GET,
        "/confirm?period=2026-11&batch=1",
        &cookie,
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(html.contains("2026年11月第1次确认明细（已提交）"));
    assert!(html.contains("00000002"));
    // Nothing selected now: 确定 says so.
    let (_, html) = follow(&app, form("/confirm/make", &[]).await.unwrap(), &cookie).await;
    assert!(html.contains("当前没有已勾选未确认的发票"));
}

/// 抵扣统计 page: the table (certified and deductible), update time, exceptions, the chart.
#[tokio::test]
async fn statistics_page_shows_the_table_exceptions_and_chart() {
    let app = spawn_app(Opts {
        clock: Some("2026-11-20T09:00:00+08:00"),
        ..Opts::default()
    });
    let op = app.staff_token("operator").await;
    let lines: Vec<String> = (1..=3)
        .map(|n| {
            serde_json::json!({
                "code": "3500261130", "number": format!("{n:08}"), "type": "special", "issued_on": "2026-11-02",
                "seller_id": "91330100716105852F", "seller_name": "杭州宏远信息技术有限公司",
                "buyer_id": TAXPAYER_A, "amount": 100_000 * n, "tax": 13_000 * n,
            })
            .to_string()
        })
        .collect();
    app.import_ndjson(&op, lines.join("\n")).await;
    let token = app.taxpayer_token(TAXPAYER_A).await;
    let sel = serde_json::json!({"select": [{"code": "3500261130", "number": "00000001"}, {"code": "3500261130", "number": "00000002"}]});
    app.post_json("/api/v1/selections", Some(&token), &sel)
        .await;
    app.post_json(
        "/api/v1/confirmations",
        Some(&token),
        &serde_json::json!({}),
    )
    .await;
    let r = app
        .post_json(
            "/api/v1/confirmations/202611/1/submit",
            Some(&token),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    app.send_json(
        reqwest::Method::PUT,
        "/api/v1/office/invoices/3500261130/00000002/status",
        Some(&op),
        &serde_json::json!({"status": "voided"}),
    )
    .await;
    let r = post_form(&app, "/login/training", &[("taxpayer_id", TAXPAYER_A)]).await;
    let cookie = session_cookie(&r);
    let html = with_cookie(
        &app,
        reqwest::Method::GET,
        "/statistics?period=2026-11",
        &cookie,
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(html.contains("2026年11月申报抵扣发票统计表"));
    assert!(html.contains("报表更新时间：2026-11-20"));
    // certified 2 / 3,000.00 / 390.00; deductible 1 / 1,000.00 / 130.00
    assert!(html.contains("3,000.00") && html.contains("390.00"));
    assert!(html.contains("1,000.00") && html.contains("130.00"));
    assert!(html.contains("异常发票清单（共 1 份）"));
    assert!(html.contains("<td class=\"exception\">作废</td>"));
    assert!(html.contains("<svg class=\"chart\""));
    assert_eq!(html.matches("<rect ").count(), 12);
    // 查看明细: every certified invoice of the period, any status.
    let html = with_cookie(
        &app,
        reqwest::Method::GET,
        "/statistics?period=202611&details=1",
        &cookie,
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(html.contains("发票明细（共 2 份"), "{html}");
    assert!(
        html.contains(">00000001<") && html.contains(">00000002<") && !html.contains(">00000003<")
    );
    let r = with_cookie(
        &app,
        reqwest::Method::GET,
        "/statistics?period=2026-13",
        &cookie,
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// 发票查询 page: 单票查询 with every field and the history; 未到期; not found.
#[tokio::test]
async fn query_page_single_and_not_yet_due() {
    let app = spawn_app(Opts {
        clock: Some("2026-12-03T09:00:00+08:00"),
        ..Opts::default()
    });
    let op = app.staff_token("operator").await;
    // A is in 202612 (created now); put it in 202611 so that December's invoice is 未到期.
    let a = fapiao::domain::TaxpayerId::parse(TAXPAYER_A).unwrap();
    let who = app.app.system("test");
    app.app
        .store
        .write(&who, |tx| {
            let mut t = tx.taxpayer(&a)?.unwrap();
            t.current_period = fapiao::domain::TaxPeriod::parse("202611").unwrap();
            tx.put_taxpayer(&t)?;
            tx.audit("test.setup", "", "");
            Ok(())
        })
        .unwrap();
    let lines: Vec<String> = [(1, "2026-11-02"), (2, "2026-12-01")]
        .iter()
        .map(|(n, d)| {
            serde_json::json!({
                "code": "3500261130", "number": format!("{n:08}"), "type": "freight", "issued_on": d,
                "seller_id": "91330100716105852F", "seller_name": "杭州宏远信息技术有限公司",
                "buyer_id": TAXPAYER_A, "amount": 100_000, "tax": 9_000,
            })
            .to_string()
        })
        .collect();
    app.import_ndjson(&op, lines.join("\n")).await;
    let token = app.taxpayer_token(TAXPAYER_A).await;
    let sel = serde_json::json!({"select": [{"code": "3500261130", "number": "00000001"}]});
    app.post_json("/api/v1/selections", Some(&token), &sel)
        .await;
    let r = post_form(&app, "/login/training", &[("taxpayer_id", TAXPAYER_A)]).await;
    let cookie = session_cookie(&r);
    let html = with_cookie(
        &app,
        reqwest::Method::GET,
        "/query?mode=single&code=3500261130&number=00000001",
        &cookie,
    )
    .await
    .text()
    .await
    .unwrap();
    for s in [
        "货物运输业增值税专用发票",
        "杭州宏远信息技术有限公司",
        "1,000.00",
        "90.00",
        "已勾选",
        "状态变更记录",
        "勾选（税款所属期2026年11月）",
        "<td>勾选</td>",
    ] {
        assert!(html.contains(s), "{s}");
    }
    // The history names its actions in Chinese, never by their codes.
    assert!(!html.contains("<td>selected</td>"), "a raw action code");
    let r = with_cookie(
        &app,
        reqwest::Method::GET,
        "/query?mode=single&code=3500261130&number=00000099",
        &cookie,
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("未查询到符合条件的发票"));
    let r = with_cookie(
        &app,
        reqwest::Method::GET,
        "/query?mode=single&code=35&number=1",
        &cookie,
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = with_cookie(&app, reqwest::Method::GET, "/query?mode=due", &cookie)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("未到期发票（共 1 份"), "{html}");
    assert!(html.contains("00000002") && !html.contains(">00000001<"));
}

/// 档案信息维护: first-login confirmation, validation, the platform password and its use at
/// the training login, lockout after ten wrong tries.
#[tokio::test]
async fn profile_page_and_platform_password_lockout() {
    let app = spawn_app(Opts::default());
    set_first_login_done(&app.app, TAXPAYER_A, false);
    let r = post_form(&app, "/login/training", &[("taxpayer_id", TAXPAYER_A)]).await;
    let cookie = session_cookie(&r);
    // The first-login gate: every portal page but 档案信息维护 leads there until it is saved
    // (the JSON API is not gated).
    for path in [
        "/",
        "/select",
        "/confirm",
        "/query",
        "/statistics",
        "/bulk",
        "/rollback",
    ] {
        let r = with_cookie(&app, reqwest::Method::GET, path, &cookie).await;
        let (to, page) = follow(&app, r, &cookie).await;
        assert_eq!(to, "/profile?first=1", "{path}");
        assert!(page.contains("首次登录：请先确认档案信息"), "{path}");
    }
    let r = with_cookie(&app, reqwest::Method::POST, "/confirm/make", &cookie).await;
    assert_eq!(r.headers()["location"], "/profile?first=1");
    let token = app.taxpayer_token(TAXPAYER_A).await;
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status(),
        StatusCode::OK
    );
    let form = |path: &'static str, fields: Vec<(&'static str, &'static str)>| {
        app.client
            .post(app.url(path))
            .header("cookie", &cookie)
            .form(&fields)
            .send()
    };
    let r = form(
        "/profile",
        vec![("contact_name", "李四"), ("contact_phone", "not a phone")],
    )
    .await
    .unwrap();
    let (_, html) = follow(&app, r, &cookie).await;
    assert!(html.contains("请填写正确的办税人员联系电话"), "{html}");
    let r = form(
        "/profile",
        vec![
            ("address", "福州市鼓楼区"),
            ("contact_name", "李四"),
            ("contact_phone", "0591-87654321"),
            ("contact_email", "li@example.com"),
        ],
    )
    .await
    .unwrap();
    let (_, html) = follow(&app, r, &cookie).await;
    assert!(
        html.contains("保存成功") && html.contains("福州市鼓楼区") && !html.contains("首次登录：")
    );
    let home = with_cookie(&app, reqwest::Method::GET, "/", &cookie).await;
    assert_eq!(home.status(), StatusCode::OK, "confirmed: the gate opens");
    let r = form(
        "/profile/password",
        vec![
            ("enabled", "true"),
            ("password", "12345678"),
            ("confirm", "12345678"),
            ("question", "q"),
            ("answer", "a"),
        ],
    )
    .await
    .unwrap();
    let (_, html) = follow(&app, r, &cookie).await;
    assert!(html.contains("不能为纯字母或纯数字"));
    // 确认密码 must repeat the password.
    let r = form(
        "/profile/password",
        vec![
            ("enabled", "true"),
            ("password", "abcd1234"),
            ("confirm", "abcd1235"),
            ("question", "q"),
            ("answer", "a"),
        ],
    )
    .await
    .unwrap();
    let (to, html) = follow(&app, r, &cookie).await;
    assert!(
        to.starts_with("/profile?error=") && to.ends_with("#password-card"),
        "{to}"
    );
    assert!(html.contains("两次输入的平台密码不一致") && html.contains("当前状态：<strong>未启用"));
    let r = form(
        "/profile/password",
        vec![
            ("enabled", "true"),
            ("password", "abcd1234"),
            ("confirm", "abcd1234"),
            ("question", "开户银行？"),
            ("answer", "兴业银行"),
        ],
    )
    .await
    .unwrap();
    // Saved: back to 首页, as the manual says.
    let (to, html) = follow(&app, r, &cookie).await;
    assert_eq!(to, "/?done=password_on");
    assert!(html.contains("平台密码已设置"));
    // The training login now asks for it; ten wrong tries, then locked.
    let login = app.get("/login", None).await.text().await.unwrap();
    assert!(login.contains("placeholder=\"平台密码\""));
    // Refusals go back to the login page with the reason (a reload tries nothing again).
    let r = post_form(&app, "/login/training", &[("taxpayer_id", TAXPAYER_A)]).await;
    let (_, page) = follow(&app, r, "").await;
    assert!(page.contains("请输入平台密码"));
    for left in (1..=10).rev() {
        let r = post_form(
            &app,
            "/login/training",
            &[("taxpayer_id", TAXPAYER_A), ("password", "wrong-123")],
        )
        .await;
        assert!(r.headers().get("set-cookie").is_none());
        let (to, page) = follow(&app, r, "").await;
        assert!(page.contains(&format!("还可以尝试{left}次")));
        // Reloading the answer is a GET: no further try is counted.
        let again = app.get(&to, None).await.text().await.unwrap();
        assert!(again.contains(&format!("还可以尝试{left}次")));
    }
    let r = post_form(
        &app,
        "/login/training",
        &[("taxpayer_id", TAXPAYER_A), ("password", "wrong-123")],
    )
    .await;
    let (_, page) = follow(&app, r, "").await;
    assert!(page.contains("错误次数超过十次"));
    let r = post_form(
        &app,
        "/login/training",
        &[("taxpayer_id", TAXPAYER_A), ("password", "abcd1234")],
    )
    .await;
    assert!(r.headers().get("set-cookie").is_none());
    let (_, page) = follow(&app, r, "").await;
    assert!(page.contains("错误次数超过十次"));
}

/// 发票勾选 page: the condition form, results with totals, 保存 of ticks and unticks against
/// what was shown, the no-match message, a bad condition.
#[tokio::test]
async fn select_page_query_tick_save_and_untick() {
    let app = spawn_app(Opts {
        clock: Some("2026-11-20T09:00:00+08:00"),
        ..Opts::default()
    });
    let op = app.staff_token("operator").await;
    let lines: Vec<String> = (1..=4)
        .map(|n| {
            serde_json::json!({
                "code": "3500261130", "number": format!("{n:08}"), "type": "special", "issued_on": format!("2026-11-0{n}"),
                "seller_id": "91330100716105852F", "seller_name": "杭州宏远信息技术有限公司",
                "buyer_id": TAXPAYER_A, "amount": 100_000, "tax": 13_000,
            })
            .to_string()
        })
        .collect();
    app.import_ndjson(&op, lines.join("\n")).await;
    let r = post_form(&app, "/login/training", &[("taxpayer_id", TAXPAYER_A)]).await;
    let cookie = session_cookie(&r);
    let html = with_cookie(&app, reqwest::Method::GET, "/select", &cookie)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("本期可勾选发票的截止日期为：<strong>2026年12月15日</strong>"));
    assert!(html.contains("name=\"issued_from\"") && html.contains("/assets/select.js"));
    let q = "/select?issued_from=2026-11-01&issued_to=2026-11-30&per_page=50";
    let html = with_cookie(&app, reqwest::Method::GET, q, &cookie)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("共 <strong>4</strong> 条"), "{html}");
    assert!(html.contains("4,000.00") && html.contains("520.00"));
    assert_eq!(html.matches("name=\"tick\"").count(), 4);
    // Tick 1 and 3 on the page and save.
    let back = "issued_from=2026-11-01&issued_to=2026-11-30&per_page=50";
    let save = |ticks: &[&str]| {
        let mut body: Vec<(&str, String)> = vec![("back", back.to_string())];
        for n in 1..=4 {
            body.push(("shown", format!("3500261130:{n:08}")));
        }
        for t in ticks {
            body.push(("tick", format!("3500261130:{t}")));
        }
        app.client
            .post(app.url("/select/save"))
            .header("cookie", &cookie)
            .form(&body)
            .send()
    };
    let (to, html) = follow(
        &app,
        save(&["00000001", "00000003"]).await.unwrap(),
        &cookie,
    )
    .await;
    assert!(to.starts_with(&format!("/select?{back}")), "{to}");
    assert!(
        html.contains("保存成功：勾选 2 份，撤销勾选 0 份"),
        "{html}"
    );
    // The default 勾选状态 is 未勾选: the saved ones have left the list.
    assert!(html.contains("共 <strong>2</strong> 条"));
    let all = with_cookie(
        &app,
        reqwest::Method::GET,
        &format!("{q}&selected=all"),
        &cookie,
    )
    .await
    .text()
    .await
    .unwrap();
    assert_eq!(all.matches("checked").count(), 2);
    // Untick 3 (shown on a 全部 page): it is unselected.
    let back_all = format!("{back}&selected=all");
    let mut body: Vec<(&str, String)> = vec![("back", back_all)];
    for n in 1..=4 {
        body.push(("shown", format!("3500261130:{n:08}")));
    }
    body.push(("tick", "3500261130:00000001".to_string()));
    let r = app
        .client
        .post(app.url("/select/save"))
        .header("cookie", &cookie)
        .form(&body)
        .send()
        .await
        .unwrap();
    let (_, html) = follow(&app, r, &cookie).await;
    assert!(
        html.contains("保存成功：勾选 0 份，撤销勾选 1 份"),
        "{html}"
    );
    // No match, and a bad condition.
    let html = with_cookie(
        &app,
        reqwest::Method::GET,
        "/select?issued_from=2026-10-01&issued_to=2026-10-31",
        &cookie,
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(html.contains("没有查询到符合条件的发票信息"));
    let r = with_cookie(
        &app,
        reqwest::Method::GET,
        "/select?issued_from=2026-11-30&issued_to=2026-11-01",
        &cookie,
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("开票日期止不能早于开票日期起"));
    // 已认证: the date condition is 确认/扫描日期; 开票日期 is not required (nor applied).
    let r = with_cookie(
        &app,
        reqwest::Method::GET,
        "/select?certified=true&certified_from=2026-11-01",
        &cookie,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("没有查询到符合条件的发票信息"));
    // The full pager, its links keeping the conditions.
    let paged = with_cookie(
        &app,
        reqwest::Method::GET,
        "/select?issued_from=2026-11-01&issued_to=2026-11-30&selected=all&per_page=1&page=2",
        &cookie,
    )
    .await
    .text()
    .await
    .unwrap();
    for (label, page) in [("首页", 1), ("上一页", 1), ("下一页", 3), ("尾页", 4)] {
        assert!(
            paged.contains(&format!("page={page}&amp;per_page=1\" rel="))
                && paged.contains(&format!(">{label}</a>")),
            "{label}: {paged}"
        );
    }
    assert!(paged.contains("<form class=\"jump\" method=\"get\" action=\"/select\">"));
    assert!(paged.contains("<input type=\"hidden\" name=\"issued_from\" value=\"2026-11-01\">"));
    // Certified view: no 保存.
    let html = with_cookie(
        &app,
        reqwest::Method::GET,
        &format!("{q}&certified=true&method=all"),
        &cookie,
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(!html.contains(">保存<"));
}

/// CSRF: a form post from another site is refused; from the platform's own pages it passes.
#[tokio::test]
async fn cross_site_form_posts_are_refused() {
    let app = spawn_app(Opts::default());
    let r = app
        .client
        .post(app.url("/login/training"))
        .header("origin", "https://evil.example")
        .form(&[("taxpayer_id", TAXPAYER_A)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("跨站请求"));
    let r = app
        .client
        .post(app.url("/api/v1/session"))
        .header("origin", "https://evil.example")
        .json(&serde_json::json!({"taxpayer_id": TAXPAYER_A}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let own = app.base.clone();
    let r = app
        .client
        .post(app.url("/login/training"))
        .header("origin", own.as_str())
        .form(&[("taxpayer_id", TAXPAYER_A)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = session_cookie(&r);
    let r = app
        .client
        .post(app.url("/logout"))
        .header("cookie", &cookie)
        .header("referer", "https://evil.example/page")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .client
        .post(app.url("/logout"))
        .header("cookie", &cookie)
        .header("referer", format!("{own}/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

/// Help pages: flow, FAQ, environment check, manual (read and download), and the what's-new
/// note dismissed for good.
#[tokio::test]
async fn help_pages_and_the_whats_new_note() {
    let app = spawn_app(Opts::default());
    let flow = app.get("/help", None).await.text().await.unwrap();
    assert!(flow.contains("<svg class=\"flow\"") && flow.contains("确认勾选"));
    let faq = app.get("/help/faq", None).await.text().await.unwrap();
    assert!(faq.contains("档案信息未同步") && faq.contains("<details"));
    let check = app.get("/help/check", None).await.text().await.unwrap();
    assert!(check.contains("未加密的 HTTP 连接") && check.contains("未检测到客户端证书"));
    let r = app.get("/help/manual?download=1", None).await;
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment; filename=\"fapiao-manual.pdf\""));
    assert_eq!(r.headers()["content-type"], "application/pdf");
    // The PDF (the project's own engine) has every module, read back with pdftotext.
    let text = pdftotext(&r.bytes().await.unwrap());
    assert!(text.contains("操作手册"), "{text}");
    let page = app.get("/help/manual", None).await.text().await.unwrap();
    for m in [
        "登录",
        "档案信息维护",
        "首页",
        "发票勾选",
        "批量勾选",
        "确认勾选",
        "回退税款所属期",
        "抵扣统计",
        "发票查询",
        "征纳互动",
        "退出",
    ] {
        assert!(
            text.contains(&format!("、{m}")),
            "{m} not in the PDF: {text}"
        );
        assert!(page.contains(&format!("、{m}</h2>")), "{m} not on the page");
    }
    assert!(page.contains("src=\"/help/manual/select.png\""));
    let png = app.get("/help/manual/select.png", None).await;
    assert_eq!(png.headers()["content-type"], "image/png");
    let r = post_form(&app, "/login/training", &[("taxpayer_id", TAXPAYER_A)]).await;
    let cookie = session_cookie(&r);
    let home = with_cookie(&app, reqwest::Method::GET, "/", &cookie)
        .await
        .text()
        .await
        .unwrap();
    assert!(home.contains("下次不再提醒我"));
    let r = with_cookie(
        &app,
        reqwest::Method::POST,
        "/help/whats-new/dismiss",
        &cookie,
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let seen = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .find(|c| c.starts_with("fapiao_whats_new_seen="))
        .unwrap();
    let home = with_cookie(
        &app,
        reqwest::Method::GET,
        "/",
        &format!("{cookie}; {seen}"),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(!home.contains("下次不再提醒我"));
}

/// The login page (manual §1.1.1(3), §1.1.5, §1.1.6): 升级内容说明 with 关闭 and 下次不再提醒我,
/// 收藏本站 with the keyboard shortcut, 检测环境 at the top right.
#[tokio::test]
async fn login_page_note_bookmark_and_environment_check() {
    let app = spawn_app(Opts::default());
    let login = app.get("/login", None).await.text().await.unwrap();
    let tools = login.split("<nav class=\"login-tools\"").nth(1).unwrap();
    let tools = tools.split("</nav>").next().unwrap();
    assert!(tools.contains("href=\"/help/check\">检测环境"), "{tools}");
    assert!(tools.contains("收藏本站") && tools.contains("<kbd>Ctrl</kbd>+<kbd>D</kbd>"));
    assert!(login.contains("升级内容说明") && login.contains("href=\"/login?note=closed\">关闭"));
    // 关闭: gone for this visit only.
    let closed = app
        .get("/login?note=closed", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(!closed.contains("升级内容说明"));
    // 确认 without 下次不再提醒我 closes it; with the tick it stays away.
    let r = post_form(&app, "/help/whats-new/dismiss", &[("back", "/login")]).await;
    assert_eq!(r.headers()["location"], "/login?note=closed");
    assert!(r.headers().get("set-cookie").is_none());
    let r = post_form(
        &app,
        "/help/whats-new/dismiss",
        &[("back", "/login"), ("never", "1")],
    )
    .await;
    assert_eq!(r.headers()["location"], "/login");
    let seen = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let login = with_cookie(&app, reqwest::Method::GET, "/login", &seen)
        .await
        .text()
        .await
        .unwrap();
    assert!(!login.contains("升级内容说明") && login.contains("纳税人登录"));
}

/// Training mode: the forgotten-password page lets one choose the taxpayer (no certificate).
#[tokio::test]
async fn training_recovery_chooses_the_taxpayer() {
    let app = spawn_app(Opts::default());
    let token = app.taxpayer_token(TAXPAYER_A).await;
    let r = app
        .send_json(
            reqwest::Method::PUT,
            "/api/v1/me/password",
            Some(&token),
            &serde_json::json!({"enabled": true, "password": "abcd1234", "question": "开户银行？", "answer": "兴业银行"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = app.get("/login/recover", None).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(
        page.contains(&format!("<option value=\"{TAXPAYER_A}\"")),
        "{page}"
    );
    assert!(
        !page.contains(&format!("<option value=\"{TAXPAYER_B}\"")),
        "no password, not listed"
    );
    let page = app
        .get(&format!("/login/recover?taxpayer_id={TAXPAYER_B}"), None)
        .await;
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = app
        .get(&format!("/login/recover?taxpayer_id={TAXPAYER_A}"), None)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("开户银行？"));
    let r = post_form(
        &app,
        "/login/recover",
        &[("taxpayer_id", TAXPAYER_A), ("answer", "工商银行")],
    )
    .await;
    let (to, page) = follow(&app, r, "").await;
    assert!(to.starts_with(&format!("/login/recover?taxpayer_id={TAXPAYER_A}&error=")));
    assert!(
        page.contains("还可以尝试") && page.contains("开户银行？"),
        "{page}"
    );
    let r = post_form(
        &app,
        "/login/recover",
        &[("taxpayer_id", TAXPAYER_A), ("answer", "兴业银行")],
    )
    .await;
    let (_, page) = follow(&app, r, "").await;
    assert!(page.contains("平台密码已取消"));
    // Logged in again without the password.
    let r = post_form(&app, "/login/training", &[("taxpayer_id", TAXPAYER_A)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}
