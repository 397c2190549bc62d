//! Creating a lock (docs/protocol.md §2).
#![forbid(unsafe_code)]

use core::ffi::CStr;
use core::time::Duration;

use super::check::{Verdict, inspect};
use super::identity::{self, WRITE_MAX};
use super::schedule::Limit;
use super::stale::{FileId, break_stale};
use super::tmpname::{VARIANTS, cached_pid, fresh_pid, host, tmp_name, variant};
use super::wait::{Time, wait};
use super::{Options, PidMode};
use crate::cpath::{Bytes, FixedCPath};
use crate::error::{Errno, LCode, LockError};
use crate::sys::{self, FileStat};

/// How many times in a row lstat() of the lock may fail before we give up.
const MAX_STAT_FAILURES: u32 = 6;

/// What [`create_with`] tells its caller while it works.
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    /// The temporary file may exist under this name from now on (`None`:
    /// it is gone), for a signal handler that must remove it.
    Tmp(Option<&'a CStr>),
    /// The lock is busy: a wait begins.
    Wait {
        /// The lock.
        lock: &'a CStr,
        /// The number of the attempt that follows the wait (the first is 1).
        attempt: i64,
        /// How many attempts are allowed in all (`None`: no count).
        attempts: Option<i64>,
        /// How long the wait is (at most: a deadline may cut it).
        wait: Duration,
        /// The monotonic time now.
        now: Duration,
    },
}

/// The content of the lock: "0\n" without a pid; with one, the pid and a
/// newline, then the holder's identity on a line of its own (docs/protocol.md
/// §2.3, docs/holder-identity.md), unless it cannot be read. A pid's
/// content is written into `buf`, in place: the common "0\n" needs no
/// buffer, and no 300-byte value is zeroed or moved per lock. One copy,
/// not one in each caller: the C library's size (check-abi).
#[inline(never)]
pub(super) fn content_for(
    buf: &mut Option<Bytes<WRITE_MAX>>,
    pid: PidMode,
) -> Result<&[u8], LockError> {
    let (pid, own) = match pid {
        PidMode::None => return Ok(b"0\n"),
        PidMode::Own => {
            let own = sys::getpid();
            (own, own)
        }
        PidMode::Parent => {
            let ppid = sys::getppid();
            if ppid == 1 {
                return Err(LockError::bare(LCode::Orphaned));
            }
            (ppid, sys::getpid())
        }
    };
    let content = buf.insert(Bytes::new());
    content.push_int(i64::from(pid), 0);
    content.push(b"\n");
    // Holder identity: only for a lock with a pid, so that the default
    // path makes no more system calls than before.
    if let Some(id) = identity::own(own) {
        identity::write_line(&id, |b| content.push(b));
    }
    Ok(content.as_bytes())
}

/// Write `content` to a new file `path` (O_EXCL, mode 0644 less umask).
/// On a failed or short write the file is removed again.
fn create_exclusive(path: &CStr, content: &[u8]) -> Result<(), LockError> {
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC;
    let fd = sys::open(path, flags, 0o644).map_err(|e| LockError::new(LCode::TmpLock, e))?;
    // One write, as the reference: after a short write a second one would
    // raise SIGXFSZ (killing a caller that keeps the default action) when a
    // file-size limit cut the first, so a short write is reported as is.
    let written = sys::write(&fd, content);
    let closed = fd.close();
    let failure = match (written, closed) {
        (Ok(n), Ok(())) if n == content.len() => return Ok(()),
        (Err(e), _) | (Ok(_), Err(e)) => e,
        // A short write without an error: the reference says EAGAIN.
        (Ok(_), Ok(())) => Errno::EAGAIN,
    };
    let _ = sys::unlink(path);
    Err(LockError::new(LCode::TmpWrite, failure))
}

