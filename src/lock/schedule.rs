//! How long to wait between attempts (SPEC §2.8), and who does the waiting.
#![forbid(unsafe_code)]

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::time::{ClockId, clock_gettime};

use crate::error::LockError;

/// The longest wait between two attempts, in seconds.
pub const MAX_SLEEP: u32 = 60;
/// How much the standard schedule adds before each new wait, in seconds.
pub const SLEEP_STEP: u32 = 5;

/// The retry policy between two attempts to link the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Schedule {
    /// The SysV "5 s × attempt number": 5, 10, 15, …, capped at 60 s.
    #[default]
    Standard,
    /// The same wait every time (`__L_INTERVAL`), capped at 60 s; 0 spins.
    Interval(u32),
}

impl Schedule {
    /// The wait before the next attempt, given the previous wait (0 before
    /// the first wait). Pure, so the schedule is tested without sleeping.
    pub fn next(self, previous: u32) -> u32 {
        match self {
            Schedule::Standard => previous.saturating_add(SLEEP_STEP).min(MAX_SLEEP),
            Schedule::Interval(secs) => secs.min(MAX_SLEEP),
        }
    }
}

/// The source of "now", in seconds since the epoch, for the temporary
/// name and for the age of a lock when the file system's clock is unknown.
pub trait Clock {
    /// Seconds since the epoch.
    fn now(&self) -> i64;
}

/// The system's real-time clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        // What time(2) says: the whole seconds of CLOCK_REALTIME, negative
        // before 1970. Read directly it saves some 60 instructions per
        // lock (about 5% of an uncontended cycle) over SystemTime's
        // arithmetic, which stays as the fallback.
        match clock_gettime(ClockId::CLOCK_REALTIME) {
            Ok(ts) => ts.tv_sec(),
            Err(_) => match SystemTime::now().duration_since(UNIX_EPOCH) {
                Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
            },
        }
    }
}

/// What a waiter is told before it waits.
#[derive(Debug, Clone, Copy)]
pub struct Wait<'a> {
    /// The lock being waited for.
    pub lock: &'a Path,
    /// The number of the attempt that follows the wait (the first is 1).
    pub attempt: i64,
    /// How many attempts are allowed in all.
    pub attempts: i64,
    /// How long to wait, in seconds.
    pub secs: u32,
}

/// Waits between attempts. The default sleeps; a program can swap in its
/// own (dotlockfile checks its parent while it waits; tests record the
/// waits instead of sleeping; a waiter may wake early when the lock goes).
pub trait Waiter {
    /// The temporary file now exists under this name (for signal handlers
    /// that must remove it).
    fn tmp_created(&mut self, _tmp: &Path) {}
    /// The temporary file is gone.
    fn tmp_removed(&mut self) {}
    /// Wait before the next attempt. An error ends the attempts: the
    /// temporary file is removed and the error is returned.
    fn wait(&mut self, wait: &Wait<'_>) -> Result<(), LockError>;
    /// Whether the wait that just returned was cut short because the lock
    /// went away (see [`FastWake`](super::FastWake)). The attempt that
    /// follows is then an extra one: it does not count against the
    /// retries, and if it fails, `wait` is called again with the same
    /// [`Wait`] and is expected to go on until the end of the original
    /// wait, so the schedule still bounds the time. The default: never.
    fn woke_early(&self) -> bool {
        false
    }
}

/// The reference's waiter: sleep the whole time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sleeper;

impl Waiter for Sleeper {
    fn wait(&mut self, wait: &Wait<'_>) -> Result<(), LockError> {
        std::thread::sleep(Duration::from_secs(u64::from(wait.secs)));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_schedule_is_five_times_attempt_capped_at_sixty() {
        let mut prev = 0;
        let waits: Vec<u32> = (0..15)
            .map(|_| {
                prev = Schedule::Standard.next(prev);
                prev
            })
            .collect();
        assert_eq!(
            waits,
            [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 60, 60, 60]
        );
    }

    #[test]
    fn interval_schedule_is_constant_and_capped() {
        assert_eq!(Schedule::Interval(0).next(0), 0);
        assert_eq!(Schedule::Interval(3).next(3), 3);
        assert_eq!(Schedule::Interval(61).next(0), 60);
        assert_eq!(Schedule::Interval(u32::MAX).next(60), 60);
    }

    #[test]
    fn system_clock_is_near_now() {
        let t = SystemClock.now();
        assert!(t > 1_600_000_000, "{t}");
    }
}
