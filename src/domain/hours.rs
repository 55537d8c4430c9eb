//! Working hours of 人工导税 (S-I3): when a taxpayer may ask for a human agent.
//!
//! Parsed from lines like `mon-fri 09:00-12:00`, `sat,sun 10:00-16:00`, `daily 00:00-24:00`;
//! evaluated against a business time passed in (no clock reads here).

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveTime, Timelike};

/// Why a working-hours line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    #[error("working hours {line:?}: expected `DAYS HH:MM-HH:MM`, e.g. `mon-fri 09:00-12:00`")]
    Shape { line: String },
    #[error("working hours {line:?}: unknown day {day:?} (mon tue wed thu fri sat sun, daily)")]
    Day { line: String, day: String },
    #[error("working hours {line:?}: {time:?} is not a time HH:MM (00:00–24:00)")]
    Time { line: String, time: String },
    #[error("working hours {line:?}: the end must be after the start")]
    Empty { line: String },
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DAYS_ZH: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];

/// One line: a set of weekdays (bit 0 = Monday) and a span of minutes of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    days: u8,
    start: u32,
    end: u32,
}

/// The configured working hours; empty means 人工导税 is never offered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorkingHours {
    spans: Vec<Span>,
}

fn day_index(line: &str, d: &str) -> Result<u8, HoursError> {
    DAYS.iter()
        .position(|x| *x == d)
        .map(|i| i as u8)
        .ok_or_else(|| HoursError::Day {
            line: line.into(),
            day: d.into(),
        })
}

