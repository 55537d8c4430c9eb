//! The taxpayer record (S-D8) and what hangs off it: contact, enterprise information, the
//! platform password, and the office's changes to it.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{CreditRating, RatingChange, Region, TaxpayerId};
use crate::domain::TaxPeriod;

/// A taxpayer (纳税人) as recorded by the tax office (S-D8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taxpayer {
    pub id: TaxpayerId,
    pub name: String,
    pub region: Region,
    /// 主管税务机关
    pub authority: String,
    pub eligible: bool,
    pub credit_rating: Option<CreditRating>,
    pub rating_history: Vec<RatingChange>,
    pub contact: Contact,
    pub enterprise: Enterprise,
    pub platform_password: Option<PlatformPassword>,
    pub password_failures: PasswordFailures,
    /// SHA-256 fingerprints (hex) of bound client certificates.
    pub certificates: Vec<String>,
    pub current_period: TaxPeriod,
    /// Set when the taxpayer advanced the period by answering 已完成申报 (S-T6, S-T8):
    /// the period that was left.
    pub manual_advance_from: Option<TaxPeriod>,
    /// Whether the first-login confirmation (S-T2) has been done.
    pub first_login_done: bool,
    pub training: bool,
    pub created_at: DateTime<FixedOffset>,
}

/// 办税人员: the person who handles tax matters for the enterprise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub name: String,
    pub phone: String,
    pub email: String,
}

/// Enterprise basic information confirmed at first login (S-T2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enterprise {
    pub address: String,
    pub phone: String,
    pub legal_representative: String,
}

/// The optional platform password, the second login factor (S-T1). Hashes are argon2id PHC
/// strings; the recovery answer is hashed the same way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformPassword {
    pub hash: String,
    pub question: String,
    pub answer_hash: String,
}

/// Wrong platform passwords counted per calendar day (S-T1: more than 10 a day locks).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordFailures {
    pub day: Option<NaiveDate>,
    pub count: u32,
}

/// A change to a taxpayer's record made by the office (S-O2: every change recorded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileChange {
    pub at: DateTime<FixedOffset>,
    pub by: String,
    pub field: String,
    pub from: String,
    pub to: String,
}
