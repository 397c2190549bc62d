//! Tests of the core on real files, with an injected clock and waiter: no
//! test here sleeps.

use std::cell::{Cell, RefCell};
use std::fs;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::{Path, PathBuf};

use filetime::{FileTime, set_file_times};

use super::*;
use identity::Origin;

use crate::testutil::Scratch;

/// Records the waits instead of sleeping; runs `on_wait` at each.
#[derive(Default)]
struct Recorder {
    waits: Vec<u32>,
    attempts: Vec<(i64, i64)>,
    tmp_seen: Option<PathBuf>,
    on_wait: Option<Box<dyn FnMut(usize)>>,
}

impl Waiter for Recorder {
    fn tmp_created(&mut self, tmp: &Path) {
        self.tmp_seen = Some(tmp.to_path_buf());
    }
    fn wait(&mut self, wait: &Wait<'_>) -> Result<(), LockError> {
        self.waits.push(wait.secs);
        self.attempts.push((wait.attempt, wait.attempts));
        if let Some(f) = self.on_wait.as_mut() {
            f(self.waits.len());
        }
        Ok(())
    }
}

/// A clock that says a fixed time. Its hook runs once, at the second
/// reading: the first dates the temporary name, the second is the age of
/// a lock that a read did not re-date, i.e. inside the judgement.
struct FakeClock {
    now: i64,
    reads: Cell<u32>,
    hook: RefCell<Option<Box<dyn FnMut()>>>,
}

impl FakeClock {
    fn at(now: i64) -> FakeClock {
        FakeClock {
            now,
            reads: Cell::new(0),
            hook: RefCell::new(None),
        }
    }
}

impl Clock for FakeClock {
    fn now(&self) -> i64 {
        self.reads.set(self.reads.get() + 1);
        if self.reads.get() == 2 {
            if let Some(mut f) = self.hook.borrow_mut().take() {
                f();
            }
        }
        self.now
    }
}

fn real_now() -> i64 {
    SystemClock.now()
}

fn opts(retries: i32) -> Options {
    Options {
        retries,
        ..Options::default()
    }
}

fn held_lock(path: &Path, content: &str) {
    fs::write(path, content).unwrap();
}

/// A lock "0\n" changed `age` seconds ago and read just now: its atime is
/// after its mtime and recent, so a read does not move it (relatime) and
/// its age is measured by the injected clock. Returns "now".
fn held_lock_aged(path: &Path, age: i64) -> i64 {
    held_lock(path, "0\n");
    let now = real_now();
    let (atime, mtime) = (
        FileTime::from_unix_time(now, 0),
        FileTime::from_unix_time(now - age, 0),
    );
    set_file_times(path, atime, mtime).unwrap();
    now
}

#[test]
fn system_clock_is_the_real_time_in_seconds() {
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let now = SystemClock.now();
    let after = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!((before..=after).contains(&u64::try_from(now).unwrap()));
}

#[test]
fn creates_lock_with_reference_content() {
    let d = Scratch::new();
    let lock = d.path("a.lock");
    let mut w = Recorder::default();
    create_with(&lock, &opts(0), &SystemClock, &mut w).unwrap();
    assert_eq!(fs::read_to_string(&lock).unwrap(), "0\n");
    let tmp = w.tmp_seen.unwrap();
    assert!(
        tmp.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(".lk")
    );
    assert_eq!(tmp.parent(), lock.parent());
    assert!(w.waits.is_empty());

    let lock2 = d.path("b.lock");
    let o = Options {
        pid: PidMode::Own,
        ..opts(0)
    };
    create_with(&lock2, &o, &SystemClock, &mut Recorder::default()).unwrap();
    // The pid line as the reference writes it, then the holder's identity
    // (SPEC §2.3).
    let content = fs::read(&lock2).unwrap();
    let (pid_line, rest) = content.split_at(content.iter().position(|&b| b == b'\n').unwrap() + 1);
    assert_eq!(pid_line, format!("{}\n", std::process::id()).as_bytes());
    let own = identity::own_now().expect("this process's identity");
    assert_eq!(identity::parse(&content), identity::Recorded::Known(own));
    assert!(rest.starts_with(b"lockid/1 host=") && rest.ends_with(b"\n"));
    assert_eq!(rest.iter().filter(|&&b| b == b'\n').count(), 1);
}

