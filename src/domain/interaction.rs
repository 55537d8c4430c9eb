//! 征纳互动 (S-I3, S-I5, S-I6): one state machine per interaction that every action goes
//! through. bot → queued (发起人工导税) → assigned (an agent accepts) → ended (only the agent
//! ends it once joined) → rated; bot or queued → cancelled (取消征纳互动, or a taxpayer who
//! left and did not come back). A call (音视频) lives inside `assigned`: started by the
//! taxpayer, accepted by the agent, closed by either; ending the interaction closes it.
//!
//! Plain data and plain functions: the time is passed in, nothing is stored here.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// Where an interaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The FAQ bot answers.
    Bot,
    /// Waiting for an agent (发起人工导税).
    Queued,
    /// An agent has joined.
    Assigned,
    /// The agent ended it; a rating may follow.
    Ended,
    /// Rated after the end.
    Rated,
    /// Cancelled by the taxpayer (取消征纳互动) or left by them before an agent joined.
    Cancelled,
}

impl Stage {
    pub const ALL: [Stage; 6] = [
        Stage::Bot,
        Stage::Queued,
        Stage::Assigned,
        Stage::Ended,
        Stage::Rated,
        Stage::Cancelled,
    ];

    /// No more messages: ended, rated or cancelled.
    pub fn is_closed(self) -> bool {
        matches!(self, Stage::Ended | Stage::Rated | Stage::Cancelled)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Stage::Bot => "智能服务",
            Stage::Queued => "等待人工接入",
            Stage::Assigned => "人工服务中",
            Stage::Ended => "已结束",
            Stage::Rated => "已评价",
            Stage::Cancelled => "已取消",
        }
    }
}

/// The audio/video call inside an assigned interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Call {
    #[default]
    None,
    /// The taxpayer asked (是否发起视频聊天 → 确定); the agent has not accepted yet.
    Ringing,
    Active,
}

/// Who acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum By {
    Taxpayer,
    /// Staff with the agent role, by user name.
    Agent(String),
    /// The server (a taxpayer gone past the reconnection grace period).
    System,
}

/// What someone asks of the interaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A chat message.
    Say,
    /// 发起人工导税, with what the server knows now.
    RequestHuman { in_hours: bool, agent_online: bool },
    /// 取消征纳互动 (or the system for a taxpayer who left).
    Cancel,
    /// The taxpayer closes the window: like 取消 before an agent joined; once one has, it ends
    /// the interaction without a rating (关闭窗口快速结束互动，此时不会发起评价).
    Close,
    /// An agent takes the interaction from the queue.
    Accept,
    /// The agent ends it (结束互动).
    End,
    /// 满意度评价 after the end: 1–5 stars.
    Rate { stars: u8 },
    /// 发起视频 (taxpayer).
    StartCall,
    /// The agent takes the call.
    AcceptCall,
    /// Either side closes the video and goes on in text.
    HangUp,
}

impl Action {
    /// One instance of each kind, for exhaustive tests and documentation.
    pub fn kinds() -> Vec<Action> {
        vec![
            Action::Say,
            Action::RequestHuman {
                in_hours: true,
                agent_online: true,
            },
            Action::Cancel,
            Action::Close,
            Action::Accept,
            Action::End,
            Action::Rate { stars: 5 },
            Action::StartCall,
            Action::AcceptCall,
            Action::HangUp,
        ]
    }
}

/// Why an action is refused; each has the message the taxpayer or agent sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("本次征纳互动已结束，请重新发起")]
    Closed,
    #[error("当前不在人工服务时间内")]
    OutsideHours,
    #[error("当前没有在线的税务工作人员，请稍后再试")]
    NoAgentOnline,
    #[error("已在等待人工接入或已有工作人员接入")]
    AlreadyHuman,
    #[error("税务工作人员已接入，需由工作人员结束征纳互动")]
    AgentMustEnd,
    #[error("该征纳互动不在等待接入状态")]
    NotQueued,
    #[error("该征纳互动尚未有工作人员接入")]
    NotAssigned,
    #[error("该征纳互动由其他工作人员接待")]
    OtherAgent,
    #[error("只有纳税人可以进行此操作")]
    TaxpayerOnly,
    #[error("只有税务工作人员可以进行此操作")]
    AgentOnly,
    #[error("征纳互动结束后才能评价")]
    NotEnded,
    #[error("评价应为1至5星")]
    BadRating,
    #[error("本次互动由纳税人关闭，未发起评价")]
    NotOffered,
    #[error("已在视频通话中")]
    CallInProgress,
    #[error("没有待接听的视频")]
    NoCallRinging,
    #[error("当前没有视频通话")]
    NoCall,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Closed => "interaction_closed",
            Refusal::OutsideHours => "outside_hours",
            Refusal::NoAgentOnline => "no_agent_online",
            Refusal::AlreadyHuman => "already_human",
            Refusal::AgentMustEnd => "agent_must_end",
            Refusal::NotQueued => "not_queued",
            Refusal::NotAssigned => "not_assigned",
            Refusal::OtherAgent => "other_agent",
            Refusal::TaxpayerOnly => "taxpayer_only",
            Refusal::AgentOnly => "agent_only",
            Refusal::NotEnded => "not_ended",
            Refusal::BadRating => "bad_rating",
            Refusal::NotOffered => "rating_not_offered",
            Refusal::CallInProgress => "call_in_progress",
            Refusal::NoCallRinging => "no_call_ringing",
            Refusal::NoCall => "no_call",
        }
    }
}

