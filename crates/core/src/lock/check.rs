//! Is a lock valid? (docs/protocol.md §3)
#![forbid(unsafe_code)]

use core::ffi::CStr;

use super::identity::{self, Host, Origin, Recorded};
use super::wait::Time;
use crate::sys::{self, Errno, Fd, FileStat};

/// A lock older than this many seconds is stale (unless a live pid says
/// otherwise).
pub const STALE_AGE: i64 = 300;
/// How many bytes of a lock's content are read as the pid (as 1.17 reads
/// them).
pub const CONTENT_MAX: usize = 15;
/// How many bytes of a lock's content are read: the pid and the holder's
/// identity after it.
const READ_MAX: usize = identity::WRITE_MAX;

/// The verdict on a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// There is no lock by that name (not even one we can stat).
    Absent,
    /// The lock is held.
    Valid,
    /// The lock may be removed.
    Stale,
}

/// What was found out about a lock, for [`Verdict`] and for people asking
/// who holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// The verdict.
    pub verdict: Verdict,
    /// The pid written in the lock, when one was looked for and is > 0.
    pub pid: Option<i32>,
    /// Whether that process exists (`None`: could not be told).
    pub alive: Option<bool>,
    /// The lock's mtime, seconds since the epoch.
    pub mtime: i64,
    /// "Now" as used for the age.
    pub now: i64,
    /// Whether "now" is the file system's clock (the atime a read set).
    pub fs_clock: bool,
    /// Device and inode of the file that was read, if it was opened.
    pub(crate) opened: Option<(u64, u64)>,
    /// The holder's host name as the lock records it (empty: none).
    pub host: Host,
    /// Where the pid lives, seen from here; `Unjudged` when no pid was
    /// looked for.
    pub origin: Origin,
}

impl Inspection {
    fn absent(now: i64) -> Inspection {
        Inspection {
            verdict: Verdict::Absent,
            pid: None,
            alive: None,
            mtime: 0,
            now,
            fs_clock: false,
            opened: None,
            host: Host::EMPTY,
            origin: Origin::Unjudged,
        }
    }
}

