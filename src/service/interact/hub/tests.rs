//! The hub's rules without the store, the sockets or the clock: each test drives a [`State`]
//! the way the loop does (commands of a batch, the grace timers, the flood budgets, the "who
//! is online" notice, the commit) and looks at what was stored and which socket got which
//! frame.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use serde_json::{json, Value};

use super::limits::Rate;
use super::state::{Batch, BotReply, Cids, Limits, Outside, State};
use crate::domain::interaction::{ChatMessage, Interaction, InteractionRecord, Party, Stage};
use crate::domain::WorkingHours;
use crate::service::interact::{In, SessionKey, Subject};

const GRACE: u64 = 30;
/// A taxpayer's budget: frames at once, and per second after that.
const BURST: u64 = 20;
const PER_SEC: u64 = 2;
/// Open sockets per login session and per person.
const PER_SESSION: u64 = 3;
const PER_PERSON: u64 = 5;

/// The store as the state reads it: what the earlier batches committed.
#[derive(Default)]
struct Stored {
    records: HashMap<u64, InteractionRecord>,
    messages: HashMap<u64, Vec<ChatMessage>>,
    /// How often the bot was asked.
    searches: Cell<usize>,
}

impl Outside for Stored {
    fn stored(&self, id: u64) -> Option<(InteractionRecord, Cids)> {
        let rec = self.records.get(&id)?.clone();
        let cids = self
            .messages
            .get(&id)
            .into_iter()
            .flatten()
            .filter_map(|m| m.cid.clone().map(|c| (c, m.seq)))
            .collect();
        Some((rec, cids))
    }

    fn messages(&self, id: u64, since: u64) -> Vec<ChatMessage> {
        self.messages
            .get(&id)
            .map(|v| v.iter().filter(|m| m.seq > since).cloned().collect())
            .unwrap_or_default()
    }

    fn bot(&self, text: &str) -> Option<BotReply> {
        self.searches.set(self.searches.get() + 1);
        Some(BotReply {
            text: format!("关于“{text}”的解答"),
            suggest: Vec::new(),
            faq: Some("faq-1".into()),
        })
    }

    fn ice_servers(&self, _: &Subject) -> Value {
        json!([])
    }
}

enum Step {
    /// A socket opened with a login session.
    Connect(u64, Subject, SessionKey),
    Frame(u64, In),
    Disconnect(u64),
}

/// The loop without its I/O: batches of commands at a chosen time, the commit into
/// [`Stored`], the frames collected per socket.
struct Sim {
    state: State,
    stored: Stored,
    t0: Instant,
    start: DateTime<FixedOffset>,
    /// Seconds since the start: the time of the next batch.
    secs: u64,
    /// Frames each socket received since it was last read.
    inbox: HashMap<u64, Vec<Value>>,
    /// What the last batch stored.
    last_messages: Vec<(u64, ChatMessage)>,
    last_audits: Vec<&'static str>,
    last_dirty: usize,
    /// Sockets the hub closed (refused at connect), in order.
    closed: Vec<u64>,
}

fn limits() -> Limits {
    Limits {
        hours: WorkingHours::always(),
        grace: Duration::from_secs(GRACE),
        max_message_chars: 2000,
        taxpayer_rate: Rate {
            burst: BURST as f64,
            per_sec: PER_SEC as f64,
        },
        staff_rate: Rate {
            burst: 4.0 * BURST as f64,
            per_sec: 4.0 * PER_SEC as f64,
        },
        sockets_per_session: PER_SESSION as usize,
        sockets_per_person: PER_PERSON as usize,
        fallback: Default::default(),
        bot_off: Vec::new(),
    }
}

/// Login session `n`.
fn login(n: u8) -> SessionKey {
    [n; 32]
}

/// The login of a socket opened by itself (unlike any [`login`]).
fn own_login(conn: u64) -> SessionKey {
    let mut key = [0xee; 32];
    key[..8].copy_from_slice(&conn.to_be_bytes());
    key
}

fn start() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2024-11-25T10:00:00+08:00").unwrap()
}

fn taxpayer(n: u32) -> Subject {
    Subject::Taxpayer {
        id: format!("tp{n}"),
        name: format!("纳税人{n}"),
        region: None,
    }
}

fn agent(username: &str) -> Subject {
    Subject::Agent {
        username: username.into(),
        name: format!("坐席{username}"),
        regions: Vec::new(),
    }
}

fn say(i: u64, text: &str, cid: &str) -> In {
    In::Say {
        i,
        text: text.into(),
        cid: Some(cid.into()),
    }
}

