//! Tax office staff accounts and their roles (S-O1).

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::DomainError;

/// Roles of tax office staff (S-O1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Operator,
    Agent,
    Auditor,
}

impl Role {
    pub fn label_zh(self) -> &'static str {
        match self {
            Role::Admin => "管理员",
            Role::Operator => "业务操作员",
            Role::Agent => "征纳互动坐席",
            Role::Auditor => "审计员",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Agent => "agent",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Result<Role, DomainError> {
        match s.trim() {
            "admin" => Ok(Role::Admin),
            "operator" => Ok(Role::Operator),
            "agent" => Ok(Role::Agent),
            "auditor" => Ok(Role::Auditor),
            _ => Err(DomainError::new(
                "role",
                "角色应为 admin、operator、agent 或 auditor",
            )),
        }
    }

    /// Whether the role may change taxpayer, invoice and period data.
    pub fn can_write_data(self) -> bool {
        matches!(self, Role::Admin | Role::Operator)
    }

    /// Whether the role answers 征纳互动 (the agent console) and keeps its knowledge base.
    pub fn serves_interactions(self) -> bool {
        matches!(self, Role::Admin | Role::Agent)
    }
}

/// A tax office staff account (S-O1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staff {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: DateTime<FixedOffset>,
}
