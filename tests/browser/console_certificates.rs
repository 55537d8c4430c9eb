//! Certificates in Chromium: a taxpayer finds 下载根证书 on the login page and downloads the CA;
//! an operator issues a taxpayer a certificate (the password shown once), sees it listed, and
//! revokes it.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ca_page_and_an_operator_issuing_and_revoking_a_certificate() {
    let app = spawn_app(Opts::default());
    let driver = start_driver().await;
    let c = browser(&driver).await;
    let result = std::panic::AssertUnwindSafe(async {
        // The taxpayer's side: 下载根证书 from the login page.
        c.goto(&app.url("/login")).await.unwrap();
        click(&c, "a[href='/pki']").await;
        let text = wait_text(&c, "Windows").await;
        assert!(text.contains("macOS") && text.contains("Linux"), "{text}");
        let der = c
            .execute_async(
                "const done = arguments[0]; fetch('/pki/ca.crt').then(r => r.arrayBuffer()
                    .then(b => done([r.status, r.headers.get('content-type'), new Uint8Array(b)[0]])));",
                vec![],
            )
            .await
            .unwrap();
        // DER: a SEQUENCE (0x30).
        assert_eq!(der, json!([200, "application/pkix-cert", 48]), "{der}");
        shot(&c, "pki").await;

        // The office's side.
        staff_login(&c, &app, "operator").await;
        c.goto(&app.url("/office/certificates")).await.unwrap();
        wait_text(&c, "30 天内到期的证书").await;
        fill(&c, "input[name=taxpayer]", TAXPAYER_A).await;
        click(&c, "form[action='/office/certificates'] button").await;
        wait_text(&c, "签发证书").await;
        click(&c, "input[name=how][value=p12] + button").await;
        let text = wait_text(&c, "证书已签发").await;
        assert!(text.contains("只显示这一次"), "{text}");
        let password = c
            .find(Locator::Css("#password"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(password.trim().len(), 16, "{password}");
        let serial = c
            .find(Locator::Css("#serial"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        click(&c, &format!("a[href='/office/taxpayers/{TAXPAYER_A}/certificates']")).await;
        let text = wait_text(&c, "换发证书").await;
        assert!(!text.contains(password.trim()), "the password is shown again");
        choose(&c, "select[name=reason]", "lost").await;
        click(
            &c,
            &format!("form[action='/office/certificates/{}/revoke'] button", serial.trim()),
        )
        .await;
        wait_text(&c, "证书遗失").await;
        shot(&c, "office-certificates").await;
    })
    .catch_unwind()
    .await;
    c.close().await.unwrap();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
    let op = app.staff_token("operator").await;
    let list: Value = app
        .get(
            &format!("/api/v1/office/taxpayers/{TAXPAYER_A}/certificates"),
            Some(&op),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["state"], "revoked", "{list}");
}
