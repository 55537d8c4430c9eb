//! The hub thread: the only writer of interactions. See the module above for the design.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use serde_json::{json, Value};

use super::protocol::{self, Human, In};
use super::{Cmd, Subject};
use crate::domain::interaction::{
    Action, By, ChatMessage, Effect, Interaction, InteractionRecord, Party, Refusal, Stage,
    Suggestion,
};
use crate::domain::Actor;
use crate::error::AppResult;
use crate::service::interact::bot::{FaqBot, Reply, SUGGEST_PROMPT};
use crate::service::App;

/// What a socket's writer task receives.
#[derive(Debug, Clone)]
pub enum Out {
    Text(Arc<str>),
    /// The hub is done with this socket (e.g. refused at `hello`).
    Close,
}

/// Most commands committed together.
const BATCH: usize = 512;
/// Client ids remembered per interaction for de-duplicating retries.
const RECENT_CIDS: usize = 256;
/// Longest rating comment, in characters.
const MAX_COMMENT: usize = 500;

struct Conn {
    subject: Subject,
    address: Option<String>,
    out: tokio::sync::mpsc::UnboundedSender<Out>,
    subs: BTreeSet<u64>,
    hello: bool,
}

struct Live {
    rec: InteractionRecord,
    /// cid → seq of recent client messages.
    cids: VecDeque<(String, u64)>,
    /// The taxpayer left (no socket) and was told to the agent already.
    left_noted: bool,
}