#[test]
fn held_lock_waits_by_the_standard_schedule() {
    let d = Scratch::new();
    let lock = d.path("held.lock");
    held_lock(&lock, "0\n");
    let mut w = Recorder::default();
    let err = create_with(&lock, &opts(13), &SystemClock, &mut w).unwrap_err();
    assert_eq!(err, LockError::new(LCode::MaxTrys, Errno::EAGAIN));
    assert_eq!(w.waits, [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 60]);
    assert_eq!(w.attempts.first(), Some(&(2, 14)));
    assert_eq!(w.attempts.last(), Some(&(14, 14)));
    assert_eq!(fs::read_to_string(&lock).unwrap(), "0\n");
}

#[test]
fn interval_schedule_and_no_attempt_for_negative_retries() {
    let d = Scratch::new();
    let lock = d.path("held.lock");
    held_lock(&lock, "0\n");
    let o = Options {
        schedule: Schedule::Interval(2),
        ..opts(3)
    };
    let mut w = Recorder::default();
    assert_eq!(
        create_with(&lock, &o, &SystemClock, &mut w)
            .unwrap_err()
            .code,
        LCode::MaxTrys
    );
    assert_eq!(w.waits, [2, 2, 2]);

    let mut w = Recorder::default();
    let err = create_with(&d.path("free.lock"), &opts(-1), &SystemClock, &mut w).unwrap_err();
    assert_eq!(err, LockError::new(LCode::MaxTrys, Errno::EAGAIN));
    assert!(!d.path("free.lock").exists());
}

#[test]
fn lock_released_while_waiting_is_taken() {
    let d = Scratch::new();
    let lock = d.path("l.lock");
    held_lock(&lock, "0\n");
    let l2 = lock.clone();
    let mut w = Recorder {
        on_wait: Some(Box::new(move |n| {
            if n == 2 {
                fs::remove_file(&l2).unwrap();
            }
        })),
        ..Recorder::default()
    };
    create_with(&lock, &opts(5), &SystemClock, &mut w).unwrap();
    assert_eq!(w.waits, [5, 10]);
}

#[test]
fn stale_by_age_uses_the_injected_clock_when_atime_does_not_move() {
    let d = Scratch::new();
    let lock = d.path("old.lock");
    let now = held_lock_aged(&lock, 200);
    let clock = FakeClock::at(now);
    assert!(create_with(&lock, &opts(0), &clock, &mut Recorder::default()).is_err());
    let clock = FakeClock::at(now + 101);
    let mut w = Recorder::default();
    create_with(&lock, &opts(0), &clock, &mut w).unwrap();
    assert!(w.waits.is_empty(), "a stale lock is broken without waiting");
}

#[test]
fn stale_lock_with_old_atime_is_stale_at_the_first_check() {
    let d = Scratch::new();
    let lock = d.path("old.lock");
    held_lock(&lock, "0\n");
    let old = FileTime::from_unix_time(real_now() - 400, 0);
    set_file_times(&lock, old, old).unwrap();
    // A clock stuck in the past: only the file system's clock can tell.
    let clock = FakeClock::at(real_now() - 400);
    let found = inspect(&lock, false, &clock);
    assert_eq!(found.verdict, Verdict::Stale, "{found:?}");
    assert!(found.fs_clock);
}