fn minutes(line: &str, t: &str) -> Result<u32, HoursError> {
    let bad = || HoursError::Time {
        line: line.into(),
        time: t.into(),
    };
    let (h, m) = t.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u32 = h.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn parse_line(line: &str) -> Result<Span, HoursError> {
    let shape = || HoursError::Shape { line: line.into() };
    let mut parts = line.split_whitespace();
    let (Some(days), Some(times), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(shape());
    };
    let days = days.to_ascii_lowercase();
    let mut set = 0u8;
    if days == "daily" {
        set = 0x7f;
    } else {
        for part in days.split(',') {
            match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (day_index(line, a)?, day_index(line, b)?);
                    let mut d = a;
                    loop {
                        set |= 1 << d;
                        if d == b {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
                None => set |= 1 << day_index(line, part)?,
            }
        }
    }
    let (a, b) = times.split_once('-').ok_or_else(shape)?;
    let (start, end) = (minutes(line, a)?, minutes(line, b)?);
    if end <= start {
        return Err(HoursError::Empty { line: line.into() });
    }
    Ok(Span {
        days: set,
        start,
        end,
    })
}

impl WorkingHours {
    pub fn parse<S: AsRef<str>>(lines: &[S]) -> Result<WorkingHours, HoursError> {
        let spans = lines
            .iter()
            .map(|l| parse_line(l.as_ref().trim()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(WorkingHours { spans })
    }

    /// Always open (tests, training rooms).
    pub fn always() -> WorkingHours {
        WorkingHours {
            spans: vec![Span {
                days: 0x7f,
                start: 0,
                end: 24 * 60,
            }],
        }
    }

    pub fn is_open(&self, now: DateTime<FixedOffset>) -> bool {
        let day = now.weekday().num_days_from_monday() as u8;
        let m = now.hour() * 60 + now.minute();
        self.spans
            .iter()
            .any(|s| s.days & (1 << day) != 0 && s.start <= m && m < s.end)
    }

    /// The next time the hours open after `now` (`now` itself when open), within a week.
    pub fn next_open(&self, now: DateTime<FixedOffset>) -> Option<DateTime<FixedOffset>> {
        if self.is_open(now) {
            return Some(now);
        }
        let today_min = now.hour() * 60 + now.minute();
        let mut best: Option<DateTime<FixedOffset>> = None;
        for offset in 0..=7i64 {
            let date = now.date_naive() + Duration::days(offset);
            let day = date.weekday().num_days_from_monday() as u8;
            for s in &self.spans {
                if s.days & (1 << day) == 0 || (offset == 0 && s.start <= today_min) {
                    continue;
                }
                let Some(t) = NaiveTime::from_hms_opt(s.start / 60, s.start % 60, 0) else {
                    continue;
                };
                let Some(at) = date.and_time(t).and_local_timezone(*now.offset()).single() else {
                    continue;
                };
                if best.is_none_or(|b| at < b) {
                    best = Some(at);
                }
            }
            if best.is_some() {
                break;
            }
        }
        best
    }

    /// The hours as the taxpayer reads them, e.g. `周一至周五 09:00-12:00、13:30-17:30`.
    pub fn describe_zh(&self) -> String {
        if self.spans.is_empty() {
            return "暂未提供人工服务".into();
        }
        let mut groups: Vec<(u8, Vec<String>)> = Vec::new();
        for s in &self.spans {
            let t = format!(
                "{:02}:{:02}-{:02}:{:02}",
                s.start / 60,
                s.start % 60,
                s.end / 60,
                s.end % 60
            );
            match groups.iter_mut().find(|(d, _)| *d == s.days) {
                Some((_, ts)) => ts.push(t),
                None => groups.push((s.days, vec![t])),
            }
        }
        groups
            .iter()
            .map(|(d, ts)| format!("{} {}", days_zh(*d), ts.join("、")))
            .collect::<Vec<_>>()
            .join("；")
    }
}

fn days_zh(set: u8) -> String {
    if set == 0x7f {
        return "每天".into();
    }
    let on: Vec<usize> = (0..7).filter(|d| set & (1 << d) != 0).collect();
    let contiguous = on.windows(2).all(|w| w[1] == w[0] + 1);
    match (on.first(), on.last()) {
        (Some(&a), Some(&b)) if contiguous && b > a + 1 => {
            format!("{}至{}", DAYS_ZH[a], DAYS_ZH[b])
        }
        _ => on
            .iter()
            .map(|&d| DAYS_ZH[d])
            .collect::<Vec<_>>()
            .join("、"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(d: u32, h: u32, m: u32) -> DateTime<FixedOffset> {
        // 2026-11-23 is a Monday.
        FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, d, h, m, 0)
            .unwrap()
    }

    fn office() -> WorkingHours {
        WorkingHours::parse(&["mon-fri 09:00-12:00", "mon-fri 13:30-17:30"]).unwrap()
    }

    #[test]
    fn open_inside_the_spans_only() {
        let h = office();
        assert!(h.is_open(at(23, 9, 0)));
        assert!(h.is_open(at(23, 11, 59)));
        assert!(!h.is_open(at(23, 12, 0)));
        assert!(!h.is_open(at(23, 13, 29)));
        assert!(h.is_open(at(27, 17, 29))); // Friday
        assert!(!h.is_open(at(28, 10, 0))); // Saturday
        assert!(!h.is_open(at(23, 8, 59)));
        assert!(!WorkingHours::default().is_open(at(23, 10, 0)));
        assert!(WorkingHours::always().is_open(at(29, 23, 59)));
    }

    #[test]
    fn next_opening_is_found_across_the_weekend() {
        let h = office();
        assert_eq!(h.next_open(at(23, 12, 30)), Some(at(23, 13, 30)));
        assert_eq!(h.next_open(at(23, 18, 0)), Some(at(24, 9, 0)));
        assert_eq!(h.next_open(at(27, 18, 0)), Some(at(30, 9, 0))); // Fri → Mon
        assert_eq!(h.next_open(at(23, 10, 0)), Some(at(23, 10, 0)));
        assert_eq!(WorkingHours::default().next_open(at(23, 10, 0)), None);
    }

    #[test]
    fn wrapping_day_ranges_lists_and_daily() {
        let h = WorkingHours::parse(&["sat-mon 10:00-11:00", "wed,fri 00:00-24:00"]).unwrap();
        assert!(h.is_open(at(28, 10, 30))); // Sat
        assert!(h.is_open(at(29, 10, 30))); // Sun
        assert!(h.is_open(at(23, 10, 30))); // Mon
        assert!(!h.is_open(at(24, 10, 30))); // Tue
        assert!(h.is_open(at(25, 23, 59))); // Wed
        assert_eq!(
            WorkingHours::parse(&["daily 08:00-20:00"])
                .unwrap()
                .describe_zh(),
            "每天 08:00-20:00"
        );
    }

    #[test]
    fn described_in_chinese() {
        assert_eq!(
            office().describe_zh(),
            "周一至周五 09:00-12:00、13:30-17:30"
        );
        assert_eq!(
            WorkingHours::parse(&["sat,sun 10:00-16:00"])
                .unwrap()
                .describe_zh(),
            "周六、周日 10:00-16:00"
        );
    }

    #[test]
    fn bad_lines_are_refused_with_the_reason() {
        for (line, want) in [
            ("09:00-12:00", "expected"),
            ("mon-fry 09:00-12:00", "unknown day"),
            ("mon 9:00-12:00", "not a time"),
            ("mon 09:00-24:30", "not a time"),
            ("mon 12:00-09:00", "after the start"),
            ("mon 09:00-12:00 extra", "expected"),
        ] {
            let e = WorkingHours::parse(&[line]).unwrap_err().to_string();
            assert!(e.contains(want), "{line}: {e}");
        }
    }
}
