//! The portal against the manual, in one Chromium session: the first-login gate and the
//! 平台密码 switch, 发票勾选's date condition switching with 认证状态 on first load, the full
//! pager, Post/Redirect/Get (a reload after each form submits nothing again), 确认勾选 with its
//! 确认标志, 确定 above the list and the confirmation step before 提交, the 帮助 panels, numbers
//! right-aligned, and the layout at 1024 px and on a phone.

use super::*;

/// Reloads the page and checks that the address is not a form's (a POST URL would be
/// submitted again) and that the page still says `needle`.
async fn reload_keeps(c: &Client, needle: &str) {
    let url = c.current_url().await.unwrap();
    for post in [
        "/select/save",
        "/confirm/make",
        "/submit",
        "/profile/password",
    ] {
        assert!(
            !url.path().ends_with(post),
            "a page at a POST address: {url}"
        );
    }
    c.refresh().await.unwrap();
    wait_text(c, needle).await;
    assert_eq!(c.current_url().await.unwrap(), url);
}

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.unwrap()
}

/// Whether the element `css` is displayed.
async fn displayed(c: &Client, css: &str) -> bool {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .is_displayed()
        .await
        .unwrap()
}

/// Headers whose text runs over more than one line (a header broken inside a word).
const WRAPPED_HEADERS: &str = "return [...document.querySelectorAll('main th')].filter(th => { \
    const r = document.createRange(); r.selectNodeContents(th); \
    return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size > 1; \
}).map(th => th.textContent);";

