//! Who may enter the taxpayer portal (S-T1), as plain functions over plain data.
//!
//! The manual: "若平台密码错误次数超过十次，请联系当地税务机关解锁重置或明天再试" — more than ten
//! wrong platform passwords in one day lock the account until the next day or until staff
//! unlock it.

use chrono::NaiveDate;

use super::{PasswordFailures, Taxpayer};

/// The longest password any login or password change accepts: argon2 of a megabyte costs as
/// much as a hundred logins, and no password of ours is longer.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Wrong platform passwords tolerated in one day; one more locks the account.
pub const DAILY_PASSWORD_FAILURES_ALLOWED: u32 = 10;

/// Why a taxpayer may not enter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefusal {
    /// 档案信息未同步
    UnknownTaxpayer,
    /// 不符合登录条件
    NotEligible,
    /// 信用等级未设置
    CreditRatingUnset,
    /// A platform password is set and none was given.
    PasswordRequired,
    /// Wrong platform password; this many tries remain today before the lock.
    PasswordWrong { attempts_left: u32 },
    /// More than ten wrong passwords today.
    Locked,
}

/// The checks on the taxpayer record itself, in the order the portal applies them.
pub fn admission(taxpayer: Option<&Taxpayer>) -> Result<&Taxpayer, LoginRefusal> {
    let t = taxpayer.ok_or(LoginRefusal::UnknownTaxpayer)?;
    if !t.eligible {
        return Err(LoginRefusal::NotEligible);
    }
    if t.credit_rating.is_none() {
        return Err(LoginRefusal::CreditRatingUnset);
    }
    Ok(t)
}

/// Wrong passwords counted for `today` (a count from an earlier day no longer counts).
pub fn failures_on(f: &PasswordFailures, today: NaiveDate) -> u32 {
    if f.day == Some(today) {
        f.count
    } else {
        0
    }
}

pub fn is_locked(f: &PasswordFailures, today: NaiveDate) -> bool {
    failures_on(f, today) > DAILY_PASSWORD_FAILURES_ALLOWED
}

/// The counter after one more wrong password today, and the refusal to give.
pub fn after_wrong_password(
    f: &PasswordFailures,
    today: NaiveDate,
) -> (PasswordFailures, LoginRefusal) {
    let count = failures_on(f, today) + 1;
    let next = PasswordFailures {
        day: Some(today),
        count,
    };
    let refusal = if count > DAILY_PASSWORD_FAILURES_ALLOWED {
        LoginRefusal::Locked
    } else {
        LoginRefusal::PasswordWrong {
            attempts_left: DAILY_PASSWORD_FAILURES_ALLOWED + 1 - count,
        }
    };
    (next, refusal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    #[test]
    fn eleventh_wrong_password_of_a_day_locks_and_next_day_is_fresh() {
        let mut f = PasswordFailures::default();
        for i in 1..=10 {
            let (next, r) = after_wrong_password(&f, day(5));
            assert_eq!(
                r,
                LoginRefusal::PasswordWrong {
                    attempts_left: 11 - i
                }
            );
            assert!(!is_locked(&next, day(5)));
            f = next;
        }
        let (f, r) = after_wrong_password(&f, day(5));
        assert_eq!(r, LoginRefusal::Locked);
        assert!(is_locked(&f, day(5)));
        assert!(!is_locked(&f, day(6)));
        let (_, r) = after_wrong_password(&f, day(6));
        assert_eq!(r, LoginRefusal::PasswordWrong { attempts_left: 10 });
    }
}
