//! The C ABI called directly from Rust, on scratch directories: return
//! codes, errno, files on disk, NULL and odd paths, concurrent callers.
// Test code: the rules against panics are for the libraries and programs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::ffi::{CString, c_int};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use lockfile_capi::lockfile::{
    lockfile_check, lockfile_create, lockfile_create2, lockfile_remove, lockfile_touch,
};
use lockfile_capi::maillock::maillock;
use lockfile_capi::{
    __L_INTERVAL, __lockargs, L_ERROR, L_MAXTRYS, L_NAMELEN, L_PID, L_SUCCESS, L_TMPLOCK,
};
use lockfile_core::Errno;

#[path = "../../core/src/testutil.rs"]
mod testutil;
mod testutil_deps {
    pub(crate) use lockfile_core::LockError;
    pub(crate) use lockfile_core::lock::{RealTime, Time};
    pub(crate) use lockfile_core::sys;
}
use testutil::Scratch;

fn path(c: &CString) -> &Path {
    Path::new(std::ffi::OsStr::from_bytes(c.as_bytes()))
}

fn ptr(p: Option<&CString>) -> *const std::ffi::c_char {
    p.map_or(std::ptr::null(), |p| p.as_ptr())
}

// Safe wrappers: each passes NULL or a live CString, and `args` is NULL or
// a live __lockargs, which is all the C functions require.

fn create(p: Option<&CString>, retries: c_int, flags: c_int) -> c_int {
    // SAFETY: NULL or a NUL-terminated string that outlives the call.
    unsafe { lockfile_create(ptr(p), retries, flags) }
}

fn create2(
    p: Option<&CString>,
    retries: c_int,
    flags: c_int,
    args: Option<&mut __lockargs>,
    size: c_int,
) -> c_int {
    let args = args.map_or(std::ptr::null_mut(), |a| a as *mut __lockargs);
    // SAFETY: as above; `args` is NULL or points to a live __lockargs.
    unsafe { lockfile_create2(ptr(p), retries, flags, args, size) }
}

fn remove(p: Option<&CString>) -> c_int {
    // SAFETY: NULL or a NUL-terminated string that outlives the call.
    unsafe { lockfile_remove(ptr(p)) }
}

fn touch(p: Option<&CString>) -> c_int {
    // SAFETY: NULL or a NUL-terminated string that outlives the call.
    unsafe { lockfile_touch(ptr(p)) }
}

fn check(p: Option<&CString>, flags: c_int) -> c_int {
    // SAFETY: NULL or a NUL-terminated string that outlives the call.
    unsafe { lockfile_check(ptr(p), flags) }
}

fn mail(p: Option<&CString>, retries: c_int) -> c_int {
    // SAFETY: NULL or a NUL-terminated string that outlives the call.
    unsafe { maillock(ptr(p), retries) }
}

const ARGS_SZ: c_int = size_of::<__lockargs>() as c_int;

/// Call `f` with errno set to a marker, and return its result and errno.
fn call(f: impl FnOnce() -> c_int) -> (c_int, Errno) {
    Errno::from_raw(12345).set();
    let r = f();
    (r, Errno::last())
}

#[test]
fn null_pointers_are_einval_not_crashes() {
    let e = (L_ERROR, Errno::EINVAL);
    assert_eq!(call(|| create(None, 0, 0)), e);
    assert_eq!(call(|| create2(None, 0, 0, None, 0)), e);
    assert_eq!(call(|| mail(None, 0)), e);
    assert_eq!(call(|| remove(None)), (-1, Errno::EINVAL));
    assert_eq!(call(|| touch(None)), (-1, Errno::EINVAL));
    assert_eq!(call(|| check(None, 0)), (-1, Errno::EINVAL));
}

