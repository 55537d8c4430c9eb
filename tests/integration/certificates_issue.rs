//! Certificates issued by the office: issue (PKCS#12 or CSR), log in over real mTLS, revoke
//! (the session ends, the next login is refused, the CRL lists it), `require_bound`, renewal,
//! the CA downloads, the roles on each route, and bad input.

use base64::Engine;
use fapiao::domain::{Area, Role};
use reqwest::{Client, Identity};
use serde_json::{json, Value};

use crate::helpers::*;

const UNREGISTERED: &str = "91350211MA2YCJ4U8U";

fn https(tls: fapiao::config::TlsSettings) -> TestApp {
    spawn_app(Opts {
        http: false,
        training: false,
        tls: Some(tls),
        ..Opts::default()
    })
}

fn mtls(app: &TestApp, cert_pem: &str, key_pem: &str) -> Client {
    let ca = std::fs::read(app.data_dir.join("certs/ca.pem")).unwrap();
    Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .tls_built_in_root_certs(false)
        .redirect(reqwest::redirect::Policy::none())
        .identity(Identity::from_pem(format!("{cert_pem}{key_pem}").as_bytes()).unwrap())
        .build()
        .unwrap()
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// The certificate and key (PEM) inside an issued PKCS#12.
fn open_p12(issued: &Value) -> (String, String) {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(issued["p12"].as_str().unwrap())
        .unwrap();
    let store = p12_keystore::KeyStore::from_pkcs12(
        &bytes,
        issued["password"].as_str().unwrap(),
        p12_keystore::Pkcs12ImportPolicy::default(),
    )
    .unwrap();
    let (_, chain) = store.private_key_chain().unwrap();
    let cert = pem("CERTIFICATE", chain.certs()[0].as_der());
    assert_eq!(cert.trim(), issued["certificate"].as_str().unwrap().trim());
    (cert, pem("PRIVATE KEY", chain.key().as_der()))
}

async fn issue(app: &TestApp, token: &str, id: &str, body: Value) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/office/taxpayers/{id}/certificates"),
        Some(token),
        &body,
    )
    .await
}

async fn list(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    let r = app
        .get(
            &format!("/api/v1/office/taxpayers/{id}/certificates"),
            Some(token),
        )
        .await;
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn revoke(app: &TestApp, token: &str, serial: &str, reason: &str) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/office/certificates/{serial}/revoke"),
        Some(token),
        &json!({ "reason": reason }),
    )
    .await
}

