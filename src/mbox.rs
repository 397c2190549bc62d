//! Locking a mailbox the way Mail Avenger's `dotlock` does (SPEC §7):
//! `flock` on the mailbox, then the dot-lock `MBOX.lock` through the core,
//! then optionally an `fcntl` (POSIX) lock, all with one call; the guard
//! releases them in reverse order.
//!
//! ```no_run
//! use lockfile::mbox::{MboxLock, MboxOptions};
//! let held = MboxLock::lock("/var/mail/joe", &MboxOptions::default())?;
//! // ... append to held.mailbox() ...
//! held.unlock().map_err(|e| lockfile::LockError::new(lockfile::LCode::Error, e))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
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

use std::cell::Cell;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::fcntl::{FcntlArg, Flock, FlockArg, fcntl};

use crate::error::{Errno, LCode, LockError};
use crate::lock::{
    self, Broken, Clock, FileId, Options, PidMode, Schedule, SystemClock, Wait, Waiter,
};

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
/// Polling intervals while a lock is busy: doubling from the first to the
/// last.
const FIRST_POLL: Duration = Duration::from_millis(20);
const MAX_POLL: Duration = Duration::from_millis(500);

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

impl std::error::Error for MboxError {}

/// Time and waiting for [`MboxLock::lock_with`]; injected so that tests do
/// not sleep and programs can wake up on signals.
pub trait Pacer {
    /// Time since some fixed point (monotonic).
    fn elapsed(&self) -> Duration;
    /// Wait this long. An error ends the attempt: every lock taken so far
    /// is released and the error returned (at the stage that waited).
    fn pause(&mut self, d: Duration) -> Result<(), LockError>;
}

/// The plain pacer: the monotonic clock and `sleep`.
#[derive(Debug, Clone, Copy)]
pub struct RealPacer {
    start: Instant,
}

impl RealPacer {
    /// A pacer whose time starts now.
    pub fn new() -> RealPacer {
        RealPacer {
            start: Instant::now(),
        }
    }
}

impl Default for RealPacer {
    fn default() -> RealPacer {
        RealPacer::new()
    }
}

impl Pacer for RealPacer {
    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
    fn pause(&mut self, d: Duration) -> Result<(), LockError> {
        std::thread::sleep(d);
        Ok(())
    }
}

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
    file: File,
    /// A duplicate of `file` (same open file description) that holds the
    /// flock; dropping it unlocks.
    flock: Option<Flock<File>>,
    dotlock: PathBuf,
    /// Our dot-lock as we last left it (a file that took its name
    /// differs at least in its ctime; our own touches refresh this).
    id: Cell<Option<FileId>>,
    fcntl: bool,
    released: bool,
}

