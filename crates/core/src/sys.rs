//! The one `unsafe` layer of the core: the libc calls it needs, each
//! turned into a `Result` (`-1` and errno → `Err(Errno)`), an owned
//! descriptor that closes itself, and the program runner of the helper.
//!
//! Everything goes through libc, so that LD_PRELOAD shims (fakeroot, test
//! fault injectors) see every call; the one raw system call is `setuid` in
//! the child after `_Fork` (see [`run_program`]). Nothing here allocates.

use core::ffi::{CStr, c_char, c_int};
use core::fmt;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicPtr, AtomicU8, Ordering};
use core::time::Duration;

use crate::cpath::PATH_MAX;

/// An errno value. The names are the usual ones (nix's), so code reads as
/// it did with nix.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

#[allow(missing_docs, non_upper_case_globals)]
impl Errno {
    pub const UnknownErrno: Errno = Errno(0);
    pub const EPERM: Errno = Errno(libc::EPERM);
    pub const ENOENT: Errno = Errno(libc::ENOENT);
    pub const ESRCH: Errno = Errno(libc::ESRCH);
    pub const EINTR: Errno = Errno(libc::EINTR);
    pub const EIO: Errno = Errno(libc::EIO);
    pub const EBADF: Errno = Errno(libc::EBADF);
    pub const ECHILD: Errno = Errno(libc::ECHILD);
    pub const EAGAIN: Errno = Errno(libc::EAGAIN);
    pub const EWOULDBLOCK: Errno = Errno(libc::EWOULDBLOCK);
    pub const ENOMEM: Errno = Errno(libc::ENOMEM);
    pub const EACCES: Errno = Errno(libc::EACCES);
    pub const EEXIST: Errno = Errno(libc::EEXIST);
    pub const ENOTDIR: Errno = Errno(libc::ENOTDIR);
    pub const EISDIR: Errno = Errno(libc::EISDIR);
    pub const EINVAL: Errno = Errno(libc::EINVAL);
    pub const ENFILE: Errno = Errno(libc::ENFILE);
    pub const EMFILE: Errno = Errno(libc::EMFILE);
    pub const EROFS: Errno = Errno(libc::EROFS);
    pub const ENAMETOOLONG: Errno = Errno(libc::ENAMETOOLONG);
    pub const ESTALE: Errno = Errno(libc::ESTALE);
}

impl Errno {
    /// The calling thread's errno now.
    pub fn last() -> Errno {
        // SAFETY: __errno_location has no preconditions; it returns the
        // address of the calling thread's errno.
        let p = unsafe { libc::__errno_location() };
        // SAFETY: that address is valid and aligned for the whole life of
        // the thread.
        Errno(unsafe { *p })
    }

    /// The raw value.
    pub fn raw(self) -> i32 {
        self.0
    }

    /// The value for a raw errno number.
    pub fn from_raw(n: i32) -> Errno {
        Errno(n)
    }

    /// Set the calling thread's errno to this value.
    pub fn set(self) {
        // SAFETY: as in `last`.
        let p = unsafe { libc::__errno_location() };
        // SAFETY: as in `last`: the thread's own errno, written once.
        unsafe { *p = self.0 };
    }

    /// `Err(last())` for -1, `Ok(value)` otherwise (sudo-rs's `cerr`).
    pub fn result<T: Copy + PartialEq + From<i8>>(value: T) -> Result<T, Errno> {
        if value == T::from(-1) {
            Err(Errno::last())
        } else {
            Ok(value)
        }
    }

    /// What strerror says, written through `f` from a stack buffer.
    fn describe(self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 128];
        // SAFETY: the XSI strerror_r (the libc crate's binding) writes a
        // NUL-terminated message of at most `buf.len()` bytes into `buf`.
        let rc = unsafe { libc::strerror_r(self.0, buf.as_mut_ptr().cast(), buf.len()) };
        match CStr::from_bytes_until_nul(&buf) {
            Ok(s) if rc == 0 => match s.to_str() {
                Ok(s) => f.write_str(s),
                Err(_) => write!(f, "errno {}", self.0),
            },
            _ => write!(f, "errno {}", self.0),
        }
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Errno({})", self.0)
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.describe(f)
    }
}

impl core::error::Error for Errno {}

/// A descriptor we own: closed when dropped.
#[derive(Debug)]
pub struct Fd(c_int);

impl Fd {
    /// The descriptor number.
    pub fn raw(&self) -> c_int {
        self.0
    }

