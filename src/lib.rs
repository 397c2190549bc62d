//! liblockfile-rs for Rust programs: the safe API over the `no_std` core
//! (`lockfile-core`), with `Path`s, `std::io::Error` and guards that
//! release on drop. The C library is the `lockfile-capi` crate; the
//! programs `dotlockfile` and `dotlock` are built on this crate.
//!
//! - [`Lock`]: a dot-lock held until dropped.
//! - [`MboxLock`]: a mailbox held with flock, its dot-lock and fcntl.
//! - [`lock`], [`mbox`], [`mail`], [`helper`], [`cpath`]: the core's
//!   modules, for what the guards do not cover (inspection, schedules,
//!   the time seam).
//!
//! Panics never cross the C boundary and the programs abort on one
//! (`panic = "abort"`). The minimum Rust is 1.85 (edition 2024).
#![forbid(unsafe_code)]

use std::ffi::OsStr;
use std::io;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

pub use lockfile_core::{Errno, LCode, LockError};
pub use lockfile_core::{cpath, helper, lock, mail, mbox};

use lockfile_core::cpath::{FixedCPath, LOCK_SUFFIX};
use lockfile_core::lock::{Options, RealTime, Time};
use lockfile_core::mbox::{Held, MboxError, MboxOptions};

/// `path` as a C string on the stack (ENAMETOOLONG beyond `PATH_MAX`,
/// EINVAL for a NUL byte inside).
pub fn c_path(path: &Path) -> Result<FixedCPath, Errno> {
    FixedCPath::new(&[path.as_os_str().as_bytes()])
}

/// A C string as a path (no copy).
pub fn path_of(c: &std::ffi::CStr) -> &Path {
    Path::new(OsStr::from_bytes(c.to_bytes()))
}

/// The dot-lock of a mailbox: its path with `.lock` added.
pub fn dotlock_path(mbox: &Path) -> PathBuf {
    let mut name = mbox.as_os_str().to_owned();
    name.push(OsStr::from_bytes(LOCK_SUFFIX));
    PathBuf::from(name)
}

/// An errno as an I/O error.
pub fn io_error(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw())
}

/// An errno as nix's.
pub fn nix_errno(e: Errno) -> nix::errno::Errno {
    nix::errno::Errno::from_raw(e.raw())
}

/// A lock error as an I/O error: its errno, or for the codes that carry
/// none (`L_ORPHANED`), an error of its own kind with the code's text.
pub fn lock_io_error(e: LockError) -> io::Error {
    match e.errno {
        Some(errno) if errno != Errno::UnknownErrno => io_error(errno),
        _ => io::Error::other(e),
    }
}

fn bad_path(e: Errno) -> LockError {
    LockError::new(LCode::Error, e)
}

/// A held lock, removed when dropped.
///
/// ```no_run
/// use lockfile::{Lock, lock::Options};
/// let lock = Lock::acquire("/var/mail/joe.lock", &Options::default())?;
/// // ... work on /var/mail/joe ...
/// lock.release()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Lock {
    path: Option<PathBuf>,
}

impl Lock {
    /// Take the lock `path`.
    pub fn acquire(path: impl Into<PathBuf>, opts: &Options) -> Result<Lock, LockError> {
        Lock::acquire_with(path, opts, &mut RealTime)
    }

    /// Take the lock `path` on the clock and sleep of `time`.
    pub fn acquire_with(
        path: impl Into<PathBuf>,
        opts: &Options,
        time: &mut dyn Time,
    ) -> Result<Lock, LockError> {
        let path = path.into();
        let c = c_path(&path).map_err(bad_path)?;
        lock::create_with(c.as_cstr(), opts, time, &mut |_| Ok(()))?;
        Ok(Lock { path: Some(path) })
    }

    /// The lock's path.
    pub fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }

    /// Keep the lock from going stale.
    pub fn touch(&self) -> Result<(), Errno> {
        lock::touch(c_path(self.path())?.as_cstr())
    }

    /// Remove the lock now, reporting failure.
    pub fn release(mut self) -> Result<(), Errno> {
        match self.path.take() {
            Some(path) => lock::remove(c_path(&path)?.as_cstr()),
            None => Ok(()),
        }
    }

    /// Leave the lock on disk (for another process to remove) and return
    /// its path.
    pub fn into_path(mut self) -> PathBuf {
        self.path.take().unwrap_or_default()
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        if let Some(path) = self.path.take()
            && let Ok(c) = c_path(&path)
        {
            let _ = lock::remove(c.as_cstr());
        }
    }
}

