//! How long to wait between attempts (docs/protocol.md §2.8), and for how long to go
//! on: plain data that every caller hands to the one waiting function
//! ([`super::wait`]).
#![forbid(unsafe_code)]

use core::time::Duration;

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
    /// A poll that doubles from `first` up to `max` (the mailbox API).
    Doubling {
        /// The first wait.
        first: Duration,
        /// The longest wait.
        max: Duration,
    },
}

impl Schedule {
    /// The wait before the next attempt, given the previous wait (zero
    /// before the first wait). Pure, so the schedule is tested without
    /// sleeping.
    pub fn next(self, previous: Duration) -> Duration {
        let max = Duration::from_secs(u64::from(MAX_SLEEP));
        match self {
            Schedule::Standard => (previous + Duration::from_secs(u64::from(SLEEP_STEP))).min(max),
            Schedule::Interval(secs) => Duration::from_secs(u64::from(secs)).min(max),
            Schedule::Doubling { first, max } if previous.is_zero() => first.min(max),
            Schedule::Doubling { max, .. } => previous.saturating_mul(2).min(max),
        }
    }
}

/// How long to go on trying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// This many attempts after the first; ≤ -1: none at all (the C API's
    /// `retries`).
    Retries(i32),
    /// Until this time of the monotonic clock ([`super::Time::now`]): no
    /// wait goes past it, and one more attempt follows the last wait.
    Until(Duration),
    /// For as long as it takes.
    Forever,
}

impl Default for Limit {
    fn default() -> Limit {
        Limit::Retries(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn standard_schedule_is_five_times_attempt_capped_at_sixty() {
        let mut prev = Duration::ZERO;
        let waits: Vec<u64> = (0..15)
            .map(|_| {
                prev = Schedule::Standard.next(prev);
                prev.as_secs()
            })
            .collect();
        assert_eq!(
            waits,
            [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 60, 60, 60]
        );
    }

    #[test]
    fn interval_schedule_is_constant_and_capped() {
        assert_eq!(Schedule::Interval(0).next(secs(0)), secs(0));
        assert_eq!(Schedule::Interval(3).next(secs(3)), secs(3));
        assert_eq!(Schedule::Interval(61).next(secs(0)), secs(60));
        assert_eq!(Schedule::Interval(u32::MAX).next(secs(60)), secs(60));
    }

    #[test]
    fn doubling_schedule_doubles_up_to_its_max() {
        let s = Schedule::Doubling {
            first: Duration::from_millis(20),
            max: Duration::from_millis(500),
        };
        let mut prev = Duration::ZERO;
        let waits: Vec<u128> = (0..7)
            .map(|_| {
                prev = s.next(prev);
                prev.as_millis()
            })
            .collect();
        assert_eq!(waits, [20, 40, 80, 160, 320, 500, 500]);
    }
}