    /// Give up the number without closing it (it may be the program's now).
    pub fn forget(self) -> c_int {
        let n = self.0;
        core::mem::forget(self);
        n
    }

    /// Close it, reporting the error (a write error may show only here).
    pub fn close(self) -> Result<(), Errno> {
        let n = self.forget();
        // SAFETY: closing a descriptor we own, once (ownership was given up).
        Errno::result(unsafe { libc::close(n) }).map(drop)
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: closing a descriptor we own, once.
        unsafe { libc::close(self.0) };
    }
}

/// Whether `bytes` holds a NUL, eight bytes at a time (a word has a zero
/// byte exactly when `(w - 0x01…01) & !w & 0x80…80` is not zero).
fn has_nul(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let words = bytes.chunks_exact(8);
    let rest = words.remainder();
    words
        .map(|w| {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            u64::from_ne_bytes(b)
        })
        .any(|w| w.wrapping_sub(ONES) & !w & HIGHS != 0)
        || rest.contains(&0)
}

/// One path of up to `PATH_MAX` bytes as a C string, on the stack: for
/// the calls that must not allocate (async-signal-safe ones, docs/c-policy.md §4).
/// Its buffer is not cleared, so that one costs what its path costs.
pub struct FixedCPath {
    /// Bytes `..=len` are initialized: the path, then a NUL; no NUL
    /// before `len`.
    buf: [MaybeUninit<u8>; PATH_MAX + 1],
    len: usize,
}

impl FixedCPath {
    /// An empty path ("").
    pub const fn empty() -> FixedCPath {
        let mut buf = [MaybeUninit::uninit(); PATH_MAX + 1];
        buf[0] = MaybeUninit::new(0);
        FixedCPath { buf, len: 0 }
    }

    /// Make it the concatenation of `parts`; ENAMETOOLONG if longer than
    /// `PATH_MAX`, EINVAL if it contains a NUL byte (it is "" then).
    pub fn set(&mut self, parts: &[&[u8]]) -> Result<&CStr, Errno> {
        if let Err(e) = self.write_parts(parts) {
            // Its first byte may have been written: end it there again.
            self.clear();
            return Err(e);
        }
        Ok(self.as_cstr())
    }

    fn write_parts(&mut self, parts: &[&[u8]]) -> Result<(), Errno> {
        self.clear();
        let mut len = 0;
        for part in parts {
            if has_nul(part) {
                return Err(Errno::EINVAL);
            }
            let dst = self
                .buf
                .get_mut(len..len + part.len())
                .filter(|_| len + part.len() <= PATH_MAX)
                .ok_or(Errno::ENAMETOOLONG)?;
            // SAFETY: `dst` has exactly `part.len()` bytes, and a `&mut`
            // slice of our buffer cannot overlap the borrowed `part`.
            unsafe {
                core::ptr::copy_nonoverlapping(part.as_ptr(), dst.as_mut_ptr().cast(), part.len());
            };
            len += part.len();
        }
        self.end_at(len);
        Ok(())
    }

    /// Make it the first `keep` bytes of `c` (which hold no NUL: a C
    /// string's), then `tail`; ENAMETOOLONG if longer than `PATH_MAX`,
    /// EINVAL if `tail` contains a NUL byte or `keep` is beyond `c`.
    pub fn set_prefixed(&mut self, c: &CStr, keep: usize, tail: &[u8]) -> Result<&CStr, Errno> {
        self.clear();
        let head = c.to_bytes().get(..keep).ok_or(Errno::EINVAL)?;
        if has_nul(tail) {
            return Err(Errno::EINVAL);
        }
        let len = head.len() + tail.len();
        if len > PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let dst = self.buf.get_mut(..len).ok_or(Errno::ENAMETOOLONG)?;
        let (d_head, d_tail) = dst.split_at_mut(head.len());
        // SAFETY: each destination has exactly its source's length, and a
        // `&mut` slice of our buffer cannot overlap the borrowed sources.
        unsafe {
            core::ptr::copy_nonoverlapping(head.as_ptr(), d_head.as_mut_ptr().cast(), head.len());
        };
        // SAFETY: as above.
        unsafe {
            core::ptr::copy_nonoverlapping(tail.as_ptr(), d_tail.as_mut_ptr().cast(), tail.len());
        };
        self.end_at(len);
        Ok(self.as_cstr())
    }

