//! Tests of the core on real files, on a clock that only pretends to
//! sleep: no test here sleeps.

use std::fs;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::{Path, PathBuf};

use filetime::{FileTime, set_file_times};

use super::*;
use identity::Origin;

use crate::testutil::{FakeTime, Scratch, cs, dead_pid};

/// Records what `create_with` tells; runs `on_wait` at each wait, and
/// fails the wait numbered `fail_at` (1-based) with EINTR.
#[derive(Default)]
struct Recorder {
    waits: Vec<u64>,
    attempts: Vec<(i64, Option<i64>)>,
    tmp_seen: Option<PathBuf>,
    on_wait: Option<Box<dyn FnMut(usize)>>,
    fail_at: Option<usize>,
}

impl Recorder {
    fn step(&mut self, step: Step<'_>) -> Result<(), LockError> {
        match step {
            Step::Tmp(Some(tmp)) => {
                self.tmp_seen = Some(PathBuf::from(tmp.to_str().unwrap()));
            }
            Step::Tmp(None) => {}
            Step::Wait {
                attempt,
                attempts,
                wait,
                ..
            } => {
                self.waits.push(wait.as_secs());
                self.attempts.push((attempt, attempts));
                if let Some(f) = self.on_wait.as_mut() {
                    f(self.waits.len());
                }
                if self.fail_at == Some(self.waits.len()) {
                    return Err(LockError::new(LCode::Error, Errno::EINTR));
                }
            }
        }
        Ok(())
    }
}

/// `create_with` on `lock` with `time`, told to `rec`.
fn run(lock: &Path, o: &Options, time: &mut FakeTime, rec: &mut Recorder) -> Result<(), LockError> {
    create_with(&cs(lock), o, time, &mut |step| rec.step(step))
}

fn real_now() -> i64 {
    RealTime.wall()
}

fn opts(retries: i32) -> Options {
    Options::retries(retries)
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
    let now = RealTime.wall();
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
    run(&lock, &opts(0), &mut FakeTime::real(), &mut w).unwrap();
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
    run(&lock2, &o, &mut FakeTime::real(), &mut Recorder::default()).unwrap();
    // The pid line as the reference writes it, then the holder's identity
    // (docs/protocol.md §2.3).
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
    let err = run(&lock, &opts(13), &mut FakeTime::real(), &mut w).unwrap_err();
    assert_eq!(err, LockError::new(LCode::MaxTrys, Errno::EAGAIN));
    assert_eq!(w.waits, [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 60]);
    assert_eq!(w.attempts.first(), Some(&(2, Some(14))));
    assert_eq!(w.attempts.last(), Some(&(14, Some(14))));
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
        run(&lock, &o, &mut FakeTime::real(), &mut w)
            .unwrap_err()
            .code,
        LCode::MaxTrys
    );
    assert_eq!(w.waits, [2, 2, 2]);

    let mut w = Recorder::default();
    let err = run(
        &d.path("free.lock"),
        &opts(-1),
        &mut FakeTime::real(),
        &mut w,
    )
    .unwrap_err();
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
    run(&lock, &opts(5), &mut FakeTime::real(), &mut w).unwrap();
    assert_eq!(w.waits, [5, 10]);
}

#[test]
fn stale_by_age_uses_the_injected_clock_when_atime_does_not_move() {
    let d = Scratch::new();
    let lock = d.path("old.lock");
    let now = held_lock_aged(&lock, 200);
    let mut clock = FakeTime::at(now);
    assert!(run(&lock, &opts(0), &mut clock, &mut Recorder::default()).is_err());
    let mut clock = FakeTime::at(now + 101);
    let mut w = Recorder::default();
    run(&lock, &opts(0), &mut clock, &mut w).unwrap();
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
    let clock = FakeTime::at(real_now() - 400);
    let found = inspect(&cs(&lock), false, &clock);
    assert_eq!(found.verdict, Verdict::Stale, "{found:?}");
    assert!(found.fs_clock);
}

#[test]
fn dead_pid_is_stale_live_pid_is_not() {
    let d = Scratch::new();
    let lock = d.path("pid.lock");
    let dead = dead_pid();
    held_lock(&lock, &format!("{dead}\n"));
    let o = Options {
        pid: PidMode::Own,
        ..opts(0)
    };
    let mut w = Recorder::default();
    run(&lock, &o, &mut FakeTime::real(), &mut w).unwrap();
    assert!(w.waits.is_empty());
    fs::remove_file(&lock).unwrap();

    // A live pid keeps even an ancient lock; without L_PID it is ignored.
    held_lock(&lock, &format!("{}\n", std::process::id()));
    let old = FileTime::from_unix_time(real_now() - 1000, 0);
    set_file_times(&lock, old, old).unwrap();
    assert_eq!(
        run(&lock, &o, &mut FakeTime::real(), &mut Recorder::default())
            .unwrap_err()
            .code,
        LCode::MaxTrys
    );
    assert!(check(&cs(&lock), Flags(Flags::PID)));
    assert!(!check(&cs(&lock), Flags(0)));
    run(
        &lock,
        &opts(0),
        &mut FakeTime::real(),
        &mut Recorder::default(),
    )
    .unwrap();
    assert_eq!(fs::read_to_string(&lock).unwrap(), "0\n");
}

