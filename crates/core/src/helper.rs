//! Group-mail spools: the mail-lock test and the setgid helper (docs/c-policy.md §5).
//!
//! When the spool may be written only by group `mail`, an ordinary program
//! cannot create `/var/mail/USER.lock` itself. [`create`] and [`remove`]
//! then run `dotlockfile`, installed setgid mail at a path fixed at build
//! time (the Makefile's `HELPER`), for a lock that [`is_mail_lock`]
//! accepts.
//!
//! Plain callees: the policy layer (`policy`) decides, with
//! [`wants_helper`], when the helper runs; nothing here calls back up. The
//! core (`lock`) never runs the helper, so `dotlockfile`, which links the
//! core, cannot run itself.
//!
//! Everything here is async-signal-safe and safe in the child of a
//! threaded program (docs/c-policy.md §4): paths are built on the stack and the helper
//! is started by [`sys::run_program`], which allocates nothing and gets the
//! helper's status whatever the caller does with SIGCHLD.
//!
//! The helper is an absolute path fixed at build time and run with
//! `execve`, never a function of this crate: `dotlockfile`, which links
//! the core, cannot run itself by accident (it never calls [`create`]).
#![forbid(unsafe_code)]

use core::ffi::CStr;

use crate::cpath::{Bytes, FixedCPath, LOCK_SUFFIX, split_dir};
use crate::error::{Errno, LCode, LockError};
use crate::lock::{CONTENT_MAX, Limit, Options, PidMode, parse_pid};
use crate::sys::{self, ChildSignalBlocked, Parent, ProgramEnd};

/// The helper's absolute path (the Makefile's `HELPER`) as a C string,
/// for `execve` without allocating.
const HELPER_C: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("LOCKFILE_HELPER"), "\0").as_bytes()) {
        Ok(c) => c,
        // A NUL inside the build setting: no helper at all.
        Err(_) => c"",
    };

/// The mail group: the group of `helper` if it is set-group-ID.
pub fn helper_group(helper: &CStr) -> Option<u32> {
    let st = sys::stat(helper).ok()?;
    (st.st_mode & libc::S_ISGID != 0).then_some(st.st_gid)
}

/// Whether `lock` is the mail lock of user `uid` in a spool of `group`:
/// the name ends in `.lock`; the mailbox (the name without it) is a
/// regular file, not a symlink, owned by `uid`; its directory belongs to
/// `group` and is group-writable.
///
/// `dotlockfile` calls it after changing into the lock's directory, with
/// the bare name, so that the directory tested is the one it works in.
pub fn is_mail_lock(lock: &[u8], group: u32, uid: u32) -> bool {
    let Some(mailbox) = lock.strip_suffix(LOCK_SUFFIX) else {
        return false;
    };
    if mailbox.is_empty() || mailbox.ends_with(b"/") {
        return false;
    }
    // One path buffer on the stack at a time (a signal handler may run
    // on a small alternate stack).
    let mailbox_ok = FixedCPath::new(&[mailbox]).is_ok_and(|c| {
        sys::lstat(c.as_cstr())
            .is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFREG && st.st_uid == uid)
    });
    if !mailbox_ok {
        return false;
    }
    let Ok(dir) = FixedCPath::new(&[split_dir(mailbox).0]) else {
        return false;
    };
    match sys::stat(dir.as_cstr()) {
        Ok(st) => st.st_gid == group && st.st_mode & libc::S_IWGRP != 0,
        Err(_) => false,
    }
}

/// Whether a call on `lock` that failed with `errno` should be handed to
/// the helper: permission denied, not root, and a mail lock of ours in a
/// spool of the helper's group.
pub fn wants_helper(lock: &CStr, errno: Option<Errno>) -> bool {
    // Root needs no helper, and must never run one (docs/c-policy.md §5).
    errno == Some(Errno::EACCES)
        && sys::geteuid() != 0
        && helper_group(HELPER_C).is_some_and(|g| is_mail_lock(lock.to_bytes(), g, sys::getuid()))
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
    sys::lstat(lock).ok().map(|st| (st.st_dev, st.st_ino))
}

