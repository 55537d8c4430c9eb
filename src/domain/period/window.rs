//! When a period's selection window closes (S-P1, S-P2): the declaration deadline, and the
//! periods a settlement closes.

use chrono::NaiveDate;

use super::{DeclarationStatus, TaxPeriod};

/// The declaration deadline (申报截止日) of `period`: the office's date for the province if
/// one is recorded, else the statutory default, the 15th of the following month (S-P1).
pub fn deadline(period: TaxPeriod, recorded: Option<NaiveDate>) -> NaiveDate {
    recorded.unwrap_or_else(|| period.default_deadline())
}

/// Why a period's window closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The declaration of the period was recorded as 已申报.
    Declared,
    /// No declaration arrived and the deadline day ended.
    DeadlinePassed,
}

/// Whether the selection window of `period` is open on `today` (S-P1): "当期勾选、确认的
/// 开始时间为您完成上一期申报的当天，结束时间为您完成当期申报的当天；若您一直未进行当期申报，
/// 当期勾选确认的截止时间为您所在省份税务机关设置的当期申报截止期当天" — it stays open through
/// the whole deadline day (until 24:00 local time) unless the declaration is recorded first.
pub fn window_close_reason(
    today: NaiveDate,
    deadline: NaiveDate,
    declaration: Option<DeclarationStatus>,
) -> Option<CloseReason> {
    if declaration == Some(DeclarationStatus::Declared) {
        Some(CloseReason::Declared)
    } else if today > deadline {
        Some(CloseReason::DeadlinePassed)
    } else {
        None
    }
}

/// At most this many periods are closed in one settlement (a century of months): a guard
/// against a nonsensical clock, never reached in practice.
const MAX_ADVANCE: usize = 1200;

/// The periods whose windows have closed by `today`, oldest first, starting from `current`:
/// the first period returned is `current`, each next one its successor, and the period after
/// the last is the new current period. Empty when `current`'s window is still open. A server
/// that was down over a deadline catches up here: every passed deadline closes its period.
/// `facts(p)` gives the deadline and the recorded declaration status of `p`.
pub fn periods_to_close<E>(
    current: TaxPeriod,
    today: NaiveDate,
    mut facts: impl FnMut(TaxPeriod) -> Result<(NaiveDate, Option<DeclarationStatus>), E>,
) -> Result<Vec<(TaxPeriod, CloseReason)>, E> {
    let mut out = Vec::new();
    let mut p = current;
    while out.len() < MAX_ADVANCE && p != TaxPeriod::MAX {
        let (deadline, declaration) = facts(p)?;
        match window_close_reason(today, deadline, declaration) {
            Some(reason) => {
                out.push((p, reason));
                p = p.next();
            }
            None => break,
        }
    }
    Ok(out)
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

    #[test]
    fn window_is_open_through_the_whole_deadline_day() {
        let dl = d(2026, 12, 15);
        // 2026-12-15 23:59:59 +08:00 is still the 15th locally: open.
        assert_eq!(window_close_reason(d(2026, 12, 15), dl, None), None);
        // 00:00 on the 16th: closed.
        assert_eq!(
            window_close_reason(d(2026, 12, 16), dl, None),
            Some(CloseReason::DeadlinePassed)
        );
        assert_eq!(
            window_close_reason(d(2026, 12, 2), dl, Some(DeclarationStatus::Declared)),
            Some(CloseReason::Declared)
        );
        for s in [DeclarationStatus::NotDeclared, DeclarationStatus::Unknown] {
            assert_eq!(window_close_reason(d(2026, 12, 15), dl, Some(s)), None);
        }
    }

    #[test]
    fn default_deadline_and_office_override() {
        assert_eq!(deadline(tp("202611"), None), d(2026, 12, 15));
        assert_eq!(deadline(tp("202612"), None), d(2027, 1, 15));
        assert_eq!(deadline(tp("202601"), Some(d(2026, 2, 24))), d(2026, 2, 24));
    }

    fn close(
        current: TaxPeriod,
        today: NaiveDate,
        deadline_of: impl Fn(TaxPeriod) -> NaiveDate,
        declaration_of: impl Fn(TaxPeriod) -> Option<DeclarationStatus>,
    ) -> Vec<(TaxPeriod, CloseReason)> {
        periods_to_close(current, today, |p| {
            Ok::<_, ()>((deadline_of(p), declaration_of(p)))
        })
        .unwrap()
    }

    #[test]
    fn closing_catches_up_over_several_deadlines_and_years() {
        // Server down from mid-November 2026 to February 2027: 202610, 202611, 202612 close.
        let closed = close(
            tp("202610"),
            d(2027, 2, 1),
            |p| p.default_deadline(),
            |_| None,
        );
        assert_eq!(
            closed,
            vec![
                (tp("202610"), CloseReason::DeadlinePassed),
                (tp("202611"), CloseReason::DeadlinePassed),
                (tp("202612"), CloseReason::DeadlinePassed),
            ]
        );
        assert_eq!(closed.last().unwrap().0.next(), tp("202701"));
        // A declaration closes early; the next period then stays open.
        let closed = close(
            tp("202611"),
            d(2026, 12, 3),
            |p| p.default_deadline(),
            |p| (p == tp("202611")).then_some(DeclarationStatus::Declared),
        );
        assert_eq!(closed, vec![(tp("202611"), CloseReason::Declared)]);
        assert!(close(
            tp("202611"),
            d(2026, 12, 15),
            |p| p.default_deadline(),
            |_| None
        )
        .is_empty());
    }

    #[test]
    fn deadline_moved_by_the_office() {
        let moved = |p: TaxPeriod| {
            if p == tp("202601") {
                d(2026, 2, 24)
            } else {
                p.default_deadline()
            }
        };
        // The default would have closed 202601 on 2026-02-16; the moved deadline keeps it open.
        assert!(close(tp("202601"), d(2026, 2, 16), moved, |_| None).is_empty());
        assert!(close(tp("202601"), d(2026, 2, 24), moved, |_| None).is_empty());
        assert_eq!(
            close(tp("202601"), d(2026, 2, 25), moved, |_| None).len(),
            1
        );
        // Moved earlier: closes sooner.
        let earlier = |p: TaxPeriod| {
            if p == tp("202601") {
                d(2026, 2, 10)
            } else {
                p.default_deadline()
            }
        };
        assert_eq!(
            close(tp("202601"), d(2026, 2, 11), earlier, |_| None).len(),
            1
        );
    }
}