/// docs/protocol.md §2.7: the lock judged stale is replaced (released and re-taken by
/// someone else) between the judgement and the removal. The new lock must
/// survive. The clock's hook runs inside the judgement, after the read.
#[test]
fn replaced_stale_lock_is_not_removed() {
    let d = Scratch::new();
    let lock = d.path("race.lock");
    let now = held_lock_aged(&lock, 1000);
    let mut clock = FakeTime::at(now);
    let l2 = lock.clone();
    *clock.hook.borrow_mut() = Some(Box::new(move || {
        fs::remove_file(&l2).unwrap();
        fs::write(&l2, "0\n").unwrap();
    }));
    let err = run(&lock, &opts(0), &mut clock, &mut Recorder::default()).unwrap_err();
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
    let mut clock = FakeTime::at(now);
    let l2 = lock.clone();
    *clock.hook.borrow_mut() = Some(Box::new(move || fs::remove_file(&l2).unwrap()));
    let mut w = Recorder::default();
    run(&lock, &opts(0), &mut clock, &mut w).unwrap();
    assert!(w.waits.is_empty(), "a vanished lock is retried at once");
    assert_eq!(clock.reads.get(), 2, "the hook ran inside the judgement");
}

#[test]
fn dangling_symlink_lock_is_removed() {
    let d = Scratch::new();
    let lock = d.path("sym.lock");
    symlink(d.path("nowhere"), &lock).unwrap();
    run(
        &lock,
        &opts(0),
        &mut FakeTime::real(),
        &mut Recorder::default(),
    )
    .unwrap();
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
    let err = run(
        &lock,
        &opts(0),
        &mut FakeTime::real(),
        &mut Recorder::default(),
    )
    .unwrap_err();
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
    let err = create(&d.c("no/such.lock"), &opts(0)).unwrap_err();
    assert_eq!(err, LockError::new(LCode::TmpLock, Errno::ENOENT));
}

#[test]
fn waiter_error_ends_the_attempts_and_removes_the_tmp() {
    let d = Scratch::new();
    let lock = d.path("q.lock");
    held_lock(&lock, "0\n");
    let mut w = Recorder {
        fail_at: Some(1),
        ..Recorder::default()
    };
    let err = run(&lock, &opts(3), &mut FakeTime::real(), &mut w).unwrap_err();
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
    assert_eq!(o.limit, Limit::Retries(4));
}

#[test]
fn remove_and_touch() {
    let d = Scratch::new();
    let lock = d.path("t.lock");
    let c = cs(&lock);
    assert_eq!(remove(&c), Ok(()));
    assert_eq!(touch(&c), Err(Errno::ENOENT));
    held_lock(&lock, "0\n");
    let old = FileTime::from_unix_time(real_now() - 1000, 0);
    set_file_times(&lock, old, old).unwrap();
    touch(&c).unwrap();
    assert!(real_now() - fs::metadata(&lock).unwrap().mtime() < 60);
    remove(&c).unwrap();
    assert!(!lock.exists());
}

/// `retries + 1` overflows an int in the reference (no attempt at all);
/// here `i32::MAX` retries mean that many waits.
#[test]
fn int_max_retries_still_wait() {
    let d = Scratch::new();
    let lock = d.path("max.lock");
    held_lock(&lock, "0\n");
    let o = Options {
        schedule: Schedule::Interval(0),
        ..opts(i32::MAX)
    };
    let mut w = Recorder {
        fail_at: Some(3),
        ..Recorder::default()
    };
    let err = run(&lock, &o, &mut FakeTime::real(), &mut w).unwrap_err();
    assert_eq!(err, LockError::new(LCode::Error, Errno::EINTR));
    assert_eq!(w.attempts.len(), 3);
    assert_eq!(w.attempts[0].1, Some(i64::from(i32::MAX) + 1));
}

/// A deadline on the monotonic clock ends the attempts: no wait goes past
/// it, one attempt follows the last wait, then L_MAXTRYS.
#[test]
fn a_deadline_bounds_the_waits() {
    let d = Scratch::new();
    let lock = d.path("until.lock");
    held_lock(&lock, "0\n");
    let mut time = FakeTime::real();
    let o = Options {
        limit: Limit::Until(time.mono + std::time::Duration::from_secs(12)),
        ..opts(0)
    };
    let mut w = Recorder::default();
    let err = run(&lock, &o, &mut time, &mut w).unwrap_err();
    assert_eq!(err, LockError::new(LCode::MaxTrys, Errno::EAGAIN));
    assert_eq!(w.waits, [5, 10]);
    assert_eq!(time.slept, [5, 7].map(std::time::Duration::from_secs));
    assert_eq!(w.attempts, [(2, None), (3, None)]);
}

