//! Whether a period's VAT return has been filed (申报状态).

use serde::{Deserialize, Serialize};

use crate::domain::error::DomainError;

/// Whether the period's VAT return has been filed (申报状态).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclarationStatus {
    /// 已申报
    Declared,
    /// 未申报
    NotDeclared,
    /// 未获取 (not yet known)
    Unknown,
}

impl DeclarationStatus {
    pub const ALL: [Self; 3] = [Self::Declared, Self::NotDeclared, Self::Unknown];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Declared => "declared",
            Self::NotDeclared => "not_declared",
            Self::Unknown => "unknown",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Declared => "已申报",
            Self::NotDeclared => "未申报",
            Self::Unknown => "未获取",
        }
    }

    /// Accepts the snake_case name or the Chinese label.
    pub fn parse_api(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s || t.label_zh() == s)
            .ok_or_else(|| {
                DomainError::new(
                    "status",
                    "申报状态不正确：应为 declared（已申报）、not_declared（未申报）或 unknown（未获取）",
                )
            })
    }

    /// Compact storage code (1..=3).
    pub fn code(self) -> u8 {
        match self {
            Self::Declared => 1,
            Self::NotDeclared => 2,
            Self::Unknown => 3,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == code)
    }
}

display_as_str!(DeclarationStatus);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declaration_status() {
        let labels: Vec<_> = DeclarationStatus::ALL
            .iter()
            .map(|s| s.label_zh())
            .collect();
        assert_eq!(labels, ["已申报", "未申报", "未获取"]);
        for s in DeclarationStatus::ALL {
            assert_eq!(DeclarationStatus::parse_api(s.as_str()).unwrap(), s);
            assert_eq!(DeclarationStatus::parse_api(s.label_zh()).unwrap(), s);
            assert_eq!(DeclarationStatus::from_code(s.code()), Some(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert_eq!(
            serde_json::to_string(&DeclarationStatus::NotDeclared).unwrap(),
            "\"not_declared\""
        );
        assert_eq!(DeclarationStatus::from_code(9), None);
        let e = DeclarationStatus::parse_api("done").unwrap_err();
        assert_eq!(e.field, "status");
        assert!(e.message.contains("申报状态"));
    }
}