/// Cells under the 征纳互动 tab: the last cell of each visible table row whose box meets the
/// tab's box.
const UNDER_THE_TAB: &str = "const fab = document.getElementById('zn-open'); \
    if (!fab) { return ['no tab']; } const f = fab.getBoundingClientRect(); \
    return [...document.querySelectorAll('main tr > :last-child')].filter(td => { \
      const r = td.getBoundingClientRect(); \
      const box = (td.closest('.table-wrap') || td.closest('.card')).getBoundingClientRect(); \
      const right = Math.min(r.right, box.right); \
      return r.width > 0 && right > f.left && r.left < f.right; \
    }).map(td => td.textContent);";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_as_the_manual_describes_it_in_chromium() {
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
    set_first_login_done(&app.app, TAXPAYER_A, false);
    let driver = start_driver().await;
    let c = browser(&driver).await;
    let result = async {
        // First login: every page leads to 档案信息维护 until it is confirmed.
        c.goto(&app.url("/login")).await.unwrap();
        c.find(Locator::XPath(&format!(
            "//input[@value='{TAXPAYER_A}']/following-sibling::button"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
        wait_text(&c, "首次登录：请先确认档案信息").await;
        c.goto(&app.url("/select")).await.unwrap();
        wait_text(&c, "首次登录：请先确认档案信息").await;
        assert!(c.current_url().await.unwrap().path() == "/profile");
        shot(&c, "profile").await;
        fill(&c, "input[name=contact_name]", "李四").await;
        fill(&c, "input[name=contact_phone]", "0591-87654321").await;
        click(&c, "form[action='/profile'] button").await;
        wait_text(&c, "保存成功").await;
        reload_keeps(&c, "保存成功").await;
        // 平台密码: 是否启用 defaults to 否 and hides the fields; 是 shows 密码 and 确认密码.
        assert!(!displayed(&c, "input[name=confirm]").await);
        click(&c, "input[name=enabled][value=true]").await;
        assert!(displayed(&c, "input[name=confirm]").await);
        click(&c, "input[name=enabled][value=false]").await;
        click(&c, "form.password button").await;
        // Saved: 首页, as the manual says.
        wait_text(&c, "已保存：平台密码未启用").await;
        assert_eq!(c.current_url().await.unwrap().path(), "/");
        reload_keeps(&c, "已保存：平台密码未启用").await;

        // 发票勾选 on first load: 未认证 shows 勾选状态 and 开票日期, not 认证方式 or 确认/扫描日期.
        c.goto(&app.url("/select")).await.unwrap();
        wait_text(&c, "本期可勾选发票的截止日期").await;
        assert!(displayed(&c, "input[name=issued_from]").await);
        assert!(displayed(&c, "select[name=selected]").await);
        assert!(!displayed(&c, "select[name=method]").await);
        assert!(!displayed(&c, "input[name=certified_from]").await);
        // The 帮助 panel at the top right, folded until opened.
        click(&c, "details.help summary").await;
        wait_text(&c, "条件日期变为“确认/扫描日期”").await;
        // 已认证: the date condition is 确认/扫描日期; 开票日期 is neither shown nor needed.
        choose(&c, "#certified", "true").await;
        assert!(!displayed(&c, "input[name=issued_from]").await);
        assert!(displayed(&c, "input[name=certified_from]").await);
        // (A date input takes its value in the locale's order when typed; set it directly.)
        js(
            &c,
            "document.querySelector('input[name=certified_from]').value = '2026-11-01'; return 0;",
        )
        .await;
        click(&c, "form.conditions button[type=submit]").await;
        wait_text(&c, "没有查询到符合条件的发票信息").await;
        let url = c.current_url().await.unwrap();
        assert!(
            url.query().unwrap().contains("certified=true")
                && !url.query().unwrap().contains("issued_from"),
            "{url}"
        );
        assert!(displayed(&c, "select[name=method]").await, "kept after the query");
        assert!(!displayed(&c, "select[name=selected]").await);

        // The pager: 首页 上一页 下一页 尾页, page jump and page size.
        c.goto(&app.url("/select?issued_from=2026-11-01&issued_to=2026-11-30"))
            .await
            .unwrap();
        wait_text(&c, "共 60 条").await;
        let off = js(&c, "return [...document.querySelectorAll('nav.pager span.off')].map(s => s.textContent)").await;
        assert_eq!(off, json!(["首页", "上一页"]));
        c.find(Locator::LinkText("尾页"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(&c, "第 2 / 2 页").await;
        assert_eq!(
            c.find_all(Locator::Css("input[name=tick]")).await.unwrap().len(),
            10
        );
        fill(&c, "form.jump input[name=page]", "1").await;
        choose(&c, "form.jump select[name=per_page]", "20").await;
        click(&c, "form.jump button").await;
        wait_text(&c, "第 1 / 3 页").await;
        assert_eq!(
            c.find_all(Locator::Css("input[name=tick]")).await.unwrap().len(),
            20
        );
        // Amounts right-aligned by the one class.
        let left = js(&c, "return [...document.querySelectorAll('main td')].filter(td => /^[0-9,]+\\.[0-9]{2}$/.test(td.textContent) && getComputedStyle(td).textAlign !== 'right').length").await;
        assert_eq!(left, json!(0));
        // 保存 the page's 20, then reload: nothing is saved twice.
        click(&c, "#select-all input").await;
        c.find(Locator::XPath("//button[text()='保存']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(&c, "保存成功：勾选 20 份").await;
        reload_keeps(&c, "保存成功：勾选 20 份").await;
        shot(&c, "select-pager").await;

        // 确认勾选: 确认标志, the paged list with 确定 above and below it.
        c.goto(&app.url("/confirm?per_page=10")).await.unwrap();
        wait_text(&c, "已勾选未确认的发票").await;
        click(&c, "details.help summary").await;
        wait_text(&c, "超过可操作窗口期仍未确认的数据").await;
        let t = wait_text(&c, "第 1 / 2 页").await;
        assert!(t.contains("共 20 份"), "{t}");
        assert_eq!(
            c.find_all(Locator::Css("form[action='/confirm/make']"))
                .await
                .unwrap()
                .len(),
            2,
            "确定 above and below the list"
        );
        c.find(Locator::XPath("//button[text()='确定']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(&c, "这是本期的第 1 次确认操作").await;
        reload_keeps(&c, "这是本期的第 1 次确认操作").await;
        // 提交 asks first, repeating the count and the tax.
        let tax = c
            .find(Locator::XPath("//dt[text()='当次确认税额']/following-sibling::dd[1]"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        c.find(Locator::XPath("//button[text()='提交']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let t = wait_text(&c, "提交后已确认数据不可修改，是否提交？").await;
        assert!(
            t.contains(&format!("您本次将确认发票 20 份，税额合计 {tax}")),
            "{tax}: {t}"
        );
        shot(&c, "confirm-step").await;
        c.find(Locator::XPath("//button[text()='提交']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(&c, "当前状态为“已提交”").await;
        reload_keeps(&c, "当前状态为“已提交”").await;
        // 确认标志 = 已确认, 查询.
        choose(&c, "#flag", "confirmed").await;
        click(&c, "form.flag button").await;
        let t = wait_text(&c, "2026年11月已确认的发票").await;
        assert!(t.contains("共 20 份"), "{t}");

        // The other modules' 帮助.
        for (path, needle) in [
            ("/statistics?period=2026-11", "统计每天准实时执行"),
            ("/query", "还未到发票抵扣期限"),
            ("/", "条件四：回退功能在征期内有效"),
        ] {
            c.goto(&app.url(path)).await.unwrap();
            click(&c, "details.help summary").await;
            wait_text(&c, needle).await;
            if path == "/query" {
                shot(&c, "query").await;
            }
        }

        // 1024 px: no header breaks inside a word, the 征纳互动 tab covers no column.
        c.set_window_size(1024, 768).await.unwrap();
        for (path, name) in [
            (
                "/select?issued_from=2026-11-01&issued_to=2026-11-30&selected=all",
                "select-1024",
            ),
            ("/statistics?period=2026-11&details=1", "statistics-1024"),
            ("/confirm?flag=confirmed", "confirm-1024"),
        ] {
            c.goto(&app.url(path)).await.unwrap();
            wait_text(&c, "税额").await;
            assert_eq!(js(&c, WRAPPED_HEADERS).await, json!([]), "{path}");
            assert_eq!(js(&c, UNDER_THE_TAB).await, json!([]), "{path}");
            shot(&c, name).await;
        }
        // A phone: 退出 stays on one line.
        c.set_window_size(390, 844).await.unwrap();
        c.goto(&app.url("/")).await.unwrap();
        wait_text(&c, "当前税款所属期").await;
        let lines = js(
            &c,
            "const a = document.querySelector('a.logout'); \
             const r = document.createRange(); r.selectNodeContents(a); \
             return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size;",
        )
        .await;
        assert_eq!(lines, json!(1), "退出 on one line");
        shot(&c, "home-phone").await;
    }
    .await;
    c.close().await.unwrap();
    result
}