    /// Make it the path of `len` bytes that `byte(i)` gives, one at a
    /// time (no second buffer on the stack); ENAMETOOLONG beyond
    /// `PATH_MAX`, EINVAL for a NUL byte (it is "" then).
    pub fn fill(&mut self, len: usize, mut byte: impl FnMut(usize) -> u8) -> Result<&CStr, Errno> {
        self.clear();
        if len > PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let dst = self.buf.get_mut(..len).ok_or(Errno::ENAMETOOLONG)?;
        for (i, d) in dst.iter_mut().enumerate() {
            let b = byte(i);
            if b == 0 {
                // Its first byte may have been written: end it there again.
                self.clear();
                return Err(Errno::EINVAL);
            }
            *d = MaybeUninit::new(b);
        }
        self.end_at(len);
        Ok(self.as_cstr())
    }

    fn clear(&mut self) {
        self.end_at(0);
    }

    /// The bytes before `len` are the path (written, no NUL): end it there.
    fn end_at(&mut self, len: usize) {
        if let Some(end) = self.buf.get_mut(len) {
            *end = MaybeUninit::new(0);
            self.len = len;
        }
    }

    /// The path as a C string.
    pub fn as_cstr(&self) -> &CStr {
        let bytes = self.buf.as_ptr().cast::<u8>();
        // SAFETY: by the invariant of `buf`, its first `len + 1` bytes are
        // initialized (`len` ≤ PATH_MAX, so within the array); they live
        // as long as `self`.
        let bytes = unsafe { core::slice::from_raw_parts(bytes, self.len + 1) };
        // SAFETY: by the same invariant they end in their only NUL.
        unsafe { CStr::from_bytes_with_nul_unchecked(bytes) }
    }
}

impl fmt::Debug for FixedCPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_cstr(), f)
    }
}

/// Take ownership of the descriptor number `fd` (it is closed on drop).
pub fn own(fd: c_int) -> Fd {
    Fd(fd)
}

/// What `stat` says about a file.
pub type FileStat = libc::stat;

fn zeroed_stat() -> FileStat {
    // SAFETY: struct stat is plain integers; all-zero bytes are valid.
    unsafe { core::mem::zeroed() }
}

/// `open(path, flags, mode)`.
pub fn open(path: &CStr, flags: c_int, mode: libc::mode_t) -> Result<Fd, Errno> {
    // SAFETY: a NUL-terminated path; open copies it before returning.
    let fd = unsafe { libc::open(path.as_ptr(), flags, libc::c_uint::from(mode)) };
    Errno::result(fd).map(Fd)
}

/// `read(fd, buf)`: how many bytes were read.
pub fn read(fd: &Fd, buf: &mut [u8]) -> Result<usize, Errno> {
    read_raw(fd.raw(), buf)
}

/// `read` on a descriptor number.
pub fn read_raw(fd: c_int, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: reads at most `buf.len()` bytes into `buf`.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    Errno::result(n).map(|n| n.unsigned_abs())
}

/// `write(fd, buf)`: how many bytes were written.
pub fn write(fd: &Fd, buf: &[u8]) -> Result<usize, Errno> {
    // SAFETY: writes at most `buf.len()` bytes from `buf`.
    let n = unsafe { libc::write(fd.raw(), buf.as_ptr().cast(), buf.len()) };
    Errno::result(n).map(|n| n.unsigned_abs())
}

/// `link(from, to)`.
pub fn link(from: &CStr, to: &CStr) -> Result<(), Errno> {
    // SAFETY: two NUL-terminated paths.
    Errno::result(unsafe { libc::link(from.as_ptr(), to.as_ptr()) }).map(drop)
}

/// `unlink(path)`.
pub fn unlink(path: &CStr) -> Result<(), Errno> {
    // SAFETY: a NUL-terminated path.
    Errno::result(unsafe { libc::unlink(path.as_ptr()) }).map(drop)
}

/// `lstat(path)`.
pub fn lstat(path: &CStr) -> Result<FileStat, Errno> {
    let mut st = zeroed_stat();
    // SAFETY: a NUL-terminated path and a struct stat to fill.
    Errno::result(unsafe { libc::lstat(path.as_ptr(), &mut st) }).map(|_| st)
}

/// `stat(path)`.
pub fn stat(path: &CStr) -> Result<FileStat, Errno> {
    let mut st = zeroed_stat();
    // SAFETY: a NUL-terminated path and a struct stat to fill.
    Errno::result(unsafe { libc::stat(path.as_ptr(), &mut st) }).map(|_| st)
}