#[test]
fn dead_pid_is_stale_live_pid_is_not() {
    let d = Scratch::new();
    let lock = d.path("pid.lock");
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    held_lock(&lock, &format!("{dead}\n"));
    let o = Options {
        pid: PidMode::Own,
        ..opts(0)
    };
    let mut w = Recorder::default();
    create_with(&lock, &o, &SystemClock, &mut w).unwrap();
    assert!(w.waits.is_empty());
    fs::remove_file(&lock).unwrap();

    // A live pid keeps even an ancient lock; without L_PID it is ignored.
    held_lock(&lock, &format!("{}\n", std::process::id()));
    let old = FileTime::from_unix_time(real_now() - 1000, 0);
    set_file_times(&lock, old, old).unwrap();
    assert_eq!(
        create_with(&lock, &o, &SystemClock, &mut Recorder::default())
            .unwrap_err()
            .code,
        LCode::MaxTrys
    );
    assert!(check(&lock, Flags(Flags::PID)));
    assert!(!check(&lock, Flags(0)));
    create_with(&lock, &opts(0), &SystemClock, &mut Recorder::default()).unwrap();
    assert_eq!(fs::read_to_string(&lock).unwrap(), "0\n");
}

/// SPEC §2.7: the lock judged stale is replaced (released and re-taken by
/// someone else) between the judgement and the removal. The new lock must
/// survive. The clock's hook runs inside the judgement, after the read.
#[test]
fn replaced_stale_lock_is_not_removed() {
    let d = Scratch::new();
    let lock = d.path("race.lock");
    let now = held_lock_aged(&lock, 1000);
    let clock = FakeClock::at(now);
    let l2 = lock.clone();
    *clock.hook.borrow_mut() = Some(Box::new(move || {
        fs::remove_file(&l2).unwrap();
        fs::write(&l2, "0\n").unwrap();
    }));
    let err = create_with(&lock, &opts(0), &clock, &mut Recorder::default()).unwrap_err();
    assert_eq!(err.code, LCode::MaxTrys);
    assert!(clock.reads.get() >= 2, "the hook ran inside the judgement");
    let survivor = fs::metadata(&lock).expect("the new lock was removed");
    assert!(real_now() - survivor.mtime() < 60);
}

#[test]
fn stale_lock_that_vanishes_before_removal_is_retried_at_once() {
    let d = Scratch::new();
    let lock = d.path("gone.lock");
    let now = held_lock_aged(&lock, 1000);
    let clock = FakeClock::at(now);
    let l2 = lock.clone();
    *clock.hook.borrow_mut() = Some(Box::new(move || fs::remove_file(&l2).unwrap()));
    let mut w = Recorder::default();
    create_with(&lock, &opts(0), &clock, &mut w).unwrap();
    assert!(w.waits.is_empty(), "a vanished lock is retried at once");
    assert_eq!(clock.reads.get(), 2, "the hook ran inside the judgement");
}

