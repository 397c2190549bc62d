//! An extension of the C API (docs/abi.md §1 allows documented extensions; docs/other-systems.md
//! §7): lock a mailbox the way Mail Avenger's `dotlock` does, with flock,
//! the dot-lock and optionally an fcntl lock in one call, and release them
//! in reverse order. Declared in `lockfile_mbox.h`; the eight liblockfile
//! functions are not touched.
//!
//! The module's conventions are those of the crate; a handle is either
//! NULL or a pointer returned by `lockfile_mbox_lock` and not yet passed
//! to `lockfile_mbox_unlock`. Handles are allocated with the C library's
//! malloc() and released with its free().

use core::ffi::{c_char, c_int};
use core::time::Duration;

use lockfile_core::lock::Flags;
use lockfile_core::mbox::{Held, MboxLock, MboxOptions, Patience};
use lockfile_core::{Errno, LCode, LockError};

use super::{L_ERROR, L_PID, L_PPID, L_SUCCESS, code, path_arg};

/// Do not take flock on the mailbox (dotlock -L).
pub const LOCKFILE_MBOX_NOFLOCK: c_int = 0x100;
/// Also take an fcntl write lock on the mailbox (dotlock -P).
pub const LOCKFILE_MBOX_FCNTL: c_int = 0x200;

/// A locked mailbox; opaque.
pub struct lockfile_mbox {
    held: MboxLock,
}

/// The options of a C call; unknown flags are `L_ERROR`/EINVAL.
fn options(timeout: c_int, flags: c_int) -> Result<MboxOptions, LockError> {
    let known = L_PID | L_PPID | LOCKFILE_MBOX_NOFLOCK | LOCKFILE_MBOX_FCNTL;
    if flags & !known != 0 {
        return Err(LockError::new(LCode::Error, Errno::EINVAL));
    }
    let patience = match u64::try_from(timeout) {
        Err(_) => Patience::Forever,
        Ok(0) => Patience::NoWait,
        Ok(secs) => Patience::Upto(Duration::from_secs(secs)),
    };
    Ok(MboxOptions {
        flock: flags & LOCKFILE_MBOX_NOFLOCK == 0,
        fcntl: flags & LOCKFILE_MBOX_FCNTL != 0,
        patience,
        pid: Flags(flags).pid_mode(),
    })
}

/// Lock a mailbox: flock, its dot-lock MBOX.lock, and an fcntl lock.
///
/// The fcntl lock only with LOCKFILE_MBOX_FCNTL, the flock unless
/// LOCKFILE_MBOX_NOFLOCK.
///
/// timeout < 0 waits as long as it takes; 0 fails at once if any lock is
/// busy; > 0 gives up after about that many seconds. While it waits with
/// the flock held, a dot-lock that neither changed nor saw the mailbox
/// change for 30 s is removed; every 10 s the flock is let go briefly so
/// that programs locking in the other order cannot deadlock with us.
///
/// flags: LOCKFILE_MBOX_NOFLOCK, LOCKFILE_MBOX_FCNTL, and L_PID or L_PPID
/// for the content of the dot-lock. The mailbox is created (mode 0600) if
/// missing. Returns L_SUCCESS and stores the handle in *lock; otherwise
/// stores NULL, and returns L_MAXTRYS with errno EAGAIN if a lock was busy,
/// or another L_* code with errno. Refresh the dot-lock every 15 s with
/// lockfile_mbox_touch().
///
/// # Safety
/// `mbox` is NULL or a NUL-terminated string; `lock` is NULL or points to
/// writable storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lockfile_mbox_lock(
    mbox: *const c_char,
    timeout: c_int,
    flags: c_int,
    lock: *mut *mut lockfile_mbox,
) -> c_int {
    if lock.is_null() {
        Errno::EINVAL.set();
        return L_ERROR;
    }
    // SAFETY: non-NULL, and the caller promises storage for a pointer.
    unsafe { lock.write(core::ptr::null_mut()) };
    // SAFETY: the caller's contract for `mbox`.
    let Some(path) = (unsafe { path_arg(mbox) }) else {
        Errno::EINVAL.set();
        return L_ERROR;
    };
    let held = options(timeout, flags)
        .and_then(|o| MboxLock::lock(path, &o).map_err(|e| e.error))
        .and_then(into_handle);
    match held {
        Ok(handle) => {
            // SAFETY: checked non-NULL above; the caller's storage.
            unsafe { lock.write(handle) };
            L_SUCCESS
        }
        Err(e) => code(Err(e)),
    }
}