/// Create the temporary file for `lock` under the first name that is
/// free, written into `tmp`: the reference's (our pid), else one of
/// [`variant`]'s.
fn create_tmp(
    tmp: &mut FixedCPath,
    lock: &CStr,
    content: &[u8],
    wall: i64,
    on: &mut dyn FnMut(Step<'_>) -> Result<(), LockError>,
) -> Result<(), LockError> {
    let host = host()?;
    let pid = cached_pid();
    let mut n = 0;
    let mut id = (pid, wall);
    loop {
        let tmp = tmp_name(tmp, lock, id.0, id.1, host.as_bytes())?;
        // The name is known before the file exists, so that a signal
        // handler of the caller can remove it from the moment it may.
        on(Step::Tmp(Some(tmp)))?;
        let err = match create_exclusive(tmp, content) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        let _ = on(Step::Tmp(None));
        if err.errno != Some(Errno::EEXIST) || err.code != LCode::TmpLock {
            return Err(err);
        }
        // Taken: by a process whose pid we still had (after a fork that
        // ran no handler), by a thread of ours, or left by a killed one.
        let real = fresh_pid();
        if id.0 == pid && real != pid {
            id = (real, wall);
            continue;
        }
        let tid = sys::gettid();
        if n == 0 && tid == id.0 {
            // The main thread: its id is the pid, whose name was taken.
            n = 1;
        }
        id = match variant(n, tid, wall) {
            Some(v) if n < VARIANTS => v,
            _ => return Err(err),
        };
        n += 1;
    }
}

/// Whether hard links are missing on the file system of `tmp`: link it to
/// a second private name. Nobody else uses that name, so EPERM here cannot
/// come from contention (sshfs reports a lost race as EPERM).
fn links_unsupported(tmp: &CStr) -> bool {
    let Ok(probe) = FixedCPath::new(&[tmp.to_bytes(), b"~"]) else {
        return false;
    };
    for _ in 0..2 {
        match sys::link(tmp, probe.as_cstr()) {
            Ok(()) => {
                let _ = sys::unlink(probe.as_cstr());
                return false;
            }
            Err(Errno::EEXIST) => {
                // Left behind by a killed process of the same name.
                let _ = sys::unlink(probe.as_cstr());
            }
            Err(e) => return e == Errno::EPERM,
        }
    }
    false
}

/// Create the lock `lock` as `opts` say, on `time`, telling `on` what
/// happens (see [`Step`]; an error from it ends the attempts). See docs/protocol.md §2
/// for every step.
///
/// The uncontended path makes no heap allocation and five system calls:
/// open, write, close, link, unlink (the pid and the host name are read
/// once per process).
pub fn create_with(
    lock: &CStr,
    opts: &Options,
    time: &mut dyn Time,
    on: &mut dyn FnMut(Step<'_>) -> Result<(), LockError>,
) -> Result<(), LockError> {
    let mut buf = None;
    let content = content_for(&mut buf, opts.pid)?;
    let mut tmp = FixedCPath::empty();
    create_tmp(&mut tmp, lock, content, time.wall(), on)?;
    let result = attempts(lock, tmp.as_cstr(), opts, time, content, on);
    // Best effort: errno of the result was captured before this runs.
    let _ = sys::unlink(tmp.as_cstr());
    let _ = on(Step::Tmp(None));
    result
}

fn attempts(
    lock: &CStr,
    tmp: &CStr,
    opts: &Options,
    time: &mut dyn Time,
    content: &[u8],
    on: &mut dyn FnMut(Step<'_>) -> Result<(), LockError>,
) -> Result<(), LockError> {
    let use_pid = opts.pid != PidMode::None;
    let mut tries = match opts.limit {
        Limit::Retries(r) => Some(i64::from(r) + 1),
        Limit::Until(_) | Limit::Forever => None,
    };
    let until = match opts.limit {
        Limit::Until(t) => Some(t),
        Limit::Retries(_) | Limit::Forever => None,
    };
    let mut attempt: i64 = 0;
    let mut wait_len = Duration::ZERO;
    let mut wait_first = false;
    let mut stat_failures = 0;
    let mut no_links: Option<bool> = None;
    // The end of a wait that a release of the lock cut short: the attempt
    // that follows is an extra one, and if it fails the same wait goes on
    // to its end, so the schedule still bounds the time.
    let mut cut_short: Option<Duration> = None;

    loop {
        let counted = if wait_first {
            let end = match cut_short.take() {
                Some(end) => end,
                None => {
                    if tries.is_some_and(|t| attempt >= t) {
                        break;
                    }
                    let now = time.now();
                    if until.is_some_and(|u| now >= u) {
                        break;
                    }
                    wait_len = opts.schedule.next(wait_len);
                    on(Step::Wait {
                        lock,
                        attempt: attempt + 1,
                        attempts: tries,
                        wait: wait_len,
                        now,
                    })?;
                    let end = now.saturating_add(wait_len);
                    until.map_or(end, |u| end.min(u))
                }
            };
            let released = wait(time, end, Some(lock), opts.wake)?;
            if released {
                cut_short = Some(end);
            }
            !released
        } else {
            if tries.is_some_and(|t| attempt >= t) {
                break;
            }
            true
        };
        wait_first = true;
        if counted {
            attempt += 1;
        }

        // docs/protocol.md §2.6: a 0 from link() is proof; a failure may be a lie (NFS
        // lost the reply to a link that worked), so it is checked by inode.
        let linked = sys::link(tmp, lock);
        match linked {
            Ok(()) => return Ok(()),
            Err(Errno::EPERM) if *no_links.get_or_insert_with(|| links_unsupported(tmp)) => {
                // docs/decisions.md §8: no hard links here; create the lock itself.
                match create_exclusive(lock, content) {
                    Ok(()) => return Ok(()),
                    Err(e) if e.code == LCode::TmpWrite => return Err(e),
                    Err(_) => {}
                }
            }
            Err(_) => {}
        }

        let ours = sys::lstat(tmp).map_err(|e| LockError::new(LCode::Error, e))?;
        let theirs = match sys::lstat(lock) {
            Ok(st) => st,
            Err(e) => {
                // we fix: link() found the lock taken (EEXIST, or EPERM for
                // a lost race over sshfs) and its holder let it go before
                // this lstat(): a lost attempt like any other, not a
                // failing lstat(). The reference counts it, so a waiter
                // spinning in step with a busy lock's holders gives up with
                // L_MAXTRYS/ENOENT (test: tests-sys/rel/netfs.sh, contend).
                let released =
                    e == Errno::ENOENT && matches!(linked, Err(Errno::EEXIST | Errno::EPERM));
                if !released {
                    stat_failures += 1;
                }
                if stat_failures > MAX_STAT_FAILURES {
                    return Err(LockError::new(LCode::MaxTrys, e));
                }
                continue;
            }
        };
        // we fix: the reference compares st_rdev (0 for regular files)
        // instead of st_dev.
        if ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino {
            return Ok(());
        }
        stat_failures = 0;

        if !break_if_stale(lock, &theirs, use_pid, time)? {
            continue;
        }
        // Something changed or went: try again at once, and at least once
        // more if only one attempt was allowed.
        wait_first = false;
        cut_short = None;
        if tries == Some(1) {
            tries = Some(2);
        }
    }
    Err(LockError::new(LCode::MaxTrys, Errno::EAGAIN))
}

/// Judge the lock that lstat() saw as `seen`; remove it if it is stale and
/// still the same file. Returns whether to retry at once (the lock was
/// stale, vanished or changed) rather than wait.
///
/// we fix (docs/protocol.md §2.7): the reference judged by name and unlinked by name,
/// so a lock that vanished counted as stale and the lock that replaced it
/// was removed (tests: t_race_stale_removal, lock::tests); and two
/// breakers of one stale lock could remove each other's new lock (see
/// [`break_stale`]).
fn break_if_stale(
    lock: &CStr,
    seen: &FileStat,
    use_pid: bool,
    time: &dyn Time,
) -> Result<bool, LockError> {
    let seen = FileId::of(seen);
    let found = inspect(lock, use_pid, time);
    match found.verdict {
        Verdict::Valid => return Ok(false),
        // A dangling symlink (or a loop) cannot be followed: stale, as in
        // the reference. Anything else that vanished was released.
        Verdict::Absent if !seen.is_symlink() => return Ok(true),
        Verdict::Absent | Verdict::Stale => {}
    }
    // The file read must be the one lstat() saw (for a symlink, its target
    // was read; its own identity is checked by the break).
    if !seen.is_symlink() && found.opened.is_some_and(|id| id != seen.file()) {
        return Ok(true);
    }
    match break_stale(lock, &seen) {
        // Removed, or changed meanwhile, or another breaker's turn: in
        // each case the next attempt decides.
        Ok(_) => Ok(true),
        // we fix: the reference leaves its temporary file behind here.
        Err(e) => Err(LockError::new(LCode::RmStale, e)),
    }
}
