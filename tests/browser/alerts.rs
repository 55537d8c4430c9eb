//! 风险纳税人 and 进项税额转出 in Chromium: an operator flags a seller on the console page, sees
//! it listed with the reason and removes it; a taxpayer whose confirmed invoice became 失控
//! reads the 风险提醒 on 首页, follows it to 进项税额转出, ticks the invoice, 提交, and finds the
//! transfer recorded.

use super::*;

const CODE: &str = "3500261130";

async fn ok(r: reqwest::Response) -> Value {
    let s = r.status().as_u16();
    let v: Value = r.json().await.unwrap();
    assert_eq!(s, 200, "{v}");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn risky_sellers_and_a_transfer_out_in_chromium() {
    let app = spawn_app(Opts {
        clock: Some("2026-11-23T10:00:00+08:00"),
        ..Opts::default()
    });
    // A confirmed invoice (tax 13.00) that the office then marks 失控.
    let op = app.staff_token("operator").await;
    let line = json!({
        "code": CODE, "number": "00000001", "type": "special", "issued_on": "2026-11-02",
        "seller_id": NO_RATING, "seller_name": "杭州宏远信息技术有限公司", "buyer_id": TAXPAYER_A,
        "amount": 10_000, "tax": 1_300,
    });
    app.import_ndjson(&op, line.to_string()).await;
    let tp = app.taxpayer_token(TAXPAYER_A).await;
    let key = json!({"code": CODE, "number": "00000001"});
    ok(app
        .post_json("/api/v1/selections", Some(&tp), &json!({"select": [key]}))
        .await)
    .await;
    let b = ok(app
        .post_json("/api/v1/confirmations", Some(&tp), &json!({}))
        .await)
    .await;
    let submit = format!(
        "/api/v1/confirmations/{}/{}/submit",
        b["period"].as_str().unwrap(),
        b["batch"]
    );
    ok(app
        .post_json(&submit, Some(&tp), &json!({"declaration": "not_declared"}))
        .await)
    .await;
    ok(app
        .post_json(
            "/api/v1/office/invoices/status",
            Some(&op),
            &json!({"status": "out_of_control", "invoices": [key]}),
        )
        .await)
    .await;

    let driver = start_driver().await;
    let c = browser(&driver).await;
    let result = std::panic::AssertUnwindSafe(async {
        // The console: flag a seller, see it listed, remove it.
        staff_login(&c, &app, "operator").await;
        c.goto(&app.url("/office/risky-sellers")).await.unwrap();
        wait_text(&c, "暂无风险纳税人").await;
        fill(&c, "#flag-form input[name=seller_id]", TAXPAYER_B).await;
        fill(&c, "#flag-form input[name=reason]", "走逃（失联）企业").await;
        click(&c, "#flag-form button[type=submit]").await;
        let text = wait_text(&c, "标记为风险纳税人。").await;
        let row = c
            .find(Locator::Css(&format!("#s{TAXPAYER_B}")))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            row.contains("走逃（失联）企业") && row.contains("operator"),
            "{row}"
        );
        assert!(text.contains("已标记的风险纳税人（1户）"), "{text}");
        shot(&c, "console-risky-sellers").await;
        click(&c, &format!("#s{TAXPAYER_B} button[type=submit]")).await;
        let text = wait_text(&c, "已移除风险纳税人").await;
        assert!(text.contains("暂无风险纳税人"), "{text}");

        // The portal: the alert on 首页 leads to 进项税额转出.
        c.delete_all_cookies().await.unwrap();
        taxpayer_login(&c, &app, TAXPAYER_A).await;
        let home = wait_text(&c, "风险提醒").await;
        assert!(home.contains("已变为失控"), "{home}");
        c.find(Locator::LinkText("去做进项税额转出"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let page = wait_text(&c, "需要转出的发票").await;
        assert!(page.contains("应转出税额合计 13.00 元"), "{page}");
        click(&c, &format!("input[name=tick][value='{CODE}:00000001']")).await;
        shot(&c, "transfers-out").await;
        c.find(Locator::XPath("//button[text()='提交']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let text = wait_text(&c, "提交成功：记录进项税额转出 1 份").await;
        assert!(text.contains("没有需要做进项税额转出的发票"), "{text}");
        let recorded = c
            .find(Locator::Css("#recorded"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            recorded.contains("00000001")
                && recorded.contains("13.00")
                && recorded.contains("失控"),
            "{recorded}"
        );
    })
    .catch_unwind()
    .await;
    c.close().await.ok();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }

    // Read back through the API.
    let list = ok(app.get("/api/v1/transfers-out", Some(&tp)).await).await;
    assert_eq!(list["recorded"]["tax"], 1_300);
}
