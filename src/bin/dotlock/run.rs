//! What `dotlock` does: take the locks, run the command, refresh the
//! dot-lock while it runs, release the locks, pass on its status.
//!
//! Signals: INT, QUIT, HUP, TERM and CHLD are blocked from the start and
//! read from a signalfd, so no handler runs and nothing is left behind.
//! While the locks are being taken, one of the first four ends the wait
//! cleanly (no temporary file, no lock) and the program then dies of it.
//! While the command runs, HUP and TERM are passed on to it, and INT and
//! QUIT (which a terminal sends to the command as well) are ignored; the
//! locks are released after the command ends, however it ends.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::io::Write;
use std::os::fd::AsFd;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use lockfile::MboxLock;
use lockfile::lock::{RealTime, Time};
use lockfile::mbox::{Held, MboxOptions, Patience, REFRESH};
use lockfile::{LCode, LockError};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal, kill, raise};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::Pid;

use crate::cli::{self, Action, Cli};
use crate::runtime;
use crate::status;

/// sysexits.h: the command line is wrong.
const EX_USAGE: i32 = 64;
/// sysexits.h: a lock is busy; try again later.
const EX_TEMPFAIL: i32 = 75;
/// sysexits.h: the locks could not be made.
const EX_CANTCREAT: i32 = 73;
/// The command was not found / could not be run (as the shells say).
const EX_NOTFOUND: i32 = 127;
const EX_NOEXEC: i32 = 126;

/// Print to stderr; a closed or full stderr is not our failure.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), "dotlock: {}", format_args!($($arg)*));
    }};
}

/// The signals we take over.
fn watched() -> SigSet {
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGHUP,
        Signal::SIGTERM,
        Signal::SIGCHLD,
    ] {
        set.add(s);
    }
    set
}

/// Signals, read from a signalfd.
struct Signals {
    fd: SignalFd,
}

impl Signals {
    fn take_over() -> Result<Signals, Errno> {
        let set = watched();
        set.thread_block()?;
        let fd = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)?;
        Ok(Signals { fd })
    }

    /// Wait up to `d` for a signal; the signals that came (maybe none).
    fn receive(&self, d: Duration) -> Vec<Signal> {
        let timeout = PollTimeout::try_from(d).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
        let _ = poll(&mut fds, timeout);
        let mut got = Vec::new();
        while let Ok(Some(info)) = self.fd.read_signal() {
            let n = i32::try_from(info.ssi_signo).ok();
            if let Some(s) = n.and_then(|n| Signal::try_from(n).ok()) {
                got.push(s);
            }
        }
        got
    }
}

/// The time of the waits for the locks: real, but sleeping on the
/// signalfd, so that a signal ends the wait.
struct SignalTime<'a> {
    signals: &'a Signals,
    caught: Option<Signal>,
}

impl Time for SignalTime<'_> {
    fn now(&self) -> Duration {
        RealTime.now()
    }
    fn wall(&self) -> i64 {
        RealTime.wall()
    }
    fn sleep(&mut self, d: Duration, _wake: Option<i32>) -> Result<bool, LockError> {
        let end = Instant::now() + d;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            for s in self.signals.receive(left) {
                if s != Signal::SIGCHLD {
                    self.caught = Some(s);
                    return Err(LockError::new(LCode::Error, lockfile::Errno::EINTR));
                }
            }
            if Instant::now() >= end {
                return Ok(false);
            }
        }
    }
}

/// Die of `sig` as if we had never blocked it.
fn die_of(sig: Signal) -> i32 {
    let mut set = SigSet::empty();
    set.add(sig);
    let _ = set.thread_unblock();
    let _ = raise(sig);
    128 + sig as i32
}

fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(sig)) => 128 + sig,
        (None, None) => 1,
    }
}

