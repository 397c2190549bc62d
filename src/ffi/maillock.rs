//! `maillock`, `mailunlock`, `touchlock`.

use std::ffi::{c_char, c_int};

use super::{L_ERROR, code, create, path_arg};
use crate::error::Errno;
use crate::mail;

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
    use std::os::unix::ffi::OsStrExt;
    code(mail::maillock(name.as_os_str().as_bytes(), retries, create))
}

/// Remove the mail lock taken by maillock(), if any.
#[unsafe(no_mangle)]
pub extern "C" fn mailunlock() {
    mail::mailunlock(crate::helper::remove);
}

/// Refresh the mail lock taken by maillock(); does nothing without one.
#[unsafe(no_mangle)]
pub extern "C" fn touchlock() {
    mail::touchlock();
}