/// The pid in a lock's content, read the way C's `atoi` reads it: leading
/// white space, a sign, digits; the value is then truncated to an `int`.
pub fn parse_pid(content: &[u8]) -> i32 {
    let mut rest = content
        .iter()
        .skip_while(|b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .peekable();
    let negative = match rest.peek() {
        Some(b'-') => {
            rest.next();
            true
        }
        Some(b'+') => {
            rest.next();
            false
        }
        _ => false,
    };
    let mut value: i64 = 0;
    for b in rest.take_while(|b| b.is_ascii_digit()) {
        value = value.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    let value = if negative { -value } else { value };
    // Truncation to int is what the reference's atoi() does (strtol, then
    // a cast); with 15 bytes of content the i64 never saturates.
    value as i32
}

/// Whether a process with this pid exists: `kill(pid, 0)` succeeds or
/// fails with EPERM → yes; ESRCH → no; anything else → unknown.
pub fn pid_alive(pid: i32) -> Option<bool> {
    match sys::probe_pid(pid) {
        Ok(()) | Err(Errno::EPERM) => Some(true),
        Err(Errno::ESRCH) => Some(false),
        Err(_) => None,
    }
}

/// The rule of docs/protocol.md §3, given what was read: a live pid makes the lock
/// valid and a dead one stale; otherwise it is valid for 300 s after mtime.
pub fn judge(alive: Option<bool>, mtime: i64, now: i64) -> Verdict {
    match alive {
        Some(true) => Verdict::Valid,
        Some(false) => Verdict::Stale,
        None if now < mtime.saturating_add(STALE_AGE) => Verdict::Valid,
        None => Verdict::Stale,
    }
}

/// Look at the lock `path`. With `use_pid`, a positive pid in the content
/// decides; otherwise the age does, by the file system's clock where a
/// read moves the atime, else by the wall clock of `time`. Allocates
/// nothing and takes no lock (async-signal-safe).
pub fn inspect(path: &CStr, use_pid: bool, time: &dyn Time) -> Inspection {
    // O_NONBLOCK: a FIFO planted as the lock must not hang us.
    let flags = libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK;
    let fd = match sys::open(path, flags, 0) {
        Ok(fd) => fd,
        // Cannot read it (EACCES, say): judge by its age alone.
        Err(e) => {
            let now = time.wall();
            return match sys::stat(path) {
                Ok(st) => Inspection {
                    verdict: if use_pid && out_of_resources(e) {
                        // we fix: out of descriptors or memory, the pid
                        // in the lock cannot be read, which says nothing
                        // about the lock: never call it stale then (the
                        // reference judges by age and may remove a live
                        // holder's lock; test: tests-sys/rel/faults.c nofile).
                        Verdict::Valid
                    } else {
                        judge(None, st.st_mtime, now)
                    },
                    pid: None,
                    alive: None,
                    mtime: st.st_mtime,
                    now,
                    fs_clock: false,
                    opened: None,
                    host: Host::EMPTY,
                    origin: Origin::Unjudged,
                },
                Err(_) => Inspection::absent(now),
            };
        }
    };
    inspect_open(&fd, use_pid, time)
}

/// Whether a failed open() says only that this process is short of
/// something, not anything about the file.
fn out_of_resources(e: Errno) -> bool {
    matches!(
        e,
        Errno::EMFILE | Errno::ENFILE | Errno::ENOMEM | Errno::EINTR | Errno::EAGAIN
    )
}

fn inspect_open(fd: &Fd, use_pid: bool, time: &dyn Time) -> Inspection {
    let Ok(before) = sys::fstat(fd.raw()) else {
        // Cannot happen on an open descriptor; never call it stale.
        let now = time.wall();
        return Inspection {
            verdict: Verdict::Valid,
            ..Inspection::absent(now)
        };
    };
    let mut buf = [0u8; READ_MAX];
    let len = sys::read(fd, &mut buf);
    let after = sys::fstat(fd.raw());
    // we fix: the reference takes the atime from *before* the read, so a
    // lock with an old atime looked fresh (test: t_stale_old_atime).
    let fs_now = match (&len, &after) {
        (Ok(_), Ok(after)) if after.st_atime != before.st_atime => Some(after.st_atime),
        _ => None,
    };
    let now = fs_now.unwrap_or_else(|| time.wall());
    let content = match len {
        Ok(n) => buf.get(..n).unwrap_or_default(),
        Err(_) => &[],
    };
    let head = content.get(..CONTENT_MAX).unwrap_or(content);
    let pid = Some(parse_pid(head)).filter(|&p| use_pid && !content.is_empty() && p > 0);
    // docs/protocol.md §3 (2026-12): the pid counts only where it was written.
    let recorded = identity::parse(content);
    let origin = match pid {
        Some(_) => origin_of(&recorded, before.st_mtime),
        None if use_pid => Origin::Bare,
        None => Origin::Unjudged,
    };
    let alive = match origin {
        Origin::Bare | Origin::Local => pid.and_then(pid_alive),
        _ => None,
    };
    let verdict = match origin {
        Origin::EarlierBoot => Verdict::Stale,
        _ => judge(alive, before.st_mtime, now),
    };
    Inspection {
        verdict,
        pid,
        alive,
        mtime: before.st_mtime,
        now,
        fs_clock: fs_now.is_some(),
        opened: Some(id_of(&before)),
        host: match recorded {
            Recorded::Known(id) => id.host,
            _ => Host::EMPTY,
        },
        origin,
    }
}

/// Where a lock that records `recorded` was written, seen from this
/// process; its own identity is read only for a lock that has one.
#[inline(never)]
fn origin_of(recorded: &Recorded, mtime: i64) -> Origin {
    let reader = match recorded {
        Recorded::Known(_) => identity::own_now(),
        _ => None,
    };
    identity::origin(recorded, reader.as_ref(), mtime, identity::boot_start)
}

/// Device and inode: which file.
pub fn id_of(st: &FileStat) -> (u64, u64) {
    (st.st_dev, st.st_ino)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_pid_like_atoi() {
        assert_eq!(parse_pid(b"1234\n"), 1234);
        assert_eq!(parse_pid(b"  \t 42abc"), 42);
        assert_eq!(parse_pid(b"+7"), 7);
        assert_eq!(parse_pid(b"-7\n"), -7);
        assert_eq!(parse_pid(b""), 0);
        assert_eq!(parse_pid(b"garbage"), 0);
        assert_eq!(parse_pid(b"12\x0034"), 12);
        // atoi("99999999999") on LP64: strtol gives 99999999999, the cast
        // keeps the low 32 bits.
        assert_eq!(parse_pid(b"99999999999"), 99_999_999_999_i64 as i32);
        assert_eq!(
            parse_pid(b"999999999999999"),
            999_999_999_999_999_i64 as i32
        );
    }

    #[test]
    fn age_rule() {
        assert_eq!(judge(None, 1000, 1000), Verdict::Valid);
        assert_eq!(judge(None, 1000, 1299), Verdict::Valid);
        assert_eq!(judge(None, 1000, 1300), Verdict::Stale);
        assert_eq!(judge(None, i64::MAX, 0), Verdict::Valid);
    }

    #[test]
    fn pid_rule_wins_over_age() {
        assert_eq!(judge(Some(true), 0, 1_000_000), Verdict::Valid);
        assert_eq!(judge(Some(false), 1000, 1000), Verdict::Stale);
    }

    #[test]
    fn own_pid_is_alive() {
        assert_eq!(pid_alive(std::process::id() as i32), Some(true));
    }
}