/// The dot-lock of a mailbox: its path with `.lock` added.
pub fn dotlock_path(mbox: &Path) -> PathBuf {
    let mut name = mbox.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl MboxLock {
    /// Lock the mailbox `mbox` as `opts` say.
    pub fn lock(mbox: impl AsRef<Path>, opts: &MboxOptions) -> Result<MboxLock, MboxError> {
        MboxLock::lock_with(mbox, opts, &SystemClock, &mut RealPacer::new())
    }

    /// Lock the mailbox with a given clock (for the core) and pacer.
    pub fn lock_with(
        mbox: impl AsRef<Path>,
        opts: &MboxOptions,
        clock: &dyn Clock,
        pacer: &mut dyn Pacer,
    ) -> Result<MboxLock, MboxError> {
        let mbox = mbox.as_ref();
        let deadline = match opts.patience {
            Patience::Upto(d) => Some(pacer.elapsed().saturating_add(d)),
            Patience::NoWait | Patience::Forever => None,
        };
        let mut watch = StaleWatch::default();
        loop {
            match MboxLock::attempt(mbox, opts, clock, pacer, deadline, &mut watch)? {
                Some(held) => return Ok(held),
                None => {
                    // SPEC §7: the flock was let go (a busy dot-lock or
                    // fcntl lock may belong to a program that locks in
                    // the other order and now waits for our flock).
                    pacer
                        .pause(LET_GO)
                        .map_err(|e| MboxError::new(Stage::Flock, e))?;
                }
            }
        }
    }

    /// One pass of flock, dot-lock, fcntl. `None`: a lock stayed busy for
    /// [`FLOCK_HOLD`] while we held the flock; everything was released.
    fn attempt(
        mbox: &Path,
        opts: &MboxOptions,
        clock: &dyn Clock,
        pacer: &mut dyn Pacer,
        deadline: Option<Duration>,
        watch: &mut StaleWatch,
    ) -> Result<Option<MboxLock>, MboxError> {
        let file = open_mailbox(mbox, opts.fcntl)
            .map_err(|e| MboxError::new(Stage::Open, LockError::new(LCode::Error, e)))?;
        let flock = if opts.flock {
            let dup = file.try_clone().map_err(|e| {
                MboxError::new(Stage::Flock, LockError::new(LCode::Error, errno_of(&e)))
            })?;
            let asked = pacer.elapsed();
            let locked = take_flock(dup, opts.patience, deadline, pacer)?;
            if pacer.elapsed().saturating_sub(asked) > WATCH_GAP {
                // Not watched under our flock meanwhile: start afresh.
                *watch = StaleWatch::default();
            }
            Some(locked)
        } else {
            None
        };
        // With the flock, wait only so long before letting go of it;
        // without, there is nobody to let go for.
        let hold_end = |pacer: &dyn Pacer| {
            let end = pacer.elapsed().saturating_add(FLOCK_HOLD);
            Some(deadline.map_or(end, |d| d.min(end)))
        };
        let end = if opts.flock {
            hold_end(pacer)
        } else {
            deadline
        };
        let dotlock = dotlock_path(mbox);
        let mut waiter = DotWaiter {
            mbox,
            patience: opts.patience,
            end,
            pacer: &mut *pacer,
            watch: if opts.flock { Some(watch) } else { None },
            poll: FIRST_POLL,
            cycle_over: false,
        };
        let core = Options {
            // The waiter decides when to stop.
            retries: i32::MAX,
            pid: opts.pid,
            schedule: Schedule::Interval(0),
        };
        let created = lock::create_with(&dotlock, &core, clock, &mut waiter);
        let cycle_over = waiter.cycle_over;
        match created {
            Ok(()) => {}
            Err(_) if cycle_over && !past(deadline, pacer) => return Ok(None),
            Err(e) => return Err(MboxError::new(Stage::DotLock, e)),
        }
        let id = Cell::new(FileId::lstat(&dotlock));
        let mut held = MboxLock {
            file,
            flock,
            dotlock,
            id,
            fcntl: false,
            released: false,
        };
        if !opts.fcntl {
            return Ok(Some(held));
        }
        let end = if opts.flock {
            hold_end(pacer)
        } else {
            deadline
        };
        match take_fcntl(&held.file, opts.patience, end, pacer) {
            Ok(()) => {
                held.fcntl = true;
                Ok(Some(held))
            }
            // Dropping `held` releases the dot-lock and the flock.
            Err(e)
                if opts.flock
                    && opts.patience != Patience::NoWait
                    && e.code == LCode::MaxTrys
                    && !past(deadline, pacer) =>
            {
                drop(held);
                Ok(None)
            }
            Err(e) => Err(MboxError::new(Stage::Fcntl, e)),
        }
    }

    /// The open mailbox (read-write when it could be opened so). Do not
    /// close another descriptor of the same file while the fcntl lock is
    /// held: POSIX drops a process's fcntl locks on any close.
    pub fn mailbox(&self) -> &File {
        &self.file
    }

    /// The path of the dot-lock.
    pub fn dotlock(&self) -> &Path {
        &self.dotlock
    }

    /// Whether the dot-lock is still ours.
    pub fn state(&self) -> Held {
        match (self.id.get(), FileId::lstat(&self.dotlock)) {
            (_, None) => Held::Removed,
            (Some(ours), Some(now)) if ours == now => Held::Ours,
            (_, Some(_)) => Held::Replaced,
        }
    }

    /// Refresh the dot-lock if it is still ours; say whether it is.
    pub fn touch(&self) -> Result<Held, Errno> {
        let held = self.state();
        if held == Held::Ours {
            lock::touch(&self.dotlock)?;
            self.id.set(FileId::lstat(&self.dotlock));
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
            result = set_fcntl(&self.file, libc::F_UNLCK);
        }
        let held = self.state();
        if held == Held::Ours {
            result = result.and(lock::remove(&self.dotlock));
        }
        self.id.set(None);
        // Dropping the Flock unlocks (and closes the duplicate).
        self.flock = None;
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

fn past(deadline: Option<Duration>, pacer: &dyn Pacer) -> bool {
    deadline.is_some_and(|d| pacer.elapsed() >= d)
}

fn errno_of(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// Open the mailbox read-write, creating it (mode 0600) if missing. Read
/// access is enough for flock, so fall back to it unless fcntl is wanted.
fn open_mailbox(path: &Path, write_needed: bool) -> Result<File, Errno> {
    let rw = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOCTTY)
        .open(path);
    match rw {
        Ok(f) => Ok(f),
        Err(e) if !write_needed && matches!(errno_of(&e), Errno::EACCES | Errno::EROFS) => {
            OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOCTTY)
                .open(path)
                .map_err(|e| errno_of(&e))
        }
        Err(e) => Err(errno_of(&e)),
    }
}

fn busy() -> LockError {
    LockError::new(LCode::MaxTrys, Errno::EAGAIN)
}

/// Wait before polling a busy lock again, doubling the interval; `busy()`
/// when not waiting or past `end`.
fn pace(
    patience: Patience,
    end: Option<Duration>,
    poll: &mut Duration,
    pacer: &mut dyn Pacer,
) -> Result<(), LockError> {
    if patience == Patience::NoWait {
        return Err(busy());
    }
    let mut d = *poll;
    if let Some(end) = end {
        let now = pacer.elapsed();
        if now >= end {
            return Err(busy());
        }
        d = d.min(end.saturating_sub(now));
    }
    pacer.pause(d)?;
    *poll = poll.saturating_mul(2).min(MAX_POLL);
    Ok(())
}

/// Take the flock, polling so that the pacer can stop the wait.
fn take_flock(
    file: File,
    patience: Patience,
    deadline: Option<Duration>,
    pacer: &mut dyn Pacer,
) -> Result<Flock<File>, MboxError> {
    let mut file = file;
    let mut poll = FIRST_POLL;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(locked) => return Ok(locked),
            Err((f, Errno::EWOULDBLOCK | Errno::EINTR)) => file = f,
            Err((_, e)) => {
                return Err(MboxError::new(
                    Stage::Flock,
                    LockError::new(LCode::Error, e),
                ));
            }
        }
        pace(patience, deadline, &mut poll, pacer).map_err(|e| MboxError::new(Stage::Flock, e))?;
    }
}

