//! Browser walks of the console's people pages: an auditor reads everything and can change
//! nothing; an administrator creates and edits a taxpayer, unlocks it, manages staff and
//! filters the audit log.

use fapiao::store::prelude::*;

use super::*;

/// The page's POST forms other than logging out and one's own password.
const WRITE_FORMS: &str = "return [...document.querySelectorAll('form[method=post]')]
    .map(f => f.getAttribute('action'))
    .filter(a => a !== '/office/logout' && a !== '/office/password');";

/// The status of a same-origin form POST made by the page's own script (the session cookie
/// goes along, as with a forged form).
const FORGE: &str = "const [path, body, done] = arguments;
    fetch(path, { method: 'POST', body: new URLSearchParams(body), redirect: 'manual' })
        .then(r => done(r.status), e => done(String(e)));";

async fn status_of(c: &Client, path: &str) -> u64 {
    c.execute_async(
        "const [path, done] = arguments; fetch(path).then(r => done(r.status), e => done(0));",
        vec![json!(path)],
    )
    .await
    .unwrap()
    .as_u64()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_reads_every_console_page_and_can_change_nothing() {
    let app = spawn_app(Opts::default());
    let admin = app.staff_token("admin").await;
    let record = |t: &'static str| {
        let app = &app;
        let admin = admin.clone();
        async move {
            app.get(&format!("/api/v1/office/taxpayers/{t}"), Some(&admin))
                .await
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let before = record(TAXPAYER_A).await;
    let driver = start_driver().await;
    let c = browser(&driver).await;
    let result = async {
        staff_login(&c, &app, "auditor").await;
        let taxpayer = format!("/office/taxpayers/{TAXPAYER_A}");
        let pages = [
            ("/office", "税务人员工作台"),
            ("/office/taxpayers", "纳税人管理"),
            (taxpayer.as_str(), "当前税款所属期"),
            ("/office/invoices", "发票"),
            ("/office/declarations", "申报"),
            ("/office/deadlines", "申报"),
            ("/office/audit", "审计日志"),
            ("/office/training", "业务时钟"),
            ("/office/backups", "备份"),
        ];
        for (path, text) in pages {
            // Pages of other groups may not be there yet.
            if status_of(&c, path).await == 404 {
                continue;
            }
            c.goto(&app.url(path)).await.unwrap();
            wait_text(&c, text).await;
            let forms = c.execute(WRITE_FORMS, vec![]).await.unwrap();
            assert_eq!(forms, json!([]), "write forms on {path}");
            let buttons = c
                .execute(
                    "return [...document.querySelectorAll('main a.button')].map(a => a.getAttribute('href'))
                        .filter(h => /new|edit/.test(h));",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(buttons, json!([]), "write links on {path}");
        }
        // No 人员管理 for an auditor.
        assert_eq!(status_of(&c, "/office/staff").await, 403);
        // Forged writes from the page: refused.
        let forged = [
            (
                taxpayer.clone(),
                json!({"name": "伪造", "region": "350000", "eligible": "1", "credit_rating": "D"}),
            ),
            (format!("{taxpayer}/unlock"), json!({})),
            (
                "/office/taxpayers".to_string(),
                json!({"taxpayer_id": "91310000MA1FL8XQ37", "name": "伪造"}),
            ),
            ("/office/staff/admin/disable".to_string(), json!({})),
        ];
        for (path, body) in forged {
            let status = c
                .execute_async(FORGE, vec![json!(path), body])
                .await
                .unwrap();
            assert_eq!(status, json!(403), "forged POST {path}");
        }
    }
    .await;
    c.close().await.unwrap();
    assert_eq!(record(TAXPAYER_A).await, before);
    let r = app
        .get("/api/v1/office/taxpayers/91310000MA1FL8XQ37", Some(&admin))
        .await;
    assert_eq!(r.status().as_u16(), 404);
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_manages_taxpayers_staff_and_reads_the_audit_log() {
    let app = spawn_app(Opts {
        clock: Some("2026-11-20T09:00:00+08:00"),
        ..Opts::default()
    });
    const ID: &str = "91310000MA1FL8XQ37";
    let driver = start_driver().await;
    let c = browser(&driver).await;
    let result = async {
        staff_login(&c, &app, "admin").await;
        shot(&c, "office-home").await;

        // 新增纳税人.
        c.goto(&app.url("/office/taxpayers")).await.unwrap();
        wait_text(&c, "共 4 户").await;
        shot(&c, "office-taxpayers").await;
        click(&c, "a[href='/office/taxpayers/new']").await;
        wait_text(&c, "新增纳税人").await;
        fill(&c, "input[name=taxpayer_id]", ID).await;
        fill(&c, "input[name=name]", "上海新建贸易有限公司").await;
        fill(&c, "input[name=authority]", "国家税务总局上海市税务局").await;
        choose(&c, "select[name=credit_rating]", "B").await;
        fill(&c, "input[name=contact_name]", "王五").await;
        click(&c, "form[action='/office/taxpayers'] button[type=submit]").await;
        wait_text(&c, "已新增纳税人").await;

        // 修改档案: the rating to A; the history shows B → A.
        click(&c, &format!("a[href='/office/taxpayers/{ID}/edit']")).await;
        wait_text(&c, "修改纳税人档案").await;
        choose(&c, "select[name=credit_rating]", "A").await;
        click(
            &c,
            &format!("form[action='/office/taxpayers/{ID}'] button[type=submit]"),
        )
        .await;
        wait_text(&c, "已保存档案").await;
        let history = c
            .find(Locator::Css("table.rating-history tbody tr"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            history.contains("B级") && history.contains("A级"),
            "{history}"
        );

        // 解锁: eleven wrong platform passwords today lock it.
        let tid = fapiao::domain::TaxpayerId::parse(ID).unwrap();
        let today = app.app.clock.now().date_naive();
        app.app
            .store
            .write(&app.app.system("test"), |tx| {
                let mut t = tx.taxpayer(&tid)?.unwrap();
                t.password_failures = fapiao::domain::PasswordFailures {
                    day: Some(today),
                    count: 11,
                };
                tx.put_taxpayer(&t)?;
                tx.audit("test.lock", &tid, "");
                Ok(())
            })
            .unwrap();
        c.goto(&app.url(&format!("/office/taxpayers/{ID}")))
            .await
            .unwrap();
        wait_text(&c, "今日已锁定").await;
        shot(&c, "office-taxpayer").await;
        click(
            &c,
            &format!("form[action='/office/taxpayers/{ID}/unlock'] button"),
        )
        .await;
        wait_text(&c, "已解锁平台密码").await;

        // 人员管理: create, disable, enable, reset.
        c.goto(&app.url("/office/staff")).await.unwrap();
        wait_text(&c, "新增账号").await;
        fill(
            &c,
            "form[action='/office/staff'] input[name=username]",
            "lisi",
        )
        .await;
        fill(&c, "form[action='/office/staff'] input[name=name]", "李四").await;
        choose(
            &c,
            "form[action='/office/staff'] select[name=role]",
            "operator",
        )
        .await;
        fill(
            &c,
            "form[action='/office/staff'] input[name=password]",
            "Lisi-2026x",
        )
        .await;
        click(&c, "form[action='/office/staff'] button[type=submit]").await;
        wait_text(&c, "已新增账号 lisi").await;
        click(&c, "form[action='/office/staff/lisi/disable'] button").await;
        wait_text(&c, "已停用账号 lisi").await;
        click(&c, "form[action='/office/staff/lisi/enable'] button").await;
        wait_text(&c, "已启用账号 lisi").await;
        fill(
            &c,
            "form[action='/office/staff/lisi/password'] input[name=password]",
            "Lisi-2027y",
        )
        .await;
        click(&c, "form[action='/office/staff/lisi/password'] button").await;
        wait_text(&c, "已重置账号 lisi 的密码").await;
        // 服务地区 of an agent (征纳互动 by region).
        fill(
            &c,
            "form[action='/office/staff/agent/regions'] input[name=regions]",
            "350000 广东省",
        )
        .await;
        click(&c, "form[action='/office/staff/agent/regions'] button").await;
        wait_text(&c, "已保存账号 agent 的征纳互动服务地区").await;
        wait_text(&c, "福建省、广东省").await;
        // The last administrator stays.
        click(&c, "form[action='/office/staff/admin/disable'] button").await;
        wait_text(&c, "至少需要保留一名启用的管理员").await;
        c.goto(&app.url("/office/staff")).await.unwrap();
        wait_text(&c, "须修改密码").await;
        shot(&c, "office-staff").await;

        // 审计日志: the staff actions only.
        c.goto(&app.url("/office/audit")).await.unwrap();
        wait_text(&c, "审计日志").await;
        fill(&c, "input[name=action]", "staff.").await;
        fill(&c, "input[name=target]", "lisi").await;
        click(&c, "form.conditions button[type=submit]").await;
        let text = wait_text(&c, "staff.password_reset").await;
        assert!(text.contains("共 4 条"), "{text}");
        assert!(!text.contains("taxpayer.update"));
        c.find(Locator::Css("a[href^='/office/audit/export.csv?']"))
            .await
            .unwrap();
        fill(&c, "input[name=action]", "").await;
        fill(&c, "input[name=target]", ID).await;
        click(&c, "form.conditions button[type=submit]").await;
        wait_text(&c, "taxpayer.unlock").await;
        shot(&c, "office-audit").await;
    }
    .await;
    c.close().await.unwrap();
    result
}
