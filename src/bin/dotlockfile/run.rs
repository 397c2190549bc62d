//! What `dotlockfile` does once its command line is read (docs/dotlockfile.md §6).
#![forbid(unsafe_code)]

use std::ffi::{CStr, OsStr, OsString};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use lockfile::cpath::{FixedCPath, PATH_MAX, split_dir};
use lockfile::helper::is_mail_lock;
use lockfile::lock::identity::Origin;
use lockfile::lock::{
    self, Limit, Options, PidMode, RealTime, Report, STALE_AGE, Schedule, Step, Time, Verdict, Why,
};
use lockfile::{LCode, LockError, path_of};
use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::sys::signal::{Signal, kill};
use nix::sys::stat::Mode;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{Pid, alarm, chdir, getpid, getppid, getuid};

use crate::cli::{self, Action, Cli};
use crate::out::Out;
use crate::privs::Privs;
use crate::runtime::{self as sys, Action as OnSignal};

/// How often a running command's lock is touched, in seconds.
const TOUCH_EVERY: u32 = 30;
/// How often the parent is checked while waiting (1 s with `-i`).
const PARENT_CHECK: u64 = 5;

/// Split a lock name into its directory and its base name.
fn split(lockfile: &OsStr) -> (&OsStr, &OsStr) {
    // we fix: the reference tries chdir("") for "/name" and fails.
    let (dir, base) = split_dir(lockfile.as_bytes());
    (OsStr::from_bytes(dir), OsStr::from_bytes(base))
}

/// Who holds a lock, for the `-v` lines of `-l`: what the library's
/// report found.
fn holder(r: &Report) -> String {
    match (r.verdict, r.pid, r.alive) {
        (Verdict::Absent, _, _) => "nobody (it is gone)".into(),
        _ if r.foreign() => r.holder().to_string(),
        (_, Some(pid), Some(true)) => format!("process {pid} (running)"),
        (_, Some(pid), Some(false)) => format!("process {pid} (not running)"),
        (_, Some(pid), None) => format!("process {pid}"),
        (_, None, _) => format!("a process that recorded no pid, {} s ago", r.age),
    }
}

/// The time of `dotlockfile`'s waits: real, but checking every `step`
/// that the parent lives (docs/dotlockfile.md §6: a lock for a caller that has gone is
/// not taken).
struct ParentWatch {
    parent: Pid,
    step: Duration,
}

impl Time for ParentWatch {
    fn now(&self) -> Duration {
        RealTime.now()
    }
    fn wall(&self) -> i64 {
        RealTime.wall()
    }
    fn sleep(&mut self, d: Duration, wake: Option<i32>) -> Result<bool, LockError> {
        let mut left = d;
        while !left.is_zero() {
            let slice = self.step.min(left);
            // With `-w`, each step ends early if the lock goes.
            if RealTime.sleep(slice, wake)? {
                return Ok(true);
            }
            left -= slice;
            if kill(self.parent, None) == Err(Errno::ESRCH) {
                return Err(LockError::new(LCode::Error, lockfile::Errno::ESRCH));
            }
        }
        Ok(false)
    }
}

/// What `dotlockfile` does as the core works: registers the temporary
/// file for the signal handlers and, with `-v`, says why it waits.
fn on_step(step: Step<'_>, forever: bool, verbose: bool, out: &Out) {
    match step {
        Step::Tmp(tmp) => sys::set_cleanup_path(tmp.map(CStr::to_bytes)),
        Step::Wait {
            lock,
            attempt,
            attempts,
            wait,
            ..
        } if verbose => {
            let found = lock::report(lock, true, &RealTime);
            let of = match attempts {
                Some(n) if !forever => format!("of {n}"),
                _ => "with no limit".to_string(),
            };
            out.progress(format_args!(
                "{}: held by {}; attempt {attempt} {of}, next try in {} s",
                path_of(lock).display(),
                holder(&found),
                wait.as_secs()
            ));
        }
        Step::Wait { .. } => {}
    }
}

