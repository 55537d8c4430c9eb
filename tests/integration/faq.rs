//! 知识库维护: staff (管理员, 征纳互动坐席) edit the 常见问题 knowledge base through the API and
//! the office pages; the 常见问题 page and the 征纳互动 bot follow; bad input and other roles
//! change nothing; 恢复默认知识库 brings the seed back.

use fapiao::service::interact::bot::Reply;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

const ID: &str = "invoice-locked-by-office";
const QUESTION: &str = "勾选时提示发票已被税务机关锁定怎么办？";

fn entry(answer: &str) -> Value {
    json!({
        "category": "发票勾选",
        "question": format!("  {QUESTION} "),
        "answer": answer,
        "aliases": ["发票被锁定", "  ", "锁定的发票能勾选吗"],
    })
}

async fn faq_items(t: &TestApp) -> Vec<Value> {
    let r = t.get("/api/v1/faq", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.unwrap()["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn help_page(t: &TestApp) -> String {
    let r = t.get("/help/faq", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

/// The faq.* entries of the audit log (newest first), as admin.
async fn faq_audit(t: &TestApp) -> Vec<(String, String)> {
    let admin = t.staff_token("admin").await;
    let r = t
        .get("/api/v1/office/audit?per_page=500", Some(&admin))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("faq."))
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["target"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The id of the entry the bot answers `text` with, if it answers.
fn bot_answer(t: &TestApp, text: &str) -> Option<String> {
    match t.app.interact.bot().reply(text).unwrap() {
        Reply::Answer(e) => Some(e.id),
        _ => None,
    }
}

#[tokio::test]
async fn an_agent_adds_edits_and_deletes_a_question_seen_by_the_page_and_the_bot() {
    let t = spawn_app(Opts::default());
    let agent = t.staff_token("agent").await;
    let before = faq_items(&t).await;
    assert!(before.len() >= 70);
    assert_ne!(bot_answer(&t, QUESTION).as_deref(), Some(ID));

    // Add.
    let path = format!("/api/v1/office/faq/{ID}");
    let answer = "请联系开票方主管税务机关核实发票锁定原因，解除锁定后即可勾选。";
    let r = t
        .send_json(Method::PUT, &path, Some(&agent), &entry(answer))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let saved: Value = r.json().await.unwrap();
    assert_eq!(
        saved,
        json!({
            "id": ID,
            "category": "发票勾选",
            "question": QUESTION,
            "answer": answer,
            "aliases": ["发票被锁定", "锁定的发票能勾选吗"],
        })
    );
    let items = faq_items(&t).await;
    assert_eq!(items.len(), before.len() + 1);
    assert!(items.contains(&saved));
    let page = help_page(&t).await;
    assert!(page.contains(&format!(r#"<details class="faq" id="{ID}">"#)));
    assert!(page.contains(QUESTION) && page.contains(answer));
    assert_eq!(bot_answer(&t, QUESTION).as_deref(), Some(ID));
    assert_eq!(bot_answer(&t, "发票被锁定").as_deref(), Some(ID));
    assert_eq!(
        faq_audit(&t).await,
        vec![("faq.create".to_string(), ID.to_string())]
    );

    // Edit (a body id equal to the path's is fine).
    let new_answer = "请先联系销售方，由其向主管税务机关申请解除锁定；解除后即可正常勾选。";
    let mut body = entry(new_answer);
    body["id"] = json!(ID);
    let r = t.send_json(Method::PUT, &path, Some(&agent), &body).await;
    assert_eq!(r.status(), StatusCode::OK);
    let items = faq_items(&t).await;
    assert_eq!(items.len(), before.len() + 1);
    let page = help_page(&t).await;
    assert!(page.contains(new_answer));
    assert!(!page.contains(answer));
    assert_eq!(bot_answer(&t, QUESTION).as_deref(), Some(ID));
    match t.app.interact.bot().reply(QUESTION).unwrap() {
        Reply::Answer(e) => assert_eq!(e.answer, new_answer),
        other => panic!("{other:?}"),
    }
    assert_eq!(faq_audit(&t).await[0], ("faq.update".into(), ID.into()));

    // Delete.
    let r = t
        .send_json(Method::DELETE, &path, Some(&agent), &json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(faq_items(&t).await, before);
    let page = help_page(&t).await;
    assert!(!page.contains(ID));
    assert!(!page.contains(QUESTION));
    assert_ne!(bot_answer(&t, QUESTION).as_deref(), Some(ID));
    assert_eq!(faq_audit(&t).await[0], ("faq.delete".into(), ID.into()));
    let r = t
        .send_json(Method::DELETE, &path, Some(&agent), &json!({}))
        .await;
    let body = expect_error(r, 404, "not_found").await;
    assert_eq!(body["error"]["message"], "该问题不存在");
    assert_eq!(faq_audit(&t).await.len(), 3);
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let t = spawn_app(Opts::default());
    let agent = t.staff_token("agent").await;
    let before = faq_items(&t).await;
    let good = entry("答案。");
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    let cases: Vec<(String, Value, &str)> = vec![
        ("Bad_Id".into(), good.clone(), "id"),
        ("bad--id".into(), good.clone(), "id"),
        (ID.into(), with("category", json!("密码问题")), "category"),
        (ID.into(), with("question", json!("   ")), "question"),
        (ID.into(), with("answer", json!("")), "answer"),
        (
            ID.into(),
            json!({"category": "发票勾选", "question": "问？"}),
            "answer",
        ),
        (
            ID.into(),
            with("question", json!("问".repeat(201))),
            "question",
        ),
        (
            ID.into(),
            with("answer", json!("答".repeat(4001))),
            "answer",
        ),
        (
            ID.into(),
            with(
                "aliases",
                json!((0..21).map(|i| format!("问法{i}")).collect::<Vec<_>>()),
            ),
            "aliases",
        ),
        (ID.into(), with("id", json!("another-id")), "id"),
    ];
    for (id, body, field) in cases {
        let r = t
            .send_json(
                Method::PUT,
                &format!("/api/v1/office/faq/{id}"),
                Some(&agent),
                &body,
            )
            .await;
        let err = expect_error(r, 422, "invalid_value").await;
        assert_eq!(err["error"]["field"], field, "{id} {body}");
    }
    // A seed entry made invalid is refused too, and stays as it was.
    let first = before[0]["id"].as_str().unwrap().to_string();
    let mut broken = before[0].clone();
    broken["answer"] = json!(" ");
    let r = t
        .send_json(
            Method::PUT,
            &format!("/api/v1/office/faq/{first}"),
            Some(&agent),
            &broken,
        )
        .await;
    expect_error(r, 422, "invalid_value").await;
    // Deleting what is not there.
    let r = t
        .send_json(
            Method::DELETE,
            "/api/v1/office/faq/no-such-question",
            Some(&agent),
            &json!({}),
        )
        .await;
    expect_error(r, 404, "not_found").await;

    assert_eq!(faq_items(&t).await, before);
    assert!(faq_audit(&t).await.is_empty());
    assert!(!help_page(&t).await.contains(ID));
}

#[tokio::test]
async fn only_admins_and_agents_may_edit_and_anyone_may_read() {
    let t = spawn_app(Opts::default());
    let before = faq_items(&t).await;
    let path = format!("/api/v1/office/faq/{ID}");
    for who in ["operator", "auditor"] {
        let token = t.staff_token(who).await;
        let r = t
            .send_json(Method::PUT, &path, Some(&token), &entry("答。"))
            .await;
        expect_error(r, 403, "wrong_role").await;
        let first = format!("/api/v1/office/faq/{}", before[0]["id"].as_str().unwrap());
        let r = t
            .send_json(Method::DELETE, &first, Some(&token), &json!({}))
            .await;
        expect_error(r, 403, "wrong_role").await;
        let r = t
            .post_json("/api/v1/office/faq/reset", Some(&token), &json!({}))
            .await;
        expect_error(r, 403, "wrong_role").await;
        // The office page lists the knowledge base without the editing controls.
        let r = t.get("/office/faq", Some(&token)).await;
        assert_eq!(r.status(), StatusCode::OK);
        let html = r.text().await.unwrap();
        assert!(html.contains("您的角色只能查看知识库"));
        assert!(!html.contains("新增问题"));
        assert_eq!(
            t.get("/office/faq/new", Some(&token)).await.status(),
            StatusCode::FORBIDDEN
        );
    }
    let taxpayer = t.taxpayer_token(TAXPAYER_A).await;
    let r = t
        .send_json(Method::PUT, &path, Some(&taxpayer), &entry("答。"))
        .await;
    expect_error(r, 403, "forbidden").await;
    let r = t.send_json(Method::PUT, &path, None, &entry("答。")).await;
    expect_error(r, 401, "not_logged_in").await;
    assert_eq!(faq_items(&t).await, before);
    assert!(faq_audit(&t).await.is_empty());

    let admin = t.staff_token("admin").await;
    let r = t
        .send_json(Method::PUT, &path, Some(&admin), &entry("答。"))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(faq_items(&t).await.len(), before.len() + 1);
}

#[tokio::test]
async fn reset_restores_the_seed() {
    let t = spawn_app(Opts::default());
    let admin = t.staff_token("admin").await;
    let seed = fapiao::service::interact::faq::seed().unwrap();
    let first = seed[0].clone();
    let r = t
        .send_json(
            Method::DELETE,
            &format!("/api/v1/office/faq/{}", first.id),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = t
        .send_json(
            Method::PUT,
            &format!("/api/v1/office/faq/{ID}"),
            Some(&admin),
            &entry("答。"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_ne!(bot_answer(&t, &first.question), Some(first.id.clone()));
    assert!(!help_page(&t)
        .await
        .contains(&format!("id=\"{}\"", first.id)));

    let r = t
        .post_json("/api/v1/office/faq/reset", Some(&admin), &json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["count"], seed.len());
    let items = faq_items(&t).await;
    assert_eq!(items.len(), seed.len());
    assert_eq!(
        items,
        serde_json::to_value(&seed)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    );
    assert_eq!(bot_answer(&t, &first.question), Some(first.id.clone()));
    assert_ne!(bot_answer(&t, QUESTION).as_deref(), Some(ID));
    assert!(help_page(&t)
        .await
        .contains(&format!("id=\"{}\"", first.id)));
    assert_eq!(faq_audit(&t).await[0], ("faq.reset".into(), "faq".into()));
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

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn the_office_pages_list_add_edit_delete_and_reset() {
    let t = spawn_app(Opts::default());
    // Without a session: to the staff login.
    let r = t.get("/office/faq", None).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/office/login");

    let r = t
        .client
        .post(t.url("/office/login"))
        .form(&[("username", "agent"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("fapiao_session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let seed = fapiao::service::interact::faq::seed().unwrap();

    let (status, html) = get_page(&t, "/office/faq", &cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("知识库维护"));
    assert!(html.contains(r#"href="/office/faq/new""#));
    assert!(html.contains("恢复默认知识库"));
    assert!(html.contains(&seed[0].question));
    assert!(html.contains(&format!(r#"href="/office/faq/{}/edit""#, seed[0].id)));
    assert!(html.contains(&format!(r#"action="/office/faq/{}/delete""#, seed[0].id)));

    let (status, html) = get_page(&t, "/office/faq/new", &cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"action="/office/faq""#));
    assert!(html.contains("其他问法"));

    // Add through the form.
    let form = |answer: &'static str| {
        vec![
            ("id", ID),
            ("category", "发票勾选"),
            ("question", QUESTION),
            ("answer", answer),
            ("aliases", "发票被锁定\r\n\r\n锁定的发票能勾选吗"),
        ]
    };
    let r = post_form(&t, "/office/faq", &cookie, &form("先联系销售方。")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), format!("/office/faq?saved={ID}#{ID}"));
    let (_, html) = get_page(&t, &format!("/office/faq?saved={ID}"), &cookie).await;
    assert!(html.contains("已保存问题"));
    assert!(html.contains(&format!(r#"<tr id="{ID}">"#)));
    assert_eq!(bot_answer(&t, QUESTION).as_deref(), Some(ID));
    // The same id again from 新增问题 is refused, the input kept.
    let r = post_form(&t, "/office/faq", &cookie, &form("另一个答案。")).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let html = r.text().await.unwrap();
    assert!(html.contains("该编号已被其他问题使用"));
    assert!(html.contains("另一个答案。"));

    // Edit: the form is filled in; a bad answer shows the form again with the input.
    let (status, html) = get_page(&t, &format!("/office/faq/{ID}/edit"), &cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(QUESTION) && html.contains("先联系销售方。"));
    assert!(html.contains("readonly"));
    assert!(html.contains("发票被锁定\n锁定的发票能勾选吗"));
    let r = post_form(
        &t,
        &format!("/office/faq/{ID}"),
        &cookie,
        &[
            ("id", ID),
            ("category", "发票勾选"),
            ("question", "<b>改过的问题</b>"),
            ("answer", "   "),
            ("aliases", ""),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("请填写答案"));
    assert!(html.contains("&lt;b&gt;改过的问题&lt;/b&gt;"));
    assert!(!html.contains("<b>改过的问题"));
    assert!(help_page(&t).await.contains("先联系销售方。"));
    // The id of the address wins over the (read-only) field.
    let mut edited = form("由销售方申请解除锁定后即可勾选。");
    edited[0] = ("id", "some-other-id");
    let r = post_form(&t, &format!("/office/faq/{ID}"), &cookie, &edited).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), format!("/office/faq?saved={ID}#{ID}"));
    let page = help_page(&t).await;
    assert!(page.contains("由销售方申请解除锁定后即可勾选。"));
    assert!(!page.contains("some-other-id"));
    assert_eq!(faq_items(&t).await.len(), seed.len() + 1);

    // A cross-site post is refused.
    let r = t
        .client
        .post(t.url(&format!("/office/faq/{ID}/delete")))
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(help_page(&t).await.contains(ID));

    // Delete.
    let r = post_form(&t, &format!("/office/faq/{ID}/delete"), &cookie, &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), format!("/office/faq?deleted={ID}"));
    let (_, html) = get_page(&t, &location(&r), &cookie).await;
    assert!(html.contains("已删除问题"));
    assert!(!help_page(&t).await.contains(ID));
    let (status, _) = get_page(&t, &format!("/office/faq/{ID}/edit"), &cookie).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // 恢复默认知识库 (the page accepts the bearer token too).
    let agent = t.staff_token("agent").await;
    let r = t
        .client
        .post(t.url(&format!("/office/faq/{}/delete", seed[0].id)))
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(faq_items(&t).await.len(), seed.len() - 1);
    let r = post_form(&t, "/office/faq-reset", &cookie, &[("confirm", "1")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/office/faq?reset=1");
    let (_, html) = get_page(&t, "/office/faq?reset=1", &cookie).await;
    assert!(html.contains(&format!("已恢复默认知识库，共{}条问题", seed.len())));
    assert_eq!(faq_items(&t).await.len(), seed.len());

    let actions: Vec<String> = faq_audit(&t).await.into_iter().map(|(a, _)| a).collect();
    assert_eq!(
        actions,
        [
            "faq.reset",
            "faq.delete",
            "faq.delete",
            "faq.update",
            "faq.create"
        ]
    );
}