/// A new handle for `held`, from malloc(); ENOMEM (the locks released)
/// if there is no memory.
fn into_handle(held: MboxLock) -> Result<*mut lockfile_mbox, LockError> {
    // SAFETY: malloc has no preconditions; NULL or room for the size.
    let p = unsafe { libc::malloc(size_of::<lockfile_mbox>()) }.cast::<lockfile_mbox>();
    if p.is_null() {
        return Err(LockError::new(LCode::Error, Errno::ENOMEM));
    }
    // SAFETY: non-NULL, and malloc's memory is aligned for any object
    // type of its size and ours to write.
    unsafe { p.write(lockfile_mbox { held }) };
    Ok(p)
}

/// The errno that tells what became of a dot-lock that is not ours.
fn held_errno(held: Held) -> Option<Errno> {
    match held {
        Held::Ours => None,
        Held::Removed => Some(Errno::ENOENT),
        Held::Replaced => Some(Errno::ESTALE),
    }
}

/// 0, or -1 with errno.
fn status(result: Result<Held, Errno>) -> c_int {
    match result.and_then(|held| held_errno(held).map_or(Ok(()), Err)) {
        Ok(()) => 0,
        Err(e) => {
            e.set();
            -1
        }
    }
}

/// Refresh the dot-lock of a locked mailbox.
///
/// Returns 0; or -1 with errno ENOENT if someone removed the dot-lock,
/// ESTALE if another file has taken its name (neither is touched), or the
/// errno of the failed touch.
///
/// # Safety
/// `lock` is NULL or a live handle from lockfile_mbox_lock().
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lockfile_mbox_touch(lock: *mut lockfile_mbox) -> c_int {
    // SAFETY: NULL or a live handle (the module's contract).
    match unsafe { lock.as_ref() } {
        Some(handle) => status(handle.held.touch()),
        None => status(Err(Errno::EINVAL)),
    }
}

/// The descriptor of the locked mailbox, open read-write if it could be.
///
/// Valid until lockfile_mbox_unlock(); do not close it. Note that closing
/// any other descriptor of the mailbox in this process drops the fcntl
/// lock (POSIX). Returns -1 with errno EINVAL for NULL.
///
/// # Safety
/// `lock` is NULL or a live handle from lockfile_mbox_lock().
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lockfile_mbox_fd(lock: *const lockfile_mbox) -> c_int {
    // SAFETY: NULL or a live handle (the module's contract).
    match unsafe { lock.as_ref() } {
        Some(handle) => handle.held.fd(),
        None => status(Err(Errno::EINVAL)),
    }
}

/// Release a locked mailbox: the fcntl lock, the dot-lock, the flock.
///
/// Always releases and frees the handle. The dot-lock is removed only if
/// it is still ours. Returns 0; or -1 with errno ENOENT if someone had
/// removed the dot-lock, ESTALE if another file had taken its name (it is
/// left alone), or the errno of a failed removal.
///
/// # Safety
/// `lock` is NULL or a live handle from lockfile_mbox_lock(); it is not
/// valid afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lockfile_mbox_unlock(lock: *mut lockfile_mbox) -> c_int {
    if lock.is_null() {
        return status(Err(Errno::EINVAL));
    }
    // SAFETY: a live handle made by `into_handle`, given back once (the
    // module's contract): it is read out once and its memory freed.
    let handle = unsafe { lock.read() };
    // SAFETY: malloc()'s memory, not used again.
    unsafe { libc::free(lock.cast()) };
    status(handle.held.unlock())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_do_not_clash_with_the_liblockfile_ones() {
        for f in [LOCKFILE_MBOX_NOFLOCK, LOCKFILE_MBOX_FCNTL] {
            assert_eq!(f & (L_PID | L_PPID | super::super::__L_INTERVAL), 0);
        }
        assert_eq!(
            options(0, super::super::__L_INTERVAL),
            Err(LockError::new(LCode::Error, Errno::EINVAL))
        );
    }

    #[test]
    fn timeout_and_flags() {
        let o = options(-1, LOCKFILE_MBOX_NOFLOCK | L_PID).unwrap();
        assert_eq!(
            (o.flock, o.fcntl, o.patience),
            (false, false, Patience::Forever)
        );
        assert_eq!(o.pid, lockfile_core::lock::PidMode::Own);
        let o = options(0, LOCKFILE_MBOX_FCNTL).unwrap();
        assert_eq!(
            (o.flock, o.fcntl, o.patience),
            (true, true, Patience::NoWait)
        );
        let o = options(7, 0).unwrap();
        assert_eq!(o.patience, Patience::Upto(Duration::from_secs(7)));
    }
}