/// Changes of one batch, committed together before any frame goes out.
#[derive(Default)]
struct Batch {
    dirty: BTreeSet<u64>,
    messages: Vec<(u64, ChatMessage)>,
    audits: Vec<(Actor, Option<String>, &'static str, u64, String)>,
    sends: Vec<(Vec<u64>, Arc<str>)>,
}

impl Batch {
    fn send(&mut self, to: Vec<u64>, v: Value) {
        if !to.is_empty() {
            self.sends.push((to, Arc::from(v.to_string())));
        }
    }
}

pub(super) struct Hub {
    conns: HashMap<u64, Conn>,
    known: HashMap<u64, Live>,
    queue: Vec<u64>,
    next_id: u64,
    /// (deadline, interaction): a taxpayer's grace after the last socket closed.
    timers: BTreeSet<(Instant, u64)>,
    bot: Arc<FaqBot>,
    hours_available: Option<bool>,
}

/// The client ids of an interaction's last messages, read back from the store (so a retry
/// after a restart is still recognised).
fn recent_cids(
    r: &crate::store::Reader,
    rec: &InteractionRecord,
) -> AppResult<VecDeque<(String, u64)>> {
    let from = rec.last_seq.saturating_sub(RECENT_CIDS as u64);
    Ok(r.chat_messages(rec.id, from)?
        .into_iter()
        .filter_map(|m| m.cid.map(|c| (c, m.seq)))
        .collect())
}

/// A message before it gets its seq.
fn draft(at: DateTime<FixedOffset>, from: Party, text: String) -> ChatMessage {
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

fn by_of(s: &Subject) -> By {
    match s {
        Subject::Taxpayer { .. } => By::Taxpayer,
        Subject::Agent { username, .. } => By::Agent(username.clone()),
    }
}

fn actor_of(s: &Subject) -> Actor {
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

impl Hub {
    pub(super) fn load(app: &App, bot: Arc<FaqBot>) -> AppResult<Hub> {
        let r = app.store.read()?;
        let open = r.open_interactions()?;
        let next_id = r.last_interaction_id()? + 1;
        let mut hub = Hub {
            conns: HashMap::new(),
            known: HashMap::new(),
            queue: Vec::new(),
            next_id,
            timers: BTreeSet::new(),
            bot,
            hours_available: None,
        };
        let grace = Duration::from_secs(app.settings.interaction.grace_secs);
        let mut queued: Vec<(DateTime<FixedOffset>, u64)> = Vec::new();
        for rec in open {
            if rec.state.stage == Stage::Queued {
                queued.push((rec.state.queued_at.unwrap_or(rec.state.opened_at), rec.id));
            }
            // Nobody is connected after a restart: everyone gets the grace to come back.
            hub.timers.insert((Instant::now() + grace, rec.id));
            let cids = recent_cids(&r, &rec)?;
            hub.known.insert(
                rec.id,
                Live {
                    rec,
                    cids,
                    left_noted: false,
                },
            );
        }
        queued.sort();
        hub.queue = queued.into_iter().map(|(_, id)| id).collect();
        Ok(hub)
    }

    pub(super) fn run(mut self, app: Weak<App>, rx: Receiver<Cmd>) {
        loop {
            let wait = self
                .timers
                .first()
                .map(|(t, _)| t.saturating_duration_since(Instant::now()))
                .unwrap_or(Duration::from_secs(1))
                .min(Duration::from_secs(1));
            let first = match rx.recv_timeout(wait) {
                Ok(c) => Some(c),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let Some(app) = app.upgrade() else { return };
            let mut cmds: Vec<Cmd> = first.into_iter().collect();
            while cmds.len() < BATCH {
                match rx.try_recv() {
                    Ok(c) => cmds.push(c),
                    Err(_) => break,
                }
            }
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.batch(&app, cmds);
            }));
            if outcome.is_err() {
                // A bug must not take 征纳互动 down: nothing of the batch was stored (the commit
                // is the batch's last step), so start again from the store and let the clients
                // reconnect and resume.
                tracing::error!("the interaction hub recovered from a panic");
                self.reset(&app);
            }
        }
    }

    /// Drops everything in memory, reloads the open interactions from the store and closes
    /// every socket (the clients reconnect and resume from their last seq).
    fn reset(&mut self, app: &Arc<App>) {
        if let Ok(fresh) = Hub::load(app, self.bot.clone()) {
            self.known = fresh.known;
            self.queue = fresh.queue;
            self.next_id = fresh.next_id;
            self.timers = fresh.timers;
        }
        for c in self.conns.values_mut() {
            c.subs.clear();
            c.hello = false;
            let _ = c.out.send(Out::Close);
        }
        self.conns.clear();
    }

    fn human(&self, app: &App, now: DateTime<FixedOffset>) -> Human {
        let hours = app.interact.hours();
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

    fn agents_online(&self) -> usize {
        self.conns
            .values()
            .filter_map(|c| match &c.subject {
                Subject::Agent { username, .. } => Some(username.as_str()),
                _ => None,
            })
            .collect::<HashSet<_>>()
            .len()
    }

    fn batch(&mut self, app: &Arc<App>, cmds: Vec<Cmd>) {
        let now = app.clock.now();
        let mut b = Batch::default();
        let agents_before = self.agents_online();
        for cmd in cmds {
            match cmd {
                Cmd::Connect {
                    conn,
                    subject,
                    address,
                    out,
                } => {
                    self.conns.insert(
                        conn,
                        Conn {
                            subject,
                            address,
                            out,
                            subs: BTreeSet::new(),
                            hello: false,
                        },
                    );
                }
                Cmd::Frame { conn, frame } => self.frame(app, now, conn, frame, &mut b),
                Cmd::Disconnect { conn } => self.disconnect(app, conn),
                Cmd::Faq(bot) => self.bot = bot,
            }
        }
        self.expire(app, now, &mut b);
        let agents_after = self.agents_online();
        let available = self.human(app, now).available;
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
                self.push_state(app, now, id, &mut b);
            }
        }
        self.commit(app, b);
    }

    fn commit(&mut self, app: &Arc<App>, b: Batch) {
        if !b.dirty.is_empty() || !b.messages.is_empty() {
            let who = app.system("interaction");
            let result = app.store.write_log(&who, |tx| {
                for id in &b.dirty {
                    if let Some(l) = self.known.get(id) {
                        tx.put_interaction(&l.rec)?;
                    }
                }
                for (id, m) in &b.messages {
                    tx.put_chat_message(*id, m)?;
                }
                for (actor, address, action, id, detail) in &b.audits {
                    tx.audit_as(actor.clone(), address.clone(), action, id, detail.clone());
                }
                Ok(())
            });
            if let Err(e) = result {
                // Nothing of this batch is stored: forget it, tell the senders, start again
                // from what is stored.
                tracing::error!(error = %e, "interaction batch not stored");
                let to: Vec<u64> = b.sends.iter().flat_map(|(c, _)| c.clone()).collect();
                let err = protocol::error(None, "store_failed", "保存失败，请稍后重试", None);
                let text: Arc<str> = Arc::from(err.to_string());
                for c in to.into_iter().collect::<BTreeSet<_>>() {
                    if let Some(conn) = self.conns.get(&c) {
                        let _ = conn.out.send(Out::Text(text.clone()));
                    }
                }
                self.reset(app);
                return;
            }
        }
        for (to, text) in b.sends {
            for c in to {
                if let Some(conn) = self.conns.get(&c) {
                    let _ = conn.out.send(Out::Text(text.clone()));
                }
            }
        }
        // Forget closed interactions nobody watches any more.
        let watched: HashSet<u64> = self
            .conns
            .values()
            .flat_map(|c| c.subs.iter().copied())
            .collect();
        self.known
            .retain(|id, l| !l.rec.state.stage.is_closed() || watched.contains(id));
    }

