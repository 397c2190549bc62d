//! The one way to wait: [`wait`] blocks until a time of the monotonic
//! clock, sleeping, or, when the caller opted in, woken as soon as the lock
//! it waits for is removed or renamed away (inotify on its directory).
//! Every caller (the C API's schedules, `maillock`, `dotlockfile`, the
//! mailbox API, `dotlock`) computes its own end from its schedule and
//! deadline and passes it here. [`Time`] is the one seam through which
//! tests (and programs that must react to signals while they wait) supply
//! the clock and the sleep.
//!
//! The inotify instance is process-wide: opening one costs little, but
//! closing one costs Linux an RCU grace period (often 10 to 25 ms, most of
//! a hand-off), so it is kept from one wait to the next. A wait takes it
//! with an atomic try-lock; a wait that finds it taken (another thread, or
//! a signal handler that interrupted a wait) makes a fresh instance of its
//! own and closes it at the end. No thread-local state.
//!
//! A program may close every descriptor it does not know and open others
//! in their place. So the kept descriptor is used again only once it is
//! proven to be still ours: when it is made, it also watches a private
//! file (a memfd that nobody else can reach, kept open beside it), and
//! before each reuse the memfd's number must still name that file and
//! `/proc/self/fdinfo` of the inotify number must list the watch. Numbers
//! that fail the test are forgotten, never closed or used (they are the
//! program's now). Where the proof cannot be set up (no /proc, no memfd)
//! the instance is closed at the end of each wait instead. An instance
//! inherited through fork() is closed (the parent still has it).
#![forbid(unsafe_code)]

use core::ffi::CStr;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use core::time::Duration;

use crate::cpath::{Bytes, FixedCPath, split_dir};
use crate::error::LockError;
use crate::sys::{self, Errno, Fd};

/// The clock and the sleep of a wait: the one seam for time. The real one
/// is [`RealTime`]; tests pretend, and programs that must end a wait on a
/// signal sleep on their own terms.
pub trait Time {
    /// The monotonic clock, from an unspecified start.
    fn now(&self) -> Duration;
    /// The wall clock in whole seconds since the epoch (what time(2)
    /// says): the temporary name and the age of a lock when the file
    /// system's clock is unknown.
    fn wall(&self) -> i64;
    /// Sleep for `d`, or until the descriptor `wake` (if any) is
    /// readable; say whether it is. An error ends the wait, and with it
    /// the attempts (the temporary file is removed, the error returned).
    fn sleep(&mut self, d: Duration, wake: Option<i32>) -> Result<bool, LockError>;
}

/// The system's clocks and a real sleep.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealTime;

impl Time for RealTime {
    fn now(&self) -> Duration {
        sys::monotonic()
    }
    fn wall(&self) -> i64 {
        sys::wall_secs()
    }
    fn sleep(&mut self, d: Duration, wake: Option<i32>) -> Result<bool, LockError> {
        match wake {
            Some(fd) => Ok(sys::poll_in(fd, d).unwrap_or_else(|_| {
                sys::sleep(d);
                false
            })),
            None => {
                sys::sleep(d);
                Ok(false)
            }
        }
    }
}

/// Wait until `until` on `time`'s monotonic clock. With `release_of` a
/// lock and `wake` set, end early as soon as that lock is removed or
/// renamed away, or at once if it is gone already: returns whether it
/// went (`Ok(false)`: the time is up). Without inotify (no instances left,
/// a file system where it sees nothing, such as NFS changes made by other
/// hosts) it sleeps the whole time.
pub fn wait(
    time: &mut dyn Time,
    until: Duration,
    release_of: Option<&CStr>,
    wake: bool,
) -> Result<bool, LockError> {
    if let (true, Some(lock)) = (wake, release_of)
        && let Some(watch) = Watch::new(lock)
    {
        if watch.gone {
            return Ok(true);
        }
        loop {
            let now = time.now();
            if now >= until {
                return Ok(false);
            }
            if !time.sleep(until - now, Some(watch.fd()))? {
                continue;
            }
            match watch.released() {
                Ok(true) => return Ok(true),
                Ok(false) | Err(Errno::EAGAIN | Errno::EINTR) => {}
                // inotify failed under us: sleep out the wait, as without it.
                Err(_) => break,
            }
        }
    }
    loop {
        let now = time.now();
        if now >= until {
            return Ok(false);
        }
        time.sleep(until - now, None)?;
    }
}

/// What wakes us: the lock's name leaving the directory.
const GONE: u32 = libc::IN_DELETE | libc::IN_MOVED_FROM;

