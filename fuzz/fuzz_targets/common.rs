//! What the fuzz targets share: a private scratch folder, safe relative
//! paths inside it, and the check that no temporary file is left behind.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// This process's scratch folder, emptied before each input.
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = std::env::var_os("LOCKFILE_FUZZ_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        // libFuzzer ends with _exit(): remove the folders of runs gone.
        if let Ok(entries) = fs::read_dir(&base) {
            for e in entries.flatten() {
                let name = e.file_name();
                let pid = name.to_str().and_then(|n| n.strip_prefix("lockfile-fuzz-"));
                if pid.is_some_and(|p| !Path::new("/proc").join(p).exists()) {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
        let dir = base.join(format!("lockfile-fuzz-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("scratch folder");
        dir
    })
}

/// Empty the scratch folder (a test may have left a read-only file or
/// folder in it) and return it.
pub fn fresh_scratch() -> &'static Path {
    let dir = scratch();
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).expect("scratch folder");
    dir
}

/// Fuzzed path bytes made into a path relative to the scratch folder that
/// cannot leave it: no leading '/', and ".." components renamed. Any other
/// byte (NUL, '.', very long components) is kept.
pub fn inside(bytes: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    for comp in bytes.split(|&b| b == b'/') {
        if comp.is_empty() {
            continue;
        }
        let comp: &[u8] = if comp == b".." { b"dotdot" } else { comp };
        if !out.is_empty() {
            out.push(b'/');
        }
        out.extend_from_slice(comp);
    }
    // A trailing slash names the folder itself ("d/"): keep that case.
    if bytes.last() == Some(&b'/') && !out.is_empty() {
        out.push(b'/');
    }
    out
}

/// The scratch folder joined with a relative path, as bytes.
pub fn full_path(rel: &[u8]) -> Vec<u8> {
    let mut p = scratch().as_os_str().as_bytes().to_vec();
    p.push(b'/');
    p.extend_from_slice(rel);
    p
}

pub fn as_path(bytes: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(bytes))
}

/// Every file under `dir` whose name starts with ".lk" (a temporary lock
/// file or the probe of one), except `allowed`.
pub fn debris(dir: &Path, allowed: Option<&Path>) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return found;
    };
    for e in entries.flatten() {
        let path = e.path();
        let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if e.file_name().as_bytes().starts_with(b".lk") && Some(path.as_path()) != allowed {
            found.push(path.clone());
        }
        if is_dir {
            found.extend(debris(&path, allowed));
        }
    }
    found
}

/// The C `atoi` of the first `n` bytes, read as the C library reads them
/// (up to the first NUL): the oracle for the pid parser.
pub fn c_atoi(bytes: &[u8]) -> i32 {
    let mut buf: Vec<u8> = bytes.to_vec();
    buf.push(0);
    // SAFETY: buf is NUL-terminated and outlives the call.
    unsafe { libc::atoi(buf.as_ptr().cast()) }
}
