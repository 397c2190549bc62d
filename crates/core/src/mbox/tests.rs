//! Tests of the mailbox locks on real files, on a clock that only
//! pretends to sleep: no test here sleeps.

use std::cell::Cell;
use std::fs::{self, File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use filetime::{FileTime, set_file_mtime};

use super::*;

use crate::testutil::{FakeTime, Scratch, cs};

impl Scratch {
    /// The mailbox "mbox" of a scratch directory.
    fn mbox(&self) -> PathBuf {
        self.path("mbox")
    }
    fn lock(&self) -> PathBuf {
        self.path("mbox.lock")
    }
    /// Lock "mbox" (with flock or without) on the real clock, waiting
    /// only as `time` pretends to.
    fn lock_paced(
        &self,
        flock: bool,
        patience: Patience,
        time: &mut FakeTime,
    ) -> Result<MboxLock, MboxError> {
        MboxLock::lock_with(&cs(&self.mbox()), &opts(flock, patience), time)
    }
}

/// A held exclusive flock, released when dropped (with the file).
struct Flock(#[allow(dead_code)] File);

impl Flock {
    fn try_take(f: File) -> Result<Flock, Errno> {
        sys::try_flock(f.as_raw_fd()).map(|()| Flock(f))
    }
}

fn flock_is_free(mbox: &Path) -> bool {
    match Flock::try_take(File::open(mbox).unwrap()) {
        Ok(_) => true,
        Err(Errno::EWOULDBLOCK) => false,
        Err(e) => panic!("flock: {e}"),
    }
}

fn lock_of(path: PathBuf) -> MboxLock {
    MboxLock::lock(&cs(&path), &MboxOptions::default()).unwrap()
}

fn foreign_lock(path: &Path) {
    fs::write(path, "0\n").unwrap();
}

fn opts(flock: bool, patience: Patience) -> MboxOptions {
    MboxOptions {
        flock,
        patience,
        ..MboxOptions::default()
    }
}

#[test]
fn takes_flock_then_dotlock_and_releases_both() {
    let s = Scratch::new();
    let held = lock_of(s.mbox());
    // The mailbox was created, private.
    assert_eq!(fs::metadata(s.mbox()).unwrap().mode() & 0o077, 0);
    assert_eq!(fs::read_to_string(s.lock()).unwrap(), "0\n");
    assert!(!flock_is_free(&s.mbox()));
    assert_eq!(held.dotlock(), cs(&s.lock()).as_c_str());
    assert_eq!(held.state(), Held::Ours);
    assert_eq!(held.touch(), Ok(Held::Ours));
    assert_eq!(held.unlock(), Ok(Held::Ours));
    assert!(!s.lock().exists());
    assert!(flock_is_free(&s.mbox()));
}

#[test]
fn drop_releases() {
    let s = Scratch::new();
    let o = MboxOptions {
        fcntl: true,
        pid: PidMode::Own,
        ..MboxOptions::default()
    };
    {
        let _held = MboxLock::lock(&cs(&s.mbox()), &o).unwrap();
        let content = fs::read_to_string(s.lock()).unwrap();
        let pid = content.split_inclusive('\n').next().unwrap();
        assert_eq!(pid, format!("{}\n", std::process::id()));
        assert!(content[pid.len()..].starts_with("lockid/1 "), "{content:?}");
    }
    assert!(!s.lock().exists());
    assert!(flock_is_free(&s.mbox()));
}

#[test]
fn no_wait_fails_at_once_on_a_busy_dotlock_and_lets_go_of_the_flock() {
    let s = Scratch::new();
    foreign_lock(&s.lock());
    let mut pacer = FakeTime::real();
    let e = s
        .lock_paced(true, Patience::NoWait, &mut pacer)
        .unwrap_err();
    assert_eq!(e.stage, Stage::DotLock);
    assert!(e.is_busy(), "{e}");
    assert_eq!(e.error.errno, Some(Errno::EAGAIN));
    assert!(pacer.slept.is_empty());
    assert!(flock_is_free(&s.mbox()));
    assert_eq!(fs::read_to_string(s.lock()).unwrap(), "0\n");
}

#[test]
fn no_wait_fails_at_once_on_a_busy_flock_before_the_dotlock() {
    let s = Scratch::new();
    fs::write(s.mbox(), "").unwrap();
    let _other = Flock::try_take(File::open(s.mbox()).unwrap()).unwrap();
    let mut pacer = FakeTime::real();
    let e = s
        .lock_paced(true, Patience::NoWait, &mut pacer)
        .unwrap_err();
    assert_eq!((e.stage, e.is_busy()), (Stage::Flock, true));
    assert!(!s.lock().exists());
    // -L: the flock is not asked for, so the same call succeeds.
    let held = s.lock_paced(false, Patience::NoWait, &mut pacer).unwrap();
    assert!(s.lock().exists());
    drop(held);
    assert!(!s.lock().exists());
}

#[test]
fn quiet_foreign_dotlock_is_broken_after_thirty_seconds_under_flock() {
    let s = Scratch::new();
    fs::write(s.mbox(), "From x\n").unwrap();
    foreign_lock(&s.lock());
    let foreign_ino = fs::metadata(s.lock()).unwrap().ino();
    let mut pacer = FakeTime::real();
    // Bounded, so that a broken rule fails instead of waiting forever.
    let o = opts(true, Patience::Upto(Duration::from_secs(120)));
    let held = MboxLock::lock_with(&cs(&s.mbox()), &o, &mut pacer).unwrap();
    assert!(pacer.mono >= STALE_QUIET, "{:?}", pacer.mono);
    assert!(
        pacer.mono < STALE_QUIET + Duration::from_secs(2),
        "{:?}",
        pacer.mono
    );
    assert_ne!(fs::metadata(s.lock()).unwrap().ino(), foreign_ino);
    assert_eq!(held.unlock(), Ok(Held::Ours));
}

/// Two breakers of one quiet dot-lock, as two `dotlock`s whose flocks do
/// not exclude each other (two NFS clients that keep flock locally): the
/// second one comes at the first one's last moment, between its last
/// check of the name and its removal, and breaks the same stale lock the
/// same way. It must find the stale file taken and leave it; otherwise it
/// would take a new lock that the first one then removes.
#[test]
fn a_second_breaker_at_the_last_moment_leaves_the_stale_dotlock() {
    let s = Scratch::new();
    fs::write(s.mbox(), "From x\n").unwrap();
    foreign_lock(&s.lock());
    let stale = FileId::lstat(&cs(&s.lock())).unwrap();
    let report = Rc::new(Cell::new(None));
    let seen = report.clone();
    let took = s.path("second.took");
    let note = took.clone();
    lock::seam::at_next_unlink(move |path| {
        let broken = lock::break_stale(path, &stale);
        if broken == Ok(Broken::Removed) {
            // The second breaker's own lock, and a note that it has it.
            fs::write(path.to_str().unwrap(), "1\n").unwrap();
            fs::write(&note, "").unwrap();
        }
        seen.set(Some(broken));
    });
    let mut pacer = FakeTime::real();
    let o = opts(true, Patience::Upto(Duration::from_secs(120)));
    let held = MboxLock::lock_with(&cs(&s.mbox()), &o, &mut pacer).unwrap();
    assert_eq!(
        report.get(),
        Some(Ok(Broken::Busy)),
        "the second breaker was not kept out"
    );
    assert!(!took.exists(), "two breakers took the dot-lock");
    assert_eq!(held.state(), Held::Ours);
    assert_eq!(held.unlock(), Ok(Held::Ours));
}

/// While another breaker holds the stale dot-lock (the core's guard: an
/// exclusive flock on the stale file itself), the quiet rule leaves it
/// alone however long it stays quiet; the other breaker then removes it.
#[test]
fn a_dotlock_another_breaker_holds_is_left_alone() {
    let s = Scratch::new();
    fs::write(s.mbox(), "From x\n").unwrap();
    foreign_lock(&s.lock());
    let stale_ino = fs::metadata(s.lock()).unwrap().ino();
    // The other breaker's guard, taken as the core takes it.
    let other = OpenOptions::new()
        .read(true)
        .write(true)
        .open(s.lock())
        .unwrap();
    let other = Flock::try_take(other).unwrap();
    let mut pacer = FakeTime::real();
    let e = s
        .lock_paced(true, Patience::Upto(Duration::from_secs(75)), &mut pacer)
        .unwrap_err();
    assert_eq!((e.stage, e.is_busy()), (Stage::DotLock, true), "{e}");
    assert!(pacer.mono >= Duration::from_secs(75), "{:?}", pacer.mono);
    assert_eq!(fs::metadata(s.lock()).unwrap().ino(), stale_ino);
    drop(other);
    // Its turn over, the rule applies again.
    let o = opts(true, Patience::Upto(Duration::from_secs(120)));
    let held = MboxLock::lock_with(&cs(&s.mbox()), &o, &mut pacer).unwrap();
    assert_ne!(fs::metadata(s.lock()).unwrap().ino(), stale_ino);
    assert_eq!(held.unlock(), Ok(Held::Ours));
}

#[test]
fn a_changing_mailbox_keeps_the_foreign_dotlock() {
    let s = Scratch::new();
    fs::write(s.mbox(), "").unwrap();
    foreign_lock(&s.lock());
    let mbox = s.mbox();
    let mut next = Duration::ZERO;
    let mut pacer = FakeTime {
        on_sleep: Some(Box::new(move |now| {
            if now >= next {
                // The holder of the dot-lock delivers now and then.
                let mut text = fs::read_to_string(&mbox).unwrap();
                text.push_str("From x\n\n");
                fs::write(&mbox, text).unwrap();
                next = now + Duration::from_secs(5);
            }
        })),
        ..FakeTime::real()
    };
    let e = s
        .lock_paced(true, Patience::Upto(Duration::from_secs(90)), &mut pacer)
        .unwrap_err();
    assert_eq!((e.stage, e.is_busy()), (Stage::DotLock, true), "{e}");
    assert!(pacer.mono >= Duration::from_secs(90), "{:?}", pacer.mono);
    assert_eq!(fs::read_to_string(s.lock()).unwrap(), "0\n");
    assert!(flock_is_free(&s.mbox()));
}

#[test]
fn a_refreshed_foreign_dotlock_is_kept() {
    let s = Scratch::new();
    fs::write(s.mbox(), "").unwrap();
    foreign_lock(&s.lock());
    let lock = s.lock();
    let mut next = Duration::ZERO;
    let start = FileTime::now().unix_seconds();
    let mut pacer = FakeTime {
        on_sleep: Some(Box::new(move |now| {
            if now >= next {
                let t = FileTime::from_unix_time(start + now.as_secs() as i64, 0);
                set_file_mtime(&lock, t).unwrap();
                next = now + Duration::from_secs(15);
            }
        })),
        ..FakeTime::real()
    };
    let e = s
        .lock_paced(true, Patience::Upto(Duration::from_secs(70)), &mut pacer)
        .unwrap_err();
    assert!(e.is_busy(), "{e}");
    assert!(s.lock().exists());
}

#[test]
fn without_flock_the_quiet_rule_does_not_apply() {
    let s = Scratch::new();
    fs::write(s.mbox(), "").unwrap();
    foreign_lock(&s.lock());
    let mut pacer = FakeTime::real();
    let e = s
        .lock_paced(false, Patience::Upto(Duration::from_secs(90)), &mut pacer)
        .unwrap_err();
    assert_eq!((e.stage, e.is_busy()), (Stage::DotLock, true), "{e}");
    assert_eq!(fs::read_to_string(s.lock()).unwrap(), "0\n");
}

#[test]
fn the_flock_is_let_go_while_the_dotlock_stays_busy() {
    let s = Scratch::new();
    fs::write(s.mbox(), "").unwrap();
    foreign_lock(&s.lock());
    let mbox = s.mbox();
    let free_at = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let seen = free_at.clone();
    let mut pacer = FakeTime {
        on_sleep: Some(Box::new(move |now| {
            if flock_is_free(&mbox) {
                seen.borrow_mut().push(now);
            }
        })),
        ..FakeTime::real()
    };
    let e = s
        .lock_paced(true, Patience::Upto(Duration::from_secs(25)), &mut pacer)
        .unwrap_err();
    assert!(e.is_busy(), "{e}");
    let free_at = free_at.borrow();
    // Let go after each FLOCK_HOLD: about 10 s and 20 s.
    assert_eq!(free_at.len(), 2, "{free_at:?}");
    for (i, t) in free_at.iter().enumerate() {
        let hold = FLOCK_HOLD.as_secs_f64() * (i + 1) as f64;
        assert!((t.as_secs_f64() - hold).abs() < 1.0, "{free_at:?}");
    }
}

#[test]
fn removed_and_replaced_dotlocks_are_reported_and_a_replacement_is_kept() {
    let s = Scratch::new();
    let held = lock_of(s.mbox());
    fs::remove_file(s.lock()).unwrap();
    assert_eq!(held.state(), Held::Removed);
    assert_eq!(held.touch(), Ok(Held::Removed));
    assert!(!s.lock().exists(), "touch must not create the lock");
    foreign_lock(&s.lock());
    assert_eq!(held.state(), Held::Replaced);
    assert_eq!(held.unlock(), Ok(Held::Replaced));
    assert!(s.lock().exists(), "someone else's lock was removed");
}

#[test]
fn an_unopenable_mailbox_fails_at_open() {
    let s = Scratch::new();
    let e = MboxLock::lock(&cs(&s.0.join("no/such/mbox")), &MboxOptions::default()).unwrap_err();
    assert_eq!(e.stage, Stage::Open);
    assert_eq!(e.error, LockError::new(LCode::Error, Errno::ENOENT));
}
