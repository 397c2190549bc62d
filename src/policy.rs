//! What the C API does, between the argument conversion of `ffi` and the
//! core: which waiter waits (`LOCKFILE_FAST_WAKE`), when the setgid helper
//! takes over (SPEC §5), and the mail lock of `maillock()` (SPEC §4).
//!
//! Every call goes one way: `ffi` → here → `mail` / `helper` → `lock` →
//! `sys` / nix. Nothing below calls back up, and the core never decides to
//! run the helper.
//!
//! Process conditions (SPEC §4): [`remove`], [`touch`], [`check`],
//! [`mailunlock`] and [`touchlock`] allocate nothing and take no lock (the
//! paths are C strings or stack copies, the mail-lock state is atomics),
//! so C programs may call them from a signal handler and in the child of
//! a threaded program. [`create`] and [`maillock`] may allocate and wait;
//! they hold no state while they wait, so the others never block behind
//! them.
#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::ffi::{CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::OnceLock;

use crate::error::{Errno, LCode, LockError};
use crate::helper;
use crate::lock::{self, FastWake, FixedCPath, Flags, Options, SystemClock};
use crate::mail::{self, MAILDIR, Remembered};

/// Whether `LOCKFILE_FAST_WAKE=1` asks for fast hand-off. Read once per
/// process, at the first lock: it is configuration, like the build-time
/// MAILDIR, not lock state, so a process-wide `OnceLock` is fine here.
fn fast_wake() -> bool {
    static FAST_WAKE: OnceLock<bool> = OnceLock::new();
    *FAST_WAKE.get_or_init(|| std::env::var_os("LOCKFILE_FAST_WAKE").is_some_and(|v| v == "1"))
}

thread_local! {
    /// With `LOCKFILE_FAST_WAKE=1`, the waiter of this thread: its inotify
    /// instance is kept from one wait to the next (see `FastWake`).
    static FAST_WAKER: RefCell<FastWake> = RefCell::new(FastWake::new());
}

fn path_of(c: &CStr) -> &Path {
    Path::new(OsStr::from_bytes(c.to_bytes()))
}

/// The core's create with the waiter the environment chose: the
/// reference's sleeps, or with `LOCKFILE_FAST_WAKE=1` a wake as soon as
/// the lock is released (still bounded by the same schedule).
fn create_direct(path: &Path, opts: &Options) -> Result<(), LockError> {
    if !fast_wake() {
        return lock::create(path, opts);
    }
    FAST_WAKER.with(|waker| match waker.try_borrow_mut() {
        Ok(mut waker) => lock::create_with(path, opts, &SystemClock, &mut *waker),
        // Re-entered (from a signal handler): a waiter of its own.
        Err(_) => lock::create_with(path, opts, &SystemClock, &mut FastWake::new()),
    })
}

/// `lockfile_create`: the core, then the helper for a mail lock in a
/// group-mail spool that we may not write ourselves (SPEC §5).
pub fn create(path: &CStr, opts: &Options) -> Result<(), LockError> {
    let failure = match create_direct(path_of(path), opts) {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    // SPEC §4 (we fix): errno stays open's, not the ENOENT of the test.
    if failure.code != LCode::TmpLock || !helper::wants_helper(path, failure.errno) {
        return Err(failure);
    }
    helper::create(path, opts, failure)
}

/// `lockfile_remove`: unlink, or the helper for a mail lock in a
/// group-mail spool. Async-signal-safe.
pub fn remove(path: &CStr) -> Result<(), Errno> {
    let failure = match lock::remove(path) {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    // SPEC §4 (we fix): EACCES, not the reference's 0 with ENOENT.
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
    let env = std::env::var_os("MAIL");
    let path = mail::lock_path(
        name,
        MAILDIR.as_bytes(),
        env.as_deref().map(OsStr::as_bytes),
    )?;
    let path = FixedCPath::new(&[path.as_os_str().as_bytes()])
        .map_err(|e| LockError::new(LCode::NameLen, e))?;
    let path = path.as_cstr();
    let opts = Options::from_flags(retries, Flags(0), None)?;
    create(path, &opts)?;
    match mail::remember(path) {
        Remembered::Yes => Ok(()),
        Remembered::Other => {
            if mail::held_path().is_none_or(|held| held.as_cstr() != path) {
                let _ = remove(path);
            }
            Ok(())
        }
        Remembered::Busy => {
            let _ = remove(path);
            Err(LockError::new(LCode::MaxTrys, Errno::EAGAIN))
        }
    }
}

/// `mailunlock()`: remove the mail lock, if one is held. Async-signal-safe.
pub fn mailunlock() {
    if let Some((path, token)) = mail::take() {
        let _ = remove(path.as_cstr());
        mail::unlocked(token);
    }
}

/// `touchlock()`: touch the mail lock; a no-op when none is held (we fix:
/// the reference touches the freed path after `mailunlock()`).
/// Async-signal-safe.
pub fn touchlock() {
    if let Some(path) = mail::held_path() {
        let _ = lock::touch(path.as_cstr());
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
        let lock = FixedCPath::new(&[dir.join("x.lock").as_os_str().as_bytes()]).unwrap();
        let lock = lock.as_cstr();
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
