//! The hub's rules without the store, the sockets or the clock: each test drives a [`State`]
//! the way the loop does (commands of a batch, the grace timers, the "who is online" notice,
//! the commit) and looks at what was stored and which socket got which frame.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use serde_json::{json, Value};

use super::state::{Batch, BotReply, Cids, Limits, Outside, State};
use crate::domain::interaction::{ChatMessage, Interaction, InteractionRecord, Party, Stage};
use crate::domain::WorkingHours;
use crate::service::interact::{In, Subject};

const GRACE: u64 = 30;

/// The store as the state reads it: what the earlier batches committed.
#[derive(Default)]
struct Stored {
    records: HashMap<u64, InteractionRecord>,
    messages: HashMap<u64, Vec<ChatMessage>>,
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
    Connect(u64, Subject),
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
}

fn limits() -> Limits {
    Limits {
        hours: WorkingHours::always(),
        grace: Duration::from_secs(GRACE),
        max_message_chars: 2000,
    }
}

fn start() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2024-11-25T10:00:00+08:00").unwrap()
}

fn taxpayer(n: u32) -> Subject {
    Subject::Taxpayer {
        id: format!("tp{n}"),
        name: format!("纳税人{n}"),
    }
}

fn agent(username: &str) -> Subject {
    Subject::Agent {
        username: username.into(),
        name: format!("坐席{username}"),
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
                Step::Connect(conn, subject) => self.state.connect(conn, subject, None),
                Step::Frame(conn, f) => self.state.frame(&self.stored, now, conn, f, &mut b),
                Step::Disconnect(conn) => self.state.disconnect(conn, at),
            }
        }
        self.state.expire(now, at, &mut b);
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
                if self.state.conns.contains_key(c) {
                    self.inbox.entry(*c).or_default().push(v.clone());
                }
            }
        }
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

    /// A socket connects and says hello with nothing to resume.
    fn hello(&mut self, conn: u64, subject: Subject) {
        self.batch(vec![
            Step::Connect(conn, subject),
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
