//! The C ABI of liblockfile 1.17: constants, `struct __lockargs`, and the
//! exported functions (in [`lockfile`] and [`maillock`]).
//!
//! The functions here only convert arguments and results; what a call
//! does is decided in `policy`.
//!
//! Conventions for every exported function:
//! - A pointer argument is either NULL or points to a NUL-terminated
//!   string that stays valid and unchanged for the call. NULL gives
//!   `L_ERROR` (or -1) with errno `EINVAL`, where the reference crashes.
//! - errno is set as the last action, from the value captured at the
//!   failing system call; on success it is left as it was.
//! - `lockfile_remove`, `lockfile_touch`, `lockfile_check`, `mailunlock`
//!   and `touchlock` are async-signal-safe and safe in the child of a
//!   threaded program (SPEC §4): no allocation, no lock.
//! - Nothing here panics on purpose; should a bug panic, the process aborts
//!   (`panic = "abort"`, and an `extern "C"` function never unwinds).
#![allow(non_camel_case_types)]

pub mod lockfile;
pub mod maillock;
pub mod mbox;

use std::ffi::{CStr, c_char, c_int};

use crate::error::{Errno, LCode, LockError};

/// Lockfile created.
pub const L_SUCCESS: c_int = 0;
/// Name too long.
pub const L_NAMELEN: c_int = 1;
/// Error creating the temporary lock file.
pub const L_TMPLOCK: c_int = 2;
/// Cannot write the pid into the temporary lock file.
pub const L_TMPWRITE: c_int = 3;
/// Failed after the maximum number of attempts.
pub const L_MAXTRYS: c_int = 4;
/// Other error; see errno.
pub const L_ERROR: c_int = 5;
/// Cannot set a mandatory lock on the temporary file (unused).
pub const L_MANLOCK: c_int = 6;
/// Called with L_PPID but the parent is gone.
pub const L_ORPHANED: c_int = 7;
/// Failed to remove a stale lock file.
pub const L_RMSTALE: c_int = 8;

/// Write our pid into the lock.
pub const L_PID: c_int = 16;
/// Write our parent's pid into the lock.
pub const L_PPID: c_int = 32;
/// Use args->interval as the fixed wait between attempts (experimental).
pub const __L_INTERVAL: c_int = 64;

/// Extra arguments of lockfile_create2() (experimental).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct __lockargs {
    /// Seconds between attempts, with __L_INTERVAL.
    pub interval: c_int,
}

/// The C string argument; `None` for NULL. No copy, no allocation.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string valid for `'a`.
unsafe fn path_arg<'a>(p: *const c_char) -> Option<&'a CStr> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-NULL, and the caller promises a NUL-terminated string
    // that lives for 'a (the module's contract).
    Some(unsafe { CStr::from_ptr(p) })
}

/// A C string argument as a path (no copy).
fn as_path(c: &CStr) -> &std::path::Path {
    use std::os::unix::ffi::OsStrExt;
    std::path::Path::new(std::ffi::OsStr::from_bytes(c.to_bytes()))
}

/// The interval in `args`, checking `args_sz` as the reference does.
///
/// # Safety
/// `args` is NULL or points to a readable `struct __lockargs` when
/// `args_sz` equals its size.
unsafe fn interval_arg(
    args: *const __lockargs,
    args_sz: c_int,
) -> Result<Option<c_int>, LockError> {
    if args.is_null() {
        return Ok(None);
    }
    if usize::try_from(args_sz).ok() != Some(size_of::<__lockargs>()) {
        return Err(LockError::new(LCode::Error, Errno::EINVAL));
    }
    // SAFETY: non-NULL and the caller gave the matching size, so by the
    // module's contract it points to a readable struct __lockargs.
    let args = unsafe { args.read_unaligned() };
    Ok(Some(args.interval))
}

/// The C return code for a core result; sets errno on failure.
fn code(result: Result<(), LockError>) -> c_int {
    match result {
        Ok(()) => L_SUCCESS,
        Err(e) => {
            if let Some(errno) = e.errno {
                errno.set();
            }
            e.code.as_c()
        }
    }
}

/// 0, or -1 with errno, for remove and touch.
fn status(result: Result<(), Errno>) -> c_int {
    match result {
        Ok(()) => 0,
        Err(e) => {
            e.set();
            -1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_core() {
        let pairs = [
            (L_SUCCESS, LCode::Success),
            (L_NAMELEN, LCode::NameLen),
            (L_TMPLOCK, LCode::TmpLock),
            (L_TMPWRITE, LCode::TmpWrite),
            (L_MAXTRYS, LCode::MaxTrys),
            (L_ERROR, LCode::Error),
            (L_MANLOCK, LCode::ManLock),
            (L_ORPHANED, LCode::Orphaned),
            (L_RMSTALE, LCode::RmStale),
        ];
        for (c, r) in pairs {
            assert_eq!(c, r.as_c());
        }
        use crate::lock::Flags;
        assert_eq!(
            (L_PID, L_PPID, __L_INTERVAL),
            (Flags::PID, Flags::PPID, Flags::INTERVAL)
        );
    }
}