fn set_fcntl(file: &File, kind: libc::c_int) -> Result<(), Errno> {
    let l_type = libc::c_short::try_from(kind).map_err(|_| Errno::EINVAL)?;
    let whole = libc::flock {
        l_type,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    fcntl(file, FcntlArg::F_SETLK(&whole)).map(drop)
}

/// Take an fcntl write lock on the whole mailbox, polling until `end`.
fn take_fcntl(
    file: &File,
    patience: Patience,
    end: Option<Duration>,
    pacer: &mut dyn Pacer,
) -> Result<(), LockError> {
    let mut poll = FIRST_POLL;
    loop {
        match set_fcntl(file, libc::F_WRLCK) {
            Ok(()) => return Ok(()),
            Err(Errno::EACCES | Errno::EAGAIN | Errno::EINTR) => {}
            Err(e) => return Err(LockError::new(LCode::Error, e)),
        }
        pace(patience, end, &mut poll, pacer)?;
    }
}

/// The stale rule of SPEC §7: a dot-lock is broken when neither it nor the
/// mailbox changed for [`STALE_QUIET`] while we held the flock.
#[derive(Debug, Default)]
struct StaleWatch {
    seen: Option<(Option<FileId>, Option<FileId>)>,
    since: Duration,
}

impl StaleWatch {
    /// Look again; remove the lock if it has been quiet long enough.
    /// Returns whether it was removed.
    fn observe(&mut self, lock: &Path, mbox: &Path, now: Duration) -> bool {
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
        // core's) is removing it (SPEC §2.7 "two breakers").
        matches!(lock::break_stale(lock, &lock_v), Ok(Broken::Removed))
    }
}

/// The core's waiter while the dot-lock is busy: applies the stale rule
/// (under flock) and the deadlines.
struct DotWaiter<'a> {
    mbox: &'a Path,
    patience: Patience,
    end: Option<Duration>,
    pacer: &'a mut dyn Pacer,
    watch: Option<&'a mut StaleWatch>,
    poll: Duration,
    cycle_over: bool,
}

impl Waiter for DotWaiter<'_> {
    fn wait(&mut self, wait: &Wait<'_>) -> Result<(), LockError> {
        if self.patience == Patience::NoWait {
            return Err(busy());
        }
        if let Some(watch) = self.watch.as_deref_mut()
            && watch.observe(wait.lock, self.mbox, self.pacer.elapsed())
        {
            // Broken: try again at once.
            self.poll = FIRST_POLL;
            return Ok(());
        }
        if self.end.is_some_and(|end| self.pacer.elapsed() >= end) {
            self.cycle_over = true;
            return Err(busy());
        }
        pace(self.patience, self.end, &mut self.poll, &mut *self.pacer)
    }
}

#[cfg(test)]
mod tests;
