//! The 征纳互动 soak: many concurrent interactions, each with a taxpayer and an agent, exchange
//! messages over real WebSockets on loopback for a bounded time. Every message is checked on
//! arrival: per interaction the `seq` must go up by exactly one (nothing lost, nothing
//! reordered, nothing repeated), every message sent must reach the other side exactly once,
//! and the stored transcript must equal what the clients saw. Delivery latency is measured
//! from just before the sender writes the frame to the moment the other side reads it.
//!
//! Shared by `benches/soak.rs` (200 interactions, the report) and the integration test (a
//! smaller run that fails on any loss or disorder).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fapiao::domain::{Contact, CreditRating, Enterprise, Region, Role, TaxpayerId};
use fapiao::service::{self, App};
use fapiao::store::prelude::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

pub const PASSWORD: &str = "Soak-Password-2026";

/// Taxpayer ids with valid check characters: `91350100MK` + 7 digits + check.
pub fn taxpayer_id(n: usize) -> String {
    let body = format!("91350100MK{n:07}");
    let check = fapiao::domain::credit_code_check_char(&body).unwrap_or('0');
    format!("{body}{check}")
}

/// Creates `taxpayers` taxpayers and `agents` agents (usernames `soak-agent-<k>`).
pub fn seed(app: &App, taxpayers: usize, agents: usize) -> (Vec<String>, Vec<String>) {
    let who = app.system("soak");
    let mut ids = Vec::new();
    for n in 0..taxpayers {
        let id = taxpayer_id(n);
        let tid = TaxpayerId::parse(&id).expect("valid id");
        service::office::taxpayers::create(
            app,
            &who,
            service::office::taxpayers::NewTaxpayer {
                region: Region::of_taxpayer_id(&tid)
                    .unwrap_or_else(|| Region::parse("350100").expect("region")),
                id: tid,
                name: format!("压测企业{n:04}有限公司"),
                authority: "国家税务总局福州市税务局".into(),
                eligible: true,
                credit_rating: Some(CreditRating::A),
                contact: Contact::default(),
                enterprise: Enterprise::default(),
                current_period: None,
                training: true,
            },
        )
        .expect("taxpayer");
        ids.push(id);
    }
    let mut names = Vec::new();
    for k in 0..agents {
        let username = format!("soak-agent-{k}");
        service::office::staff::create(
            app,
            &who,
            service::office::staff::NewStaff {
                username: username.clone(),
                display_name: format!("坐席{k}"),
                role: Role::Agent,
                password: PASSWORD.into(),
            },
        )
        .expect("agent");
        names.push(username);
    }
    (ids, names)
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(addr: SocketAddr, token: &str) -> Socket {
    let mut req = format!("ws://{addr}/api/v1/interact/ws")
        .into_client_request()
        .expect("request");
    let h = req.headers_mut();
    h.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
    );
    h.insert(
        "origin",
        HeaderValue::from_str(&format!("http://{addr}")).expect("header"),
    );
    tokio_tungstenite::connect_async(req)
        .await
        .expect("websocket")
        .0
}

async fn token(client: &reqwest::Client, addr: SocketAddr, path: &str, body: Value) -> String {
    let r = client
        .post(format!("http://{addr}{path}"))
        .json(&body)
        .send()
        .await
        .expect("login");
    let v: Value = r.json().await.expect("login body");
    v["token"].as_str().expect("token").to_string()
}

async fn send(s: &mut Socket, v: Value) {
    s.send(Message::Text(v.to_string().into()))
        .await
        .expect("send");
}

async fn recv(s: &mut Socket) -> Option<Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(15), s.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return serde_json::from_str(&t).ok(),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

/// What one run found.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub interactions: usize,
    pub secs: f64,
    /// Chat messages sent by the clients (taxpayers and agents).
    pub sent: usize,
    /// Of those, received by the other side.
    pub delivered: usize,
    pub lost: usize,
    pub duplicated: usize,
    /// Frames whose seq was not the previous one plus one.
    pub out_of_order: usize,
    /// Interactions whose stored transcript differs from what the taxpayer saw.
    pub transcript_mismatches: usize,
    pub latencies_ms: Vec<f64>,
}

impl Report {
    pub fn percentile(&self, p: f64) -> f64 {
        if self.latencies_ms.is_empty() {
            return 0.0;
        }
        let mut v = self.latencies_ms.clone();
        v.sort_by(|a, b| a.total_cmp(b));
        let idx = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
        v[idx.min(v.len() - 1)]
    }

