//! Group-mail spools: the mail-lock test and the setgid helper (SPEC §5).
//!
//! When the spool may be written only by group `mail`, an ordinary program
//! cannot create `/var/mail/USER.lock` itself. [`create`] and [`remove`]
//! then run `dotlockfile`, installed setgid mail at a path fixed at build
//! time ([`HELPER`]), for a lock that [`is_mail_lock`] accepts.
//!
//! Only the C API uses these. The core (`lock`) never runs the helper, so
//! `dotlockfile`, which links the core, cannot run itself.
#![forbid(unsafe_code)]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Stdio};

use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
use nix::sys::stat::{lstat, stat};
use nix::unistd::{Gid, Uid, geteuid, getuid};

use crate::error::{Errno, LCode, LockError};
use crate::lock::{self, Options, PidMode};
use crate::sys;

/// The absolute path of the helper, from the Makefile's `HELPER`.
pub const HELPER: &str = env!("LOCKFILE_HELPER");

/// The suffix of a mail lock.
const LOCK_SUFFIX: &[u8] = b".lock";

/// The mail group: the group of `helper` if it is set-group-ID.
pub fn helper_group(helper: &Path) -> Option<Gid> {
    let st = stat(helper).ok()?;
    (st.st_mode & libc::S_ISGID != 0).then(|| Gid::from_raw(st.st_gid))
}

/// Whether `lock` is the mail lock of user `uid` in a spool of `group`:
/// the name ends in `.lock`; the mailbox (the name without it) is a
/// regular file, not a symlink, owned by `uid`; its directory belongs to
/// `group` and is group-writable.
///
/// `dotlockfile` calls it after changing into the lock's directory, with
/// the bare name, so that the directory tested is the one it works in.
pub fn is_mail_lock(lock: &Path, group: Gid, uid: Uid) -> bool {
    let bytes = lock.as_os_str().as_bytes();
    let Some(mailbox) = bytes.strip_suffix(LOCK_SUFFIX) else {
        return false;
    };
    if mailbox.is_empty() || mailbox.ends_with(b"/") {
        return false;
    }
    match lstat(OsStr::from_bytes(mailbox)) {
        Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFREG && st.st_uid == uid.as_raw() => {}
        _ => return false,
    }
    let dir: &[u8] = match mailbox.iter().rposition(|&b| b == b'/') {
        Some(0) => b"/",
        Some(i) => mailbox.get(..i).unwrap_or(b"."),
        None => b".",
    };
    match stat(OsStr::from_bytes(dir)) {
        Ok(st) => st.st_gid == group.as_raw() && st.st_mode & libc::S_IWGRP != 0,
        Err(_) => false,
    }
}

/// Whether the library should hand `lock` to the helper after `errno`.
fn wants_helper(lock: &Path, errno: Option<Errno>) -> bool {
    // Root needs no helper, and must never run one (SPEC §5).
    errno == Some(Errno::EACCES)
        && !geteuid().is_root()
        && helper_group(Path::new(HELPER)).is_some_and(|g| is_mail_lock(lock, g, getuid()))
}

/// Blocks SIGCHLD while the helper runs (the program's own handler must
/// not reap it or be surprised by it); restores the mask when dropped.
struct ChildSignalBlocked {
    was_blocked: bool,
}

impl ChildSignalBlocked {
    fn new() -> ChildSignalBlocked {
        let mut chld = SigSet::empty();
        chld.add(Signal::SIGCHLD);
        let mut old = SigSet::empty();
        let ok = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&chld), Some(&mut old)).is_ok();
        ChildSignalBlocked {
            was_blocked: !ok || old.contains(Signal::SIGCHLD),
        }
    }
}

impl Drop for ChildSignalBlocked {
    fn drop(&mut self) {
        if !self.was_blocked {
            let mut chld = SigSet::empty();
            chld.add(Signal::SIGCHLD);
            let _ = pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&chld), None);
        }
    }
}

/// How the helper ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// It could not be started.
    NotRun,
    /// It was killed by a signal.
    Killed,
    /// Its exit status.
    Exited(i32),
}

/// Run `HELPER action -r retries -q -p|-N lock` with an empty environment,
/// as the effective uid, and wait for it.
fn run(action: &str, lock: &Path, retries: i32, pid: bool) -> Outcome {
    let mut cmd = Command::new(HELPER);
    cmd.arg(action)
        .arg("-r")
        // The reference passes retries % 1000 (C's remainder, like Rust's).
        .arg((retries % 1000).to_string())
        .arg("-q")
        .arg(if pid { "-p" } else { "-N" })
        .arg(lock)
        .env_clear()
        .stdin(Stdio::null());
    sys::drop_to_euid(&mut cmd);
    let _blocked = ChildSignalBlocked::new();
    match cmd.status() {
        Err(_) => Outcome::NotRun,
        Ok(status) => match status.code() {
            Some(code) => Outcome::Exited(code),
            None => Outcome::Killed,
        },
    }
}