async fn cert_login(app: &TestApp, c: &Client) -> (u16, Value) {
    let r = c
        .post(app.url("/api/v1/session"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn issued_p12_logs_in_until_revoked_and_the_crl_lists_it() {
    let app = https(Default::default());
    let admin = app.staff_token("admin").await;
    let r = issue(&app, &admin, TAXPAYER_A, json!({})).await;
    assert_eq!(r.status(), 201);
    let issued: Value = r.json().await.unwrap();
    let serial = issued["serial"].as_str().unwrap().to_string();
    assert!(issued["password"].as_str().unwrap().len() >= 16);
    let (cert, key) = open_p12(&issued);
    // The certificate: the taxpayer in the subject, clientAuth, 730 days.
    let der = rustls_pemfile_der(&cert);
    let (_, x) = x509_parser::parse_x509_certificate(&der).unwrap();
    assert!(x.subject().to_string().contains("福州鑫达电子科技有限公司"));
    assert!(x.extended_key_usage().unwrap().unwrap().value.client_auth);
    assert!(x.key_usage().unwrap().unwrap().value.digital_signature());
    let days = (x.validity().not_after.timestamp() - x.validity().not_before.timestamp()) / 86_400;
    assert_eq!(days, 730);
    let items = list(&app, &admin, TAXPAYER_A).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["serial"], serial.as_str());
    assert_eq!(items[0]["state"], "active");
    assert_eq!(items[0]["how"], "p12");
    assert_eq!(items[0]["issued_by"], "admin");
    assert_eq!(
        items[0]["fingerprint"].as_str().unwrap(),
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&der))
    );

    // Log in over mTLS with it.
    let c = mtls(&app, &cert, &key);
    let (s, body) = cert_login(&app, &c).await;
    assert_eq!(s, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_string();
    let me = c
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    // The login page opens a session with it too (a cookie).
    let r = c
        .post(app.url("/login/certificate"))
        .header("origin", app.base.clone())
        .form(&[("password", "")])
        .send()
        .await
        .unwrap();
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("fapiao_session="))
        .map(|v| v.split(';').next().unwrap().to_string())
        .expect("a session cookie");
    let plain = |cookie: String| {
        app.client
            .get(app.url("/api/v1/me"))
            .header("cookie", cookie)
            .send()
    };
    assert_eq!(plain(cookie.clone()).await.unwrap().status(), 200);
    // Another party's session is not touched by the revocation.
    let other = app.staff_token("operator").await;

    // Revoke: the session ends, the next login is refused.
    let r = revoke(&app, &other, &serial, "lost").await;
    assert_eq!(r.status(), 200);
    let rec: Value = r.json().await.unwrap();
    assert_eq!(rec["state"], "revoked");
    assert_eq!(rec["revoked_reason"], "lost");
    let me = c
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
    assert_eq!(plain(cookie).await.unwrap().status(), 401);
    let (s, body) = cert_login(&app, &c).await;
    assert_eq!(s, 403, "{body}");
    assert_eq!(body["error"]["code"], "certificate_invalid");
    assert_eq!(body["reason"], "revoked");
    assert!(body["error"]["message"].as_str().unwrap().contains("吊销"));
    // The staff session of the revoker is untouched.
    assert_eq!(
        app.get("/api/v1/office/clock", Some(&other)).await.status(),
        200
    );
    // Revoking again is a conflict.
    expect_error(revoke(&app, &admin, &serial, "lost").await, 409, "conflict").await;

    // The CRL is signed by the CA and lists the serial.
    let r = app.get("/pki/crl", None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pkix-crl");
    let crl_der = r.bytes().await.unwrap();
    let (_, crl) = x509_parser::parse_x509_crl(&crl_der).unwrap();
    let listed: Vec<String> = crl
        .iter_revoked_certificates()
        .map(|r| hex::encode(r.raw_serial()))
        .collect();
    assert_eq!(listed, vec![serial]);
    let ca_der = app.get("/pki/ca.crt", None).await.bytes().await.unwrap();
    let (_, ca) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
    assert_eq!(crl.issuer(), ca.subject());
    assert!(crl.verify_signature(ca.public_key()).is_ok());
    // The audit log has both changes.
    let audit: Value = app
        .get("/api/v1/office/audit?per_page=500", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert!(audit.to_string().contains("certificate.revoke"), "{audit}");
}

fn rustls_pemfile_der(pem_text: &str) -> Vec<u8> {
    let body: String = pem_text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

/// A certificate of the server's own CA for `id`, made here with rcgen (not recorded).
fn unbound_certificate(app: &TestApp, id: &str) -> (String, String) {
    let dir = app.data_dir.join("certs");
    let ca_key =
        rcgen::KeyPair::from_pem(&std::fs::read_to_string(dir.join("ca.key")).unwrap()).unwrap();
    let issuer = rcgen::Issuer::from_ca_cert_pem(
        &std::fs::read_to_string(dir.join("ca.pem")).unwrap(),
        ca_key,
    )
    .unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "自制证书");
    params
        .distinguished_name
        .push(rcgen::DnType::CustomDnType(vec![2, 5, 4, 5]), id);
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(30);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

#[tokio::test]
async fn require_bound_refuses_certificates_not_issued_here() {
    let app = https(fapiao::config::TlsSettings {
        require_bound: true,
        ..Default::default()
    });
    let (cert, key) = unbound_certificate(&app, TAXPAYER_A);
    let (s, body) = cert_login(&app, &mtls(&app, &cert, &key)).await;
    assert_eq!(s, 403, "{body}");
    assert_eq!(body["error"]["code"], "certificate_invalid");
    assert_eq!(body["reason"], "unbound");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("未在本平台登记"));
    // One issued here logs in.
    let admin = app.staff_token("admin").await;
    let issued: Value = issue(&app, &admin, TAXPAYER_A, json!({}))
        .await
        .json()
        .await
        .unwrap();
    let (cert, key) = open_p12(&issued);
    let (s, body) = cert_login(&app, &mtls(&app, &cert, &key)).await;
    assert_eq!(s, 200, "{body}");
}

#[tokio::test]
async fn without_require_bound_a_certificate_of_the_ca_still_logs_in() {
    let app = https(Default::default());
    let (cert, key) = unbound_certificate(&app, TAXPAYER_A);
    let (s, body) = cert_login(&app, &mtls(&app, &cert, &key)).await;
    assert_eq!(s, 200, "{body}");
}

fn csr_pem(id: &str) -> (String, rcgen::KeyPair) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["evil.example".to_string()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "冒名企业");
    params
        .distinguished_name
        .push(rcgen::DnType::CustomDnType(vec![2, 5, 4, 5]), id);
    let csr = params.serialize_request(&key).unwrap();
    (csr.pem().unwrap(), key)
}

#[tokio::test]
async fn a_csr_is_signed_with_the_taxpayers_subject_and_a_forged_one_refused() {
    let app = spawn_app(Opts::default());
    let admin = app.staff_token("admin").await;
    let (good, key) = csr_pem(TAXPAYER_B);
    let r = issue(&app, &admin, TAXPAYER_A, json!({ "csr": good })).await;
    assert_eq!(r.status(), 201);
    let issued: Value = r.json().await.unwrap();
    assert!(issued.get("p12").is_none() && issued.get("password").is_none());
    let der = rustls_pemfile_der(issued["certificate"].as_str().unwrap());
    let (_, x) = x509_parser::parse_x509_certificate(&der).unwrap();
    let subject_id = x
        .subject()
        .iter_by_oid(&x509_parser::oid_registry::OID_X509_SERIALNUMBER)
        .next()
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(subject_id, TAXPAYER_A);
    let cn = x
        .subject()
        .iter_common_name()
        .next()
        .unwrap()
        .as_str()
        .unwrap();
    assert_eq!(cn, "福州鑫达电子科技有限公司");
    assert!(x.subject_alternative_name().unwrap().is_none());
    assert_eq!(
        x.public_key().raw,
        rcgen::PublicKeyData::subject_public_key_info(&key).as_slice()
    );
    let items = list(&app, &admin, TAXPAYER_A).await;
    assert_eq!(items[0]["how"], "csr");

    // The signature broken: refused, nothing recorded.
    let (other, _) = csr_pem(TAXPAYER_A);
    let mut der = rustls_pemfile_der(&other);
    let last = der.len() - 1;
    der[last] ^= 0x01;
    let forged = pem("CERTIFICATE REQUEST", &der);
    let body = expect_error(
        issue(&app, &admin, TAXPAYER_A, json!({ "csr": forged })).await,
        422,
        "csr_invalid",
    )
    .await;
    assert_eq!(body["reason"], "bad_signature");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("签名无效"));
    let body = expect_error(
        issue(&app, &admin, TAXPAYER_A, json!({ "csr": "not a csr" })).await,
        422,
        "csr_invalid",
    )
    .await;
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("无法解析"));
    assert_eq!(list(&app, &admin, TAXPAYER_A).await.len(), 1);
}

