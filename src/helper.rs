//! Group-mail spools: the mail-lock test and the setgid helper (SPEC §5).
//!
//! When the spool may be written only by group `mail`, an ordinary program
//! cannot create `/var/mail/USER.lock` itself. [`create`] and [`remove`]
//! then run `dotlockfile`, installed setgid mail at a path fixed at build
//! time ([`HELPER`]), for a lock that [`is_mail_lock`] accepts.
//!
//! Plain callees: the policy layer (`policy`) decides, with
//! [`wants_helper`], when the helper runs; nothing here calls back up. The
//! core (`lock`) never runs the helper, so `dotlockfile`, which links the
//! core, cannot run itself.
//!
//! Everything here is async-signal-safe and safe in the child of a
//! threaded program (SPEC §4): paths are built on the stack and the helper
//! is started by [`sys::run_program`], which allocates nothing and gets the
//! helper's status whatever the caller does with SIGCHLD.
#![forbid(unsafe_code)]

use std::ffi::CStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::NixPath;
use nix::fcntl::{OFlag, open};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
use nix::sys::stat::Mode;
use nix::sys::stat::{lstat, stat};
use nix::unistd::{Gid, Uid, geteuid, getpid, getuid, read};

use crate::error::{Errno, LCode, LockError};
use crate::lock::cpath::Bytes;
use crate::lock::{CONTENT_MAX, FixedCPath, Options, PidMode, parse_pid};
use crate::sys::{self, Parent, ProgramEnd};

/// The absolute path of the helper, from the Makefile's `HELPER`.
pub const HELPER: &str = env!("LOCKFILE_HELPER");

/// [`HELPER`] as a C string, for `execve` without allocating.
const HELPER_C: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("LOCKFILE_HELPER"), "\0").as_bytes()) {
        Ok(c) => c,
        // A NUL inside the build setting: no helper at all.
        Err(_) => c"",
    };

/// The suffix of a mail lock.
const LOCK_SUFFIX: &[u8] = b".lock";

/// The mail group: the group of `helper` if it is set-group-ID.
pub fn helper_group<P: ?Sized + NixPath>(helper: &P) -> Option<Gid> {
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
    is_mail_lock_bytes(lock.as_os_str().as_bytes(), group, uid)
}

fn is_mail_lock_bytes(bytes: &[u8], group: Gid, uid: Uid) -> bool {
    let Some(mailbox) = bytes.strip_suffix(LOCK_SUFFIX) else {
        return false;
    };
    if mailbox.is_empty() || mailbox.ends_with(b"/") {
        return false;
    }
    // One path buffer on the stack at a time (a signal handler may run
    // on a small alternate stack).
    let mailbox_ok = FixedCPath::new(&[mailbox]).is_ok_and(|c| {
        lstat(c.as_cstr())
            .is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFREG && st.st_uid == uid.as_raw())
    });
    if !mailbox_ok {
        return false;
    }
    let dir: &[u8] = match mailbox.iter().rposition(|&b| b == b'/') {
        Some(0) => b"/",
        Some(i) => mailbox.get(..i).unwrap_or(b"."),
        None => b".",
    };
    let Ok(dir) = FixedCPath::new(&[dir]) else {
        return false;
    };
    match stat(dir.as_cstr()) {
        Ok(st) => st.st_gid == group.as_raw() && st.st_mode & libc::S_IWGRP != 0,
        Err(_) => false,
    }
}

/// Whether a call on `lock` that failed with `errno` should be handed to
/// the helper: permission denied, not root, and a mail lock of ours in a
/// spool of the helper's group.
pub fn wants_helper(lock: &CStr, errno: Option<Errno>) -> bool {
    // Root needs no helper, and must never run one (SPEC §5).
    errno == Some(Errno::EACCES)
        && !geteuid().is_root()
        && helper_group(HELPER_C).is_some_and(|g| is_mail_lock_bytes(lock.to_bytes(), g, getuid()))
}

/// Blocks SIGCHLD in this thread while the helper runs (the program's own
/// handler is not run for it meanwhile); restores the mask when dropped.
/// The helper's status does not depend on it ([`sys::run_program`]).
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

/// Run `HELPER action -r retries -q -p|-N lock` with an empty environment,
/// as the effective uid, and wait for it.
///
/// With `-p` the helper writes its parent's pid, which must be ours: it
/// runs as our own child, and should the caller's SIGCHLD disposition or
/// reaper take its status, the lock on disk tells ([`judge_own`]). Other
/// runs go through an intermediate child, which always reports the status.
fn run(action: &CStr, lock: &CStr, retries: i32, pid: bool) -> ProgramEnd {
    let mut count = Bytes::<16>::new();
    // The reference passes retries % 1000 (C's remainder, like Rust's).
    count.push_int(i64::from(retries % 1000), 0);
    count.push(b"\0");
    let Ok(count) = CStr::from_bytes_until_nul(count.as_bytes()) else {
        return ProgramEnd::NotRun;
    };
    let mode = if pid { c"-p" } else { c"-N" };
    let _blocked = ChildSignalBlocked::new();
    let parent = if pid {
        Parent::Caller
    } else {
        Parent::Intermediate
    };
    sys::run_program(HELPER_C, &[action, c"-r", count, c"-q", mode, lock], parent)
}