fn hello() -> In {
    In::Hello {
        since: BTreeMap::new(),
    }
}

/// The frames of type `t` about interaction `i`.
fn about<'a>(frames: &'a [Value], t: &str, i: u64) -> Vec<&'a Value> {
    frames
        .iter()
        .filter(|f| f["t"] == t && f["i"] == i)
        .collect()
}

/// The last `state` of `i` in `frames`.
fn state_of(frames: &[Value], i: u64) -> Option<&Value> {
    about(frames, "state", i).last().copied()
}

/// The interaction ids of the last `queue` frame.
fn queue_listing(frames: &[Value]) -> Option<Vec<u64>> {
    let q = frames.iter().rfind(|f| f["t"] == "queue")?;
    Some(
        q["items"]
            .as_array()?
            .iter()
            .filter_map(|x| x["i"].as_u64())
            .collect(),
    )
}

impl Sim {
    fn new() -> Sim {
        Sim::restarted(Vec::new(), 1)
    }

    fn restarted(open: Vec<InteractionRecord>, next_id: u64) -> Sim {
        let t0 = Instant::now();
        let open = open.into_iter().map(|r| (r, Cids::new())).collect();
        Sim {
            state: State::new(limits(), open, next_id, t0),
            stored: Stored::default(),
            t0,
            start: start(),
            secs: 0,
            inbox: HashMap::new(),
            last_messages: Vec::new(),
            last_audits: Vec::new(),
            last_dirty: 0,
            closed: Vec::new(),
        }
    }

    fn at(&mut self, secs: u64) -> &mut Sim {
        self.secs = secs;
        self
    }

    /// One batch, as `Hub::batch` and `Hub::commit` run it.
    fn batch(&mut self, steps: Vec<Step>) {
        let now = self.start + chrono::Duration::seconds(self.secs as i64);
        let at = self.t0 + Duration::from_secs(self.secs);
        let mut b = Batch::default();
        let agents_before = self.state.agents_online();
        for s in steps {
            match s {
                Step::Connect(conn, subject, session) => {
                    self.state.connect(conn, subject, session, None, &mut b);
                }
                Step::Frame(conn, f) => self.state.frame(&self.stored, now, at, conn, f, &mut b),
                Step::Disconnect(conn) => self.state.disconnect(conn, at),
            }
        }
        self.state.expire(now, at, &mut b);
        self.state.forget_idle_budgets(at);
        self.state.announce(now, agents_before, &mut b);
        for id in &b.dirty {
            if let Some(rec) = self.state.record(*id) {
                self.stored.records.insert(*id, rec.clone());
            }
        }
        for (id, m) in &b.messages {
            self.stored.messages.entry(*id).or_default().push(m.clone());
        }
        for (to, text) in &b.sends {
            let v: Value = serde_json::from_str(text).unwrap();
            for c in to {
                if self.state.conns.contains_key(c) || b.closes.contains(c) {
                    self.inbox.entry(*c).or_default().push(v.clone());
                }
            }
        }
        self.closed.extend(&b.closes);
        self.last_dirty = b.dirty.len();
        self.last_audits = b.audits.iter().map(|a| a.2).collect();
        self.last_messages = b.messages;
        self.state.forget_unwatched();
    }

    fn frame(&mut self, conn: u64, f: In) {
        self.batch(vec![Step::Frame(conn, f)]);
    }

    fn tick(&mut self) {
        self.batch(Vec::new());
    }

    fn disconnect(&mut self, conn: u64) {
        self.batch(vec![Step::Disconnect(conn)]);
    }

    /// A socket connects (on a login of its own) and says hello with nothing to resume.
    fn hello(&mut self, conn: u64, subject: Subject) {
        self.hello_on(conn, subject, own_login(conn));
    }

    /// A socket of login `session` connects and says hello with nothing to resume.
    fn hello_on(&mut self, conn: u64, subject: Subject, session: SessionKey) {
        self.batch(vec![
            Step::Connect(conn, subject, session),
            Step::Frame(conn, hello()),
        ]);
    }

    /// Taxpayer `n` connects on `conn` and gets a new interaction with the bot.
    fn open(&mut self, conn: u64, n: u32) -> u64 {
        self.hello(conn, taxpayer(n));
        let frames = self.inbox.get(&conn).cloned().unwrap_or_default();
        let s = frames.iter().rfind(|f| f["t"] == "state").unwrap();
        assert_eq!(s["stage"], "bot");
        s["i"].as_u64().unwrap()
    }

