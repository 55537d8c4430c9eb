//! Certificate login over mutual TLS (S-T1): the taxpayer named by the client certificate's
//! subject serialNumber; expired, not-yet-valid, foreign-CA and ID-less certificates and no
//! certificate at all are each refused with their own message; the platform password still
//! applies; recovery with the certificate.

use reqwest::{Client, Identity, StatusCode};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use crate::helpers::*;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn client(app: &TestApp, identity: Option<(String, String)>) -> Client {
    let ca = std::fs::read(app.data_dir.join("certs/ca.pem")).unwrap();
    let mut b = Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .tls_built_in_root_certs(false);
    if let Some((cert, key)) = identity {
        b = b.identity(Identity::from_pem(format!("{cert}{key}").as_bytes()).unwrap());
    }
    b.build().unwrap()
}

fn issue(
    dir: &std::path::Path,
    id: &str,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> (String, String) {
    let c =
        fapiao::pki::tls::issue_client_cert(dir, id, "测试企业", from, to, "secret-p12").unwrap();
    assert!(!c.p12.is_empty());
    (c.cert_pem, c.key_pem)
}

async fn login(app: &TestApp, c: &Client, body: Value) -> (u16, Value) {
    let r = c
        .post(app.url("/api/v1/session"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap())
}

fn https_app() -> TestApp {
    spawn_app(Opts {
        http: false,
        training: false,
        ..Opts::default()
    })
}

#[tokio::test]
async fn a_valid_certificate_logs_its_taxpayer_in() {
    let app = https_app();
    let certs = app.data_dir.join("certs");
    let id = issue(
        &certs,
        TAXPAYER_A,
        now() - Duration::days(1),
        now() + Duration::days(365),
    );
    let c = client(&app, Some(id.clone()));
    let (s, body) = login(&app, &c, json!({})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["taxpayer_id"], TAXPAYER_A);
    let token = body["token"].as_str().unwrap();
    let me: Value = c
        .get(app.url("/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["taxpayer_id"], TAXPAYER_A);
    // Naming another taxpayer than the certificate's is refused.
    let (s, body) = login(&app, &c, json!({"taxpayer_id": TAXPAYER_B})).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (403, Some("certificate_invalid"))
    );
    assert_eq!(body["reason"], "taxpayer_mismatch");
    // The platform password is the second factor.
    let r = c
        .put(app.url("/api/v1/me/password"))
        .bearer_auth(token)
        .json(&json!({"enabled": true, "password": "abcd1234", "question": "开户银行？", "answer": "兴业银行"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (s, body) = login(&app, &c, json!({})).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (401, Some("password_required"))
    );
    let (s, body) = login(&app, &c, json!({"password": "wrong-pass1"})).await;
    assert_eq!((s, body["attempts_left"].as_u64()), (401, Some(10)));
    let (s, _) = login(&app, &c, json!({"password": "abcd1234"})).await;
    assert_eq!(s, 200);
    // Recovery with the certificate.
    let q: Value = c
        .get(app.url("/api/v1/session/recover"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(q["question"], "开户银行？");
    let r = c
        .post(app.url("/api/v1/session/recover"))
        .json(&json!({"answer": "兴业银行"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (s, _) = login(&app, &c, json!({})).await;
    assert_eq!(s, 200);
    // A registered taxpayer's certificate for an unknown ID: 档案信息未同步.
    let unknown = issue(
        &certs,
        "91350211MA2YCJ4U8U",
        now() - Duration::days(1),
        now() + Duration::days(30),
    );
    let (s, body) = login(&app, &client(&app, Some(unknown)), json!({})).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (403, Some("unknown_taxpayer"))
    );
}

#[tokio::test]
async fn bad_certificates_and_no_certificate_each_have_their_message() {
    let app = https_app();
    let certs = app.data_dir.join("certs");
    let other_ca = tempfile::tempdir().unwrap();
    fapiao::pki::tls::ensure_local_certs(other_ca.path(), now()).unwrap();
    let cases = [
        (
            "expired",
            issue(
                &certs,
                TAXPAYER_A,
                now() - Duration::days(400),
                now() - Duration::days(1),
            ),
            "已过期",
        ),
        (
            "not_yet_valid",
            issue(
                &certs,
                TAXPAYER_A,
                now() + Duration::days(10),
                now() + Duration::days(400),
            ),
            "尚未生效",
        ),
        (
            "unknown_issuer",
            issue(
                other_ca.path(),
                TAXPAYER_A,
                now() - Duration::days(1),
                now() + Duration::days(30),
            ),
            "不是税务机关签发",
        ),
        (
            "no_taxpayer_id",
            issue(
                &certs,
                "no-such-id",
                now() - Duration::days(1),
                now() + Duration::days(30),
            ),
            "纳税人识别号",
        ),
    ];
    let mut messages = std::collections::HashSet::new();
    for (reason, id, words) in cases {
        let (s, body) = login(&app, &client(&app, Some(id)), json!({})).await;
        assert_eq!(s, 403, "{reason}: {body}");
        assert_eq!(body["error"]["code"], "certificate_invalid", "{reason}");
        assert_eq!(body["reason"], reason);
        let m = body["error"]["message"].as_str().unwrap().to_string();
        assert!(m.contains(words), "{reason}: {m}");
        assert!(messages.insert(m));
    }
    // No certificate, outside training mode.
    let (s, body) = login(&app, &client(&app, None), json!({})).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (403, Some("certificate_required"))
    );
    assert!(messages.insert(body["error"]["message"].as_str().unwrap().to_string()));
    // The training list is not a way in outside training mode.
    let (s, body) = login(
        &app,
        &client(&app, None),
        json!({"taxpayer_id": TAXPAYER_A}),
    )
    .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (403, Some("certificate_required"))
    );
}

#[tokio::test]
async fn the_login_page_logs_in_with_the_certificate_or_says_why_not() {
    let app = https_app();
    let certs = app.data_dir.join("certs");
    let ca = std::fs::read(app.data_dir.join("certs/ca.pem")).unwrap();
    let browser = |identity: (String, String)| {
        Client::builder()
            .use_rustls_tls()
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
            .tls_built_in_root_certs(false)
            .redirect(reqwest::redirect::Policy::none())
            .identity(
                Identity::from_pem(format!("{}{}", identity.0, identity.1).as_bytes()).unwrap(),
            )
            .build()
            .unwrap()
    };
    let good = browser(issue(
        &certs,
        TAXPAYER_A,
        now() - Duration::days(1),
        now() + Duration::days(30),
    ));
    let page = good
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("已检测到税务数字证书") && page.contains(TAXPAYER_A));
    let r = good
        .post(app.url("/login/certificate"))
        .form(&[("password", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("fapiao_session="));
    let expired = browser(issue(
        &certs,
        TAXPAYER_A,
        now() - Duration::days(40),
        now() - Duration::days(2),
    ));
    let page = expired
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("已过期"), "{page}");
    let r = expired
        .post(app.url("/login/certificate"))
        .form(&[("password", "")])
        .send()
        .await
        .unwrap();
    // Refused: back to the login page with the reason, no session.
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r.headers().get("set-cookie").is_none());
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/login?note=closed&error="), "{to}");
    let page = expired
        .get(app.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("role=\"alert\""), "{page}");
}

#[tokio::test]
async fn forgotten_password_page_with_the_certificate() {
    let app = https_app();
    let certs = app.data_dir.join("certs");
    let c = client(
        &app,
        Some(issue(
            &certs,
            TAXPAYER_A,
            now() - Duration::days(1),
            now() + Duration::days(30),
        )),
    );
    let (_, body) = login(&app, &c, json!({})).await;
    let token = body["token"].as_str().unwrap().to_string();
    let r = c
        .put(app.url("/api/v1/me/password"))
        .bearer_auth(&token)
        .json(&json!({"enabled": true, "password": "abcd1234", "question": "<b>法人姓名？</b>", "answer": "王五"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = c
        .get(app.url("/login/recover"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The question is shown, escaped.
    assert!(page.contains("&lt;b&gt;法人姓名？&lt;/b&gt;"), "{page}");
    // Post/Redirect/Get: each answer leads back to the page with the outcome (this client
    // follows redirects).
    let follow = |r: reqwest::Response| async move {
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.url().path(), "/login/recover", "redirected to the page");
        r.text().await.unwrap()
    };
    let r = c
        .post(app.url("/login/recover"))
        .form(&[("answer", "张三")])
        .send()
        .await
        .unwrap();
    assert!(follow(r).await.contains("还可以尝试10次"));
    let r = c
        .post(app.url("/login/recover"))
        .form(&[("answer", "王五")])
        .send()
        .await
        .unwrap();
    assert!(follow(r).await.contains("平台密码已取消"));
    let (s, _) = login(&app, &c, json!({})).await;
    assert_eq!(s, 200);
    // Without a certificate the page says what is needed.
    let r = client(&app, None)
        .get(app.url("/login/recover"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("请插入税务数字证书"));
}
