//! The console's people pages (工作台, 纳税人管理, 人员管理, 审计日志) over HTTP: the role
//! matrix on every route, the forms against the API's view of the data, refusals that change
//! nothing, the audit filters.

use reqwest::StatusCode;
use serde_json::Value;

use fapiao::store::prelude::*;

use crate::helpers::*;

async fn login_cookie(t: &TestApp, username: &str, password: &str) -> reqwest::Response {
    t.client
        .post(t.url("/office/login"))
        .form(&[("username", username), ("password", password)])
        .send()
        .await
        .unwrap()
}

fn session_cookie(r: &reqwest::Response) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("fapiao_session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

async fn cookie(t: &TestApp, username: &str) -> String {
    let r = login_cookie(t, username, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    session_cookie(&r)
}

async fn get_page(t: &TestApp, path: &str, cookie: &str) -> (StatusCode, String) {
    let r = t
        .client
        .get(t.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn post_form(
    t: &TestApp,
    path: &str,
    cookie: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    t.client
        .post(t.url(path))
        .header("cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_string()
}

async fn api(t: &TestApp, token: &str, path: &str) -> Value {
    let r = t.get(path, Some(token)).await;
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.json().await.unwrap()
}

/// What the office data looks like through the API (to see that a refusal changed nothing).
async fn state(t: &TestApp, admin: &str) -> (Value, Value, Value) {
    (
        api(t, admin, "/api/v1/office/taxpayers?per_page=500").await,
        {
            // Logins move `last_login_at`; the accounts themselves must not change.
            let mut staff = api(t, admin, "/api/v1/office/staff").await;
            for s in staff["items"].as_array_mut().unwrap() {
                s.as_object_mut().unwrap().remove("last_login_at");
            }
            staff
        },
        api(t, admin, &format!("/api/v1/office/taxpayers/{TAXPAYER_A}")).await,
    )
}

const NEW_ID: &str = "91310000MA1FL8XQ37";

fn new_taxpayer_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("taxpayer_id", NEW_ID),
        ("name", "上海新建贸易有限公司"),
        ("region", ""),
        ("authority", "国家税务总局上海市税务局"),
        ("eligible", "1"),
        ("credit_rating", "B"),
        ("current_period", ""),
        ("contact_name", "王五"),
        ("contact_phone", "13800000000"),
        ("contact_email", "w@example.com"),
    ]
}

#[tokio::test]
async fn each_role_gets_the_pages_the_matrix_allows_and_an_auditor_changes_nothing() {
    let t = spawn_app(Opts::default());
    let admin = t.staff_token("admin").await;
    // (path, roles allowed: admin, operator, agent, auditor)
    let a = format!("/office/taxpayers/{TAXPAYER_A}");
    let e = format!("/office/taxpayers/{TAXPAYER_A}/edit");
    let pages: Vec<(&str, [bool; 4])> = vec![
        ("/office", [true, true, true, true]),
        ("/office/taxpayers", [true, true, false, true]),
        ("/office/taxpayers?q=福州", [true, true, false, true]),
        ("/office/taxpayers/new", [true, true, false, false]),
        (&a, [true, true, false, true]),
        (&e, [true, true, false, false]),
        ("/office/staff", [true, false, false, false]),
        ("/office/audit", [true, false, false, true]),
        ("/office/audit/export.csv", [true, false, false, true]),
    ];
    for (i, user) in ["admin", "operator", "agent", "auditor"].iter().enumerate() {
        let c = cookie(&t, user).await;
        for (path, allowed) in &pages {
            let (status, html) = get_page(&t, path, &c).await;
            let want = if allowed[i] {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(status, want, "{user} GET {path}");
            if *user == "auditor" && status == StatusCode::OK {
                assert!(
                    !html.contains("method=\"post\""),
                    "the auditor sees a write form on {path}"
                );
            }
            if *user == "agent" && *path == "/office" {
                assert!(!html.contains("href=\"/office/taxpayers\""), "{html}");
                assert!(html.contains("征纳互动"));
            }
        }
    }

    // The auditor and the agent forge every write: refused, nothing changed.
    let before = state(&t, &admin).await;
    let up = format!("/office/taxpayers/{TAXPAYER_A}");
    let unlock = format!("/office/taxpayers/{TAXPAYER_A}/unlock");
    let mut edit = new_taxpayer_form();
    edit[0] = ("taxpayer_id", TAXPAYER_A);
    for user in ["auditor", "agent"] {
        let c = cookie(&t, user).await;
        let posts: Vec<(&str, Vec<(&str, &str)>)> = vec![
            ("/office/taxpayers", new_taxpayer_form()),
            (&up, edit.clone()),
            (&unlock, vec![]),
            (
                "/office/staff",
                vec![
                    ("username", "mallory"),
                    ("role", "admin"),
                    ("password", "Mallory-2026"),
                ],
            ),
            ("/office/staff/admin/disable", vec![]),
            ("/office/staff/operator/enable", vec![]),
            (
                "/office/staff/admin/password",
                vec![("password", "Mallory-2026")],
            ),
        ];
        for (path, form) in posts {
            let r = post_form(&t, path, &c, &form).await;
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{user} POST {path}");
        }
    }
    // The operator may not manage staff either.
    let c = cookie(&t, "operator").await;
    let r = post_form(&t, "/office/staff/admin/disable", &c, &[("confirm", "1")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(state(&t, &admin).await, before);
}

#[tokio::test]
async fn the_home_page_shows_the_figures_with_links_by_role() {
    let t = spawn_app(Opts {
        clock: Some("2026-12-10T09:00:00+08:00"),
        ..Opts::default()
    });
    let c = cookie(&t, "admin").await;
    let (status, html) = get_page(&t, "/office", &c).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("税务人员工作台"));
    // Four taxpayers, their period 202612 closes on the 15th of January: not this week.
    assert!(html.contains("4 户"), "{html}");
    assert!(html.contains("href=\"/office/taxpayers\""));
    assert!(html.contains("href=\"/office/staff\""));
    assert!(html.contains("href=\"/office/audit\""));
    assert!(html.contains("夜间统计作业"));
    assert!(html.contains("查询索引"));
    let c = cookie(&t, "operator").await;
    let (_, html) = get_page(&t, "/office", &c).await;
    assert!(html.contains("href=\"/office/taxpayers\""));
    assert!(!html.contains("href=\"/office/staff\""));
    assert!(!html.contains("href=\"/office/audit\""));

    // A period closing within the week is listed: the taxpayers' current period 202612
    // closes on 2027-01-15 (default); move the clock to 2027-01-12.
    let t = spawn_app(Opts {
        clock: Some("2026-12-31T09:00:00+08:00"),
        ..Opts::default()
    });
    let admin = t.staff_token("admin").await;
    let r = t
        .send_json(
            reqwest::Method::PUT,
            "/api/v1/office/clock",
            Some(&admin),
            &serde_json::json!({"now": "2027-01-12T09:00:00+08:00"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let c = cookie(&t, "admin").await;
    let (_, html) = get_page(&t, "/office", &c).await;
    assert!(html.contains("2026年12月"), "{html}");
    assert!(html.contains("2027-01-15"), "{html}");
}

#[tokio::test]
async fn an_operator_creates_and_edits_a_taxpayer_read_back_through_the_api() {
    let t = spawn_app(Opts::default());
    let token = t.staff_token("operator").await;
    let c = cookie(&t, "operator").await;
    let (status, html) = get_page(&t, "/office/taxpayers/new", &c).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("新增纳税人"));

    let r = post_form(&t, "/office/taxpayers", &c, &new_taxpayer_form()).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&r),
        format!("/office/taxpayers/{NEW_ID}?done=created")
    );
    let rec = api(&t, &token, &format!("/api/v1/office/taxpayers/{NEW_ID}")).await;
    assert_eq!(rec["name"], "上海新建贸易有限公司");
    assert_eq!(rec["region"], "310000");
    assert_eq!(rec["credit_rating"], "B");
    assert_eq!(rec["contact"]["name"], "王五");
    assert_eq!(rec["eligible"], true);

    // The list finds it by name; its page shows it.
    let (_, html) = get_page(&t, "/office/taxpayers?q=新建贸易", &c).await;
    assert!(html.contains(NEW_ID));
    assert!(html.contains("共 1 户"));
    let (status, html) = get_page(&t, &location(&r), &c).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("已新增纳税人"));
    assert!(html.contains("当前税款所属期"));
    assert!(html.contains("taxpayer.create"));

    // 修改档案: the rating to A, not eligible.
    let (status, html) = get_page(&t, &format!("/office/taxpayers/{NEW_ID}/edit"), &c).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"<option value="B" selected>"#), "{html}");
    let mut form = new_taxpayer_form();
    form[2] = ("region", "310000");
    form[4] = ("eligible", "0");
    form[5] = ("credit_rating", "A");
    let r = post_form(&t, &format!("/office/taxpayers/{NEW_ID}"), &c, &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let rec = api(&t, &token, &format!("/api/v1/office/taxpayers/{NEW_ID}")).await;
    assert_eq!(rec["credit_rating"], "A");
    assert_eq!(rec["eligible"], false);
    let history = rec["credit_rating_changes"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    let (_, html) = get_page(&t, &location(&r), &c).await;
    assert!(html.contains("已保存档案"));
    assert!(html.contains("纳税信用等级变更记录"));
    assert!(html.contains("B级</td><td>A级"), "{html}");

    // 解锁: eleven wrong platform passwords today lock it.
    let tid = fapiao::domain::TaxpayerId::parse(NEW_ID).unwrap();
    let today = t.app.clock.now().date_naive();
    t.app
        .store
        .write(&t.app.system("test"), |tx| {
            let mut rec = tx.taxpayer(&tid)?.unwrap();
            rec.password_failures = fapiao::domain::PasswordFailures {
                day: Some(today),
                count: 11,
            };
            tx.put_taxpayer(&rec)?;
            tx.audit("test.lock", &tid, "");
            Ok(())
        })
        .unwrap();
    let (_, html) = get_page(&t, &format!("/office/taxpayers/{NEW_ID}"), &c).await;
    assert!(html.contains("今日已锁定"), "{html}");
    assert!(html.contains("解锁平台密码"));
    let r = post_form(&t, &format!("/office/taxpayers/{NEW_ID}/unlock"), &c, &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(location(&r).ends_with("done=unlocked"));
    let (_, html) = get_page(&t, &location(&r), &c).await;
    assert!(html.contains("taxpayer.unlock"));
    assert!(!html.contains("今日已锁定"));
    let rec = api(&t, &token, &format!("/api/v1/office/taxpayers/{NEW_ID}")).await;
    assert_eq!(rec["password_failures_today"], 0);
}

#[tokio::test]
async fn bad_input_gets_a_chinese_message_and_changes_nothing() {
    let t = spawn_app(Opts::default());
    let admin = t.staff_token("admin").await;
    let c = cookie(&t, "admin").await;
    let before = state(&t, &admin).await;

    let mut form = new_taxpayer_form();
    form[0] = ("taxpayer_id", "91310000MA1FL8XQ3X");
    let r = post_form(&t, "/office/taxpayers", &c, &form).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("纳税人识别号"), "{html}");
    assert!(html.contains("上海新建贸易有限公司"), "the input is kept");

    let mut form = new_taxpayer_form();
    form[0] = ("taxpayer_id", TAXPAYER_A);
    let r = post_form(&t, "/office/taxpayers", &c, &form).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.text().await.unwrap().contains("已存在"));

    let mut form = new_taxpayer_form();
    form[1] = ("name", "  ");
    form[2] = ("region", "350000");
    let r = post_form(&t, &format!("/office/taxpayers/{TAXPAYER_A}"), &c, &form).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("纳税人名称不能为空"));

    let mut form = new_taxpayer_form();
    form[5] = ("credit_rating", "Z");
    let r = post_form(&t, "/office/taxpayers", &c, &form).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("纳税信用等级"));

    let r = post_form(
        &t,
        "/office/staff",
        &c,
        &[
            ("username", "zhangsan"),
            ("name", "张三"),
            ("role", "operator"),
            ("password", "12345678"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("密码不能全部为数字"), "{html}");
    assert!(html.contains("value=\"zhangsan\""), "the input is kept");
    assert!(!html.contains("12345678"), "the password is not echoed");

    let r = post_form(
        &t,
        "/office/staff/operator/password",
        &c,
        &[("password", "short1")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("密码长度不能少于8位"));

    let r = post_form(
        &t,
        "/office/staff",
        &c,
        &[
            ("username", "张三"),
            ("role", "operator"),
            ("password", "Abc-12345"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("用户名应为"));

    assert_eq!(state(&t, &admin).await, before);
    // The operator can still log in with the old password.
    login_cookie(&t, "operator", PASSWORD).await;
    assert!(t
        .staff_login("operator", PASSWORD)
        .await
        .status()
        .is_success());
}

#[tokio::test]
async fn staff_are_created_disabled_enabled_and_the_last_administrator_stays() {
    let t = spawn_app(Opts::default());
    let c = cookie(&t, "admin").await;
    let r = post_form(
        &t,
        "/office/staff",
        &c,
        &[
            ("username", "zhangsan"),
            ("name", "张三"),
            ("role", "auditor"),
            ("password", "Zhang-2026"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = get_page(&t, &location(&r), &c).await;
    assert!(html.contains("已新增账号 zhangsan"));
    assert!(html.contains("张三"));
    assert!(t
        .staff_login("zhangsan", "Zhang-2026")
        .await
        .status()
        .is_success());

    let r = post_form(
        &t,
        "/office/staff/zhangsan/disable",
        &c,
        &[("confirm", "1")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = get_page(&t, &location(&r), &c).await;
    assert!(html.contains("已停用账号 zhangsan"));
    assert!(!t
        .staff_login("zhangsan", "Zhang-2026")
        .await
        .status()
        .is_success());
    let r = post_form(&t, "/office/staff/zhangsan/enable", &c, &[("confirm", "1")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(t
        .staff_login("zhangsan", "Zhang-2026")
        .await
        .status()
        .is_success());

    // The only administrator disabling itself: refused with the rule's message.
    let r = post_form(&t, "/office/staff/admin/disable", &c, &[("confirm", "1")]).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let html = r.text().await.unwrap();
    assert!(html.contains("至少需要保留一名启用的管理员"), "{html}");
    assert!(html.contains("人员管理"));
    let (status, _) = get_page(&t, "/office/staff", &c).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "still logged in, still an administrator"
    );
    let r = post_form(&t, "/office/staff/nobody/disable", &c, &[("confirm", "1")]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_reset_password_sends_the_user_to_change_it_at_the_next_login() {
    let t = spawn_app(Opts::default());
    let c = cookie(&t, "admin").await;
    let op = cookie(&t, "operator").await;
    let r = post_form(
        &t,
        "/office/staff/operator/password",
        &c,
        &[("password", "Reset-2026x")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = get_page(&t, &location(&r), &c).await;
    assert!(html.contains("下次登录须先修改密码"));
    assert!(html.contains("须修改密码"));
    // The operator's session ended; the next login lands on 修改密码.
    let (status, _) = get_page(&t, "/office/taxpayers", &op).await;
    assert_ne!(status, StatusCode::OK);
    let r = login_cookie(&t, "operator", "Reset-2026x").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/office/password?required=1");
}

#[tokio::test]
async fn audit_filters_narrow_the_log_and_the_csv() {
    let t = spawn_app(Opts::default());
    let c = cookie(&t, "admin").await;
    let mut form = new_taxpayer_form();
    form[2] = ("region", "350000");
    form[5] = ("credit_rating", "C");
    let r = post_form(&t, &format!("/office/taxpayers/{TAXPAYER_A}"), &c, &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = post_form(
        &t,
        &format!("/office/taxpayers/{TAXPAYER_B}/unlock"),
        &c,
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    let total = |html: &str| -> usize {
        let s = html.split("共 ").nth(1).unwrap();
        s.split(' ').next().unwrap().parse().unwrap()
    };
    let (status, all) = get_page(&t, "/office/audit", &c).await;
    assert_eq!(status, StatusCode::OK);
    let all_n = total(&all);
    assert!(all_n >= 10, "seeding, logins and changes: {all_n}");
    assert!(all.contains("href=\"/office/audit/export.csv\""));

    let (_, html) = get_page(&t, "/office/audit?action=taxpayer.update", &c).await;
    assert_eq!(total(&html), 1);
    assert!(html.contains(TAXPAYER_A));
    let (_, html) = get_page(&t, "/office/audit?action=taxpayer.", &c).await;
    assert_eq!(total(&html), 6, "four seeded, one update, one unlock");
    let (_, html) = get_page(
        &t,
        &format!("/office/audit?action=taxpayer.&target={TAXPAYER_B}"),
        &c,
    )
    .await;
    assert_eq!(total(&html), 2);
    assert!(html.contains("taxpayer.unlock"));
    let (_, html) = get_page(&t, "/office/audit?actor=staff:admin&action=taxpayer.", &c).await;
    assert_eq!(total(&html), 2);
    let (_, html) = get_page(&t, "/office/audit?from=2099-01-01", &c).await;
    assert_eq!(total(&html), 0);
    assert!(html.contains("没有符合条件的记录"));
    let (_, html) = get_page(&t, "/office/audit?to=2000-01-01", &c).await;
    assert_eq!(total(&html), 0);
    // Paged: one per page.
    let (_, html) = get_page(&t, "/office/audit?action=taxpayer.&per_page=1&page=2", &c).await;
    assert!(html.contains("第 2 / 6 页"), "{html}");
    assert!(html.contains("page=3"));

    let (status, html) = get_page(&t, "/office/audit?from=11/20", &c).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("起始日期格式应为"));

    let r = t
        .client
        .get(t.url("/office/audit/export.csv?action=taxpayer.update"))
        .header("cookie", &c)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = r.text().await.unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.contains("taxpayer.update"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_s_service_regions_are_set_on_the_staff_page() {
    let t = spawn_app(Opts::default());
    let c = cookie(&t, "admin").await;
    let (_, html) = get_page(&t, "/office/staff", &c).await;
    assert!(html.contains("服务地区") && html.contains("全部地区"));
    let r = post_form(
        &t,
        "/office/staff/agent/regions",
        &c,
        &[("regions", "350000，广东省")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = get_page(&t, &location(&r), &c).await;
    assert!(html.contains("已保存账号 agent 的征纳互动服务地区"));
    assert!(html.contains("福建省、广东省"));
    assert!(html.contains("value=\"350000 440000\""));
    // An unknown region: a Chinese message on the page, and the regions stay as they were.
    let r = post_form(
        &t,
        "/office/staff/agent/regions",
        &c,
        &[("regions", "350000 999999")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("服务地区有误"), "{html}");
    let admin = t.staff_token("admin").await;
    let staff = api(&t, &admin, "/api/v1/office/staff").await;
    let agent = staff["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["username"] == "agent")
        .unwrap()
        .clone();
    assert_eq!(agent["regions"], serde_json::json!(["350000", "440000"]));
    // Blank: every region again.
    let r = post_form(&t, "/office/staff/agent/regions", &c, &[("regions", "")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let staff = api(&t, &admin, "/api/v1/office/staff").await;
    assert!(staff["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["username"] == "agent" && x["regions"] == serde_json::json!([])));
}
