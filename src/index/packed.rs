//! The `packed` column: every condition of a 发票勾选 query that is not a term — selection
//! state, status, kind, certification date and issue date — in one 64-bit value per
//! document, so that checking a document reads one column instead of five.
//!
//! Layout, low bits first: selection state (3 bits), status code (4), kind code (4),
//! certification date (21, days from CE, 0 when not certified) and issue date (21). A date
//! outside `1..DAY_MAX` is stored clamped to 0 or [`DAY_MAX`]; a clamped value is not the
//! date, and the collector reads the exact column for it (a date before the year 1 or after
//! the year 5741 costs one more read, nothing else).

const SEL_BITS: u32 = 3;
const STATUS_BITS: u32 = 4;
const KIND_BITS: u32 = 4;
const DAY_BITS: u32 = 21;

const STATUS_SHIFT: u32 = SEL_BITS;
const KIND_SHIFT: u32 = STATUS_SHIFT + STATUS_BITS;
const CERT_SHIFT: u32 = KIND_SHIFT + KIND_BITS;
const ISSUED_SHIFT: u32 = CERT_SHIFT + DAY_BITS;

// The four selection states fit, and the fields fit one u64 (checked at compile time).
const _: () = assert!(SEL_MAX >= 3);
const _: () = assert!(ISSUED_SHIFT + DAY_BITS <= 64);

/// The largest day a packed date holds (a larger one is stored as this).
pub const DAY_MAX: i64 = (1 << DAY_BITS) - 1;

/// The largest code each small field holds.
pub const SEL_MAX: u64 = (1 << SEL_BITS) - 1;
pub const STATUS_MAX: u64 = (1 << STATUS_BITS) - 1;
pub const KIND_MAX: u64 = (1 << KIND_BITS) - 1;

fn clamp_day(days: i64) -> u64 {
    // In range after the clamp: the cast cannot wrap.
    days.clamp(0, DAY_MAX) as u64
}

/// The packed value. Codes above their field's maximum are a programming error, caught by
/// the unit test over every code (`every_code_fits`); they are masked, never spilled into
/// the next field.
pub fn pack(sel: u64, status: u64, kind: u64, cert_on: i64, issued: i64) -> u64 {
    (sel & SEL_MAX)
        | (status & STATUS_MAX) << STATUS_SHIFT
        | (kind & KIND_MAX) << KIND_SHIFT
        | clamp_day(cert_on) << CERT_SHIFT
        | clamp_day(issued) << ISSUED_SHIFT
}

pub fn sel(v: u64) -> u64 {
    v & SEL_MAX
}

pub fn status(v: u64) -> u64 {
    v >> STATUS_SHIFT & STATUS_MAX
}

pub fn kind(v: u64) -> u64 {
    v >> KIND_SHIFT & KIND_MAX
}

/// The certification date in days, or `None` when clamped (read the exact column).
pub fn cert_on(v: u64) -> Option<i64> {
    exact_day(v >> CERT_SHIFT)
}

/// The issue date in days, or `None` when clamped (read the exact column).
pub fn issued(v: u64) -> Option<i64> {
    exact_day(v >> ISSUED_SHIFT)
}

/// Whether the certification date is after day 0 (a certified invoice; the date of one
/// that is not is 0). A certification-date condition starts at day 1 or later, so it can
/// reject a document on this alone without reading the exact column.
pub fn certified(v: u64) -> bool {
    v >> CERT_SHIFT & DAY_MAX as u64 != 0
}

fn exact_day(field: u64) -> Option<i64> {
    // At most DAY_BITS bits: fits an i64.
    let d = (field & DAY_MAX as u64) as i64;
    (d != 0 && d != DAY_MAX).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{InvoiceStatus, InvoiceType};

    #[test]
    fn every_code_fits() {
        for s in InvoiceStatus::ALL {
            assert!(u64::from(s.code()) <= STATUS_MAX, "{s:?}");
        }
        for k in InvoiceType::ALL {
            assert!(u64::from(k.code()) <= KIND_MAX, "{k:?}");
        }
    }

    #[test]
    fn fields_round_trip_and_stay_apart() {
        let v = pack(3, 5, 9, 739_000, 739_500);
        assert_eq!(
            (sel(v), status(v), kind(v), cert_on(v), issued(v)),
            (3, 5, 9, Some(739_000), Some(739_500))
        );
        let v = pack(0, 0, 0, 0, DAY_MAX - 1);
        assert_eq!((sel(v), status(v), kind(v)), (0, 0, 0));
        assert_eq!((cert_on(v), issued(v)), (None, Some(DAY_MAX - 1)));
        let all = pack(SEL_MAX, STATUS_MAX, KIND_MAX, DAY_MAX, DAY_MAX);
        assert_eq!(all, (1 << (ISSUED_SHIFT + DAY_BITS)) - 1);
        // Too large a code is masked, not carried into the next field.
        assert_eq!(status(pack(0, STATUS_MAX + 1, 0, 5, 5)), 0);
        assert_eq!(kind(pack(0, STATUS_MAX + 1, 0, 5, 5)), 0);
    }

    #[test]
    fn dates_out_of_range_are_clamped_and_not_taken_for_exact() {
        for d in [-5, 0, DAY_MAX, DAY_MAX + 1, i64::MAX, i64::MIN] {
            let v = pack(1, 1, 1, d, d);
            assert_eq!((cert_on(v), issued(v)), (None, None), "{d}");
            assert_eq!((sel(v), status(v), kind(v)), (1, 1, 1), "{d}");
        }
        assert_eq!(issued(pack(0, 0, 0, 0, 1)), Some(1));
        assert!(!certified(pack(3, 1, 1, 0, 5)));
        assert!(!certified(pack(3, 1, 1, -3, 5)));
        assert!(certified(pack(0, 0, 0, 1, 0)));
        assert!(certified(pack(0, 0, 0, DAY_MAX + 9, 0)));
    }
}