/// The program after `main` dropped the group; returns the exit status.
pub fn main(privs: Result<Privs, Errno>) -> i32 {
    let mut out = Out::new();
    let mut privs = match privs {
        Ok(p) => p,
        Err(e) => {
            out.error(format_args!("cannot drop the group: {}", e.desc()));
            return LCode::Error.as_c();
        }
    };
    // docs/dotlockfile.md §6: interrupted while waiting, remove the temporary file and
    // die of the same signal.
    for sig in [
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGHUP,
        Signal::SIGTERM,
        Signal::SIGPIPE,
    ] {
        let _ = sys::handle_signal(sig, OnSignal::Cleanup, true);
    }
    let parent = getppid();
    let args: Vec<OsString> = std::env::args_os().collect();
    let cli = match cli::parse(&args, &mut out) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    if cli.lockfile.len() >= PATH_MAX {
        out.error(format_args!(
            "{}: name too long",
            cli.lockfile.to_string_lossy()
        ));
        return LCode::NameLen.as_c();
    }

    // Set-group-ID: work on the bare name inside the lock's directory, and
    // keep the group only for a mail lock of the caller (docs/dotlockfile.md §6).
    let mut name: &OsStr = &cli.lockfile;
    let mut home: Option<OwnedFd> = None;
    if let Some(group) = privs.group() {
        let here = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        match open(".", here, Mode::empty()) {
            Ok(fd) => home = Some(fd),
            Err(e) => {
                out.error(format_args!("opening \".\": {}", e.desc()));
                return LCode::Error.as_c();
            }
        }
        let (dir, base) = split(&cli.lockfile);
        if let Err(e) = chdir(dir) {
            out.error(format_args!("{}: {}", dir.to_string_lossy(), e.desc()));
            return LCode::Error.as_c();
        }
        name = base;
        if !is_mail_lock(name.as_bytes(), group.as_raw(), getuid().as_raw()) {
            if let Err(e) = privs.drop_for_good() {
                out.error(format_args!("cannot drop the group: {}", e.desc()));
                return LCode::Error.as_c();
            }
        }
    }
    // Shorter than PATH_MAX (checked above), and from argv: no NUL.
    let Ok(name) = FixedCPath::new(&[name.as_bytes()]) else {
        return LCode::NameLen.as_c();
    };
    let name = name.as_cstr();

    match cli.action {
        Action::Check => check(&cli, name, &privs, &out),
        Action::Touch => match privs.raise() {
            Ok(_raised) => i32::from(lock::touch(name).is_err()),
            Err(_) => 1,
        },
        Action::Unlock => unlock(&cli, name, &privs, &out),
        Action::Lock => take(&cli, name, &privs, home, parent, &out),
    }
}

/// `-c`: 0 if a valid lock is there, 1 if not; with `-v` say why.
fn check(cli: &Cli, name: &CStr, privs: &Privs, out: &Out) -> i32 {
    let Ok(_raised) = privs.raise() else {
        return 1;
    };
    let found = lock::report(name, cli.pid, &RealTime);
    if cli.verbose {
        print_report(cli, &found, out);
    }
    i32::from(found.verdict != Verdict::Valid)
}

/// The `-v` report of `-c`: who holds the lock, where, for how long, and
/// why it is valid or stale, as the library's report found it.
fn print_report(cli: &Cli, r: &Report, out: &Out) {
    let path = Path::new(&cli.lockfile).display();
    if r.verdict == Verdict::Absent {
        out.report(format_args!("{path}: no lock"));
        return;
    }
    out.report(format_args!("lock: {path}"));
    out.report(format_args!("holder: {}", r.holder()));
    let pid = match (r.pid, r.origin, r.alive) {
        (None, _, _) => "none recorded".to_string(),
        (Some(p), Origin::Foreign, _) => {
            format!("{p}, not looked up (written on another host or in another PID namespace)")
        }
        (Some(p), Origin::EarlierBoot, _) => {
            format!("{p}, not looked up (written before this host last booted)")
        }
        (Some(p), _, Some(true)) => format!("{p}, running"),
        (Some(p), _, Some(false)) => format!("{p}, not running"),
        (Some(p), _, None) => format!("{p}, cannot tell whether it runs"),
    };
    let counts = if cli.pid || r.pid.is_none() {
        ""
    } else {
        " (not used without -p)"
    };
    out.report(format_args!("pid: {pid}{counts}"));
    if !r.host.is_empty() {
        let whose = match r.origin {
            Origin::Foreign => "another host or PID namespace",
            Origin::EarlierBoot => "this host's name, an earlier boot",
            _ => "this boot, this PID namespace",
        };
        out.report(format_args!("host: {} ({whose})", r.host));
    }
    let clock = if r.fs_clock {
        "by the file system's clock"
    } else {
        "by this host's clock"
    };
    out.report(format_args!("age: {} s ({clock})", r.age));
    let state = match (r.why, r.pid) {
        (Why::Running, Some(p)) => format!("valid while process {p} runs"),
        (Why::NotRunning, Some(p)) => format!("stale: process {p} is not running"),
        (Why::Young { left }, _) => format!(
            "valid; stale in {left} s unless touched (after {STALE_AGE} s without a change)"
        ),
        (Why::Old, _) => format!(
            "stale: not changed for {} s (the limit is {STALE_AGE} s)",
            r.age
        ),
        (why, _) => why.to_string(),
    };
    out.report(format_args!("state: {state}"));
}