#[tokio::test]
async fn issuing_again_renews_and_the_console_lists_what_expires_soon() {
    let app = spawn_app(Opts {
        tls: Some(fapiao::config::TlsSettings {
            client_cert_days: 20,
            ..Default::default()
        }),
        ..Opts::default()
    });
    let admin = app.staff_token("admin").await;
    let first: Value = issue(&app, &admin, TAXPAYER_A, json!({}))
        .await
        .json()
        .await
        .unwrap();
    let second: Value = issue(&app, &admin, TAXPAYER_A, json!({}))
        .await
        .json()
        .await
        .unwrap();
    let items = list(&app, &admin, TAXPAYER_A).await;
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|i| i["state"] == "active"));
    let r = revoke(&app, &admin, first["serial"].as_str().unwrap(), "replaced").await;
    assert_eq!(r.status(), 200);
    let items = list(&app, &admin, TAXPAYER_A).await;
    let state = |serial: &Value| {
        items
            .iter()
            .find(|i| &i["serial"] == serial)
            .map(|i| i["state"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(state(&first["serial"]), "revoked");
    assert_eq!(state(&second["serial"]), "active");
    // Both expire within 30 days; only the active one is listed as expiring.
    let page = app
        .get("/office/certificates", Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("30 天内到期"), "{page}");
    assert!(page.contains(second["serial"].as_str().unwrap()));
    assert!(!page.contains(first["serial"].as_str().unwrap()));
    // The taxpayer's page lists both, and offers to renew.
    let page = app
        .get(
            &format!("/office/taxpayers/{TAXPAYER_A}/certificates"),
            Some(&admin),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("已吊销") && page.contains("换发证书"),
        "{page}"
    );
}

#[tokio::test]
async fn the_console_issues_shows_the_password_once_and_revokes() {
    let app = spawn_app(Opts::default());
    let admin = app.staff_token("admin").await;
    let path = format!("/office/taxpayers/{TAXPAYER_A}/certificates");
    let r = app
        .client
        .post(app.url(&path))
        .bearer_auth(&admin)
        .header("origin", app.base.clone())
        .form(&[("how", "p12")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let page = r.text().await.unwrap();
    assert!(page.contains("PKCS#12 密码") && page.contains("data:application/x-pkcs12;base64,"));
    let items = list(&app, &admin, TAXPAYER_A).await;
    let serial = items[0]["serial"].as_str().unwrap().to_string();
    // The list page shows no password.
    let page = app.get(&path, Some(&admin)).await.text().await.unwrap();
    assert!(page.contains(&serial) && !page.contains("PKCS#12 密码"));
    let r = app
        .client
        .post(app.url(&format!("/office/certificates/{serial}/revoke")))
        .bearer_auth(&admin)
        .header("origin", app.base.clone())
        .form(&[("reason", "closed")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("{path}?done=revoked"));
    assert_eq!(list(&app, &admin, TAXPAYER_A).await[0]["state"], "revoked");
    // A bad reason goes back with the message; nothing changes.
    let r = app
        .client
        .post(app.url(&format!("/office/certificates/{serial}/revoke")))
        .bearer_auth(&admin)
        .header("origin", app.base.clone())
        .form(&[("reason", "bored")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    // An auditor sees the list without the write controls.
    let auditor = app.staff_token("auditor").await;
    let page = app.get(&path, Some(&auditor)).await.text().await.unwrap();
    assert!(page.contains(&serial) && !page.contains("换发证书") && !page.contains("签发证书"));
}

#[tokio::test]
async fn the_ca_downloads_and_the_page_that_offers_them() {
    let app = spawn_app(Opts::default());
    let r = app.get("/pki/ca.crt", None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pkix-cert");
    let der = r.bytes().await.unwrap().to_vec();
    assert!(x509_parser::parse_x509_certificate(&der).is_ok());
    let r = app.get("/pki/ca.pem", None).await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(text.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(rustls_pemfile_der(&text), der);
    // The same as the CA file the server trusts.
    let file = std::fs::read_to_string(app.data_dir.join("certs/ca.pem")).unwrap();
    assert_eq!(rustls_pemfile_der(&file), der);
    let page = app.get("/pki", None).await.text().await.unwrap();
    for words in [
        "下载根证书",
        "/pki/ca.crt",
        "/pki/ca.pem",
        "Windows",
        "macOS",
        "Linux",
    ] {
        assert!(page.contains(words), "{words}");
    }
    let login = app.get("/login", None).await.text().await.unwrap();
    assert!(login.contains("href=\"/pki\""));
}

#[tokio::test]
async fn a_configured_ca_without_its_key_cannot_issue() {
    let other = tempfile::tempdir().unwrap();
    let paths = fapiao::pki::tls::ensure_local_certs(other.path(), time::OffsetDateTime::now_utc())
        .unwrap();
    let app = spawn_app(Opts {
        tls: Some(fapiao::config::TlsSettings {
            client_ca: Some(paths.ca_cert.clone()),
            ..Default::default()
        }),
        ..Opts::default()
    });
    let admin = app.staff_token("admin").await;
    let body = expect_error(
        issue(&app, &admin, TAXPAYER_A, json!({})).await,
        409,
        "ca_key_missing",
    )
    .await;
    assert!(body["error"]["message"].as_str().unwrap().contains("私钥"));
    assert!(list(&app, &admin, TAXPAYER_A).await.is_empty());
    // Its certificate is still offered.
    let der = app.get("/pki/ca.crt", None).await.bytes().await.unwrap();
    let file = std::fs::read_to_string(&paths.ca_cert).unwrap();
    assert_eq!(rustls_pemfile_der(&file), der.to_vec());
}

#[tokio::test]
async fn each_role_on_each_certificate_route() {
    let app = spawn_app(Opts::default());
    let admin = app.staff_token("admin").await;
    let issued: Value = issue(&app, &admin, TAXPAYER_A, json!({}))
        .await
        .json()
        .await
        .unwrap();
    let serial = issued["serial"].as_str().unwrap().to_string();
    for role in [Role::Admin, Role::Operator, Role::Auditor, Role::Agent] {
        let token = app.staff_token(role.as_str()).await;
        let may_read = role.may(Area::ReadOffice);
        let may_change = role.may(Area::ChangeOffice);
        let r = app
            .get(
                &format!("/api/v1/office/taxpayers/{TAXPAYER_B}/certificates"),
                Some(&token),
            )
            .await;
        assert_eq!(r.status() == 200, may_read, "{role:?} list");
        if !may_read {
            expect_error(r, 403, "wrong_role").await;
        }
        let r = issue(&app, &token, TAXPAYER_B, json!({})).await;
        assert_eq!(r.status() == 201, may_change, "{role:?} issue");
        if !may_change {
            expect_error(r, 403, "wrong_role").await;
        }
        // Revoking the serial: the first role allowed revokes it, the next gets 409.
        let r = revoke(&app, &token, &serial, "lost").await;
        if may_change {
            assert!([200, 409].contains(&r.status().as_u16()), "{role:?} revoke");
        } else {
            expect_error(r, 403, "wrong_role").await;
        }
        for page in [
            "/office/certificates".to_string(),
            format!("/office/taxpayers/{TAXPAYER_B}/certificates"),
        ] {
            let r = app.get(&page, Some(&token)).await;
            assert_eq!(r.status() == 200, may_read, "{role:?} {page}");
        }
    }
    // Nobody without a session.
    expect_error(
        app.get(
            &format!("/api/v1/office/taxpayers/{TAXPAYER_B}/certificates"),
            None,
        )
        .await,
        401,
        "not_logged_in",
    )
    .await;
    expect_error(
        issue(&app, "nope", TAXPAYER_B, json!({})).await,
        401,
        "not_logged_in",
    )
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_in_chinese_and_changes_nothing() {
    let app = spawn_app(Opts::default());
    let admin = app.staff_token("admin").await;
    let body = expect_error(
        issue(&app, &admin, UNREGISTERED, json!({})).await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(body["error"]["message"], "纳税人不存在");
    let r = app
        .get(
            &format!("/api/v1/office/taxpayers/{UNREGISTERED}/certificates"),
            Some(&admin),
        )
        .await;
    expect_error(r, 404, "not_found").await;
    let r = issue(&app, &admin, "not-an-id", json!({})).await;
    assert_eq!(r.status(), 422);
    let r = issue(&app, &admin, TAXPAYER_A, json!({"csr": 1})).await;
    assert!(r.status().is_client_error());
    let issued: Value = issue(&app, &admin, TAXPAYER_A, json!({}))
        .await
        .json()
        .await
        .unwrap();
    let serial = issued["serial"].as_str().unwrap();
    let body = expect_error(
        revoke(&app, &admin, serial, "bored").await,
        422,
        "invalid_value",
    )
    .await;
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("吊销原因"));
    assert_eq!(list(&app, &admin, TAXPAYER_A).await[0]["state"], "active");
    let body = expect_error(revoke(&app, &admin, "00ff", "lost").await, 404, "not_found").await;
    assert_eq!(body["error"]["message"], "证书不存在");
    expect_error(revoke(&app, &admin, "../x", "lost").await, 404, "not_found").await;
    assert_eq!(list(&app, &admin, TAXPAYER_A).await.len(), 1);
    // Nothing recorded for the refusals.
    let audit: Value = app
        .get("/api/v1/office/audit?per_page=500", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert!(!audit.to_string().contains("certificate.revoke"), "{audit}");
}

/// A client certificate for `id` signed by a CA of its own (another name, another key), or
/// self-signed.
fn foreign_certificate(id: &str, self_signed: bool) -> (String, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "某商业 CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::from_ca_cert_der(ca_cert.der(), ca_key).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CustomDnType(vec![2, 5, 4, 5]), id);
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = if self_signed {
        params.self_signed(&key).unwrap()
    } else {
        params.signed_by(&key, &issuer).unwrap()
    };
    (cert.pem(), key.serialize_pem())
}

#[tokio::test]
async fn a_certificate_of_another_ca_answers_unknown_issuer() {
    let app = https(Default::default());
    for self_signed in [false, true] {
        let (cert, key) = foreign_certificate(TAXPAYER_A, self_signed);
        let (s, body) = cert_login(&app, &mtls(&app, &cert, &key)).await;
        assert_eq!(s, 403, "{body}");
        assert_eq!(body["error"]["code"], "certificate_invalid");
        assert_eq!(
            body["reason"], "unknown_issuer",
            "self-signed: {self_signed}"
        );
    }
}
