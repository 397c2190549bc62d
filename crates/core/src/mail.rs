//! The SysV mail lock's state: the path of the mail lock this process
//! holds, and where `maillock` finds it (docs/c-policy.md §4).
//!
//! The one piece of global state in the library, built for the conditions
//! C programs run in (docs/c-policy.md §4 "Process conditions"): `mailunlock()` and
//! `touchlock()` are called from signal handlers, from other threads while
//! a `maillock()` waits, and in the child of a threaded program after
//! fork(). So there is no mutex: the path lives in a fixed-size block of
//! atomic bytes (mapped by the first `maillock()` that gets a lock, so
//! that a program that never calls it carries no 4 KiB of it), and one
//! atomic word says who may write it.
//!
//! - `STATE` is `FREE` (nothing held), `WRITING` (a `maillock()` that got
//!   its lock is copying the path in), `HELD`, or `UNLOCKING` (a
//!   `mailunlock()` is removing it). `WRITING` and `UNLOCKING` carry the
//!   pid of the process that set them, so a forked child recognizes a
//!   claim of a thread that did not come along and takes it over.
//! - Every change bumps a generation, so a reader copies the path and
//!   keeps the copy only if the state word did not change meanwhile (a
//!   sequence lock; readers never wait, writers never wait for readers).
//! - The state is never held across a wait: `maillock()` waits for the lock
//!   file with nothing claimed and claims `WRITING` only to copy the path
//!   in; `UNLOCKING` covers the removal only.
//!
//! Readers (`with_held`) allocate nothing and take no lock, so they are
//! async-signal-safe.
#![forbid(unsafe_code)]

use core::ffi::CStr;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering, fence};
use core::time::Duration;

use crate::cpath::{FixedCPath, LOCK_SUFFIX, PATH_MAX};
use crate::error::{Errno, LCode, LockError};
use crate::sys;

/// The mail spool directory with a trailing slash, fixed at build time.
pub const MAILDIR: &str = env!("LOCKFILE_MAILDIR");

/// The bytes of the held lock's path (no NUL), once a lock was remembered.
static PATH: sys::AtomicBlock<PATH_MAX> = sys::AtomicBlock::new();
/// How many bytes of [`PATH`] are the path.
static LEN: AtomicUsize = AtomicUsize::new(0);
/// The state word: bits 0-1 the phase, bits 2-31 a generation, bits 32-63
/// the pid that set `WRITING` or `UNLOCKING`.
static STATE: AtomicU64 = AtomicU64::new(FREE);

const FREE: u64 = 0;
const WRITING: u64 = 1;
const HELD: u64 = 2;
const UNLOCKING: u64 = 3;
const PHASE: u64 = 3;
const GEN_ONE: u64 = 4;
const GEN_MASK: u64 = 0xffff_fffc;

fn phase(s: u64) -> u64 {
    s & PHASE
}

fn claimer(s: u64) -> u32 {
    (s >> 32) as u32
}

fn me() -> u32 {
    sys::getpid().unsigned_abs()
}

/// The next state word after `s`: `phase`, a new generation, and `pid`.
fn next(s: u64, phase: u64, pid: u32) -> u64 {
    ((s & GEN_MASK).wrapping_add(GEN_ONE) & GEN_MASK) | phase | (u64::from(pid) << 32)
}

/// Whether this process holds a mail lock.
pub fn held() -> bool {
    phase(STATE.load(Ordering::Acquire)) == HELD
}

/// Copy the path into `buf` (a stack buffer of the caller's) and check
/// that the state word is still `s` (so the copy is whole). `false`: it
/// changed meanwhile.
fn copy_path(s: u64, buf: &mut FixedCPath) -> bool {
    // Mapped before any state but FREE was ever set.
    let Some(path) = PATH.get() else {
        return false;
    };
    let len = LEN.load(Ordering::Acquire).min(PATH_MAX);
    // A torn copy may hold a NUL; it is refused by the check below anyway.
    let copied = buf
        .fill(len, |i| {
            path.get(i)
                .map_or(b'/', |slot| slot.load(Ordering::Relaxed))
                .max(1)
        })
        .is_ok();
    fence(Ordering::Acquire);
    copied && STATE.load(Ordering::Acquire) == s
}