/// The kept instance: its descriptor (-1: none), the process that made
/// it, and its private mark (a memfd and its device and inode).
static KEPT_FD: AtomicI32 = AtomicI32::new(-1);
static KEPT_PID: AtomicI32 = AtomicI32::new(0);
static MARK_FD: AtomicI32 = AtomicI32::new(-1);
static MARK_DEV: AtomicU64 = AtomicU64::new(0);
static MARK_INO: AtomicU64 = AtomicU64::new(0);
/// Taken by the wait that uses the kept instance.
static BUSY: AtomicBool = AtomicBool::new(false);

/// An inotify instance for one wait: the kept one (then `kept` is set and
/// it is given back at the end) or a fresh one closed at the end.
struct Instance {
    fd: Option<Fd>,
    kept: bool,
}

impl Instance {
    /// The kept instance if it is free and still ours, made if need be;
    /// else a fresh one.
    fn take() -> Option<Instance> {
        if BUSY
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            let fd = sys::inotify_init().ok()?;
            return Some(Instance {
                fd: Some(fd),
                kept: false,
            });
        }
        let pid = sys::getpid();
        let fd = KEPT_FD.load(Ordering::Relaxed);
        if fd >= 0 {
            if KEPT_PID.load(Ordering::Relaxed) != pid {
                // Inherited through fork(): ours to close.
                drop(adopt(fd));
                drop(adopt(MARK_FD.load(Ordering::Relaxed)));
                forget_kept();
            } else if is_ours(fd) {
                return Some(Instance {
                    fd: adopt(fd),
                    kept: true,
                });
            } else {
                // The program's numbers now: forget them, never close.
                forget_kept();
            }
        }
        let Ok(fd) = sys::inotify_init() else {
            BUSY.store(false, Ordering::Release);
            return None;
        };
        let kept = match mark(fd.raw()) {
            Some((file, dev, ino)) => {
                MARK_FD.store(file.forget(), Ordering::Relaxed);
                MARK_DEV.store(dev, Ordering::Relaxed);
                MARK_INO.store(ino, Ordering::Relaxed);
                KEPT_FD.store(fd.raw(), Ordering::Relaxed);
                KEPT_PID.store(pid, Ordering::Relaxed);
                true
            }
            None => {
                BUSY.store(false, Ordering::Release);
                false
            }
        };
        Some(Instance { fd: Some(fd), kept })
    }

    fn raw(&self) -> i32 {
        self.fd.as_ref().map_or(-1, Fd::raw)
    }

    /// The instance failed under us (its number was closed by the
    /// program, say): never use it again, never close it.
    fn lose(&mut self) {
        if let Some(fd) = self.fd.take() {
            fd.forget();
        }
        if self.kept {
            forget_kept();
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if self.kept {
            // Kept for the next wait: not closed.
            if let Some(fd) = self.fd.take() {
                fd.forget();
            }
            BUSY.store(false, Ordering::Release);
        }
    }
}

/// The descriptor number as ours (`None` for -1).
fn adopt(fd: i32) -> Option<Fd> {
    (fd >= 0).then(|| sys::own(fd))
}

fn forget_kept() {
    KEPT_FD.store(-1, Ordering::Relaxed);
    MARK_FD.store(-1, Ordering::Relaxed);
}

/// Make `inotify` watch a memfd of its own (kept open: the watch lasts as
/// long as the file): the memfd, its device and inode.
fn mark(inotify: i32) -> Option<(Fd, u64, u64)> {
    let file = sys::memfd(c"lockfile-wake").ok()?;
    let st = sys::fstat(file.raw()).ok()?;
    let mut path = Bytes::<32>::new();
    path.push(b"/proc/self/fd/");
    path.push_int(i64::from(file.raw()), 0);
    let path = FixedCPath::new(&[path.as_bytes()]).ok()?;
    sys::inotify_add_watch(inotify, path.as_cstr(), libc::IN_ATTRIB).ok()?;
    Some((file, st.st_dev, st.st_ino))
}

/// Append `n` in lower-case hexadecimal.
fn push_hex<const N: usize>(b: &mut Bytes<N>, n: u64) {
    let digits = b"0123456789abcdef";
    let mut buf = [0u8; 16];
    let mut at = buf.len();
    let mut v = n;
    loop {
        at -= 1;
        if let (Some(slot), Some(&d)) = (buf.get_mut(at), digits.get((v & 15) as usize)) {
            *slot = d;
        }
        v >>= 4;
        if v == 0 || at == 0 {
            break;
        }
    }
    b.push(buf.get(at..).unwrap_or_default());
}

