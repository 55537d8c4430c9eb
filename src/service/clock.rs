//! The clock: the only place that reads the system time (see `clippy.toml`).
//!
//! Business time is the wall clock in the configured offset, except in training mode when a
//! trainer has set the clock: then it runs on from the time set, and the setting is kept in
//! the store so a restart keeps the scenario.

use std::sync::RwLock;

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult, Code};
use crate::store::prelude::*;
use crate::store::{Store, Who};

const SETTING_KEY: &str = "training_clock";

/// A trainer's setting: at wall time `set_at` the business clock showed `set_to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainingClock {
    pub set_to: DateTime<FixedOffset>,
    pub set_at: DateTime<FixedOffset>,
}

impl TrainingClock {
    /// Business time at wall time `wall`.
    pub fn at(&self, wall: DateTime<FixedOffset>) -> DateTime<FixedOffset> {
        self.set_to + (wall - self.set_at)
    }
}

#[derive(Debug)]
pub struct Clock {
    tz: FixedOffset,
    training: bool,
    setting: RwLock<Option<TrainingClock>>,
}

impl Clock {
    /// Builds the clock, loading a persisted training setting when in training mode.
    pub fn load(store: &Store, tz: FixedOffset, training: bool) -> AppResult<Clock> {
        let setting = if training {
            store.read()?.setting::<TrainingClock>(SETTING_KEY)?
        } else {
            None
        };
        Ok(Clock {
            tz,
            training,
            setting: RwLock::new(setting),
        })
    }

    /// Reads the training setting again from the store (after a snapshot was restored).
    pub fn reload(&self, store: &Store) -> AppResult<()> {
        let setting = if self.training {
            store.read()?.setting::<TrainingClock>(SETTING_KEY)?
        } else {
            None
        };
        let mut g = self
            .setting
            .write()
            .map_err(|_| AppError::internal("clock lock poisoned"))?;
        *g = setting;
        Ok(())
    }

    pub fn tz(&self) -> FixedOffset {
        self.tz
    }

    /// Wall-clock Unix seconds, for code that runs outside a request (the TURN relay's
    /// credential expiry).
    #[allow(clippy::disallowed_methods)]
    pub fn wall_unix() -> u64 {
        Utc::now().timestamp().max(0) as u64
    }

    /// Wall-clock time in the business offset.
    #[allow(clippy::disallowed_methods)]
    pub fn wall(&self) -> DateTime<FixedOffset> {
        Utc::now().with_timezone(&self.tz)
    }

    /// Business time: what the rules see as "now".
    pub fn now(&self) -> DateTime<FixedOffset> {
        let wall = self.wall();
        self.business_at(wall)
    }

    pub fn business_at(&self, wall: DateTime<FixedOffset>) -> DateTime<FixedOffset> {
        match self.setting.read().ok().and_then(|g| *g) {
            Some(s) => s.at(wall).with_timezone(&self.tz),
            None => wall,
        }
    }

    pub fn setting(&self) -> Option<TrainingClock> {
        self.setting.read().ok().and_then(|g| *g)
    }

    /// Sets the training clock to `to` (training mode only), or back to real time with `None`.
    pub fn set(
        &self,
        store: &Store,
        who: &Who,
        to: Option<DateTime<FixedOffset>>,
    ) -> AppResult<()> {
        if !self.training {
            return Err(AppError::new(Code::TrainingOnly));
        }
        if let Some(to) = to {
            crate::domain::calendar::check("now", "培训时钟", to.date_naive())?;
        }
        let setting = to.map(|to| TrainingClock {
            set_to: to.with_timezone(&self.tz),
            set_at: who.wall,
        });
        store.write(who, |tx| {
            match &setting {
                Some(s) => {
                    tx.put_setting(SETTING_KEY, s)?;
                    tx.audit("clock.set", "training_clock", s.set_to.to_rfc3339());
                }
                None => {
                    tx.delete_setting(SETTING_KEY)?;
                    tx.audit("clock.reset", "training_clock", "real time");
                }
            }
            Ok(())
        })?;
        let mut g = self
            .setting
            .write()
            .map_err(|_| AppError::internal("clock lock poisoned"))?;
        *g = setting;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_clock_runs_on_from_the_time_set() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap();
        let c = TrainingClock {
            set_to: t("2026-12-15T23:59:00+08:00"),
            set_at: t("2026-11-23T10:00:00+08:00"),
        };
        assert_eq!(
            c.at(t("2026-11-23T10:01:30+08:00")),
            t("2026-12-16T00:00:30+08:00")
        );
    }
}