/// How many times a reader tries again when the state changes under it.
const READ_TRIES: u32 = 8;

/// The path of the held lock, copied into `buf`, or `None`.
/// Async-signal-safe.
pub fn held_path(buf: &mut FixedCPath) -> Option<&CStr> {
    for _ in 0..READ_TRIES {
        let s = STATE.load(Ordering::Acquire);
        if phase(s) != HELD {
            return None;
        }
        if copy_path(s, buf) {
            return Some(buf.as_cstr());
        }
    }
    None
}

/// What [`remember`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remembered {
    /// The path is now this process's mail lock.
    Yes,
    /// Another thread got a mail lock first; it stays the one.
    Other,
    /// Another thread of this process kept the state busy for too long.
    Busy,
    /// No memory for the path (the first mapping of it failed).
    NoMemory,
}

/// How long [`remember`] waits for another thread to finish a claim of a
/// few microseconds (its copy, or its removal of the lock file).
const CLAIM_WAIT_MS: u32 = 5000;

/// Make `path`, a lock this process just created, its mail lock.
pub fn remember(path: &CStr) -> Remembered {
    // Before any claim: nothing is held while the block is mapped.
    let Some(slots) = PATH.get_or_map() else {
        return Remembered::NoMemory;
    };
    let pid = me();
    let mut waited = 0;
    loop {
        let s = STATE.load(Ordering::Acquire);
        match phase(s) {
            HELD => return Remembered::Other,
            // A claim of a thread that did not come along through fork():
            // nobody will finish it here.
            WRITING | UNLOCKING if claimer(s) != pid => {
                let _ = STATE.compare_exchange(
                    s,
                    next(s, FREE, 0),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
                continue;
            }
            WRITING | UNLOCKING => {
                if waited >= CLAIM_WAIT_MS {
                    return Remembered::Busy;
                }
                waited += 1;
                sys::sleep(Duration::from_millis(1));
                continue;
            }
            _ => {}
        }
        let claim = next(s, WRITING, pid);
        if STATE
            .compare_exchange(s, claim, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            continue;
        }
        let bytes = path.to_bytes();
        let len = bytes.len().min(PATH_MAX);
        for (slot, &b) in slots.iter().zip(bytes).take(len) {
            slot.store(b, Ordering::Relaxed);
        }
        LEN.store(len, Ordering::Release);
        STATE.store(next(claim, HELD, 0), Ordering::Release);
        return Remembered::Yes;
    }
}

/// Forget the held mail lock and give its path to the caller (in `buf`)
/// to remove, then call [`unlocked`] with the returned token. `None`:
/// nothing to do.
///
/// A lock that another `mailunlock()` is removing right now (one that this
/// call interrupted, in a signal handler, say) is given out as well: the
/// handler may end the process before the interrupted call finishes, and
/// removing a lock twice is harmless. Async-signal-safe.
pub fn take(buf: &mut FixedCPath) -> Option<Option<u64>> {
    let pid = me();
    for _ in 0..READ_TRIES {
        let s = STATE.load(Ordering::Acquire);
        match phase(s) {
            HELD => {
                if !copy_path(s, buf) {
                    continue;
                }
                let claim = next(s, UNLOCKING, pid);
                if STATE
                    .compare_exchange(s, claim, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    return Some(Some(claim));
                }
            }
            UNLOCKING => {
                if !copy_path(s, buf) {
                    continue;
                }
                // A claim from before a fork() is finished by us.
                return Some((claimer(s) != pid).then_some(s));
            }
            // FREE, or a maillock() copying its path in: nothing is held
            // yet (as in the reference, where mailunlock() during
            // maillock()'s wait does nothing).
            _ => return None,
        }
    }
    None
}

/// The lock given out by [`take`] with `token` is removed: the state is
/// free again (unless it changed meanwhile).
pub fn unlocked(token: Option<u64>) {
    if let Some(s) = token {
        let _ = STATE.compare_exchange(s, next(s, FREE, 0), Ordering::AcqRel, Ordering::Acquire);
    }
}

/// The lock for the mailbox of `name`: `MAILDIR/name.lock`, or `$MAIL.lock`
/// when the last component of `$MAIL` is `name`.
pub fn lock_path<'b>(
    buf: &'b mut FixedCPath,
    name: &[u8],
    maildir: &[u8],
    mail: Option<&[u8]>,
) -> Result<&'b CStr, LockError> {
    let too_long = LockError::new(LCode::NameLen, Errno::ENAMETOOLONG);
    // The reference's test: strlen(name) + sizeof(MAILDIR) + 6 > PATH_MAX.
    if name.len() + maildir.len() + 1 + 6 > PATH_MAX {
        return Err(too_long);
    }
    let path = match mail {
        Some(mail) if mail.rsplit(|&b| b == b'/').next() == Some(name) => {
            if mail.len() + 6 > PATH_MAX {
                return Err(too_long);
            }
            buf.set(&[mail, LOCK_SUFFIX])
        }
        _ => buf.set(&[maildir, name, LOCK_SUFFIX]),
    };
    path.map_err(|e| LockError::new(LCode::NameLen, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, mail: Option<&str>) -> Result<String, LockError> {
        lock_path(
            &mut FixedCPath::empty(),
            name.as_bytes(),
            b"/var/mail/",
            mail.map(str::as_bytes),
        )
        .map(|p| p.to_string_lossy().into_owned())
    }

    #[test]
    fn maildir_and_mail_variable() {
        assert_eq!(p("joe", None).unwrap(), "/var/mail/joe.lock");
        assert_eq!(
            p("joe", Some("/home/joe/Mail/joe")).unwrap(),
            "/home/joe/Mail/joe.lock"
        );
        assert_eq!(p("joe", Some("joe")).unwrap(), "joe.lock");
        assert_eq!(
            p("joe", Some("/var/spool/mail/ann")).unwrap(),
            "/var/mail/joe.lock"
        );
        assert_eq!(p("joe", Some("/home/joe/")).unwrap(), "/var/mail/joe.lock");
    }

    #[test]
    fn state_round_trip() {
        // The only test of the process-wide state in this binary.
        let mut buf = FixedCPath::empty();
        let mut other = FixedCPath::empty();
        assert!(!held());
        assert!(take(&mut buf).is_none());
        assert_eq!(remember(c"/x/a.lock"), Remembered::Yes);
        assert!(held());
        assert_eq!(remember(c"/x/b.lock"), Remembered::Other);
        assert_eq!(held_path(&mut buf), Some(c"/x/a.lock"));
        let token = take(&mut buf).unwrap();
        assert_eq!(buf.as_cstr(), c"/x/a.lock");
        // While it is being removed: not held, but a second unlock (from a
        // signal handler) gets the path too, without the token.
        assert!(!held() && held_path(&mut other).is_none());
        let none = take(&mut other).unwrap();
        assert_eq!((other.as_cstr(), none), (c"/x/a.lock", None));
        unlocked(token);
        assert!(take(&mut buf).is_none());
        assert_eq!(remember(c"/x/b.lock"), Remembered::Yes);
        assert_eq!(held_path(&mut buf), Some(c"/x/b.lock"));
        let token = take(&mut buf).unwrap();
        unlocked(token);
        assert!(!held());
    }

    #[test]
    fn name_length_limits() {
        let err = LockError::new(LCode::NameLen, Errno::ENAMETOOLONG);
        let max = PATH_MAX - "/var/mail/".len() - 7;
        assert!(p(&"n".repeat(max), None).is_ok());
        assert_eq!(p(&"n".repeat(max + 1), None), Err(err));
        let mail = format!("/{}", "m".repeat(PATH_MAX - 6));
        assert_eq!(p(&"m".repeat(PATH_MAX - 6), Some(&mail)), Err(err));
    }
}