    fn agent_conns(&self) -> Vec<u64> {
        self.conns
            .iter()
            .filter(|(_, c)| c.hello && matches!(c.subject, Subject::Agent { .. }))
            .map(|(id, _)| *id)
            .collect()
    }

    /// Sockets watching interaction `id`.
    fn watchers(&self, id: u64) -> Vec<u64> {
        self.conns
            .iter()
            .filter(|(_, c)| c.subs.contains(&id))
            .map(|(k, _)| *k)
            .collect()
    }

    fn error(&self, b: &mut Batch, conn: u64, i: Option<u64>, code: &str, msg: &str) {
        b.send(vec![conn], protocol::error(i, code, msg, None));
    }

    fn position(&self, id: u64) -> Option<usize> {
        self.queue.iter().position(|x| *x == id).map(|p| p + 1)
    }

    fn state_json(&self, app: &App, now: DateTime<FixedOffset>, id: u64) -> Option<Value> {
        let l = self.known.get(&id)?;
        Some(protocol::state(
            &l.rec,
            self.position(id),
            &self.human(app, now),
        ))
    }

    fn push_state(&self, app: &App, now: DateTime<FixedOffset>, id: u64, b: &mut Batch) {
        if let Some(v) = self.state_json(app, now, id) {
            b.send(self.watchers(id), v);
        }
    }

    fn push_queue(&self, app: &App, now: DateTime<FixedOffset>, b: &mut Batch) {
        let items = self.queue_items(now);
        b.send(self.agent_conns(), json!({"t": "queue", "items": items}));
        for id in self.queue.clone() {
            self.push_state(app, now, id, b);
        }
    }