/// After a `-p` helper whose status was lost: the lock is ours if it is a
/// new file (not the one seen before, `before`) holding our pid, which
/// nobody else writes. Busy if a lock is there, else an error.
fn judge_own(lock: &CStr, before: Option<(u64, u64)>) -> Result<(), LockError> {
    let now = identity(lock);
    if now.is_none() {
        return Err(LockError::new(LCode::Error, Errno::ECHILD));
    }
    let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
    let mut buf = [0u8; CONTENT_MAX];
    let content = match sys::open(lock, flags, 0) {
        Ok(fd) => match sys::read(&fd, &mut buf) {
            Ok(n) => buf.get(..n).unwrap_or_default(),
            Err(_) => &[],
        },
        Err(_) => &[],
    };
    if now != before && parse_pid(content) == sys::getpid() {
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
    let retries = match opts.limit {
        Limit::Retries(r) if r >= 0 => r,
        // Only the C API comes here, always with a count.
        _ => return Err(LockError::new(LCode::MaxTrys, Errno::EAGAIN)),
    };
    let own_pid = opts.pid == PidMode::Own;
    let before = if own_pid { identity(lock) } else { None };
    match run(c"-l", lock, retries, own_pid) {
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
    use crate::testutil::cs;
    use std::fs;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
    use std::path::Path;

    fn mail_lock(p: &Path, group: u32, uid: u32) -> bool {
        is_mail_lock(p.as_os_str().as_bytes(), group, uid)
    }

    #[test]
    fn mail_lock_rules() {
        let scratch = Scratch::new();
        let dir = scratch.0.clone();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o775)).unwrap();
        let gid = fs::metadata(&dir).unwrap().gid();
        let me = sys::getuid();
        fs::write(dir.join("me"), "").unwrap();
        symlink(dir.join("me"), dir.join("link")).unwrap();
        fs::create_dir(dir.join("sub")).unwrap();

        assert!(mail_lock(&dir.join("me.lock"), gid, me));
        // Only the suffix ".lock" makes a mail lock.
        assert!(!mail_lock(&dir.join("me.lck"), gid, me));
        assert!(!mail_lock(&dir.join("me"), gid, me));
        // The mailbox must exist, be a regular file, and be ours.
        assert!(!mail_lock(&dir.join("none.lock"), gid, me));
        assert!(!mail_lock(&dir.join("link.lock"), gid, me));
        assert!(!mail_lock(&dir.join("sub.lock"), gid, me));
        let other = me.wrapping_add(1);
        assert!(!mail_lock(&dir.join("me.lock"), gid, other));
        // The directory must be of the group and group-writable.
        let other_gid = gid.wrapping_add(1);
        assert!(!mail_lock(&dir.join("me.lock"), other_gid, me));
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        assert!(!mail_lock(&dir.join("me.lock"), gid, me));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn relative_names_use_the_current_directory() {
        // "x.lock" without a slash: the directory is ".", never "".
        assert!(!mail_lock(Path::new(".lock"), 0, sys::getuid()));
        assert!(!mail_lock(Path::new("/.lock"), 0, sys::getuid()));
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
        let never = Options::retries(-1);
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
        assert_eq!(helper_group(&cs(&prog)), None);
        fs::set_permissions(&prog, fs::Permissions::from_mode(0o2755)).unwrap();
        assert!(helper_group(&cs(&prog)).is_some());
        assert_eq!(helper_group(&cs(&dir.join("missing"))), None);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sigchld_mask_is_restored() {
        let before = ChildSignalBlocked::is_blocked_now();
        {
            let _g = ChildSignalBlocked::new();
            assert!(ChildSignalBlocked::is_blocked_now());
        }
        assert_eq!(ChildSignalBlocked::is_blocked_now(), before);
    }
}
