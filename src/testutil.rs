//! The scratch directory of the Rust tests: the unit tests of the library
//! use it as `crate::testutil`, the integration tests in `tests/` include
//! this file as a module of their own.
#![forbid(unsafe_code)]
// Each test crate that includes this file uses only some of it.
#![allow(dead_code)]

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

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
