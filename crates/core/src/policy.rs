//! What the C API does, between the argument conversion of the C ABI
//! crate and the core: whether a wait ends on release
//! (`LOCKFILE_FAST_WAKE`), when the setgid helper takes over (docs/c-policy.md §5),
//! and the mail lock of `maillock()` (docs/c-policy.md §4).
//!
//! Every call goes one way: C ABI → here → `mail` / `helper` → `lock` →
//! `sys`. Nothing below calls back up, and the core never decides to run
//! the helper.
//!
//! Process conditions (docs/c-policy.md §4): [`remove`], [`touch`], [`check`],
//! [`mailunlock`] and [`touchlock`] allocate nothing and take no lock (the
//! paths are C strings or stack copies, the mail-lock state is atomics),
//! so C programs may call them from a signal handler and in the child of
//! a threaded program. [`create`] and [`maillock`] allocate nothing either
//! but wait; they hold no state while they wait, so the others never block
//! behind them.
#![forbid(unsafe_code)]

use core::ffi::CStr;
use core::sync::atomic::{AtomicU8, Ordering};

use crate::cpath::FixedCPath;
use crate::error::{Errno, LCode, LockError};
use crate::helper;
use crate::lock::{self, Flags, Options};
use crate::mail::{self, MAILDIR, Remembered};
use crate::sys;

/// Whether `LOCKFILE_FAST_WAKE=1` asks for fast hand-off (0: not read
/// yet, 1: no, 2: yes). Read once per process, at the first lock: it is
/// configuration, like the build-time MAILDIR, not lock state.
static FAST_WAKE: AtomicU8 = AtomicU8::new(0);

fn fast_wake() -> bool {
    match FAST_WAKE.load(Ordering::Relaxed) {
        0 => {
            let on = sys::with_env(c"LOCKFILE_FAST_WAKE", |v| v == Some(b"1".as_slice()));
            FAST_WAKE.store(if on { 2 } else { 1 }, Ordering::Relaxed);
            on
        }
        v => v == 2,
    }
}

/// `lockfile_create`: the core, then the helper for a mail lock in a
/// group-mail spool that we may not write ourselves (docs/c-policy.md §5).
pub fn create(path: &CStr, opts: &Options) -> Result<(), LockError> {
    let opts = Options {
        wake: opts.wake || fast_wake(),
        ..*opts
    };
    let failure = match lock::create(path, &opts) {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    // docs/c-policy.md §4 (we fix): errno stays open's, not the ENOENT of the test.
    if failure.code != LCode::TmpLock || !helper::wants_helper(path, failure.errno) {
        return Err(failure);
    }
    helper::create(path, &opts, failure)
}

/// `lockfile_remove`: unlink, or the helper for a mail lock in a
/// group-mail spool. Async-signal-safe.
pub fn remove(path: &CStr) -> Result<(), Errno> {
    let failure = match lock::remove(path) {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    // docs/c-policy.md §4 (we fix): EACCES, not the reference's 0 with ENOENT.
    if !helper::wants_helper(path, Some(failure)) {
        return Err(failure);
    }
    helper::remove(path, failure)
}

/// `lockfile_touch`. Async-signal-safe.
pub fn touch(path: &CStr) -> Result<(), Errno> {
    lock::touch(path)
}

/// `lockfile_check`. Async-signal-safe.
pub fn check(path: &CStr, flags: Flags) -> bool {
    lock::check(path, flags)
}

/// `maillock(name, retries)`: a no-op when this process holds a mail lock;
/// otherwise take the lock of the mailbox `name` and remember it.
///
/// It waits with nothing claimed, so `mailunlock()` and `touchlock()`
/// return at once meanwhile (from a signal handler or another thread):
/// there is nothing to unlock or touch yet, as in the reference. The wait
/// then goes on; a lock it gets is remembered, so the next `mailunlock()`
/// removes it. Two threads that call it at once contend for the file like
/// two processes: one gets it; the other gets `L_MAXTRYS` when its retries
/// run out first, or returns 0 once the first holds it. If both got a mail
/// lock (for different names), the second removes its own again and
/// returns 0: one mail lock per process, none left behind.
pub fn maillock(name: &[u8], retries: i32) -> Result<(), LockError> {
    if mail::held() {
        return Ok(());
    }
    let mut buf = FixedCPath::empty();
    let path = sys::with_env(c"MAIL", |mail| {
        mail::lock_path(&mut buf, name, MAILDIR.as_bytes(), mail).map(drop)
    });
    path?;
    let path = buf.as_cstr();
    let opts = Options::from_flags(retries, Flags(0), None)?;
    create(path, &opts)?;
    match mail::remember(path) {
        Remembered::Yes => Ok(()),
        Remembered::Other => {
            let mut held = FixedCPath::empty();
            if mail::held_path(&mut held).is_none_or(|held| held != path) {
                let _ = remove(path);
            }
            Ok(())
        }
        Remembered::Busy => {
            let _ = remove(path);
            Err(LockError::new(LCode::MaxTrys, Errno::EAGAIN))
        }
        // No lock may stay on disk that mailunlock() cannot find.
        Remembered::NoMemory => {
            let _ = remove(path);
            Err(LockError::new(LCode::Error, Errno::ENOMEM))
        }
    }
}

/// `mailunlock()`: remove the mail lock, if one is held. Async-signal-safe.
pub fn mailunlock() {
    let mut path = FixedCPath::empty();
    if let Some(token) = mail::take(&mut path) {
        let _ = remove(path.as_cstr());
        mail::unlocked(token);
    }
}

/// `touchlock()`: touch the mail lock; a no-op when none is held (we fix:
/// the reference touches the freed path after `mailunlock()`).
/// Async-signal-safe.
pub fn touchlock() {
    let mut buf = FixedCPath::empty();
    if let Some(path) = mail::held_path(&mut buf) {
        let _ = lock::touch(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_that_are_not_for_the_helper_pass_unchanged() {
        let dir = std::env::temp_dir().join(format!("lf-policy-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let lock = crate::testutil::cs(&dir.join("x.lock"));
        let lock = lock.as_c_str();
        assert_eq!(create(lock, &Options::default()), Ok(()));
        let busy = LockError::new(LCode::MaxTrys, Errno::EAGAIN);
        assert_eq!(create(lock, &Options::default()), Err(busy));
        assert!(check(lock, Flags(0)));
        assert_eq!(touch(lock), Ok(()));
        assert_eq!(remove(lock), Ok(()));
        assert!(!check(lock, Flags(0)));
        let missing = c"/nonexistent-dir-for-lockfile-tests/x.lock";
        assert_eq!(
            create(missing, &Options::default()).map_err(|e| e.code),
            Err(LCode::TmpLock)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