    /// Taxpayers (conn, interaction) in the queue, in this order.
    fn queue_up(&mut self, who: &[(u64, u64)]) {
        for (conn, i) in who {
            self.frame(*conn, In::Human { i: *i });
        }
    }

    /// The frames `conn` received since the last call.
    fn take(&mut self, conn: u64) -> Vec<Value> {
        self.inbox.remove(&conn).unwrap_or_default()
    }

    fn clear(&mut self) {
        self.inbox.clear();
    }

    fn stage(&self, i: u64) -> Stage {
        self.stored.records[&i].state.stage
    }

    fn stored_texts(&self, i: u64) -> Vec<&str> {
        self.stored.messages[&i]
            .iter()
            .map(|m| m.text.as_str())
            .collect()
    }
}

#[test]
fn the_queue_is_first_in_first_out_and_accept_takes_the_oldest() {
    let mut h = Sim::new();
    h.hello(100, agent("a1"));
    let i1 = h.open(1, 1);
    let i2 = h.open(2, 2);
    let i3 = h.open(3, 3);
    h.queue_up(&[(2, i2), (1, i1), (3, i3)]);
    assert_eq!(h.state.queue, vec![i2, i1, i3]);
    assert_eq!(queue_listing(&h.take(100)), Some(vec![i2, i1, i3]));
    assert!(h
        .stored_texts(i3)
        .iter()
        .any(|t| t.contains("当前排队第 3 位")));

    h.frame(100, In::Accept {});
    assert_eq!(h.stage(i2), Stage::Assigned);
    assert_eq!(h.stored.records[&i2].state.agent.as_deref(), Some("a1"));
    assert_eq!(h.stage(i1), Stage::Queued);
    assert_eq!(h.state.queue, vec![i1, i3]);
    assert_eq!(queue_listing(&h.take(100)), Some(vec![i1, i3]));
    h.frame(100, In::Accept {});
    assert_eq!(h.stage(i1), Stage::Assigned);
    assert_eq!(h.state.queue, vec![i3]);
}

#[test]
fn every_waiting_taxpayer_is_told_the_new_position_after_join_cancel_and_accept() {
    let mut h = Sim::new();
    h.hello(100, agent("a1"));
    let i1 = h.open(1, 1);
    let i2 = h.open(2, 2);
    let i3 = h.open(3, 3);
    h.queue_up(&[(1, i1), (2, i2)]);
    h.clear();
    // A third joins: everyone waiting hears the queue changed, with their place.
    h.frame(3, In::Human { i: i3 });
    assert_eq!(state_of(&h.take(1), i1).unwrap()["position"], 1);
    assert_eq!(state_of(&h.take(2), i2).unwrap()["position"], 2);
    assert_eq!(state_of(&h.take(3), i3).unwrap()["position"], 3);

    // The first cancels: the others move up, and are told.
    h.frame(1, In::Cancel { i: i1 });
    let first = state_of(&h.take(1), i1).unwrap().clone();
    assert_eq!(first["stage"], "cancelled");
    assert_eq!(first["position"], Value::Null);
    assert_eq!(state_of(&h.take(2), i2).unwrap()["position"], 1);
    assert_eq!(state_of(&h.take(3), i3).unwrap()["position"], 2);
    assert_eq!(h.state.position(i3), Some(2));
    assert_eq!(queue_listing(&h.take(100)), Some(vec![i2, i3]));

    // An agent takes the oldest: the one behind is first now.
    h.frame(100, In::Accept {});
    let taken = state_of(&h.take(2), i2).unwrap().clone();
    assert_eq!(taken["stage"], "assigned");
    assert_eq!(taken["position"], Value::Null);
    assert_eq!(state_of(&h.take(3), i3).unwrap()["position"], 1);
    assert_eq!(h.state.position(i3), Some(1));
    assert_eq!(queue_listing(&h.take(100)), Some(vec![i3]));
}