/// A temporary file of ours left under the reference's name (by a killed
/// process that had our pid, or a thread of ours in the same second) is
/// not a reason to fail: the O_EXCL create says EEXIST and the next name
/// is tried; the other file is left alone.
#[test]
fn a_taken_temporary_name_moves_on_to_another() {
    let d = Scratch::new();
    let lock = d.path("t.lock");
    let t: i64 = 1_700_000_003;
    let host = super::tmpname::host().unwrap();
    let base = |digit: i64| {
        format!(
            ".lk{:05}{:x}{}",
            std::process::id(),
            digit & 15,
            String::from_utf8_lossy(host.as_bytes())
        )
    };
    let taken = d.path(&base(t)[..base(t).len().min(TMP_NAME_MAX)]);
    fs::write(&taken, "someone else's").unwrap();
    let mut w = Recorder::default();
    let mut names = Vec::new();
    create_with(&cs(&lock), &opts(0), &mut FakeTime::at(t), &mut |step| {
        if let Step::Tmp(Some(tmp)) = step {
            names.push(tmp.to_str().unwrap().to_string());
        }
        w.step(step)
    })
    .unwrap();
    assert_eq!(fs::read_to_string(&lock).unwrap(), "0\n");
    assert_eq!(fs::read_to_string(&taken).unwrap(), "someone else's");
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(names[0], taken.to_str().unwrap());
    assert_ne!(names[1], names[0]);
    fs::remove_file(&taken).unwrap();
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
    let dead = dead_pid();
    let me = identity::own_now().unwrap();
    // Another PID namespace of this boot: the dead pid means nothing here.
    let foreign = other(None, None, Some(me.pidns + 1));
    let now = identity_lock(&lock, dead, &foreign, 10);
    let found = inspect(&cs(&lock), true, &FakeTime::at(now));
    assert_eq!(found.verdict, Verdict::Valid, "{found:?}");
    assert_eq!((found.origin, found.alive), (Origin::Foreign, None));
    assert_eq!(found.host, me.host);
    // Our own pid, alive here, in another namespace: still only its age.
    let now = identity_lock(&lock, std::process::id(), &foreign, 301);
    let found = inspect(&cs(&lock), true, &FakeTime::at(now));
    assert_eq!(found.verdict, Verdict::Stale, "{found:?}");
    // Another host: the same.
    let far = other(Some(b"far-away"), Some(b"another-boot"), None);
    let now = identity_lock(&lock, dead, &far, 299);
    assert_eq!(
        inspect(&cs(&lock), true, &FakeTime::at(now)).verdict,
        Verdict::Valid
    );
    let o = Options {
        pid: PidMode::Own,
        ..opts(0)
    };
    let err = run(&lock, &o, &mut FakeTime::at(now), &mut Recorder::default());
    assert_eq!(err, Err(LockError::new(LCode::MaxTrys, Errno::EAGAIN)));
    let now = identity_lock(&lock, dead, &far, 300);
    run(&lock, &o, &mut FakeTime::at(now), &mut Recorder::default()).unwrap();
}

#[test]
fn a_pid_from_our_namespace_decides_and_an_earlier_boot_is_stale() {
    let d = Scratch::new();
    let lock = d.path("boot.lock");
    let dead = dead_pid();
    let me = identity::own_now().unwrap();
    // Ours, and the pid is dead: stale at once, however young.
    let now = identity_lock(&lock, dead, &me, 0);
    let found = inspect(&cs(&lock), true, &FakeTime::at(now));
    assert_eq!(
        (found.verdict, found.origin),
        (Verdict::Stale, Origin::Local)
    );
    // Ours and alive: valid however old.
    let now = identity_lock(&lock, std::process::id(), &me, 100_000);
    let found = inspect(&cs(&lock), true, &FakeTime::at(now));
    assert_eq!((found.verdict, found.alive), (Verdict::Valid, Some(true)));
    // Without L_PID only the age counts, as before.
    assert_eq!(
        inspect(&cs(&lock), false, &FakeTime::at(now)).verdict,
        Verdict::Stale
    );
    // Our host name, another boot, changed before this boot: an earlier
    // boot's lock, stale at once, even with a pid that is alive here.
    let start = identity::boot_start().unwrap();
    let earlier = other(None, Some(b"an-earlier-boot"), None);
    let age = real_now() - start + 10;
    let now = identity_lock(&lock, std::process::id(), &earlier, age);
    let found = inspect(&cs(&lock), true, &FakeTime::at(now));
    assert_eq!(found.verdict, Verdict::Stale, "{found:?}");
    assert_eq!((found.origin, found.alive), (Origin::EarlierBoot, None));
    // The same, changed since this boot began: not ours to break early.
    let now = identity_lock(&lock, std::process::id(), &earlier, 5);
    let found = inspect(&cs(&lock), true, &FakeTime::at(now));
    assert_eq!(
        (found.verdict, found.origin),
        (Verdict::Valid, Origin::Foreign)
    );
}
