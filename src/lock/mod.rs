//! The safe core: creating, checking, touching and removing dot-locks.
//!
//! Everything here is plain Rust over nix; the C ABI in `ffi` is a thin
//! shim over these functions. Time and waiting are injected ([`Clock`],
//! [`Waiter`]) so that the schedule and the stale rules are tested without
//! sleeping, and so that programs can swap the wait strategy.
#![forbid(unsafe_code)]

mod check;
pub(crate) mod cpath;
mod create;
pub mod identity;
mod report;
mod schedule;
mod stale;
mod tmpname;
mod wake;

use std::path::{Path, PathBuf};

use nix::NixPath;
use nix::fcntl::AT_FDCWD;
use nix::sys::stat::{UtimensatFlags, utimensat};
use nix::sys::time::TimeSpec;
use nix::unistd::unlink;

pub use check::{
    CONTENT_MAX, Inspection, STALE_AGE, Verdict, inspect, judge, parse_pid, pid_alive,
};
pub use cpath::FixedCPath;
pub use create::create_with;
pub use report::{Holder, Report, Why, report, why};
pub use schedule::{Clock, MAX_SLEEP, SLEEP_STEP, Schedule, Sleeper, SystemClock, Wait, Waiter};
#[cfg(test)]
pub(crate) use stale::seam;
pub(crate) use stale::{Broken, FileId, break_stale};
pub use tmpname::{PATH_MAX, TMP_NAME_MAX, TMP_PREFIX, TMP_RESERVE, tmp_name};
pub use wake::FastWake;

use crate::error::{Errno, LCode, LockError};

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
    /// Attempts after the first; ≤ -1 means none at all.
    pub retries: i32,
    /// What to write into the lock.
    pub pid: PidMode,
    /// How long to wait between attempts.
    pub schedule: Schedule,
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
            retries,
            pid: flags.pid_mode(),
            schedule,
        })
    }
}

/// Create the lock `path`, sleeping between attempts as the reference does.
pub fn create(path: &Path, opts: &Options) -> Result<(), LockError> {
    create_with(path, opts, &SystemClock, &mut Sleeper)
}

/// Whether the lock `path` is valid (held): `lockfile_check`.
///
/// Async-signal-safe with a `CStr` path (SPEC §4): no allocation, no lock.
pub fn check<P: ?Sized + NixPath>(path: &P, flags: Flags) -> bool {
    inspect(path, flags.uses_pid(), &SystemClock).verdict == Verdict::Valid
}

/// Remove the lock `path`; a lock that is not there is removed already.
///
/// Async-signal-safe with a `CStr` path (SPEC §4).
pub fn remove<P: ?Sized + NixPath>(path: &P) -> Result<(), Errno> {
    match unlink(path) {
        Ok(()) | Err(Errno::ENOENT) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Set the lock's atime and mtime to now, so that it does not go stale.
///
/// Async-signal-safe with a `CStr` path (SPEC §4).
pub fn touch<P: ?Sized + NixPath>(path: &P) -> Result<(), Errno> {
    let now = TimeSpec::UTIME_NOW;
    utimensat(AT_FDCWD, path, &now, &now, UtimensatFlags::FollowSymlink)
}

/// A held lock, removed when dropped.
///
/// ```no_run
/// use lockfile::lock::{Lock, Options};
/// let lock = Lock::acquire("/var/mail/joe.lock", &Options::default())?;
/// // ... work on /var/mail/joe ...
/// lock.release().map_err(|e| lockfile::LockError::new(lockfile::LCode::Error, e))?;
/// # Ok::<(), lockfile::LockError>(())
/// ```
#[derive(Debug)]
pub struct Lock {
    path: Option<PathBuf>,
}

impl Lock {
    /// Take the lock `path`.
    pub fn acquire(path: impl Into<PathBuf>, opts: &Options) -> Result<Lock, LockError> {
        Lock::acquire_with(path, opts, &SystemClock, &mut Sleeper)
    }

    /// Take the lock `path` with a given clock and wait strategy.
    pub fn acquire_with(
        path: impl Into<PathBuf>,
        opts: &Options,
        clock: &dyn Clock,
        waiter: &mut dyn Waiter,
    ) -> Result<Lock, LockError> {
        let path = path.into();
        create_with(&path, opts, clock, waiter)?;
        Ok(Lock { path: Some(path) })
    }

    /// The lock's path.
    pub fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }

    /// Keep the lock from going stale.
    pub fn touch(&self) -> Result<(), Errno> {
        touch(self.path())
    }

    /// Remove the lock now, reporting failure.
    pub fn release(mut self) -> Result<(), Errno> {
        match self.path.take() {
            Some(path) => remove(&path),
            None => Ok(()),
        }
    }

    /// Leave the lock on disk (for another process to remove) and return
    /// its path.
    pub fn into_path(mut self) -> PathBuf {
        self.path.take().unwrap_or_default()
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = remove(&path);
        }
    }
}

#[cfg(test)]
mod tests;
