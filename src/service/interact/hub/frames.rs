//! What each client frame does to the [`State`]: the checks, the state machine's action, the
//! messages and audit entries to store and the frames to send (`docs/interaction.md`).

use std::time::Instant;

use chrono::{DateTime, FixedOffset};
use serde_json::{json, Value};

use super::limits::RATE_LIMITED;
use super::state::{actor_of, by_of, draft, Batch, BotReply, Outside, State};
use crate::domain::interaction::{Action, Effect, Party, Refusal, Stage};
use crate::service::interact::protocol::{self, In};
use crate::service::interact::Subject;

/// Longest rating comment, in characters.
const MAX_COMMENT: usize = 500;

/// A message's client id as the hub keeps it: non-empty and at most 64 bytes, else none.
/// Whether `from` is `subject` (the sender of a stored message).
fn sent_by(from: &Party, subject: &Subject) -> bool {
    match (from, subject) {
        (Party::Taxpayer, Subject::Taxpayer { .. }) => true,
        (Party::Agent { username: a, .. }, Subject::Agent { username: b, .. }) => a == b,
        _ => false,
    }
}

fn client_id(cid: Option<&str>) -> Option<&str> {
    cid.filter(|c| !c.is_empty() && c.len() <= 64)
}

impl State {
    /// One frame from socket `conn`, at `now` (business time) and `at` (for the budget).
    pub(super) fn frame(
        &mut self,
        ext: &dyn Outside,
        now: DateTime<FixedOffset>,
        at: Instant,
        conn: u64,
        f: In,
        b: &mut Batch,
    ) {
        let Some(person) = self.conns.get(&conn).map(|c| c.person.clone()) else {
            return;
        };
        // Every frame spends the sender's budget, shared by all their sockets; over it the
        // frame is refused before it does anything (no store, no bot search).
        if !self.flood.spend(&person, at) {
            let (i, cid) = match &f {
                In::Say { i, cid, .. } => (Some(*i), client_id(cid.as_deref())),
                _ => (None, None),
            };
            b.send(
                vec![conn],
                protocol::error(i, "rate_limited", RATE_LIMITED, cid),
            );
            return;
        }
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        if !c.hello && !matches!(f, In::Hello { .. } | In::Ping {}) {
            b.error(conn, None, "bad_frame", "请先发送 hello");
            return;
        }
        let is_agent = matches!(c.subject, Subject::Agent { .. });
        match f {
            In::Ping {} => b.send(vec![conn], json!({"t": "pong"})),
            In::Hello { since } => self.hello(ext, now, conn, since, b),
            In::Say { i, text, cid } => self.say(ext, now, conn, i, text, cid, b),
            In::Human { i } => self.request_human(ext, now, conn, i, b),
            In::Cancel { i } | In::Close { i } if !is_agent => {
                let closing = matches!(f, In::Close { .. });
                self.cancel(ext, now, conn, i, closing, b);
            }
            In::Accept {} if is_agent => self.accept(ext, now, conn, b),
            In::End { i } if is_agent => {
                if self.act(ext, now, conn, i, Action::End, b).is_some() {
                    self.system(
                        b,
                        i,
                        now,
                        "税务工作人员已结束本次征纳互动，请您对本次服务进行评价".into(),
                    );
                    self.audit(b, conn, "interaction.end", i, String::new());
                    self.push_state(now, i, b);
                }
            }
            In::Rate { i, stars, comment } if !is_agent => {
                self.rate(ext, now, conn, i, stars, comment, b)
            }
            In::Call { i } if !is_agent => {
                if self.act(ext, now, conn, i, Action::StartCall, b).is_some() {
                    self.system(b, i, now, "纳税人发起视频聊天，等待税务工作人员接听".into());
                    self.push_state(now, i, b);
                }
            }
            In::AnswerCall { i } if is_agent => {
                if self.act(ext, now, conn, i, Action::AcceptCall, b).is_some() {
                    self.system(b, i, now, "视频聊天已接通".into());
                    self.push_state(now, i, b);
                }
            }
            In::Hangup { i } => {
                if self.act(ext, now, conn, i, Action::HangUp, b).is_some() {
                    self.system(b, i, now, "视频聊天已断开，可继续通过文字互动".into());
                    self.push_state(now, i, b);
                }
            }
            In::Signal { i, data } => self.signal(conn, i, data, b),
            In::Transcript { i } if is_agent => {
                let mine = self.ensure(ext, i)
                    && self.known.get(&i).is_some_and(|l| {
                        matches!(self.conns.get(&conn).map(|c| &c.subject),
                            Some(Subject::Agent { username, .. }) if l.rec.state.agent.as_deref() == Some(username.as_str()))
                    });
                if mine {
                    self.subscribe(ext, now, conn, i, 0, b);
                } else {
                    b.error(conn, Some(i), "not_yours", "该征纳互动不由您接待");
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
                b.error(conn, i, code, &msg);
            }
        }
    }

    /// Runs `action` on `id` for the socket's subject; `Err` has been told to the socket.
    fn act(
        &mut self,
        ext: &dyn Outside,
        now: DateTime<FixedOffset>,
        conn: u64,
        id: u64,
        action: Action,
        b: &mut Batch,
    ) -> Option<(Effect, Stage)> {
        let subject = self.conns.get(&conn)?.subject.clone();
        let by = by_of(&subject);
        // A closed interaction nobody watched any more is read back from the store.
        self.ensure(ext, id);
        let Some(l) = self.known.get_mut(&id) else {
            b.error(conn, Some(id), "unknown_interaction", "该征纳互动不存在");
            return None;
        };
        if let Subject::Taxpayer { id: tp, .. } = &subject {
            if &l.rec.taxpayer != tp {
                b.error(conn, Some(id), "not_yours", "该征纳互动不存在");
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
                b.error(conn, Some(id), r.code(), &r.to_string());
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

    /// 发起人工导税: into the queue, last.
    fn request_human(
        &mut self,
        ext: &dyn Outside,
        now: DateTime<FixedOffset>,
        conn: u64,
        i: u64,
        b: &mut Batch,
    ) {
        let h = self.human(now);
        let in_hours = self.limits.hours.is_open(now);
        let action = Action::RequestHuman {
            in_hours,
            agent_online: self.agents_online() > 0,
        };
        let Some(l) = self.known.get(&i) else {
            b.error(conn, Some(i), "unknown_interaction", "该征纳互动不存在");
            return;
        };
        if l.rec.state.stage == Stage::Bot && !h.available {
            // The refusal says why and when.
            let code = if in_hours {
                Refusal::NoAgentOnline.code()
            } else {
                Refusal::OutsideHours.code()
            };
            b.error(conn, Some(i), code, &h.reason);
            return;
        }
        if self.act(ext, now, conn, i, action, b).is_some() {
            self.queue.push(i);
            let pos = self.queue.len();
            self.system(
                b,
                i,
                now,
                format!("已为您发起人工导税，正在转接税务工作人员，当前排队第 {pos} 位，请稍候。"),
            );
            self.audit(b, conn, "interaction.queue", i, String::new());
            self.push_queue(now, b);
        }
    }

    /// 取消征纳互动, or the taxpayer closes the window (`closing`).
    fn cancel(
        &mut self,
        ext: &dyn Outside,
        now: DateTime<FixedOffset>,
        conn: u64,
        i: u64,
        closing: bool,
        b: &mut Batch,
    ) {
        let action = if closing {
            Action::Close
        } else {
            Action::Cancel
        };
        if let Some((_, before)) = self.act(ext, now, conn, i, action, b) {
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
            self.push_state(now, i, b);
            if before == Stage::Queued {
                self.push_queue(now, b);
            }
        }
    }

    /// The agent on `conn` takes the oldest interaction of the queue they may take.
    fn accept(&mut self, ext: &dyn Outside, now: DateTime<FixedOffset>, conn: u64, b: &mut Batch) {
        let username = match self.conns.get(&conn).map(|c| &c.subject) {
            Some(Subject::Agent { username, .. }) => username.clone(),
            _ => return,
        };
        // The oldest the agent may take: of their regions, or by the fallback.
        let online = self.online_agents();
        let first = self
            .queue
            .iter()
            .copied()
            .find(|i| self.may_take_among(&online, *i, &username));
        let Some(i) = first else {
            b.error(conn, None, "queue_empty", "当前没有等待接入的纳税人");
            return;
        };
        if self.act(ext, now, conn, i, Action::Accept, b).is_some() {
            self.queue.retain(|x| *x != i);
            let (username, name) = match self.conns.get(&conn).map(|c| &c.subject) {
                Some(Subject::Agent { username, name, .. }) => (username.clone(), name.clone()),
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
                self.subscribe(ext, now, k, i, 0, b);
            }
            self.push_state(now, i, b);
            self.push_queue(now, b);
        }
    }

    /// 满意度评价.
    #[allow(clippy::too_many_arguments)]
    fn rate(
        &mut self,
        ext: &dyn Outside,
        now: DateTime<FixedOffset>,
        conn: u64,
        i: u64,
        stars: u8,
        comment: Option<String>,
        b: &mut Batch,
    ) {
        let comment = comment
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty());
        if comment
            .as_ref()
            .is_some_and(|c| c.chars().count() > MAX_COMMENT)
        {
            b.error(
                conn,
                Some(i),
                "message_too_long",
                &format!("评价意见不能超过{MAX_COMMENT}个字"),
            );
            return;
        }
        if self
            .act(ext, now, conn, i, Action::Rate { stars }, b)
            .is_some()
        {
            if let Some(l) = self.known.get_mut(&i) {
                l.rec.comment = comment.clone();
            }
            self.system(b, i, now, format!("纳税人已评价：{stars} 星，感谢您的评价"));
            self.audit(b, conn, "interaction.rate", i, format!("{stars}"));
            self.push_state(now, i, b);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn say(
        &mut self,
        ext: &dyn Outside,
        now: DateTime<FixedOffset>,
        conn: u64,
        i: u64,
        text: String,
        cid: Option<String>,
        b: &mut Batch,
    ) {
        let text = text.trim().to_string();
        let cid = client_id(cid.as_deref()).map(str::to_string);
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
        let max = self.limits.max_message_chars;
        if text.chars().count() > max {
            refuse(b, "message_too_long", &format!("消息不能超过{max}个字"));
            return;
        }
        // Who may post comes first: the sender's connection, an interaction that exists, and
        // for a taxpayer their own. Nothing — not even a retry's stored copy — is sent before.
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
        // A retry of a message already stored: send the stored one again, store nothing —
        // only to whoever sent it (a client id seen by someone else gives nothing away).
        if let Some(seq) = cid.as_deref().and_then(|c| self.stored_cid(i, c)) {
            let name = self
                .known
                .get(&i)
                .map(|l| l.rec.taxpayer_name.clone())
                .unwrap_or_default();
            let stored = b
                .messages
                .iter()
                .find(|(x, m)| *x == i && m.seq == seq)
                .map(|(_, m)| m.clone())
                .or_else(|| ext.messages(i, seq - 1).into_iter().next());
            match stored {
                Some(m) if sent_by(&m.from, &subject) => {
                    b.send(vec![conn], protocol::message(i, &m, &name));
                }
                Some(_) => refuse(b, "not_yours", "该征纳互动不由您接待"),
                None => {}
            }
            return;
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
            Subject::Agent { username, name, .. } => Party::Agent {
                username: username.clone(),
                name: name.clone(),
            },
        };
        let mut m = draft(now, from, text.clone());
        m.cid = cid;
        self.post(b, i, m);
        if effect == Effect::BotAnswers && !self.bot_on(i) {
            let h = self.human(now);
            let text = if h.available {
                "本地区未开通智能服务，请点击【发起人工导税】咨询税务工作人员。".to_string()
            } else {
                format!("本地区未开通智能服务。{}", h.reason)
            };
            self.post(b, i, draft(now, Party::System, text));
        } else if effect == Effect::BotAnswers {
            let reply = ext.bot(&text).unwrap_or_else(|| BotReply {
                text: format!(
                    "抱歉，暂未找到与您的问题相关的答案。您可以换一种说法，或点击【发起人工导税】咨询税务工作人员（人工服务时间：{}）。",
                    self.limits.hours.describe_zh()
                ),
                suggest: Vec::new(),
                faq: None,
            });
            let mut m = draft(now, Party::Bot, reply.text);
            m.suggest = reply.suggest;
            m.faq = reply.faq;
            self.post(b, i, m);
        }
    }

    /// WebRTC signalling, relayed to the other side's sockets while there is a call.
    fn signal(&mut self, conn: u64, i: u64, data: Value, b: &mut Batch) {
        let Some(subject) = self.conns.get(&conn).map(|c| c.subject.clone()) else {
            return;
        };
        let Some(l) = self.known.get(&i) else {
            b.error(conn, Some(i), "unknown_interaction", "该征纳互动不存在");
            return;
        };
        let ok = match &subject {
            Subject::Taxpayer { id, .. } => &l.rec.taxpayer == id,
            Subject::Agent { username, .. } => l.rec.state.agent.as_deref() == Some(username),
        };
        if !ok {
            b.error(conn, Some(i), "not_yours", "该征纳互动不存在");
            return;
        }
        if l.rec.state.stage != Stage::Assigned
            || l.rec.state.call == crate::domain::interaction::Call::None
        {
            b.error(
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
}
