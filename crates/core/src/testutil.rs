//! The scratch directory and the pretend clock of the Rust tests: the
//! unit tests of the core use it as `crate::testutil`, the integration
//! tests of the other crates include this file as a module of their own.
#![forbid(unsafe_code)]
// Each test crate that includes this file uses only some of it.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::ffi::CString;
use std::time::Duration;

// What it needs from the core, which a test crate that includes this
// file names `crate::testutil_deps` too.
use crate::testutil_deps::{LockError, RealTime, Time, sys};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A path as a C string, for the core's calls.
pub(crate) fn cs(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap()
}

/// The pid of a child that has exited and been reaped: no process has
/// it (until the kernel hands it out again, which takes a full cycle of
/// pids).
pub(crate) fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// A [`Time`] that only pretends to sleep: its monotonic clock moves on
/// by each sleep, which it records. Its wall clock says `wall` (the real
/// one if `None`); `hook` runs once, at the second reading of the wall
/// clock: the first dates the temporary name, the second is the age of a
/// lock that a read did not re-date, i.e. inside the judgement. `on_sleep`
/// runs after each sleep with the new time. A sleep moves the clock by at
/// most `step` (if set); one with a descriptor then says whether it is
/// readable.
#[derive(Default)]
pub(crate) struct FakeTime {
    pub(crate) mono: Duration,
    pub(crate) step: Option<Duration>,
    pub(crate) wall: Option<i64>,
    pub(crate) slept: Vec<Duration>,
    pub(crate) reads: Cell<u32>,
    pub(crate) hook: RefCell<Option<Box<dyn FnMut()>>>,
    pub(crate) on_sleep: Option<Box<dyn FnMut(Duration)>>,
}

impl FakeTime {
    /// Pretend sleeps on the real wall clock.
    pub(crate) fn real() -> FakeTime {
        FakeTime::default()
    }
    /// Pretend sleeps, and a wall clock stuck at `now`.
    pub(crate) fn at(now: i64) -> FakeTime {
        FakeTime {
            wall: Some(now),
            ..FakeTime::default()
        }
    }
}

impl Time for FakeTime {
    fn now(&self) -> Duration {
        self.mono
    }
    fn wall(&self) -> i64 {
        self.reads.set(self.reads.get() + 1);
        if self.reads.get() == 2
            && let Some(mut f) = self.hook.borrow_mut().take()
        {
            f();
        }
        self.wall.unwrap_or_else(|| RealTime.wall())
    }
    fn sleep(&mut self, d: Duration, wake: Option<i32>) -> Result<bool, LockError> {
        let d = self.step.map_or(d, |s| s.min(d));
        self.mono += d;
        self.slept.push(d);
        if let Some(f) = self.on_sleep.as_mut() {
            f(self.mono);
        }
        let Some(fd) = wake else {
            return Ok(false);
        };
        Ok(sys::poll_in(fd, Duration::ZERO).unwrap_or(false))
    }
}

static DIRS: AtomicUsize = AtomicUsize::new(0);

/// A fresh scratch directory, removed on drop after checking that no
/// temporary file was left in it.
pub(crate) struct Scratch(pub(crate) PathBuf);

impl Scratch {
    pub(crate) fn new() -> Scratch {
        let n = DIRS.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("lockfile-unit-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).unwrap();
        Scratch(dir)
    }
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    /// The path of `name` in the directory, for a C call.
    pub(crate) fn c(&self, name: &str) -> CString {
        CString::new(self.path(name).as_os_str().as_bytes()).unwrap()
    }
    /// Fail if a temporary lock file is left in the directory now.
    pub(crate) fn no_tmp(&self) {
        let left = self.leftovers();
        assert!(left.is_empty(), "temporary files left: {left:?}");
    }
    fn leftovers(&self) -> Vec<String> {
        // A test may have removed the directory itself.
        let Ok(entries) = fs::read_dir(&self.0) else {
            return Vec::new();
        };
        entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".lk"))
            .collect()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let left = self.leftovers();
        let _ = fs::remove_dir_all(&self.0);
        if !std::thread::panicking() {
            assert!(left.is_empty(), "temporary files left: {left:?}");
        }
    }
}