#[test]
fn hand_off_is_offered_only_while_an_agent_is_online() {
    let mut h = Sim::new();
    let i = h.open(1, 1);
    let welcome = h.take(1).into_iter().find(|f| f["t"] == "welcome").unwrap();
    assert_eq!(welcome["human"]["available"], false);
    h.frame(1, In::Human { i });
    let refused = h.take(1);
    assert_eq!(refused[0]["t"], "error");
    assert_eq!(refused[0]["code"], "no_agent_online");
    assert!(h.state.queue.is_empty());

    // An agent comes online: the taxpayer with the bot is told 人工导税 is on offer, the
    // agents how many are online.
    h.hello(100, agent("a1"));
    assert_eq!(state_of(&h.take(1), i).unwrap()["human"]["available"], true);
    let online = h
        .take(100)
        .into_iter()
        .rfind(|f| f["t"] == "agents")
        .unwrap();
    assert_eq!(online["online"], 1);
    // A second console of the same agent is still one agent.
    h.hello(101, agent("a1"));
    assert_eq!(h.state.agents_online(), 1);

    // Both consoles close: no agent, no hand-off.
    h.disconnect(100);
    assert!(h.take(1).is_empty(), "still one agent online");
    h.disconnect(101);
    assert_eq!(h.state.agents_online(), 0);
    assert_eq!(
        state_of(&h.take(1), i).unwrap()["human"]["available"],
        false
    );
    h.frame(1, In::Human { i });
    assert_eq!(h.take(1)[0]["code"], "no_agent_online");
    assert_eq!(h.stage(i), Stage::Bot);

    h.hello(102, agent("a2"));
    h.frame(1, In::Human { i });
    assert_eq!(h.stage(i), Stage::Queued);
    assert_eq!(h.state.queue, vec![i]);
}

#[test]
fn a_retried_client_id_is_stored_once_and_answered_with_the_stored_message() {
    let mut h = Sim::new();
    let i = h.open(1, 1);
    h.frame(1, say(i, "如何勾选发票", "c1"));
    // The taxpayer's message and the bot's answer.
    assert_eq!(h.last_messages.len(), 2);
    let sent = about(&h.take(1), "msg", i)
        .into_iter()
        .find(|m| m["cid"] == "c1")
        .unwrap()
        .clone();

    // The echo was lost: the client reconnects and sends the message again.
    h.disconnect(1);
    h.hello(2, taxpayer(1));
    h.take(2);
    h.frame(2, say(i, "如何勾选发票", "c1"));
    assert!(h.last_messages.is_empty(), "a retry stores nothing");
    let again = h.take(2);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0], sent);

    // Twice in one batch (before the first is stored): once.
    let before = h.stored.messages[&i].len();
    h.batch(vec![
        Step::Frame(2, say(i, "忘记密码", "c2")),
        Step::Frame(2, say(i, "忘记密码", "c2")),
    ]);
    let c2: Vec<u64> = h
        .last_messages
        .iter()
        .filter(|(_, m)| m.cid.as_deref() == Some("c2"))
        .map(|(_, m)| m.seq)
        .collect();
    assert_eq!(c2.len(), 1);
    assert_eq!(h.stored.messages[&i].len(), before + 2);
    let echoes: Vec<_> = about(&h.take(2), "msg", i)
        .into_iter()
        .filter(|m| m["cid"] == "c2")
        .map(|m| m["seq"].clone())
        .collect();
    assert_eq!(echoes, vec![json!(c2[0]), json!(c2[0])]);

    // Another client id is another message.
    h.frame(2, say(i, "忘记密码", "c3"));
    assert_eq!(h.last_messages.len(), 2);
}

/// Who may post is checked before a retry is answered: another taxpayer, or an agent not
/// serving the interaction, who sends `say` with a client id of a stored message gets a
/// refusal, never the stored message.
#[test]
fn a_client_id_of_someone_elses_message_gives_nothing_away() {
    let mut h = Sim::new();
    let i = h.open(1, 1);
    h.frame(1, say(i, "我的开户行账号是多少", "secret-cid"));
    h.take(1);
    // Another taxpayer, who learnt the interaction number and the client id.
    h.hello(2, taxpayer(2));
    h.take(2);
    h.frame(2, say(i, "x", "secret-cid"));
    let got = h.take(2);
    assert!(
        !got.iter().any(|f| f.to_string().contains("开户行")),
        "the stored message leaked: {got:?}"
    );
    assert!(got.iter().any(|f| f["code"] == "not_yours"), "{got:?}");
    // An agent who does not serve it.
    h.hello(3, agent("zhang"));
    h.take(3);
    h.frame(3, say(i, "x", "secret-cid"));
    let got = h.take(3);
    assert!(
        !got.iter().any(|f| f.to_string().contains("开户行")),
        "the stored message leaked to an agent: {got:?}"
    );
    assert!(got.iter().any(|f| f["t"] == "error"), "{got:?}");
    assert!(h.last_messages.is_empty(), "nothing stored");
    // The sender's own retry still gets it back.
    h.frame(1, say(i, "我的开户行账号是多少", "secret-cid"));
    assert!(h.take(1).iter().any(|f| f.to_string().contains("开户行")));
}

