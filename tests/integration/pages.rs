//! Pages over HTTP: login redirect, cookie session, HTML errors, logout confirmation.

use reqwest::StatusCode;

use crate::helpers::*;

async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn with_cookie(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    cookie: &str,
) -> reqwest::Response {
    app.client
        .request(method, app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

fn session_cookie(r: &reqwest::Response) -> String {
    let c = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("fapiao_session="))
        .expect("session cookie");
    assert!(c.contains("HttpOnly"), "{c}");
    assert!(c.contains("SameSite=Strict"), "{c}");
    c.split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn home_needs_login_and_training_login_sets_a_cookie() {
    let app = spawn_app(Opts::default());
    let r = app.get("/", None).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login");

    let login = app.get("/login", None).await.text().await.unwrap();
    assert!(login.contains("培训纳税人"));
    assert!(login.contains(TAXPAYER_A));

    let r = post_form(&app, "/login/training", &[("taxpayer_id", TAXPAYER_A)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = session_cookie(&r);
    let home = with_cookie(&app, reqwest::Method::GET, "/", &cookie).await;
    assert_eq!(home.status(), StatusCode::OK);
    let html = home.text().await.unwrap();
    for text in [
        "福州鑫达电子科技有限公司",
        "发票勾选",
        "确认勾选",
        "抵扣统计",
        "档案信息维护",
        "退出",
        "当前税款所属期",
    ] {
        assert!(html.contains(text), "missing {text}");
    }

    // 退出 asks first, then ends the session.
    let confirm = with_cookie(&app, reqwest::Method::GET, "/logout", &cookie)
        .await
        .text()
        .await
        .unwrap();
    assert!(confirm.contains("您确定要退出本平台吗"));
    let r = with_cookie(&app, reqwest::Method::POST, "/logout", &cookie).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = with_cookie(&app, reqwest::Method::GET, "/", &cookie).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn refused_login_shows_the_manual_message_on_the_page() {
    let app = spawn_app(Opts::default());
    let r = post_form(&app, "/login/training", &[("taxpayer_id", NO_RATING)]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("信用等级未设置"));
}

#[tokio::test]
async fn errors_are_html_pages_off_the_api() {
    let app = spawn_app(Opts::default());
    let r = app.get("/no/such/page", None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(r.text().await.unwrap().contains("页面不存在"));
    let r = app.get("/office", None).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/office/login");
}

#[tokio::test]
async fn staff_page_login_and_console() {
    let app = spawn_app(Opts::default());
    let r = post_form(
        &app,
        "/office/login",
        &[("username", "admin"), ("password", "wrong-one-1")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("用户名或密码错误"));
    let r = post_form(
        &app,
        "/office/login",
        &[("username", "admin"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = session_cookie(&r);
    let html = with_cookie(&app, reqwest::Method::GET, "/office", &cookie)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("税务人员工作台"));
    assert!(html.contains("管理员"));
    // A taxpayer cookie does not open the office console.
    let css = app.get("/assets/app.css", None).await;
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
}
