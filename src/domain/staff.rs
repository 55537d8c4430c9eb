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

    /// Whether the role answers 征纳互动 (the agent console) and keeps its knowledge base.
    pub fn serves_interactions(self) -> bool {
        self.may(Area::Serve)
    }
}

/// What a staff request is for: the rows of the role matrix. Every staff route of the API and
/// the console names one (`http::access`); [`Role::may`] is the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Area {
    /// The console itself: its home page, logging out, reading the knowledge base.
    Console,
    /// Read taxpayer records, invoices, declarations, deadlines, statistics and the clock.
    ReadOffice,
    /// Change them: create and edit taxpayers, import invoices and scans, record
    /// declarations and deadlines, set the training clock, refresh statistics.
    ChangeOffice,
    /// Read and export the audit log (who did what, from which address).
    ReadAudit,
    /// Answer taxpayers in 征纳互动: the console, its socket.
    Serve,
    /// Read 征纳互动 transcripts and their figures (an agent only those it served).
    ReadInteractions,
    /// Keep the 征纳互动 knowledge base.
    EditKnowledge,
    /// Manage staff accounts: list, create, change roles, disable, reset passwords.
    ManageStaff,
    /// Run the system: backups, training snapshots.
    Operate,
}

impl Area {
    pub const ALL: [Area; 9] = [
        Area::Console,
        Area::ReadOffice,
        Area::ChangeOffice,
        Area::ReadAudit,
        Area::Serve,
        Area::ReadInteractions,
        Area::EditKnowledge,
        Area::ManageStaff,
        Area::Operate,
    ];
}

/// The role matrix, written once: which roles may act in each area. An agent sees the
/// interaction it serves (with the taxpayer's name and ID in it) and the knowledge base, and
/// nothing of the office's data; an auditor reads everything and changes nothing.
const MATRIX: [(Area, &[Role]); 9] = [
    (
        Area::Console,
        &[Role::Admin, Role::Operator, Role::Agent, Role::Auditor],
    ),
    (
        Area::ReadOffice,
        &[Role::Admin, Role::Operator, Role::Auditor],
    ),
    (Area::ChangeOffice, &[Role::Admin, Role::Operator]),
    (Area::ReadAudit, &[Role::Admin, Role::Auditor]),
    (Area::Serve, &[Role::Admin, Role::Agent]),
    (
        Area::ReadInteractions,
        &[Role::Admin, Role::Agent, Role::Auditor],
    ),
    (Area::EditKnowledge, &[Role::Admin, Role::Agent]),
    (Area::ManageStaff, &[Role::Admin]),
    (Area::Operate, &[Role::Admin]),
];

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Operator, Role::Agent, Role::Auditor];

    /// Whether this role may act in `area` (the matrix above).
    pub fn may(self, area: Area) -> bool {
        MATRIX
            .iter()
            .any(|(a, roles)| *a == area && roles.contains(&self))
    }
}

/// Usernames: 3–32 characters of ASCII letters, digits, `.`, `_` or `-`.
pub fn parse_username(s: &str) -> Result<String, DomainError> {
    let s = s.trim();
    let ok_len = (3..=32).contains(&s.len());
    let ok_chars = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok_len && ok_chars {
        Ok(s.to_string())
    } else {
        Err(DomainError::new(
            "username",
            "用户名应为3至32位字母、数字、点、下划线或连字符",
        ))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_area_is_in_the_matrix_once_and_staff_is_managed_by_admins_only() {
        for area in Area::ALL {
            assert_eq!(MATRIX.iter().filter(|(a, _)| *a == area).count(), 1);
            assert!(Role::Admin.may(area), "{area:?}");
        }
        assert_eq!(MATRIX.len(), Area::ALL.len());
        for role in [Role::Operator, Role::Agent, Role::Auditor] {
            assert!(!role.may(Area::ManageStaff), "{role:?}");
            assert!(role.may(Area::Console), "{role:?}");
        }
    }
}
