//! The one lock report: who holds a lock, where, for how long, and
//! whether it is stale and why. `dotlockfile -c -v`, `dotlockfile -l -v`
//! and `dotlock --status` print what [`report`] found; none of them judges
//! a lock itself. Uses `core` only: the report is data, and its parts
//! print through `core::fmt`.
#![forbid(unsafe_code)]

use core::ffi::CStr;
use core::fmt;

use super::check::{Inspection, STALE_AGE, Verdict, inspect};
use super::identity::{Host, Origin};
use super::wait::Time;

/// Why a lock is valid or stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// There is no lock.
    Absent,
    /// Valid: the holder's pid runs (in this PID namespace, on this boot).
    Running,
    /// Stale: the holder's pid does not run (in this PID namespace, on
    /// this boot).
    NotRunning,
    /// Stale: written by this host before its current boot.
    EarlierBoot,
    /// Valid by its age: stale in `left` seconds unless touched.
    Young {
        /// Seconds until it turns stale.
        left: i64,
    },
    /// Stale by its age: not changed for `STALE_AGE` seconds or more.
    Old,
    /// Valid: its content could not be read for want of descriptors or
    /// memory, which says nothing about the lock.
    Unreadable,
}

/// What is known about a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The verdict under the rule asked for (with or without the pid).
    pub verdict: Verdict,
    /// Why.
    pub why: Why,
    /// Whether the pid was asked to count (`L_PID`, `-p`).
    pub pid_counts: bool,
    /// The verdict of a waiter that uses the pid, and why (the same as
    /// above when the pid counts).
    pub with_pid: (Verdict, Why),
    /// The pid recorded in the lock, if > 0 (shown even when it does not
    /// count).
    pub pid: Option<i32>,
    /// The holder's host name as recorded (empty: none recorded).
    pub host: Host,
    /// Where the pid lives, seen from here.
    pub origin: Origin,
    /// Whether the pid runs here; `None` where it was not (or could not
    /// be) looked up.
    pub alive: Option<bool>,
    /// Seconds since the lock last changed.
    pub age: i64,
    /// Whether the age is by the file system's clock (else this host's).
    pub fs_clock: bool,
}

/// Why `found` got its verdict.
pub fn why(found: &Inspection) -> Why {
    let age = found.now.saturating_sub(found.mtime);
    match (found.verdict, found.origin, found.alive) {
        (Verdict::Absent, _, _) => Why::Absent,
        (_, Origin::EarlierBoot, _) => Why::EarlierBoot,
        (_, _, Some(true)) => Why::Running,
        (_, _, Some(false)) => Why::NotRunning,
        (Verdict::Valid, _, _) if age < STALE_AGE => Why::Young {
            left: STALE_AGE - age,
        },
        (Verdict::Valid, _, _) => Why::Unreadable,
        (Verdict::Stale, _, _) => Why::Old,
    }
}

/// Report on the lock `path`, judged as `lockfile_check` judges it with
/// (`use_pid`) or without L_PID, and also as a waiter that uses the pid
/// would. Reads the lock as the library does (never blocks on a FIFO or
/// a device at that name) and changes nothing.
pub fn report(path: &CStr, use_pid: bool, time: &dyn Time) -> Report {
    let found = inspect(path, use_pid, time);
    let view = if use_pid || found.verdict == Verdict::Absent {
        found.clone()
    } else {
        inspect(path, true, time)
    };
    Report {
        verdict: found.verdict,
        why: why(&found),
        pid_counts: use_pid,
        with_pid: (view.verdict, why(&view)),
        pid: view.pid,
        host: view.host,
        origin: view.origin,
        alive: view.alive,
        age: found.now.saturating_sub(found.mtime),
        fs_clock: found.fs_clock,
    }
}

impl Report {
    /// Who holds the lock, for people: "pid 34 on host alpha, 12 s old".
    pub fn holder(&self) -> Holder<'_> {
        Holder(self)
    }

    /// Whether the pid was written somewhere it means nothing here.
    pub fn foreign(&self) -> bool {
        matches!(self.origin, Origin::Foreign | Origin::EarlierBoot)
    }
}

/// See [`Report::holder`].
pub struct Holder<'a>(&'a Report);

impl fmt::Display for Holder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.0;
        if r.verdict == Verdict::Absent {
            return f.write_str("nobody (it is gone)");
        }
        match r.pid {
            Some(pid) => write!(f, "pid {pid}")?,
            None => f.write_str("no pid")?,
        }
        if !r.host.is_empty() {
            write!(f, " on host {}", r.host)?;
        }
        match (r.origin, r.alive) {
            (Origin::Foreign, _) => f.write_str(" (another host or PID namespace)")?,
            (Origin::EarlierBoot, _) => f.write_str(" (an earlier boot of this host)")?,
            (_, Some(true)) => f.write_str(" (running)")?,
            (_, Some(false)) => f.write_str(" (not running)")?,
            _ => {}
        }
        write!(f, ", {} s old", r.age)
    }
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::Absent => f.write_str("no lock"),
            Why::Running => f.write_str("valid while its process runs"),
            Why::NotRunning => f.write_str("stale: its process is not running"),
            Why::EarlierBoot => f.write_str("stale: left by an earlier boot of this host"),
            Why::Young { left } => write!(f, "valid; stale in {left} s unless touched"),
            Why::Old => write!(f, "stale: not changed for {STALE_AGE} s or more"),
            Why::Unreadable => f.write_str("valid: its content cannot be read now"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::identity::Token;

    fn inspection(verdict: Verdict, origin: Origin, alive: Option<bool>, age: i64) -> Inspection {
        let mut i = inspect(c"/nonexistent/x", false, &crate::lock::RealTime);
        (i.verdict, i.origin, i.alive, i.mtime, i.now) = (verdict, origin, alive, 1000, 1000 + age);
        i
    }

    #[test]
    fn reasons() {
        use Origin::*;
        use Verdict::*;
        let w = |v, o, a, age| why(&inspection(v, o, a, age));
        assert_eq!(w(Absent, Unjudged, None, 0), Why::Absent);
        assert_eq!(w(Valid, Local, Some(true), 9999), Why::Running);
        assert_eq!(w(Stale, Bare, Some(false), 0), Why::NotRunning);
        assert_eq!(w(Stale, EarlierBoot, None, 5), Why::EarlierBoot);
        assert_eq!(w(Valid, Foreign, None, 12), Why::Young { left: 288 });
        assert_eq!(w(Stale, Foreign, None, 300), Why::Old);
        assert_eq!(w(Valid, Unjudged, None, 300), Why::Unreadable);
    }

    #[test]
    fn holder_lines() {
        let mut r = Report {
            verdict: Verdict::Valid,
            why: Why::Young { left: 288 },
            pid_counts: true,
            with_pid: (Verdict::Valid, Why::Young { left: 288 }),
            pid: Some(34),
            host: Token::new(b"alpha").unwrap(),
            origin: Origin::Foreign,
            alive: None,
            age: 12,
            fs_clock: true,
        };
        assert_eq!(
            r.holder().to_string(),
            "pid 34 on host alpha (another host or PID namespace), 12 s old"
        );
        (r.origin, r.alive) = (Origin::Local, Some(true));
        assert_eq!(
            r.holder().to_string(),
            "pid 34 on host alpha (running), 12 s old"
        );
        (r.pid, r.host, r.origin, r.alive) = (None, Host::EMPTY, Origin::Bare, None);
        assert_eq!(r.holder().to_string(), "no pid, 12 s old");
        r.host = Token::new(b"evil\x1b[2J").unwrap();
        assert!(!r.holder().to_string().contains('\x1b'));
    }
}