    /// Appends a message to `id`'s transcript (stored with this batch, with the next seq)
    /// and sends it to the watchers after the commit.
    fn post(&mut self, b: &mut Batch, id: u64, mut m: ChatMessage) {
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

    fn system(&mut self, b: &mut Batch, id: u64, now: DateTime<FixedOffset>, text: String) {
        self.post(b, id, draft(now, Party::System, text));
    }

    /// Loads a closed interaction from the store when it is not in memory.
    fn ensure(&mut self, app: &App, id: u64) -> bool {
        if self.known.contains_key(&id) {
            return true;
        }
        let loaded = app.store.read().and_then(|r| {
            let Some(rec) = r.interaction(id)? else {
                return Ok(None);
            };
            let cids = recent_cids(&r, &rec)?;
            Ok(Some((rec, cids)))
        });
        match loaded {
            Ok(Some((rec, cids))) => {
                self.known.insert(
                    id,
                    Live {
                        rec,
                        cids,
                        left_noted: false,
                    },
                );
                true
            }
            _ => false,
        }
    }

    /// Subscribes `conn` to `id` and sends what it missed after `since`, then the state.
    fn subscribe(
        &mut self,
        app: &App,
        now: DateTime<FixedOffset>,
        conn: u64,
        id: u64,
        since: u64,
        b: &mut Batch,
    ) {
        let Some(l) = self.known.get(&id) else { return };
        let name = l.rec.taxpayer_name.clone();
        // Stored messages, then those of this batch not yet stored.
        let mut missed = app
            .store
            .read()
            .and_then(|r| r.chat_messages(id, since))
            .unwrap_or_default();
        let stored_up_to = missed.last().map(|m| m.seq).unwrap_or(since);
        missed.extend(
            b.messages
                .iter()
                .filter(|(i, m)| *i == id && m.seq > stored_up_to.max(since))
                .map(|(_, m)| m.clone()),
        );
        for m in &missed {
            b.send(vec![conn], protocol::message(id, m, &name));
        }
        if let Some(c) = self.conns.get_mut(&conn) {
            c.subs.insert(id);
        }
        if let Some(v) = self.state_json(app, now, id) {
            b.send(vec![conn], v);
        }
        // A taxpayer is back within the grace: forget the timer.
        if matches!(
            self.conns.get(&conn).map(|c| &c.subject),
            Some(Subject::Taxpayer { .. })
        ) {
            self.timers.retain(|(_, i)| *i != id);
            if let Some(l) = self.known.get_mut(&id) {
                l.left_noted = false;
            }
        }
    }

    fn open_interaction(
        &mut self,
        app: &App,
        now: DateTime<FixedOffset>,
        conn: u64,
        id: &str,
        name: &str,
        b: &mut Batch,
    ) -> Option<u64> {
        let iid = self.next_id;
        self.next_id += 1;
        let rec = InteractionRecord {
            id: iid,
            taxpayer: id.to_string(),
            taxpayer_name: name.to_string(),
            state: Interaction::open(now),
            agent_name: None,
            last_seq: 0,
            comment: None,
        };
        self.known.insert(
            iid,
            Live {
                rec,
                cids: VecDeque::new(),
                left_noted: false,
            },
        );
        if let Some(c) = self.conns.get_mut(&conn) {
            c.subs.insert(iid);
            let actor = actor_of(&c.subject);
            b.audits.push((
                actor,
                c.address.clone(),
                "interaction.open",
                iid,
                String::new(),
            ));
        }
        b.dirty.insert(iid);
        let hours = app.interact.hours().describe_zh();
        self.post(
            b,
            iid,
            draft(now, Party::Bot, format!(
                "您好！我是征纳互动智能服务。请输入您想咨询的问题，例如“如何勾选发票”“忘记平台密码怎么办”。\
                 如需人工服务，请点击【发起人工导税】（人工服务时间：{hours}）。"
            )),
        );
        self.push_state(app, now, iid, b);
        Some(iid)
    }

    fn hello(
        &mut self,
        app: &App,
        now: DateTime<FixedOffset>,
        conn: u64,
        since: std::collections::BTreeMap<String, u64>,
        b: &mut Batch,
    ) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.hello {
            self.error(b, conn, None, "bad_frame", "重复的 hello");
            return;
        }
        c.hello = true;
        let subject = c.subject.clone();
        let (role, name) = match &subject {
            Subject::Taxpayer { name, .. } => ("taxpayer", name.clone()),
            Subject::Agent { name, .. } => ("agent", name.clone()),
        };
        b.send(
            vec![conn],
            json!({
                "t": "welcome",
                "role": role,
                "name": name,
                "ice_servers": app.interact.ice_servers(&subject, app.clock.wall().timestamp()),
                "hours": app.interact.hours().describe_zh(),
                "human": self.human(app, now).json(),
            }),
        );
        let mut asked: Vec<(u64, u64)> = Vec::new();
        for (k, v) in since {
            match k.parse::<u64>() {
                Ok(id) => asked.push((id, v)),
                Err(_) => {
                    self.error(b, conn, None, "bad_frame", "since 中的互动编号不正确");
                }
            }
        }
        match &subject {
            Subject::Taxpayer { id: tp, name } => {
                let open = self
                    .known
                    .values()
                    .find(|l| &l.rec.taxpayer == tp && !l.rec.state.stage.is_closed())
                    .map(|l| l.rec.id);
                for (id, seq) in &asked {
                    if Some(*id) == open {
                        continue;
                    }
                    if !self.ensure(app, *id)
                        || self.known.get(id).is_none_or(|l| &l.rec.taxpayer != tp)
                    {
                        self.error(b, conn, Some(*id), "not_yours", "该征纳互动不存在");
                        continue;
                    }
                    self.subscribe(app, now, conn, *id, *seq, b);
                }
                match open {
                    Some(id) => {
                        let seq = asked.iter().find(|(i, _)| *i == id).map(|(_, s)| *s);
                        self.subscribe(app, now, conn, id, seq.unwrap_or(0), b);
                    }
                    None if asked.is_empty() => {
                        let (tp, name) = (tp.clone(), name.clone());
                        self.open_interaction(app, now, conn, &tp, &name, b);
                    }
                    None => {}
                }
            }
            Subject::Agent { username, .. } => {
                let mine: Vec<u64> = self
                    .known
                    .values()
                    .filter(|l| {
                        l.rec.state.agent.as_deref() == Some(username)
                            && !l.rec.state.stage.is_closed()
                    })
                    .map(|l| l.rec.id)
                    .collect();
                for id in mine {
                    let seq = asked.iter().find(|(i, _)| *i == id).map(|(_, s)| *s);
                    self.subscribe(app, now, conn, id, seq.unwrap_or(0), b);
                }
                for (id, seq) in &asked {
                    if self.conns.get(&conn).is_some_and(|c| c.subs.contains(id)) {
                        continue;
                    }
                    if !self.ensure(app, *id)
                        || self
                            .known
                            .get(id)
                            .is_none_or(|l| l.rec.state.agent.as_deref() != Some(username.as_str()))
                    {
                        self.error(b, conn, Some(*id), "not_yours", "该征纳互动不由您接待");
                        continue;
                    }
                    self.subscribe(app, now, conn, *id, *seq, b);
                }
                let conn_only = vec![conn];
                let items = self.queue_items(now);
                b.send(conn_only, json!({"t": "queue", "items": items}));
            }
        }
    }

