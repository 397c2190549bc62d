//! The name of the temporary file (docs/protocol.md §2.4, docs/decisions.md §8), and what makes it
//! unique without a system call per lock.
//!
//! The reference names it `.lk%05d%x%s`: its pid, `time & 15` and the host
//! name up to its first dot. We write the same name, from a pid read once
//! and kept (getpid() is a real system call in glibc ≥ 2.25): a fork()
//! child reads its own again (a `pthread_atfork` handler), and so does
//! every create that finds the name taken. Threads of one process share
//! the pid, so two of them may pick the same name in the same second: the
//! O_EXCL create then says EEXIST and the second one moves on to a name
//! with its thread id, then to other digits of that name ([`variant`]), a
//! bounded number of tries. A single-threaded program never needs them.
#![forbid(unsafe_code)]

use core::ffi::CStr;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};

use crate::cpath::{Bytes, FixedCPath, PATH_MAX, dir_prefix};
use crate::error::{Errno, LCode, LockError};
use crate::sys;

/// Room the reference reserves for the temporary name (`.lk`, 5 digits,
/// 1 hex digit and 23 bytes of host name).
pub const TMP_RESERVE: usize = 32;
/// The longest basename of a temporary file.
pub const TMP_NAME_MAX: usize = TMP_RESERVE - 1;
/// Every temporary name starts with this.
pub const TMP_PREFIX: &[u8] = b".lk";

/// The temporary name for `lock`: the lock's directory, then `.lk`, `id` as
/// `%05d`, `now & 15` as one hex digit and the host name up to its first
/// dot, the basename cut to 31 bytes; written into `buf`.
pub fn tmp_name<'b>(
    buf: &'b mut FixedCPath,
    lock: &CStr,
    id: i32,
    now: i64,
    host: &[u8],
) -> Result<&'b CStr, LockError> {
    if lock.to_bytes().len() + TMP_RESERVE > PATH_MAX {
        return Err(LockError::new(LCode::Error, Errno::ENAMETOOLONG));
    }
    let mut base = Bytes::<TMP_NAME_MAX>::new();
    base.push(TMP_PREFIX);
    base.push_int(i64::from(id), 5);
    // `now & 15` is 0..=15 even for a negative time.
    if let Some(&digit) = b"0123456789abcdef".get((now & 15) as usize) {
        base.push(&[digit]);
    }
    base.push(short_host(host));
    let dir = dir_prefix(lock.to_bytes()).len();
    buf.set_prefixed(lock, dir, base.as_bytes())
        .map_err(|e| LockError::new(LCode::TmpLock, e))
}

/// The host name up to its first dot.
pub fn short_host(host: &[u8]) -> &[u8] {
    host.split(|&b| b == b'.').next().unwrap_or_default()
}

/// The pid of this process, read once (0: not read yet).
static PID: AtomicI32 = AtomicI32::new(0);
static AT_FORK: AtomicBool = AtomicBool::new(false);

extern "C" fn forked_child() {
    PID.store(0, Ordering::Relaxed);
}

/// The pid, from the cache.
pub fn cached_pid() -> i32 {
    match PID.load(Ordering::Relaxed) {
        0 => fresh_pid(),
        pid => pid,
    }
}

/// The pid, read for real (and kept).
pub fn fresh_pid() -> i32 {
    if !AT_FORK.swap(true, Ordering::Relaxed) && !sys::at_fork_child(forked_child) {
        AT_FORK.store(false, Ordering::Relaxed);
        // Without the handler nothing may be kept.
        return sys::getpid();
    }
    let pid = sys::getpid();
    PID.store(pid, Ordering::Relaxed);
    pid
}

/// How many names a create tries before it gives up with EEXIST.
pub const VARIANTS: u32 = 16;

/// The id and time digit of try `n` (0-based) after the name of `pid` at
/// `now` was taken: the thread id, then the thread id with each other
/// digit. `None`: no more.
pub fn variant(n: u32, tid: i32, now: i64) -> Option<(i32, i64)> {
    match n {
        0 => Some((tid, now)),
        n if n < 16 => Some((tid, now.wrapping_add(i64::from(n)))),
        _ => None,
    }
}

/// The longest host name Linux has (HOST_NAME_MAX).
const HOST_MAX: usize = 64;
/// The host name's bytes, eight to a word (read in 8 loads, not 64).
static HOST: [AtomicU64; HOST_MAX / 8] = [const { AtomicU64::new(0) }; HOST_MAX / 8];
static HOST_LEN: AtomicUsize = AtomicUsize::new(0);
static HOST_READY: AtomicBool = AtomicBool::new(false);

