//! The records the platform keeps: taxpayers, invoices, confirmation batches, staff, audit
//! entries. Plain data built from the parsed types; storage encodes them (see `store::codec`).

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{
    CreditRating, Fen, InvoiceKey, InvoiceStatus, InvoiceType, Region, SelectionState, TaxPeriod,
    TaxpayerId,
};

/// One incoming VAT invoice as the platform sees it (S-D2–S-D7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    pub key: InvoiceKey,
    pub kind: InvoiceType,
    pub issued_on: NaiveDate,
    pub seller_id: TaxpayerId,
    pub seller_name: String,
    pub buyer_id: TaxpayerId,
    pub amount: Fen,
    pub tax: Fen,
    pub status: InvoiceStatus,
    pub selection: SelectionState,
}

impl Invoice {
    /// The same invoice as issued, ignoring what has happened to it since (status, selection).
    /// Used to tell an identical re-import from a conflicting one.
    pub fn same_issue(&self, other: &Invoice) -> bool {
        self.key == other.key
            && self.kind == other.kind
            && self.issued_on == other.issued_on
            && self.seller_id == other.seller_id
            && self.seller_name == other.seller_name
            && self.buyer_id == other.buyer_id
            && self.amount == other.amount
            && self.tax == other.tax
    }

    /// Checks an invoice as received from the invoicing system: amounts not negative, tax
    /// not above the amount, seller and buyer different, not issued after `today`.
    pub fn check_issue(&self, today: NaiveDate) -> Result<(), super::DomainError> {
        use super::DomainError;
        if self.amount.value() < 0 {
            return Err(DomainError::new("amount", "金额不能为负数"));
        }
        if self.tax.value() < 0 {
            return Err(DomainError::new("tax", "税额不能为负数"));
        }
        if self.tax > self.amount {
            return Err(DomainError::new("tax", "税额不能大于金额"));
        }
        if self.seller_id == self.buyer_id {
            return Err(DomainError::new("seller_id", "销方税号不能与购方税号相同"));
        }
        if self.seller_name.trim().is_empty() {
            return Err(DomainError::new("seller_name", "销方名称不能为空"));
        }
        if self.issued_on > today {
            return Err(DomainError::new("issued_on", "开票日期不能晚于今天"));
        }
        Ok(())
    }
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

/// A change of credit rating, kept for ever (S-O2, S-T11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingChange {
    pub at: DateTime<FixedOffset>,
    pub from: Option<CreditRating>,
    pub to: Option<CreditRating>,
    pub by: String,
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

/// State of a confirmation batch (S-T6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    /// 待提交
    Pending,
    /// 已提交
    Submitted,
    /// 作废 (declaration found at submit)
    Void,
}

impl BatchStatus {
    /// The manual's words: 待提交, 已提交, and 确认不成功 for a void batch.
    pub fn label_zh(self) -> &'static str {
        match self {
            BatchStatus::Pending => "待提交",
            BatchStatus::Submitted => "已提交",
            BatchStatus::Void => "确认不成功",
        }
    }
}

/// A confirmation batch: the n-th 确认 of a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmationBatch {
    pub taxpayer: TaxpayerId,
    pub period: TaxPeriod,
    pub number: u32,
    pub status: BatchStatus,
    pub invoices: Vec<InvoiceKey>,
    pub count: u64,
    pub amount: Fen,
    pub tax: Fen,
    pub made_at: DateTime<FixedOffset>,
    pub submitted_at: Option<DateTime<FixedOffset>>,
    /// Why the batch is void, when it is.
    pub void_reason: Option<super::rules::VoidReason>,
}

/// Why an 已勾选 invoice went back to 未勾选.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnselectReason {
    /// The taxpayer unticked it.
    Taxpayer,
    /// The period's window closed before it was confirmed (S-P2).
    WindowClosed,
    /// Its confirmation batch became void at 提交 (S-T6).
    BatchVoid,
    /// The period was rolled back (S-T8).
    RolledBack,
    /// Its status changed from 正常 (S-O3).
    StatusChanged,
    /// It passed the certification time limit while selected (S-P3).
    TimeLimit,
    /// It was scan-certified at the tax office (S-O3).
    Scanned,
}

