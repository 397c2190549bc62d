//! Breaking a stale lock: the one file identity and the one guarded
//! removal that the core (docs/protocol.md §2.7) and the mailbox extension's quiet
//! rule (docs/other-systems.md §7) share.
//!
//! we fix (docs/protocol.md §2.7): a breaker judges a lock, then removes it by name.
//! In between another waiter may break the same stale lock and take a new
//! one, which the removal would then take away: two holders. So breakers
//! take turns. Each holds an exclusive `flock` on the stale file itself
//! while it checks once more that the name is still that file and removes
//! it; one that finds the flock taken leaves the lock alone (a lock whose
//! holder is gone changes only through a breaker). Tests:
//! tests-sys/rel/faults.c breakrace (exact), tests-c/t_create_stale_two_breakers,
//! tests-sys/rel/crash.c pid (about one run in seven failed without the
//! turns), the mailbox's two-breaker tests (src/mbox/tests.rs).
//!
//! NFS: a Linux NFS client turns `flock` into a whole-file `fcntl` lock
//! held at the server (shared by every client), and an exclusive one
//! needs a descriptor open for writing. So the stale file is opened
//! read-write when that is allowed, read-only otherwise; where no flock
//! can be had at all (read-only over NFS, a file system without locks),
//! the removal goes ahead unguarded, with the identity check alone (README,
//! "Network and unusual file systems").
#![forbid(unsafe_code)]

use core::ffi::CStr;

use crate::sys::{self, Errno, Fd, FileStat};

/// What tells one version of a file from another: the file (device and
/// inode), its type, and what changes when it is written, touched, linked
/// or replaced (size, mtime, ctime). A new file that gets the inode number
/// of a removed one differs in its times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
    kind: u32,
    size: i64,
    mtime: i64,
    mtime_nsec: i64,
    ctime: i64,
    ctime_nsec: i64,
}

impl FileId {
    /// The identity of what `st` describes.
    pub fn of(st: &FileStat) -> FileId {
        FileId {
            dev: st.st_dev,
            ino: st.st_ino,
            kind: st.st_mode & libc::S_IFMT,
            size: st.st_size,
            mtime: st.st_mtime,
            mtime_nsec: st.st_mtime_nsec,
            ctime: st.st_ctime,
            ctime_nsec: st.st_ctime_nsec,
        }
    }

    /// The file named `path` itself (a symlink is not followed).
    pub fn lstat(path: &CStr) -> Option<FileId> {
        sys::lstat(path).ok().map(|st| FileId::of(&st))
    }

    /// The file `path` leads to (a symlink is followed).
    pub fn stat(path: &CStr) -> Option<FileId> {
        sys::stat(path).ok().map(|st| FileId::of(&st))
    }

    /// Device and inode: which file, whatever its version.
    pub fn file(&self) -> (u64, u64) {
        (self.dev, self.ino)
    }

    /// Whether it is a symbolic link.
    pub fn is_symlink(&self) -> bool {
        self.kind == libc::S_IFLNK
    }

    fn is_regular(&self) -> bool {
        self.kind == libc::S_IFREG
    }
}

/// What [`break_stale`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broken {
    /// The judged file was removed.
    Removed,
    /// The name no longer is the judged file (changed, replaced or gone):
    /// nothing was removed.
    Changed,
    /// Another breaker holds the stale file: nothing was removed.
    Busy,
}

/// The guard of one breaker over one stale file.
enum Guard {
    /// Ours until dropped: the descriptor holds the flock.
    Held(Fd),
    /// No flock to be had (a symlink, a file we cannot open, a file system
    /// without flock, a read-only descriptor over NFS): unguarded.
    Unavailable,
    Busy,
    Changed,
}

/// Open the stale file for the guard: read-write if allowed (an exclusive
/// lock over NFS needs it), else read-only. Only a regular file is opened
/// for writing (never a device), nothing follows a symlink or blocks on a
/// FIFO, and opening without writing changes no time of the file.
fn open_for_guard(lock: &CStr, judged: &FileId) -> Option<Fd> {
    let flags = libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK | libc::O_NOFOLLOW;
    if judged.is_regular()
        && let Ok(fd) = sys::open(lock, flags | libc::O_RDWR, 0)
    {
        return Some(fd);
    }
    sys::open(lock, flags | libc::O_RDONLY, 0).ok()
}

fn guard(lock: &CStr, judged: &FileId) -> Guard {
    if judged.is_symlink() {
        return Guard::Unavailable;
    }
    let Some(fd) = open_for_guard(lock, judged) else {
        return Guard::Unavailable;
    };
    match sys::fstat(fd.raw()) {
        Ok(st) if FileId::of(&st).file() == judged.file() => {}
        _ => return Guard::Changed,
    }
    match sys::try_flock(fd.raw()) {
        Ok(()) => Guard::Held(fd),
        Err(Errno::EWOULDBLOCK) => Guard::Busy,
        Err(_) => Guard::Unavailable,
    }
}

