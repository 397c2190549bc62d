//! Creating a lock (SPEC §2).
#![forbid(unsafe_code)]

use std::ffi::{CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use nix::fcntl::{AT_FDCWD, AtFlags, OFlag, open};
use nix::sys::stat::{FileStat, Mode, lstat};
use nix::unistd::{close, gethostname, getpid, getppid, gettid, linkat, unlink, write};

use super::check::{Verdict, inspect};
use super::cpath::{Bytes, CPathBuf};
use super::identity::{self, WRITE_MAX};
use super::schedule::{Clock, Wait, Waiter};
use super::stale::{FileId, break_stale};
use super::tmpname::{short_host, tmp_name_in};
use super::{Options, PidMode};
use crate::error::{Errno, LCode, LockError};

/// How many times in a row lstat() of the lock may fail before we give up.
const MAX_STAT_FAILURES: u32 = 6;

fn path_of(bytes: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(bytes))
}

/// The content of the lock: the pid and a newline, "0\n" without one.
/// With a pid, the holder's identity follows on a line of its own (SPEC
/// §2.3, docs/holder-identity.md), unless it cannot be read.
pub(super) fn content_for(pid: PidMode) -> Result<Bytes<WRITE_MAX>, LockError> {
    let (pid, own) = match pid {
        PidMode::None => (0, None),
        PidMode::Own => {
            let own = getpid().as_raw();
            (own, Some(own))
        }
        PidMode::Parent => {
            let ppid = getppid().as_raw();
            if ppid == 1 {
                return Err(LockError::bare(LCode::Orphaned));
            }
            (ppid, Some(getpid().as_raw()))
        }
    };
    let mut content = Bytes::new();
    content.push_int(i64::from(pid), 0);
    content.push(b"\n");
    // Holder identity: only for a lock with a pid, so that the default
    // path makes no more system calls than before.
    if let Some(id) = own.and_then(identity::own) {
        identity::write_line(&id, |b| content.push(b));
    }
    Ok(content)
}

/// The longest host name Linux has (HOST_NAME_MAX).
const HOST_MAX: usize = 64;

/// The host name up to its first dot, read once per process.
///
/// The reference calls uname() for every lock; we read it at the first
/// lock and keep it, which saves a system call per lock. The name only
/// keeps the temporary names of hosts sharing a directory (over NFS)
/// apart. The trade-off: a host renamed while a program runs goes on using
/// its old name until the program restarts; the name stays unique unless
/// another host takes the old name meanwhile, and even then a clash is an
/// `L_TMPLOCK` from the O_EXCL create, never a double lock. A forked child
/// is on the same host, so the cache stays right across fork(). The thread
/// id, the other part of the name, is not cached: a child needs its own.
fn host() -> Result<&'static Bytes<HOST_MAX>, LockError> {
    static HOST: OnceLock<Bytes<HOST_MAX>> = OnceLock::new();
    if let Some(host) = HOST.get() {
        return Ok(host);
    }
    let name = gethostname().map_err(|e| LockError::new(LCode::Error, e))?;
    let mut host = Bytes::new();
    host.push(short_host(name.as_bytes()));
    Ok(HOST.get_or_init(|| host))
}

