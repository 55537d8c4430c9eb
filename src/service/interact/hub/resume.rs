//! Who watches what: a socket's `hello` (the welcome, the interactions it resumes from the
//! last seq it saw, a new interaction for a taxpayer without one) and following an
//! interaction from a given seq (`docs/interaction.md`, "hello in detail").

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, FixedOffset};
use serde_json::json;

use super::state::{actor_of, draft, Batch, Live, Outside, State};
use crate::domain::interaction::{Action, By, Interaction, InteractionRecord, Party};
use crate::domain::Region;
use crate::service::interact::protocol;
use crate::service::interact::Subject;

impl State {
    pub(super) fn hello(
        &mut self,
        ext: &dyn Outside,
        now: DateTime<FixedOffset>,
        conn: u64,
        since: BTreeMap<String, u64>,
        b: &mut Batch,
    ) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.hello {
            b.error(conn, None, "bad_frame", "重复的 hello");
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
                "ice_servers": ext.ice_servers(&subject),
                "hours": self.limits.hours.describe_zh(),
                "human": self.human(now).json(),
            }),
        );
        let mut asked: Vec<(u64, u64)> = Vec::new();
        for (k, v) in since {
            match k.parse::<u64>() {
                Ok(id) => asked.push((id, v)),
                Err(_) => {
                    b.error(conn, None, "bad_frame", "since 中的互动编号不正确");
                }
            }
        }
        match &subject {
            Subject::Taxpayer {
                id: tp,
                name,
                region,
            } => {
                let open = self
                    .known
                    .values()
                    .find(|l| &l.rec.taxpayer == tp && !l.rec.state.stage.is_closed())
                    .map(|l| l.rec.id);
                for (id, seq) in &asked {
                    if Some(*id) == open {
                        continue;
                    }
                    if !self.ensure(ext, *id)
                        || self.known.get(id).is_none_or(|l| &l.rec.taxpayer != tp)
                    {
                        b.error(conn, Some(*id), "not_yours", "该征纳互动不存在");
                        continue;
                    }
                    self.subscribe(ext, now, conn, *id, *seq, b);
                }
                if let Some(id) = open {
                    self.regions.entry(id).or_insert(*region);
                }
                match open {
                    Some(id) => {
                        let seq = asked.iter().find(|(i, _)| *i == id).map(|(_, s)| *s);
                        self.subscribe(ext, now, conn, id, seq.unwrap_or(0), b);
                    }
                    None if asked.is_empty() => {
                        self.open_interaction(now, conn, tp, name, *region, b);
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
                    self.subscribe(ext, now, conn, id, seq.unwrap_or(0), b);
                }
                for (id, seq) in &asked {
                    if self.conns.get(&conn).is_some_and(|c| c.subs.contains(id)) {
                        continue;
                    }
                    if !self.ensure(ext, *id)
                        || self
                            .known
                            .get(id)
                            .is_none_or(|l| l.rec.state.agent.as_deref() != Some(username.as_str()))
                    {
                        b.error(conn, Some(*id), "not_yours", "该征纳互动不由您接待");
                        continue;
                    }
                    self.subscribe(ext, now, conn, *id, *seq, b);
                }
                let items = self.queue_items(now, username);
                b.send(vec![conn], json!({"t": "queue", "items": items}));
            }
        }
    }

    /// A new interaction for the taxpayer on `conn`, with the bot's greeting.
    fn open_interaction(
        &mut self,
        now: DateTime<FixedOffset>,
        conn: u64,
        id: &str,
        name: &str,
        region: Option<Region>,
        b: &mut Batch,
    ) {
        let iid = self.next_id;
        self.regions.insert(iid, region);
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
        let hours = self.limits.hours.describe_zh();
        if !self.bot_on(iid) {
            // No bot in this region: straight to the human queue when 人工导税 is on offer.
            let h = self.human(now);
            let action = Action::RequestHuman {
                in_hours: self.limits.hours.is_open(now),
                agent_online: self.agents_online() > 0,
            };
            let queued = h.available
                && self.known.get_mut(&iid).is_some_and(|l| {
                    match l.rec.state.apply(&By::Taxpayer, &action, now) {
                        Ok((next, _)) => {
                            l.rec.state = next;
                            true
                        }
                        Err(_) => false,
                    }
                });
            if queued {
                self.queue.push(iid);
                let pos = self.queue.len();
                self.system(
                    b,
                    iid,
                    now,
                    format!("您好！已为您转接税务工作人员，当前排队第 {pos} 位，请稍候。"),
                );
                if let Some(c) = self.conns.get(&conn) {
                    b.audits.push((
                        actor_of(&c.subject),
                        c.address.clone(),
                        "interaction.queue",
                        iid,
                        String::new(),
                    ));
                }
                self.push_queue(now, b);
            } else {
                self.system(
                    b,
                    iid,
                    now,
                    format!(
                        "您好！{}。人工服务时间：{hours}，届时请点击【发起人工导税】。",
                        h.reason.trim_end_matches('。')
                    ),
                );
                self.push_state(now, iid, b);
            }
            return;
        }
        self.post(
            b,
            iid,
            draft(now, Party::Bot, format!(
                "您好！我是征纳互动智能服务。请输入您想咨询的问题，例如“如何勾选发票”“忘记平台密码怎么办”。\
                 如需人工服务，请点击【发起人工导税】（人工服务时间：{hours}）。"
            )),
        );
        self.push_state(now, iid, b);
    }

    /// Loads a closed interaction from the store when it is not in memory.
    pub(super) fn ensure(&mut self, ext: &dyn Outside, id: u64) -> bool {
        if self.known.contains_key(&id) {
            return true;
        }
        match ext.stored(id) {
            Some((rec, cids)) => {
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
            None => false,
        }
    }

    /// Subscribes `conn` to `id` and sends what it missed after `since`, then the state.
    pub(super) fn subscribe(
        &mut self,
        ext: &dyn Outside,
        now: DateTime<FixedOffset>,
        conn: u64,
        id: u64,
        since: u64,
        b: &mut Batch,
    ) {
        let Some(l) = self.known.get(&id) else { return };
        let name = l.rec.taxpayer_name.clone();
        // Stored messages, then those of this batch not yet stored.
        let mut missed = ext.messages(id, since);
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
        if let Some(v) = self.state_json(now, id) {
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
}
