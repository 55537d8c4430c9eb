//! The frames of `docs/interaction.md`: what clients send (parsed, not validated later) and
//! the JSON the hub sends back.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::interaction::{Call, ChatMessage, InteractionRecord, Party, Stage};

/// A frame from a client.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case", deny_unknown_fields)]
pub enum In {
    Hello {
        #[serde(default)]
        since: BTreeMap<String, u64>,
    },
    Say {
        i: u64,
        text: String,
        #[serde(default)]
        cid: Option<String>,
    },
    Human {
        i: u64,
    },
    Cancel {
        i: u64,
    },
    Close {
        i: u64,
    },
    Accept {},
    End {
        i: u64,
    },
    Rate {
        i: u64,
        stars: u8,
        #[serde(default)]
        comment: Option<String>,
    },
    Call {
        i: u64,
    },
    AnswerCall {
        i: u64,
    },
    Hangup {
        i: u64,
    },
    Signal {
        i: u64,
        data: Value,
    },
    Transcript {
        i: u64,
    },
    Ping {},
}

impl In {
    /// Parses one text frame; the error is for the `bad_frame` answer.
    pub fn parse(text: &str) -> Result<In, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
}

pub fn stage_name(s: Stage) -> &'static str {
    match s {
        Stage::Bot => "bot",
        Stage::Queued => "queued",
        Stage::Assigned => "assigned",
        Stage::Ended => "ended",
        Stage::Rated => "rated",
        Stage::Cancelled => "cancelled",
    }
}

pub fn call_name(c: Call) -> &'static str {
    match c {
        Call::None => "none",
        Call::Ringing => "ringing",
        Call::Active => "active",
    }
}

/// Whether 发起人工导税 can be offered, and if not why and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Human {
    pub available: bool,
    pub reason: String,
    pub next: Option<DateTime<FixedOffset>>,
}

impl Human {
    pub fn json(&self) -> Value {
        json!({
            "available": self.available,
            "reason": self.reason,
            "next": self.next.map(|t| t.to_rfc3339()),
        })
    }
}

pub fn state(r: &InteractionRecord, position: Option<usize>, human: &Human) -> Value {
    json!({
        "t": "state",
        "i": r.id,
        "stage": stage_name(r.state.stage),
        "call": call_name(r.state.call),
        "agent": r.agent_name,
        "taxpayer": {"id": r.taxpayer, "name": r.taxpayer_name},
        "position": position,
        "last_seq": r.last_seq,
        "rating_offered": r.state.rating_offered,
        "rating": r.state.rating,
        "comment": r.comment,
        "opened_at": r.state.opened_at.to_rfc3339(),
        "queued_at": r.state.queued_at.map(|t| t.to_rfc3339()),
        "assigned_at": r.state.assigned_at.map(|t| t.to_rfc3339()),
        "waiting_secs": r.state.waiting_secs(),
        "human": human.json(),
    })
}

pub fn message(interaction: u64, m: &ChatMessage, taxpayer_name: &str) -> Value {
    let (from, name) = match &m.from {
        Party::Taxpayer => ("taxpayer", taxpayer_name.to_string()),
        Party::Agent { name, .. } => ("agent", name.clone()),
        Party::Bot => ("bot", "智能服务".to_string()),
        Party::System => ("system", "系统消息".to_string()),
    };
    json!({
        "t": "msg",
        "i": interaction,
        "seq": m.seq,
        "at": m.at.to_rfc3339(),
        "from": from,
        "name": name,
        "text": m.text,
        "cid": m.cid,
        "suggest": m.suggest.iter().map(|s| json!({"id": s.id, "question": s.question})).collect::<Vec<_>>(),
        "faq": m.faq,
    })
}

pub fn error(i: Option<u64>, code: &str, message: &str, cid: Option<&str>) -> Value {
    json!({"t": "error", "i": i, "code": code, "message": message, "cid": cid})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_and_unknown_shapes_are_refused() {
        assert_eq!(
            In::parse(r#"{"t":"say","i":3,"text":"你好","cid":"c1"}"#).unwrap(),
            In::Say {
                i: 3,
                text: "你好".into(),
                cid: Some("c1".into())
            }
        );
        assert_eq!(
            In::parse(r#"{"t":"hello","since":{"7":12}}"#).unwrap(),
            In::Hello {
                since: [("7".to_string(), 12)].into_iter().collect()
            }
        );
        assert_eq!(In::parse(r#"{"t":"accept"}"#).unwrap(), In::Accept {});
        for bad in [
            "",
            "null",
            r#"{"t":"say","i":"x","text":"a"}"#,
            r#"{"t":"fly"}"#,
            r#"{"t":"rate","i":1,"stars":900}"#,
            r#"{"t":"say","i":1,"text":"a","extra":1}"#,
        ] {
            assert!(In::parse(bad).is_err(), "{bad}");
        }
    }
}