/// What the server must do after an accepted action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Nothing beyond recording the action.
    None,
    /// The bot should answer the taxpayer's message (only ever in `Bot`).
    BotAnswers,
    /// Queue positions changed: push them to everyone waiting.
    QueueChanged,
    /// Offer the rating to the taxpayer.
    OfferRating,
}

/// One interaction's state and the times its figures come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interaction {
    pub stage: Stage,
    pub call: Call,
    pub agent: Option<String>,
    pub opened_at: DateTime<FixedOffset>,
    pub queued_at: Option<DateTime<FixedOffset>>,
    pub assigned_at: Option<DateTime<FixedOffset>>,
    /// The agent's first message after joining.
    pub first_response_at: Option<DateTime<FixedOffset>>,
    pub closed_at: Option<DateTime<FixedOffset>>,
    pub rating: Option<u8>,
    /// The agent ended it (a rating is offered); false when the taxpayer closed the window.
    #[serde(default)]
    pub rating_offered: bool,
}

impl Interaction {
    pub fn open(now: DateTime<FixedOffset>) -> Self {
        Interaction {
            stage: Stage::Bot,
            call: Call::None,
            agent: None,
            opened_at: now,
            queued_at: None,
            assigned_at: None,
            first_response_at: None,
            closed_at: None,
            rating: None,
            rating_offered: false,
        }
    }

    /// The bot speaks only while the interaction is with the bot.
    pub fn bot_answers(&self) -> bool {
        self.stage == Stage::Bot
    }

    fn agent_is(&self, name: &str) -> Result<(), Refusal> {
        match &self.agent {
            Some(a) if a == name => Ok(()),
            _ => Err(Refusal::OtherAgent),
        }
    }

