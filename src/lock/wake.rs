//! Fast hand-off: a waiter that wakes as soon as the lock is released.
#![forbid(unsafe_code)]

use std::ffi::OsStr;
use std::os::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};
use nix::sys::memfd::{MFdFlags, memfd_create};
use nix::sys::stat::{fstat, lstat, major, minor};
use nix::unistd::getpid;

use super::schedule::{Wait, Waiter};
use crate::error::{Errno, LockError};

/// A [`Waiter`] that waits on inotify for the lock's directory and ends
/// the wait as soon as the lock is removed or renamed away, instead of
/// sleeping the whole 5, 10, 15 … seconds. The schedule still bounds every
/// wait, so where inotify sees nothing (NFS, other hosts) it behaves like
/// the plain sleeper; if inotify cannot be set up (no instances left) it
/// sleeps. An attempt made after an early wake does not count against the
/// retries; if it fails, the same wait goes on to its original end.
///
/// This is the Rust API's opt-in for fast hand-off (the C library's is
/// `LOCKFILE_FAST_WAKE=1`). Keep one per thread and reuse it: it opens its
/// inotify descriptor (close-on-exec) at the first wait and keeps it for
/// the next, because closing one costs Linux an RCU grace period, often
/// 10 to 25 ms, which would be most of a hand-off. The watch itself is
/// removed at the end of every call.
///
/// A program may close every descriptor it does not know and open others
/// in their place. So the kept descriptor is used again only once it is
/// proven to be still our instance: when it is made, it also watches a
/// private file (a memfd that nobody else can reach, kept open beside it:
/// two descriptors per thread), and before each reuse the memfd's number
/// must still name that file and `/proc/self/fdinfo` of the inotify number
/// must list the watch. Numbers that fail the test are forgotten, never
/// closed or used (they are the program's now). Where the proof cannot be set up (no /proc,
/// no memfd) the instance is closed at the end of each call instead.
///
/// ```no_run
/// use lockfile::lock::{FastWake, Lock, Options, SystemClock};
/// let mut wake = FastWake::new();
/// let opts = Options { retries: 10, ..Options::default() };
/// for _ in 0..3 {
///     let lock = Lock::acquire_with("/var/mail/joe.lock", &opts, &SystemClock, &mut wake)?;
///     // ... work on /var/mail/joe ...
///     drop(lock);
/// }
/// # Ok::<(), lockfile::LockError>(())
/// ```
#[derive(Debug, Default)]
pub struct FastWake {
    /// The inotify instance, kept from call to call when it can be proven
    /// to be ours.
    inotify: Option<Instance>,
    /// What is watched during this call.
    watch: Option<Watch>,
    /// The wait in progress: the attempt it comes before and its end.
    slot: Option<(i64, Instant)>,
    woke: bool,
}

/// An inotify instance of ours.
#[derive(Debug)]
struct Instance {
    inotify: Inotify,
    /// The process that made it (a forked child must not share it).
    pid: i32,
    /// The private file it watches; `None`: not provable, so not kept
    /// past a call.
    mark: Option<Mark>,
}

/// A memfd, which nobody else can reach, watched by our instance.
#[derive(Debug)]
struct Mark {
    file: OwnedFd,
    dev: u64,
    ino: u64,
}

impl Instance {
    fn new(pid: i32) -> Option<Instance> {
        let flags = InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK;
        let inotify = Inotify::init(flags).ok()?;
        let mark = mark(&inotify);
        Some(Instance { inotify, pid, mark })
    }

    /// Whether both descriptors still are ours: the memfd's number still
    /// names our memfd (its inode is unique), and the inotify number's
    /// fdinfo lists a watch on that inode. An instance without a mark is
    /// only used within one call, where it is trusted.
    fn is_ours(&self) -> bool {
        let Some(mark) = &self.mark else {
            return true;
        };
        match fstat(&mark.file) {
            Ok(st) if (st.st_dev, st.st_ino) == (mark.dev, mark.ino) => {}
            _ => return false,
        }
        let fd = self.inotify.as_fd().as_raw_fd();
        let Ok(info) = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")) else {
            return false;
        };
        // The kernel prints its own encoding of the device number.
        let sdev = (major(mark.dev) << 20) | minor(mark.dev);
        let want = format!(" ino:{:x} sdev:{sdev:x} ", mark.ino);
        info.lines()
            .any(|l| l.starts_with("inotify wd:") && l.contains(&want))
    }

    /// Give up the numbers without closing them: they may be the
    /// program's now.
    fn forget(self) {
        let _ = OwnedFd::from(self.inotify).into_raw_fd();
        if let Some(mark) = self.mark {
            let _ = mark.file.into_raw_fd();
        }
    }
}

