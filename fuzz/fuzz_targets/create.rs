//! lockfile_create / lockfile_create2 and the core's create_with over
//! fuzzed inputs: the lock's path bytes, flags, retries, interval, the
//! size of the argument struct, what is already at the lock's name (a
//! file with fuzzed content and age, a folder, a symlink, a FIFO), and
//! the clock.
//!
//! Whatever the input: nothing panics or hangs; no temporary file is left;
//! a success leaves a regular file with the right content; a lock that is
//! valid (fresh, or naming a live pid with L_PID/L_PPID) is never removed
//! nor replaced; a stale or missing lock is taken when the call is valid.
#![no_main]

mod common;

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::Path;
use std::time::{Duration, SystemTime};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use lockfile::lock::{self, Flags, Options, RealTime, Step, Time};
use lockfile::{Errno, LCode, LockError};
use lockfile_capi::{__L_INTERVAL, __lockargs, L_PID, L_PPID};

#[derive(Arbitrary, Debug)]
enum Existing {
    File {
        content: Vec<u8>,
        /// Write our own pid (a live one) instead of `content`.
        own_pid: bool,
        /// Seconds before now of the mtime.
        age: u16,
    },
    Dir,
    Symlink(Vec<u8>),
    Fifo,
}

#[derive(Arbitrary, Debug)]
struct Input {
    path: Vec<u8>,
    make_parents: bool,
    /// L_PID, L_PPID, __L_INTERVAL from bits 4..6.
    flag_bits: u8,
    junk_flags: Option<i32>,
    retries: i8,
    interval: Option<i32>,
    args_sz_delta: i8,
    existing: Option<Existing>,
    /// A fixed clock for the core instead of the real one.
    clock: Option<i64>,
    ffi: bool,
}

/// Pretends to sleep (its monotonic clock moves on by each sleep); its
/// wall clock is fixed, or the real one.
struct FakeTime {
    mono: Duration,
    wall: Option<i64>,
}
impl Time for FakeTime {
    fn now(&self) -> Duration {
        self.mono
    }
    fn wall(&self) -> i64 {
        self.wall.unwrap_or_else(|| RealTime.wall())
    }
    fn sleep(&mut self, d: Duration, _wake: Option<i32>) -> Result<bool, LockError> {
        self.mono += d;
        Ok(false)
    }
}

fn plant(lock: &Path, existing: &Existing) -> Option<fs::Metadata> {
    match existing {
        Existing::File {
            content,
            own_pid,
            age,
        } => {
            let content = if *own_pid {
                format!("{}\n", std::process::id()).into_bytes()
            } else {
                content.clone()
            };
            fs::write(lock, content).ok()?;
            let mtime = SystemTime::now() - Duration::from_secs(u64::from(*age));
            let f = fs::File::options().write(true).open(lock).ok()?;
            f.set_modified(mtime).ok()?;
        }
        Existing::Dir => fs::create_dir(lock).ok()?,
        Existing::Symlink(target) => {
            // Relative and inside the scratch folder, like the lock.
            let target = common::inside(target);
            symlink(common::as_path(&target), lock).ok()?;
        }
        Existing::Fifo => nix_mkfifo(lock)?,
    }
    fs::symlink_metadata(lock).ok()
}

fn nix_mkfifo(path: &Path) -> Option<()> {
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: c is a valid C string for the call.
    (unsafe { libc::mkfifo(c.as_ptr(), 0o644) } == 0).then_some(())
}

fn ffi_create(lock: &[u8], retries: i32, flags: i32, interval: Option<i32>, sz: i32) -> (i32, i32) {
    let c = CString::new(lock).expect("no NUL");
    let mut args = __lockargs {
        interval: interval.unwrap_or(0),
    };
    Errno::from_raw(0).set();
    let rc = match interval {
        // SAFETY: a valid C string; args points to a live struct of the
        // size given unless the fuzzed size differs, which is refused
        // before anything is read.
        Some(_) => unsafe {
            lockfile_capi::lockfile::lockfile_create2(c.as_ptr(), retries, flags, &mut args, sz)
        },
        // SAFETY: a valid C string.
        None if flags & __L_INTERVAL == 0 => unsafe {
            lockfile_capi::lockfile::lockfile_create(c.as_ptr(), retries, flags)
        },
        // SAFETY: a valid C string; NULL args.
        None => unsafe {
            lockfile_capi::lockfile::lockfile_create2(
                c.as_ptr(),
                retries,
                flags,
                std::ptr::null_mut(),
                sz,
            )
        },
    };
    (rc, Errno::last().raw())
}