#[test]
fn a_waiting_taxpayer_who_does_not_come_back_leaves_the_queue_after_the_grace() {
    let mut h = Sim::new();
    h.hello(100, agent("a1"));
    let i1 = h.open(1, 1);
    let i2 = h.open(2, 2);
    let i3 = h.open(3, 3);
    h.queue_up(&[(1, i1), (2, i2)]);
    h.clear();
    // Taxpayer 1 (queued) and taxpayer 3 (with the bot) close their last socket.
    h.at(0).disconnect(1);
    h.disconnect(3);
    h.at(GRACE - 1).tick();
    assert_eq!(h.state.queue, vec![i1, i2]);
    assert_eq!(h.stage(i3), Stage::Bot);
    assert!(h.take(100).is_empty());

    h.at(GRACE).tick();
    assert_eq!(h.state.queue, vec![i2]);
    for i in [i1, i3] {
        assert_eq!(h.stage(i), Stage::Cancelled);
        assert_eq!(
            h.stored_texts(i).last().copied(),
            Some("纳税人已离开，本次征纳互动已结束")
        );
    }
    assert_eq!(h.last_audits, vec!["interaction.cancel"; 2]);
    assert_eq!(queue_listing(&h.take(100)), Some(vec![i2]));
    assert_eq!(state_of(&h.take(2), i2).unwrap()["position"], 1);
}

#[test]
fn with_an_agent_the_agent_is_told_the_taxpayer_left_and_the_interaction_stays() {
    let mut h = Sim::new();
    h.hello(100, agent("a1"));
    let i = h.open(1, 1);
    h.frame(1, In::Human { i });
    h.frame(100, In::Accept {});
    h.clear();
    h.at(0).disconnect(1);
    h.at(GRACE - 1).tick();
    assert!(h.take(100).is_empty());
    h.at(GRACE).tick();
    let told: Vec<_> = about(&h.take(100), "msg", i)
        .into_iter()
        .map(|m| m["text"].clone())
        .collect();
    assert_eq!(told, vec![json!("纳税人已离开")]);
    assert_eq!(h.stage(i), Stage::Assigned);
    assert!(h.last_audits.is_empty());
    // Only the agent ends it.
    h.at(GRACE + 60).tick();
    assert!(h.take(100).is_empty());
    h.frame(100, In::End { i });
    assert_eq!(h.stage(i), Stage::Ended);
}

#[test]
fn a_reconnect_within_the_grace_keeps_the_place() {
    let mut h = Sim::new();
    h.hello(100, agent("a1"));
    let i1 = h.open(1, 1);
    let i2 = h.open(2, 2);
    h.queue_up(&[(1, i1), (2, i2)]);
    h.at(0).disconnect(1);
    // A page reload: a new socket within the grace gets the interaction and its place back.
    h.at(10).hello(3, taxpayer(1));
    let back = h.take(3);
    assert_eq!(state_of(&back, i1).unwrap()["position"], 1);
    // The first grace no longer runs: only the second one counts.
    h.at(20).disconnect(3);
    h.at(GRACE + 5).tick();
    assert_eq!(h.state.queue, vec![i1, i2]);
    assert_eq!(h.stage(i1), Stage::Queued);
    h.at(20 + GRACE).tick();
    assert_eq!(h.state.queue, vec![i2]);
    assert_eq!(h.stage(i1), Stage::Cancelled);
}

#[test]
fn a_taxpayer_with_another_socket_open_has_not_left_and_the_grace_starts_at_the_last() {
    let mut h = Sim::new();
    h.hello(100, agent("a1"));
    let i = h.open(1, 1);
    h.hello(2, taxpayer(1));
    h.frame(1, In::Human { i });
    // One tab closes: the other still shows the interaction, no grace starts.
    h.at(0).disconnect(1);
    // The last one closes: the grace counts from then.
    h.at(10).disconnect(2);
    h.at(GRACE + 5).tick();
    assert_eq!(h.stage(i), Stage::Queued);
    assert_eq!(h.state.queue, vec![i]);
    h.at(GRACE + 10).tick();
    assert_eq!(h.stage(i), Stage::Cancelled);
    assert!(h.state.queue.is_empty());
}

