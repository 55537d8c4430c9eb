//! The hub's state and its rules, without I/O: the live interactions, the queue and its order,
//! who is connected (agents online, taxpayers watching), the client ids of recent messages (a
//! retry is stored once), the grace timers of taxpayers whose last socket closed, and which
//! frame goes to which socket.
//!
//! Every method gets the time from its caller (`now` for what is stored and shown, an
//! [`Instant`] for the grace timers) and writes what to store and what to send into a
//! [`Batch`]; the loop in `hub.rs` commits the batch and only then delivers its frames. The
//! little the state needs from outside — stored transcripts, the bot's answer, ICE servers —
//! it asks of an [`Outside`]. What each frame does is in `frames.rs`; `hello` and following
//! an interaction from a seq are in `resume.rs`; the flood budgets and socket caps in
//! `limits.rs`.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use serde_json::{json, Value};

use super::limits::{Flood, Person, Rate, Sockets, TOO_MANY_SOCKETS};
use crate::domain::interaction::routing::{self, Fallback};
use crate::domain::interaction::{
    Action, By, ChatMessage, InteractionRecord, Party, Refusal, Stage, Suggestion,
};
use crate::domain::{Actor, Region, WorkingHours};
use crate::service::interact::protocol::{self, Human};
use crate::service::interact::{SessionKey, Subject};

/// Client ids remembered per interaction for de-duplicating retries.
pub(super) const RECENT_CIDS: usize = 256;

/// Client ids of recent messages with the seq each was stored as, oldest first.
pub(super) type Cids = VecDeque<(String, u64)>;

/// What the state asks of the world around it. None of it changes the state.
pub(super) trait Outside {
    /// Interaction `id` as stored, with the client ids of its recent messages; `None` when
    /// there is no such interaction or it cannot be read.
    fn stored(&self, id: u64) -> Option<(InteractionRecord, Cids)>;
    /// The stored messages of interaction `id` after seq `since`, in order (none when they
    /// cannot be read).
    fn messages(&self, id: u64, since: u64) -> Vec<ChatMessage>;
    /// The bot's answer to a taxpayer's message; `None` when it has nothing to say.
    fn bot(&self, text: &str) -> Option<BotReply>;
    /// RTCConfiguration.iceServers for a browser of `subject`.
    fn ice_servers(&self, subject: &Subject) -> Value;
}

/// What the bot answers.
pub(super) struct BotReply {
    pub(super) text: String,
    pub(super) suggest: Vec<Suggestion>,
    /// The FAQ entry the answer comes from.
    pub(super) faq: Option<String>,
}

/// The fixed settings the rules depend on.
pub(super) struct Limits {
    pub(super) hours: WorkingHours,
    /// How long a taxpayer whose last socket closed keeps the interaction.
    pub(super) grace: Duration,
    pub(super) max_message_chars: usize,
    /// Each taxpayer's budget of frames, all their sockets together.
    pub(super) taxpayer_rate: Rate,
    /// Each staff member's.
    pub(super) staff_rate: Rate,
    /// Open sockets per login session, and per person.
    pub(super) sockets_per_session: usize,
    pub(super) sockets_per_person: usize,
    /// Who may take a hand-off when none of its region's agents is online.
    pub(super) fallback: Fallback,
    /// Regions whose taxpayers get no bot.
    pub(super) bot_off: Vec<Region>,
}

/// One socket, as far as the rules go (the loop keeps its channel).
pub(super) struct Conn {
    pub(super) subject: Subject,
    /// Whose budget its frames spend (derived from `subject`).
    pub(super) person: Person,
    /// The login session it was opened with.
    pub(super) session: SessionKey,
    pub(super) address: Option<String>,
    /// The interactions this socket watches.
    pub(super) subs: BTreeSet<u64>,
    pub(super) hello: bool,
}

pub(super) struct Live {
    pub(super) rec: InteractionRecord,
    /// cid → seq of recent client messages.
    pub(super) cids: Cids,
    /// The taxpayer left (no socket) and was told to the agent already.
    pub(super) left_noted: bool,
}

