//! Browser walk of the console's data pages: an operator imports an invoice file (the
//! progress bar reaches 100%), finds an invoice and voids it, records a declaration and
//! moves a deadline.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_imports_searches_voids_declares_and_moves_a_deadline_in_chromium() {
    let app = spawn_app(Opts {
        clock: Some("2026-11-20T09:00:00+08:00"),
        ..Opts::default()
    });
    // A file large enough for the upload to report progress: 3,000 invoices.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("invoices.ndjson");
    let lines: Vec<String> = (1..=3000)
        .map(|n: u32| {
            json!({
                "code": "3500261130", "number": format!("{n:08}"), "type": "special",
                "issued_on": format!("2026-11-{:02}", 1 + n % 19), "seller_id": "91330100716105852F",
                "seller_name": "杭州宏远信息技术有限公司", "buyer_id": TAXPAYER_A,
                "amount": 10_000 + i64::from(n), "tax": 1_300,
            })
            .to_string()
        })
        .collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let driver = start_driver().await;
    let c = browser(&driver).await;
    let result = std::panic::AssertUnwindSafe(async {
        c.set_window_size(1366, 1100).await.unwrap();
        staff_login(&c, &app, "operator").await;
        // 发票数据: upload, with the progress bar.
        c.goto(&app.url("/office/invoices")).await.unwrap();
        wait_text(&c, "导入发票数据").await;
        c.find(Locator::Css(
            "form[action='/office/invoices/import'] input[type=file]",
        ))
        .await
        .unwrap()
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
        click(
            &c,
            "form[action='/office/invoices/import'] button[type=submit]",
        )
        .await;
        wait_text(&c, "导入成功：新增发票3000份").await;
        let shown = wait_js(
            &c,
            "the progress bar at 100% after the upload",
            10,
            "const e = document.getElementById('invoice-progress'); \
             return !!e && !e.hidden && e.querySelector('progress').value === 100 \
               && e.textContent.includes('上传完成（100%）') && e.textContent",
            vec![],
        )
        .await;
        assert!(
            shown.as_str().unwrap().contains("invoices.ndjson"),
            "{shown}"
        );
        // Search it by key, then void it with the single form (filled from the search).
        fill(&c, "form.search input[name=code]", "3500261130").await;
        fill(&c, "form.search input[name=number]", "00000042").await;
        click(&c, "form.search button[type=submit]").await;
        wait_text(&c, "找到 1 份发票").await;
        c.find(Locator::Css("form.single-status select[name=status]"))
            .await
            .unwrap()
            .select_by_value("voided")
            .await
            .unwrap();
        click(&c, "form.single-status button[type=submit]").await;
        let text = wait_text(&c, "已将1份发票的状态变更为“作废”").await;
        assert!(text.contains("作废"), "{text}");
        // By buyer: the paged list.
        fill(&c, "form.search input[name=code]", "").await;
        fill(&c, "form.search input[name=number]", "").await;
        fill(&c, "form.search input[name=buyer_id]", TAXPAYER_A).await;
        click(&c, "form.search button[type=submit]").await;
        wait_text(&c, "共 3000 条").await;
        shot(&c, "office-invoices").await;
        // 申报情况: record one.
        c.goto(&app.url("/office/declarations")).await.unwrap();
        wait_text(&c, "记录申报状态").await;
        fill(&c, "input[name=taxpayer_id]", TAXPAYER_B).await;
        fill(&c, "form[method=post] input[name=period]", "202610").await;
        c.find(Locator::Css("select[name=status]"))
            .await
            .unwrap()
            .select_by_value("declared")
            .await
            .unwrap();
        click(
            &c,
            "form[action='/office/declarations'][method=post] button",
        )
        .await;
        let text = wait_text(&c, "申报状态已记录").await;
        assert!(text.contains("已申报"), "{text}");
        shot(&c, "office-declarations").await;
        // 申报期限: move 202611's deadline in 福建.
        c.goto(&app.url("/office/deadlines?region=350000&year=2026"))
            .await
            .unwrap();
        wait_text(&c, "2026年各税款所属期的申报截止日").await;
        c.execute(
            "document.querySelector('#p202611 input[name=deadline]').value = '2026-12-18'",
            vec![],
        )
        .await
        .unwrap();
        click(&c, "#p202611 button[type=submit]").await;
        let text = wait_text(&c, "已保存").await;
        assert!(
            text.contains("2026-12-18") && text.contains("本省设定"),
            "{text}"
        );
        // The redirect lands on the row (#p202611); a window tall enough for the whole page
        // shows it from the top.
        c.set_window_size(1366, 1300).await.unwrap();
        c.execute("window.scrollTo(0, 0)", vec![]).await.unwrap();
        shot(&c, "office-deadlines").await;
    })
    .catch_unwind()
    .await;
    c.close().await.ok();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
    // Read back through the API.
    let op = app.staff_token("operator").await;
    let d: Value = app
        .get(
            &format!("/api/v1/office/declarations/{TAXPAYER_B}/202610"),
            Some(&op),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(d["status"], "declared");
    let list: Value = app
        .get("/api/v1/office/deadlines/350000?year=2026", Some(&op))
        .await
        .json()
        .await
        .unwrap();
    assert!(list["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["period"] == "202611" && i["deadline"] == "2026-12-18"));
}