fuzz_target!(|input: Input| {
    let dir = common::fresh_scratch();
    let mut rel = common::inside(&input.path);
    rel.truncate(5000);
    let mut lock_bytes = common::full_path(&rel);
    if input.ffi {
        // A C caller's string ends at the first NUL.
        lock_bytes.truncate(
            lock_bytes
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(lock_bytes.len()),
        );
        rel.truncate(rel.iter().position(|&b| b == 0).unwrap_or(rel.len()));
    }
    let lock = common::as_path(&lock_bytes).to_path_buf();
    let has_nul = lock_bytes.contains(&0);
    if let Some(parent) = lock.parent().filter(|_| input.make_parents && !has_nul) {
        let _ = fs::create_dir_all(parent);
    }
    let before = match (&input.existing, has_nul) {
        (Some(e), false) => plant(&lock, e),
        _ => None,
    };

    let mut flags = i32::from(input.flag_bits) & (L_PID | L_PPID | __L_INTERVAL);
    if let Some(junk) = input.junk_flags {
        flags |= junk;
    }
    let valid_flags = flags & !(L_PID | L_PPID | __L_INTERVAL) == 0
        && (flags & __L_INTERVAL == 0 || input.interval.is_some_and(|i| i >= 0));
    let uses_pid = flags & (L_PID | L_PPID) != 0;
    let mut retries = i32::from(input.retries);

    let (code, errno) = if input.ffi {
        // Never sleep: more than one attempt only with interval 0.
        let spins = flags & __L_INTERVAL != 0 && input.interval == Some(0);
        if !spins {
            retries = retries.min(0);
        }
        let size = size_of::<__lockargs>() as i32;
        let sz = if input.args_sz_delta % 8 == 0 {
            size
        } else {
            size + i32::from(input.args_sz_delta)
        };
        let (rc, errno) = ffi_create(&lock_bytes, retries, flags, input.interval, sz);
        if input.interval.is_some() && sz != size {
            assert_eq!((rc, errno), (5, libc::EINVAL), "bad args_sz accepted");
            return;
        }
        (rc, errno)
    } else {
        let opts = Options::from_flags(retries, Flags(flags), input.interval);
        assert_eq!(
            opts.is_ok(),
            valid_flags,
            "flags {flags:#x} {:?}",
            input.interval
        );
        let Ok(opts) = opts else { return };
        let mut time = FakeTime {
            mono: Duration::ZERO,
            wall: input.clock,
        };
        let mut waits: i64 = 0;
        let result = match CString::new(lock_bytes.clone()) {
            // A path with a NUL cannot be a C string: refused as such.
            Err(_) => Err(LockError::new(LCode::Error, Errno::EINVAL)),
            Ok(c) => lock::create_with(&c, &opts, &mut time, &mut |step| {
                if let Step::Wait {
                    attempt,
                    attempts,
                    wait,
                    ..
                } = step
                {
                    waits += 1;
                    assert!(wait.as_secs() <= 60, "wait of {wait:?}");
                    assert!(attempts.is_none_or(|n| attempt <= n), "{step:?}");
                }
                Ok(())
            }),
        };
        let allowed = i64::from(retries).max(0);
        assert!(waits <= allowed, "{waits} waits for {retries} retries");
        match result {
            Ok(()) => (0, 0),
            Err(e) => (e.code.as_c(), e.errno.map_or(0, Errno::raw)),
        }
    };

    // Nothing of ours is left behind, whatever happened.
    let left = common::debris(dir, Some(&lock));
    assert!(
        left.is_empty(),
        "left {left:?} (code {code}, errno {errno})"
    );
    if !valid_flags {
        assert_eq!(
            (code, errno),
            (LCode::Error.as_c(), libc::EINVAL),
            "bad flags {flags:#x}"
        );
        return;
    }
    let after = fs::symlink_metadata(&lock).ok();
    if code == 0 {
        let meta = after.clone().expect("success without a lock");
        assert!(meta.is_file(), "success, but the lock is {meta:?}");
        let content = fs::read(&lock).expect("read lock");
        let pid = if flags & L_PPID != 0 {
            nix_ppid()
        } else if flags & L_PID != 0 {
            std::process::id() as i32
        } else {
            0
        };
        // With a pid, the holder's identity follows the pid line
        // (docs/holder-identity.md): one more line, "lockid/1 host=...".
        let pid_line = format!("{pid}\n").into_bytes();
        let rest = content
            .strip_prefix(pid_line.as_slice())
            .unwrap_or_else(|| panic!("lock content {content:?}, want {pid_line:?} first"));
        if pid == 0 {
            assert!(rest.is_empty(), "no pid flag, but more: {content:?}");
        } else if !rest.is_empty() {
            assert!(
                rest.starts_with(b"lockid/1 host=")
                    && rest.ends_with(b"\n")
                    && rest.iter().filter(|&&b| b == b'\n').count() == 1,
                "not an identity line after the pid: {content:?}"
            );
        }
    }

    // What was there before and whether it had to stay.
    let Some(Existing::File {
        content,
        own_pid,
        age,
    }) = &input.existing
    else {
        if before.is_none()
            && input.make_parents
            && !has_nul
            && retries >= 0
            && rel_ok(&rel)
            && input.clock.is_none()
        {
            assert_eq!(
                code,
                0,
                "free lock not taken: errno {errno} {}",
                lock.display()
            );
        }
        return;
    };
    let Some(before) = before else { return };
    let live_pid = uses_pid && *own_pid;
    let pid_decides = uses_pid
        && (*own_pid
            || lockfile::lock::parse_pid(content.get(..15.min(content.len())).unwrap_or_default())
                > 0);
    let fresh = !pid_decides && *age < 290 && input.clock.is_none();
    if live_pid || fresh {
        let after = after.expect("a valid lock was removed");
        assert_eq!(
            (after.dev(), after.ino()),
            (before.dev(), before.ino()),
            "a valid lock was replaced"
        );
        assert_ne!(code, 0, "took a valid lock");
    } else if !pid_decides && *age > 310 && input.clock.is_none() && retries >= 0 {
        assert_eq!(code, 0, "stale lock not taken: errno {errno}");
    }
});

fn nix_ppid() -> i32 {
    // SAFETY: getppid() cannot fail.
    unsafe { libc::getppid() }
}

/// Whether every component fits NAME_MAX and the whole fits PATH_MAX, so
/// that a free lock must be taken.
fn rel_ok(rel: &[u8]) -> bool {
    common::full_path(rel).len() + 32 <= 4096
        && rel
            .split(|&b| b == b'/')
            .all(|c| c.len() <= 200 && c != b"." && c != b"")
}