/// The host name up to its first dot, read once per process.
///
/// The reference calls uname() for every lock; we read it at the first
/// lock and keep it, which saves a system call per lock. The name only
/// keeps the temporary names of hosts sharing a directory (over NFS)
/// apart. The trade-off: a host renamed while a program runs goes on using
/// its old name until the program restarts; the name stays unique unless
/// another host takes the old name meanwhile, and even then a clash is an
/// EEXIST from the O_EXCL create, never a double lock. A forked child is
/// on the same host, so the cache stays right across fork().
pub fn host() -> Result<Bytes<HOST_MAX>, LockError> {
    let mut host = Bytes::new();
    if HOST_READY.load(Ordering::Acquire) {
        let mut copy = [0u8; HOST_MAX];
        for (bytes, word) in copy.chunks_exact_mut(8).zip(&HOST) {
            bytes.copy_from_slice(&word.load(Ordering::Relaxed).to_ne_bytes());
        }
        let len = HOST_LEN.load(Ordering::Relaxed);
        host.push(copy.get(..len).unwrap_or_default());
        return Ok(host);
    }
    let mut buf = [0u8; HOST_MAX + 1];
    let name = sys::gethostname(&mut buf).map_err(|e| LockError::new(LCode::Error, e))?;
    host.push(short_host(name));
    // Threads that race here store the same bytes.
    let mut copy = [0u8; HOST_MAX];
    for (b, &h) in copy.iter_mut().zip(host.as_bytes()) {
        *b = h;
    }
    for (word, bytes) in HOST.iter().zip(copy.chunks_exact(8)) {
        let mut w = [0u8; 8];
        w.copy_from_slice(bytes);
        word.store(u64::from_ne_bytes(w), Ordering::Relaxed);
    }
    HOST_LEN.store(host.as_bytes().len(), Ordering::Relaxed);
    HOST_READY.store(true, Ordering::Release);
    Ok(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(lock: &str, id: i32, now: i64, host: &str) -> String {
        let mut buf = FixedCPath::empty();
        let lock = std::ffi::CString::new(lock).unwrap();
        let c = tmp_name(&mut buf, &lock, id, now, host.as_bytes()).unwrap();
        String::from_utf8(c.to_bytes().to_vec()).unwrap()
    }

    fn err(lock: &[u8]) -> LockError {
        let lock = std::ffi::CString::new(lock).unwrap();
        tmp_name(&mut FixedCPath::empty(), &lock, 1, 1, b"h").unwrap_err()
    }

    #[test]
    fn reference_format() {
        assert_eq!(
            name("/var/mail/joe.lock", 42, 0x1234, "mx.example.org"),
            "/var/mail/.lk000424mx"
        );
        assert_eq!(name("joe.lock", 123456, 15, "box"), ".lk123456fbox");
        assert_eq!(name("a/b/", 7, 16, ""), "a/b/.lk000070");
    }

    #[test]
    fn basename_is_cut_to_31_bytes() {
        let n = name("d/x.lock", 1, 1, "averyveryveryveryverylonghostname.domain");
        let base = n.strip_prefix("d/").unwrap();
        assert_eq!(base.len(), 31);
        assert_eq!(base, ".lk000011averyveryveryveryveryl");
    }

    #[test]
    fn path_limit_is_path_max_minus_32() {
        let ok = std::ffi::CString::new("a".repeat(PATH_MAX - TMP_RESERVE)).unwrap();
        assert!(tmp_name(&mut FixedCPath::empty(), &ok, 1, 0, b"h").is_ok());
        let long = "a".repeat(PATH_MAX - TMP_RESERVE + 1);
        assert_eq!(
            err(long.as_bytes()),
            LockError::new(LCode::Error, Errno::ENAMETOOLONG)
        );
        assert_eq!(
            tmp_name(&mut FixedCPath::empty(), c"a/x", 1, 1, b"h\0"),
            Err(LockError::new(LCode::TmpLock, Errno::EINVAL))
        );
    }

    #[test]
    fn negative_time_still_gives_one_hex_digit() {
        assert_eq!(name("l", 1, -1, "h"), ".lk00001fh");
        assert_eq!(name("l", -3, -7, ""), ".lk-00039");
    }

    #[test]
    fn the_pid_is_cached_and_right() {
        assert_eq!(cached_pid(), std::process::id() as i32);
        assert_eq!(fresh_pid(), std::process::id() as i32);
        assert_eq!(cached_pid(), std::process::id() as i32);
    }

    #[test]
    fn variants_are_distinct_and_bounded() {
        let names: std::collections::BTreeSet<String> = (0..VARIANTS)
            .filter_map(|n| variant(n, 77, 3))
            .map(|(id, now)| name("x", id, now, "h"))
            .chain([name("x", 42, 3, "h")])
            .collect();
        assert_eq!(names.len(), 17);
        assert_eq!(variant(VARIANTS, 77, 3), None);
    }

    #[test]
    fn host_is_read_once_and_short() {
        let a = host().unwrap();
        let b = host().unwrap();
        assert_eq!(a.as_bytes(), b.as_bytes());
        assert!(!a.as_bytes().contains(&b'.'));
    }
}
