//! Who did something, and the append-only audit log (S-O6).

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::{DomainError, TaxpayerId};

/// Who did something. Serialised as its display form (`staff:admin`, `taxpayer:<ID>`,
/// `system:<what>`, `anonymous`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Actor {
    Staff { username: String },
    Taxpayer { id: TaxpayerId },
    System { what: String },
    Anonymous,
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::Staff { username } => write!(f, "staff:{username}"),
            Actor::Taxpayer { id } => write!(f, "taxpayer:{id}"),
            Actor::System { what } => write!(f, "system:{what}"),
            Actor::Anonymous => write!(f, "anonymous"),
        }
    }
}

impl From<Actor> for String {
    fn from(a: Actor) -> String {
        a.to_string()
    }
}

impl TryFrom<String> for Actor {
    type Error = DomainError;

    fn try_from(s: String) -> Result<Actor, Self::Error> {
        let bad = || DomainError::new("actor", "操作人格式不正确");
        if s == "anonymous" {
            return Ok(Actor::Anonymous);
        }
        let (kind, rest) = s.split_once(':').ok_or_else(bad)?;
        match kind {
            "staff" => Ok(Actor::Staff {
                username: rest.to_string(),
            }),
            "taxpayer" => Ok(Actor::Taxpayer {
                id: TaxpayerId::parse(rest)?,
            }),
            "system" => Ok(Actor::System {
                what: rest.to_string(),
            }),
            _ => Err(bad()),
        }
    }
}

/// One entry of the append-only audit log (S-O6): who, when, what, from which address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: u64,
    /// Wall-clock time of the change.
    pub at: DateTime<FixedOffset>,
    /// Business time when it differs from `at` (training clock).
    pub business_at: Option<DateTime<FixedOffset>>,
    pub actor: Actor,
    pub address: Option<String>,
    /// Dotted action name, e.g. `staff.login`, `taxpayer.create`.
    pub action: String,
    /// What was acted on, e.g. a taxpayer ID or `code number`.
    pub target: String,
    /// Free-form detail (often JSON text).
    pub detail: String,
}
