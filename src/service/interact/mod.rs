//! 征纳互动 (S-I): the live channel between taxpayers, the FAQ bot and the office's agents.
//!
//! One hub thread owns every live interaction: frames from the sockets arrive as commands on
//! a channel, each goes through the state machine of `domain::interaction`, and the hub
//! commits what a batch of commands changed — the interactions, their new messages with their
//! per-interaction `seq`, the audit entries of state changes — in **one** durable redb
//! transaction (group commit) before it sends a single frame. Frames to a socket go out in
//! commit order through its own channel, so nobody ever sees a message that is not stored,
//! and a client that resumes from its last `seq` gets exactly what it missed. The wire
//! protocol is in `docs/interaction.md`.
//! May depend on: domain, store, config, `service::faq`/`faq_bot`, error.

pub mod bot;
pub mod faq;
mod hub;
pub mod ice;
pub mod protocol;
pub mod reports;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};

use crate::config::IceServer;
use crate::domain::WorkingHours;
use crate::error::{AppError, AppResult};
use crate::service::interact::bot::FaqBot;
use crate::service::interact::faq::FaqEntry;
use crate::service::App;
use crate::store::prelude::*;

pub use hub::Out;
pub use protocol::In;

/// Who is on the other end of a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// `region`: the taxpayer's region on record, which routes a hand-off.
    Taxpayer {
        id: String,
        name: String,
        region: Option<crate::domain::Region>,
    },
    /// `regions`: the regions the agent serves, as when the socket opened (none: every region).
    Agent {
        username: String,
        name: String,
        regions: Vec<crate::domain::Region>,
    },
}

/// A login session as the hub tells sockets apart (for the sockets-per-session cap): the
/// SHA-256 of its token, as the store keys it — the token itself stays out of the hub.
pub type SessionKey = [u8; 32];

/// What the sockets send to the hub.
#[derive(Debug)]
pub(crate) enum Cmd {
    Connect {
        conn: u64,
        subject: Subject,
        session: SessionKey,
        address: Option<String>,
        out: tokio::sync::mpsc::UnboundedSender<Out>,
    },
    Frame {
        conn: u64,
        frame: In,
    },
    Disconnect {
        conn: u64,
    },
    /// Re-read the FAQ (after staff edited it).
    Faq(Arc<FaqBot>),
}

/// The handle the web layer holds (in [`App`]).
pub struct Interact {
    hours: WorkingHours,
    ice: Vec<IceServer>,
    tx: Mutex<Option<std::sync::mpsc::Sender<Cmd>>>,
    next_conn: AtomicU64,
    bot: RwLock<Arc<FaqBot>>,
    started: OnceLock<()>,
    /// The embedded TURN relay's credentials, once it runs (`interaction.turn.enabled`).
    turn: OnceLock<Arc<ice::TurnCredentials>>,
    /// What the hub last published of itself: the queue's length and the agents online.
    live: (AtomicUsize, AtomicUsize),
}

impl std::fmt::Debug for Interact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interact")
            .field("hours", &self.hours)
            .finish()
    }
}

impl Interact {
    pub fn new(
        hours: WorkingHours,
        faq: Vec<FaqEntry>,
        ice: Vec<IceServer>,
    ) -> AppResult<Interact> {
        let bot = FaqBot::new(faq).map_err(|e| AppError::internal(format!("FAQ index: {e}")))?;
        Ok(Interact {
            hours,
            ice,
            tx: Mutex::new(None),
            next_conn: AtomicU64::new(1),
            bot: RwLock::new(Arc::new(bot)),
            started: OnceLock::new(),
            turn: OnceLock::new(),
            live: (AtomicUsize::new(0), AtomicUsize::new(0)),
        })
    }

    /// RTCConfiguration.iceServers for a browser: the configured servers (and the embedded
    /// TURN relay's, with credentials for this subject, when it runs).
    pub fn ice_servers(&self, subject: &Subject, wall_unix: i64) -> serde_json::Value {
        let mut list = self.ice.clone();
        if let Some(relay) = self.turn.get() {
            let label = match subject {
                Subject::Taxpayer { id, .. } => id.as_str(),
                Subject::Agent { username, .. } => username.as_str(),
            };
            list.push(relay.credentials(label, wall_unix.max(0) as u64));
        }
        serde_json::to_value(&list).unwrap_or_default()
    }

    /// The embedded TURN relay's UDP address, when it runs.
    pub fn turn_addr(&self) -> Option<std::net::SocketAddr> {
        self.turn.get().map(|r| r.addr())
    }

    /// Hands out credentials of the embedded TURN relay from now on (the relay started).
    pub fn set_turn(&self, credentials: Arc<ice::TurnCredentials>) {
        let _ = self.turn.set(credentials);
    }

