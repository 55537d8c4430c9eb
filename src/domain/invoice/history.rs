//! An invoice's history (单票查询, S-T10): what changed, when, by whom.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{CustomsAudit, InvoiceStatus, InvoiceUse, Usage};
use crate::domain::{Actor, Fen, TaxPeriod};

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
    /// The office withdrew the 退税 registration it was selected under.
    Registration,
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
    /// A 缴款书's 稽核比对 result changed (always the last variant: stored by index).
    Audit {
        from: Option<CustomsAudit>,
        to: CustomsAudit,
    },
    /// Selected for a use other than 抵扣 of the whole tax (appended: stored by index).
    SelectedFor {
        period: TaxPeriod,
        usage: Usage,
    },
    /// Confirmed for a use other than 抵扣 (appended: stored by index).
    ConfirmedFor {
        period: TaxPeriod,
        batch: u32,
        on: NaiveDate,
        #[serde(rename = "use")]
        use_: InvoiceUse,
    },
    /// 进项税额转出 recorded for the period (appended: stored by index).
    TransferredOut {
        period: TaxPeriod,
        tax: Fen,
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
            InvoiceChange::Audit { .. } => "audit",
            InvoiceChange::SelectedFor { .. } => "selected",
            InvoiceChange::ConfirmedFor { .. } => "confirmed",
            InvoiceChange::TransferredOut { .. } => "transferred_out",
        }
    }

    /// The action's name as the pages show it.
    pub fn action_zh(action: &str) -> &'static str {
        match action {
            "selected" => "勾选",
            "unselected" => "撤销勾选",
            "confirmed" => "确认勾选",
            "scanned" => "扫描认证",
            "status" => "状态变更",
            "audit" => "稽核比对",
            "transferred_out" => "进项税额转出",
            _ => "其他",
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
                    UnselectReason::Registration => "退税登记已取消，退税勾选自动取消",
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
            InvoiceChange::Audit { from, to } => format!(
                "稽核比对结果由{}变更为{}",
                from.map_or("无", CustomsAudit::label_zh),
                to.label_zh()
            ),
            InvoiceChange::SelectedFor { period, usage } => {
                let what = match (usage.use_, usage.reason) {
                    (InvoiceUse::NoDeduct, Some(r)) => match &usage.reason_text {
                        Some(t) => format!("不抵扣，原因：{}（{t}）", r.label_zh()),
                        None => format!("不抵扣，原因：{}", r.label_zh()),
                    },
                    (u, _) => format!(
                        "{}，有效税额{}",
                        u.label_zh(),
                        usage.effective_tax.format_plain()
                    ),
                };
                format!("勾选用于{what}（税款所属期{}）", period.label_zh())
            }
            InvoiceChange::ConfirmedFor {
                period,
                batch,
                on,
                use_,
            } => format!(
                "勾选认证（{}）：税款所属期{}第{batch}次确认，确认日期{on}",
                use_.label_zh(),
                period.label_zh()
            ),
            InvoiceChange::TransferredOut { period, tax } => format!(
                "进项税额转出 {} 元（税款所属期{}）",
                tax.format_plain(),
                period.label_zh()
            ),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every action has its Chinese name (a new one without would show as 其他).
    #[test]
    fn every_action_has_a_chinese_name() {
        let p = TaxPeriod::parse("202611").unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        let all = [
            InvoiceChange::Selected { period: p },
            InvoiceChange::Unselected {
                period: p,
                why: UnselectReason::Taxpayer,
            },
            InvoiceChange::Confirmed {
                period: p,
                batch: 1,
                on: d,
            },
            InvoiceChange::Scanned { period: p, on: d },
            InvoiceChange::Status {
                from: InvoiceStatus::Normal,
                to: InvoiceStatus::Voided,
            },
            InvoiceChange::SelectedFor {
                period: p,
                usage: Usage::deduct(Fen::new(100)),
            },
            InvoiceChange::ConfirmedFor {
                period: p,
                batch: 1,
                on: d,
                use_: InvoiceUse::Refund,
            },
            InvoiceChange::TransferredOut {
                period: p,
                tax: Fen::new(100),
            },
        ];
        for c in all {
            assert_ne!(
                InvoiceChange::action_zh(c.action()),
                "其他",
                "{}",
                c.action()
            );
        }
        assert_eq!(InvoiceChange::action_zh("confirmed"), "确认勾选");
    }
}
