//! lockfile_check and the core's inspect over fuzzed lock contents, flags
//! and times. The pid parser must read the content exactly as C's atoi()
//! reads the first 15 bytes; the verdict must follow docs/protocol.md §3: a live
//! positive pid (with L_PID/L_PPID) is valid, a dead one stale, otherwise
//! valid for 300 s after the mtime. lockfile_touch and lockfile_remove
//! then work on the same file.
#![no_main]

mod common;

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, SystemTime};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use lockfile::lock::{self, CONTENT_MAX, RealTime, Verdict};

#[derive(Arbitrary, Debug)]
struct Input {
    content: Vec<u8>,
    flags: i32,
    /// Seconds before now of the mtime and the atime.
    age: u16,
    atime_age: u32,
    /// Replace the content's start with a pid of this process.
    own_pid: bool,
}

fn kill0(pid: i32) -> Option<bool> {
    // SAFETY: signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    let err = std::io::Error::last_os_error().raw_os_error();
    match (rc, err) {
        (0, _) | (_, Some(libc::EPERM)) => Some(true),
        (_, Some(libc::ESRCH)) => Some(false),
        _ => None,
    }
}

fuzz_target!(|input: Input| {
    let dir = common::fresh_scratch();
    let path = dir.join("box.lock");
    let mut content = input.content.clone();
    if input.own_pid {
        let mut pid = format!("{}", std::process::id()).into_bytes();
        pid.extend_from_slice(&content);
        content = pid;
    }
    fs::write(&path, &content).expect("write");
    let now = SystemTime::now();
    let f = fs::File::options().write(true).open(&path).expect("open");
    let times = fs::FileTimes::new()
        .set_modified(now - Duration::from_secs(u64::from(input.age)))
        .set_accessed(now - Duration::from_secs(u64::from(input.atime_age)));
    f.set_times(times).expect("times");
    drop(f);

    let head = &content[..content.len().min(CONTENT_MAX)];
    let pid = lock::parse_pid(head);
    assert_eq!(pid, common::c_atoi(head), "parse_pid({head:?})");

    let use_pid = input.flags & (16 | 32) != 0;
    let c = CString::new(path.as_os_str().as_bytes()).expect("path");
    let found = lock::inspect(&c, use_pid, &RealTime);
    let alive = if use_pid && pid > 0 { kill0(pid) } else { None };
    // A holder identity after the pid (docs/holder-identity.md) decides
    // whether the pid counts at all: no simple oracle there.
    let identity = content
        .split(|&b| b == b'\n')
        .nth(1)
        .is_some_and(|line| line.starts_with(b"lockid/"));
    let expect = match alive {
        _ if use_pid && pid > 0 && identity => None,
        Some(true) => Some(Verdict::Valid),
        Some(false) => Some(Verdict::Stale),
        None if input.age < 295 => Some(Verdict::Valid),
        None if input.age > 305 => Some(Verdict::Stale),
        None => None,
    };
    if let Some(expect) = expect {
        assert_eq!(found.verdict, expect, "{found:?}");
    }
    assert_eq!(found.pid, (use_pid && pid > 0).then_some(pid));

    // SAFETY: a valid C string.
    let rc = unsafe { lockfile_capi::lockfile::lockfile_check(c.as_ptr(), input.flags) };
    if let Some(expect) = expect {
        assert_eq!(rc == 0, expect == Verdict::Valid, "lockfile_check {rc}");
    }
    // Checking never changes or removes the lock.
    assert_eq!(fs::read(&path).expect("lock gone after check"), content);

    // SAFETY: a valid C string.
    assert_eq!(
        unsafe { lockfile_capi::lockfile::lockfile_touch(c.as_ptr()) },
        0
    );
    assert!(lock::check(&c, lock::Flags(0)), "touched lock not valid");
    // SAFETY: a valid C string.
    assert_eq!(
        unsafe { lockfile_capi::lockfile::lockfile_remove(c.as_ptr()) },
        0
    );
    assert!(!path.exists());
    // SAFETY: a valid C string.
    assert_eq!(
        unsafe { lockfile_capi::lockfile::lockfile_remove(c.as_ptr()) },
        0
    );
});