/// Make `inotify` watch a memfd of its own (kept open: the watch lasts as
/// long as the file).
fn mark(inotify: &Inotify) -> Option<Mark> {
    let file = memfd_create(c"lockfile-wake", MFdFlags::MFD_CLOEXEC).ok()?;
    let st = fstat(&file).ok()?;
    let path = format!("/proc/self/fd/{}", file.as_raw_fd());
    inotify
        .add_watch(path.as_str(), AddWatchFlags::IN_ATTRIB)
        .ok()?;
    Some(Mark {
        file,
        dev: st.st_dev,
        ino: st.st_ino,
    })
}

/// The lock watched for, and the watch on its directory (`None`: none
/// could be set up, so waits sleep).
#[derive(Debug)]
struct Watch {
    lock: PathBuf,
    wd: Option<WatchDescriptor>,
}

/// What wakes us: the lock's name leaving the directory.
const GONE: AddWatchFlags = AddWatchFlags::IN_DELETE.union(AddWatchFlags::IN_MOVED_FROM);

impl FastWake {
    /// A waiter with nothing set up yet: inotify is only used once a lock
    /// is found held.
    pub fn new() -> FastWake {
        FastWake::default()
    }

    /// When the wait that `wait` asks for ends: `wait.secs` from now, or,
    /// when the attempt after an early wake failed, the end of the wait
    /// that was cut short. For waiters that wrap this one (with
    /// [`FastWake::wait_until`] and [`Waiter::woke_early`]).
    pub fn wait_end(&mut self, wait: &Wait<'_>) -> Instant {
        let end = match self.slot {
            Some((attempt, end)) if self.woke && attempt == wait.attempt => end,
            _ => Instant::now() + Duration::from_secs(u64::from(wait.secs)),
        };
        self.slot = Some((wait.attempt, end));
        self.woke = false;
        end
    }

    /// Block until `lock` is removed or renamed away, or until `end`.
    /// Returns whether the lock went (or was gone already when the watch
    /// was set up), which is also what [`Waiter::woke_early`] says next.
    /// Without inotify it sleeps and returns false.
    pub fn wait_until(&mut self, lock: &Path, end: Instant) -> bool {
        self.woke = self.released_before(lock, end);
        self.woke
    }

    fn released_before(&mut self, lock: &Path, end: Instant) -> bool {
        if end <= Instant::now() {
            return false;
        }
        let fresh = self.watch.as_ref().is_none_or(|w| w.lock != lock);
        if fresh {
            self.watch_for(lock);
        }
        let wd = self.watch.as_ref().and_then(|w| w.wd);
        let (Some(Instance { inotify, .. }), Some(wd)) = (self.inotify.as_ref(), wd) else {
            std::thread::sleep(end.saturating_duration_since(Instant::now()));
            return false;
        };
        // The watch is in place before this check, so a release after it
        // is queued on the instance and cannot be missed.
        if fresh && lstat(lock).is_err_and(|e| e == Errno::ENOENT) {
            return true;
        }
        let name = lock.file_name().unwrap_or_default();
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            // Rounded up, so that we never wake just before the end.
            let ms = left.as_micros().div_ceil(1000);
            let timeout = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
            let mut fds = [PollFd::new(inotify.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, timeout) {
                Ok(0) | Err(Errno::EINTR) => continue,
                Ok(_) => match released(inotify, wd, name) {
                    Ok(true) => return true,
                    Ok(false) | Err(Errno::EAGAIN) | Err(Errno::EINTR) => continue,
                    Err(_) => {}
                },
                Err(_) => {}
            }
            // inotify failed under us: sleep out the wait, as without it.
            if let Some(w) = self.watch.as_mut() {
                w.wd = None;
            }
            std::thread::sleep(end.saturating_duration_since(Instant::now()));
            return false;
        }
    }

    /// The instance of this process, made if need be. A kept one is used
    /// only if it is still ours; an inherited one (through fork(): the
    /// parent still has it open, so closing our copy is cheap, and sharing
    /// it would steal events) is closed.
    fn instance(&mut self) -> Option<&Inotify> {
        let pid = getpid().as_raw();
        if let Some(kept) = self.inotify.take() {
            if !kept.is_ours() {
                kept.forget();
            } else if kept.pid == pid {
                self.inotify = Some(kept);
            }
        }
        if self.inotify.is_none() {
            self.inotify = Instance::new(pid);
        }
        self.inotify.as_ref().map(|i| &i.inotify)
    }

