//! 勾选用途 in Chromium: on 发票勾选 a 数电票 is selected for 不抵扣 with its reason and an
//! invoice for 抵扣 with a lowered 有效税额; an invoice of a seller the office flagged first
//! shows the confirmation step (返回 saves nothing); 确认勾选 confirms each use with its own
//! 确定; 抵扣统计 then reads both.

use fapiao::domain::InvoiceType;

use super::*;

const CODE: &str = "3500261130";
const SELLER: &str = "91330100716105852F";
const DIGITAL: &str = "26330000000000000101";

/// Clicks the button whose text is exactly `text`.
async fn press(c: &Client, text: &str) {
    c.find(Locator::XPath(&format!("//button[text()='{text}']")))
        .await
        .unwrap_or_else(|e| panic!("no button {text}: {e}"))
        .click()
        .await
        .unwrap();
}

/// 提交 a pending batch of the 确认勾选 page outside the filing period: 提交, then 提交 again
/// on the confirmation step.
async fn submit_pending(c: &Client) {
    press(c, "提交").await;
    wait_text(c, "提交后已确认数据不可修改").await;
    press(c, "提交").await;
    wait_text(c, "当前状态为“已提交”").await;
}

#[tokio::test]
async fn uses_on_the_selection_pages_and_both_in_the_statistics_in_chromium() {
    let app = spawn_app(Opts {
        clock: Some("2026-11-20T09:00:00+08:00"),
        ..Opts::default()
    });
    let op = app.staff_token("operator").await;
    let line = |code: Option<&str>, number: &str, kind: &str, seller: &str| {
        json!({
            "code": code, "number": number, "type": kind,
            "issued_on": "2026-11-03", "seller_id": seller,
            "seller_name": "杭州宏远信息技术有限公司", "buyer_id": TAXPAYER_A,
            "amount": 100_000, "tax": 13_000,
        })
        .to_string()
    };
    let lines = [
        line(None, DIGITAL, "digital_special", SELLER),
        line(Some(CODE), "00000001", "special", SELLER),
        // The office flagged this seller.
        line(Some(CODE), "00000002", "special", NOT_ELIGIBLE),
    ];
    app.import_ndjson(&op, lines.join("\n")).await;
    flag_seller(&app.app, NOT_ELIGIBLE, "走逃（失联）企业");
    let driver = start_driver().await;
    let c = browser(&driver).await;
    let query = "/select?issued_from=2026-11-01&issued_to=2026-11-30";
    let result = std::panic::AssertUnwindSafe(async {
        taxpayer_login(&c, &app, TAXPAYER_A).await;

        // The 数电票 for 不抵扣, 用于集体福利或者个人消费.
        c.goto(&app.url(query)).await.unwrap();
        wait_text(&c, "共 3 条").await;
        click(&c, &format!("input[name=tick][value='-:{DIGITAL}']")).await;
        choose(&c, "select[name=use]", "no_deduct").await;
        choose(&c, "select[name=reason]", "welfare").await;
        shot(&c, "select-uses").await;
        press(&c, "保存").await;
        wait_text(&c, "保存成功：勾选 1 份").await;

        // The 专票 for 抵扣 with 100.00 of its 130.00.
        wait_text(&c, "共 2 条").await;
        click(&c, &format!("input[name=tick][value='{CODE}:00000001']")).await;
        fill(&c, &format!("input[name='et:{CODE}:00000001']"), "100.00").await;
        press(&c, "保存").await;
        let t = wait_text(&c, "共 1 条").await;
        assert!(t.contains("保存成功：勾选 1 份"), "{t}");

        // The flagged seller's invoice: the confirmation step with the office's reason; 返回
        // saves nothing.
        click(&c, &format!("input[name=tick][value='{CODE}:00000002']")).await;
        press(&c, "保存").await;
        let t = wait_text(&c, "风险提示").await;
        assert!(
            t.contains("走逃（失联）企业") && t.contains("00000002"),
            "{t}"
        );
        c.find(Locator::XPath("//button[text()='确认勾选']"))
            .await
            .expect("确认勾选 on the step");
        shot(&c, "select-risky").await;
        c.find(Locator::LinkText("返回"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(&c, "共 1 条").await;

        // The list of selected ones shows each use.
        c.goto(&app.url(&format!("{query}&selected=true")))
            .await
            .unwrap();
        let t = wait_text(&c, "共 2 条").await;
        assert!(t.contains("不抵扣（用于集体福利或者个人消费）"), "{t}");

        // 确认勾选: one 确定 per use.
        c.goto(&app.url("/confirm")).await.unwrap();
        wait_text(&c, "确定（不抵扣）").await;
        press(&c, "确定（不抵扣）").await;
        let t = wait_text(&c, "本次确认（待提交）").await;
        assert!(t.contains("用途：不抵扣"), "{t}");
        submit_pending(&c).await;
        c.goto(&app.url("/confirm")).await.unwrap();
        wait_text(&c, "已勾选未确认的发票").await;
        // Only 抵扣 is left: the plain 确定.
        press(&c, "确定").await;
        let t = wait_text(&c, "本次确认（待提交）").await;
        assert!(t.contains("用途：抵扣") && t.contains("100.00"), "{t}");
        submit_pending(&c).await;
        let t = wait_text(&c, "确认历史明细").await;
        assert!(t.contains("不抵扣") && t.contains("抵扣"), "{t}");
    })
    .catch_unwind()
    .await;
    let stats = if result.is_ok() {
        std::panic::AssertUnwindSafe(async {
            // 抵扣统计: the 专票 row counts its 有效税额 (100.00) under 抵扣, the 数电票 row its
            // face tax (130.00) under 不抵扣.
            c.goto(&app.url("/statistics?period=2026-11"))
                .await
                .unwrap();
            wait_text(&c, "2026年11月申报抵扣发票统计表").await;
            shot(&c, "statistics-uses").await;
            let rows = c
                .execute(
                    "return [...document.querySelector('#uses-table').querySelectorAll('tbody tr')]
                        .map(r => [r.querySelector('th').textContent.trim(), r.innerText])",
                    vec![],
                )
                .await
                .unwrap();
            let row = |label: &str| -> String {
                rows.as_array()
                    .unwrap()
                    .iter()
                    .find(|r| r[0] == label)
                    .unwrap_or_else(|| panic!("no row {label}: {rows}"))[1]
                    .as_str()
                    .unwrap()
                    .to_string()
            };
            // The 抵扣 and 不抵扣 columns of 抵扣统计 (按勾选用途统计).
            let special = row(InvoiceType::Special.label_zh());
            assert!(
                special.contains("100.00") && !special.contains("130.00"),
                "抵扣 有效税额 of the 专票: {special}"
            );
            let digital = row(InvoiceType::DigitalSpecial.label_zh());
            assert!(
                digital.contains("130.00"),
                "不抵扣 税额 of the 数电票: {digital}"
            );
        })
        .catch_unwind()
        .await
    } else {
        Ok(())
    };
    c.close().await.ok();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }

    // Read back through the API: the uses as the pages saved them.
    let a = app.taxpayer_token(TAXPAYER_A).await;
    let v: Value = app
        .get(&format!("/api/v1/invoices/-/{DIGITAL}"), Some(&a))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            v["selection"].as_str(),
            v["use"].as_str(),
            v["reason"].as_str()
        ),
        (Some("confirmed"), Some("no_deduct"), Some("welfare")),
        "{v}"
    );
    let v: Value = app
        .get(&format!("/api/v1/invoices/{CODE}/00000001"), Some(&a))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (v["selection"].as_str(), v["effective_tax"].as_i64()),
        (Some("confirmed"), Some(10_000)),
        "{v}"
    );
    let v: Value = app
        .get(&format!("/api/v1/invoices/{CODE}/00000002"), Some(&a))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["selection"], "unselected", "{v}");
    if let Err(e) = stats {
        std::panic::resume_unwind(e);
    }
}
