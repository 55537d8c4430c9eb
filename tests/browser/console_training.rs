//! A trainer's morning, in Chromium: log in, put the classroom dataset back to the snapshot
//! taken before the course, set the business clock to the filing period, create a taxpayer,
//! upload its invoices and record a declaration — every step through the console's pages.

use super::*;

const NEW_ID: &str = "91310000MA1FL8XQ37";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trainers_morning_restore_clock_taxpayer_invoices_declaration() {
    let app = spawn_app(Opts {
        clock: Some("2026-11-20T09:00:00+08:00"),
        ..Opts::default()
    });
    let admin = app.staff_token("admin").await;
    // Before the course: the snapshot.
    let r = app
        .post_json(
            "/api/v1/office/snapshots",
            Some(&admin),
            &json!({"name": "课前"}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 201);
    // Yesterday's class left things behind: a taxpayer that must go.
    let r = app
        .post_json(
            "/api/v1/office/taxpayers",
            Some(&admin),
            &json!({"taxpayer_id": "91350211MA2YCJ4U8U", "name": "昨日练习有限公司",
                    "region": "350000", "eligible": true, "credit_rating": "A"}),
        )
        .await;
    assert!(r.status().is_success());

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("class.ndjson");
    let lines: Vec<String> = (1..=30)
        .map(|n: u32| {
            json!({
                "code": "3100261130", "number": format!("{n:08}"), "type": "special",
                "issued_on": format!("2026-11-{:02}", n % 19 + 1), "seller_id": "91330100716105852F",
                "seller_name": "杭州宏远信息技术有限公司", "buyer_id": NEW_ID,
                "amount": 50_000 + i64::from(n), "tax": 6_500,
            })
            .to_string()
        })
        .collect();
    std::fs::write(&file, lines.join("\n")).unwrap();

    let driver = start_driver().await;
    let c = browser(&driver).await;
    let result = std::panic::AssertUnwindSafe(async {
        c.set_window_size(1366, 1000).await.unwrap();
        staff_login(&c, &app, "admin").await;

        // 培训 → 恢复 the snapshot, confirming; everyone logs in again.
        c.goto(&app.url("/office/training")).await.unwrap();
        wait_text(&c, "数据快照").await;
        shot(&c, "office-training").await;
        click(&c, "a[href$='/restore']").await;
        wait_text(&c, "确定恢复").await;
        click(&c, "input[name=confirm]").await;
        click(&c, "form[action$='/restore'] button[type=submit]").await;
        wait_text(&c, "已恢复快照“课前”").await;
        staff_login(&c, &app, "admin").await;

        // The clock: into the next filing period.
        c.goto(&app.url("/office/training")).await.unwrap();
        wait_text(&c, "业务时钟").await;
        click(&c, "button[value=filing]").await;
        let text = wait_text(&c, "培训时钟已设置").await;
        assert!(text.contains("2026-12-01 09:00"), "{text}");

        // 纳税人管理 → 新增纳税人.
        c.goto(&app.url("/office/taxpayers/new")).await.unwrap();
        wait_text(&c, "新增纳税人").await;
        fill(&c, "input[name=taxpayer_id]", NEW_ID).await;
        fill(&c, "input[name=name]", "上海课堂贸易有限公司").await;
        c.find(Locator::Css("select[name=credit_rating]"))
            .await
            .unwrap()
            .select_by_value("A")
            .await
            .unwrap();
        click(&c, "form[action='/office/taxpayers'] button[type=submit]").await;
        wait_text(&c, "已新增纳税人").await;

        // 发票数据 → upload its invoices.
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
        wait_text(&c, "导入成功：新增发票30份").await;

        // 申报情况 → 记录 the taxpayer's October as declared.
        c.goto(&app.url("/office/declarations")).await.unwrap();
        wait_text(&c, "记录申报状态").await;
        fill(&c, "form[method=post] input[name=taxpayer_id]", NEW_ID).await;
        fill(&c, "form[method=post] input[name=period]", "202610").await;
        c.find(Locator::Css("form[method=post] select[name=status]"))
            .await
            .unwrap()
            .select_by_value("declared")
            .await
            .unwrap();
        click(
            &c,
            "form[method=post][action='/office/declarations'] button[type=submit]",
        )
        .await;
        wait_text(&c, "申报状态已记录").await;

        // 备份 → 立即备份.
        c.goto(&app.url("/office/backups")).await.unwrap();
        wait_text(&c, "尚无备份").await;
        click(&c, "form[action='/office/backups'] button[type=submit]").await;
        wait_text(&c, "备份已完成").await;
        shot(&c, "office-backups").await;
    })
    .catch_unwind()
    .await;
    c.close().await.unwrap();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }

    // What the morning left, read through the API.
    let admin = app.staff_token("admin").await;
    let gone = app
        .get("/api/v1/office/taxpayers/91350211MA2YCJ4U8U", Some(&admin))
        .await;
    assert_eq!(
        gone.status().as_u16(),
        404,
        "the snapshot did not take yesterday away"
    );
    let t: Value = app
        .get(&format!("/api/v1/office/taxpayers/{NEW_ID}"), Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(t["name"], "上海课堂贸易有限公司");
    let clock: Value = app
        .get("/api/v1/office/clock", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        clock["now"].as_str().unwrap().starts_with("2026-12-01"),
        "{clock}"
    );
    let d: Value = app
        .get(
            &format!("/api/v1/office/declarations/{NEW_ID}/202610"),
            Some(&admin),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(d["status"], "declared", "{d}");
    let inv: Value = app
        .get(
            &format!("/api/v1/office/invoices?buyer_id={NEW_ID}"),
            Some(&admin),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inv["total"], 30, "{inv}");
}