/// Remove the lock `lock` that was judged stale as `judged`, taking turns
/// with other breakers (see the module's documentation). An error is
/// unlink()'s, other than ENOENT.
pub fn break_stale(lock: &CStr, judged: &FileId) -> Result<Broken, Errno> {
    // Held until the end: the flock goes with the descriptor.
    let _guard = match guard(lock, judged) {
        Guard::Held(fd) => Some(fd),
        Guard::Unavailable => None,
        Guard::Busy => return Ok(Broken::Busy),
        Guard::Changed => return Ok(Broken::Changed),
    };
    if FileId::lstat(lock) != Some(*judged) {
        return Ok(Broken::Changed);
    }
    #[cfg(test)]
    seam::before_unlink(lock);
    match sys::unlink(lock) {
        Ok(()) => Ok(Broken::Removed),
        Err(Errno::ENOENT) => Ok(Broken::Changed),
        Err(e) => Err(e),
    }
}

/// A test's hook into the last moment of a break: the guard is held and
/// the name checked, the removal comes next.
#[cfg(test)]
pub(crate) mod seam {
    use core::ffi::CStr;
    use std::cell::RefCell;

    type Hook = Box<dyn FnMut(&CStr)>;

    thread_local! {
        static BEFORE_UNLINK: RefCell<Option<Hook>> = const { RefCell::new(None) };
    }

    /// Run `hook` once, at the next break of this thread, just before its
    /// removal.
    pub(crate) fn at_next_unlink(hook: impl FnMut(&CStr) + 'static) {
        BEFORE_UNLINK.with(|h| *h.borrow_mut() = Some(Box::new(hook)));
    }

    pub(super) fn before_unlink(lock: &CStr) {
        if let Some(mut hook) = BEFORE_UNLINK.with(|h| h.borrow_mut().take()) {
            hook(lock);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::MetadataExt;
    use std::path::Path;

    use super::*;
    use crate::testutil::{Scratch, cs};

    fn judged(path: &Path) -> FileId {
        FileId::lstat(&cs(path)).unwrap()
    }

    #[test]
    fn removes_the_judged_file() {
        let s = Scratch::new();
        let lock = s.path("a.lock");
        fs::write(&lock, "0\n").unwrap();
        assert_eq!(break_stale(&cs(&lock), &judged(&lock)), Ok(Broken::Removed));
        assert!(!lock.exists());
    }

    #[test]
    fn a_replaced_or_touched_lock_is_kept() {
        let s = Scratch::new();
        let lock = s.path("a.lock");
        fs::write(&lock, "0\n").unwrap();
        let old = judged(&lock);
        fs::remove_file(&lock).unwrap();
        fs::write(&lock, "1\n").unwrap();
        assert_eq!(break_stale(&cs(&lock), &old), Ok(Broken::Changed));
        let new = judged(&lock);
        filetime::set_file_mtime(&lock, filetime::FileTime::from_unix_time(1000, 0)).unwrap();
        assert_eq!(break_stale(&cs(&lock), &new), Ok(Broken::Changed));
        assert!(lock.exists());
        fs::remove_file(&lock).unwrap();
        assert_eq!(break_stale(&cs(&lock), &new), Ok(Broken::Changed));
    }

    /// The guard: a second breaker at the first one's last moment finds
    /// the stale file taken and leaves it; the first one's descriptor is
    /// open for writing, as an exclusive lock over NFS needs.
    #[test]
    fn a_second_breaker_waits_its_turn() {
        let s = Scratch::new();
        let lock = s.path("a.lock");
        fs::write(&lock, "0\n").unwrap();
        let id = judged(&lock);
        let ino = fs::metadata(&lock).unwrap().ino();
        let seen = std::rc::Rc::new(std::cell::Cell::new(None));
        let out = seen.clone();
        seam::at_next_unlink(move |path| {
            out.set(Some((break_stale(path, &id), guard_mode(ino))));
        });
        assert_eq!(break_stale(&cs(&lock), &id), Ok(Broken::Removed));
        assert_eq!(seen.get(), Some((Ok(Broken::Busy), Some(libc::O_RDWR))));
    }

    /// The access mode of the descriptor this process has open on inode
    /// `ino`, from /proc/self/fdinfo.
    fn guard_mode(ino: u64) -> Option<i32> {
        for e in fs::read_dir("/proc/self/fd").unwrap() {
            let e = e.unwrap();
            let Ok(meta) = fs::metadata(e.path()) else {
                continue;
            };
            if meta.ino() != ino {
                continue;
            }
            let info = fs::read_to_string(format!(
                "/proc/self/fdinfo/{}",
                e.file_name().to_string_lossy()
            ))
            .unwrap();
            let flags = info.lines().find_map(|l| l.strip_prefix("flags:"))?;
            let flags = i32::from_str_radix(flags.trim(), 8).ok()?;
            return Some(flags & libc::O_ACCMODE);
        }
        None
    }
}