    fn queue_items(&self, now: DateTime<FixedOffset>) -> Vec<Value> {
        self.queue
            .iter()
            .filter_map(|id| self.known.get(id))
            .map(|l| {
                let at = l.rec.state.queued_at.unwrap_or(l.rec.state.opened_at);
                json!({
                    "i": l.rec.id,
                    "taxpayer": {"id": l.rec.taxpayer, "name": l.rec.taxpayer_name},
                    "queued_at": at.to_rfc3339(),
                    "waiting_secs": (now - at).num_seconds().max(0),
                })
            })
            .collect()
    }

    /// Runs `action` on `id` for the socket's subject; `Err` has been told to the socket.
    fn act(
        &mut self,
        app: &App,
        now: DateTime<FixedOffset>,
        conn: u64,
        id: u64,
        action: Action,
        b: &mut Batch,
    ) -> Option<(Effect, Stage)> {
        let subject = self.conns.get(&conn)?.subject.clone();
        let by = by_of(&subject);
        // A closed interaction nobody watched any more is read back from the store.
        self.ensure(app, id);
        let Some(l) = self.known.get_mut(&id) else {
            self.error(b, conn, Some(id), "unknown_interaction", "该征纳互动不存在");
            return None;
        };
        if let Subject::Taxpayer { id: tp, .. } = &subject {
            if &l.rec.taxpayer != tp {
                self.error(b, conn, Some(id), "not_yours", "该征纳互动不存在");
                return None;
            }
        }
        let before = l.rec.state.stage;
        match l.rec.state.apply(&by, &action, now) {
            Ok((next, effect)) => {
                l.rec.state = next;
                b.dirty.insert(id);
                Some((effect, before))
            }
            Err(r) => {
                self.error(b, conn, Some(id), r.code(), &r.to_string());
                None
            }
        }
    }

    fn audit(&self, b: &mut Batch, conn: u64, action: &'static str, id: u64, detail: String) {
        if let Some(c) = self.conns.get(&conn) {
            b.audits
                .push((actor_of(&c.subject), c.address.clone(), action, id, detail));
        }
    }