    /// The hub's live figures for the office's 工作台: interactions waiting for an agent and
    /// agents online, as of the hub's last batch (`None` while the hub is not running).
    pub fn live(&self) -> Option<(usize, usize)> {
        self.started.get()?;
        Some((
            self.live.0.load(Ordering::Relaxed),
            self.live.1.load(Ordering::Relaxed),
        ))
    }

    /// Interactions waiting for an agent now (`/metrics`; 0 while the hub is not running).
    pub fn queued(&self) -> u64 {
        self.live().map_or(0, |(q, _)| q as u64)
    }

    /// Agents online now: staff with an open 征纳互动 socket.
    pub fn agents_online(&self) -> u64 {
        self.live().map_or(0, |(_, a)| a as u64)
    }

    /// Called by the hub after each batch.
    fn publish(&self, queue: usize, agents: usize) {
        self.live.0.store(queue, Ordering::Relaxed);
        self.live.1.store(agents, Ordering::Relaxed);
    }

    pub fn hours(&self) -> &WorkingHours {
        &self.hours
    }

    /// The bot as it is now.
    pub fn bot(&self) -> Arc<FaqBot> {
        match self.bot.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Replaces the bot's knowledge base (staff edited the FAQ).
    pub fn set_faq(&self, entries: Vec<FaqEntry>) -> AppResult<()> {
        let bot = Arc::new(
            FaqBot::new(entries).map_err(|e| AppError::internal(format!("FAQ index: {e}")))?,
        );
        match self.bot.write() {
            Ok(mut g) => *g = bot.clone(),
            Err(p) => *p.into_inner() = bot.clone(),
        }
        self.send(Cmd::Faq(bot));
        Ok(())
    }

    /// Starts the hub thread for `app` (once; later calls do nothing).
    pub fn start(app: &Arc<App>) -> AppResult<()> {
        let me = &app.interact;
        if me.started.set(()).is_err() {
            return Ok(());
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let weak: Weak<App> = Arc::downgrade(app);
        let hub = hub::Hub::load(app, me.bot())?;
        std::thread::Builder::new()
            .name("interact-hub".into())
            .spawn(move || hub.run(weak, rx))
            .map_err(|e| AppError::internal(format!("cannot start the interaction hub: {e}")))?;
        if let Ok(mut g) = me.tx.lock() {
            *g = Some(tx);
        }
        Ok(())
    }

    fn send(&self, cmd: Cmd) -> bool {
        match self.tx.lock() {
            Ok(g) => g.as_ref().is_some_and(|tx| tx.send(cmd).is_ok()),
            Err(_) => false,
        }
    }

    /// Registers a socket of `subject` opened with login `session`; frames for it arrive on
    /// `out` (a socket over the caps gets its refusal, then [`Out::Close`]). `None` when the
    /// hub is not running.
    pub fn connect(
        &self,
        subject: Subject,
        session: SessionKey,
        address: Option<String>,
        out: tokio::sync::mpsc::UnboundedSender<Out>,
    ) -> Option<u64> {
        let conn = self.next_conn.fetch_add(1, Ordering::Relaxed);
        self.send(Cmd::Connect {
            conn,
            subject,
            session,
            address,
            out,
        })
        .then_some(conn)
    }

    pub fn frame(&self, conn: u64, frame: In) {
        self.send(Cmd::Frame { conn, frame });
    }

    pub fn disconnect(&self, conn: u64) {
        self.send(Cmd::Disconnect { conn });
    }
}

/// Who a session is on the 征纳互动 socket: a taxpayer (with the name on record), or staff who
/// may serve — 征纳互动坐席 and 管理员 (others are refused).
pub fn subject_for(app: &App, s: &crate::store::Subject) -> AppResult<Subject> {
    use crate::error::Code;
    let r = app.store.read()?;
    match s {
        crate::store::Subject::Taxpayer { id } => {
            let t = r
                .taxpayer(id)?
                .ok_or_else(|| AppError::new(Code::NotLoggedIn))?;
            Ok(Subject::Taxpayer {
                id: id.as_str().to_string(),
                name: t.name,
                region: Some(t.region),
            })
        }
        crate::store::Subject::Staff { username } => {
            let st = r
                .staff(username)?
                .filter(|st| !st.disabled)
                .ok_or_else(|| AppError::new(Code::NotLoggedIn))?;
            if !st.role.serves_interactions() {
                return Err(AppError::new(Code::WrongRole)
                    .with_message("征纳互动仅限征纳互动坐席或管理员接待"));
            }
            Ok(Subject::Agent {
                regions: r.staff_regions(username)?,
                username: username.clone(),
                name: st.display_name,
            })
        }
    }
}