#[test]
fn frames_go_to_the_sockets_of_the_interaction_and_the_queue_to_agents_only() {
    let mut h = Sim::new();
    h.hello(100, agent("a1"));
    h.hello(101, agent("a1"));
    h.hello(102, agent("a2"));
    let i = h.open(1, 1);
    let other = h.open(2, 2);
    h.frame(1, In::Human { i });
    for conn in [100, 101, 102] {
        assert_eq!(queue_listing(&h.take(conn)), Some(vec![i]), "agent {conn}");
    }
    assert_eq!(queue_listing(&h.take(1)), None);
    assert_eq!(queue_listing(&h.take(2)), None);

    // a1 takes it: both of a1's consoles follow it from the start, a2 does not.
    h.frame(100, In::Accept {});
    for conn in [100, 101] {
        let seqs: Vec<_> = about(&h.take(conn), "msg", i)
            .into_iter()
            .map(|m| m["seq"].as_u64().unwrap())
            .collect();
        assert_eq!(seqs.first(), Some(&1), "console {conn}");
    }
    assert!(about(&h.take(102), "msg", i).is_empty());
    h.clear();

    // A message reaches the taxpayer and a1's consoles, nobody else.
    h.frame(101, say(i, "您好，请讲", "a-1"));
    for conn in [1, 100, 101] {
        assert_eq!(about(&h.take(conn), "msg", i).len(), 1, "socket {conn}");
    }
    assert!(h.take(102).is_empty());
    assert!(h.take(2).is_empty());
    let m = &h.stored.messages[&i].last().unwrap().from;
    assert!(matches!(m, Party::Agent { username, .. } if username == "a1"));

    // Call signalling goes to the other side only.
    h.frame(1, In::Call { i });
    h.frame(100, In::AnswerCall { i });
    h.clear();
    h.frame(
        1,
        In::Signal {
            i,
            data: json!({"sdp": "offer"}),
        },
    );
    for conn in [100, 101] {
        assert_eq!(about(&h.take(conn), "signal", i).len(), 1, "console {conn}");
    }
    assert!(h.take(1).is_empty());
    assert!(h.take(102).is_empty());
    // Someone else's interaction is not yours.
    h.frame(2, say(i, "hi", "x"));
    assert_eq!(h.take(2)[0]["code"], "not_yours");
    assert_eq!(h.stage(other), Stage::Bot);
}

#[test]
fn after_a_restart_the_queue_keeps_its_order_and_everyone_gets_the_grace() {
    let at = |m: i64| start() + chrono::Duration::minutes(m);
    let rec = |id: u64, n: u32, queued: Option<i64>| {
        let mut state = Interaction::open(at(-10));
        if let Some(q) = queued {
            state.stage = Stage::Queued;
            state.queued_at = Some(at(q));
        }
        InteractionRecord {
            id,
            taxpayer: format!("tp{n}"),
            taxpayer_name: format!("纳税人{n}"),
            state,
            agent_name: None,
            last_seq: 0,
            comment: None,
        }
    };
    let mut h = Sim::restarted(
        vec![rec(5, 5, Some(-2)), rec(3, 3, Some(-5)), rec(7, 7, None)],
        8,
    );
    assert_eq!(h.state.queue, vec![3, 5]);
    h.hello(100, agent("a1"));
    assert_eq!(queue_listing(&h.take(100)), Some(vec![3, 5]));
    // Taxpayer 5 comes back, the others do not.
    h.at(GRACE - 1).hello(1, taxpayer(5));
    assert_eq!(state_of(&h.take(1), 5).unwrap()["position"], 2);
    h.at(GRACE).tick();
    assert_eq!(h.stage(3), Stage::Cancelled);
    assert_eq!(h.stage(7), Stage::Cancelled);
    assert_eq!(h.state.queue, vec![5]);
    // New interactions continue the numbering.
    assert_eq!(h.open(2, 2), 8);
}

/// The frames `conn` was sent, only the `error`s.
fn errors(frames: &[Value]) -> Vec<&Value> {
    frames.iter().filter(|f| f["t"] == "error").collect()
}

fn taxpayer_messages(h: &Sim, i: u64) -> usize {
    h.stored.messages[&i]
        .iter()
        .filter(|m| matches!(m.from, Party::Taxpayer))
        .count()
}

