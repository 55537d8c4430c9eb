//! The hub thread: the only writer of interactions. See the module above for the design.
//!
//! This file is the loop: it receives the sockets' commands, hands each to the [`State`] (the
//! rules, without I/O: `hub/state.rs`, `hub/frames.rs`, `hub/resume.rs`), commits what a
//! batch changed in one redb transaction and only then sends the batch's frames to the
//! sockets. The rules' unit tests are in `hub/tests.rs`.

mod frames;
mod limits;
mod resume;
mod state;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use serde_json::Value;

use self::limits::Rate;
use self::state::{Batch, BotReply, Cids, Limits, Outside, State, RECENT_CIDS};
use super::{protocol, Cmd, Subject};
use crate::domain::interaction::{ChatMessage, InteractionRecord, Suggestion};
use crate::error::AppResult;
use crate::service::interact::bot::{FaqBot, Reply, SUGGEST_PROMPT};
use crate::service::App;
use crate::store::prelude::*;

/// What a socket's writer task receives.
#[derive(Debug, Clone)]
pub enum Out {
    Text(Arc<str>),
    /// The hub is done with this socket (e.g. refused at `hello`).
    Close,
}

/// Most commands committed together.
const BATCH: usize = 512;

pub(super) struct Hub {
    state: State,
    /// Each connected socket's writer.
    outs: HashMap<u64, tokio::sync::mpsc::UnboundedSender<Out>>,
    bot: Arc<FaqBot>,
}

/// The client ids of an interaction's last messages, read back from the store (so a retry
/// after a restart is still recognised).
fn recent_cids(r: &crate::store::Reader, rec: &InteractionRecord) -> AppResult<Cids> {
    let from = rec.last_seq.saturating_sub(RECENT_CIDS as u64);
    Ok(r.chat_messages(rec.id, from)?
        .into_iter()
        .filter_map(|m| m.cid.map(|c| (c, m.seq)))
        .collect())
}

/// The store, the bot and the ICE servers, as the state asks for them.
struct Around<'a> {
    app: &'a App,
    bot: &'a FaqBot,
}

impl Outside for Around<'_> {
    fn stored(&self, id: u64) -> Option<(InteractionRecord, Cids)> {
        let loaded = self.app.store.read().and_then(|r| {
            let Some(rec) = r.interaction(id)? else {
                return Ok(None);
            };
            let cids = recent_cids(&r, &rec)?;
            Ok(Some((rec, cids)))
        });
        loaded.ok().flatten()
    }

    fn messages(&self, id: u64, since: u64) -> Vec<ChatMessage> {
        self.app
            .store
            .read()
            .and_then(|r| r.chat_messages(id, since))
            .unwrap_or_default()
    }

    fn bot(&self, text: &str) -> Option<BotReply> {
        match self.bot.reply(text) {
            Ok(Reply::Answer(e)) => Some(BotReply {
                text: e.answer,
                suggest: Vec::new(),
                faq: Some(e.id),
            }),
            Ok(Reply::Suggest(list)) => Some(BotReply {
                text: SUGGEST_PROMPT.to_string(),
                suggest: list
                    .into_iter()
                    .map(|e| Suggestion {
                        id: e.id,
                        question: e.question,
                    })
                    .collect(),
                faq: None,
            }),
            Ok(Reply::NoMatch) | Err(_) => None,
        }
    }

    fn ice_servers(&self, subject: &Subject) -> Value {
        self.app
            .interact
            .ice_servers(subject, self.app.clock.wall().timestamp())
    }
}

impl Hub {
    pub(super) fn load(app: &App, bot: Arc<FaqBot>) -> AppResult<Hub> {
        Ok(Hub {
            state: Hub::load_state(app)?,
            outs: HashMap::new(),
            bot,
        })
    }