    /// Applies `action` by `by` at `now`: the new state and what to do, or why not (the state
    /// is then unchanged).
    pub fn apply(
        &self,
        by: &By,
        action: &Action,
        now: DateTime<FixedOffset>,
    ) -> Result<(Interaction, Effect), Refusal> {
        use Stage::*;
        let mut next = self.clone();
        let s = self.stage;
        let effect = match action {
            Action::Say => {
                if s.is_closed() {
                    return Err(Refusal::Closed);
                }
                match by {
                    By::Taxpayer => {
                        if s == Bot {
                            Effect::BotAnswers
                        } else {
                            Effect::None
                        }
                    }
                    By::Agent(name) => {
                        if s != Assigned {
                            return Err(Refusal::NotAssigned);
                        }
                        self.agent_is(name)?;
                        if next.first_response_at.is_none() {
                            next.first_response_at = Some(now);
                        }
                        Effect::None
                    }
                    By::System => return Err(Refusal::TaxpayerOnly),
                }
            }
            Action::RequestHuman {
                in_hours,
                agent_online,
            } => {
                if by != &By::Taxpayer {
                    return Err(Refusal::TaxpayerOnly);
                }
                match s {
                    Bot => {}
                    Queued | Assigned => return Err(Refusal::AlreadyHuman),
                    _ => return Err(Refusal::Closed),
                }
                if !in_hours {
                    return Err(Refusal::OutsideHours);
                }
                if !agent_online {
                    return Err(Refusal::NoAgentOnline);
                }
                next.stage = Queued;
                next.queued_at = Some(now);
                Effect::QueueChanged
            }
            Action::Cancel => {
                if matches!(by, By::Agent(_)) {
                    return Err(Refusal::TaxpayerOnly);
                }
                match s {
                    Bot | Queued => {}
                    Assigned => return Err(Refusal::AgentMustEnd),
                    _ => return Err(Refusal::Closed),
                }
                next.stage = Cancelled;
                next.closed_at = Some(now);
                if s == Queued {
                    Effect::QueueChanged
                } else {
                    Effect::None
                }
            }
            Action::Close => {
                if by != &By::Taxpayer {
                    return Err(Refusal::TaxpayerOnly);
                }
                match s {
                    Bot | Queued => {
                        next.stage = Cancelled;
                        next.closed_at = Some(now);
                        if s == Queued {
                            Effect::QueueChanged
                        } else {
                            Effect::None
                        }
                    }
                    Assigned => {
                        next.stage = Ended;
                        next.call = Call::None;
                        next.closed_at = Some(now);
                        next.rating_offered = false;
                        Effect::None
                    }
                    _ => return Err(Refusal::Closed),
                }
            }
            Action::Accept => {
                let By::Agent(name) = by else {
                    return Err(Refusal::AgentOnly);
                };
                match s {
                    Queued => {}
                    _ if s.is_closed() => return Err(Refusal::Closed),
                    _ => return Err(Refusal::NotQueued),
                }
                next.stage = Assigned;
                next.agent = Some(name.clone());
                next.assigned_at = Some(now);
                Effect::QueueChanged
            }
            Action::End => {
                let By::Agent(name) = by else {
                    return Err(match s {
                        Assigned => Refusal::AgentMustEnd,
                        _ => Refusal::AgentOnly,
                    });
                };
                match s {
                    Assigned => {}
                    _ if s.is_closed() => return Err(Refusal::Closed),
                    _ => return Err(Refusal::NotAssigned),
                }
                self.agent_is(name)?;
                next.stage = Ended;
                next.call = Call::None;
                next.closed_at = Some(now);
                next.rating_offered = true;
                Effect::OfferRating
            }
            Action::Rate { stars } => {
                if by != &By::Taxpayer {
                    return Err(Refusal::TaxpayerOnly);
                }
                match s {
                    Ended => {}
                    Rated | Cancelled => return Err(Refusal::Closed),
                    _ => return Err(Refusal::NotEnded),
                }
                if !self.rating_offered {
                    return Err(Refusal::NotOffered);
                }
                if !(1..=5).contains(stars) {
                    return Err(Refusal::BadRating);
                }
                next.stage = Rated;
                next.rating = Some(*stars);
                Effect::None
            }
            Action::StartCall => {
                if by != &By::Taxpayer {
                    return Err(Refusal::TaxpayerOnly);
                }
                match s {
                    Assigned => {}
                    _ if s.is_closed() => return Err(Refusal::Closed),
                    _ => return Err(Refusal::NotAssigned),
                }
                if self.call != Call::None {
                    return Err(Refusal::CallInProgress);
                }
                next.call = Call::Ringing;
                Effect::None
            }
            Action::AcceptCall => {
                let By::Agent(name) = by else {
                    return Err(Refusal::AgentOnly);
                };
                match s {
                    Assigned => {}
                    _ if s.is_closed() => return Err(Refusal::Closed),
                    _ => return Err(Refusal::NotAssigned),
                }
                self.agent_is(name)?;
                if self.call != Call::Ringing {
                    return Err(Refusal::NoCallRinging);
                }
                next.call = Call::Active;
                Effect::None
            }
            Action::HangUp => {
                match s {
                    Assigned => {}
                    _ if s.is_closed() => return Err(Refusal::Closed),
                    _ => return Err(Refusal::NotAssigned),
                }
                if let By::Agent(name) = by {
                    self.agent_is(name)?;
                }
                if self.call == Call::None {
                    return Err(Refusal::NoCall);
                }
                next.call = Call::None;
                Effect::None
            }
        };
        Ok((next, effect))
    }

    /// 等待时长: from 发起人工导税 to an agent joining.
    pub fn waiting_secs(&self) -> Option<i64> {
        Some((self.assigned_at? - self.queued_at?).num_seconds())
    }

    /// 首次响应时长: from joining to the agent's first message.
    pub fn first_response_secs(&self) -> Option<i64> {
        Some((self.first_response_at? - self.assigned_at?).num_seconds())
    }

    /// 服务时长: from joining to the end.
    pub fn duration_secs(&self) -> Option<i64> {
        Some((self.closed_at? - self.assigned_at?).num_seconds())
    }
}

/// Who wrote a chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    Taxpayer,
    Agent {
        username: String,
        name: String,
    },
    /// The FAQ bot (智能服务).
    Bot,
    /// State changes told in the transcript (排队、接入、结束 …).
    System,
}

/// A question the bot offers to pick (您是否要咨询以下问题).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    pub id: String,
    pub question: String,
}

/// One message of an interaction's transcript. `seq` increases by one per message within
/// the interaction, from 1; it is assigned when the message is stored, before anyone sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub seq: u64,
    pub at: DateTime<FixedOffset>,
    pub from: Party,
    pub text: String,
    /// The sender's own id for the message (a retry after a reconnect is stored once).
    pub cid: Option<String>,
    /// The bot's suggestions, when it offers some.
    pub suggest: Vec<Suggestion>,
    /// The FAQ entry the bot answered from.
    pub faq: Option<String>,
}

/// An interaction as stored: its state, whose it is and how far its transcript goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InteractionRecord {
    pub id: u64,
    pub taxpayer: String,
    pub taxpayer_name: String,
    pub state: Interaction,
    /// The agent's display name once one has joined.
    pub agent_name: Option<String>,
    /// The seq of the last message (0 before any).
    pub last_seq: u64,
    /// The taxpayer's optional comment with the rating.
    pub comment: Option<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;

pub mod routing;