/// The device and inode of `lock`, if it exists.
fn identity(lock: &CStr) -> Option<(u64, u64)> {
    lstat(lock).ok().map(|st| (st.st_dev, st.st_ino))
}

/// After a `-p` helper whose status was lost: the lock is ours if it is a
/// new file (not the one seen before, `before`) holding our pid, which
/// nobody else writes. Busy if a lock is there, else an error.
fn judge_own(lock: &CStr, before: Option<(u64, u64)>) -> Result<(), LockError> {
    let now = identity(lock);
    if now.is_none() {
        return Err(LockError::new(LCode::Error, Errno::ECHILD));
    }
    let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    let mut buf = [0u8; CONTENT_MAX];
    let content = match open(lock, flags, Mode::empty()) {
        Ok(fd) => match read(&fd, &mut buf) {
            Ok(n) => buf.get(..n).unwrap_or_default(),
            Err(_) => &[],
        },
        Err(_) => &[],
    };
    if now != before && parse_pid(content) == getpid().as_raw() {
        Ok(())
    } else {
        Err(LockError::new(LCode::MaxTrys, Errno::EAGAIN))
    }
}

/// Let the helper create `lock`, after the core failed with `failure`
/// (an `L_TMPLOCK` for which [`wants_helper`] said yes).
///
/// The helper's exit status is the result; a busy lock is `L_MAXTRYS` with
/// EAGAIN as on the direct path (the reference leaves EACCES). Either the
/// lock is on disk and this returns `Ok`, or the helper did not create it
/// (its status says so) and this returns an error.
pub fn create(lock: &CStr, opts: &Options, failure: LockError) -> Result<(), LockError> {
    // we fix: with retries < 0 the core makes no attempt at all, but the
    // reference passes "-r -1" (for ever) to the helper.
    if opts.retries < 0 {
        return Err(LockError::new(LCode::MaxTrys, Errno::EAGAIN));
    }
    let own_pid = opts.pid == PidMode::Own;
    let before = if own_pid { identity(lock) } else { None };
    match run(c"-l", lock, opts.retries, own_pid) {
        // Could not run it: the original failure says more.
        ProgramEnd::NotRun => Err(failure),
        ProgramEnd::Lost => judge_own(lock, before),
        ProgramEnd::Killed => Err(LockError::new(LCode::Error, Errno::EINTR)),
        ProgramEnd::Exited(0) => Ok(()),
        ProgramEnd::Exited(code) => Err(match LCode::from_c(code) {
            Some(LCode::MaxTrys) => LockError::new(LCode::MaxTrys, Errno::EAGAIN),
            Some(LCode::Error) | None => LockError::new(LCode::Error, Errno::EINTR),
            Some(code) => LockError { code, ..failure },
        }),
    }
}

/// Let the helper remove `lock`, after unlink() failed with `failure`
/// (EACCES, for which [`wants_helper`] said yes).
///
/// The reference returns the helper's exit status here (1 or 5); we keep
/// the contract of `lockfile_remove`: 0, or -1 with the original EACCES.
pub fn remove(lock: &CStr, failure: Errno) -> Result<(), Errno> {
    match run(c"-u", lock, 0, false) {
        ProgramEnd::Exited(0) => Ok(()),
        _ => Err(failure),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Scratch;
    use std::fs;
    use std::os::unix::fs::{PermissionsExt, symlink};

    #[test]
    fn mail_lock_rules() {
        let scratch = Scratch::new();
        let dir = scratch.0.clone();
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
    fn only_permission_errors_go_to_the_helper() {
        let scratch = Scratch::new();
        let dir = scratch.0.clone();
        let lock = FixedCPath::new(&[dir.join("mbox.lock").as_os_str().as_bytes()]).unwrap();
        // No mailbox beside the lock: not a mail lock.
        assert!(!wants_helper(lock.as_cstr(), Some(Errno::EACCES)));
        fs::write(dir.join("mbox"), "").unwrap();
        for errno in [None, Some(Errno::ENOENT), Some(Errno::EAGAIN)] {
            assert!(!wants_helper(lock.as_cstr(), errno));
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_helper_that_cannot_run_gives_the_original_failure() {
        let lock = c"/nonexistent-dir-for-lockfile-tests/x.lock";
        let denied = LockError::new(LCode::TmpLock, Errno::EACCES);
        let opts = Options::default();
        // The helper path of a test build need not exist; if it does, it
        // finds no such directory and says so with an L_* code.
        match create(lock, &opts, denied) {
            Err(e) => assert_ne!(e.code, LCode::Success),
            Ok(()) => panic!("created a lock in a missing directory"),
        }
        let never = Options {
            retries: -1,
            ..Options::default()
        };
        assert_eq!(
            create(lock, &never, denied),
            Err(LockError::new(LCode::MaxTrys, Errno::EAGAIN))
        );
    }

    #[test]
    fn helper_group_needs_the_setgid_bit() {
        let scratch = Scratch::new();
        let dir = scratch.0.clone();
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