/// `lockfile_create` with the helper fallback: create `lock` with `core`
/// (the core's `create`, with the caller's choice of waiter); if the
/// temporary file cannot be created for lack of permission and the lock is
/// a mail lock of ours, let the helper create it.
pub fn create(
    path: &Path,
    opts: &Options,
    core: impl FnOnce(&Path, &Options) -> Result<(), LockError>,
) -> Result<(), LockError> {
    let err = match core(path, opts) {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    if err.code != LCode::TmpLock || !wants_helper(path, err.errno) {
        // SPEC §4 (we fix): errno stays open's, not the ENOENT of the test.
        return Err(err);
    }
    // we fix: with retries < 0 the core makes no attempt at all, but the
    // reference passes "-r -1" (for ever) to the helper.
    if opts.retries < 0 {
        return Err(LockError::new(LCode::MaxTrys, Errno::EAGAIN));
    }
    match run("-l", path, opts.retries, opts.pid == PidMode::Own) {
        // Could not run it: the original failure says more.
        Outcome::NotRun => Err(err),
        Outcome::Killed => Err(LockError::new(LCode::Error, Errno::EINTR)),
        Outcome::Exited(0) => Ok(()),
        Outcome::Exited(code) => Err(match LCode::from_c(code) {
            Some(LCode::MaxTrys) => LockError::new(LCode::MaxTrys, Errno::EAGAIN),
            Some(LCode::Error) | None => LockError::new(LCode::Error, Errno::EINTR),
            Some(code) => LockError { code, ..err },
        }),
    }
}

/// `lockfile_remove` with the helper fallback: remove `lock`; if that is
/// refused for lack of permission and it is a mail lock of ours, let the
/// helper remove it.
///
/// The reference returns the helper's exit status here (1 or 5); we keep
/// the contract of `lockfile_remove`: 0, or -1 with the original EACCES.
pub fn remove(path: &Path) -> Result<(), Errno> {
    let errno = match lock::remove(path) {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    if !wants_helper(path, Some(errno)) {
        // SPEC §4 (we fix): EACCES, not the reference's 0 with ENOENT.
        return Err(errno);
    }
    match run("-u", path, 0, false) {
        Outcome::Exited(0) => Ok(()),
        _ => Err(errno),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{PermissionsExt, symlink};

    fn scratch(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("lf-helper-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn mail_lock_rules() {
        let dir = scratch("rules");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o775)).unwrap();
        let gid = Gid::from_raw(
            fs::metadata(&dir)
                .map(|m| {
                    use std::os::unix::fs::MetadataExt;
                    m.gid()
                })
                .unwrap(),
        );
        let me = getuid();
        fs::write(dir.join("me"), "").unwrap();
        symlink(dir.join("me"), dir.join("link")).unwrap();
        fs::create_dir(dir.join("sub")).unwrap();

        assert!(is_mail_lock(&dir.join("me.lock"), gid, me));
        // Only the suffix ".lock" makes a mail lock.
        assert!(!is_mail_lock(&dir.join("me.lck"), gid, me));
        assert!(!is_mail_lock(&dir.join("me"), gid, me));
        // The mailbox must exist, be a regular file, and be ours.
        assert!(!is_mail_lock(&dir.join("none.lock"), gid, me));
        assert!(!is_mail_lock(&dir.join("link.lock"), gid, me));
        assert!(!is_mail_lock(&dir.join("sub.lock"), gid, me));
        let other = Uid::from_raw(me.as_raw().wrapping_add(1));
        assert!(!is_mail_lock(&dir.join("me.lock"), gid, other));
        // The directory must be of the group and group-writable.
        let other_gid = Gid::from_raw(gid.as_raw().wrapping_add(1));
        assert!(!is_mail_lock(&dir.join("me.lock"), other_gid, me));
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        assert!(!is_mail_lock(&dir.join("me.lock"), gid, me));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn relative_names_use_the_current_directory() {
        // "x.lock" without a slash: the directory is ".", never "".
        assert!(!is_mail_lock(
            Path::new(".lock"),
            Gid::from_raw(0),
            getuid()
        ));
        assert!(!is_mail_lock(
            Path::new("/.lock"),
            Gid::from_raw(0),
            getuid()
        ));
    }

    #[test]
    fn errors_that_are_not_for_the_helper_pass_unchanged() {
        let dir = scratch("errno");
        let opts = Options::default();
        // No mailbox beside the lock: not a mail lock, EACCES stays.
        let denied = LockError::new(LCode::TmpLock, Errno::EACCES);
        let got = create(&dir.join("mbox.lock"), &opts, |_, _| Err(denied));
        assert_eq!(got, Err(denied));
        // Other failures never consult the helper.
        let enoent = LockError::new(LCode::TmpLock, Errno::ENOENT);
        assert_eq!(
            create(&dir.join("x.lock"), &opts, |_, _| Err(enoent)),
            Err(enoent)
        );
        let busy = LockError::new(LCode::MaxTrys, Errno::EAGAIN);
        assert_eq!(
            create(&dir.join("x.lock"), &opts, |_, _| Err(busy)),
            Err(busy)
        );
        assert_eq!(create(&dir.join("x.lock"), &opts, |_, _| Ok(())), Ok(()));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn helper_group_needs_the_setgid_bit() {
        let dir = scratch("group");
        let prog = dir.join("prog");
        fs::write(&prog, "").unwrap();
        fs::set_permissions(&prog, fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(helper_group(&prog), None);
        fs::set_permissions(&prog, fs::Permissions::from_mode(0o2755)).unwrap();
        assert!(helper_group(&prog).is_some());
        assert_eq!(helper_group(&dir.join("missing")), None);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sigchld_mask_is_restored() {
        let before = SigSet::thread_get_mask().unwrap();
        {
            let _g = ChildSignalBlocked::new();
            assert!(SigSet::thread_get_mask().unwrap().contains(Signal::SIGCHLD));
        }
        assert_eq!(
            SigSet::thread_get_mask().unwrap().contains(Signal::SIGCHLD),
            before.contains(Signal::SIGCHLD)
        );
    }
}
