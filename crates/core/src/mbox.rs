//! Locking a mailbox the way Mail Avenger's `dotlock` does (docs/other-systems.md §7):
//! `flock` on the mailbox, then the dot-lock `MBOX.lock` through the core,
//! then optionally an `fcntl` (POSIX) lock, all with one call; the guard
//! releases them in reverse order.
//!
//! ```no_run
//! use lockfile_core::mbox::{MboxLock, MboxOptions};
//! let held = MboxLock::lock(c"/var/mail/joe", &MboxOptions::default())?;
//! // ... append to the descriptor held.fd() ...
//! held.unlock()?;
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```
//!
//! Rules, in the order they apply:
//! - The flock is taken first. If the dot-lock cannot be had within
//!   [`FLOCK_HOLD`], the flock is let go for a moment and the whole
//!   sequence starts over, so that a program that takes the dot-lock first
//!   and the flock second can finish instead of deadlocking with us.
//!   The same happens if the fcntl lock stays busy.
//! - While we hold the flock and wait, a foreign dot-lock is removed when
//!   neither it nor the mailbox changed for [`STALE_QUIET`] (a writer that
//!   honours either lock would have changed one of them). The core's own
//!   rule (5 minutes, or a dead pid) applies as well, with or without flock.
//! - [`Patience::NoWait`] fails at once, with `L_MAXTRYS`/`EAGAIN`, if any
//!   of the locks is busy.
//! - The holder should refresh the dot-lock every [`REFRESH`] with
//!   [`MboxLock::touch`], which also tells whether it is still ours.
#![forbid(unsafe_code)]

use core::cell::Cell;
use core::ffi::CStr;
use core::fmt;
use core::time::Duration;

use crate::cpath::FixedCPath;
use crate::error::{Errno, LCode, LockError};
use crate::lock::{
    self, Broken, FileId, Limit, Options, PidMode, RealTime, Schedule, Step, Time, wait,
};
use crate::sys::{self, Fd};

/// A foreign dot-lock is stale when neither it nor the mailbox changed for
/// this long while we held the flock.
pub const STALE_QUIET: Duration = Duration::from_secs(30);
/// How often a holder should refresh its dot-lock.
pub const REFRESH: Duration = Duration::from_secs(15);
/// How long the flock is held while waiting for the dot-lock (or the fcntl
/// lock) before it is let go and the sequence starts over.
pub const FLOCK_HOLD: Duration = Duration::from_secs(10);
/// How long the flock stays let go before it is taken again.
const LET_GO: Duration = Duration::from_millis(200);
/// A wait for the flock longer than this starts the stale watch afresh:
/// the locks were not watched under our flock meanwhile.
const WATCH_GAP: Duration = Duration::from_secs(2);
/// Polling while a lock is busy: doubling from 20 ms to 500 ms.
const POLL: Schedule = Schedule::Doubling {
    first: Duration::from_millis(20),
    max: Duration::from_millis(500),
};

/// How long to wait for busy locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Patience {
    /// Fail at once if any lock is busy (`dotlock -W`).
    NoWait,
    /// Wait as long as it takes.
    #[default]
    Forever,
    /// Give up after about this long.
    Upto(Duration),
}

/// Which locks to take, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MboxOptions {
    /// Take `flock` on the mailbox first (`dotlock` without `-L`).
    pub flock: bool,
    /// Take an `fcntl` write lock on the mailbox last (`dotlock -P`).
    pub fcntl: bool,
    /// How long to wait.
    pub patience: Patience,
    /// What to write into the dot-lock.
    pub pid: PidMode,
}

impl Default for MboxOptions {
    fn default() -> MboxOptions {
        MboxOptions {
            flock: true,
            fcntl: false,
            patience: Patience::Forever,
            pid: PidMode::None,
        }
    }
}

/// Which step failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Opening (or creating) the mailbox.
    Open,
    /// The flock on the mailbox.
    Flock,
    /// The dot-lock `MBOX.lock`.
    DotLock,
    /// The fcntl lock on the mailbox.
    Fcntl,
}

/// Why a mailbox could not be locked: the step, and the core's error
/// (`L_MAXTRYS` with `EAGAIN` when a lock was busy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MboxError {
    /// The step that failed; the locks of the earlier steps were released.
    pub stage: Stage,
    /// The code and errno.
    pub error: LockError,
}

impl MboxError {
    fn new(stage: Stage, error: LockError) -> MboxError {
        MboxError { stage, error }
    }

    /// Whether a lock was busy (rather than an error).
    pub fn is_busy(&self) -> bool {
        self.error.code == LCode::MaxTrys
    }
}

impl fmt::Display for MboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.stage {
            Stage::Open => "cannot open the mailbox",
            Stage::Flock => "flock on the mailbox",
            Stage::DotLock => "dot-lock",
            Stage::Fcntl => "fcntl lock on the mailbox",
        };
        if self.is_busy() {
            write!(f, "{what}: busy")
        } else {
            write!(f, "{what}: {}", self.error)
        }
    }
}

impl core::error::Error for MboxError {}

/// What became of our dot-lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// It is there and it is ours.
    Ours,
    /// Someone removed it.
    Removed,
    /// Someone removed it and another file took its name.
    Replaced,
}

/// The mailbox held with flock (unless not asked), its dot-lock, and an
/// fcntl lock (if asked). Dropping it releases all of them in reverse
/// order; [`MboxLock::unlock`] does the same and reports.
#[derive(Debug)]
pub struct MboxLock {
    file: Fd,
    flock: bool,
    dotlock: FixedCPath,
    /// Our dot-lock as we last left it (a file that took its name
    /// differs at least in its ctime; our own touches refresh this).
    id: Cell<Option<FileId>>,
    fcntl: bool,
    released: bool,
}

impl MboxLock {
    /// Lock the mailbox `mbox` as `opts` say.
    pub fn lock(mbox: &CStr, opts: &MboxOptions) -> Result<MboxLock, MboxError> {
        MboxLock::lock_with(mbox, opts, &mut RealTime)
    }

    /// Lock the mailbox on the clock and sleep of `time`.
    pub fn lock_with(
        mbox: &CStr,
        opts: &MboxOptions,
        time: &mut dyn Time,
    ) -> Result<MboxLock, MboxError> {
        let dotlock = FixedCPath::lock_of(mbox.to_bytes())
            .map_err(|e| MboxError::new(Stage::DotLock, LockError::new(LCode::NameLen, e)))?;
        let deadline = match opts.patience {
            Patience::Upto(d) => Some(time.now().saturating_add(d)),
            Patience::NoWait | Patience::Forever => None,
        };
        let mut watch = StaleWatch::default();
        loop {
            match attempt(mbox, &dotlock, opts, time, deadline, &mut watch)? {
                Some((file, id)) => {
                    return Ok(MboxLock {
                        file,
                        flock: opts.flock,
                        dotlock,
                        id: Cell::new(id),
                        fcntl: opts.fcntl,
                        released: false,
                    });
                }
                None => {
                    // docs/other-systems.md §7: the flock was let go (a busy dot-lock or
                    // fcntl lock may belong to a program that locks in
                    // the other order and now waits for our flock).
                    let until = time.now().saturating_add(LET_GO);
                    wait(time, until, None, false).map_err(|e| MboxError::new(Stage::Flock, e))?;
                }
            }
        }
    }

    /// The descriptor of the open mailbox (read-write when it could be
    /// opened so). Do not close another descriptor of the same file while
    /// the fcntl lock is held: POSIX drops a process's fcntl locks on any
    /// close.
    pub fn fd(&self) -> i32 {
        self.file.raw()
    }

    /// The path of the dot-lock.
    pub fn dotlock(&self) -> &CStr {
        self.dotlock.as_cstr()
    }

    /// Whether the dot-lock is still ours.
    pub fn state(&self) -> Held {
        match (self.id.get(), FileId::lstat(self.dotlock())) {
            (_, None) => Held::Removed,
            (Some(ours), Some(now)) if ours == now => Held::Ours,
            (_, Some(_)) => Held::Replaced,
        }
    }

    /// Refresh the dot-lock if it is still ours; say whether it is.
    pub fn touch(&self) -> Result<Held, Errno> {
        let held = self.state();
        if held == Held::Ours {
            lock::touch(self.dotlock())?;
            self.id.set(FileId::lstat(self.dotlock()));
        }
        Ok(held)
    }

    /// Release the locks in reverse order: fcntl, the dot-lock (only if it
    /// is still ours: a replacement belongs to someone else), flock.
    /// Reports what had become of the dot-lock.
    pub fn unlock(mut self) -> Result<Held, Errno> {
        self.release()
    }

    fn release(&mut self) -> Result<Held, Errno> {
        self.released = true;
        let mut result = Ok(());
        if self.fcntl {
            self.fcntl = false;
            result = sys::fcntl_lock(self.file.raw(), libc::F_UNLCK);
        }
        let held = self.state();
        if held == Held::Ours {
            result = result.and(lock::remove(self.dotlock()));
        }
        self.id.set(None);
        if self.flock {
            self.flock = false;
            let _ = sys::unflock(self.file.raw());
        }
        result.map(|()| held)
    }
}

impl Drop for MboxLock {
    fn drop(&mut self) {
        if !self.released {
            let _ = self.release();
        }
    }
}

fn busy() -> LockError {
    LockError::new(LCode::MaxTrys, Errno::EAGAIN)
}

fn past(deadline: Option<Duration>, time: &dyn Time) -> bool {
    deadline.is_some_and(|d| time.now() >= d)
}

/// One pass of flock, dot-lock, fcntl: the open mailbox (flocked and
/// fcntl-locked as asked) and our dot-lock's identity. `None`: a lock
/// stayed busy for [`FLOCK_HOLD`] while we held the flock; everything
/// was released.
fn attempt(
    mbox: &CStr,
    dotlock: &FixedCPath,
    opts: &MboxOptions,
    time: &mut dyn Time,
    deadline: Option<Duration>,
    watch: &mut StaleWatch,
) -> Result<Option<(Fd, Option<FileId>)>, MboxError> {
    let file = open_mailbox(mbox, opts.fcntl)
        .map_err(|e| MboxError::new(Stage::Open, LockError::new(LCode::Error, e)))?;
    // Released on every way out until the end (closing our descriptor
    // releases our flock too, but only if nobody holds a duplicate).
    let flocked = Flocked(opts.flock.then_some(file.raw()));
    if opts.flock {
        let asked = time.now();
        take(opts.patience, deadline, time, || sys::try_flock(file.raw()))
            .map_err(|e| MboxError::new(Stage::Flock, e))?;
        if time.now().saturating_sub(asked) > WATCH_GAP {
            // Not watched under our flock meanwhile: start afresh.
            *watch = StaleWatch::default();
        }
    }
    // With the flock, wait only so long before letting go of it;
    // without, there is nobody to let go for.
    let hold_end = |time: &dyn Time| {
        let end = time.now().saturating_add(FLOCK_HOLD);
        Some(deadline.map_or(end, |d| d.min(end)))
    };
    let end = if opts.flock { hold_end(time) } else { deadline };
    let core = Options {
        limit: match (opts.patience, end) {
            (Patience::NoWait, _) => Limit::Retries(0),
            (_, Some(end)) => Limit::Until(end),
            (_, None) => Limit::Forever,
        },
        pid: opts.pid,
        schedule: POLL,
        wake: false,
    };
    let mut watch = opts.flock.then_some(watch);
    let created = lock::create_with(dotlock.as_cstr(), &core, time, &mut |step| {
        if let (Step::Wait { lock, now, .. }, Some(watch)) = (step, watch.as_deref_mut()) {
            watch.observe(lock, mbox, now);
        }
        Ok(())
    });
    match created {
        Ok(()) => {}
        Err(e)
            if opts.flock
                && opts.patience != Patience::NoWait
                && e == busy()
                && !past(deadline, time) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(MboxError::new(Stage::DotLock, e)),
    }
    let id = FileId::lstat(dotlock.as_cstr());
    let ours = id;
    if opts.fcntl {
        let end = if opts.flock { hold_end(time) } else { deadline };
        let taken = take(opts.patience, end, time, || {
            sys::fcntl_lock(file.raw(), libc::F_WRLCK).map_err(|e| match e {
                Errno::EACCES | Errno::EAGAIN => Errno::EWOULDBLOCK,
                e => e,
            })
        });
        if let Err(e) = taken {
            // Our dot-lock goes (if still ours), then the flock.
            if FileId::lstat(dotlock.as_cstr()) == ours {
                let _ = lock::remove(dotlock.as_cstr());
            }
            if opts.flock
                && opts.patience != Patience::NoWait
                && e.code == LCode::MaxTrys
                && !past(deadline, time)
            {
                return Ok(None);
            }
            return Err(MboxError::new(Stage::Fcntl, e));
        }
    }
    flocked.keep();
    Ok(Some((file, id)))
}

/// A flock to release unless kept.
struct Flocked(Option<i32>);

impl Flocked {
    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for Flocked {
    fn drop(&mut self) {
        if let Some(fd) = self.0 {
            let _ = sys::unflock(fd);
        }
    }
}

/// Open the mailbox read-write, creating it (mode 0600) if missing. Read
/// access is enough for flock, so fall back to it unless fcntl is wanted.
fn open_mailbox(path: &CStr, write_needed: bool) -> Result<Fd, Errno> {
    let flags = libc::O_CLOEXEC | libc::O_NOCTTY;
    match sys::open(path, flags | libc::O_RDWR | libc::O_CREAT, 0o600) {
        Ok(fd) => Ok(fd),
        Err(Errno::EACCES | Errno::EROFS) if !write_needed => {
            sys::open(path, flags | libc::O_RDONLY, 0)
        }
        Err(e) => Err(e),
    }
}

/// Take a lock with `try_once` (EWOULDBLOCK or EINTR: busy), polling
/// until `end`; `busy()` when not waiting or past `end`.
fn take(
    patience: Patience,
    end: Option<Duration>,
    time: &mut dyn Time,
    mut try_once: impl FnMut() -> Result<(), Errno>,
) -> Result<(), LockError> {
    let mut poll = Duration::ZERO;
    loop {
        match try_once() {
            Ok(()) => return Ok(()),
            Err(Errno::EWOULDBLOCK | Errno::EINTR) => {}
            Err(e) => return Err(LockError::new(LCode::Error, e)),
        }
        if patience == Patience::NoWait {
            return Err(busy());
        }
        let now = time.now();
        if end.is_some_and(|end| now >= end) {
            return Err(busy());
        }
        poll = POLL.next(poll);
        let until = now.saturating_add(poll);
        wait(time, end.map_or(until, |e| e.min(until)), None, false)?;
    }
}

/// The stale rule of docs/other-systems.md §7: a dot-lock is broken when neither it nor the
/// mailbox changed for [`STALE_QUIET`] while we held the flock.
#[derive(Debug, Default)]
struct StaleWatch {
    seen: Option<(Option<FileId>, Option<FileId>)>,
    since: Duration,
}

impl StaleWatch {
    /// Look again; remove the lock if it has been quiet long enough.
    /// Returns whether it was removed.
    fn observe(&mut self, lock: &CStr, mbox: &CStr, now: Duration) -> bool {
        let lock_v = FileId::lstat(lock);
        let mbox_v = FileId::stat(mbox);
        let snap = (lock_v, mbox_v);
        if self.seen != Some(snap) {
            self.seen = Some(snap);
            self.since = now;
            return false;
        }
        let Some(lock_v) = lock_v else {
            return false;
        };
        if now.saturating_sub(self.since) < STALE_QUIET {
            return false;
        }
        self.seen = None;
        // The core's guarded break: only if it still is the file that was
        // quiet, and never while another breaker (this rule's or the
        // core's) is removing it (docs/protocol.md §2.7 "two breakers").
        matches!(lock::break_stale(lock, &lock_v), Ok(Broken::Removed))
    }
}

#[cfg(test)]
mod tests;