#[test]
fn codes_errno_and_content() {
    let d = Scratch::new();
    let lock = d.c("a.lock");
    let l = Some(&lock);
    assert_eq!(create(l, 0, L_PID), L_SUCCESS);
    // The pid line as 1.17 writes it, then exactly this process's
    // identity (docs/protocol.md §2.3).
    let content = fs::read(path(&lock)).unwrap();
    let mut want = format!("{}\n", std::process::id()).into_bytes();
    let own = lockfile_core::lock::identity::own_now().expect("this process's identity");
    lockfile_core::lock::identity::write_line(&own, |b| want.extend_from_slice(b));
    assert_eq!(content, want);
    let mode = fs::metadata(path(&lock)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & !0o644, 0, "mode {mode:o}");
    assert_eq!(call(|| create(l, 0, 0)), (L_MAXTRYS, Errno::EAGAIN));
    assert_eq!(call(|| create(l, -1, 0)), (L_MAXTRYS, Errno::EAGAIN));
    assert_eq!(check(l, 0), 0);
    assert_eq!(check(l, L_PID), 0);
    assert_eq!(touch(l), 0);
    assert_eq!(remove(l), 0);
    assert_eq!(remove(l), 0);
    assert_eq!(check(l, 0), -1);
    assert_eq!(call(|| touch(l)), (-1, Errno::ENOENT));
    for flags in [1, 2, 8, __L_INTERVAL, 128, -1] {
        assert_eq!(call(|| create(l, 0, flags)), (L_ERROR, Errno::EINVAL));
    }
    let missing = d.c("no/such/dir.lock");
    assert_eq!(
        call(|| create(Some(&missing), 0, 0)),
        (L_TMPLOCK, Errno::ENOENT)
    );
    assert!(!path(&lock).exists());
}

#[test]
fn create2_arguments() {
    let d = Scratch::new();
    let lock = d.c("b.lock");
    let l = Some(&lock);
    let e = (L_ERROR, Errno::EINVAL);
    let mut args = __lockargs { interval: 0 };
    assert_eq!(call(|| create2(l, 0, __L_INTERVAL, None, 0)), e);
    assert_eq!(
        call(|| create2(l, 0, __L_INTERVAL, Some(&mut args), ARGS_SZ + 1)),
        e
    );
    assert_eq!(call(|| create2(l, 0, 0, Some(&mut args), 0)), e);
    assert_eq!(call(|| create2(l, 0, 256, Some(&mut args), ARGS_SZ)), e);
    assert_eq!(
        create2(l, 0, __L_INTERVAL, Some(&mut args), ARGS_SZ),
        L_SUCCESS
    );
    // Held: 3 more attempts at interval 0 return at once.
    assert_eq!(
        create2(l, 3, __L_INTERVAL, Some(&mut args), ARGS_SZ),
        L_MAXTRYS
    );
    args.interval = -1;
    assert_eq!(
        call(|| create2(l, 0, __L_INTERVAL, Some(&mut args), ARGS_SZ)),
        e
    );
    assert_eq!(remove(l), 0);
}

#[test]
fn odd_paths() {
    let d = Scratch::new();
    // Not UTF-8: bytes pass through unchanged.
    let mut raw = d.0.as_os_str().as_bytes().to_vec();
    raw.extend_from_slice(b"/\xff\xfe.lock");
    let lock = CString::new(raw).unwrap();
    assert_eq!(create(Some(&lock), 0, 0), L_SUCCESS);
    assert!(path(&lock).exists());
    assert_eq!(remove(Some(&lock)), 0);
    let long = CString::new(vec![b'x'; 4096 - 32 + 1]).unwrap();
    assert_eq!(
        call(|| create(Some(&long), 0, 0)),
        (L_ERROR, Errno::ENAMETOOLONG)
    );
    let name = CString::new(vec![b'n'; 4096]).unwrap();
    assert_eq!(
        call(|| mail(Some(&name), 0)),
        (L_NAMELEN, Errno::ENAMETOOLONG)
    );
}

#[test]
fn threads_never_hold_the_lock_together() {
    let d = Scratch::new();
    let lock = Arc::new(d.c("t.lock"));
    let holders = Arc::new(AtomicI32::new(0));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (lock, holders) = (lock.clone(), holders.clone());
            std::thread::spawn(move || {
                let mut args = __lockargs { interval: 0 };
                for _ in 0..200 {
                    let r = create2(
                        Some(&lock),
                        1_000_000,
                        __L_INTERVAL,
                        Some(&mut args),
                        ARGS_SZ,
                    );
                    assert_eq!(r, L_SUCCESS);
                    assert_eq!(holders.fetch_add(1, Ordering::SeqCst), 0, "two holders");
                    holders.fetch_sub(1, Ordering::SeqCst);
                    assert_eq!(remove(Some(&lock)), 0);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}
