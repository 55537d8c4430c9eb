//! Credit rating (纳税信用等级) and its history.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::domain::error::DomainError;

/// Taxpayer credit rating (纳税信用等级).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CreditRating {
    A,
    B,
    C,
    D,
    M,
}

impl CreditRating {
    pub const ALL: [Self; 5] = [Self::A, Self::B, Self::C, Self::D, Self::M];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::B => "B",
            Self::C => "C",
            Self::D => "D",
            Self::M => "M",
        }
    }

    /// Accepts `A`, `B`, `C`, `D`, `M` (case-insensitive, optionally
    /// followed by `级`, e.g. `"A级"`).
    pub fn parse_api(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        let s = s.strip_suffix('级').unwrap_or(s);
        Self::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                DomainError::new("credit_rating", "纳税信用等级不正确：应为 A、B、C、D 或 M")
            })
    }
}

display_as_str!(CreditRating);

/// A change of credit rating, kept for ever (S-O2, S-T11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingChange {
    pub at: DateTime<FixedOffset>,
    pub from: Option<CreditRating>,
    pub to: Option<CreditRating>,
    pub by: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_rating() {
        for r in CreditRating::ALL {
            assert_eq!(CreditRating::parse_api(r.as_str()).unwrap(), r);
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.as_str())
            );
        }
        assert_eq!(CreditRating::parse_api(" b ").unwrap(), CreditRating::B);
        assert_eq!(CreditRating::parse_api("A级").unwrap(), CreditRating::A);
        assert_eq!(
            serde_json::from_str::<CreditRating>("\"M\"").unwrap(),
            CreditRating::M
        );
        for s in ["", "E", "AA", "级"] {
            let e = CreditRating::parse_api(s).unwrap_err();
            assert_eq!(e.field, "credit_rating");
            assert!(e.message.contains("纳税信用等级"));
        }
    }
}