    /// Watch the directory of `lock` for it to go; the old watch goes.
    fn watch_for(&mut self, lock: &Path) {
        self.unwatch();
        let dir = match lock.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mask = GONE | AddWatchFlags::IN_ONLYDIR;
        let added = self.instance().map(|i| i.add_watch(dir, mask));
        let wd = match added {
            Some(Ok(wd)) => Some(wd),
            Some(Err(Errno::EBADF | Errno::EINVAL)) => {
                // The program closed our descriptor, and the number may
                // now be one of its files: forget it without closing it.
                if let Some(i) = self.inotify.take() {
                    i.forget();
                }
                None
            }
            _ => None,
        };
        // Events left from an earlier call are stale; a release after the
        // watch was added is caught by the check that follows.
        if let Some(i) = self.inotify.as_ref() {
            while i.inotify.read_events().is_ok_and(|e| !e.is_empty()) {}
        }
        self.watch = Some(Watch {
            lock: lock.to_path_buf(),
            wd,
        });
    }

    /// Stop watching; the instance stays for the next call.
    fn unwatch(&mut self) {
        if let (Some(i), Some(Watch { wd: Some(wd), .. })) =
            (self.inotify.as_ref(), self.watch.take())
        {
            let _ = i.inotify.rm_watch(wd);
        }
    }
}

/// Read what is queued; whether it says the lock's name went away. A lost
/// queue (overflow) or a lost watch (the directory went) counts as yes:
/// the attempt that follows finds out.
fn released(inotify: &Inotify, wd: WatchDescriptor, name: &OsStr) -> Result<bool, Errno> {
    let events = inotify.read_events()?;
    Ok(events.iter().any(|e| {
        e.mask.contains(AddWatchFlags::IN_Q_OVERFLOW)
            || (e.wd == wd
                && (e.mask.contains(AddWatchFlags::IN_IGNORED)
                    || (e.mask.intersects(GONE) && e.name.as_deref() == Some(name))))
    }))
}

impl Waiter for FastWake {
    fn tmp_removed(&mut self) {
        // The call is over: no events should queue until the next one.
        self.unwatch();
        // An instance that cannot be proven ours later is not kept.
        if self.inotify.as_ref().is_some_and(|i| i.mark.is_none()) {
            self.inotify = None;
        }
        self.slot = None;
        self.woke = false;
    }

    fn wait(&mut self, wait: &Wait<'_>) -> Result<(), LockError> {
        let end = self.wait_end(wait);
        self.wait_until(wait.lock, end);
        Ok(())
    }