/// `fstat(fd)`.
pub fn fstat(fd: c_int) -> Result<FileStat, Errno> {
    let mut st = zeroed_stat();
    // SAFETY: a struct stat to fill; a bad number is EBADF.
    Errno::result(unsafe { libc::fstat(fd, &mut st) }).map(|_| st)
}

/// Set the atime and mtime of `path` to now (following a symlink).
pub fn touch(path: &CStr) -> Result<(), Errno> {
    let now = libc::timespec {
        tv_sec: 0,
        tv_nsec: libc::UTIME_NOW,
    };
    let times = [now, now];
    // SAFETY: a NUL-terminated path and an array of two timespecs.
    let rc = unsafe { libc::utimensat(libc::AT_FDCWD, path.as_ptr(), times.as_ptr(), 0) };
    Errno::result(rc).map(drop)
}

/// `kill(pid, 0)`: whether a signal could be sent.
pub fn probe_pid(pid: i32) -> Result<(), Errno> {
    // SAFETY: signal 0 only checks; it sends nothing.
    Errno::result(unsafe { libc::kill(pid, 0) }).map(drop)
}

/// `getpid()`.
pub fn getpid() -> i32 {
    // SAFETY: cannot fail.
    unsafe { libc::getpid() }
}

/// `getppid()`.
pub fn getppid() -> i32 {
    // SAFETY: cannot fail.
    unsafe { libc::getppid() }
}

/// `gettid()`.
pub fn gettid() -> i32 {
    // SAFETY: cannot fail.
    unsafe { libc::gettid() }
}

/// `geteuid()`.
pub fn geteuid() -> u32 {
    // SAFETY: cannot fail.
    unsafe { libc::geteuid() }
}

/// `getuid()`.
pub fn getuid() -> u32 {
    // SAFETY: cannot fail.
    unsafe { libc::getuid() }
}

/// `gethostname` into `buf`: the name's bytes.
pub fn gethostname(buf: &mut [u8]) -> Result<&[u8], Errno> {
    // SAFETY: writes at most `buf.len()` bytes into `buf`.
    Errno::result(unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) })?;
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Ok(buf.get(..len).unwrap_or_default())
}

/// Call `f` with the value of the environment variable `name` (`None`:
/// not set). The environment is the caller's: like the reference, this
/// reads it with getenv() and copies nothing.
pub fn with_env<R>(name: &CStr, f: impl FnOnce(Option<&[u8]>) -> R) -> R {
    // SAFETY: a NUL-terminated name; the result is NULL or a C string.
    let p = unsafe { libc::getenv(name.as_ptr()) };
    if p.is_null() {
        return f(None);
    }
    // SAFETY: non-NULL: a NUL-terminated string of the environment, used
    // only during this call (as long as the reference uses its getenv()).
    f(Some(unsafe { CStr::from_ptr(p) }.to_bytes()))
}

fn clock(id: libc::clockid_t) -> libc::timespec {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a timespec to fill; the clocks used always exist on Linux.
    unsafe { libc::clock_gettime(id, &mut ts) };
    ts
}

/// What time(2) says: the whole seconds of CLOCK_REALTIME.
pub fn wall_secs() -> i64 {
    clock(libc::CLOCK_REALTIME).tv_sec
}

/// The whole seconds of CLOCK_BOOTTIME (the time since boot, suspend
/// included); `None` where the kernel lacks that clock.
pub fn boot_secs() -> Option<i64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a timespec to fill; an unknown clock is EINVAL.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    Errno::result(rc).ok().map(|_| ts.tv_sec)
}

/// CLOCK_MONOTONIC as a duration since an unspecified start.
pub fn monotonic() -> Duration {
    let ts = clock(libc::CLOCK_MONOTONIC);
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u32::try_from(ts.tv_nsec).unwrap_or(0);
    Duration::new(secs, nanos)
}

/// `N` atomic bytes that live as long as the process: an anonymous private
/// mapping, made by the first [`AtomicBlock::get_or_map`] and never
/// unmapped (a forked child gets its copy, as of a static). A static array
/// of its own would grow every process that merely loads the library by a
/// page of zeroed memory (docs/layers.md, "Lazy binding").
pub struct AtomicBlock<const N: usize> {
    block: AtomicPtr<[AtomicU8; N]>,
}

impl<const N: usize> AtomicBlock<N> {
    /// No block yet.
    pub const fn new() -> AtomicBlock<N> {
        AtomicBlock {
            block: AtomicPtr::new(core::ptr::null_mut()),
        }
    }

