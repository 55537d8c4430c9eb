//! Flood limits, per person rather than per socket: every frame a person sends — from any of
//! their sockets — spends one token of the person's bucket (a taxpayer by taxpayer ID, staff
//! by user name), and a frame over the budget is refused before it does anything (no durable
//! write, no bot search). How many sockets a login session and a person may hold open at once
//! is capped too; a socket over a cap is refused and closed at connect
//! (`docs/interaction.md`, "Limits").
//!
//! The time is the caller's [`Instant`] (monotonic, so moving the training clock neither
//! refills nor drains a bucket).

use std::collections::HashMap;
use std::time::Instant;

use crate::service::interact::{SessionKey, Subject};

/// The refusal of a frame over the person's budget.
pub(super) const RATE_LIMITED: &str = "发送过于频繁，请稍后再试";
/// The refusal of a socket over a cap.
pub(super) const TOO_MANY_SOCKETS: &str = "同时打开的窗口过多，请关闭其他窗口后重试";

/// Whose budget a frame spends and whose sockets count together.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Person {
    Taxpayer(String),
    Staff(String),
}

impl Person {
    pub(super) fn of(s: &Subject) -> Person {
        match s {
            Subject::Taxpayer { id, .. } => Person::Taxpayer(id.clone()),
            Subject::Agent { username, .. } => Person::Staff(username.clone()),
        }
    }
}

/// A token bucket's size and refill.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Rate {
    /// Frames at once.
    pub(super) burst: f64,
    /// Frames per second after that.
    pub(super) per_sec: f64,
}

/// A person's tokens as of `at`.
#[derive(Debug, Clone)]
pub(super) struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    pub(super) fn full(rate: Rate, at: Instant) -> Bucket {
        Bucket {
            tokens: rate.burst,
            at,
        }
    }

    fn refill(&mut self, rate: Rate, at: Instant) {
        let dt = at.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * rate.per_sec).min(rate.burst);
        self.at = self.at.max(at);
    }

    /// Spends one token at `at`; `false` when there is none left.
    pub(super) fn take(&mut self, rate: Rate, at: Instant) -> bool {
        self.refill(rate, at);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whether the bucket is full again at `at` (then forgetting it changes nothing).
    fn is_full(&self, rate: Rate, at: Instant) -> bool {
        let dt = at.saturating_duration_since(self.at).as_secs_f64();
        self.tokens + dt * rate.per_sec >= rate.burst
    }
}

/// The flood budgets: one bucket per person who sent something, kept after their last socket
/// closed until it is full again.
pub(super) struct Flood {
    taxpayer: Rate,
    staff: Rate,
    buckets: HashMap<Person, Bucket>,
}

impl Flood {
    pub(super) fn new(taxpayer: Rate, staff: Rate) -> Flood {
        Flood {
            taxpayer,
            staff,
            buckets: HashMap::new(),
        }
    }

    fn rate(&self, p: &Person) -> Rate {
        match p {
            Person::Taxpayer(_) => self.taxpayer,
            Person::Staff(_) => self.staff,
        }
    }

    /// Spends one token of `person`'s budget at `at`; `false`: over the budget.
    pub(super) fn spend(&mut self, person: &Person, at: Instant) -> bool {
        let rate = self.rate(person);
        self.buckets
            .entry(person.clone())
            .or_insert_with(|| Bucket::full(rate, at))
            .take(rate, at)
    }

    /// Forgets the buckets of people not `connected` whose bucket is full again at `at` (a
    /// person who closes every socket does not get a fresh budget by coming back at once).
    pub(super) fn forget_idle(&mut self, connected: impl Fn(&Person) -> bool, at: Instant) {
        let (taxpayer, staff) = (self.taxpayer, self.staff);
        self.buckets.retain(|p, bucket| {
            let rate = match p {
                Person::Taxpayer(_) => taxpayer,
                Person::Staff(_) => staff,
            };
            connected(p) || !bucket.is_full(rate, at)
        });
    }

    /// How many people have a bucket.
    #[cfg(test)]
    pub(super) fn people(&self) -> usize {
        self.buckets.len()
    }
}

/// Open sockets counted per login session and per person, against the caps.
pub(super) struct Sockets {
    per_session: usize,
    per_person: usize,
    by_session: HashMap<SessionKey, usize>,
    by_person: HashMap<Person, usize>,
}

impl Sockets {
    pub(super) fn new(per_session: usize, per_person: usize) -> Sockets {
        Sockets {
            per_session,
            per_person,
            by_session: HashMap::new(),
            by_person: HashMap::new(),
        }
    }

    /// Whether a new socket of `person` on `session` stays within the caps; when it does, it is
    /// counted (until [`Sockets::release`]).
    pub(super) fn admit(&mut self, session: &SessionKey, person: &Person) -> bool {
        let in_session = self.by_session.get(session).copied().unwrap_or(0);
        let of_person = self.by_person.get(person).copied().unwrap_or(0);
        if in_session >= self.per_session || of_person >= self.per_person {
            return false;
        }
        *self.by_session.entry(*session).or_insert(0) += 1;
        *self.by_person.entry(person.clone()).or_insert(0) += 1;
        true
    }

    /// A counted socket closed: its slots are free.
    pub(super) fn release(&mut self, session: &SessionKey, person: &Person) {
        if let Some(n) = self.by_session.get_mut(session) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.by_session.remove(session);
            }
        }
        if let Some(n) = self.by_person.get_mut(person) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.by_person.remove(person);
            }
        }
    }

    /// Whether `person` has a socket open.
    pub(super) fn holds(&self, person: &Person) -> bool {
        self.by_person.contains_key(person)
    }

    /// Every socket is gone.
    pub(super) fn clear(&mut self) {
        self.by_session.clear();
        self.by_person.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_bucket_allows_a_burst_then_the_rate() {
        let rate = Rate {
            burst: 3.0,
            per_sec: 2.0,
        };
        let t0 = Instant::now();
        let mut b = Bucket::full(rate, t0);
        assert!(b.take(rate, t0) && b.take(rate, t0) && b.take(rate, t0));
        assert!(!b.take(rate, t0), "the burst is spent");
        let half = t0 + Duration::from_millis(500);
        assert!(b.take(rate, half), "one more after half a second");
        assert!(!b.take(rate, half));
        // An earlier instant (another thread's) neither refills nor rewinds.
        assert!(!b.take(rate, t0));
        assert!(!b.is_full(rate, half + Duration::from_millis(1400)));
        assert!(b.is_full(rate, half + Duration::from_millis(1500)));
        assert!(b.take(rate, t0 + Duration::from_secs(10)));
        assert!(b.take(rate, t0 + Duration::from_secs(10)));
        assert!(b.take(rate, t0 + Duration::from_secs(10)));
        assert!(
            !b.take(rate, t0 + Duration::from_secs(10)),
            "never more than the burst"
        );
    }
}
