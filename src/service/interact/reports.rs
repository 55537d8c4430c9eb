//! Transcripts, ratings and figures of 征纳互动 for the agent console and the office (S-I4):
//! waiting time, first response time, duration, rating.

use serde::Serialize;

use crate::domain::interaction::{ChatMessage, InteractionRecord};
use crate::error::{AppError, AppResult, Code};
use crate::service::App;
use crate::store::prelude::*;

/// One interaction as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = InteractionSummary)]
pub struct Summary {
    pub id: u64,
    pub taxpayer_id: String,
    pub taxpayer_name: String,
    pub stage: &'static str,
    pub stage_zh: &'static str,
    pub agent: Option<String>,
    pub agent_name: Option<String>,
    pub opened_at: String,
    pub waiting_secs: Option<i64>,
    pub first_response_secs: Option<i64>,
    pub duration_secs: Option<i64>,
    pub rating: Option<u8>,
    pub comment: Option<String>,
    pub messages: u64,
}

impl Summary {
    pub fn of(r: &InteractionRecord) -> Summary {
        Summary {
            id: r.id,
            taxpayer_id: r.taxpayer.clone(),
            taxpayer_name: r.taxpayer_name.clone(),
            stage: super::protocol::stage_name(r.state.stage),
            stage_zh: r.state.stage.label_zh(),
            agent: r.state.agent.clone(),
            agent_name: r.agent_name.clone(),
            opened_at: r.state.opened_at.to_rfc3339(),
            waiting_secs: r.state.waiting_secs(),
            first_response_secs: r.state.first_response_secs(),
            duration_secs: r.state.duration_secs(),
            rating: r.state.rating,
            comment: r.comment.clone(),
            messages: r.last_seq,
        }
    }
}

/// Averages over a list (those with an agent, those rated).
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = InteractionFigures)]
pub struct Figures {
    pub interactions: usize,
    /// With an agent at some point.
    pub served: usize,
    pub avg_waiting_secs: Option<f64>,
    pub avg_first_response_secs: Option<f64>,
    pub avg_duration_secs: Option<f64>,
    pub rated: usize,
    pub avg_rating: Option<f64>,
}

fn avg(v: impl Iterator<Item = f64>) -> Option<f64> {
    let (n, sum) = v.fold((0usize, 0.0), |(n, s), x| (n + 1, s + x));
    (n > 0).then(|| (sum / n as f64 * 10.0).round() / 10.0)
}

pub fn figures(list: &[Summary]) -> Figures {
    Figures {
        interactions: list.len(),
        served: list.iter().filter(|s| s.agent.is_some()).count(),
        avg_waiting_secs: avg(list.iter().filter_map(|s| s.waiting_secs).map(|x| x as f64)),
        avg_first_response_secs: avg(list
            .iter()
            .filter_map(|s| s.first_response_secs)
            .map(|x| x as f64)),
        avg_duration_secs: avg(list
            .iter()
            .filter_map(|s| s.duration_secs)
            .map(|x| x as f64)),
        rated: list.iter().filter(|s| s.rating.is_some()).count(),
        avg_rating: avg(list.iter().filter_map(|s| s.rating).map(f64::from)),
    }
}

/// Which interactions to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this agent's (username).
    pub agent: Option<String>,
    /// Only this taxpayer's.
    pub taxpayer: Option<String>,
    /// Only closed ones (ended, rated, cancelled).
    pub closed_only: bool,
    /// Ids below this (paging, newest first).
    pub before: Option<u64>,
    pub limit: usize,
}

pub fn list(app: &App, f: &Filter) -> AppResult<Vec<Summary>> {
    let keep = |r: &InteractionRecord| {
        f.agent
            .as_ref()
            .is_none_or(|a| r.state.agent.as_deref() == Some(a.as_str()))
            && f.taxpayer.as_ref().is_none_or(|t| &r.taxpayer == t)
            && (!f.closed_only || r.state.stage.is_closed())
    };
    let limit = f.limit.clamp(1, 1000);
    let rows = app.store.read()?.interactions(f.before, limit, &keep)?;
    Ok(rows.iter().map(Summary::of).collect())
}

/// An interaction with its whole transcript.
pub fn transcript(app: &App, id: u64) -> AppResult<(InteractionRecord, Vec<ChatMessage>)> {
    let r = app.store.read()?;
    let rec = r
        .interaction(id)?
        .ok_or_else(|| AppError::new(Code::NotFound).with_message("该征纳互动不存在"))?;
    let msgs = r.chat_messages(id, 0)?;
    Ok((rec, msgs))
}

/// [`transcript`] for a viewer: the owning taxpayer, the agent who served it, admins and
/// auditors; anyone else is told it does not exist.
pub fn transcript_for(
    app: &App,
    id: u64,
    viewer: &crate::store::Subject,
) -> AppResult<(InteractionRecord, Vec<ChatMessage>)> {
    use crate::domain::Role;
    use crate::store::Subject as S;
    let (rec, msgs) = transcript(app, id)?;
    let allowed = match viewer {
        S::Taxpayer { id } => id.as_str() == rec.taxpayer,
        S::Staff { username } => match app.store.read()?.staff(username)?.map(|s| s.role) {
            Some(Role::Admin | Role::Auditor) => true,
            Some(Role::Agent) => rec.state.agent.as_deref() == Some(username.as_str()),
            _ => false,
        },
    };
    if !allowed {
        return Err(AppError::new(Code::NotFound).with_message("该征纳互动不存在"));
    }
    Ok((rec, msgs))
}
