//! The waiting function on real files: the inotify wake, its fallbacks,
//! and the kept instance's proof of ownership.

use std::fs;
use std::time::{Duration, Instant};

use super::*;
use crate::lock::{Options, Step, create_with};
use crate::testutil::{FakeTime, Scratch, cs};
use crate::{LCode, LockError};

fn in_real(d: Duration) -> Duration {
    RealTime.now() + d
}

#[test]
fn wakes_when_the_lock_is_removed() {
    let s = Scratch::new();
    let lock = s.path("x.lock");
    fs::write(&lock, "0\n").unwrap();
    let other = s.path("other");
    fs::write(&other, "").unwrap();
    let remover = {
        let (lock, other) = (lock.clone(), other.clone());
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            fs::remove_file(other).unwrap();
            std::thread::sleep(Duration::from_millis(50));
            fs::remove_file(lock).unwrap();
        })
    };
    let t = Instant::now();
    // `true`: the release ended the wait, not its end (20 s away).
    assert!(
        wait(
            &mut RealTime,
            in_real(Duration::from_secs(20)),
            Some(&cs(&lock)),
            true
        )
        .unwrap()
    );
    let took = t.elapsed();
    remover.join().unwrap();
    // Not woken by the other file's removal.
    assert!(took >= Duration::from_millis(90), "{took:?}");
}

#[test]
fn wakes_on_rename_and_at_once_when_already_gone() {
    let s = Scratch::new();
    let lock = s.path("y.lock");
    let c = cs(&lock);
    assert!(
        wait(
            &mut RealTime,
            in_real(Duration::from_secs(20)),
            Some(&c),
            true
        )
        .unwrap()
    );
    fs::write(&lock, "0\n").unwrap();
    assert!(
        !wait(
            &mut RealTime,
            in_real(Duration::from_millis(30)),
            Some(&c),
            true
        )
        .unwrap()
    );
    let renamer = {
        let (lock, to) = (lock.clone(), s.path("z"));
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            fs::rename(lock, to).unwrap();
        })
    };
    assert!(
        wait(
            &mut RealTime,
            in_real(Duration::from_secs(20)),
            Some(&c),
            true
        )
        .unwrap()
    );
    renamer.join().unwrap();
}

#[test]
fn times_out_when_the_lock_stays_or_without_the_opt_in() {
    let s = Scratch::new();
    let lock = s.path("x.lock");
    fs::write(&lock, "0\n").unwrap();
    let c = cs(&lock);
    let t = Instant::now();
    assert!(
        !wait(
            &mut RealTime,
            in_real(Duration::from_millis(200)),
            Some(&c),
            true
        )
        .unwrap()
    );
    assert!(t.elapsed() >= Duration::from_millis(200));
    // Without the opt-in a lock that is gone changes nothing.
    fs::remove_file(&lock).unwrap();
    let t = Instant::now();
    assert!(
        !wait(
            &mut RealTime,
            in_real(Duration::from_millis(100)),
            Some(&c),
            false
        )
        .unwrap()
    );
    assert!(t.elapsed() >= Duration::from_millis(100));
}

#[test]
fn falls_back_to_sleeping_without_a_directory() {
    let lock = c"/nonexistent-dir-for-lockfile-tests/x.lock";
    let t = Instant::now();
    assert!(
        !wait(
            &mut RealTime,
            in_real(Duration::from_millis(100)),
            Some(lock),
            true
        )
        .unwrap()
    );
    assert!(t.elapsed() >= Duration::from_millis(100));
}

#[test]
fn an_error_of_the_sleep_ends_the_wait() {
    struct Stop;
    impl Time for Stop {
        fn now(&self) -> Duration {
            Duration::ZERO
        }
        fn wall(&self) -> i64 {
            0
        }
        fn sleep(&mut self, _: Duration, _: Option<i32>) -> Result<bool, LockError> {
            Err(LockError::new(LCode::Error, Errno::EINTR))
        }
    }
    let e = wait(&mut Stop, Duration::from_secs(1), None, false).unwrap_err();
    assert_eq!(e, LockError::new(LCode::Error, Errno::EINTR));
}