/// Write `content` to a new file `path` (O_EXCL, mode 0644 less umask).
/// On a failed or short write the file is removed again.
fn create_exclusive(path: &CStr, content: &[u8]) -> Result<(), LockError> {
    let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_CLOEXEC;
    let mode = Mode::from_bits_truncate(0o644);
    let fd = open(path, flags, mode).map_err(|e| LockError::new(LCode::TmpLock, e))?;
    // One write, as the reference: after a short write a second one would
    // raise SIGXFSZ (killing a caller that keeps the default action) when a
    // file-size limit cut the first, so a short write is reported as is.
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
struct TmpFile<'t, 'w> {
    path: &'t CStr,
    waiter: &'w mut dyn Waiter,
}

impl TmpFile<'_, '_> {
    fn as_path(&self) -> &Path {
        path_of(self.path.to_bytes())
    }
}

impl Drop for TmpFile<'_, '_> {
    fn drop(&mut self) {
        // Best effort: errno of the result was captured before this runs.
        let _ = unlink(self.path);
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
///
/// The uncontended path makes no heap allocation and six system calls:
/// gettid, open, write, close, link, unlink (the host name is read once).
pub fn create_with(
    lock: &Path,
    opts: &Options,
    clock: &dyn Clock,
    waiter: &mut dyn Waiter,
) -> Result<(), LockError> {
    let content = content_for(opts.pid)?;
    let host = host()?;
    let lock_bytes = lock.as_os_str().as_bytes();
    let mut tmp_buf = CPathBuf::new();
    let tmp = tmp_name_in(
        &mut tmp_buf,
        lock_bytes,
        gettid().as_raw(),
        clock.now(),
        host.as_bytes(),
    )?;
    // A NUL inside the name cannot come from C; from Rust it is refused
    // before anything is created.
    let mut lock_buf = CPathBuf::new();
    let lock_c = lock_buf
        .join(&[lock_bytes])
        .map_err(|e| LockError::new(LCode::Error, e))?;
    // The name is known before the file exists, so that a signal handler
    // of the caller can remove it from the moment it may exist.
    waiter.tmp_created(path_of(tmp.to_bytes()));
    if let Err(e) = create_exclusive(tmp, content.as_bytes()) {
        waiter.tmp_removed();
        return Err(e);
    }
    let tmp = TmpFile { path: tmp, waiter };
    attempts(lock, lock_c, opts, clock, content.as_bytes(), tmp)
}

fn attempts(
    lock: &Path,
    lock_c: &CStr,
    opts: &Options,
    clock: &dyn Clock,
    content: &[u8],
    tmp: TmpFile<'_, '_>,
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
    // The waiter cut its last wait short because the lock went away: the
    // attempt that follows is an extra one, and if it fails the same wait
    // goes on (Waiter::woke_early).
    let mut early = false;

    while attempt < tries || early {
        if wait_first {
            if !early {
                sleep = opts.schedule.next(sleep);
            }
            let wait = Wait {
                lock,
                attempt: attempt + 1,
                attempts: tries,
                secs: sleep,
            };
            tmp.waiter.wait(&wait)?;
            early = tmp.waiter.woke_early();
        }
        wait_first = true;
        if !early {
            attempt += 1;
        }

        // SPEC §2.6: a 0 from link() is proof; a failure may be a lie (NFS
        // lost the reply to a link that worked), so it is checked by inode.
        let linked = linkat(AT_FDCWD, tmp.path, AT_FDCWD, lock_c, AtFlags::empty());
        match linked {
            Ok(()) => return Ok(()),
            Err(Errno::EPERM)
                if *no_links.get_or_insert_with(|| links_unsupported(tmp.as_path())) =>
            {
                // SPEC §8: no hard links here; create the lock itself.
                match create_exclusive(lock_c, content) {
                    Ok(()) => return Ok(()),
                    Err(e) if e.code == LCode::TmpWrite => return Err(e),
                    Err(_) => {}
                }
            }
            Err(_) => {}
        }

        let ours = lstat(tmp.path).map_err(|e| LockError::new(LCode::Error, e))?;
        let theirs = match lstat(lock_c) {
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

        if !break_if_stale(lock, &theirs, use_pid, clock)? {
            continue;
        }
        // Something changed or went: try again at once, and at least once
        // more if only one attempt was allowed.
        wait_first = false;
        early = false;
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
/// was removed (tests: t_race_stale_removal, lock::tests); and two
/// breakers of one stale lock could remove each other's new lock (see
/// [`break_stale`]).
fn break_if_stale(
    lock: &Path,
    seen: &FileStat,
    use_pid: bool,
    clock: &dyn Clock,
) -> Result<bool, LockError> {
    let seen = FileId::of(seen);
    let found = inspect(lock, use_pid, clock);
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
