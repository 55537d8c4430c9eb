//! 回退税款所属期 (S-T8): whether the taxpayer may go back to the period it left.

use chrono::NaiveDate;

use super::{DeclarationStatus, TaxPeriod};

/// The unmet condition of 回退税款所属期 (S-T8), in the order they are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RollbackRefusal {
    /// "在本平台确认勾选时，手工误点击'已完成申报'选项" does not hold.
    NotManualAdvance,
    /// "跳转到下期后，没有在'确认勾选'模块进行过确认已勾选发票的操作" does not hold.
    ConfirmedInNewPeriod,
    /// "系统获取到的当期申报结果为'未申报'" does not hold.
    PreviousPeriodDeclared,
    /// "回退功能在征期内有效" does not hold.
    OutsideFilingPeriod,
}

impl RollbackRefusal {
    pub fn code(self) -> &'static str {
        match self {
            RollbackRefusal::NotManualAdvance => "not_manual_advance",
            RollbackRefusal::ConfirmedInNewPeriod => "confirmed_in_new_period",
            RollbackRefusal::PreviousPeriodDeclared => "previous_period_declared",
            RollbackRefusal::OutsideFilingPeriod => "outside_filing_period",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            RollbackRefusal::NotManualAdvance => {
                "不符合回退条件：当前税款所属期不是因确认勾选时选择“已完成申报”而跳转的"
            }
            RollbackRefusal::ConfirmedInNewPeriod => {
                "不符合回退条件：跳转到下期后已进行过确认勾选操作"
            }
            RollbackRefusal::PreviousPeriodDeclared => {
                "不符合回退条件：系统获取到的上期申报结果不是“未申报”"
            }
            RollbackRefusal::OutsideFilingPeriod => "不符合回退条件：回退功能仅在征期内有效",
        }
    }
}

/// The facts 回退税款所属期 is decided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollbackFacts {
    pub current: TaxPeriod,
    /// The period left by answering 已完成申报, if that is how the period last advanced.
    pub manual_advance_from: Option<TaxPeriod>,
    /// Submitted confirmation batches in the current period.
    pub submitted_in_current: usize,
    /// The recorded declaration status of the previous period.
    pub previous_declaration: Option<DeclarationStatus>,
    /// The deadline of the previous period.
    pub previous_deadline: NaiveDate,
    pub today: NaiveDate,
}

/// Whether the period may go back (S-T8); `Ok` names the period it goes back to.
pub fn rollback_check(f: &RollbackFacts) -> Result<TaxPeriod, RollbackRefusal> {
    let previous = f.current.prev();
    if f.manual_advance_from != Some(previous) || previous == f.current {
        return Err(RollbackRefusal::NotManualAdvance);
    }
    if f.submitted_in_current > 0 {
        return Err(RollbackRefusal::ConfirmedInNewPeriod);
    }
    if f.previous_declaration != Some(DeclarationStatus::NotDeclared) {
        return Err(RollbackRefusal::PreviousPeriodDeclared);
    }
    if !previous
        .filing_period(f.previous_deadline)
        .contains(f.today)
    {
        return Err(RollbackRefusal::OutsideFilingPeriod);
    }
    Ok(previous)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn tp(s: &str) -> TaxPeriod {
        TaxPeriod::parse(s).unwrap()
    }

    fn facts() -> RollbackFacts {
        RollbackFacts {
            current: tp("202612"),
            manual_advance_from: Some(tp("202611")),
            submitted_in_current: 0,
            previous_declaration: Some(DeclarationStatus::NotDeclared),
            previous_deadline: d(2026, 12, 15),
            today: d(2026, 12, 10),
        }
    }

    #[test]
    fn rollback_allowed_when_all_hold() {
        assert_eq!(rollback_check(&facts()), Ok(tp("202611")));
        // Last day of the filing period.
        assert_eq!(
            rollback_check(&RollbackFacts {
                today: d(2026, 12, 15),
                ..facts()
            }),
            Ok(tp("202611"))
        );
    }

    #[test]
    fn each_rollback_condition_failing_alone() {
        let cases = [
            (
                RollbackFacts {
                    manual_advance_from: None,
                    ..facts()
                },
                RollbackRefusal::NotManualAdvance,
            ),
            (
                RollbackFacts {
                    manual_advance_from: Some(tp("202610")),
                    ..facts()
                },
                RollbackRefusal::NotManualAdvance,
            ),
            (
                RollbackFacts {
                    submitted_in_current: 1,
                    ..facts()
                },
                RollbackRefusal::ConfirmedInNewPeriod,
            ),
            (
                RollbackFacts {
                    previous_declaration: Some(DeclarationStatus::Declared),
                    ..facts()
                },
                RollbackRefusal::PreviousPeriodDeclared,
            ),
            (
                RollbackFacts {
                    previous_declaration: Some(DeclarationStatus::Unknown),
                    ..facts()
                },
                RollbackRefusal::PreviousPeriodDeclared,
            ),
            (
                RollbackFacts {
                    previous_declaration: None,
                    ..facts()
                },
                RollbackRefusal::PreviousPeriodDeclared,
            ),
            (
                RollbackFacts {
                    today: d(2026, 12, 16),
                    ..facts()
                },
                RollbackRefusal::OutsideFilingPeriod,
            ),
            (
                RollbackFacts {
                    today: d(2026, 11, 30),
                    ..facts()
                },
                RollbackRefusal::OutsideFilingPeriod,
            ),
        ];
        for (f, want) in cases {
            assert_eq!(rollback_check(&f), Err(want), "{f:?}");
            assert!(!want.message().is_empty());
        }
    }
}
