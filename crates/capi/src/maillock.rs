//! `maillock`, `mailunlock`, `touchlock`.

use core::ffi::{c_char, c_int};

use lockfile_core::Errno;
use lockfile_core::policy;

use super::{L_ERROR, code, path_arg};

/// Lock the mailbox of user `name`, retrying `retries` times.
///
/// The lock is MAILDIR/name.lock, or $MAIL.lock when the last part of $MAIL
/// is name. Returns 0 at once if this process holds a mail lock already.
/// Returns the L_* codes of lockfile_create(); L_NAMELEN if too long.
///
/// # Safety
/// `name` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn maillock(name: *const c_char, retries: c_int) -> c_int {
    // SAFETY: the caller's contract for `name`.
    let Some(name) = (unsafe { path_arg(name) }) else {
        Errno::EINVAL.set();
        return L_ERROR;
    };
    code(policy::maillock(name.to_bytes(), retries))
}

/// Remove the mail lock taken by maillock(), if any.
///
/// May be called from a signal handler and in the child of a threaded
/// program; during another maillock()'s wait it does nothing (no lock is
/// held yet).
#[unsafe(no_mangle)]
pub extern "C" fn mailunlock() {
    policy::mailunlock();
}

/// Refresh the mail lock taken by maillock(); does nothing without one.
///
/// May be called from a signal handler and in the child of a threaded
/// program.
#[unsafe(no_mangle)]
pub extern "C" fn touchlock() {
    policy::touchlock();
}
