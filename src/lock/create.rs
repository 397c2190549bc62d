//! Creating a lock (SPEC §2).
#![forbid(unsafe_code)]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{AT_FDCWD, AtFlags, OFlag, open};
use nix::sys::stat::{FileStat, Mode, lstat};
use nix::unistd::{close, gethostname, getpid, getppid, gettid, linkat, unlink, write};

use super::check::{Verdict, inspect};
use super::schedule::{Clock, Wait, Waiter};
use super::tmpname::tmp_name;
use super::{Options, PidMode};
use crate::error::{Errno, LCode, LockError};

/// How many times in a row lstat() of the lock may fail before we give up.
const MAX_STAT_FAILURES: u32 = 6;

/// What makes a lock the same file as before: a stale lock is removed only
/// if it still is the file that was judged (SPEC §2.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
    mtime: i64,
    mtime_nsec: i64,
    symlink: bool,
}

impl Identity {
    fn of(st: &FileStat) -> Identity {
        Identity {
            dev: st.st_dev,
            ino: st.st_ino,
            mtime: st.st_mtime,
            mtime_nsec: st.st_mtime_nsec,
            symlink: st.st_mode & libc::S_IFMT == libc::S_IFLNK,
        }
    }
}

fn path_of(bytes: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(bytes))
}

/// The content of the lock: the pid and a newline, "0\n" without one.
pub(super) fn content_for(pid: PidMode) -> Result<String, LockError> {
    let pid = match pid {
        PidMode::None => 0,
        PidMode::Own => getpid().as_raw(),
        PidMode::Parent => {
            let ppid = getppid().as_raw();
            if ppid == 1 {
                return Err(LockError::bare(LCode::Orphaned));
            }
            ppid
        }
    };
    Ok(format!("{pid}\n"))
}

/// Write `content` to a new file `path` (O_EXCL, mode 0644 less umask).
/// On a failed or short write the file is removed again.
fn create_exclusive(path: &Path, content: &[u8]) -> Result<(), LockError> {
    let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_CLOEXEC;
    let mode = Mode::from_bits_truncate(0o644);
    let fd = open(path, flags, mode).map_err(|e| LockError::new(LCode::TmpLock, e))?;
    let written = write(&fd, content);
    let closed = close(fd);
    let failure = match (written, closed) {
        (Ok(n), Ok(())) if n == content.len() => return Ok(()),
        (Err(e), _) | (Ok(_), Err(e)) => e,
        // A short write without an error: the reference says EAGAIN.
        (Ok(_), Ok(())) => Errno::EAGAIN,
    };
    let _ = unlink(path);
    Err(LockError::new(LCode::TmpWrite, failure))
}

/// The temporary file, removed on every path out of [`create_with`].
struct TmpFile<'w> {
    path: PathBuf,
    waiter: &'w mut dyn Waiter,
}

impl Drop for TmpFile<'_> {
    fn drop(&mut self) {
        // Best effort: errno of the result was captured before this runs.
        let _ = unlink(&self.path);
        self.waiter.tmp_removed();
    }
}

/// Whether hard links are missing on the file system of `tmp`: link it to
/// a second private name. Nobody else uses that name, so EPERM here cannot
/// come from contention (sshfs reports a lost race as EPERM).
fn links_unsupported(tmp: &Path) -> bool {
    let mut probe = tmp.as_os_str().to_owned();
    probe.push("~");
    let probe = PathBuf::from(probe);
    for _ in 0..2 {
        match linkat(AT_FDCWD, tmp, AT_FDCWD, &probe, AtFlags::empty()) {
            Ok(()) => {
                let _ = unlink(&probe);
                return false;
            }
            Err(Errno::EEXIST) => {
                // Left behind by a killed process of the same thread id.
                let _ = unlink(&probe);
            }
            Err(e) => return e == Errno::EPERM,
        }
    }
    false
}