/// An audit entry: who, from where, what, which interaction, detail.
pub(super) type Audit = (Actor, Option<String>, &'static str, u64, String);

/// Changes of one batch, committed together before any frame goes out.
#[derive(Default)]
pub(super) struct Batch {
    /// Interactions to store.
    pub(super) dirty: BTreeSet<u64>,
    pub(super) messages: Vec<(u64, ChatMessage)>,
    pub(super) audits: Vec<Audit>,
    /// Frames to send after the commit, in order: to these sockets, this text.
    pub(super) sends: Vec<(Vec<u64>, Arc<str>)>,
    /// Sockets to close after the frames went out (refused at connect).
    pub(super) closes: Vec<u64>,
}

impl Batch {
    pub(super) fn send(&mut self, to: Vec<u64>, v: Value) {
        if !to.is_empty() {
            self.sends.push((to, Arc::from(v.to_string())));
        }
    }

    /// A refusal to one socket.
    pub(super) fn error(&mut self, conn: u64, i: Option<u64>, code: &str, msg: &str) {
        self.send(vec![conn], protocol::error(i, code, msg, None));
    }
}

/// A message before it gets its seq.
pub(super) fn draft(at: DateTime<FixedOffset>, from: Party, text: String) -> ChatMessage {
    ChatMessage {
        seq: 0,
        at,
        from,
        text,
        cid: None,
        suggest: Vec::new(),
        faq: None,
    }
}

pub(super) fn by_of(s: &Subject) -> By {
    match s {
        Subject::Taxpayer { .. } => By::Taxpayer,
        Subject::Agent { username, .. } => By::Agent(username.clone()),
    }
}

pub(super) fn actor_of(s: &Subject) -> Actor {
    match s {
        Subject::Taxpayer { id, .. } => match crate::domain::TaxpayerId::parse(id) {
            Ok(id) => Actor::Taxpayer { id },
            Err(_) => Actor::System {
                what: format!("taxpayer {id}"),
            },
        },
        Subject::Agent { username, .. } => Actor::Staff {
            username: username.clone(),
        },
    }
}

pub(super) struct State {
    pub(super) limits: Limits,
    pub(super) conns: HashMap<u64, Conn>,
    pub(super) known: HashMap<u64, Live>,
    /// Interactions waiting for an agent, oldest first.
    pub(super) queue: Vec<u64>,
    pub(super) next_id: u64,
    /// (deadline, interaction): a taxpayer's grace after the last socket closed.
    pub(super) timers: BTreeSet<(Instant, u64)>,
    /// Whether 人工导税 was on offer when taxpayers were last told.
    pub(super) hours_available: Option<bool>,
    /// Each person's flood budget (kept a while after their last socket closed).
    pub(super) flood: Flood,
    /// Open sockets per login session and per person.
    pub(super) sockets: Sockets,
    /// The taxpayer's region of each live interaction (routes its hand-off).
    pub(super) regions: HashMap<u64, Option<Region>>,
    /// The agents online (user names) when the queue was last sent to them.
    pub(super) routed_for: Vec<String>,
}

impl State {
    /// The state after a start: the open interactions as stored (nobody is connected, so
    /// every one gets the grace from `at`), the queue in the order they were queued.
    pub(super) fn new(
        limits: Limits,
        open: Vec<(InteractionRecord, Cids)>,
        next_id: u64,
        at: Instant,
    ) -> State {
        let flood = Flood::new(limits.taxpayer_rate, limits.staff_rate);
        let sockets = Sockets::new(limits.sockets_per_session, limits.sockets_per_person);
        let mut s = State {
            limits,
            conns: HashMap::new(),
            known: HashMap::new(),
            queue: Vec::new(),
            next_id,
            timers: BTreeSet::new(),
            hours_available: None,
            flood,
            sockets,
            regions: HashMap::new(),
            routed_for: Vec::new(),
        };
        let mut queued: Vec<(DateTime<FixedOffset>, u64)> = Vec::new();
        for (rec, cids) in open {
            if rec.state.stage == Stage::Queued {
                queued.push((rec.state.queued_at.unwrap_or(rec.state.opened_at), rec.id));
            }
            s.timers.insert((at + s.limits.grace, rec.id));
            s.known.insert(
                rec.id,
                Live {
                    rec,
                    cids,
                    left_noted: false,
                },
            );
        }
        queued.sort();
        s.queue = queued.into_iter().map(|(_, id)| id).collect();
        s
    }

    /// Takes the interactions, the queue and the timers of `fresh` (reloaded from the store).
    pub(super) fn restore(&mut self, fresh: State) {
        self.known = fresh.known;
        self.queue = fresh.queue;
        self.next_id = fresh.next_id;
        self.timers = fresh.timers;
        self.regions = fresh.regions;
    }

    /// Forgets every socket (the loop closes them); the budgets stay.
    pub(super) fn drop_connections(&mut self) {
        self.conns.clear();
        self.sockets.clear();
    }

    /// A socket of `subject` opened with login `session`. Over a cap (sockets per session,
    /// per person) it is refused — told why, then closed by the loop — and nothing else
    /// changes: it is not counted and its frames are ignored.
    pub(super) fn connect(
        &mut self,
        conn: u64,
        subject: Subject,
        session: SessionKey,
        address: Option<String>,
        b: &mut Batch,
    ) {
        let person = Person::of(&subject);
        if !self.sockets.admit(&session, &person) {
            b.send(
                vec![conn],
                protocol::error(None, "too_many_sockets", TOO_MANY_SOCKETS, None),
            );
            b.closes.push(conn);
            return;
        }
        self.conns.insert(
            conn,
            Conn {
                subject,
                person,
                session,
                address,
                subs: BTreeSet::new(),
                hello: false,
            },
        );
    }

    /// A socket closed at `at`: a taxpayer with no other socket on an open interaction gets
    /// the grace to come back.
    pub(super) fn disconnect(&mut self, conn: u64, at: Instant) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        self.sockets.release(&c.session, &c.person);
        if let Subject::Taxpayer { .. } = c.subject {
            for id in c.subs {
                let open = self
                    .known
                    .get(&id)
                    .is_some_and(|l| !l.rec.state.stage.is_closed());
                if !self.taxpayer_watching(id) && open {
                    self.timers.insert((at + self.limits.grace, id));
                }
            }
        }
    }

    /// Forgets the flood budgets of people gone whose bucket is full again at `at`.
    pub(super) fn forget_idle_budgets(&mut self, at: Instant) {
        let sockets = &self.sockets;
        self.flood.forget_idle(|p| sockets.holds(p), at);
    }

    /// The earliest grace deadline.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.timers.first().map(|(t, _)| *t)
    }

    /// The record of a live interaction (for the commit).
    pub(super) fn record(&self, id: u64) -> Option<&InteractionRecord> {
        self.known.get(&id).map(|l| &l.rec)
    }

    /// Agents online: distinct user names with a socket.
    pub(super) fn agents_online(&self) -> usize {
        self.conns
            .values()
            .filter_map(|c| match &c.subject {
                Subject::Agent { username, .. } => Some(username.as_str()),
                _ => None,
            })
            .collect::<HashSet<_>>()
            .len()
    }

    /// Each agent online (by user name, in name order) with the regions they serve.
    pub(super) fn online_agents(&self) -> Vec<(&str, &[Region])> {
        let mut seen: std::collections::BTreeMap<&str, &[Region]> = Default::default();
        for c in self.conns.values() {
            if let Subject::Agent {
                username, regions, ..
            } = &c.subject
            {
                seen.entry(username.as_str()).or_insert(regions.as_slice());
            }
        }
        seen.into_iter().collect()
    }

    /// The region of interaction `id`'s taxpayer (`None`: not known).
    pub(super) fn region_of(&self, id: u64) -> Option<Region> {
        self.regions.get(&id).copied().flatten()
    }

    /// Whether the bot answers interaction `id`'s taxpayer.
    pub(super) fn bot_on(&self, id: u64) -> bool {
        routing::bot_on(&self.limits.bot_off, self.region_of(id))
    }

    /// Whether agent `username` may take interaction `id` from the queue now, `online` being
    /// [`Self::online_agents`]: one of the agents serving its region, or — none of them
    /// online — as the fallback says.
    pub(super) fn may_take_among(
        &self,
        online: &[(&str, &[Region])],
        id: u64,
        username: &str,
    ) -> bool {
        routing::who_may_take(self.region_of(id), online, self.limits.fallback).contains(&username)
    }

    /// Whether 发起人工导税 can be offered at `now`: inside the hours and an agent online.
    pub(super) fn human(&self, now: DateTime<FixedOffset>) -> Human {
        let hours = &self.limits.hours;
        if !hours.is_open(now) {
            let next = hours.next_open(now);
            let when = next
                .map(|t| format!("，下次可于 {} 发起", t.format("%-m月%-d日 %H:%M")))
                .unwrap_or_default();
            return Human {
                available: false,
                reason: format!(
                    "当前不在人工服务时间内（人工服务时间：{}）{when}",
                    hours.describe_zh()
                ),
                next,
            };
        }
        if self.agents_online() == 0 {
            return Human {
                available: false,
                reason: Refusal::NoAgentOnline.to_string(),
                next: None,
            };
        }
        Human {
            available: true,
            reason: String::new(),
            next: None,
        }
    }

    /// After a batch's commands: when the number of agents online or the hours changed what
    /// is on offer, the agents get the count and the taxpayers with the bot their state
    /// (with `human`). `agents_before` is [`Self::agents_online`] before the batch.
    pub(super) fn announce(
        &mut self,
        now: DateTime<FixedOffset>,
        agents_before: usize,
        b: &mut Batch,
    ) {
        let agents_after = self.agents_online();
        let online: Vec<String> = self
            .online_agents()
            .into_iter()
            .map(|(u, _)| u.to_string())
            .collect();
        if online != self.routed_for {
            // Who may take what depends on who is online (the fallback).
            self.routed_for = online;
            if !self.queue.is_empty() {
                self.push_queue(now, b);
            }
        }
        let available = self.human(now).available;
        if agents_before != agents_after || self.hours_available != Some(available) {
            self.hours_available = Some(available);
            let n = json!({"t": "agents", "online": agents_after});
            b.send(self.agent_conns(), n);
            // Tell the taxpayers still with the bot whether 人工导税 is on offer now.
            let bot_ids: Vec<u64> = self
                .known
                .values()
                .filter(|l| l.rec.state.stage == Stage::Bot)
                .map(|l| l.rec.id)
                .collect();
            for id in bot_ids {
                self.push_state(now, id, b);
            }
        }
    }

    /// After the commit: forgets closed interactions nobody watches any more.
    pub(super) fn forget_unwatched(&mut self) {
        let watched: HashSet<u64> = self
            .conns
            .values()
            .flat_map(|c| c.subs.iter().copied())
            .collect();
        self.known
            .retain(|id, l| !l.rec.state.stage.is_closed() || watched.contains(id));
        let known = &self.known;
        self.regions.retain(|id, _| known.contains_key(id));
    }

    /// Sockets of agents who said hello.
    pub(super) fn agent_conns(&self) -> Vec<u64> {
        self.conns
            .iter()
            .filter(|(_, c)| c.hello && matches!(c.subject, Subject::Agent { .. }))
            .map(|(id, _)| *id)
            .collect()
    }

    /// Sockets watching interaction `id`.
    pub(super) fn watchers(&self, id: u64) -> Vec<u64> {
        self.conns
            .iter()
            .filter(|(_, c)| c.subs.contains(&id))
            .map(|(k, _)| *k)
            .collect()
    }

    /// Whether a taxpayer's socket watches interaction `id`.
    fn taxpayer_watching(&self, id: u64) -> bool {
        self.watchers(id).into_iter().any(|k| {
            self.conns
                .get(&k)
                .is_some_and(|x| matches!(x.subject, Subject::Taxpayer { .. }))
        })
    }

    /// 1-based place in the queue.
    pub(super) fn position(&self, id: u64) -> Option<usize> {
        self.queue.iter().position(|x| *x == id).map(|p| p + 1)
    }

    pub(super) fn state_json(&self, now: DateTime<FixedOffset>, id: u64) -> Option<Value> {
        let l = self.known.get(&id)?;
        Some(protocol::state(&l.rec, self.position(id), &self.human(now)))
    }

    /// `id`'s state to everyone watching it.
    pub(super) fn push_state(&self, now: DateTime<FixedOffset>, id: u64, b: &mut Batch) {
        if let Some(v) = self.state_json(now, id) {
            b.send(self.watchers(id), v);
        }
    }

    /// The queue changed: to each agent the part of the queue they may take, the new
    /// positions to everyone waiting in it.
    pub(super) fn push_queue(&self, now: DateTime<FixedOffset>, b: &mut Batch) {
        let mut by_agent: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
        for k in self.agent_conns() {
            if let Some(Subject::Agent { username, .. }) = self.conns.get(&k).map(|c| &c.subject) {
                by_agent.entry(username.clone()).or_default().push(k);
            }
        }
        for (username, conns) in by_agent {
            let items = self.queue_items(now, &username);
            b.send(conns, json!({"t": "queue", "items": items}));
        }
        for id in self.queue.clone() {
            self.push_state(now, id, b);
        }
    }

    /// The interactions of the queue agent `username` may take, oldest first.
    pub(super) fn queue_items(&self, now: DateTime<FixedOffset>, username: &str) -> Vec<Value> {
        let online = self.online_agents();
        self.queue
            .iter()
            .filter(|id| self.may_take_among(&online, **id, username))
            .filter_map(|id| self.known.get(id))
            .map(|l| {
                let at = l.rec.state.queued_at.unwrap_or(l.rec.state.opened_at);
                json!({
                    "i": l.rec.id,
                    "taxpayer": {"id": l.rec.taxpayer, "name": l.rec.taxpayer_name},
                    "region": self.region_of(l.rec.id).map(|r| r.code()),
                    "queued_at": at.to_rfc3339(),
                    "waiting_secs": (now - at).num_seconds().max(0),
                })
            })
            .collect()
    }

    /// Appends a message to `id`'s transcript (stored with this batch, with the next seq)
    /// and sends it to the watchers after the commit.
    pub(super) fn post(&mut self, b: &mut Batch, id: u64, mut m: ChatMessage) {
        let to = self.watchers(id);
        let Some(l) = self.known.get_mut(&id) else {
            return;
        };
        l.rec.last_seq += 1;
        m.seq = l.rec.last_seq;
        if let Some(c) = &m.cid {
            l.cids.push_back((c.clone(), m.seq));
            if l.cids.len() > RECENT_CIDS {
                l.cids.pop_front();
            }
        }
        b.dirty.insert(id);
        b.send(to, protocol::message(id, &m, &l.rec.taxpayer_name));
        b.messages.push((id, m));
    }

    pub(super) fn system(
        &mut self,
        b: &mut Batch,
        id: u64,
        now: DateTime<FixedOffset>,
        text: String,
    ) {
        self.post(b, id, draft(now, Party::System, text));
    }

    /// The seq a message with client id `cid` was stored as in interaction `id`, when it is
    /// one of the recent ones (a retry).
    pub(super) fn stored_cid(&self, id: u64, cid: &str) -> Option<u64> {
        let l = self.known.get(&id)?;
        l.cids.iter().find(|(x, _)| x == cid).map(|(_, seq)| *seq)
    }

    /// Taxpayers who did not come back within the grace (deadlines up to `at`): with the bot
    /// or in the queue the interaction is cancelled; with an agent, the agent is told.
    pub(super) fn expire(&mut self, now: DateTime<FixedOffset>, at: Instant, b: &mut Batch) {
        let due: Vec<(Instant, u64)> = self
            .timers
            .iter()
            .take_while(|(t, _)| *t <= at)
            .copied()
            .collect();
        for key in due {
            self.timers.remove(&key);
            let id = key.1;
            let back = self.taxpayer_watching(id);
            let Some(l) = self.known.get_mut(&id) else {
                continue;
            };
            if back || l.rec.state.stage.is_closed() {
                continue;
            }
            match l.rec.state.stage {
                Stage::Assigned => {
                    if !l.left_noted {
                        l.left_noted = true;
                        self.system(b, id, now, "纳税人已离开".into());
                    }
                }
                stage => {
                    if let Ok((next, _)) = l.rec.state.apply(&By::System, &Action::Cancel, now) {
                        l.rec.state = next;
                        b.dirty.insert(id);
                        b.audits.push((
                            Actor::System {
                                what: "interaction".into(),
                            },
                            None,
                            "interaction.cancel",
                            id,
                            "纳税人离开".into(),
                        ));
                        self.system(b, id, now, "纳税人已离开，本次征纳互动已结束".into());
                        if stage == Stage::Queued {
                            self.queue.retain(|x| *x != id);
                            self.push_queue(now, b);
                        }
                        self.push_state(now, id, b);
                    }
                }
            }
        }
    }
}
