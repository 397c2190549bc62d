//! `lockfile_create`, `lockfile_create2`, `lockfile_remove`,
//! `lockfile_touch`, `lockfile_check`.

use core::ffi::{c_char, c_int};

use lockfile_core::Errno;
use lockfile_core::lock::{Flags, Options};
use lockfile_core::policy;

use super::{__lockargs, L_ERROR, code, interval_arg, path_arg, status};

/// Create a lock file, retrying `retries` times.
///
/// Writes "0\n", or the pid with L_PID, or the parent's pid with L_PPID.
/// Returns L_SUCCESS or an L_* error code with errno set. Waits 5, 10, …
/// up to 60 s between attempts.
///
/// # Safety
/// `lockfile` is NULL or a NUL-terminated string (see the module docs).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lockfile_create(
    lockfile: *const c_char,
    retries: c_int,
    flags: c_int,
) -> c_int {
    // SAFETY: the caller's contract for `lockfile`.
    let Some(path) = (unsafe { path_arg(lockfile) }) else {
        Errno::EINVAL.set();
        return L_ERROR;
    };
    // Without args, __L_INTERVAL is refused like any unknown flag.
    code(Options::from_flags(retries, Flags(flags), None).and_then(|o| policy::create(path, &o)))
}

/// Create a lock file, with extra arguments (experimental).
///
/// As lockfile_create(), and with __L_INTERVAL waits args->interval
/// seconds between attempts. args_sz must be sizeof(struct __lockargs).
///
/// # Safety
/// `lockfile` is NULL or a NUL-terminated string; `args` is NULL or points
/// to a `struct __lockargs` of `args_sz` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lockfile_create2(
    lockfile: *const c_char,
    retries: c_int,
    flags: c_int,
    args: *mut __lockargs,
    args_sz: c_int,
) -> c_int {
    // SAFETY: the caller's contract for `lockfile`.
    let Some(path) = (unsafe { path_arg(lockfile) }) else {
        Errno::EINVAL.set();
        return L_ERROR;
    };
    // SAFETY: the caller's contract for `args` and `args_sz`.
    let interval = unsafe { interval_arg(args, args_sz) };
    code(
        interval
            .and_then(|i| Options::from_flags(retries, Flags(flags), i))
            .and_then(|o| policy::create(path, &o)),
    )
}

/// Remove a lock file.
///
/// Returns 0 (also when there was none), or -1 with errno. May be called
/// from a signal handler and in the child of a threaded program.
///
/// # Safety
/// `lockfile` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lockfile_remove(lockfile: *const c_char) -> c_int {
    // SAFETY: the caller's contract for `lockfile`.
    match unsafe { path_arg(lockfile) } {
        Some(path) => status(policy::remove(path)),
        None => status(Err(Errno::EINVAL)),
    }
}

/// Set a lock file's access and modification times to now.
///
/// Returns 0, or -1 with errno. May be called from a signal handler and
/// in the child of a threaded program.
///
/// # Safety
/// `lockfile` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lockfile_touch(lockfile: *const c_char) -> c_int {
    // SAFETY: the caller's contract for `lockfile`.
    match unsafe { path_arg(lockfile) } {
        Some(path) => status(policy::touch(path)),
        None => status(Err(Errno::EINVAL)),
    }
}

/// Check whether a valid lock file exists.
///
/// Returns 0 if it does, -1 if not. With L_PID or L_PPID a pid in the lock
/// decides; otherwise a lock is valid for 300 s after its last change.
/// May be called from a signal handler and after fork.
///
/// # Safety
/// `lockfile` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lockfile_check(lockfile: *const c_char, flags: c_int) -> c_int {
    // SAFETY: the caller's contract for `lockfile`.
    match unsafe { path_arg(lockfile) } {
        Some(path) if policy::check(path, Flags(flags)) => 0,
        Some(_) => -1,
        None => status(Err(Errno::EINVAL)),
    }
}