/// Create the lock `lock` as `opts` say, waiting through `waiter` and
/// dating through `clock`. See SPEC §2 for every step.
pub fn create_with(
    lock: &Path,
    opts: &Options,
    clock: &dyn Clock,
    waiter: &mut dyn Waiter,
) -> Result<(), LockError> {
    let content = content_for(opts.pid)?;
    let host = gethostname().map_err(|e| LockError::new(LCode::Error, e))?;
    let tmp = tmp_name(
        lock.as_os_str().as_bytes(),
        gettid().as_raw(),
        clock.now(),
        host.as_bytes(),
    )?;
    let tmp = path_of(&tmp).to_path_buf();
    create_exclusive(&tmp, content.as_bytes())?;
    waiter.tmp_created(&tmp);
    let tmp = TmpFile { path: tmp, waiter };
    attempts(lock, opts, clock, content.as_bytes(), tmp)
}

fn attempts(
    lock: &Path,
    opts: &Options,
    clock: &dyn Clock,
    content: &[u8],
    tmp: TmpFile<'_>,
) -> Result<(), LockError> {
    let use_pid = opts.pid != PidMode::None;
    let mut tries = i64::from(opts.retries) + 1;
    let mut attempt: i64 = 0;
    let mut sleep = match opts.schedule {
        super::Schedule::Standard => 0,
        super::Schedule::Interval(secs) => secs,
    };
    let mut wait_first = false;
    let mut stat_failures = 0;
    let mut no_links: Option<bool> = None;

    while attempt < tries {
        if wait_first {
            sleep = opts.schedule.next(sleep);
            let wait = Wait {
                lock,
                attempt: attempt + 1,
                attempts: tries,
                secs: sleep,
            };
            tmp.waiter.wait(&wait)?;
        }
        wait_first = true;
        attempt += 1;

        // SPEC §2.6: a 0 from link() is proof; a failure may be a lie (NFS
        // lost the reply to a link that worked), so it is checked by inode.
        let linked = linkat(AT_FDCWD, &tmp.path, AT_FDCWD, lock, AtFlags::empty());
        match linked {
            Ok(()) => return Ok(()),
            Err(Errno::EPERM) if *no_links.get_or_insert_with(|| links_unsupported(&tmp.path)) => {
                // SPEC §8: no hard links here; create the lock itself.
                match create_exclusive(lock, content) {
                    Ok(()) => return Ok(()),
                    Err(e) if e.code == LCode::TmpWrite => return Err(e),
                    Err(_) => {}
                }
            }
            Err(_) => {}
        }

        let ours = lstat(&tmp.path).map_err(|e| LockError::new(LCode::Error, e))?;
        let theirs = match lstat(lock) {
            Ok(st) => st,
            Err(e) => {
                stat_failures += 1;
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

        if !break_if_stale(lock, &theirs, use_pid, clock)? {
            continue;
        }
        // Something changed or went: try again at once, and at least once
        // more if only one attempt was allowed.
        wait_first = false;
        if tries == 1 {
            tries = 2;
        }
    }
    Err(LockError::new(LCode::MaxTrys, Errno::EAGAIN))
}

/// Judge the lock that lstat() saw as `seen`; remove it if it is stale and
/// still the same file. Returns whether to retry at once (the lock was
/// stale, vanished or changed) rather than wait.
///
/// we fix (SPEC §2.7): the reference judged by name and unlinked by name,
/// so a lock that vanished counted as stale and the lock that replaced it
/// was removed (tests: t_race_stale_removal, lock::tests).
fn break_if_stale(
    lock: &Path,
    seen: &FileStat,
    use_pid: bool,
    clock: &dyn Clock,
) -> Result<bool, LockError> {
    let seen = Identity::of(seen);
    let found = inspect(lock, use_pid, clock);
    match found.verdict {
        Verdict::Valid => return Ok(false),
        // A dangling symlink (or a loop) cannot be followed: stale, as in
        // the reference. Anything else that vanished was released.
        Verdict::Absent if !seen.symlink => return Ok(true),
        Verdict::Absent | Verdict::Stale => {}
    }
    // The file read must be the one lstat() saw (for a symlink, its target
    // was read; its own identity is checked below).
    if !seen.symlink && found.opened.is_some_and(|id| id != (seen.dev, seen.ino)) {
        return Ok(true);
    }
    match lstat(lock) {
        Ok(now) if Identity::of(&now) == seen => {}
        _ => return Ok(true),
    }
    match unlink(lock) {
        Ok(()) | Err(Errno::ENOENT) => Ok(true),
        // we fix: the reference leaves its temporary file behind here.
        Err(e) => Err(LockError::new(LCode::RmStale, e)),
    }
}