    /// The block, if it was mapped. Async-signal-safe (one atomic load).
    pub fn get(&self) -> Option<&'static [AtomicU8; N]> {
        let block = self.block.load(Ordering::Acquire);
        // SAFETY: `block` is null or was stored by `get_or_map`: a mapping
        // of N readable and writable bytes, zero-filled by the kernel and
        // never unmapped, so valid for 'static. [AtomicU8; N] has size N
        // and alignment 1, all-zero bytes are a valid value, and only
        // shared references are ever made (atomics allow that).
        unsafe { block.as_ref() }
    }

    /// The block, mapped now if it was not; `None` if the mapping fails.
    pub fn get_or_map(&self) -> Option<&'static [AtomicU8; N]> {
        if let Some(block) = self.get() {
            return Some(block);
        }
        let prot = libc::PROT_READ | libc::PROT_WRITE;
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
        // SAFETY: a new anonymous mapping at an address of the kernel's
        // choice; no memory of the program is touched.
        let new = unsafe { libc::mmap(core::ptr::null_mut(), N, prot, flags, -1, 0) };
        if new == libc::MAP_FAILED {
            return None;
        }
        let stored = self.block.compare_exchange(
            core::ptr::null_mut(),
            new.cast(),
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        if stored.is_err() {
            // Another thread mapped one first: ours was never shared.
            // SAFETY: unmaps the mapping made above, of N bytes, to which
            // no reference was handed out.
            unsafe { libc::munmap(new, N) };
        }
        self.get()
    }
}

impl<const N: usize> Default for AtomicBlock<N> {
    fn default() -> AtomicBlock<N> {
        AtomicBlock::new()
    }
}

/// Sleep for `d` (the whole of it: an interrupted sleep goes on).
pub fn sleep(d: Duration) {
    let mut req = libc::timespec {
        tv_sec: libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: libc::c_long::from(d.subsec_nanos() as i32),
    };
    loop {
        let mut rem = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: two timespecs, one to read and one to fill.
        let rc = unsafe { libc::nanosleep(&req, &mut rem) };
        if rc == 0 || Errno::last() != Errno::EINTR {
            return;
        }
        req = rem;
    }
}

/// Wait up to `d` for `fd` to become readable: whether it did. EINTR is
/// `Ok(false)` (the caller looks at its clock and goes on).
pub fn poll_in(fd: c_int, d: Duration) -> Result<bool, Errno> {
    // Rounded up, so that a wait never ends just before its end.
    let ms = d.as_micros().div_ceil(1000);
    let timeout = c_int::try_from(ms).unwrap_or(c_int::MAX);
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one pollfd, and the count 1.
    match Errno::result(unsafe { libc::poll(&mut pfd, 1, timeout) }) {
        Ok(n) => Ok(n > 0),
        Err(Errno::EINTR) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A new inotify instance, close-on-exec and non-blocking.
pub fn inotify_init() -> Result<Fd, Errno> {
    // SAFETY: no pointers.
    let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
    Errno::result(fd).map(Fd)
}

/// `inotify_add_watch`: the watch descriptor.
pub fn inotify_add_watch(fd: c_int, path: &CStr, mask: u32) -> Result<c_int, Errno> {
    // SAFETY: a NUL-terminated path.
    Errno::result(unsafe { libc::inotify_add_watch(fd, path.as_ptr(), mask) })
}

/// `inotify_rm_watch`.
pub fn inotify_rm_watch(fd: c_int, wd: c_int) {
    // SAFETY: no pointers; a stale number is an error we ignore.
    unsafe { libc::inotify_rm_watch(fd, wd) };
}

/// A memfd, close-on-exec.
pub fn memfd(name: &CStr) -> Result<Fd, Errno> {
    // SAFETY: a NUL-terminated name.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    Errno::result(fd).map(Fd)
}

/// Take an exclusive `flock(2)` on `fd` without waiting; it is released
/// when the descriptor is closed. `EWOULDBLOCK`: another holder has it.
pub fn try_flock(fd: c_int) -> Result<(), Errno> {
    // SAFETY: flock() only uses the descriptor number.
    Errno::result(unsafe { libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB) }).map(drop)
}

/// Release a `flock(2)`.
pub fn unflock(fd: c_int) -> Result<(), Errno> {
    // SAFETY: flock() only uses the descriptor number.
    Errno::result(unsafe { libc::flock(fd, libc::LOCK_UN) }).map(drop)
}

/// Set an fcntl (POSIX) lock of type `kind` on the whole file, without
/// waiting.
pub fn fcntl_lock(fd: c_int, kind: c_int) -> Result<(), Errno> {
    let l_type = libc::c_short::try_from(kind).map_err(|_| Errno::EINVAL)?;
    let whole = libc::flock {
        l_type,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    // SAFETY: F_SETLK with a pointer to a struct flock that lives for the call.
    Errno::result(unsafe { libc::fcntl(fd, libc::F_SETLK, &whole) }).map(drop)
}

/// Blocks SIGCHLD in this thread; restores the mask when dropped.
pub struct ChildSignalBlocked {
    was_blocked: bool,
}

fn sigset_of(sig: Option<c_int>) -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset initializes it.
    let mut set: libc::sigset_t = unsafe { core::mem::zeroed() };
    // SAFETY: a valid, exclusively borrowed set.
    unsafe { libc::sigemptyset(&mut set) };
    if let Some(sig) = sig {
        // SAFETY: a valid set and a valid signal number.
        unsafe { libc::sigaddset(&mut set, sig) };
    }
    set
}

impl ChildSignalBlocked {
    /// Block SIGCHLD now.
    pub fn new() -> ChildSignalBlocked {
        let chld = sigset_of(Some(libc::SIGCHLD));
        let mut old = sigset_of(None);
        // SAFETY: two valid sets.
        let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &chld, &mut old) };
        // SAFETY: a valid set, read only.
        let was = unsafe { libc::sigismember(&old, libc::SIGCHLD) } == 1;
        ChildSignalBlocked {
            was_blocked: rc != 0 || was,
        }
    }

    /// Whether SIGCHLD is blocked in this thread now.
    #[cfg(test)]
    pub(crate) fn is_blocked_now() -> bool {
        let mut now = sigset_of(None);
        // SAFETY: a null new set only reads the mask into `now`.
        unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, core::ptr::null(), &mut now) };
        // SAFETY: a valid set, read only.
        unsafe { libc::sigismember(&now, libc::SIGCHLD) == 1 }
    }
}

