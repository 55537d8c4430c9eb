//! What stands in front of every login, before any password hash is computed or anything is
//! written:
//!
//! - a per-address rate limit (governor's keyed GCRA limiter): a burst of
//!   `session.login_attempts_per_minute` tries from one address, then that many a minute, so
//!   that invented usernames cannot cost argon2 hashes and audit rows at will, and a known
//!   account cannot be locked by a stranger without the stranger being slowed first;
//! - one login at a time per account: the throttle counter is read, the password verified and
//!   the new count written while the account's lock is held, so parallel guesses see each
//!   other's failures and the limit holds under any concurrency (striped locks: bounded
//!   memory, no cleanup).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::num::NonZeroU32;
use std::sync::Mutex;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::{AppError, AppResult, Code};

/// Lock stripes: accounts hashing to the same stripe wait for each other, which only costs
/// a few milliseconds now and then.
const STRIPES: usize = 64;

pub struct LoginGuard {
    stripes: Vec<Mutex<()>>,
    per_address: DefaultKeyedRateLimiter<String>,
}

impl std::fmt::Debug for LoginGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginGuard")
            .field("addresses", &self.per_address.len())
            .finish()
    }
}

impl LoginGuard {
    /// A guard allowing `per_minute` login tries per address (a burst of as many).
    pub fn new(per_minute: u32) -> Self {
        let n = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        LoginGuard {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            per_address: RateLimiter::keyed(Quota::per_minute(n)),
        }
    }

    /// Counts one login try from `address`; over the limit, 429 with the wait. Requests
    /// without an address (the command line) are not limited.
    pub fn admit(&self, address: Option<&str>) -> AppResult<()> {
        let Some(address) = address else {
            return Ok(());
        };
        match self.per_address.check_key(&address.to_string()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until
                    .wait_time_from(governor::clock::Clock::now(
                        &governor::clock::DefaultClock::default(),
                    ))
                    .as_secs()
                    .max(1);
                Err(AppError::new(Code::TooManyAttempts)
                    .with_message(format!("登录尝试过于频繁，请{wait}秒后再试"))
                    .with_extra("retry_after_secs", wait))
            }
        }
    }

    /// Runs `f` while holding the lock of `account`: one login of an account at a time.
    pub fn one_at_a_time<T>(&self, account: &str, f: impl FnOnce() -> T) -> T {
        let mut h = DefaultHasher::new();
        account.hash(&mut h);
        let i = (h.finish() % STRIPES as u64) as usize;
        // A panic while holding the lock poisons it; the guarded data is `()`, so go on.
        let _held = self.stripes[i]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f()
    }

    /// Drops the state of addresses whose limit has fully recovered (run periodically).
    pub fn forget_idle(&self) {
        self.per_address.retain_recent();
        self.per_address.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_burst_then_waits_and_others_are_apart() {
        let g = LoginGuard::new(3);
        for _ in 0..3 {
            g.admit(Some("10.0.0.1")).unwrap();
        }
        let e = g.admit(Some("10.0.0.1")).unwrap_err();
        assert_eq!(e.code, Code::TooManyAttempts);
        assert!(e.message.starts_with("登录尝试过于频繁"), "{}", e.message);
        g.admit(Some("10.0.0.2")).unwrap();
        // No address: not limited.
        for _ in 0..10 {
            g.admit(None).unwrap();
        }
    }

    #[test]
    fn one_account_at_a_time() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let g = Arc::new(LoginGuard::new(1));
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (g, inside, most) = (g.clone(), inside.clone(), most.clone());
                std::thread::spawn(move || {
                    g.one_at_a_time("staff:admin", || {
                        let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(n, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        inside.fetch_sub(1, Ordering::SeqCst);
                    })
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
    }
}