    fn woke_early(&self) -> bool {
        self.woke
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::SystemClock;
    use crate::testutil::Scratch;
    use std::fs;

    #[test]
    fn wakes_when_the_lock_is_removed() {
        let scratch = Scratch::new();
        let dir = scratch.0.clone();
        let lock = dir.join("x.lock");
        fs::write(&lock, "0\n").unwrap();
        let other = dir.join("other");
        fs::write(&other, "").unwrap();
        let remover = {
            let (lock, other) = (lock.clone(), other.clone());
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                fs::remove_file(other).unwrap();
                std::thread::sleep(Duration::from_millis(50));
                fs::remove_file(lock).unwrap();
            })
        };
        let mut w = FastWake::new();
        let t = Instant::now();
        assert!(w.wait_until(&lock, Instant::now() + Duration::from_secs(20)));
        let took = t.elapsed();
        remover.join().unwrap();
        // Not woken by the other file's removal, and long before 20 s.
        assert!(took >= Duration::from_millis(90), "{took:?}");
        assert!(took < Duration::from_secs(10), "{took:?}");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn wakes_on_rename_and_at_once_when_already_gone() {
        let scratch = Scratch::new();
        let dir = scratch.0.clone();
        let lock = dir.join("y.lock");
        let mut w = FastWake::new();
        assert!(w.wait_until(&lock, Instant::now() + Duration::from_secs(20)));
        fs::write(&lock, "0\n").unwrap();
        let mut w = FastWake::new();
        assert!(!w.wait_until(&lock, Instant::now() + Duration::from_millis(30)));
        fs::rename(&lock, dir.join("z")).unwrap();
        assert!(w.wait_until(&lock, Instant::now() + Duration::from_secs(20)));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn times_out_when_the_lock_stays() {
        let scratch = Scratch::new();
        let dir = scratch.0.clone();
        let lock = dir.join("x.lock");
        fs::write(&lock, "0\n").unwrap();
        let mut w = FastWake::new();
        let t = Instant::now();
        assert!(!w.wait_until(&lock, Instant::now() + Duration::from_millis(200)));
        assert!(t.elapsed() >= Duration::from_millis(200));
        fs::remove_dir_all(dir).unwrap();
    }

    /// Says it woke early `early` times, recording every wait.
    struct EarlyThenSleep {
        early: u32,
        woke: bool,
        waits: Vec<(i64, u32)>,
    }

    impl Waiter for EarlyThenSleep {
        fn wait(&mut self, wait: &Wait<'_>) -> Result<(), LockError> {
            self.waits.push((wait.attempt, wait.secs));
            self.woke = self.early > 0;
            self.early = self.early.saturating_sub(1);
            Ok(())
        }
        fn woke_early(&self) -> bool {
            self.woke
        }
    }

    #[test]
    fn early_wakes_neither_count_nor_advance_the_schedule() {
        let scratch = Scratch::new();
        let dir = scratch.0.clone();
        let lock = dir.join("held.lock");
        fs::write(&lock, "0\n").unwrap();
        let mut w = EarlyThenSleep {
            early: 3,
            woke: false,
            waits: Vec::new(),
        };
        let opts = super::super::Options {
            retries: 2,
            ..Default::default()
        };
        let err = super::super::create_with(&lock, &opts, &SystemClock, &mut w).unwrap_err();
        assert_eq!(err.code, crate::LCode::MaxTrys);
        // Three early wakes before attempt 2 repeat its wait of 5 s; then
        // the schedule goes on as the reference's.
        assert_eq!(w.waits, [(2, 5), (2, 5), (2, 5), (2, 5), (3, 10)]);
        let left: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, [std::ffi::OsString::from("held.lock")]);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn hand_off_is_fast_and_the_wait_stays_bounded() {
        let scratch = Scratch::new();
        let dir = scratch.0.clone();
        let lock = dir.join("h.lock");
        fs::write(&lock, "0\n").unwrap();
        let releaser = {
            let lock = lock.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(100));
                fs::remove_file(lock).unwrap();
            })
        };
        let opts = super::super::Options {
            retries: 1,
            ..Default::default()
        };
        let t = Instant::now();
        let mut w = FastWake::new();
        super::super::create_with(&lock, &opts, &SystemClock, &mut w).unwrap();
        let took = t.elapsed();
        releaser.join().unwrap();
        assert!(took < Duration::from_secs(3), "{took:?}");
        assert!(w.watch.is_none(), "the watch outlived the call");
        assert!(
            w.inotify.is_some(),
            "the instance is kept for the next call"
        );
        fs::remove_file(&lock).unwrap();

        // Held for good: one wait of 1 s, no more, then L_MAXTRYS.
        fs::write(&lock, "0\n").unwrap();
        let opts = super::super::Options {
            schedule: super::super::Schedule::Interval(1),
            ..opts
        };
        let t = Instant::now();
        let err = super::super::create_with(&lock, &opts, &SystemClock, &mut w).unwrap_err();
        assert_eq!(err.code, crate::LCode::MaxTrys);
        let took = t.elapsed();
        assert!(
            took >= Duration::from_secs(1) && took < Duration::from_secs(3),
            "{took:?}"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_kept_instance_is_reused_only_if_proven_ours() {
        let ours = Instance::new(getpid().as_raw()).unwrap();
        assert!(ours.mark.is_some(), "no private mark (no /proc or memfd?)");
        assert!(ours.is_ours());
        // Another instance at a number we once had: no mark of ours.
        let theirs = Instance {
            inotify: Inotify::init(InitFlags::IN_CLOEXEC).unwrap(),
            pid: getpid().as_raw(),
            mark: mark(&Inotify::init(InitFlags::IN_CLOEXEC).unwrap()),
        };
        assert!(!theirs.is_ours());
        drop(theirs);
        // Kept across calls, and the same descriptor is used again.
        let scratch = Scratch::new();
        let dir = scratch.0.clone();
        let lock = dir.join("k.lock");
        let mut w = FastWake::new();
        assert!(w.wait_until(&lock, Instant::now() + Duration::from_secs(5)));
        w.tmp_removed();
        let fd = w.inotify.as_ref().unwrap().inotify.as_fd().as_raw_fd();
        assert!(w.wait_until(&lock, Instant::now() + Duration::from_secs(5)));
        assert_eq!(w.inotify.as_ref().unwrap().inotify.as_fd().as_raw_fd(), fd);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn falls_back_to_sleeping_without_a_directory() {
        let lock = Path::new("/nonexistent-dir-for-lockfile-tests/x.lock");
        let mut w = FastWake::new();
        let t = Instant::now();
        assert!(!w.wait_until(lock, Instant::now() + Duration::from_millis(100)));
        assert!(t.elapsed() >= Duration::from_millis(100));
    }
}
