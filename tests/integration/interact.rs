//! 征纳互动 over real WebSockets (S-I2–S-I6): the bot, hand-off and queue, accept, ordered
//! delivery, resuming after a gap, the end and the rating — against the running server.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::*;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A test client: every frame it read is kept in `seen`.
pub struct Ws {
    socket: Socket,
    pub seen: Vec<Value>,
}

pub async fn ws_connect(t: &TestApp, token: &str, origin: Option<&str>) -> Result<Ws, u16> {
    let url = format!("ws://{}/api/v1/interact/ws", t.addr);
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    let own = format!("http://{}", t.addr);
    req.headers_mut().insert(
        "origin",
        HeaderValue::from_str(origin.unwrap_or(&own)).unwrap(),
    );
    match tokio_tungstenite::connect_async(req).await {
        Ok((socket, _)) => Ok(Ws {
            socket,
            seen: Vec::new(),
        }),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
        Err(e) => panic!("websocket: {e}"),
    }
}

impl Ws {
    pub async fn send(&mut self, v: Value) {
        self.socket
            .send(Message::Text(v.to_string().into()))
            .await
            .unwrap();
    }

    /// The next JSON frame (pings are answered by the library).
    pub async fn next(&mut self) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let m = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "no frame within 10 s; seen: {:?}",
                        self.seen.iter().rev().take(6).collect::<Vec<_>>()
                    )
                })
                .expect("socket closed")
                .expect("socket error");
            if let Message::Text(t) = m {
                let v: Value = serde_json::from_str(&t).unwrap();
                self.seen.push(v.clone());
                return v;
            }
        }
    }

    /// Reads until a frame matches.
    pub async fn until(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            let v = self.next().await;
            if pred(&v) {
                return v;
            }
        }
    }

    pub async fn until_t(&mut self, t: &str) -> Value {
        self.until(|v| v["t"] == t).await
    }

    /// The next `state` of interaction `i` matching `pred`.
    pub async fn state_where(&mut self, i: u64, pred: impl Fn(&Value) -> bool) -> Value {
        self.until(|v| v["t"] == "state" && v["i"] == i && pred(v))
            .await
    }

    /// Reads every frame that arrives within `ms`.
    pub async fn drain(&mut self, ms: u64) -> Vec<Value> {
        let mut out = Vec::new();
        while let Ok(Some(Ok(m))) =
            tokio::time::timeout(Duration::from_millis(ms), self.socket.next()).await
        {
            if let Message::Text(t) = m {
                let v: Value = serde_json::from_str(&t).unwrap();
                self.seen.push(v.clone());
                out.push(v);
            }
        }
        out
    }

    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }

    /// Drops the connection without a close handshake (a network failure).
    pub fn cut(self) {
        drop(self.socket);
    }

    /// Reads (into `seen`) until the server closes the socket: `true`, or `ms` pass: `false`.
    pub async fn closed_within(&mut self, ms: u64) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
        loop {
            match tokio::time::timeout_at(deadline, self.socket.next()).await {
                Err(_) => return false,
                Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return true,
                Ok(Some(Ok(Message::Text(t)))) => {
                    self.seen.push(serde_json::from_str(&t).unwrap());
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }
}

/// A taxpayer's socket after `hello {}`: the new interaction's id.
pub async fn taxpayer_opens(t: &TestApp, id: &str) -> (Ws, u64) {
    let token = t.taxpayer_token(id).await;
    let mut ws = ws_connect(t, &token, None).await.unwrap();
    ws.send(json!({"t": "hello", "since": {}})).await;
    let welcome = ws.until_t("welcome").await;
    assert_eq!(welcome["role"], "taxpayer");
    let st = ws.until_t("state").await;
    (ws, st["i"].as_u64().unwrap())
}

pub async fn agent_online(t: &TestApp, username: &str) -> Ws {
    let token = t.staff_token(username).await;
    let mut ws = ws_connect(t, &token, None).await.unwrap();
    ws.send(json!({"t": "hello", "since": {}})).await;
    assert_eq!(ws.until_t("welcome").await["role"], "agent");
    ws.until_t("queue").await;
    ws
}

fn msgs(frames: &[Value], i: u64) -> Vec<Value> {
    frames
        .iter()
        .filter(|v| v["t"] == "msg" && v["i"] == i)
        .cloned()
        .collect()
}

fn seqs(frames: &[Value], i: u64) -> Vec<u64> {
    msgs(frames, i)
        .iter()
        .map(|v| v["seq"].as_u64().unwrap())
        .collect()
}

async fn say(ws: &mut Ws, i: u64, text: &str, cid: &str) -> Value {
    ws.send(json!({"t": "say", "i": i, "text": text, "cid": cid}))
        .await;
    ws.until(|v| v["t"] == "msg" && v["cid"] == cid).await
}

/// A third taxpayer who may log in.
fn third_taxpayer(t: &TestApp) -> String {
    let body = "91350100MA00000Q1";
    let id = format!(
        "{body}{}",
        fapiao::domain::credit_code_check_char(body).unwrap()
    );
    fapiao::service::office::taxpayers::create(
        &t.app,
        &t.app.system("test"),
        taxpayer(
            &id,
            "福州闽江贸易有限公司",
            true,
            Some(fapiao::domain::CreditRating::A),
        ),
    )
    .unwrap();
    id
}

/// Taxpayer A with an agent joined: (taxpayer socket, agent socket, interaction).
async fn assigned(t: &TestApp) -> (Ws, Ws, u64) {
    let mut agent = agent_online(t, "agent").await;
    let (mut tp, i) = taxpayer_opens(t, TAXPAYER_A).await;
    tp.send(json!({"t": "human", "i": i})).await;
    tp.state_where(i, |s| s["stage"] == "queued").await;
    agent.send(json!({"t": "accept"})).await;
    agent.state_where(i, |s| s["stage"] == "assigned").await;
    tp.state_where(i, |s| s["stage"] == "assigned").await;
    (tp, agent, i)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_answers_a_known_question_and_suggests_for_a_vague_one() {
    let t = spawn_app(Opts::default());
    let (mut ws, i) = taxpayer_opens(&t, TAXPAYER_A).await;
    let greeting = msgs(&ws.seen, i);
    assert_eq!(greeting.len(), 1);
    assert_eq!(greeting[0]["from"], "bot");
    assert_eq!(greeting[0]["seq"], 1);
    assert!(greeting[0]["text"]
        .as_str()
        .unwrap()
        .contains("发起人工导税"));

    let faq = fapiao::service::interact::faq::seed().unwrap();
    let known = &faq[0];
    let echo = say(&mut ws, i, &known.question, "c1").await;
    assert_eq!(
        (echo["from"].as_str(), echo["seq"].as_u64()),
        (Some("taxpayer"), Some(2))
    );
    let answer = ws.until(|v| v["t"] == "msg" && v["from"] == "bot").await;
    assert_eq!(answer["seq"], 3);
    assert_eq!(answer["faq"], known.id.as_str());
    assert_eq!(answer["text"], known.answer.as_str());

    say(&mut ws, i, "发票", "c2").await;
    let suggest = ws.until(|v| v["t"] == "msg" && v["from"] == "bot").await;
    assert_eq!(suggest["text"], "您是否要咨询以下问题：");
    let list = suggest["suggest"].as_array().unwrap();
    assert!(!list.is_empty() && list.len() <= 5, "{suggest}");
    // Picking a suggestion sends its question: answered directly.
    let picked = list[0]["question"].as_str().unwrap().to_string();
    say(&mut ws, i, &picked, "c3").await;
    let answer = ws.until(|v| v["t"] == "msg" && v["from"] == "bot").await;
    assert_eq!(answer["faq"], list[0]["id"]);

    say(&mut ws, i, "今天天气怎么样", "c4").await;
    let none = ws.until(|v| v["t"] == "msg" && v["from"] == "bot").await;
    assert!(
        none["text"].as_str().unwrap().contains("暂未找到"),
        "{none}"
    );
    assert!(none["suggest"].as_array().unwrap().is_empty());

    // Empty and over-long messages are refused with the cid; nothing is stored.
    ws.send(json!({"t": "say", "i": i, "text": "   ", "cid": "e1"}))
        .await;
    let e = ws.until_t("error").await;
    assert_eq!(
        (e["code"].as_str(), e["cid"].as_str()),
        (Some("empty_message"), Some("e1"))
    );
    ws.send(json!({"t": "say", "i": i, "text": "长".repeat(2001), "cid": "e2"}))
        .await;
    assert_eq!(ws.until_t("error").await["code"], "message_too_long");
    ws.send(json!({"t": "fly"})).await;
    assert_eq!(ws.until_t("error").await["code"], "bad_frame");
    let admin = t.staff_token("admin").await;
    let r = t
        .get(&format!("/api/v1/interactions/{i}"), Some(&admin))
        .await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["messages"].as_array().unwrap().len(), 9, "{body}");
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_off_is_refused_outside_working_hours_and_without_an_agent() {
    // Saturday 2026-11-28 10:00 in Beijing; the default hours are weekdays.
    let t = spawn_app(Opts {
        clock: Some("2026-11-28T10:00:00+08:00"),
        interaction: Some(fapiao::config::InteractionSettings::default()),
        ..Opts::default()
    });
    let _agent = agent_online(&t, "agent").await;
    let (mut ws, i) = taxpayer_opens(&t, TAXPAYER_A).await;
    let welcome = ws
        .seen
        .iter()
        .find(|v| v["t"] == "welcome")
        .unwrap()
        .clone();
    assert_eq!(welcome["human"]["available"], false);
    let reason = welcome["human"]["reason"].as_str().unwrap();
    assert!(reason.contains("当前不在人工服务时间内"), "{reason}");
    assert!(
        reason.contains("周一至周五 09:00-12:00、13:30-17:30"),
        "{reason}"
    );
    assert!(
        reason.contains("11月30日 09:00"),
        "the next opening: {reason}"
    );
    ws.send(json!({"t": "human", "i": i})).await;
    let e = ws.until_t("error").await;
    assert_eq!(e["code"], "outside_hours");
    // Nothing changed: still with the bot, and the bot still answers.
    say(&mut ws, i, "忘记密码", "x").await;
    ws.until(|v| v["t"] == "msg" && v["from"] == "bot").await;
    ws.close().await;

    // Inside the hours but nobody online.
    let t = spawn_app(Opts {
        clock: Some("2026-11-23T10:00:00+08:00"),
        interaction: Some(fapiao::config::InteractionSettings::default()),
        ..Opts::default()
    });
    let (mut ws, i) = taxpayer_opens(&t, TAXPAYER_A).await;
    let st = ws.seen.iter().find(|v| v["t"] == "state").unwrap().clone();
    assert_eq!(st["human"]["available"], false);
    assert_eq!(
        st["human"]["reason"],
        "当前没有在线的税务工作人员，请稍后再试"
    );
    ws.send(json!({"t": "human", "i": i})).await;
    assert_eq!(ws.until_t("error").await["code"], "no_agent_online");
    // An agent comes online: the taxpayer is told 人工导税 is available now.
    let _agent = agent_online(&t, "agent").await;
    ws.state_where(i, |s| s["human"]["available"] == true).await;
    ws.send(json!({"t": "human", "i": i})).await;
    ws.state_where(i, |s| s["stage"] == "queued").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_is_fifo_with_positions_pushed_cancel_and_accept() {
    let t = spawn_app(Opts::default());
    let mut agent = agent_online(&t, "agent").await;
    let (mut a, ia) = taxpayer_opens(&t, TAXPAYER_A).await;
    let (mut b, ib) = taxpayer_opens(&t, TAXPAYER_B).await;
    let third = third_taxpayer(&t);
    let (mut c, ic) = taxpayer_opens(&t, &third).await;
    for (ws, i) in [(&mut a, ia), (&mut b, ib), (&mut c, ic)] {
        ws.send(json!({"t": "human", "i": i})).await;
        ws.state_where(i, |s| s["stage"] == "queued").await;
    }
    let q = agent
        .until(|v| v["t"] == "queue" && v["items"].as_array().unwrap().len() == 3)
        .await;
    let order: Vec<u64> = q["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["i"].as_u64().unwrap())
        .collect();
    assert_eq!(order, vec![ia, ib, ic]);
    assert_eq!(q["items"][1]["taxpayer"]["id"], TAXPAYER_B);
    assert_eq!(q["items"][1]["taxpayer"]["name"], "深圳恒通物流有限公司");
    let last = c.seen.iter().rev().find(|v| v["t"] == "state").unwrap();
    assert_eq!(last["position"], 3);

    // A cancels: B and C move up, and are told.
    a.send(json!({"t": "cancel", "i": ia})).await;
    a.state_where(ia, |s| s["stage"] == "cancelled").await;
    b.state_where(ib, |s| s["position"] == 1).await;
    c.state_where(ic, |s| s["position"] == 2).await;
    // A cancelled interaction refuses messages.
    a.send(json!({"t": "say", "i": ia, "text": "还在吗", "cid": "z"}))
        .await;
    assert_eq!(a.until_t("error").await["code"], "interaction_closed");

    // The agent takes the oldest: B. The bot is silent from the queue on.
    agent.send(json!({"t": "accept"})).await;
    let st = agent.state_where(ib, |s| s["stage"] == "assigned").await;
    assert_eq!(st["taxpayer"]["id"], TAXPAYER_B);
    let joined = b.state_where(ib, |s| s["stage"] == "assigned").await;
    assert!(joined["agent"].as_str().is_some());
    c.state_where(ic, |s| s["position"] == 1).await;
    // The agent got B's transcript from the start (the bot's greeting is seq 1).
    assert_eq!(seqs(&agent.seen, ib)[0], 1);
    say(&mut b, ib, "请问怎么回退", "b1").await;
    let got = agent
        .until(|v| v["t"] == "msg" && v["i"] == ib && v["from"] == "taxpayer")
        .await;
    assert_eq!(got["text"], "请问怎么回退");
    assert!(b.drain(300).await.iter().all(|v| v["from"] != "bot"));
    say(&mut agent, ib, "您好，请在首页点击回退按钮", "g1").await;
    b.until(|v| v["t"] == "msg" && v["from"] == "agent").await;
    // Once an agent has joined, only the agent ends it.
    b.send(json!({"t": "cancel", "i": ib})).await;
    assert_eq!(b.until_t("error").await["code"], "agent_must_end");
    // A taxpayer cannot act on another's interaction, nor accept.
    c.send(json!({"t": "say", "i": ib, "text": "x", "cid": "q"}))
        .await;
    assert_eq!(c.until_t("error").await["code"], "not_yours");
    c.send(json!({"t": "accept"})).await;
    assert_eq!(c.until_t("error").await["code"], "agent_only");

    // The end: rating offered; posts refused; the rating is stored.
    agent.send(json!({"t": "end", "i": ib})).await;
    let st = b.state_where(ib, |s| s["stage"] == "ended").await;
    assert_eq!(st["rating_offered"], true);
    b.send(json!({"t": "say", "i": ib, "text": "再问一下", "cid": "late"}))
        .await;
    let e = b.until_t("error").await;
    assert_eq!(
        (e["code"].as_str(), e["cid"].as_str()),
        (Some("interaction_closed"), Some("late"))
    );
    agent
        .send(json!({"t": "say", "i": ib, "text": "x", "cid": "late2"}))
        .await;
    assert_eq!(agent.until_t("error").await["code"], "interaction_closed");
    b.send(json!({"t": "rate", "i": ib, "stars": 9})).await;
    assert_eq!(b.until_t("error").await["code"], "bad_rating");
    b.send(json!({"t": "rate", "i": ib, "stars": 4, "comment": "解答清楚"}))
        .await;
    b.state_where(ib, |s| s["stage"] == "rated" && s["rating"] == 4)
        .await;
    let admin = t.staff_token("admin").await;
    let body: Value = t
        .get(&format!("/api/v1/interactions/{ib}"), Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["interaction"]["rating"], 4);
    assert_eq!(body["interaction"]["comment"], "解答清楚");
    assert!(body["interaction"]["waiting_secs"].is_number());
    assert!(body["interaction"]["first_response_secs"].is_number());
    // The list with figures; the agent sees their own.
    let token = t.staff_token("agent").await;
    let list: Value = t
        .get("/api/v1/interactions", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(list["figures"]["rated"], 1);
    assert_eq!(list["figures"]["avg_rating"], 4.0);
    // Another taxpayer cannot read it.
    let other = t.taxpayer_token(TAXPAYER_A).await;
    let r = t
        .get(&format!("/api/v1/interactions/{ib}"), Some(&other))
        .await;
    assert_eq!(r.status(), 404);
    // State changes are in the audit log with who made them.
    let audit: Value = t
        .get("/api/v1/office/audit?per_page=200", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let rated = audit.to_string();
    assert!(
        rated.contains("interaction.rate") && rated.contains("interaction.accept"),
        "{audit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_arrive_in_order_and_a_resumed_client_gets_exactly_what_it_missed() {
    let t = spawn_app(Opts::default());
    let (mut tp, mut agent, i) = assigned(&t).await;
    // Ordered delivery: 100 messages sent back to back arrive in order with increasing seq.
    for n in 0..100 {
        tp.send(json!({"t": "say", "i": i, "text": format!("m{n}"), "cid": format!("o{n}")}))
            .await;
    }
    agent.until(|v| v["t"] == "msg" && v["cid"] == "o99").await;
    let got: Vec<Value> = msgs(&agent.seen, i)
        .into_iter()
        .filter(|v| v["from"] == "taxpayer")
        .collect();
    let texts: Vec<String> = got
        .iter()
        .map(|v| v["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(texts, (0..100).map(|n| format!("m{n}")).collect::<Vec<_>>());
    let all = seqs(&agent.seen, i);
    assert!(all.windows(2).all(|w| w[1] == w[0] + 1), "{all:?}");

    // The taxpayer's connection drops; the agent writes on; the taxpayer resumes.
    tp.until(|v| v["t"] == "msg" && v["cid"] == "o99").await;
    let last_seen = *seqs(&tp.seen, i).last().unwrap();
    tp.cut();
    for n in 0..5 {
        say(&mut agent, i, &format!("gap{n}"), &format!("g{n}")).await;
    }
    let token = t.taxpayer_token(TAXPAYER_A).await;
    let mut back = ws_connect(&t, &token, None).await.unwrap();
    back.send(json!({"t": "hello", "since": {i.to_string(): last_seen}}))
        .await;
    let st = back.state_where(i, |_| true).await;
    assert_eq!(st["stage"], "assigned", "the interaction survived the drop");
    let resumed = msgs(&back.seen, i);
    let texts: Vec<&str> = resumed
        .iter()
        .map(|v| v["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, vec!["gap0", "gap1", "gap2", "gap3", "gap4"]);
    assert_eq!(
        seqs(&back.seen, i),
        (last_seen + 1..=last_seen + 5).collect::<Vec<_>>()
    );
    // A retry of a message the server already stored (its echo was lost) is stored once.
    let first = say(&mut back, i, "重发测试", "retry-1").await;
    back.send(json!({"t": "say", "i": i, "text": "重发测试", "cid": "retry-1"}))
        .await;
    let again = back
        .until(|v| v["t"] == "msg" && v["cid"] == "retry-1")
        .await;
    assert_eq!(first["seq"], again["seq"]);
    agent.until(|v| v["cid"] == "retry-1").await;
    assert!(agent.drain(300).await.iter().all(|v| v["cid"] != "retry-1"));
    let admin = t.staff_token("admin").await;
    let body: Value = t
        .get(&format!("/api/v1/interactions/{i}"), Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let stored = body["messages"].as_array().unwrap();
    assert_eq!(stored.iter().filter(|m| m["cid"] == "retry-1").count(), 1);
    let stored_seqs: Vec<u64> = stored.iter().map(|m| m["seq"].as_u64().unwrap()).collect();
    assert_eq!(stored_seqs, (1..=stored.len() as u64).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_within_the_grace_keeps_the_place_and_leaving_for_good_cancels() {
    let t = spawn_app(Opts {
        interaction: Some(fapiao::config::InteractionSettings {
            working_hours: vec!["daily 00:00-24:00".into()],
            grace_secs: 2,
            ..Default::default()
        }),
        ..Opts::default()
    });
    let mut agent = agent_online(&t, "agent").await;
    let (mut a, ia) = taxpayer_opens(&t, TAXPAYER_A).await;
    a.send(json!({"t": "human", "i": ia})).await;
    a.state_where(ia, |s| s["stage"] == "queued").await;
    // Reload: a new socket at once, no since: the same interaction, still first in line.
    a.close().await;
    let (mut a2, again) = taxpayer_opens(&t, TAXPAYER_A).await;
    assert_eq!(again, ia);
    let st = a2
        .seen
        .iter()
        .rev()
        .find(|v| v["t"] == "state")
        .unwrap()
        .clone();
    assert_eq!(
        (st["stage"].as_str(), st["position"].as_u64()),
        (Some("queued"), Some(1))
    );
    tokio::time::sleep(Duration::from_millis(3000)).await;
    assert_eq!(
        a2.drain(200)
            .await
            .iter()
            .filter(|v| v["stage"] == "cancelled")
            .count(),
        0
    );
    // Gone for longer than the grace: cancelled, out of the queue.
    a2.close().await;
    agent
        .until(|v| v["t"] == "queue" && v["items"].as_array().unwrap().is_empty())
        .await;
    let (_a3, fresh) = taxpayer_opens(&t, TAXPAYER_A).await;
    assert_ne!(
        fresh, ia,
        "a new interaction after the old one was cancelled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_window_ends_without_a_rating_and_calls_are_relayed() {
    let t = spawn_app(Opts::default());
    let (mut tp, mut agent, i) = assigned(&t).await;
    // Signalling before a call is refused.
    tp.send(json!({"t": "signal", "i": i, "data": {"sdp": "x"}}))
        .await;
    assert_eq!(tp.until_t("error").await["code"], "no_call");
    tp.send(json!({"t": "call", "i": i})).await;
    agent.state_where(i, |s| s["call"] == "ringing").await;
    agent.send(json!({"t": "answer_call", "i": i})).await;
    tp.state_where(i, |s| s["call"] == "active").await;
    let offer = json!({"sdp": {"type": "offer", "sdp": "v=0..."}});
    tp.send(json!({"t": "signal", "i": i, "data": offer})).await;
    let got = agent.until_t("signal").await;
    assert_eq!(got["data"], offer);
    agent
        .send(json!({"t": "signal", "i": i, "data": {"candidate": {"candidate": "c"}}}))
        .await;
    assert_eq!(
        tp.until_t("signal").await["data"]["candidate"]["candidate"],
        "c"
    );
    // Close video, go on in text.
    tp.send(json!({"t": "hangup", "i": i})).await;
    agent.state_where(i, |s| s["call"] == "none").await;
    say(&mut tp, i, "视频关了，继续文字", "after").await;
    // The taxpayer closes the window: ended, no rating offered, the agent is told.
    tp.send(json!({"t": "close", "i": i})).await;
    let st = agent.state_where(i, |s| s["stage"] == "ended").await;
    assert_eq!(st["rating_offered"], false);
    tp.send(json!({"t": "rate", "i": i, "stars": 5})).await;
    assert_eq!(tp.until_t("error").await["code"], "rating_not_offered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_from_other_sites_other_roles_and_strangers_are_refused() {
    let t = spawn_app(Opts::default());
    let token = t.taxpayer_token(TAXPAYER_A).await;
    assert_eq!(
        ws_connect(&t, &token, Some("http://evil.example"))
            .await
            .err(),
        Some(403)
    );
    assert_eq!(ws_connect(&t, "nonsense", None).await.err(), Some(401));
    let operator = t.staff_token("operator").await;
    assert_eq!(ws_connect(&t, &operator, None).await.err(), Some(403));
    // Frames before hello are refused.
    let mut ws = ws_connect(&t, &token, None).await.unwrap();
    ws.send(json!({"t": "say", "i": 1, "text": "x", "cid": "a"}))
        .await;
    assert_eq!(ws.until_t("error").await["code"], "bad_frame");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_are_handed_the_ice_servers_and_the_embedded_relay() {
    let t = spawn_app(Opts {
        interaction: Some(fapiao::config::InteractionSettings {
            working_hours: vec!["daily 00:00-24:00".into()],
            ice_servers: vec![fapiao::config::IceServer {
                urls: vec!["stun:stun.office.lan:3478".into()],
                username: None,
                credential: None,
            }],
            turn: fapiao::config::TurnSettings {
                enabled: true,
                listen: "127.0.0.1:0".into(),
                public_ip: Some("127.0.0.1".into()),
                ..Default::default()
            },
            ..Default::default()
        }),
        ..Opts::default()
    });
    let mut port = None;
    for _ in 0..100 {
        port = t.app.interact.turn_addr().map(|a| a.port());
        if port.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let port = port.expect("the relay started");
    let (ws, _) = taxpayer_opens(&t, TAXPAYER_A).await;
    let welcome = ws.seen.iter().find(|v| v["t"] == "welcome").unwrap();
    let ice = welcome["ice_servers"].as_array().unwrap();
    assert_eq!(ice[0]["urls"][0], "stun:stun.office.lan:3478");
    assert_eq!(
        ice[1]["urls"][0],
        format!("turn:127.0.0.1:{port}?transport=udp")
    );
    let user = ice[1]["username"].as_str().unwrap();
    assert!(user.ends_with(&format!(":{TAXPAYER_A}")), "{user}");
    assert!(!ice[1]["credential"].as_str().unwrap().is_empty());
    // The relay answers TURN on that port (an unauthenticated Allocate gets 401 + nonce).
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut req = vec![0x00, 0x03, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
    req.extend_from_slice(&[7u8; 12]);
    sock.send_to(&req, ("127.0.0.1", port)).await.unwrap();
    let mut buf = [0u8; 1500];
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), sock.recv_from(&mut buf))
        .await
        .expect("the relay answered")
        .unwrap();
    assert!(n >= 20);
    assert_eq!(&buf[0..2], &[0x01, 0x13], "an Allocate error response");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_and_the_transcript_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Opts {
        data_dir: Some(dir.path().to_path_buf()),
        ..Opts::default()
    };
    let t = spawn_app(opts.clone());
    let _agent = agent_online(&t, "agent").await;
    let (mut ws, i) = taxpayer_opens(&t, TAXPAYER_A).await;
    say(&mut ws, i, "请问怎么确认勾选", "r1").await;
    ws.send(json!({"t": "human", "i": i})).await;
    ws.state_where(i, |s| s["stage"] == "queued").await;
    let last = *seqs(&ws.seen, i).last().unwrap();
    ws.cut();
    drop(t);

    let t = spawn_app(opts);
    let agent = agent_online(&t, "agent").await;
    let q = agent
        .seen
        .iter()
        .find(|v| v["t"] == "queue")
        .unwrap()
        .clone();
    assert_eq!(
        q["items"][0]["i"], i,
        "still waiting after the restart: {q}"
    );
    let token = t.taxpayer_token(TAXPAYER_A).await;
    let mut back = ws_connect(&t, &token, None).await.unwrap();
    back.send(json!({"t": "hello", "since": {i.to_string(): 0}}))
        .await;
    let st = back.state_where(i, |_| true).await;
    assert_eq!(
        (st["stage"].as_str(), st["position"].as_u64()),
        (Some("queued"), Some(1))
    );
    assert_eq!(seqs(&back.seen, i), (1..=last).collect::<Vec<_>>());
    // A retry of a message stored before the restart is still recognised.
    back.send(json!({"t": "say", "i": i, "text": "请问怎么确认勾选", "cid": "r1"}))
        .await;
    let again = back.until(|v| v["t"] == "msg" && v["cid"] == "r1").await;
    assert!(again["seq"].as_u64().unwrap() < last);
    // New messages continue the sequence.
    let next = say(&mut back, i, "还在排队吗", "r2").await;
    assert_eq!(next["seq"], last + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_pages_list_transcripts_with_figures_and_escape_what_was_said() {
    let t = spawn_app(Opts::default());
    let (mut tp, mut agent, i) = assigned(&t).await;
    say(&mut tp, i, "<script>alert(1)</script>", "x1").await;
    say(&mut agent, i, "已收到", "x2").await;
    agent.send(json!({"t": "end", "i": i})).await;
    tp.state_where(i, |s| s["stage"] == "ended").await;
    tp.send(json!({"t": "rate", "i": i, "stars": 5, "comment": "很满意"}))
        .await;
    tp.state_where(i, |s| s["stage"] == "rated").await;

    let admin = t.staff_token("admin").await;
    let page = t
        .get("/office/interact/history", Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    for want in [
        "互动记录",
        "福州鑫达电子科技有限公司",
        "5 星",
        "很满意",
        "平均满意度",
        "平均首次响应时长",
    ] {
        assert!(page.contains(want), "history lacks {want}");
    }
    let r = t.get(&format!("/office/interact/{i}"), Some(&admin)).await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!page.contains("<script>alert(1)"));
    assert!(page.contains("已收到"));
    // The console is for agents and admins; the operator is refused.
    let agent_token = t.staff_token("agent").await;
    let r = t.get("/office/interact", Some(&agent_token)).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("/assets/console.js"));
    let operator = t.staff_token("operator").await;
    assert_eq!(
        t.get("/office/interact", Some(&operator)).await.status(),
        403
    );
    // Every taxpayer page carries the inert button and the tiny loader, not the chat script.
    let tp_token = t.taxpayer_token(TAXPAYER_A).await;
    let home = t.get("/", Some(&tp_token)).await.text().await.unwrap();
    assert!(home.contains("id=\"zn-open\"") && home.contains("/assets/zn.js"));
    assert!(!home.contains("/assets/chat.js"));
    let help = t
        .get("/help/faq", Some(&tp_token))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        help.contains("id=\"zn-open\""),
        "the help pages too, for a taxpayer"
    );
    let public = t.get("/help/faq", None).await.text().await.unwrap();
    assert!(
        !public.contains("id=\"zn-open\""),
        "not for visitors who are not logged in"
    );
    let loader = t.get("/assets/zn.js", None).await.text().await.unwrap();
    assert!(
        loader.len() < 1600,
        "the loader stays tiny: {} bytes",
        loader.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_taxpayer_is_slowed_down_and_nothing_extra_is_stored() {
    let t = spawn_app(Opts::default());
    let (mut ws, i) = taxpayer_opens(&t, TAXPAYER_A).await;
    for n in 0..130 {
        ws.send(json!({"t": "ping"})).await;
        let _ = n;
    }
    let e = ws.until_t("error").await;
    assert_eq!(e["code"], "rate_limited");
    assert_eq!(e["message"], "发送过于频繁，请稍后再试");
    // Still connected, and the interaction is as it was.
    tokio::time::sleep(Duration::from_millis(400)).await;
    say(&mut ws, i, "你好", "after-flood").await;
}

/// The refusal of a socket over the caps (`interaction.max_sockets_per_session`, default 5,
/// and `interaction.max_sockets_per_person`, default 10).
const TOO_MANY: &str = "同时打开的窗口过多，请关闭其他窗口后重试";

/// A socket of `token` that must be accepted: `hello {}` is answered with `welcome`.
async fn accepted(t: &TestApp, token: &str) -> Ws {
    let mut ws = ws_connect(t, token, None).await.unwrap();
    ws.send(json!({"t": "hello", "since": {}})).await;
    let first = ws.next().await;
    assert_eq!(first["t"], "welcome", "refused: {first}");
    ws.until_t("state").await;
    ws
}

/// A socket of `token` that must be refused: one `too_many_sockets` error, then closed by the
/// server; what it sends meanwhile is ignored.
async fn refused(t: &TestApp, token: &str, i: u64) {
    let mut ws = ws_connect(t, token, None).await.unwrap();
    ws.send(json!({"t": "hello", "since": {}})).await;
    ws.send(json!({"t": "say", "i": i, "text": "多余的窗口", "cid": "extra"}))
        .await;
    assert!(ws.closed_within(5000).await, "closed; seen {:?}", ws.seen);
    assert_eq!(ws.seen.len(), 1, "{:?}", ws.seen);
    let e = &ws.seen[0];
    assert_eq!(e["t"], "error");
    assert_eq!(e["code"], "too_many_sockets");
    assert_eq!(e["message"], TOO_MANY);
}

/// What is stored of interaction `i` (as the owning taxpayer reads it).
async fn stored_messages(t: &TestApp, token: &str, i: u64) -> Vec<Value> {
    let r = t
        .get(&format!("/api/v1/interactions/{i}"), Some(token))
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["messages"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_taxpayer_s_sockets_are_capped_per_session_and_per_person() {
    let t = spawn_app(Opts::default());
    let (first, i) = taxpayer_opens(&t, TAXPAYER_A).await;
    let admin = t.staff_token("admin").await;
    let path = format!("/api/v1/interactions?taxpayer={TAXPAYER_A}");
    let stored_before = stored_messages(&t, &admin, i).await.len();

    // Twelve sockets of one taxpayer over three logins: five on one login, the sixth of that
    // login refused; four on another; the next, on a third login, is the person's eleventh.
    let one = t.taxpayer_token(TAXPAYER_A).await;
    let mut of_one = Vec::new();
    for _ in 0..5 {
        of_one.push(accepted(&t, &one).await);
    }
    refused(&t, &one, i).await;
    let two = t.taxpayer_token(TAXPAYER_A).await;
    let mut of_two = Vec::new();
    for _ in 0..4 {
        of_two.push(accepted(&t, &two).await);
    }
    let three = t.taxpayer_token(TAXPAYER_A).await;
    refused(&t, &three, i).await;

    // The refusals stored nothing: no message, no interaction.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(stored_messages(&t, &admin, i).await.len(), stored_before);
    let listed: Value = t.get(&path, Some(&admin)).await.json().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");

    // Another taxpayer has caps of their own.
    let (_b, _) = taxpayer_opens(&t, TAXPAYER_B).await;

    // A window of the first login closes: its slot is free again, for that login (the person
    // is back at ten, so the third login is still refused).
    of_one.pop().unwrap().close().await;
    let mut again = None;
    for _ in 0..50 {
        let mut ws = ws_connect(&t, &one, None).await.unwrap();
        ws.send(json!({"t": "hello", "since": {}})).await;
        if ws.next().await["t"] == "welcome" {
            again = Some(ws);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(again.is_some(), "the closed window's slot was not freed");
    refused(&t, &three, i).await;
    drop(first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_from_many_sockets_of_one_taxpayer_is_held_to_one_budget() {
    let t = spawn_app(Opts::default());
    // Ten sockets of one taxpayer (within the caps: two logins of five).
    let (first, i) = taxpayer_opens(&t, TAXPAYER_A).await;
    let token = t.taxpayer_token(TAXPAYER_A).await;
    let mut sockets = vec![first];
    for _ in 0..4 {
        sockets.push(accepted(&t, &token).await);
    }
    let token = t.taxpayer_token(TAXPAYER_A).await;
    for _ in 0..5 {
        sockets.push(accepted(&t, &token).await);
    }
    // One socket alone may send 120 frames at once and 5 a second after that; each of the ten
    // sends 100 messages (the bot answers each one it takes).
    const EACH: usize = 100;
    let started = std::time::Instant::now();
    for n in 0..EACH {
        for (k, ws) in sockets.iter_mut().enumerate() {
            ws.send(json!({"t": "say", "i": i, "text": format!("刷屏 {k}-{n}"), "cid": format!("f{k}-{n}")}))
                .await;
        }
    }
    // Every message is answered: its echo (stored) or a refusal with its cid.
    let mut taken = 0;
    let mut limited = 0;
    for (k, ws) in sockets.iter_mut().enumerate() {
        let mine = format!("f{k}-");
        let mut open: std::collections::HashSet<String> =
            (0..EACH).map(|n| format!("{mine}{n}")).collect();
        while !open.is_empty() {
            let v = ws.next().await;
            let Some(cid) = v["cid"].as_str() else {
                continue;
            };
            if !open.remove(cid) {
                continue;
            }
            match v["t"].as_str() {
                Some("msg") => taken += 1,
                Some("error") => {
                    assert_eq!(v["code"], "rate_limited", "{v}");
                    assert_eq!(v["message"], "发送过于频繁，请稍后再试");
                    assert_eq!(v["i"], i);
                    limited += 1;
                }
                _ => panic!("{v}"),
            }
        }
    }
    let secs = started.elapsed().as_secs_f64().ceil() as usize;
    assert_eq!(taken + limited, 10 * EACH);
    // What one socket could have had: the burst and the refill over the burst's duration.
    let budget = 120 + 5 * secs;
    let stored = stored_messages(&t, &token, i).await;
    let from_taxpayer = stored.iter().filter(|m| m["from"] == "taxpayer").count();
    let from_bot = stored.iter().filter(|m| m["from"] == "bot").count();
    println!(
        "{taken} of {} messages stored, {limited} refused, in {secs} s",
        10 * EACH
    );
    assert_eq!(from_taxpayer, taken);
    assert!(
        from_taxpayer <= budget,
        "{from_taxpayer} messages stored in {secs} s, over one socket's {budget}"
    );
    // The bot searched only for the messages taken (and greeted once).
    assert_eq!(from_bot, from_taxpayer + 1);
    assert!(
        from_taxpayer >= 50,
        "the budget was spent on messages: {from_taxpayer}"
    );

    // The budget refills: a second later the taxpayer is heard again.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    say(&mut sockets[3], i, "现在可以了吗", "after-burst").await;
}

/// The interactions offered in a `queue` frame.
fn offered(q: &Value) -> Vec<u64> {
    q["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["i"].as_u64().unwrap())
        .collect()
}

/// A second 征纳互动坐席, `agent2`.
fn second_agent(t: &TestApp) {
    fapiao::service::office::staff::create(
        &t.app,
        &t.app.system("test"),
        fapiao::service::office::staff::NewStaff {
            username: "agent2".into(),
            display_name: String::new(),
            role: fapiao::domain::Role::Agent,
            password: PASSWORD.into(),
        },
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_off_goes_to_the_agents_of_the_taxpayer_s_region_then_to_the_fallback() {
    // Taxpayer A is of 福建 (350000), B of 深圳 (440300); `agent` serves 福建, `agent2` 深圳.
    let t = spawn_app(Opts::default());
    second_agent(&t);
    let admin = t.staff_token("admin").await;
    let put = |who: &'static str, body: Value| {
        let t = &t;
        let admin = admin.clone();
        async move {
            t.send_json(
                reqwest::Method::PUT,
                &format!("/api/v1/office/staff/{who}"),
                Some(&admin),
                &body,
            )
            .await
        }
    };
    let r = put("agent", json!({"regions": ["350000"]})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap()["regions"],
        json!(["350000"])
    );
    let r = put("agent2", json!({"regions": ["深圳市"]})).await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["regions"],
        json!(["440300"])
    );
    // An unknown region: 422 in Chinese, and nothing changes (not even the name sent with it).
    let r = put(
        "agent",
        json!({"name": "改名", "regions": ["350000", "999999"]}),
    )
    .await;
    let e = expect_error(r, 422, "invalid_value").await;
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(msg.contains("服务地区") && msg.contains("999999"), "{e}");
    let list: Value = t
        .get("/api/v1/office/staff", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let agent = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["username"] == "agent")
        .unwrap();
    assert_eq!(agent["regions"], json!(["350000"]));
    assert_ne!(agent["name"], "改名");

    let mut fj = agent_online(&t, "agent").await;
    let mut sz = agent_online(&t, "agent2").await;
    let (mut a, ia) = taxpayer_opens(&t, TAXPAYER_A).await;
    let (mut b, ib) = taxpayer_opens(&t, TAXPAYER_B).await;
    for (ws, i) in [(&mut a, ia), (&mut b, ib)] {
        ws.send(json!({"t": "human", "i": i})).await;
        ws.state_where(i, |s| s["stage"] == "queued").await;
    }
    // Each agent is offered only its region's interaction.
    let q = fj
        .until(|v| v["t"] == "queue" && offered(v).contains(&ia))
        .await;
    assert_eq!(offered(&q), vec![ia]);
    assert_eq!(q["items"][0]["region"], "350000");
    let q = sz
        .until(|v| v["t"] == "queue" && offered(v).contains(&ib))
        .await;
    assert_eq!(offered(&q), vec![ib]);
    for (ws, not) in [(&mut fj, ib), (&mut sz, ia)] {
        assert!(ws
            .seen
            .iter()
            .filter(|v| v["t"] == "queue")
            .all(|v| !offered(v).contains(&not)));
    }

    // 深圳's agent leaves: with the default fallback ("any") 福建's agent is offered B too,
    // and takes the oldest it may: A first, then B.
    sz.close().await;
    let q = fj
        .until(|v| v["t"] == "queue" && offered(v).len() == 2)
        .await;
    assert_eq!(offered(&q), vec![ia, ib]);
    fj.send(json!({"t": "accept"})).await;
    fj.state_where(ia, |s| s["stage"] == "assigned").await;
    fj.send(json!({"t": "accept"})).await;
    fj.state_where(ib, |s| s["stage"] == "assigned").await;
    b.state_where(ib, |s| s["stage"] == "assigned").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_bot_off_a_region_goes_straight_to_its_agents_and_waits_for_them() {
    let t = spawn_app(Opts {
        interaction: Some(fapiao::config::InteractionSettings {
            working_hours: vec!["daily 00:00-24:00".into()],
            fallback: fapiao::domain::interaction::routing::Fallback::Wait,
            bot_off_regions: vec![fapiao::domain::Region::parse("440300").unwrap()],
            ..Default::default()
        }),
        ..Opts::default()
    });
    second_agent(&t);
    let who = t.app.system("test");
    for (user, code) in [("agent", "350000"), ("agent2", "440300")] {
        let u = fapiao::service::office::staff::StaffUpdate {
            regions: Some(vec![fapiao::domain::Region::parse(code).unwrap()]),
            ..Default::default()
        };
        fapiao::service::office::staff::update(&t.app, &who, user, u).unwrap();
    }
    let mut fj = agent_online(&t, "agent").await;
    // 深圳 has no bot: B is queued at once, without asking for 人工导税.
    let (b, ib) = taxpayer_opens(&t, TAXPAYER_B).await;
    let st = b.seen.iter().rev().find(|v| v["t"] == "state").unwrap();
    assert_eq!(st["stage"], "queued");
    assert!(b
        .seen
        .iter()
        .all(|v| !(v["t"] == "msg" && v["from"] == "bot")));
    // Fallback "wait": 福建's agent is not offered B and cannot take it.
    fj.send(json!({"t": "accept"})).await;
    assert_eq!(fj.until_t("error").await["code"], "queue_empty");
    assert!(fj
        .seen
        .iter()
        .filter(|v| v["t"] == "queue")
        .all(|v| !offered(v).contains(&ib)));
    // 深圳's agent comes online: offered B, and takes it.
    let mut sz = agent_online(&t, "agent2").await;
    let q = sz.seen.iter().rev().find(|v| v["t"] == "queue").unwrap();
    assert_eq!(offered(q), vec![ib]);
    sz.send(json!({"t": "accept"})).await;
    sz.state_where(ib, |s| s["stage"] == "assigned").await;
    // 福建 keeps its bot.
    let (a, ia) = taxpayer_opens(&t, TAXPAYER_A).await;
    let st = a.seen.iter().rev().find(|v| v["t"] == "state").unwrap();
    assert_eq!(st["stage"], "bot");
    assert!(msgs(&a.seen, ia).iter().any(|m| m["from"] == "bot"));
}