#[test]
fn one_person_over_many_sockets_is_held_to_one_budget() {
    let mut h = Sim::new();
    let i = h.open(1, 1);
    for conn in 2..=PER_PERSON {
        h.hello(conn, taxpayer(1));
    }
    h.clear();
    // The hellos spent one frame each; what is left is the whole person's, not each socket's.
    let left = BURST - PER_PERSON;
    let searches = h.stored.searches.get();
    let mut steps = Vec::new();
    for n in 0..10 {
        for conn in 1..=PER_PERSON {
            steps.push(Step::Frame(
                conn,
                say(i, &format!("刷屏 {n}"), &format!("c{conn}-{n}")),
            ));
        }
    }
    h.batch(steps);
    assert_eq!(taxpayer_messages(&h, i) as u64, left);
    assert_eq!(
        h.last_messages.len() as u64,
        2 * left,
        "each message taken and the bot's answer, nothing else"
    );
    assert_eq!(
        (h.stored.searches.get() - searches) as u64,
        left,
        "no bot search for a refused message"
    );
    // Each refusal goes to its sender with the message's cid (to drop it from the outbox).
    let mut refused = 0;
    for conn in 1..=PER_PERSON {
        for e in errors(&h.take(conn)) {
            assert_eq!(e["code"], "rate_limited");
            assert_eq!(e["message"], "发送过于频繁，请稍后再试");
            assert_eq!(e["i"], i);
            let cid = e["cid"].as_str().unwrap();
            assert!(cid.starts_with(&format!("c{conn}-")), "{cid} to {conn}");
            refused += 1;
        }
    }
    assert_eq!(refused, 10 * PER_PERSON - left);
    // Any frame from any of the sockets is over the budget now, a ping too.
    h.frame(3, In::Ping {});
    assert_eq!(
        h.take(3),
        vec![json!({"t": "error", "i": null, "code": "rate_limited",
            "message": "发送过于频繁，请稍后再试", "cid": null})]
    );
}

#[test]
fn two_people_each_have_their_own_budget() {
    let mut h = Sim::new();
    h.hello(100, agent("a1"));
    let i1 = h.open(1, 1);
    let i2 = h.open(2, 2);
    h.frame(1, In::Human { i: i1 });
    h.frame(100, In::Accept {});
    assert_eq!(h.stage(i1), Stage::Assigned);
    h.clear();
    // Taxpayer 1 spends the rest of the budget (hello and human were two frames) and more.
    let left = BURST - 2;
    h.batch(
        (0..left + 3)
            .map(|n| Step::Frame(1, say(i1, "您好", &format!("a{n}"))))
            .collect(),
    );
    assert_eq!(taxpayer_messages(&h, i1) as u64, left);
    assert_eq!(errors(&h.take(1)).len(), 3);
    // The agent in the same interaction has a budget of their own.
    h.frame(100, say(i1, "您好，请讲", "agent-1"));
    assert_eq!(h.last_messages.len(), 1);
    assert!(errors(&h.take(100)).is_empty());
    // So has taxpayer 2: a whole one (less the hello).
    h.batch(
        (0..BURST - 1)
            .map(|n| Step::Frame(2, say(i2, "问题", &format!("b{n}"))))
            .collect(),
    );
    assert_eq!(h.last_messages.len() as u64, 2 * (BURST - 1));
    assert!(errors(&h.take(2)).is_empty());
    h.frame(2, say(i2, "再问一个", "b-over"));
    assert_eq!(errors(&h.take(2))[0]["code"], "rate_limited");
    assert!(h.last_messages.is_empty());
}

#[test]
fn the_budget_refills_with_time_and_outlasts_the_sockets() {
    let mut h = Sim::new();
    let i = h.open(1, 1);
    h.batch(
        (0..BURST)
            .map(|n| Step::Frame(1, say(i, "问题", &format!("a{n}"))))
            .collect(),
    );
    assert_eq!(taxpayer_messages(&h, i) as u64, BURST - 1);
    h.take(1);
    // A second later, PER_SEC more.
    for n in 0..PER_SEC {
        h.at(1).frame(1, say(i, "一秒后", &format!("b{n}")));
        assert_eq!(h.last_messages.len(), 2, "taken after a second: {n}");
    }
    h.at(1).frame(1, say(i, "一秒后", "b-over"));
    assert!(h.last_messages.is_empty());
    assert_eq!(errors(&h.take(1))[0]["code"], "rate_limited");

    // Closing every socket and coming back at once gives no fresh budget: the hello is
    // refused too, until the budget refills.
    h.at(1).disconnect(1);
    h.at(1).hello(2, taxpayer(1));
    let frames = h.take(2);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0]["code"], "rate_limited");
    h.at(2).frame(2, hello());
    assert!(h.take(2).iter().any(|f| f["t"] == "welcome"));

    // Full again after BURST / PER_SEC seconds, and never more than the burst.
    h.at(1000).batch(
        (0..BURST + 1)
            .map(|n| Step::Frame(2, say(i, "很久以后", &format!("c{n}"))))
            .collect(),
    );
    assert_eq!(h.last_messages.len() as u64, 2 * BURST);
    assert_eq!(errors(&h.take(2)).len(), 1);

    // The bucket of someone with a socket is kept, full or not; of someone gone, it is
    // forgotten once full again.
    h.at(2000).tick();
    assert_eq!(h.state.flood.people(), 1);
    h.at(2000).frame(2, In::Ping {});
    h.at(2000).disconnect(2);
    assert_eq!(h.state.flood.people(), 1, "one frame short of full");
    h.at(2001).tick();
    assert_eq!(h.state.flood.people(), 0);
}

