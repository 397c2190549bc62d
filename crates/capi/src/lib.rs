//! The C ABI of liblockfile 1.17: constants, `struct __lockargs`, and the
//! exported functions (in [`lockfile`], [`maillock`] and [`mbox`]).
//!
//! The functions here only convert arguments and results; what a call
//! does is decided in the core's `policy`. The conventions every exported
//! function follows (NULL arguments, errno, async-signal safety) are
//! stated once, for C readers, at the top of `lockfile.h` (the `header`
//! of `cbindgen-lockfile.toml`).
//!
//! `no_std`: the C library carries no Rust runtime. With the feature `rt`
//! (the Makefile's build of the `.a` and `.so`) a panic aborts the
//! process; nothing here panics on purpose (the C original would crash
//! on the same bug). Rust tests link std's handler instead.
#![cfg_attr(not(test), no_std)]
#![allow(non_camel_case_types)]

pub mod lockfile;
pub mod maillock;
pub mod mbox;

use core::ffi::{CStr, c_char, c_int};

use lockfile_core::{Errno, LCode, LockError};

/// A panic in the C library ends the process at once: no unwinding
/// across C frames, no message, no runtime to print one.
#[cfg(all(feature = "rt", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: abort() has no preconditions and never returns.
    unsafe { libc::abort() }
}

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
        use lockfile_core::lock::Flags;
        assert_eq!(
            (L_PID, L_PPID, __L_INTERVAL),
            (Flags::PID, Flags::PPID, Flags::INTERVAL)
        );
    }
}