/// Whether both kept descriptors still are ours: the memfd's number still
/// names our memfd (its inode is unique), and the inotify number's fdinfo
/// lists a watch on that inode.
fn is_ours(fd: i32) -> bool {
    let (dev, ino) = (
        MARK_DEV.load(Ordering::Relaxed),
        MARK_INO.load(Ordering::Relaxed),
    );
    match sys::fstat(MARK_FD.load(Ordering::Relaxed)) {
        Ok(st) if (st.st_dev, st.st_ino) == (dev, ino) => {}
        _ => return false,
    }
    let mut path = Bytes::<40>::new();
    path.push(b"/proc/self/fdinfo/");
    path.push_int(i64::from(fd), 0);
    let Ok(path) = FixedCPath::new(&[path.as_bytes()]) else {
        return false;
    };
    let Ok(file) = sys::open(path.as_cstr(), libc::O_RDONLY | libc::O_CLOEXEC, 0) else {
        return false;
    };
    let mut info = [0u8; 2048];
    let mut len = 0;
    while let Some(rest) = info.get_mut(len..).filter(|r| !r.is_empty()) {
        match sys::read(&file, rest) {
            Ok(0) | Err(_) => break,
            Ok(n) => len += n,
        }
    }
    // The kernel prints its own encoding of the device number.
    let sdev = (u64::from(libc::major(dev)) << 20) | u64::from(libc::minor(dev));
    let mut want = Bytes::<64>::new();
    want.push(b" ino:");
    push_hex(&mut want, ino);
    want.push(b" sdev:");
    push_hex(&mut want, sdev);
    want.push(b" ");
    let want = want.as_bytes();
    info.get(..len)
        .unwrap_or_default()
        .split(|&b| b == b'\n')
        .any(|l| l.starts_with(b"inotify wd:") && l.windows(want.len()).any(|w| w == want))
}

/// A watch on a lock's directory for one wait; removed when dropped.
struct Watch<'l> {
    instance: Instance,
    wd: i32,
    name: &'l [u8],
    /// The lock was gone once the watch was in place.
    gone: bool,
}

impl<'l> Watch<'l> {
    fn new(lock: &'l CStr) -> Option<Watch<'l>> {
        let (dir, name) = split_dir(lock.to_bytes());
        let dir = FixedCPath::new(&[dir]).ok()?;
        let mut instance = Instance::take()?;
        let mask = GONE | libc::IN_ONLYDIR;
        let wd = match sys::inotify_add_watch(instance.raw(), dir.as_cstr(), mask) {
            Ok(wd) => wd,
            Err(Errno::EBADF | Errno::EINVAL) => {
                // The program closed our descriptor, and the number may
                // now be one of its files: forget it without closing it.
                instance.lose();
                return None;
            }
            Err(_) => return None,
        };
        // Events left from an earlier wait are stale; a release after the
        // watch was added is caught by the check that follows.
        let mut buf = [0u8; 1024];
        while sys::read_raw(instance.raw(), &mut buf).is_ok_and(|n| n > 0) {}
        let gone = sys::lstat(lock).is_err_and(|e| e == Errno::ENOENT);
        Some(Watch {
            instance,
            wd,
            name,
            gone,
        })
    }

    fn fd(&self) -> i32 {
        self.instance.raw()
    }

    /// Read what is queued; whether it says the lock's name went away. A
    /// lost queue (overflow) or a lost watch (the directory went) counts
    /// as yes: the attempt that follows finds out.
    fn released(&self) -> Result<bool, Errno> {
        // inotify_event is 16 bytes and a name padded to 4 bytes.
        let mut buf = [0u8; 4096];
        let n = sys::read_raw(self.fd(), &mut buf)?;
        let mut events = buf.get(..n).unwrap_or_default();
        let mut any = false;
        while let Some((head, rest)) = events.split_first_chunk::<16>() {
            let word = |i: usize| {
                head.get(i..i + 4)
                    .and_then(|b| b.try_into().ok())
                    .map_or(0, u32::from_ne_bytes)
            };
            let (wd, mask, len) = (word(0) as i32, word(4), word(12) as usize);
            let name = rest.get(..len).unwrap_or_default();
            let name = name.split(|&b| b == 0).next().unwrap_or_default();
            any |= mask & libc::IN_Q_OVERFLOW != 0
                || (wd == self.wd
                    && (mask & libc::IN_IGNORED != 0 || (mask & GONE != 0 && name == self.name)));
            events = rest.get(len..).unwrap_or_default();
        }
        Ok(any)
    }
}

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        // The wait is over: no events should queue until the next one.
        if self.instance.fd.is_some() {
            sys::inotify_rm_watch(self.instance.raw(), self.wd);
        }
    }
}

#[cfg(test)]
mod tests;