#[test]
fn sockets_over_the_session_cap_are_refused_and_a_closed_one_frees_its_slot() {
    let mut h = Sim::new();
    for conn in 1..=PER_SESSION {
        h.hello_on(conn, taxpayer(1), login(1));
    }
    let i = state_of(&h.take(1), 1).unwrap()["i"].as_u64().unwrap();
    h.clear();
    let stored = h.stored.messages[&i].len();
    let over = PER_SESSION + 1;
    h.batch(vec![
        Step::Connect(over, taxpayer(1), login(1)),
        Step::Frame(over, hello()),
        Step::Frame(over, say(i, "多开的窗口", "x")),
    ]);
    // Refused, told why and closed; its frames did nothing and nothing was stored.
    assert_eq!(
        h.take(over),
        vec![json!({"t": "error", "i": null, "code": "too_many_sockets",
            "message": "同时打开的窗口过多，请关闭其他窗口后重试", "cid": null})]
    );
    assert_eq!(h.closed, vec![over]);
    assert!(!h.state.conns.contains_key(&over));
    assert!(h.last_messages.is_empty() && h.last_audits.is_empty());
    assert_eq!(h.last_dirty, 0);
    assert_eq!(h.stored.messages[&i].len(), stored);
    for conn in 1..=PER_SESSION {
        assert!(h.take(conn).is_empty(), "socket {conn} heard nothing");
    }
    // The same taxpayer on another login is within the caps.
    h.hello_on(10, taxpayer(1), login(2));
    assert!(h.take(10).iter().any(|f| f["t"] == "welcome"));
    // A window of the full login closes: the next one of that login is accepted.
    h.disconnect(2);
    h.hello_on(over + 1, taxpayer(1), login(1));
    assert!(h.take(over + 1).iter().any(|f| f["t"] == "welcome"));
    assert_eq!(h.closed, vec![over]);
    // … and the login is full again.
    h.batch(vec![Step::Connect(over + 2, taxpayer(1), login(1))]);
    assert_eq!(h.take(over + 2)[0]["code"], "too_many_sockets");
    assert_eq!(h.closed, vec![over, over + 2]);
}

#[test]
fn sockets_over_the_person_cap_are_refused_whatever_the_login() {
    let mut h = Sim::new();
    // Taxpayer 1 and agent a1 each on PER_PERSON logins of their own.
    for conn in 1..=PER_PERSON {
        h.hello(conn, taxpayer(1));
        h.hello(100 + conn, agent("a1"));
    }
    h.clear();
    let records = h.stored.records.len();
    for (conn, who) in [(50, taxpayer(1)), (150, agent("a1"))] {
        h.batch(vec![
            Step::Connect(conn, who, login(9)),
            Step::Frame(conn, hello()),
        ]);
        let frames = h.take(conn);
        assert_eq!(frames.len(), 1, "{frames:?}");
        assert_eq!(frames[0]["code"], "too_many_sockets");
        assert!(h.last_messages.is_empty() && h.last_audits.is_empty());
    }
    assert_eq!(h.closed, vec![50, 150]);
    assert_eq!(h.stored.records.len(), records, "no interaction opened");
    // Other people are not affected.
    h.hello(60, taxpayer(2));
    assert!(h.take(60).iter().any(|f| f["t"] == "welcome"));
    h.hello(160, agent("a2"));
    assert!(h.take(160).iter().any(|f| f["t"] == "welcome"));
    // One of taxpayer 1's windows closes: one more may open (on any login), then no more.
    h.disconnect(3);
    h.hello_on(51, taxpayer(1), login(9));
    assert!(h.take(51).iter().any(|f| f["t"] == "welcome"));
    h.batch(vec![Step::Connect(52, taxpayer(1), login(10))]);
    assert_eq!(h.take(52)[0]["code"], "too_many_sockets");
    assert_eq!(h.closed, vec![50, 150, 52]);
}