    pub fn json(&self) -> Value {
        json!({
            "interactions": self.interactions,
            "secs": (self.secs * 10.0).round() / 10.0,
            "sent": self.sent,
            "delivered": self.delivered,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "out_of_order": self.out_of_order,
            "transcript_mismatches": self.transcript_mismatches,
            "p50_ms": (self.percentile(50.0) * 100.0).round() / 100.0,
            "p99_ms": (self.percentile(99.0) * 100.0).round() / 100.0,
            "max_ms": (self.percentile(100.0) * 100.0).round() / 100.0,
        })
    }
}

/// Sent-at times by cid, and how often each cid arrived at the other side.
#[derive(Default)]
struct Ledger {
    sent: HashMap<String, Instant>,
    arrived: HashMap<String, usize>,
    latencies: Vec<f64>,
    out_of_order: usize,
}

/// Checks a `msg` frame: the seq continues the interaction's, the latency of a message from
/// the other side is recorded.
fn on_msg(v: &Value, last: &mut BTreeMap<u64, u64>, ledger: &Mutex<Ledger>, mine: &str) {
    let (Some(i), Some(seq)) = (v["i"].as_u64(), v["seq"].as_u64()) else {
        return;
    };
    let now = Instant::now();
    let mut l = ledger.lock().expect("ledger");
    let prev = last.insert(i, seq).unwrap_or(0);
    if seq != prev + 1 {
        l.out_of_order += 1;
    }
    if let Some(cid) = v["cid"].as_str() {
        if !cid.starts_with(mine) {
            *l.arrived.entry(cid.to_string()).or_default() += 1;
            if let Some(at) = l.sent.get(cid).copied() {
                l.latencies.push((now - at).as_secs_f64() * 1000.0);
            }
        }
    }
}

