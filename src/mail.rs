//! The SysV mail lock: `maillock`, `mailunlock`, `touchlock` (SPEC §4).
//!
//! The one piece of global state in the library: the path of the mail
//! lock this process holds, behind a mutex so that threads cannot corrupt
//! it (the reference is not thread-safe).
#![forbid(unsafe_code)]

use std::ffi::OsStr;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use crate::error::{Errno, LCode, LockError};
use crate::lock::{self, Flags, Options, PATH_MAX};

/// The mail spool directory with a trailing slash, fixed at build time.
pub const MAILDIR: &str = env!("LOCKFILE_MAILDIR");

static MAIL_LOCK: Mutex<Option<PathBuf>> = Mutex::new(None);

fn held() -> MutexGuard<'static, Option<PathBuf>> {
    // A panic aborts (panic = "abort"), so the mutex is never poisoned;
    // take the data either way.
    MAIL_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The lock for the mailbox of `name`: `MAILDIR/name.lock`, or `$MAIL.lock`
/// when the last component of `$MAIL` is `name`.
pub fn lock_path(name: &[u8], maildir: &[u8], mail: Option<&[u8]>) -> Result<PathBuf, LockError> {
    let too_long = LockError::new(LCode::NameLen, Errno::ENAMETOOLONG);
    // The reference's test: strlen(name) + sizeof(MAILDIR) + 6 > PATH_MAX.
    if name.len() + maildir.len() + 1 + 6 > PATH_MAX {
        return Err(too_long);
    }
    let mut path = match mail {
        Some(mail) if mail.rsplit(|&b| b == b'/').next() == Some(name) => {
            if mail.len() + 6 > PATH_MAX {
                return Err(too_long);
            }
            mail.to_vec()
        }
        _ => [maildir, name].concat(),
    };
    path.extend_from_slice(b".lock");
    Ok(PathBuf::from(std::ffi::OsString::from_vec(path)))
}

/// Lock the mailbox of `name` with `create` (the plain core, or the core
/// with the helper fallback); a no-op when this process holds one already.
pub fn maillock(
    name: &[u8],
    retries: i32,
    create: impl FnOnce(&std::path::Path, &Options) -> Result<(), LockError>,
) -> Result<(), LockError> {
    let mut held = held();
    if held.is_some() {
        return Ok(());
    }
    let mail = std::env::var_os("MAIL");
    let path = lock_path(
        name,
        MAILDIR.as_bytes(),
        mail.as_deref().map(OsStr::as_bytes),
    )?;
    let opts = Options::from_flags(retries, Flags(0), None)?;
    create(&path, &opts)?;
    *held = Some(path);
    Ok(())
}

/// Remove the mail lock this process holds, if any, with `remove`.
pub fn mailunlock(remove: impl FnOnce(&std::path::Path) -> Result<(), Errno>) {
    if let Some(path) = held().take() {
        let _ = remove(&path);
    }
}

/// Touch the mail lock this process holds; a no-op when none is held.
///
/// we fix: the reference touches the freed path after mailunlock().
pub fn touchlock() {
    if let Some(path) = held().as_deref() {
        let _ = lock::touch(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, mail: Option<&str>) -> Result<String, LockError> {
        lock_path(name.as_bytes(), b"/var/mail/", mail.map(str::as_bytes))
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
    fn name_length_limits() {
        let err = LockError::new(LCode::NameLen, Errno::ENAMETOOLONG);
        let max = PATH_MAX - "/var/mail/".len() - 7;
        assert!(p(&"n".repeat(max), None).is_ok());
        assert_eq!(p(&"n".repeat(max + 1), None), Err(err));
        let mail = format!("/{}", "m".repeat(PATH_MAX - 6));
        assert_eq!(p(&"m".repeat(PATH_MAX - 6), Some(&mail)), Err(err));
    }
}