/// A change in an invoice's life, kept for 单票查询 (S-T10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvoiceChange {
    Selected {
        period: TaxPeriod,
    },
    Unselected {
        period: TaxPeriod,
        why: UnselectReason,
    },
    Confirmed {
        period: TaxPeriod,
        batch: u32,
        on: NaiveDate,
    },
    Scanned {
        period: TaxPeriod,
        on: NaiveDate,
    },
    Status {
        from: InvoiceStatus,
        to: InvoiceStatus,
    },
}

impl InvoiceChange {
    pub fn action(&self) -> &'static str {
        match self {
            InvoiceChange::Selected { .. } => "selected",
            InvoiceChange::Unselected { .. } => "unselected",
            InvoiceChange::Confirmed { .. } => "confirmed",
            InvoiceChange::Scanned { .. } => "scanned",
            InvoiceChange::Status { .. } => "status",
        }
    }

    /// A sentence for the history list.
    pub fn describe_zh(&self) -> String {
        match self {
            InvoiceChange::Selected { period } => {
                format!("勾选（税款所属期{}）", period.label_zh())
            }
            InvoiceChange::Unselected { period, why } => {
                let why = match why {
                    UnselectReason::Taxpayer => "纳税人撤销勾选",
                    UnselectReason::WindowClosed => "勾选确认期已结束，未确认的勾选自动回退",
                    UnselectReason::BatchVoid => "确认不成功，发票回退至未勾选",
                    UnselectReason::RolledBack => "税款所属期回退，勾选自动取消",
                    UnselectReason::StatusChanged => "发票状态变更，勾选自动取消",
                    UnselectReason::TimeLimit => "已超过认证期限，勾选自动取消",
                    UnselectReason::Scanned => "该发票已扫描认证，勾选自动取消",
                };
                format!("{why}（税款所属期{}）", period.label_zh())
            }
            InvoiceChange::Confirmed { period, batch, on } => format!(
                "勾选认证：税款所属期{}第{batch}次确认，确认日期{on}",
                period.label_zh()
            ),
            InvoiceChange::Scanned { period, on } => {
                format!("扫描认证：税款所属期{}，认证日期{on}", period.label_zh())
            }
            InvoiceChange::Status { from, to } => {
                format!("发票状态由{}变更为{}", from.label_zh(), to.label_zh())
            }
        }
    }
}

/// One recorded change of an invoice: when, by whom, what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceEvent {
    pub at: DateTime<FixedOffset>,
    pub actor: Actor,
    pub change: InvoiceChange,
}

/// A scan-certification record (扫描认证) imported by the office, waiting for the statistics
/// job to apply it (S-O3, S-T9: "当天扫描认证的数据会第二天在本统计表中体现").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanRecord {
    pub period: TaxPeriod,
    pub scanned_on: NaiveDate,
    pub imported_at: DateTime<FixedOffset>,
    pub by: String,
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

/// One 批量勾选 upload as kept in the taxpayer's operation log (S-T5): what the file asked
/// for and what became of it, row by row for the refusals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkUpload {
    pub at: DateTime<FixedOffset>,
    pub file_name: String,
    /// `xlsx` or `xls`.
    pub format: String,
    pub period: TaxPeriod,
    /// Rows with content below the header.
    pub rows: u64,
    pub selected: u64,
    pub unselected: u64,
    pub unchanged: u64,
    pub rejected: Vec<BulkRejection>,
}

/// A refused row of a 批量勾选 file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkRejection {
    /// The sheet row as a spreadsheet program numbers it.
    pub row: u64,
    pub code: String,
    pub number: String,
    pub reason: String,
    pub message: String,
}

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

    pub fn parse(s: &str) -> Result<Role, super::DomainError> {
        match s.trim() {
            "admin" => Ok(Role::Admin),
            "operator" => Ok(Role::Operator),
            "agent" => Ok(Role::Agent),
            "auditor" => Ok(Role::Auditor),
            _ => Err(super::DomainError::new(
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
    type Error = super::DomainError;

    fn try_from(s: String) -> Result<Actor, Self::Error> {
        let bad = || super::DomainError::new("actor", "操作人格式不正确");
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