/// Runs the soak against a server at `addr` whose taxpayers `ids` and agents `agents` exist
/// (see [`seed`]) and whose working hours are open. Each taxpayer sends a message every
/// `every`, each agent answers every message it receives; for `secs`.
pub async fn run(
    app: Arc<App>,
    addr: SocketAddr,
    ids: &[String],
    agents: &[String],
    secs: u64,
    every: Duration,
) -> Report {
    let client = reqwest::Client::new();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    // Agents first, so that 人工导税 is on offer.
    let mut agent_sockets = Vec::new();
    for a in agents {
        let t = token(
            &client,
            addr,
            "/api/v1/office/session",
            json!({"username": a, "password": PASSWORD}),
        )
        .await;
        let mut s = connect(addr, &t).await;
        send(&mut s, json!({"t": "hello", "since": {}})).await;
        while let Some(v) = recv(&mut s).await {
            if v["t"] == "queue" {
                break;
            }
        }
        agent_sockets.push(s);
    }
    // Every taxpayer opens an interaction and asks for a human.
    let mut taxpayers = Vec::new();
    for id in ids {
        let t = token(&client, addr, "/api/v1/session", json!({"taxpayer_id": id})).await;
        let mut s = connect(addr, &t).await;
        send(&mut s, json!({"t": "hello", "since": {}})).await;
        let mut last = BTreeMap::new();
        let mut i = 0;
        while let Some(v) = recv(&mut s).await {
            if v["t"] == "msg" {
                on_msg(&v, &mut last, &ledger, "t");
            }
            if v["t"] == "state" {
                i = v["i"].as_u64().unwrap_or(0);
                break;
            }
        }
        send(&mut s, json!({"t": "human", "i": i})).await;
        taxpayers.push((s, i, last));
    }
    // Agents take them in turn until the queue is empty.
    let per_agent = ids.len().div_ceil(agents.len().max(1));
    let mut agent_tasks = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(secs);
    for (k, mut s) in agent_sockets.into_iter().enumerate() {
        let ledger = ledger.clone();
        agent_tasks.push(tokio::spawn(async move {
            let mine = format!("a{k}-");
            let mut last: BTreeMap<u64, u64> = BTreeMap::new();
            let mut mine_ids = std::collections::HashSet::new();
            let mut n = 0u64;
            let quiet_after = deadline + Duration::from_secs(3);
            send(&mut s, json!({"t": "accept"})).await;
            loop {
                let Ok(Some(Ok(m))) = tokio::time::timeout_at(
                    tokio::time::Instant::from_std(quiet_after),
                    s.next(),
                )
                .await
                else {
                    break;
                };
                let Message::Text(t) = m else { continue };
                let Ok(v) = serde_json::from_str::<Value>(&t) else {
                    continue;
                };
                match v["t"].as_str() {
                    Some("state") if v["stage"] == "assigned" => {
                        let i = v["i"].as_u64().unwrap_or(0);
                        if mine_ids.insert(i) && mine_ids.len() < per_agent {
                            send(&mut s, json!({"t": "accept"})).await;
                        }
                    }
                    Some("msg") => {
                        on_msg(&v, &mut last, &ledger, &mine);
                        if v["from"] == "taxpayer" && Instant::now() < deadline {
                            let i = v["i"].as_u64().unwrap_or(0);
                            n += 1;
                            let cid = format!("{mine}{n}");
                            ledger
                                .lock()
                                .expect("ledger")
                                .sent
                                .insert(cid.clone(), Instant::now());
                            send(
                                &mut s,
                                json!({"t": "say", "i": i, "text": format!("答复 {n}"), "cid": cid}),
                            )
                            .await;
                        }
                    }
                    // Not everyone has asked yet: try again shortly.
                    Some("error")
                        if v["code"] == "queue_empty"
                            && mine_ids.len() < per_agent
                            && Instant::now() < deadline =>
                    {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        send(&mut s, json!({"t": "accept"})).await;
                    }
                    _ => {}
                }
            }
            let _ = s.close(None).await;
        }));
    }
    // Wait until every taxpayer has an agent.
    let mut tp_tasks = Vec::new();
    let started = Instant::now();
    for (k, (mut s, i, mut last)) in taxpayers.into_iter().enumerate() {
        let ledger = ledger.clone();
        tp_tasks.push(tokio::spawn(async move {
            let mine = format!("t{k}-");
            loop {
                match recv(&mut s).await {
                    Some(v) if v["t"] == "msg" => on_msg(&v, &mut last, &ledger, &mine),
                    Some(v) if v["t"] == "state" && v["stage"] == "assigned" => break,
                    Some(_) => {}
                    None => return (i, last),
                }
            }
            // Spread the senders over the interval.
            let offset = every.mul_f64((k % 97) as f64 / 97.0);
            let mut tick = tokio::time::interval_at(
                tokio::time::Instant::now() + offset,
                every,
            );
            let mut n = 0u64;
            let quiet_after = deadline + Duration::from_secs(3);
            loop {
                tokio::select! {
                    _ = tick.tick(), if Instant::now() < deadline => {
                        n += 1;
                        let cid = format!("{mine}{n}");
                        ledger.lock().expect("ledger").sent.insert(cid.clone(), Instant::now());
                        send(&mut s, json!({"t": "say", "i": i, "text": format!("问题 {n}"), "cid": cid})).await;
                    }
                    m = tokio::time::timeout_at(tokio::time::Instant::from_std(quiet_after), s.next()) => {
                        match m {
                            Ok(Some(Ok(Message::Text(t)))) => {
                                if let Ok(v) = serde_json::from_str::<Value>(&t) {
                                    if v["t"] == "msg" {
                                        on_msg(&v, &mut last, &ledger, &mine);
                                    }
                                }
                            }
                            Ok(Some(Ok(_))) => {}
                            _ => break,
                        }
                    }
                }
            }
            let _ = s.close(None).await;
            (i, last)
        }));
    }
    let mut seen_last: BTreeMap<u64, u64> = BTreeMap::new();
    for t in tp_tasks {
        if let Ok((i, last)) = t.await {
            if let Some(s) = last.get(&i) {
                seen_last.insert(i, *s);
            }
        }
    }
    for t in agent_tasks {
        let _ = t.await;
    }
    let secs_run = started.elapsed().as_secs_f64();
    let l = ledger.lock().expect("ledger");
    let mut report = Report {
        interactions: ids.len(),
        secs: secs_run,
        sent: l.sent.len(),
        out_of_order: l.out_of_order,
        latencies_ms: l.latencies.clone(),
        ..Report::default()
    };
    for cid in l.sent.keys() {
        match l.arrived.get(cid).copied().unwrap_or(0) {
            0 => report.lost += 1,
            1 => report.delivered += 1,
            _ => {
                report.delivered += 1;
                report.duplicated += 1;
            }
        }
    }
    // The stored transcripts end where the taxpayers' views ended.
    let reader = app.store.read().expect("read");
    for (i, last) in seen_last {
        let stored = reader.chat_messages(i, 0).expect("messages");
        let seqs: Vec<u64> = stored.iter().map(|m| m.seq).collect();
        if seqs != (1..=last).collect::<Vec<_>>() {
            report.transcript_mismatches += 1;
        }
    }
    report
}
