//! What `dotlockfile` does once its command line is read (SPEC §6).
#![forbid(unsafe_code)]

use std::ffi::{CStr, OsStr, OsString};
use std::fmt;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use lockfile::cpath::{FixedCPath, PATH_MAX, split_dir};
use lockfile::helper::is_mail_lock;
use lockfile::lock::{
    self, Inspection, Limit, Options, PidMode, RealTime, STALE_AGE, Schedule, Step, Time, Verdict,
    inspect,
};
use lockfile::{LCode, LockError, path_of};
use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::sys::signal::{Signal, kill};
use nix::sys::stat::Mode;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{Pid, alarm, chdir, getppid, getuid};

use crate::cli::{self, Action, Cli};
use crate::privs::Privs;
use crate::runtime::{self as sys, Action as OnSignal};

/// How often a running command's lock is touched, in seconds.
const TOUCH_EVERY: u32 = 30;
/// How often the parent is checked while waiting (1 s with `-i`).
const PARENT_CHECK: u64 = 5;

/// Output that never panics: a closed or broken stdout/stderr is ignored.
#[derive(Debug, Default)]
pub struct Out {
    /// `-q`: no warnings or error messages.
    pub quiet: bool,
    /// Print nothing at all (unit tests).
    silent: bool,
}

impl Out {
    /// Output to the standard streams.
    pub fn new() -> Out {
        Out::default()
    }

    /// Output that goes nowhere.
    #[cfg(test)]
    pub fn silent() -> Out {
        Out {
            quiet: true,
            silent: true,
        }
    }

    fn write(&self, to_stdout: bool, text: &str) {
        if self.silent {
            return;
        }
        let _ = if to_stdout {
            let mut o = std::io::stdout().lock();
            o.write_all(text.as_bytes()).and_then(|()| o.flush())
        } else {
            std::io::stderr().lock().write_all(text.as_bytes())
        };
    }

    /// "dotlockfile: what" on stderr, unless quiet.
    pub fn error(&self, what: fmt::Arguments<'_>) {
        if !self.quiet {
            self.write(false, &format!("dotlockfile: {what}\n"));
        }
    }

    /// A line on stderr even when quiet (as getopt's and exec's messages
    /// are in the reference).
    pub fn error_raw(&self, what: fmt::Arguments<'_>) {
        self.write(false, &format!("{what}\n"));
    }

    /// The usage text on stderr.
    pub fn usage(&self, text: &str) {
        self.write(false, text);
    }

    /// A line of the `-v` report on stdout.
    fn report(&self, what: fmt::Arguments<'_>) {
        self.write(true, &format!("{what}\n"));
    }

    /// A `-v` progress line on stderr, unless quiet.
    fn progress(&self, what: fmt::Arguments<'_>) {
        if !self.quiet {
            self.write(false, &format!("dotlockfile: {what}\n"));
        }
    }
}

/// Split a lock name into its directory and its base name.
fn split(lockfile: &OsStr) -> (&OsStr, &OsStr) {
    // we fix: the reference tries chdir("") for "/name" and fails.
    let (dir, base) = split_dir(lockfile.as_bytes());
    (OsStr::from_bytes(dir), OsStr::from_bytes(base))
}

/// Describe who holds a lock, for the `-v` lines.
fn holder(found: &Inspection) -> String {
    let age = found.now.saturating_sub(found.mtime);
    match (found.verdict, found.pid, found.alive) {
        (Verdict::Absent, _, _) => "nobody (it is gone)".into(),
        (_, Some(pid), Some(true)) => format!("process {pid} (running)"),
        (_, Some(pid), Some(false)) => format!("process {pid} (not running)"),
        (_, Some(pid), None) => format!("process {pid}"),
        (_, None, _) => format!("a process that recorded no pid, {age} s ago"),
    }
}

/// The time of `dotlockfile`'s waits: real, but checking every `step`
/// that the parent lives (SPEC §6: a lock for a caller that has gone is
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
            let found = inspect(lock, true, &RealTime);
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
    // SPEC §6: interrupted while waiting, remove the temporary file and
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
    // keep the group only for a mail lock of the caller (SPEC §6).
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
        Action::Unlock => match privs.raise() {
            Ok(_raised) => i32::from(lock::remove(name).is_err()),
            Err(_) => 1,
        },
        Action::Lock => take(&cli, name, &privs, home, parent, &out),
    }
}

/// `-c`: 0 if a valid lock is there, 1 if not; with `-v` say why.
fn check(cli: &Cli, name: &CStr, privs: &Privs, out: &Out) -> i32 {
    let Ok(_raised) = privs.raise() else {
        return 1;
    };
    let found = inspect(name, cli.pid, &RealTime);
    let status = i32::from(found.verdict != Verdict::Valid);
    if cli.verbose {
        // The pid is reported even when -p does not make it count.
        let info = if cli.pid {
            found.clone()
        } else {
            inspect(name, true, &RealTime)
        };
        report(cli, &found, &info, out);
    }
    status
}

/// The `-v` report of `-c`: who holds the lock and for how long.
fn report(cli: &Cli, found: &Inspection, info: &Inspection, out: &Out) {
    let path = Path::new(&cli.lockfile).display();
    if found.verdict == Verdict::Absent {
        out.report(format_args!("{path}: no lock"));
        return;
    }
    let age = found.now.saturating_sub(found.mtime);
    out.report(format_args!("lock: {path}"));
    let pid = match (info.pid, info.alive) {
        (None, _) => "none recorded".to_string(),
        (Some(p), Some(true)) => format!("{p}, running"),
        (Some(p), Some(false)) => format!("{p}, not running"),
        (Some(p), None) => format!("{p}, cannot tell whether it runs"),
    };
    let counts = if cli.pid || info.pid.is_none() {
        ""
    } else {
        " (not used without -p)"
    };
    out.report(format_args!("pid: {pid}{counts}"));
    let clock = if found.fs_clock {
        "by the file system's clock"
    } else {
        "by this host's clock"
    };
    out.report(format_args!("age: {age} s ({clock})"));
    let state = match (found.verdict, found.pid, found.alive) {
        (Verdict::Valid, Some(p), Some(true)) => {
            format!("valid while process {p} runs")
        }
        (Verdict::Valid, _, _) => format!(
            "valid; stale in {} s unless touched (after {STALE_AGE} s without a change)",
            STALE_AGE.saturating_sub(age).max(0)
        ),
        (_, Some(p), Some(false)) => format!("stale: process {p} is not running"),
        _ => format!("stale: not changed for {age} s (the limit is {STALE_AGE} s)"),
    };
    out.report(format_args!("state: {state}"));
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
    // SPEC §6: the parent survives the signals a terminal sends, so that
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

    #[test]
    fn holder_descriptions() {
        let mut i = inspect(c"/nonexistent/x", false, &RealTime);
        (i.verdict, i.pid, i.alive, i.mtime, i.now) =
            (Verdict::Valid, Some(42), Some(true), 100, 160);
        assert_eq!(holder(&i), "process 42 (running)");
        i.alive = Some(false);
        assert_eq!(holder(&i), "process 42 (not running)");
        i.pid = None;
        assert_eq!(holder(&i), "a process that recorded no pid, 60 s ago");
        i.verdict = Verdict::Absent;
        assert_eq!(holder(&i), "nobody (it is gone)");
    }
}