/// `-u`: remove the lock. With `-p`, not if it names another live holder
/// (exit `L_MAXTRYS`, 4): a pid that runs here and is neither ours nor
/// our parent's (the pid `-p` writes), or, written on another host or in
/// another PID namespace, a lock that is not stale by its age. Plain `-u`
/// removes whatever is there, as 1.17 does.
fn unlock(cli: &Cli, name: &CStr, privs: &Privs, out: &Out) -> i32 {
    let Ok(_raised) = privs.raise() else {
        return 1;
    };
    if cli.pid {
        let found = lock::report(name, true, &RealTime);
        if names_another_holder(&found, getpid().as_raw(), getppid().as_raw()) {
            out.error(format_args!(
                "{}: not removed: held by {}",
                Path::new(&cli.lockfile).display(),
                found.holder()
            ));
            return LCode::MaxTrys.as_c();
        }
    }
    i32::from(lock::remove(name).is_err())
}

/// Whether `found` names a live holder other than process `me` or its
/// parent `parent` (the rule of `-u -p`).
fn names_another_holder(found: &Report, me: i32, parent: i32) -> bool {
    match (found.pid, found.origin, found.verdict) {
        (_, _, Verdict::Absent) => false,
        (Some(_), Origin::Foreign, Verdict::Valid) => true,
        (Some(p), Origin::Local | Origin::Bare, _) => {
            found.alive == Some(true) && p != me && p != parent
        }
        _ => false,
    }
}

/// Take the lock; with a command, run it and remove the lock afterwards.
fn take(
    cli: &Cli,
    name: &CStr,
    privs: &Privs,
    home: Option<OwnedFd>,
    parent: Pid,
    out: &Out,
) -> i32 {
    let with_command = !cli.command.is_empty();
    let opts = Options {
        limit: cli.retries.map_or(Limit::Forever, Limit::Retries),
        pid: match (cli.pid, with_command) {
            (false, _) => PidMode::None,
            (true, true) => PidMode::Own,
            (true, false) => PidMode::Parent,
        },
        schedule: cli.interval.map_or(Schedule::Standard, Schedule::Interval),
        wake: cli.fast_wake,
    };
    let mut time = ParentWatch {
        parent,
        step: Duration::from_secs(if cli.interval.is_some() {
            1
        } else {
            PARENT_CHECK
        }),
    };
    let forever = cli.retries.is_none();
    let taken = match privs.raise() {
        Ok(_raised) => lock::create_with(name, &opts, &mut time, &mut |step| {
            on_step(step, forever, cli.verbose, out);
            Ok(())
        }),
        Err(e) => Err(LockError::new(
            LCode::Error,
            lockfile::Errno::from_raw(e as i32),
        )),
    };
    if let Err(e) = taken {
        return e.code.as_c();
    }
    if !with_command {
        return 0;
    }
    let status = run_command(cli, name, privs, home, out);
    if let Ok(_raised) = privs.raise() {
        let _ = lock::remove(name);
    }
    if cli.passthrough { status } else { 0 }
}