    /// The open interactions as stored.
    fn load_state(app: &App) -> AppResult<State> {
        let r = app.store.read()?;
        let open = r.open_interactions()?;
        let next_id = r.last_interaction_id()? + 1;
        let mut live = Vec::with_capacity(open.len());
        for rec in open {
            let cids = recent_cids(&r, &rec)?;
            live.push((rec, cids));
        }
        let s = &app.settings.interaction;
        let limits = Limits {
            hours: app.interact.hours().clone(),
            grace: Duration::from_secs(s.grace_secs),
            max_message_chars: s.max_message_chars,
            taxpayer_rate: Rate {
                burst: f64::from(s.rate_burst),
                per_sec: f64::from(s.rate_per_sec),
            },
            staff_rate: Rate {
                burst: f64::from(s.staff_rate_burst),
                per_sec: f64::from(s.staff_rate_per_sec),
            },
            sockets_per_session: s.max_sockets_per_session,
            sockets_per_person: s.max_sockets_per_person,
            fallback: s.fallback,
            bot_off: s.bot_off_regions.clone(),
        };
        // Each open interaction's taxpayer's region, for routing its hand-off.
        let mut regions = HashMap::new();
        for (rec, _) in &live {
            let region = crate::domain::TaxpayerId::parse(&rec.taxpayer)
                .ok()
                .and_then(|id| r.taxpayer(&id).ok().flatten())
                .map(|t| t.region);
            regions.insert(rec.id, region);
        }
        let mut state = State::new(limits, live, next_id, Instant::now());
        state.regions = regions;
        Ok(state)
    }

    pub(super) fn run(mut self, app: Weak<App>, rx: Receiver<Cmd>) {
        loop {
            let wait = self
                .state
                .next_deadline()
                .map(|t| t.saturating_duration_since(Instant::now()))
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
    fn reset(&mut self, app: &App) {
        if let Ok(fresh) = Hub::load_state(app) {
            self.state.restore(fresh);
        }
        for out in self.outs.values() {
            let _ = out.send(Out::Close);
        }
        self.outs.clear();
        self.state.drop_connections();
    }

    fn batch(&mut self, app: &App, cmds: Vec<Cmd>) {
        // Business time for what is stored and shown; the monotonic instant for the grace
        // timers and the flood budgets.
        let now = app.clock.now();
        let at = Instant::now();
        let mut b = Batch::default();
        let agents_before = self.state.agents_online();
        for cmd in cmds {
            match cmd {
                Cmd::Connect {
                    conn,
                    subject,
                    session,
                    address,
                    out,
                } => {
                    // Refused or not, the socket hears from the hub (and is closed if refused).
                    self.outs.insert(conn, out);
                    self.state.connect(conn, subject, session, address, &mut b);
                }
                Cmd::Frame { conn, frame } => {
                    let around = Around {
                        app,
                        bot: &self.bot,
                    };
                    self.state.frame(&around, now, at, conn, frame, &mut b);
                }
                Cmd::Disconnect { conn } => {
                    self.outs.remove(&conn);
                    self.state.disconnect(conn, at);
                }
                Cmd::Faq(bot) => self.bot = bot,
            }
        }
        self.state.expire(now, at, &mut b);
        self.state.forget_idle_budgets(at);
        self.state.announce(now, agents_before, &mut b);
        self.commit(app, b);
        app.interact
            .publish(self.state.queue.len(), self.state.agents_online());
    }

    /// Stores the batch in one transaction, then sends its frames.
    fn commit(&mut self, app: &App, b: Batch) {
        if !b.dirty.is_empty() || !b.messages.is_empty() {
            let who = app.system("interaction");
            let state = &self.state;
            let result = app.store.write_log(&who, |tx| {
                for id in &b.dirty {
                    if let Some(rec) = state.record(*id) {
                        tx.put_interaction(rec)?;
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
                let to: BTreeSet<u64> = b.sends.iter().flat_map(|(c, _)| c.clone()).collect();
                let err = protocol::error(None, "store_failed", "保存失败，请稍后重试", None);
                let text: Arc<str> = Arc::from(err.to_string());
                for c in to {
                    if let Some(out) = self.outs.get(&c) {
                        let _ = out.send(Out::Text(text.clone()));
                    }
                }
                self.reset(app);
                return;
            }
        }
        for (to, text) in b.sends {
            for c in to {
                if let Some(out) = self.outs.get(&c) {
                    let _ = out.send(Out::Text(text.clone()));
                }
            }
        }
        // Sockets refused at connect: after their refusal.
        for c in b.closes {
            if let Some(out) = self.outs.remove(&c) {
                let _ = out.send(Out::Close);
            }
        }
        self.state.forget_unwatched();
    }
}
