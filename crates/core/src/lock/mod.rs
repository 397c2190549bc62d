//! Creating, checking, touching and removing dot-locks.
//!
//! Plain Rust over the libc layer [`crate::sys`]; the C ABI is a thin shim
//! over these functions (through [`crate::policy`]). Time is injected
//! ([`Time`]), so that the schedule and the stale rules are tested without
//! sleeping, and so that programs can end a wait on a signal.
#![forbid(unsafe_code)]

mod check;
mod create;
pub mod identity;
mod report;
mod schedule;
mod stale;
mod tmpname;
mod wait;

use core::ffi::CStr;

pub use check::{
    CONTENT_MAX, Inspection, STALE_AGE, Verdict, id_of, inspect, judge, parse_pid, pid_alive,
};
pub use create::{Step, create_with};
pub use report::{Holder, Report, Why, report, why};
pub use schedule::{Limit, MAX_SLEEP, SLEEP_STEP, Schedule};
#[cfg(test)]
pub(crate) use stale::seam;
pub use stale::{Broken, FileId, break_stale};
pub use tmpname::{TMP_NAME_MAX, TMP_PREFIX, TMP_RESERVE, short_host, tmp_name};
pub use wait::{RealTime, Time, wait};

pub use crate::cpath::PATH_MAX;
use crate::error::{Errno, LCode, LockError};
use crate::sys;

/// The `flags` argument of the C API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags(pub i32);

impl Flags {
    /// `L_PID`: write our pid into the lock.
    pub const PID: i32 = 16;
    /// `L_PPID`: write our parent's pid into the lock.
    pub const PPID: i32 = 32;
    /// `__L_INTERVAL`: a fixed interval between attempts.
    pub const INTERVAL: i32 = 64;

    /// Whether a flag is set.
    pub fn has(self, flag: i32) -> bool {
        self.0 & flag != 0
    }

    /// Which pid the flags ask for (`L_PPID` wins over `L_PID`).
    pub fn pid_mode(self) -> PidMode {
        if self.has(Flags::PPID) {
            PidMode::Parent
        } else if self.has(Flags::PID) {
            PidMode::Own
        } else {
            PidMode::None
        }
    }

    /// Whether the lock's content should be read as a pid when judging it.
    pub fn uses_pid(self) -> bool {
        self.has(Flags::PID | Flags::PPID)
    }
}

/// Which pid goes into the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PidMode {
    /// "0": no pid; the lock goes stale by age only.
    #[default]
    None,
    /// Our own pid; the lock goes stale when we die.
    Own,
    /// Our parent's pid (a lock for the calling shell).
    Parent,
}

/// How to create a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// How long to go on trying.
    pub limit: Limit,
    /// What to write into the lock.
    pub pid: PidMode,
    /// How long to wait between attempts.
    pub schedule: Schedule,
    /// Wake as soon as the lock is released rather than sleep out each
    /// wait (inotify; the C library's `LOCKFILE_FAST_WAKE=1`,
    /// `dotlockfile -w`). The schedule still bounds every wait, and an
    /// attempt after such a wake does not count against the retries.
    pub wake: bool,
}

impl Options {
    /// The options of the C call `lockfile_create2(…, retries, flags,
    /// args, …)`, with `interval` the value of `args->interval` when `args`
    /// was given. Unknown flags, and `__L_INTERVAL` without an interval
    /// (or with a negative one), are `L_ERROR`/EINVAL.
    pub fn from_flags(
        retries: i32,
        flags: Flags,
        interval: Option<i32>,
    ) -> Result<Options, LockError> {
        let einval = LockError::new(LCode::Error, Errno::EINVAL);
        if flags.0 & !(Flags::PID | Flags::PPID | Flags::INTERVAL) != 0 {
            return Err(einval);
        }
        let schedule = if flags.has(Flags::INTERVAL) {
            // A negative interval would make the reference sleep ~136 years.
            let secs = interval.ok_or(einval)?;
            Schedule::Interval(u32::try_from(secs).map_err(|_| einval)?)
        } else {
            Schedule::Standard
        };
        Ok(Options {
            limit: Limit::Retries(retries),
            pid: flags.pid_mode(),
            schedule,
            wake: false,
        })
    }

    /// `retries` attempts after the first, the other options the defaults.
    pub fn retries(retries: i32) -> Options {
        Options {
            limit: Limit::Retries(retries),
            ..Options::default()
        }
    }
}

/// Create the lock `path`, sleeping between attempts as the reference does.
pub fn create(path: &CStr, opts: &Options) -> Result<(), LockError> {
    create_with(path, opts, &mut RealTime, &mut |_| Ok(()))
}

/// Whether the lock `path` is valid (held): `lockfile_check`.
///
/// Async-signal-safe (docs/c-policy.md §4): no allocation, no lock.
pub fn check(path: &CStr, flags: Flags) -> bool {
    inspect(path, flags.uses_pid(), &RealTime).verdict == Verdict::Valid
}

/// Remove the lock `path`; a lock that is not there is removed already.
///
/// Async-signal-safe (docs/c-policy.md §4).
pub fn remove(path: &CStr) -> Result<(), Errno> {
    match sys::unlink(path) {
        Ok(()) | Err(Errno::ENOENT) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Set the lock's atime and mtime to now, so that it does not go stale.
///
/// Async-signal-safe (docs/c-policy.md §4).
pub fn touch(path: &CStr) -> Result<(), Errno> {
    sys::touch(path)
}

#[cfg(test)]
mod tests;