impl Default for ChildSignalBlocked {
    fn default() -> ChildSignalBlocked {
        ChildSignalBlocked::new()
    }
}

impl Drop for ChildSignalBlocked {
    fn drop(&mut self) {
        if !self.was_blocked {
            let chld = sigset_of(Some(libc::SIGCHLD));
            // SAFETY: a valid set; the old mask is not asked for.
            unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &chld, core::ptr::null_mut()) };
        }
    }
}

/// Register `child` to run in the child of every fork() (not `_Fork`).
pub fn at_fork_child(child: extern "C" fn()) -> bool {
    // SAFETY: registers a function pointer with static lifetime.
    unsafe { libc::pthread_atfork(None, None, Some(child)) == 0 }
}

unsafe extern "C" {
    /// glibc ≥ 2.34 (and musl): fork() without the atfork handlers and
    /// without taking malloc's locks, so it may be called from a signal
    /// handler that interrupted malloc (POSIX 2024 lists it as
    /// async-signal-safe; fork() no longer is).
    fn _Fork() -> libc::pid_t;
}

/// How a program run by [`run_program`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgramEnd {
    /// It could not be started (no process, or exec failed: exit 127).
    NotRun,
    /// It was killed by a signal, or its status was lost.
    Killed,
    /// Its exit status.
    Exited(i32),
    /// It ended, but its status went to the caller's SIGCHLD disposition
    /// or reaper ([`Parent::Caller`] only).
    Lost,
}

/// Whose child the program is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent {
    /// An intermediate child's: the status always reaches us.
    Intermediate,
    /// The caller's own, so that its parent pid is the caller's pid (what
    /// `dotlockfile -p` writes into the lock); the status may be lost.
    Caller,
}

/// The most arguments [`run_program`] passes.
pub const MAX_ARGS: usize = 8;

