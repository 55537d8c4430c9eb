//! Today's documents in Chromium: a taxpayer finds a 数电票 by its 数电票号码, ticks it together
//! with a 海关缴款书 whose 稽核比对 is 相符 and one still 滞留, saves, and reads the refusal of
//! the 滞留 one; the selection is then read back through the API.

use super::*;

const DIGITAL: &str = "26330000000000000101";
const CUSTOMS_MATCH: &str = "290120261000000001-L01";
const CUSTOMS_PENDING: &str = "290120261000000002-L01";

#[tokio::test]
async fn a_taxpayer_selects_a_digital_invoice_and_a_customs_payment_in_chromium() {
    let app = spawn_app(Opts {
        clock: Some("2026-11-20T09:00:00+08:00"),
        ..Opts::default()
    });
    let op = app.staff_token("operator").await;
    let line = |number: &str, kind: &str, day: u32, audit: Option<&str>| {
        let mut v = json!({
            "code": null, "number": number, "type": kind,
            "issued_on": format!("2026-11-{day:02}"), "seller_id": "91330100716105852F",
            "seller_name": "杭州宏远信息技术有限公司", "buyer_id": TAXPAYER_A,
            "amount": 100_000, "tax": 13_000,
        });
        if let Some(a) = audit {
            v["audit_result"] = json!(a);
        }
        v.to_string()
    };
    let lines = [
        line(DIGITAL, "digital_special", 3, None),
        line(CUSTOMS_MATCH, "customs", 4, Some("match")),
        line(CUSTOMS_PENDING, "customs", 5, Some("pending")),
    ];
    app.import_ndjson(&op, lines.join("\n")).await;
    let driver = start_driver().await;
    let c = browser(&driver).await;
    let result = std::panic::AssertUnwindSafe(async {
        taxpayer_login(&c, &app, TAXPAYER_A).await;

        // The 数电票号码 field finds the one 数电票; its row shows no 发票代码.
        c.goto(&app.url("/select?issued_from=2026-11-01&issued_to=2026-11-30"))
            .await
            .unwrap();
        wait_text(&c, "共 3 条").await;
        let kinds = c
            .execute(
                "return [...document.querySelectorAll('select[name=type] option')].map(o => o.textContent)",
                vec![],
            )
            .await
            .unwrap();
        for k in ["数电专票", "数电普票", "海关缴款书", "农产品发票", "通行费电子普票"] {
            assert!(kinds.to_string().contains(k), "{k} not offered: {kinds}");
        }
        fill(&c, "input[name=digital_number]", DIGITAL).await;
        click(&c, "form.conditions button[type=submit]").await;
        wait_text(&c, "共 1 条").await;
        let body = c.find(Locator::Css("main")).await.unwrap().text().await.unwrap();
        assert!(body.contains(DIGITAL), "{body}");

        // All three on one page: tick them and save.
        c.goto(&app.url("/select?issued_from=2026-11-01&issued_to=2026-11-30"))
            .await
            .unwrap();
        wait_text(&c, "共 3 条").await;
        for n in [DIGITAL, CUSTOMS_MATCH, CUSTOMS_PENDING] {
            c.find(Locator::Css(&format!("input[name=tick][value='-:{n}']")))
                .await
                .unwrap_or_else(|e| panic!("no box for {n}: {e}"))
                .click()
                .await
                .unwrap();
        }
        shot(&c, "select-documents").await;
        c.find(Locator::XPath("//button[text()='保存']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let text = wait_text(&c, "份未能保存").await;
        assert!(text.contains("勾选 2 份"), "{text}");
        assert!(
            text.contains("海关缴款书稽核比对结果为滞留，相符后才能勾选抵扣"),
            "{text}"
        );
        assert!(text.contains(CUSTOMS_PENDING), "{text}");
    })
    .catch_unwind()
    .await;
    c.close().await.ok();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }

    // Read back: the 数电票 and the 相符 缴款书 are 已勾选, the 滞留 one is not.
    let a = app.taxpayer_token(TAXPAYER_A).await;
    for (n, want) in [
        (DIGITAL, "selected"),
        (CUSTOMS_MATCH, "selected"),
        (CUSTOMS_PENDING, "unselected"),
    ] {
        let r = app.get(&format!("/api/v1/invoices/-/{n}"), Some(&a)).await;
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["selection"], want, "{n}: {v}");
    }
}