/// The program; returns the exit status.
pub fn main() -> i32 {
    let signals = match Signals::take_over() {
        Ok(s) => s,
        Err(e) => {
            say!("cannot take over signals: {}", e.desc());
            return EX_CANTCREAT;
        }
    };
    let cli = match cli::parse(std::env::args_os().skip(1)) {
        Ok(Action::Run(cli)) => cli,
        Ok(Action::Status(mbox)) => return status::main(std::path::Path::new(&mbox)),
        Ok(Action::Help) => {
            let _ = writeln!(std::io::stdout(), "{}\n\n{}", cli::USAGE, cli::HELP);
            return 0;
        }
        Ok(Action::Version) => {
            let _ = writeln!(
                std::io::stdout(),
                "dotlock (liblockfile-rs) {}",
                env!("CARGO_PKG_VERSION")
            );
            return 0;
        }
        Err(e) => {
            say!("{e}");
            let _ = writeln!(std::io::stderr(), "{}", cli::USAGE);
            return EX_USAGE;
        }
    };
    run(&cli, &signals)
}

fn run(cli: &Cli, signals: &Signals) -> i32 {
    let opts = MboxOptions {
        flock: !cli.no_flock,
        fcntl: cli.fcntl,
        patience: if cli.no_wait {
            Patience::NoWait
        } else {
            Patience::Forever
        },
        ..MboxOptions::default()
    };
    let mbox = std::path::Path::new(&cli.mbox);
    let mut time = SignalTime {
        signals,
        caught: None,
    };
    let held = match MboxLock::lock_with(mbox, &opts, &mut time) {
        Ok(held) => held,
        Err(e) => {
            if let Some(sig) = time.caught {
                return die_of(sig);
            }
            say!("{}: {}", mbox.display(), e);
            return if e.is_busy() {
                EX_TEMPFAIL
            } else {
                EX_CANTCREAT
            };
        }
    };
    let (status, mut reported) = match spawn(&cli.command) {
        Ok(child) => supervise(child, &held, signals),
        Err(code) => (code, false),
    };
    let lock = held.dotlock().to_path_buf();
    match held.unlock() {
        Ok(held) if !reported => report(&lock, held, &mut reported),
        Ok(_) => {}
        Err(e) => say!(
            "{}: cannot release: {}",
            lock.display(),
            lockfile::nix_errno(e).desc()
        ),
    }
    status
}

fn spawn(command: &[OsString]) -> Result<Child, i32> {
    let Some((prog, args)) = command.split_first() else {
        return Err(EX_USAGE);
    };
    let mut cmd = Command::new(prog);
    cmd.args(args);
    // std restores SIGPIPE in the child, but not the signal mask.
    runtime::unblock_signals_in_child(&mut cmd);
    cmd.spawn().map_err(|e| {
        say!("cannot run {}: {e}", prog.to_string_lossy());
        match e.kind() {
            std::io::ErrorKind::NotFound => EX_NOTFOUND,
            _ => EX_NOEXEC,
        }
    })
}

/// Say once that our dot-lock is no longer ours.
fn report(lock: &std::path::Path, held: Held, reported: &mut bool) {
    let what = match held {
        Held::Ours => return,
        Held::Removed => "was removed",
        Held::Replaced => "was replaced by another file (left in place)",
    };
    if !*reported {
        say!("{}: our lock {what} while the command ran", lock.display());
        *reported = true;
    }
}

/// Wait for the command, refreshing the dot-lock every REFRESH and passing
/// on HUP and TERM. Returns its exit code and whether a lost lock was
/// reported.
fn supervise(mut child: Child, held: &MboxLock, signals: &Signals) -> (i32, bool) {
    let mut reported = false;
    let mut next = Instant::now() + REFRESH;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return (exit_code(status), reported),
            Ok(None) => {}
            Err(e) => {
                say!("cannot wait for the command: {e}");
                return (EX_CANTCREAT, reported);
            }
        }
        let pid = i32::try_from(child.id()).map(Pid::from_raw);
        for s in signals.receive(next.saturating_duration_since(Instant::now())) {
            if matches!(s, Signal::SIGHUP | Signal::SIGTERM) {
                if let Ok(pid) = pid {
                    let _ = kill(pid, s);
                }
            }
        }
        if Instant::now() >= next {
            next = Instant::now() + REFRESH;
            match held.touch() {
                Ok(h) => report(held.dotlock(), h, &mut reported),
                Err(e) => say!(
                    "{}: cannot refresh: {}",
                    held.dotlock().display(),
                    lockfile::nix_errno(e).desc()
                ),
            }
        }
    }
}