/// Run `prog` with `args` (`argv[0]` is `prog`), an empty environment,
/// /dev/null as stdin, no signal blocked, and the effective uid as its real
/// uid (docs/c-policy.md §5: the helper judges ownership by the uid the caller acts
/// as); wait for it and return how it ended.
///
/// The status reaches us whatever the caller did with SIGCHLD (SIG_IGN,
/// SA_NOCLDWAIT, a handler or a thread that reaps every child): an
/// intermediate child, with every signal blocked and SIGCHLD at its
/// default, starts the program, waits for it and writes its wait status
/// into a close-on-exec pipe; we read it there. The intermediate is reaped
/// here unless the caller's disposition or another reaper already did.
///
/// Async-signal-safe and safe in a threaded program: everything is built
/// before the fork, nothing allocates, and both children make only
/// async-signal-safe system calls before `execve` or `_exit`. The caller's
/// signal dispositions and mask are not touched in this process.
///
/// With [`Parent::Caller`] the program is forked directly, and its status
/// is [`ProgramEnd::Lost`] when the caller's SIGCHLD disposition or reaper
/// took it (it has ended either way: waitpid() of a child that is reaped
/// automatically returns only once it ended).
pub fn run_program(prog: &CStr, args: &[&CStr], parent: Parent) -> ProgramEnd {
    let mut argv: [*const c_char; MAX_ARGS + 2] = [core::ptr::null(); MAX_ARGS + 2];
    if args.len() > MAX_ARGS {
        return ProgramEnd::NotRun;
    }
    for (slot, arg) in argv.iter_mut().zip(core::iter::once(&prog).chain(args)) {
        *slot = arg.as_ptr();
    }
    let envp: [*const c_char; 1] = [core::ptr::null()];
    if parent == Parent::Caller {
        return run_direct(prog, &argv, &envp);
    }
    let mut fds: [c_int; 2] = [-1; 2];
    // SAFETY: pipe2 writes two descriptors into the array it is given.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return ProgramEnd::NotRun;
    }
    let [rfd, wfd] = fds;
    // SAFETY: _Fork() creates a child that runs only `intermediate`, which
    // makes async-signal-safe system calls and never returns.
    let pid = unsafe { _Fork() };
    if pid == 0 {
        intermediate(prog, &argv, &envp, rfd, wfd);
    }
    drop(Fd(wfd));
    let rfd = Fd(rfd);
    if pid < 0 {
        return ProgramEnd::NotRun;
    }
    let status = read_status(rfd.raw());
    drop(rfd);
    loop {
        // SAFETY: waitpid with a null status pointer only reaps `pid`, our
        // child. ECHILD: the caller's SIGCHLD disposition or reaper did.
        let rc = unsafe { libc::waitpid(pid, core::ptr::null_mut(), 0) };
        if rc >= 0 || Errno::last() != Errno::EINTR {
            break;
        }
    }
    match status {
        None => ProgramEnd::Killed,
        Some(-1) => ProgramEnd::NotRun,
        Some(st) if libc::WIFEXITED(st) => match libc::WEXITSTATUS(st) {
            127 => ProgramEnd::NotRun,
            code => ProgramEnd::Exited(code),
        },
        Some(_) => ProgramEnd::Killed,
    }
}

/// [`run_program`] with the program as our own child.
fn run_direct(prog: &CStr, argv: &[*const c_char], envp: &[*const c_char]) -> ProgramEnd {
    // SAFETY: _Fork() creates a child that runs only `exec_program`, which
    // makes async-signal-safe system calls and never returns.
    let pid = unsafe { _Fork() };
    if pid == 0 {
        exec_program(prog, argv, envp);
    }
    if pid < 0 {
        return ProgramEnd::NotRun;
    }
    let mut st: c_int = 0;
    loop {
        // SAFETY: waits for our own child into a local int.
        let rc = unsafe { libc::waitpid(pid, &mut st, 0) };
        if rc == pid {
            break;
        }
        if rc < 0 && Errno::last() != Errno::EINTR {
            return ProgramEnd::Lost;
        }
    }
    if libc::WIFEXITED(st) {
        match libc::WEXITSTATUS(st) {
            127 => ProgramEnd::NotRun,
            code => ProgramEnd::Exited(code),
        }
    } else {
        ProgramEnd::Killed
    }
}

/// The wait status the intermediate child writes: 4 bytes, or `None` if it
/// died without writing them.
fn read_status(rfd: c_int) -> Option<c_int> {
    let mut buf = [0u8; 4];
    let mut got = 0;
    while got < buf.len() {
        let rest = buf.get_mut(got..)?;
        match read_raw(rfd, rest) {
            Ok(0) => return None,
            Ok(n) => got += n,
            Err(Errno::EINTR) => {}
            Err(_) => return None,
        }
    }
    Some(c_int::from_ne_bytes(buf))
}

fn full_sigset() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigfillset initializes it.
    let mut set: libc::sigset_t = unsafe { core::mem::zeroed() };
    // SAFETY: a valid, exclusively borrowed set.
    unsafe { libc::sigfillset(&mut set) };
    set
}

