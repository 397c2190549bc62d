//! maillock / mailunlock / touchlock over fuzzed user names, `$MAIL`
//! values, retries and call sequences, against a model of docs/c-policy.md §4: the
//! lock is MAILDIR/name.lock, or $MAIL.lock when the last component of
//! $MAIL is the name; too long → L_NAMELEN; a second maillock while one
//! is held does nothing; mailunlock removes exactly the lock taken;
//! touchlock names the lock held.
//!
//! Locks that would land outside the scratch folder (the real spool) are
//! checked for their path and then faked, so that fuzzing never writes
//! there; the ones inside are really created.
#![no_main]

mod common;

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use lockfile::cpath::FixedCPath;
use lockfile::lock::{self, Flags, Options, RealTime, Time};
use lockfile::{LCode, LockError, mail};

#[derive(Arbitrary, Debug)]
enum Mail {
    Unset,
    /// $MAIL inside the scratch folder, ending in these bytes.
    Inside(Vec<u8>),
    /// Any bytes at all.
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Op {
    Lock {
        name: Vec<u8>,
        retries: i8,
        mail: Mail,
        fail: bool,
    },
    Unlock,
    Touch,
}

/// Pretends to sleep.
struct NoSleep(Duration);
impl Time for NoSleep {
    fn now(&self) -> Duration {
        self.0
    }
    fn wall(&self) -> i64 {
        RealTime.wall()
    }
    fn sleep(&mut self, d: Duration, _wake: Option<i32>) -> Result<bool, LockError> {
        self.0 += d;
        Ok(false)
    }
}

fn c(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).expect("no NUL")
}

fn in_scratch(p: &Path) -> bool {
    p.starts_with(common::scratch()) && !p.as_os_str().as_bytes().windows(2).any(|w| w == b"..")
}

fn set_mail(mail: &Mail) -> Option<Vec<u8>> {
    let value = match mail {
        Mail::Unset => None,
        Mail::Inside(tail) => {
            let rel = common::inside(tail);
            Some(common::full_path(&rel))
        }
        Mail::Raw(bytes) => Some(bytes.clone()),
    };
    let value = value.filter(|v| !v.is_empty() && !v.contains(&0) && !v.contains(&b'='));
    match &value {
        // SAFETY: the fuzz target is single-threaded; nothing else reads
        // the environment while it is changed.
        Some(v) => unsafe { std::env::set_var("MAIL", OsString::from_vec(v.clone())) },
        // SAFETY: as above.
        None => unsafe { std::env::remove_var("MAIL") },
    }
    value
}

/// Forget any mail lock left by an earlier input (removing it only when
/// it is in the scratch folder).
fn clear() {
    let mut buf = FixedCPath::empty();
    if let Some(token) = mail::take(&mut buf) {
        let p = Path::new(OsStr::from_bytes(buf.as_cstr().to_bytes()));
        if in_scratch(p) {
            let _ = lock::remove(&c(p));
        }
        mail::unlocked(token);
    }
}

// The steps of policy::maillock, with a create that fakes locks outside
// the scratch folder: the path (mail::lock_path), the create, then
// mail::remember; mailunlock is mail::take + remove + mail::unlocked;
// touchlock is mail::held_path.
fuzz_target!(|ops: Vec<Op>| {
    common::fresh_scratch();
    clear();
    let mut held: Option<PathBuf> = None;
    for op in ops.iter().take(16) {
        match op {
            Op::Lock {
                name,
                retries,
                mail: m,
                fail,
            } => {
                let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
                let value = set_mail(m);
                let mut buf = FixedCPath::empty();
                let expect =
                    mail::lock_path(&mut buf, name, mail::MAILDIR.as_bytes(), value.as_deref());
                if let (Ok(path), Some(v)) = (&expect, &value) {
                    let last = v.rsplit(|&b| b == b'/').next();
                    let via_mail = last == Some(name);
                    let mut want = if via_mail {
                        v.clone()
                    } else {
                        [mail::MAILDIR.as_bytes(), name].concat()
                    };
                    want.extend_from_slice(b".lock");
                    assert_eq!(path.to_bytes(), want.as_slice());
                }
                // maillock() returns at once while a lock is held.
                assert_eq!(mail::held(), held.is_some());
                if held.is_some() {
                    continue;
                }
                let path = match expect {
                    Err(e) => {
                        assert_eq!(e.code, LCode::NameLen);
                        continue;
                    }
                    Ok(path) => PathBuf::from(OsStr::from_bytes(path.to_bytes())),
                };
                let opts = Options::from_flags(i32::from(*retries), Flags(0), None);
                let Ok(opts) = opts else {
                    continue;
                };
                let created = if *fail {
                    Err(LockError::new(LCode::MaxTrys, lockfile::Errno::EAGAIN))
                } else if in_scratch(&path) {
                    lock::create_with(&c(&path), &opts, &mut NoSleep(Duration::ZERO), &mut |_| {
                        Ok(())
                    })
                } else {
                    Ok(())
                };
                if created.is_ok() {
                    assert_eq!(mail::remember(&c(&path)), mail::Remembered::Yes);
                    held = Some(path);
                }
            }
            Op::Unlock => {
                let mut buf = FixedCPath::empty();
                let taken = mail::take(&mut buf);
                let removed = taken
                    .as_ref()
                    .map(|_| PathBuf::from(OsStr::from_bytes(buf.as_cstr().to_bytes())));
                if let Some(p) = removed.as_deref().filter(|p| in_scratch(p)) {
                    let _ = lock::remove(&c(p));
                }
                if let Some(token) = taken {
                    mail::unlocked(token);
                }
                assert_eq!(removed, held.take());
                assert!(!mail::held());
            }
            Op::Touch => {
                let mut buf = FixedCPath::empty();
                let path = mail::held_path(&mut buf)
                    .map(|p| PathBuf::from(OsStr::from_bytes(p.to_bytes())));
                assert_eq!(path, held);
                // touchlock() works on the real path: only when it is ours.
                if held.as_deref().is_none_or(in_scratch) {
                    lockfile_capi::maillock::touchlock();
                }
            }
        }
        let left = common::debris(common::scratch(), None);
        assert!(left.is_empty(), "left {left:?}");
        if let Some(p) = held.as_deref().filter(|p| in_scratch(p)) {
            assert!(
                p.symlink_metadata().is_ok(),
                "held lock {} missing",
                p.display()
            );
        }
    }
    clear();
});