/// A mailbox held with flock (unless not asked), its dot-lock `MBOX.lock`
/// and an fcntl lock (if asked), released in reverse order when dropped
/// (see [`mbox`] for the rules).
///
/// ```no_run
/// use lockfile::{MboxLock, mbox::MboxOptions};
/// let held = MboxLock::lock("/var/mail/joe", &MboxOptions::default())?;
/// // ... append to the mailbox through held.mailbox() ...
/// held.unlock()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct MboxLock {
    held: mbox::MboxLock,
    dotlock: PathBuf,
}

impl MboxLock {
    /// Lock the mailbox `mbox` as `opts` say.
    pub fn lock(mbox: impl AsRef<Path>, opts: &MboxOptions) -> Result<MboxLock, MboxError> {
        MboxLock::lock_with(mbox, opts, &mut RealTime)
    }

    /// Lock the mailbox on the clock and sleep of `time` (a program that
    /// must end the wait on a signal sleeps on its own terms).
    pub fn lock_with(
        mbox: impl AsRef<Path>,
        opts: &MboxOptions,
        time: &mut dyn Time,
    ) -> Result<MboxLock, MboxError> {
        let mbox = mbox.as_ref();
        let c = c_path(mbox).map_err(|e| MboxError {
            stage: mbox::Stage::Open,
            error: bad_path(e),
        })?;
        let held = mbox::MboxLock::lock_with(c.as_cstr(), opts, time)?;
        Ok(MboxLock {
            held,
            dotlock: dotlock_path(mbox),
        })
    }

    /// The descriptor of the open mailbox (read-write when it could be
    /// opened so), open until the lock is released; do not close it. Do
    /// not close another descriptor of the same file while the fcntl lock
    /// is held: POSIX drops a process's fcntl locks on any close.
    pub fn mailbox(&self) -> RawFd {
        self.held.fd()
    }

    /// The path of the dot-lock.
    pub fn dotlock(&self) -> &Path {
        &self.dotlock
    }

    /// Whether the dot-lock is still ours.
    pub fn state(&self) -> Held {
        self.held.state()
    }

    /// Refresh the dot-lock if it is still ours; say whether it is.
    pub fn touch(&self) -> Result<Held, Errno> {
        self.held.touch()
    }

    /// Release the locks; report what had become of the dot-lock.
    pub fn unlock(self) -> Result<Held, Errno> {
        self.held.unlock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lockfile-std-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).unwrap();
        dir
    }

    #[test]
    fn guard_removes_on_drop_and_into_path_keeps() {
        let d = scratch("guard");
        let lock = d.join("g.lock");
        {
            let g = Lock::acquire(&lock, &Options::default()).unwrap();
            assert_eq!(g.path(), lock);
            assert!(lock.exists());
        }
        assert!(!lock.exists());
        let kept = Lock::acquire(&lock, &Options::default())
            .unwrap()
            .into_path();
        assert!(kept.exists());
        Lock::acquire(&lock, &Options::retries(-1)).unwrap_err();
        fs::remove_file(&kept).unwrap();
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn mailbox_guard_and_paths() {
        let d = scratch("mbox");
        let held = MboxLock::lock(d.join("mbox"), &MboxOptions::default()).unwrap();
        assert_eq!(held.dotlock(), d.join("mbox.lock"));
        assert!(fs::metadata(format!("/proc/self/fd/{}", held.mailbox())).is_ok());
        assert_eq!(held.unlock(), Ok(Held::Ours));
        assert!(!d.join("mbox.lock").exists());
        assert_eq!(
            dotlock_path(Path::new("/var/mail/joe")),
            Path::new("/var/mail/joe.lock")
        );
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn errors_convert() {
        let e = LockError::new(LCode::TmpLock, Errno::EACCES);
        assert_eq!(lock_io_error(e).raw_os_error(), Some(libc::EACCES));
        assert_eq!(nix_errno(Errno::ENOENT), nix::errno::Errno::ENOENT);
        assert!(
            lock_io_error(LockError::bare(LCode::Orphaned))
                .raw_os_error()
                .is_none()
        );
    }
}
