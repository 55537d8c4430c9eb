//! The dates this system accepts from anyone: 1990-01-01 to 2099-12-31. China's VAT invoices
//! began in 1994 and no tax period of this system reaches past 2099, so a date outside is a
//! typing error (or a probe), not data: an invoice issued `0000-01-01` or a training clock set
//! to the year 9999 would only upset every period computation after it.

use chrono::{Datelike, NaiveDate};

use super::DomainError;

pub const FIRST_YEAR: i32 = 1990;
pub const LAST_YEAR: i32 = 2099;

/// The first and last accepted dates.
pub fn bounds() -> (NaiveDate, NaiveDate) {
    (
        NaiveDate::from_ymd_opt(FIRST_YEAR, 1, 1).unwrap_or(NaiveDate::MIN),
        NaiveDate::from_ymd_opt(LAST_YEAR, 12, 31).unwrap_or(NaiveDate::MAX),
    )
}

/// Whether `d` lies in the accepted range.
pub fn sane(d: NaiveDate) -> bool {
    (FIRST_YEAR..=LAST_YEAR).contains(&d.year())
}

/// `d` if it lies in the accepted range; else a refusal naming the field.
pub fn check(field: &'static str, label: &str, d: NaiveDate) -> Result<NaiveDate, DomainError> {
    if sane(d) {
        Ok(d)
    } else {
        Err(DomainError::new(field, out_of_range(label)))
    }
}

/// The refusal's text for a date out of range.
pub fn out_of_range(label: &str) -> String {
    format!("{label}应在{FIRST_YEAR}-01-01至{LAST_YEAR}-12-31之间")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dates_from_1990_to_2099() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        assert!(sane(d(1990, 1, 1)) && sane(d(2099, 12, 31)) && sane(d(2026, 11, 23)));
        assert!(!sane(d(1989, 12, 31)) && !sane(d(2100, 1, 1)) && !sane(d(0, 1, 1)));
        let e = check("issued_on", "开票日期", d(9999, 1, 1)).unwrap_err();
        assert_eq!(e.field, "issued_on");
        assert_eq!(e.message, "开票日期应在1990-01-01至2099-12-31之间");
    }
}