/// Run the command without the group, in the original directory; touch
/// the lock every 30 s unless `-p`; return the command's status (127 if
/// it could not be run, 128 + the signal if it was killed).
fn run_command(cli: &Cli, name: &CStr, privs: &Privs, home: Option<OwnedFd>, out: &Out) -> i32 {
    // docs/dotlockfile.md §6: the parent survives the signals a terminal sends, so that
    // it removes the lock; caught (not ignored), they are back to default
    // in the command after exec.
    for sig in [
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGHUP,
        Signal::SIGALRM,
    ] {
        // SIGALRM times the touches, so it must not stay ignored.
        let _ = sys::handle_signal(sig, OnSignal::Interrupt, sig != Signal::SIGALRM);
    }
    let Some((program, args)) = cli.command.split_first() else {
        return 0;
    };
    let mut cmd = Command::new(program);
    cmd.args(args);
    // A SIGPIPE our caller ignored stays ignored in the command, as it
    // does with the C original (which leaves ignored signals alone).
    sys::keep_ignored_in_child(&mut cmd, Signal::SIGPIPE);
    if home.is_some() {
        // Set-group-ID: the group goes for good in the child (the parent
        // keeps it saved to remove the lock) and the child goes home.
        sys::drop_group_in_child(&mut cmd, privs.real(), home);
    }
    let child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            let what = e
                .raw_os_error()
                .map_or_else(|| e.to_string(), |n| Errno::from_raw(n).desc().to_string());
            out.error_raw(format_args!("{}: {what}", program.to_string_lossy()));
            return 127;
        }
    };
    let Ok(pid) = i32::try_from(child.id()).map(Pid::from_raw) else {
        return 0;
    };
    let touch = !cli.pid;
    let status = loop {
        if touch {
            alarm::set(TOUCH_EVERY);
        }
        match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, code)) => break code,
            Ok(WaitStatus::Signaled(_, sig, _)) => break 128 + sig as i32,
            Ok(_) => {}
            Err(Errno::EINTR) => {
                if touch {
                    if let Ok(_raised) = privs.raise() {
                        let _ = lock::touch(name);
                    }
                }
            }
            Err(_) => break 0,
        }
    };
    alarm::cancel();
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_names() {
        let s = |p: &str| {
            let (d, b) = split(OsStr::new(p));
            (
                d.to_str().unwrap().to_owned(),
                b.to_str().unwrap().to_owned(),
            )
        };
        assert_eq!(
            s("/var/mail/joe.lock"),
            ("/var/mail".into(), "joe.lock".into())
        );
        assert_eq!(s("joe.lock"), (".".into(), "joe.lock".into()));
        assert_eq!(s("/joe.lock"), ("/".into(), "joe.lock".into()));
        assert_eq!(s("a/../b.lock"), ("a/..".into(), "b.lock".into()));
    }

    fn report(pid: Option<i32>, origin: Origin, alive: Option<bool>) -> Report {
        let mut r = lock::report(c"/nonexistent/x", true, &RealTime);
        (r.verdict, r.pid, r.origin, r.alive, r.age) = (Verdict::Valid, pid, origin, alive, 60);
        r
    }

    #[test]
    fn holder_descriptions() {
        let mut r = report(Some(42), Origin::Bare, Some(true));
        assert_eq!(holder(&r), "process 42 (running)");
        r.alive = Some(false);
        assert_eq!(holder(&r), "process 42 (not running)");
        r.pid = None;
        assert_eq!(holder(&r), "a process that recorded no pid, 60 s ago");
        let mut f = report(Some(34), Origin::Foreign, None);
        f.host = lock::identity::Token::new(b"alpha").unwrap();
        assert_eq!(
            holder(&f),
            "pid 34 on host alpha (another host or PID namespace), 60 s old"
        );
        r.verdict = Verdict::Absent;
        assert_eq!(holder(&r), "nobody (it is gone)");
    }

    #[test]
    fn unlock_with_p_spares_other_live_holders() {
        let (me, parent) = (100, 99);
        let other =
            |pid, origin, alive| names_another_holder(&report(pid, origin, alive), me, parent);
        assert!(other(Some(7), Origin::Local, Some(true)));
        assert!(other(Some(7), Origin::Bare, Some(true)));
        assert!(!other(Some(me), Origin::Local, Some(true)));
        assert!(!other(Some(parent), Origin::Bare, Some(true)));
        assert!(!other(Some(7), Origin::Local, Some(false)));
        assert!(!other(None, Origin::Bare, None));
        // Another host's: by its age only; its pid may even be ours here.
        assert!(other(Some(parent), Origin::Foreign, None));
        let mut old = report(Some(7), Origin::Foreign, None);
        old.verdict = Verdict::Stale;
        assert!(!names_another_holder(&old, me, parent));
        assert!(!other(Some(7), Origin::EarlierBoot, None));
        let mut gone = report(Some(7), Origin::Local, Some(true));
        gone.verdict = Verdict::Absent;
        assert!(!names_another_holder(&gone, me, parent));
    }
}