#[test]
fn dangling_symlink_lock_is_removed() {
    let d = Scratch::new();
    let lock = d.path("sym.lock");
    symlink(d.path("nowhere"), &lock).unwrap();
    create_with(&lock, &opts(0), &SystemClock, &mut Recorder::default()).unwrap();
    assert!(
        !fs::symlink_metadata(&lock)
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn old_directory_as_lock_gives_rmstale_and_leaves_no_tmp() {
    let d = Scratch::new();
    let lock = d.path("dir.lock");
    fs::create_dir(&lock).unwrap();
    let old = FileTime::from_unix_time(real_now() - 1000, 0);
    set_file_times(&lock, old, old).unwrap();
    let err = create_with(&lock, &opts(0), &SystemClock, &mut Recorder::default()).unwrap_err();
    assert_eq!(err.code, LCode::RmStale);
    assert!(
        matches!(err.errno, Some(Errno::EISDIR | Errno::EPERM)),
        "{err:?}"
    );
    assert!(lock.is_dir());
}

#[test]
fn missing_directory_is_tmplock_enoent() {
    let d = Scratch::new();
    let err = create(&d.path("no/such.lock"), &opts(0)).unwrap_err();
    assert_eq!(err, LockError::new(LCode::TmpLock, Errno::ENOENT));
}

#[test]
fn waiter_error_ends_the_attempts_and_removes_the_tmp() {
    struct Quit;
    impl Waiter for Quit {
        fn wait(&mut self, _: &Wait<'_>) -> Result<(), LockError> {
            Err(LockError::new(LCode::Error, Errno::EINTR))
        }
    }
    let d = Scratch::new();
    let lock = d.path("q.lock");
    held_lock(&lock, "0\n");
    let err = create_with(&lock, &opts(3), &SystemClock, &mut Quit).unwrap_err();
    assert_eq!(err, LockError::new(LCode::Error, Errno::EINTR));
}

#[test]
fn flags_are_validated() {
    let e = LockError::new(LCode::Error, Errno::EINVAL);
    assert_eq!(Options::from_flags(0, Flags(1), None), Err(e));
    assert_eq!(Options::from_flags(0, Flags(128), Some(1)), Err(e));
    assert_eq!(Options::from_flags(0, Flags(Flags::INTERVAL), None), Err(e));
    assert_eq!(
        Options::from_flags(0, Flags(Flags::INTERVAL), Some(-1)),
        Err(e)
    );
    let o = Options::from_flags(
        4,
        Flags(Flags::PID | Flags::PPID | Flags::INTERVAL),
        Some(0),
    )
    .unwrap();
    assert_eq!(o.pid, PidMode::Parent);
    assert_eq!(o.schedule, Schedule::Interval(0));
    assert_eq!(o.retries, 4);
}

#[test]
fn remove_and_touch() {
    let d = Scratch::new();
    let lock = d.path("t.lock");
    assert_eq!(remove(&lock), Ok(()));
    assert_eq!(touch(&lock), Err(Errno::ENOENT));
    held_lock(&lock, "0\n");
    let old = FileTime::from_unix_time(real_now() - 1000, 0);
    set_file_times(&lock, old, old).unwrap();
    touch(&lock).unwrap();
    assert!(real_now() - fs::metadata(&lock).unwrap().mtime() < 60);
    remove(&lock).unwrap();
    assert!(!lock.exists());
}

#[test]
fn guard_removes_on_drop_and_into_path_keeps() {
    let d = Scratch::new();
    let lock = d.path("g.lock");
    {
        let g = Lock::acquire(&lock, &opts(0)).unwrap();
        assert_eq!(g.path(), lock);
        assert!(lock.exists());
    }
    assert!(!lock.exists());
    let kept = Lock::acquire(&lock, &opts(0)).unwrap().into_path();
    assert!(kept.exists());
    Lock::acquire(&lock, &opts(-1)).unwrap_err();
    fs::remove_file(&kept).unwrap();
}

/// `retries + 1` overflows an int in the reference (no attempt at all);
/// here `i32::MAX` retries mean that many waits.
#[test]
fn int_max_retries_still_wait() {
    struct StopAfter(u32);
    impl Waiter for StopAfter {
        fn wait(&mut self, w: &Wait<'_>) -> Result<(), LockError> {
            assert_eq!(w.attempts, i64::from(i32::MAX) + 1);
            self.0 += 1;
            match self.0 {
                3 => Err(LockError::new(LCode::Error, Errno::EINTR)),
                _ => Ok(()),
            }
        }
    }
    let d = Scratch::new();
    let lock = d.path("max.lock");
    held_lock(&lock, "0\n");
    let o = Options {
        schedule: Schedule::Interval(0),
        ..opts(i32::MAX)
    };
    let mut w = StopAfter(0);
    let err = create_with(&lock, &o, &SystemClock, &mut w).unwrap_err();
    assert_eq!(err, LockError::new(LCode::Error, Errno::EINTR));
    assert_eq!(w.0, 3);
}

/// A lock with `pid` and the identity line `id`, changed `age` seconds
/// ago (atime now, so that the injected clock dates it).
fn identity_lock(path: &Path, pid: u32, id: &identity::Identity, age: i64) -> i64 {
    let mut content = format!("{pid}\n").into_bytes();
    identity::write_line(id, |b| content.extend_from_slice(b));
    fs::write(path, content).unwrap();
    let now = real_now();
    let mtime = FileTime::from_unix_time(now - age, 0);
    set_file_times(path, FileTime::from_unix_time(now, 0), mtime).unwrap();
    now
}

/// Our identity with one part changed.
fn other(host: Option<&[u8]>, boot: Option<&[u8]>, pidns: Option<u64>) -> identity::Identity {
    let me = identity::own_now().expect("this process's identity");
    identity::Identity {
        host: host.map_or(me.host, |h| identity::Token::new(h).unwrap()),
        boot: boot.map_or(me.boot, |b| identity::Token::new(b).unwrap()),
        pidns: pidns.unwrap_or(me.pidns),
    }
}

#[test]
fn a_pid_from_another_namespace_is_judged_by_age() {
    let d = Scratch::new();
    let lock = d.path("ns.lock");
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let me = identity::own_now().unwrap();
    // Another PID namespace of this boot: the dead pid means nothing here.
    let foreign = other(None, None, Some(me.pidns + 1));
    let now = identity_lock(&lock, dead, &foreign, 10);
    let found = inspect(&lock, true, &FakeClock::at(now));
    assert_eq!(found.verdict, Verdict::Valid, "{found:?}");
    assert_eq!((found.origin, found.alive), (Origin::Foreign, None));
    assert_eq!(found.host, me.host);
    // Our own pid, alive here, in another namespace: still only its age.
    let now = identity_lock(&lock, std::process::id(), &foreign, 301);
    let found = inspect(&lock, true, &FakeClock::at(now));
    assert_eq!(found.verdict, Verdict::Stale, "{found:?}");
    // Another host: the same.
    let far = other(Some(b"far-away"), Some(b"another-boot"), None);
    let now = identity_lock(&lock, dead, &far, 299);
    assert_eq!(
        inspect(&lock, true, &FakeClock::at(now)).verdict,
        Verdict::Valid
    );
    let o = Options {
        pid: PidMode::Own,
        ..opts(0)
    };
    let err = create_with(&lock, &o, &FakeClock::at(now), &mut Recorder::default());
    assert_eq!(err, Err(LockError::new(LCode::MaxTrys, Errno::EAGAIN)));
    let now = identity_lock(&lock, dead, &far, 300);
    let clock = FakeClock::at(now);
    create_with(&lock, &o, &clock, &mut Recorder::default()).unwrap();
}

#[test]
fn a_pid_from_our_namespace_decides_and_an_earlier_boot_is_stale() {
    let d = Scratch::new();
    let lock = d.path("boot.lock");
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let me = identity::own_now().unwrap();
    // Ours, and the pid is dead: stale at once, however young.
    let now = identity_lock(&lock, dead, &me, 0);
    let found = inspect(&lock, true, &FakeClock::at(now));
    assert_eq!(
        (found.verdict, found.origin),
        (Verdict::Stale, Origin::Local)
    );
    // Ours and alive: valid however old.
    let now = identity_lock(&lock, std::process::id(), &me, 100_000);
    let found = inspect(&lock, true, &FakeClock::at(now));
    assert_eq!((found.verdict, found.alive), (Verdict::Valid, Some(true)));
    // Without L_PID only the age counts, as before.
    assert_eq!(
        inspect(&lock, false, &FakeClock::at(now)).verdict,
        Verdict::Stale
    );
    // Our host name, another boot, changed before this boot: an earlier
    // boot's lock, stale at once, even with a pid that is alive here.
    let start = identity::boot_start().unwrap();
    let earlier = other(None, Some(b"an-earlier-boot"), None);
    let age = real_now() - start + 10;
    let now = identity_lock(&lock, std::process::id(), &earlier, age);
    let found = inspect(&lock, true, &FakeClock::at(now));
    assert_eq!(found.verdict, Verdict::Stale, "{found:?}");
    assert_eq!((found.origin, found.alive), (Origin::EarlierBoot, None));
    // The same, changed since this boot began: not ours to break early.
    let now = identity_lock(&lock, std::process::id(), &earlier, 5);
    let found = inspect(&lock, true, &FakeClock::at(now));
    assert_eq!(
        (found.verdict, found.origin),
        (Verdict::Valid, Origin::Foreign)
    );
}