    fn frame(
        &mut self,
        app: &Arc<App>,
        now: DateTime<FixedOffset>,
        conn: u64,
        f: In,
        b: &mut Batch,
    ) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        if !c.hello && !matches!(f, In::Hello { .. } | In::Ping {}) {
            self.error(b, conn, None, "bad_frame", "请先发送 hello");
            return;
        }
        let is_agent = matches!(c.subject, Subject::Agent { .. });
        match f {
            In::Ping {} => b.send(vec![conn], json!({"t": "pong"})),
            In::Hello { since } => self.hello(app, now, conn, since, b),
            In::Say { i, text, cid } => self.say(app, now, conn, i, text, cid, b),
            In::Human { i } => {
                let h = self.human(app, now);
                let action = Action::RequestHuman {
                    in_hours: app.interact.hours().is_open(now),
                    agent_online: self.agents_online() > 0,
                };
                let Some(l) = self.known.get(&i) else {
                    self.error(b, conn, Some(i), "unknown_interaction", "该征纳互动不存在");
                    return;
                };
                if l.rec.state.stage == Stage::Bot && !h.available {
                    // The refusal says why and when.
                    let code = if app.interact.hours().is_open(now) {
                        Refusal::NoAgentOnline.code()
                    } else {
                        Refusal::OutsideHours.code()
                    };
                    self.error(b, conn, Some(i), code, &h.reason);
                    return;
                }
                if self.act(app, now, conn, i, action, b).is_some() {
                    self.queue.push(i);
                    let pos = self.queue.len();
                    self.system(
                        b,
                        i,
                        now,
                        format!("已为您发起人工导税，正在转接税务工作人员，当前排队第 {pos} 位，请稍候。"),
                    );
                    self.audit(b, conn, "interaction.queue", i, String::new());
                    self.push_queue(app, now, b);
                }
            }
            In::Cancel { i } | In::Close { i } if !is_agent => {
                let closing = matches!(f, In::Close { .. });
                let action = if closing {
                    Action::Close
                } else {
                    Action::Cancel
                };
                if let Some((_, before)) = self.act(app, now, conn, i, action, b) {
                    self.queue.retain(|x| *x != i);
                    let (text, audit) = match (before, closing) {
                        (Stage::Assigned, _) => (
                            "纳税人已关闭窗口，本次征纳互动结束（未发起评价）".to_string(),
                            "interaction.close",
                        ),
                        (_, true) => (
                            "纳税人已关闭窗口，本次征纳互动已取消".to_string(),
                            "interaction.close",
                        ),
                        _ => ("取消征纳互动成功".to_string(), "interaction.cancel"),
                    };
                    self.system(b, i, now, text);
                    self.audit(b, conn, audit, i, String::new());
                    self.push_state(app, now, i, b);
                    if before == Stage::Queued {
                        self.push_queue(app, now, b);
                    }
                }
            }
            In::Accept {} if is_agent => {
                let Some(&i) = self.queue.first() else {
                    self.error(b, conn, None, "queue_empty", "当前没有等待接入的纳税人");
                    return;
                };
                if self.act(app, now, conn, i, Action::Accept, b).is_some() {
                    self.queue.retain(|x| *x != i);
                    let (username, name) = match self.conns.get(&conn).map(|c| &c.subject) {
                        Some(Subject::Agent { username, name }) => (username.clone(), name.clone()),
                        _ => return,
                    };
                    if let Some(l) = self.known.get_mut(&i) {
                        l.rec.agent_name = Some(name.clone());
                    }
                    self.system(b, i, now, format!("税务工作人员 {name} 已接入，为您服务"));
                    self.audit(b, conn, "interaction.accept", i, String::new());
                    // Every console of this agent follows the interaction from its start.
                    let consoles: Vec<u64> = self
                        .conns
                        .iter()
                        .filter(|(_, c)| {
                            c.hello
                                && matches!(&c.subject, Subject::Agent { username: u, .. } if *u == username)
                        })
                        .map(|(k, _)| *k)
                        .collect();
                    for k in consoles {
                        self.subscribe(app, now, k, i, 0, b);
                    }
                    self.push_state(app, now, i, b);
                    self.push_queue(app, now, b);
                }
            }
            In::End { i } if is_agent => {
                if self.act(app, now, conn, i, Action::End, b).is_some() {
                    self.system(
                        b,
                        i,
                        now,
                        "税务工作人员已结束本次征纳互动，请您对本次服务进行评价".into(),
                    );
                    self.audit(b, conn, "interaction.end", i, String::new());
                    self.push_state(app, now, i, b);
                }
            }
            In::Rate { i, stars, comment } if !is_agent => {
                let comment = comment
                    .map(|c| c.trim().to_string())
                    .filter(|c| !c.is_empty());
                if comment
                    .as_ref()
                    .is_some_and(|c| c.chars().count() > MAX_COMMENT)
                {
                    self.error(
                        b,
                        conn,
                        Some(i),
                        "message_too_long",
                        &format!("评价意见不能超过{MAX_COMMENT}个字"),
                    );
                    return;
                }
                if self
                    .act(app, now, conn, i, Action::Rate { stars }, b)
                    .is_some()
                {
                    if let Some(l) = self.known.get_mut(&i) {
                        l.rec.comment = comment.clone();
                    }
                    self.system(b, i, now, format!("纳税人已评价：{stars} 星，感谢您的评价"));
                    self.audit(b, conn, "interaction.rate", i, format!("{stars}"));
                    self.push_state(app, now, i, b);
                }
            }
            In::Call { i } if !is_agent => {
                if self.act(app, now, conn, i, Action::StartCall, b).is_some() {
                    self.system(b, i, now, "纳税人发起视频聊天，等待税务工作人员接听".into());
                    self.push_state(app, now, i, b);
                }
            }
            In::AnswerCall { i } if is_agent => {
                if self.act(app, now, conn, i, Action::AcceptCall, b).is_some() {
                    self.system(b, i, now, "视频聊天已接通".into());
                    self.push_state(app, now, i, b);
                }
            }
            In::Hangup { i } => {
                if self.act(app, now, conn, i, Action::HangUp, b).is_some() {
                    self.system(b, i, now, "视频聊天已断开，可继续通过文字互动".into());
                    self.push_state(app, now, i, b);
                }
            }
            In::Signal { i, data } => self.signal(conn, i, data, b),
            In::Transcript { i } if is_agent => {
                let mine = self.ensure(app, i)
                    && self.known.get(&i).is_some_and(|l| {
                        matches!(self.conns.get(&conn).map(|c| &c.subject),
                            Some(Subject::Agent { username, .. }) if l.rec.state.agent.as_deref() == Some(username.as_str()))
                    });
                if mine {
                    self.subscribe(app, now, conn, i, 0, b);
                } else {
                    self.error(b, conn, Some(i), "not_yours", "该征纳互动不由您接待");
                }
            }
            other => {
                let (code, msg) = if is_agent {
                    (
                        Refusal::TaxpayerOnly.code(),
                        Refusal::TaxpayerOnly.to_string(),
                    )
                } else {
                    (Refusal::AgentOnly.code(), Refusal::AgentOnly.to_string())
                };
                let i = match other {
                    In::Cancel { i } | In::Close { i } | In::End { i } | In::Rate { i, .. } => {
                        Some(i)
                    }
                    In::Call { i } | In::AnswerCall { i } | In::Transcript { i } => Some(i),
                    _ => None,
                };
                self.error(b, conn, i, code, &msg);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn say(
        &mut self,
        app: &App,
        now: DateTime<FixedOffset>,
        conn: u64,
        i: u64,
        text: String,
        cid: Option<String>,
        b: &mut Batch,
    ) {
        let text = text.trim().to_string();
        let cid = cid.filter(|c| !c.is_empty() && c.len() <= 64);
        // Refusals of a message carry its cid so the sender can drop it from its outbox.
        let refuse = |b: &mut Batch, code: &str, msg: &str| {
            b.send(
                vec![conn],
                protocol::error(Some(i), code, msg, cid.as_deref()),
            );
        };
        if text.is_empty() {
            refuse(b, "empty_message", "请输入要发送的内容");
            return;
        }
        let max = app.settings.interaction.max_message_chars;
        if text.chars().count() > max {
            refuse(b, "message_too_long", &format!("消息不能超过{max}个字"));
            return;
        }
        // A retry of a message already stored: send the stored one again, store nothing.
        if let (Some(c), Some(l)) = (&cid, self.known.get(&i)) {
            if let Some((_, seq)) = l.cids.iter().find(|(x, _)| x == c) {
                let seq = *seq;
                let name = l.rec.taxpayer_name.clone();
                let stored = b
                    .messages
                    .iter()
                    .find(|(x, m)| *x == i && m.seq == seq)
                    .map(|(_, m)| m.clone())
                    .or_else(|| {
                        app.store
                            .read()
                            .and_then(|r| r.chat_messages(i, seq - 1))
                            .ok()
                            .and_then(|v| v.into_iter().next())
                    });
                if let Some(m) = stored {
                    b.send(vec![conn], protocol::message(i, &m, &name));
                }
                return;
            }
        }
        let Some(subject) = self.conns.get(&conn).map(|c| c.subject.clone()) else {
            return;
        };
        let before = self.known.get(&i).map(|l| l.rec.state.clone());
        let by = by_of(&subject);
        let Some(state) = before else {
            refuse(b, "unknown_interaction", "该征纳互动不存在");
            return;
        };
        if let Subject::Taxpayer { id: tp, .. } = &subject {
            if self.known.get(&i).is_some_and(|l| &l.rec.taxpayer != tp) {
                refuse(b, "not_yours", "该征纳互动不存在");
                return;
            }
        }
        let (next, effect) = match state.apply(&by, &Action::Say, now) {
            Ok(x) => x,
            Err(r) => {
                refuse(b, r.code(), &r.to_string());
                return;
            }
        };
        if let Some(l) = self.known.get_mut(&i) {
            l.rec.state = next;
        }
        let from = match &subject {
            Subject::Taxpayer { .. } => Party::Taxpayer,
            Subject::Agent { username, name } => Party::Agent {
                username: username.clone(),
                name: name.clone(),
            },
        };
        let mut m = draft(now, from, text.clone());
        m.cid = cid;
        self.post(b, i, m);
        if effect == Effect::BotAnswers {
            let (reply, suggest, faq) = match self.bot.reply(&text) {
                Ok(Reply::Answer(e)) => (e.answer, Vec::new(), Some(e.id)),
                Ok(Reply::Suggest(list)) => (
                    SUGGEST_PROMPT.to_string(),
                    list.into_iter()
                        .map(|e| Suggestion {
                            id: e.id,
                            question: e.question,
                        })
                        .collect(),
                    None,
                ),
                Ok(Reply::NoMatch) | Err(_) => (
                    format!(
                        "抱歉，暂未找到与您的问题相关的答案。您可以换一种说法，或点击【发起人工导税】咨询税务工作人员（人工服务时间：{}）。",
                        app.interact.hours().describe_zh()
                    ),
                    Vec::new(),
                    None,
                ),
            };
            let mut m = draft(now, Party::Bot, reply);
            m.suggest = suggest;
            m.faq = faq;
            self.post(b, i, m);
        }
    }

    fn signal(&mut self, conn: u64, i: u64, data: Value, b: &mut Batch) {
        let Some(subject) = self.conns.get(&conn).map(|c| c.subject.clone()) else {
            return;
        };
        let Some(l) = self.known.get(&i) else {
            self.error(b, conn, Some(i), "unknown_interaction", "该征纳互动不存在");
            return;
        };
        let ok = match &subject {
            Subject::Taxpayer { id, .. } => &l.rec.taxpayer == id,
            Subject::Agent { username, .. } => l.rec.state.agent.as_deref() == Some(username),
        };
        if !ok {
            self.error(b, conn, Some(i), "not_yours", "该征纳互动不存在");
            return;
        }
        if l.rec.state.stage != Stage::Assigned
            || l.rec.state.call == crate::domain::interaction::Call::None
        {
            self.error(
                b,
                conn,
                Some(i),
                Refusal::NoCall.code(),
                &Refusal::NoCall.to_string(),
            );
            return;
        }
        let to_agent = matches!(subject, Subject::Taxpayer { .. });
        let to: Vec<u64> = self
            .watchers(i)
            .into_iter()
            .filter(|k| {
                self.conns
                    .get(k)
                    .is_some_and(|c| matches!(c.subject, Subject::Agent { .. }) == to_agent)
            })
            .collect();
        b.send(to, json!({"t": "signal", "i": i, "data": data}));
    }

    fn disconnect(&mut self, app: &App, conn: u64) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        if let Subject::Taxpayer { .. } = c.subject {
            let grace = Duration::from_secs(app.settings.interaction.grace_secs);
            for id in c.subs {
                let still = self.watchers(id).into_iter().any(|k| {
                    self.conns
                        .get(&k)
                        .is_some_and(|x| matches!(x.subject, Subject::Taxpayer { .. }))
                });
                let open = self
                    .known
                    .get(&id)
                    .is_some_and(|l| !l.rec.state.stage.is_closed());
                if !still && open {
                    self.timers.insert((Instant::now() + grace, id));
                }
            }
        }
    }

    /// Taxpayers who did not come back within the grace.
    fn expire(&mut self, app: &App, now: DateTime<FixedOffset>, b: &mut Batch) {
        let due: Vec<(Instant, u64)> = self
            .timers
            .iter()
            .take_while(|(t, _)| *t <= Instant::now())
            .copied()
            .collect();
        for key in due {
            self.timers.remove(&key);
            let id = key.1;
            let back = self.watchers(id).into_iter().any(|k| {
                self.conns
                    .get(&k)
                    .is_some_and(|x| matches!(x.subject, Subject::Taxpayer { .. }))
            });
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
                            self.push_queue(app, now, b);
                        }
                        self.push_state(app, now, id, b);
                    }
                }
            }
        }
    }
}