/// Three releases (each followed at once by another holder's lock) cut
/// the first wait short three times: the attempts after them are extra,
/// the schedule goes on as the reference's, and the time stays bounded by
/// it (5 s, then 10 s).
#[test]
fn early_wakes_neither_count_nor_advance_the_schedule() {
    let s = Scratch::new();
    let lock = s.path("held.lock");
    fs::write(&lock, "0\n").unwrap();
    let mut released = 0;
    let l2 = lock.clone();
    let mut time = FakeTime {
        step: Some(Duration::from_secs(1)),
        on_sleep: Some(Box::new(move |_| {
            if released < 3 {
                released += 1;
                fs::remove_file(&l2).unwrap();
                fs::write(&l2, "0\n").unwrap();
            }
        })),
        ..FakeTime::real()
    };
    let start = time.mono;
    let opts = Options {
        wake: true,
        ..Options::retries(2)
    };
    let mut waits = Vec::new();
    let err = create_with(&cs(&lock), &opts, &mut time, &mut |step| {
        if let Step::Wait { attempt, wait, .. } = step {
            waits.push((attempt, wait.as_secs()));
        }
        Ok(())
    })
    .unwrap_err();
    assert_eq!(err.code, LCode::MaxTrys);
    assert_eq!(waits, [(2, 5), (3, 10)]);
    assert_eq!(time.mono - start, Duration::from_secs(15));
}

/// A real hand-off: the release ends the wait (the sleep says the
/// instance became readable), and the kept instance outlives the call;
/// a lock held for good costs one whole wait, then L_MAXTRYS.
#[test]
fn hand_off_wakes_on_release_and_the_wait_stays_bounded() {
    /// The real time, counting the sleeps that a release ended.
    struct Counting(u32);
    impl Time for Counting {
        fn now(&self) -> Duration {
            RealTime.now()
        }
        fn wall(&self) -> i64 {
            RealTime.wall()
        }
        fn sleep(&mut self, d: Duration, wake: Option<i32>) -> Result<bool, LockError> {
            let woke = RealTime.sleep(d, wake)?;
            self.0 += u32::from(woke);
            Ok(woke)
        }
    }
    let s = Scratch::new();
    let lock = s.path("h.lock");
    fs::write(&lock, "0\n").unwrap();
    let releaser = {
        let lock = lock.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            fs::remove_file(lock).unwrap();
        })
    };
    let opts = Options {
        wake: true,
        ..Options::retries(1)
    };
    let mut time = Counting(0);
    create_with(&cs(&lock), &opts, &mut time, &mut |_| Ok(())).unwrap();
    releaser.join().unwrap();
    assert_eq!(time.0, 1, "the release did not end the wait");
    fs::remove_file(&lock).unwrap();

    // Held for good: one wait of 1 s, no more, then L_MAXTRYS.
    fs::write(&lock, "0\n").unwrap();
    let opts = Options {
        schedule: crate::lock::Schedule::Interval(1),
        ..opts
    };
    let mut waits = 0;
    let t = Instant::now();
    let err = create_with(&cs(&lock), &opts, &mut RealTime, &mut |step| {
        waits += u32::from(matches!(step, Step::Wait { .. }));
        Ok(())
    })
    .unwrap_err();
    assert_eq!(err.code, LCode::MaxTrys);
    assert_eq!(waits, 1);
    assert!(t.elapsed() >= Duration::from_secs(1));
}

/// The kept instance is used again only while it is proven ours: another
/// inotify instance put at its number (by a program that closed ours) is
/// not.
#[test]
fn a_kept_instance_is_reused_only_if_proven_ours() {
    // Hold the kept instance for the whole test (other tests then use
    // fresh ones).
    while BUSY
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        std::thread::yield_now();
    }
    BUSY.store(false, Ordering::Release);
    let first = Instance::take().unwrap();
    assert!(first.kept, "no private mark (no /proc or memfd?)");
    let n = first.raw();
    drop(first);
    let again = Instance::take().unwrap();
    assert_eq!((again.kept, again.raw()), (true, n), "not reused");
    assert!(is_ours(n));
    drop(again);
    // Another instance (at another number, as after a program closed ours
    // and opened its own): no mark of ours.
    let theirs = sys::inotify_init().unwrap();
    let m = theirs.raw();
    assert!(!is_ours(m));
    // A number that failed is forgotten, never closed.
    let mut lost = Instance {
        fd: Some(theirs),
        kept: false,
    };
    lost.lose();
    drop(lost);
    assert!(sys::fstat(m).is_ok(), "the program's descriptor was closed");
    drop(sys::own(m));
}