/// The intermediate child of [`run_program`]: block every signal (no
/// handler of the caller may run here), put SIGCHLD back to its default
/// (no SIG_IGN or SA_NOCLDWAIT), start the program, wait for it, write its
/// status (-1: not started) into `wfd`, and `_exit`.
fn intermediate(
    prog: &CStr,
    argv: &[*const c_char],
    envp: &[*const c_char],
    rfd: c_int,
    wfd: c_int,
) -> ! {
    let all = full_sigset();
    // SAFETY: sigprocmask with a valid set; async-signal-safe.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, &all, core::ptr::null_mut()) };
    // SAFETY: the read end is ours; the program must not inherit it.
    unsafe { libc::close(rfd) };
    // SAFETY: a zeroed sigaction is SIG_DFL with no flags and an empty
    // mask, a valid value; sigaction is async-signal-safe.
    let dfl: libc::sigaction = unsafe { core::mem::zeroed() };
    // SAFETY: installs SIG_DFL for SIGCHLD (clearing SA_NOCLDWAIT).
    unsafe { libc::sigaction(libc::SIGCHLD, &dfl, core::ptr::null_mut()) };
    // SAFETY: _Fork() again; the grandchild only runs `exec_program`.
    let pid = unsafe { _Fork() };
    if pid == 0 {
        exec_program(prog, argv, envp);
    }
    let mut status: c_int = -1;
    if pid > 0 {
        let mut st: c_int = 0;
        loop {
            // SAFETY: waits for our own child into a local int.
            let rc = unsafe { libc::waitpid(pid, &mut st, 0) };
            if rc == pid {
                status = st;
                break;
            }
            if rc < 0 && Errno::last() != Errno::EINTR {
                break;
            }
        }
    }
    let bytes = status.to_ne_bytes();
    // SAFETY: writes 4 bytes from a local array; a pipe write of fewer
    // than PIPE_BUF bytes is atomic.
    unsafe { libc::write(wfd, bytes.as_ptr().cast(), bytes.len()) };
    // SAFETY: _exit ends the child without running any of the caller's
    // atexit handlers or flushing its stdio buffers.
    unsafe { libc::_exit(0) }
}

/// The program's side: default dispositions for every caught signal, the
/// effective uid as real uid, /dev/null on stdin, no signal blocked, exec.
fn exec_program(prog: &CStr, argv: &[*const c_char], envp: &[*const c_char]) -> ! {
    // SAFETY: as in `intermediate`, a zeroed sigaction is SIG_DFL.
    let dfl: libc::sigaction = unsafe { core::mem::zeroed() };
    for sig in 1..=libc::SIGRTMAX() {
        // SAFETY: as `dfl`, a valid value for sigaction to write into.
        let mut old: libc::sigaction = unsafe { core::mem::zeroed() };
        // SAFETY: reads the disposition of `sig` into a local struct.
        let rc = unsafe { libc::sigaction(sig, core::ptr::null(), &mut old) };
        if rc == 0 && old.sa_sigaction != libc::SIG_IGN && old.sa_sigaction != libc::SIG_DFL {
            // SAFETY: a handler of the caller must not run before exec.
            unsafe { libc::sigaction(sig, &dfl, core::ptr::null_mut()) };
        }
    }
    let euid = geteuid();
    // The raw system call, not glibc's setuid(): after _Fork() in a
    // threaded program glibc still lists the parent's other threads, and
    // its setuid() would wait for them to follow (they never will). This
    // process has one thread, which is all the system call changes.
    // SAFETY: setuid(2) with a uid value; on failure we do not exec.
    if unsafe { libc::syscall(libc::SYS_setuid, euid) } != 0 {
        // SAFETY: ends the grandchild; 127 means "not run".
        unsafe { libc::_exit(127) };
    }
    // SAFETY: opening /dev/null, a constant C string.
    let null = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
    if null > 0 {
        // SAFETY: both descriptors are ours.
        unsafe { libc::dup2(null, 0) };
        // SAFETY: the spare copy is ours.
        unsafe { libc::close(null) };
    }
    let none = sigset_of(None);
    // SAFETY: sigprocmask with a valid set; the program starts unblocked.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, &none, core::ptr::null_mut()) };
    // SAFETY: argv and envp are NULL-terminated arrays of C strings that
    // the parent built before the fork and that live in this copy of its
    // memory.
    unsafe { libc::execve(prog.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    // SAFETY: exec failed; 127 means "not run".
    unsafe { libc::_exit(127) }
}
