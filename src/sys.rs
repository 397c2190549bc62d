//! The few operations that cannot be written without `unsafe`: signal
//! handlers and the code run in a child between `fork` and `exec`.
//!
//! The library itself uses only [`run_program`] (for the helper of SPEC
//! §5) and [`try_flock`]. The signal functions are for the `dotlockfile`
//! program, which owns its process; the library never changes a signal
//! disposition of the caller's process.

use std::ffi::{CStr, c_char, c_int};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::unistd::{Gid, fchdir, getresgid, setresgid};

use crate::error::Errno;
use crate::lock::PATH_MAX;

/// The temporary file a signal handler must remove: its bytes, then a NUL.
/// Atomics, so that writing it is safe and a handler reads whole bytes.
static CLEANUP_PATH: [AtomicU8; PATH_MAX + 1] = [const { AtomicU8::new(0) }; PATH_MAX + 1];
/// The length of [`CLEANUP_PATH`]; 0 when there is nothing to remove.
static CLEANUP_LEN: AtomicUsize = AtomicUsize::new(0);

/// Name the file that [`Action::Cleanup`] handlers remove (`None`: none).
/// A name too long or containing a NUL is not recorded.
pub fn set_cleanup_path(path: Option<&Path>) {
    use std::os::unix::ffi::OsStrExt;
    CLEANUP_LEN.store(0, Ordering::SeqCst);
    let Some(bytes) = path.map(|p| p.as_os_str().as_bytes()) else {
        return;
    };
    if bytes.is_empty() || bytes.len() > PATH_MAX || bytes.contains(&0) {
        return;
    }
    for (slot, &b) in CLEANUP_PATH.iter().zip(bytes.iter().chain(&[0])) {
        slot.store(b, Ordering::Relaxed);
    }
    CLEANUP_LEN.store(bytes.len(), Ordering::SeqCst);
}

/// Handler: remove the recorded file, then die of the same signal.
/// Only async-signal-safe calls (`unlink`, `signal`, `raise`).
extern "C" fn remove_and_die(sig: c_int) {
    let len = CLEANUP_LEN.load(Ordering::SeqCst);
    if len > 0 {
        let mut buf = [0u8; PATH_MAX + 1];
        for (b, slot) in buf.iter_mut().zip(CLEANUP_PATH.iter()).take(len) {
            *b = slot.load(Ordering::Relaxed);
        }
        // SAFETY: buf holds at most PATH_MAX bytes followed by at least one
        // NUL (it is one byte longer and zero-filled), so it is a C string.
        unsafe { libc::unlink(buf.as_ptr().cast()) };
    }
    // SAFETY: signal() with SIG_DFL runs no code of ours; async-signal-safe.
    unsafe { libc::signal(sig, libc::SIG_DFL) };
    // SAFETY: raise() is async-signal-safe; the signal is delivered when the
    // handler returns (it is blocked while the handler runs).
    unsafe { libc::raise(sig) };
}

/// Handler that does nothing: the signal interrupts a system call and is
/// otherwise ignored, and the command started later gets the default
/// disposition back at `exec` (an ignored signal would stay ignored).
extern "C" fn do_nothing(_sig: c_int) {}

/// What a signal should do in `dotlockfile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Remove the file named by [`set_cleanup_path`] and die of the signal.
    Cleanup,
    /// Nothing, but interrupt a blocking system call (no `SA_RESTART`).
    Interrupt,
}

/// Set what `sig` does. With `keep_ignored`, a signal the process was
/// started with ignored stays ignored (a program run with `nohup` keeps
/// ignoring SIGHUP). That holds for SIGPIPE only in a program that starts
/// without Rust's runtime, which ignores SIGPIPE before `main` (dotlockfile
/// does, see its main.rs).
pub fn handle_signal(sig: Signal, action: Action, keep_ignored: bool) -> Result<(), Errno> {
    let handler = match action {
        Action::Cleanup => SigHandler::Handler(remove_and_die),
        Action::Interrupt => SigHandler::Handler(do_nothing),
    };
    let new = SigAction::new(handler, SaFlags::empty(), SigSet::empty());
    // SAFETY: both handlers only make async-signal-safe calls and touch no
    // state but atomics.
    let old = unsafe { sigaction(sig, &new) }?;
    if keep_ignored && old.handler() == SigHandler::SigIgn {
        // SAFETY: restoring the disposition we found; SIG_IGN runs no code.
        unsafe { sigaction(sig, &old) }?;
    }
    Ok(())
}

/// Make the child of `cmd` give up every group id but `gid` (real,
/// effective and saved), check that it did, and change into `cwd` before
/// it executes. A failure makes the spawn fail with that error.
pub fn drop_group_in_child(cmd: &mut Command, gid: Gid, cwd: Option<OwnedFd>) {
    let closure = move || {
        setresgid(gid, gid, gid)?;
        let now = getresgid()?;
        if now.real != gid || now.effective != gid || now.saved != gid {
            return Err(Errno::EPERM.into());
        }
        if let Some(fd) = &cwd {
            fchdir(fd)?;
        }
        Ok(())
    };
    // SAFETY: the closure runs between fork and exec and only makes the
    // async-signal-safe system calls setresgid, getresgid and fchdir; it
    // allocates only when building an io::Error from an errno, which
    // needs no allocation for OS errors.
    unsafe { cmd.pre_exec(closure) };
}

/// Make the child of `cmd` start with no signal blocked: std leaves the
/// parent's signal mask in place, and a program that reads its signals
/// from a signalfd (`dotlock`) blocks them.
pub fn unblock_signals_in_child(cmd: &mut Command) {
    let closure = || {
        nix::sys::signal::pthread_sigmask(
            nix::sys::signal::SigmaskHow::SIG_SETMASK,
            Some(&SigSet::empty()),
            None,
        )
        .map_err(std::io::Error::from)
    };
    // SAFETY: the closure runs between fork and exec and only calls
    // pthread_sigmask, which is async-signal-safe; it allocates nothing.
    unsafe { cmd.pre_exec(closure) };
}

/// Whether `sig` is ignored in this process now.
fn is_ignored(sig: Signal) -> bool {
    // SAFETY: libc::sigaction is plain integers and a signal set, for
    // which all-zero bytes are a valid value.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: with a null new action sigaction only writes the current
    // one into `old`, a valid, exclusively borrowed struct.
    let rc = unsafe { libc::sigaction(sig as c_int, std::ptr::null(), &mut old) };
    rc == 0 && old.sa_sigaction == libc::SIG_IGN
}

/// If this process ignores `sig`, the child of `cmd` ignores it too, as
/// after a plain fork and exec: std sets SIGPIPE back to its default in
/// every child it starts.
pub fn keep_ignored_in_child(cmd: &mut Command, sig: Signal) {
    if !is_ignored(sig) {
        return;
    }
    let closure = move || {
        // SAFETY: SIG_IGN runs no code in the child.
        unsafe { nix::sys::signal::signal(sig, SigHandler::SigIgn) }
            .map(drop)
            .map_err(std::io::Error::from)
    };
    // SAFETY: the closure runs between fork and exec and only calls
    // sigaction, which is async-signal-safe; it allocates nothing.
    unsafe { cmd.pre_exec(closure) };
}

unsafe extern "C" {
    /// glibc ≥ 2.34 (and musl): fork() without the atfork handlers and
    /// without taking malloc's locks, so it may be called from a signal
    /// handler that interrupted malloc (POSIX 2024 lists it as
    /// async-signal-safe; fork() no longer is).
    fn _Fork() -> libc::pid_t;
}

/// How a program run by [`run_program`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgramEnd {
    /// It could not be started (no process, or exec failed: exit 127).
    NotRun,
    /// It was killed by a signal, or its status was lost.
    Killed,
    /// Its exit status.
    Exited(i32),
    /// It ended, but its status went to the caller's SIGCHLD disposition
    /// or reaper ([`Parent::Caller`] only).
    Lost,
}

/// Whose child the program is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent {
    /// An intermediate child's: the status always reaches us.
    Intermediate,
    /// The caller's own, so that its parent pid is the caller's pid (what
    /// `dotlockfile -p` writes into the lock); the status may be lost.
    Caller,
}

/// The most arguments [`run_program`] passes.
pub const MAX_ARGS: usize = 8;

/// Run `prog` with `args` (`argv[0]` is `prog`), an empty environment,
/// /dev/null as stdin, no signal blocked, and the effective uid as its real
/// uid (SPEC §5: the helper judges ownership by the uid the caller acts
/// as); wait for it and return how it ended.
///
/// The status reaches us whatever the caller did with SIGCHLD (SIG_IGN,
/// SA_NOCLDWAIT, a handler or a thread that reaps every child): an
/// intermediate child, with every signal blocked and SIGCHLD at its
/// default, starts the program, waits for it and writes its wait status
/// into a close-on-exec pipe; we read it there. The intermediate is reaped
/// here unless the caller's disposition or another reaper already did.
///
/// Async-signal-safe and safe in a threaded program: everything is built
/// before the fork, nothing allocates, and both children make only
/// async-signal-safe system calls before `execve` or `_exit`. The caller's
/// signal dispositions and mask are not touched in this process.
///
/// With [`Parent::Caller`] the program is forked directly, and its status
/// is [`ProgramEnd::Lost`] when the caller's SIGCHLD disposition or reaper
/// took it (it has ended either way: waitpid() of a child that is reaped
/// automatically returns only once it ended).
pub fn run_program(prog: &CStr, args: &[&CStr], parent: Parent) -> ProgramEnd {
    let mut argv: [*const c_char; MAX_ARGS + 2] = [std::ptr::null(); MAX_ARGS + 2];
    if args.len() > MAX_ARGS {
        return ProgramEnd::NotRun;
    }
    for (slot, arg) in argv.iter_mut().zip(std::iter::once(&prog).chain(args)) {
        *slot = arg.as_ptr();
    }
    let envp: [*const c_char; 1] = [std::ptr::null()];
    if parent == Parent::Caller {
        return run_direct(prog, &argv, &envp);
    }
    let mut fds: [c_int; 2] = [-1; 2];
    // SAFETY: pipe2 writes two descriptors into the array it is given.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return ProgramEnd::NotRun;
    }
    let [rfd, wfd] = fds;
    // SAFETY: _Fork() creates a child that runs only `intermediate`, which
    // makes async-signal-safe system calls and never returns.
    let pid = unsafe { _Fork() };
    if pid == 0 {
        intermediate(prog, &argv, &envp, rfd, wfd);
    }
    // SAFETY: closing our copy of the write end, a descriptor we own.
    unsafe { libc::close(wfd) };
    if pid < 0 {
        // SAFETY: closing the read end, a descriptor we own.
        unsafe { libc::close(rfd) };
        return ProgramEnd::NotRun;
    }
    let status = read_status(rfd);
    // SAFETY: closing the read end, a descriptor we own.
    unsafe { libc::close(rfd) };
    loop {
        // SAFETY: waitpid with a null status pointer only reaps `pid`, our
        // child. ECHILD: the caller's SIGCHLD disposition or reaper did.
        let rc = unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
        if rc >= 0 || Errno::last() != Errno::EINTR {
            break;
        }
    }
    match status {
        None => ProgramEnd::Killed,
        Some(-1) => ProgramEnd::NotRun,
        Some(st) if libc::WIFEXITED(st) => match libc::WEXITSTATUS(st) {
            127 => ProgramEnd::NotRun,
            code => ProgramEnd::Exited(code),
        },
        Some(_) => ProgramEnd::Killed,
    }
}

/// [`run_program`] with the program as our own child.
fn run_direct(prog: &CStr, argv: &[*const c_char], envp: &[*const c_char]) -> ProgramEnd {
    // SAFETY: _Fork() creates a child that runs only `exec_program`, which
    // makes async-signal-safe system calls and never returns.
    let pid = unsafe { _Fork() };
    if pid == 0 {
        exec_program(prog, argv, envp);
    }
    if pid < 0 {
        return ProgramEnd::NotRun;
    }
    let mut st: c_int = 0;
    loop {
        // SAFETY: waits for our own child into a local int.
        let rc = unsafe { libc::waitpid(pid, &mut st, 0) };
        if rc == pid {
            break;
        }
        if rc < 0 && Errno::last() != Errno::EINTR {
            return ProgramEnd::Lost;
        }
    }
    if libc::WIFEXITED(st) {
        match libc::WEXITSTATUS(st) {
            127 => ProgramEnd::NotRun,
            code => ProgramEnd::Exited(code),
        }
    } else {
        ProgramEnd::Killed
    }
}

/// The wait status the intermediate child writes: 4 bytes, or `None` if it
/// died without writing them.
fn read_status(rfd: c_int) -> Option<c_int> {
    let mut buf = [0u8; 4];
    let mut got = 0;
    while got < buf.len() {
        let rest = buf.get_mut(got..)?;
        // SAFETY: reading into the rest of a local buffer of its length.
        let n = unsafe { libc::read(rfd, rest.as_mut_ptr().cast(), rest.len()) };
        match n {
            0 => return None,
            n if n > 0 => got += n.unsigned_abs(),
            _ if Errno::last() == Errno::EINTR => {}
            _ => return None,
        }
    }
    Some(c_int::from_ne_bytes(buf))
}

/// The intermediate child of [`run_program`]: block every signal (no
/// handler of the caller may run here), put SIGCHLD back to its default
/// (no SIG_IGN or SA_NOCLDWAIT), start the program, wait for it, write its
/// status (-1: not started) into `wfd`, and `_exit`.
fn intermediate(
    prog: &CStr,
    argv: &[*const c_char],
    envp: &[*const c_char],
    rfd: c_int,
    wfd: c_int,
) -> ! {
    let all = full_sigset();
    // SAFETY: sigprocmask with a valid set; async-signal-safe.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, &all, std::ptr::null_mut()) };
    // SAFETY: the read end is ours; the program must not inherit it.
    unsafe { libc::close(rfd) };
    // SAFETY: a zeroed sigaction is SIG_DFL with no flags and an empty
    // mask, a valid value; sigaction is async-signal-safe.
    let dfl: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: installs SIG_DFL for SIGCHLD (clearing SA_NOCLDWAIT).
    unsafe { libc::sigaction(libc::SIGCHLD, &dfl, std::ptr::null_mut()) };
    // SAFETY: _Fork() again; the grandchild only runs `exec_program`.
    let pid = unsafe { _Fork() };
    if pid == 0 {
        exec_program(prog, argv, envp);
    }
    let mut status: c_int = -1;
    if pid > 0 {
        let mut st: c_int = 0;
        loop {
            // SAFETY: waits for our own child into a local int.
            let rc = unsafe { libc::waitpid(pid, &mut st, 0) };
            if rc == pid {
                status = st;
                break;
            }
            if rc < 0 && Errno::last() != Errno::EINTR {
                break;
            }
        }
    }
    let bytes = status.to_ne_bytes();
    // SAFETY: writes 4 bytes from a local array; a pipe write of fewer
    // than PIPE_BUF bytes is atomic.
    unsafe { libc::write(wfd, bytes.as_ptr().cast(), bytes.len()) };
    // SAFETY: _exit ends the child without running any of the caller's
    // atexit handlers or flushing its stdio buffers.
    unsafe { libc::_exit(0) }
}

/// The program's side: default dispositions for every caught signal, the
/// effective uid as real uid, /dev/null on stdin, no signal blocked, exec.
fn exec_program(prog: &CStr, argv: &[*const c_char], envp: &[*const c_char]) -> ! {
    // SAFETY: as in `intermediate`, a zeroed sigaction is SIG_DFL.
    let dfl: libc::sigaction = unsafe { std::mem::zeroed() };
    for sig in 1..=libc::SIGRTMAX() {
        // SAFETY: as `dfl`, a valid value for sigaction to write into.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: reads the disposition of `sig` into a local struct.
        let rc = unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) };
        if rc == 0 && old.sa_sigaction != libc::SIG_IGN && old.sa_sigaction != libc::SIG_DFL {
            // SAFETY: a handler of the caller must not run before exec.
            unsafe { libc::sigaction(sig, &dfl, std::ptr::null_mut()) };
        }
    }
    // SAFETY: geteuid cannot fail; setuid to it keeps us unprivileged.
    let euid = unsafe { libc::geteuid() };
    // The raw system call, not glibc's setuid(): after _Fork() in a
    // threaded program glibc still lists the parent's other threads, and
    // its setuid() would wait for them to follow (they never will). This
    // process has one thread, which is all the system call changes.
    // SAFETY: setuid(2) with a uid value; on failure we do not exec.
    if unsafe { libc::syscall(libc::SYS_setuid, euid) } != 0 {
        // SAFETY: ends the grandchild; 127 means "not run".
        unsafe { libc::_exit(127) };
    }
    // SAFETY: opening /dev/null, a constant C string.
    let null = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
    if null > 0 {
        // SAFETY: both descriptors are ours.
        unsafe { libc::dup2(null, 0) };
        // SAFETY: the spare copy is ours.
        unsafe { libc::close(null) };
    }
    let none = empty_sigset();
    // SAFETY: sigprocmask with a valid set; the program starts unblocked.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut()) };
    // SAFETY: argv and envp are NULL-terminated arrays of C strings that
    // the parent built before the fork and that live in this copy of its
    // memory.
    unsafe { libc::execve(prog.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    // SAFETY: exec failed; 127 means "not run".
    unsafe { libc::_exit(127) }
}

fn full_sigset() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigfillset initializes it.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: a valid, exclusively borrowed set.
    unsafe { libc::sigfillset(&mut set) };
    set
}

fn empty_sigset() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset initializes it.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: a valid, exclusively borrowed set.
    unsafe { libc::sigemptyset(&mut set) };
    set
}

/// Take an exclusive `flock(2)` on `fd` without waiting; it is released
/// when the descriptor is closed. `EWOULDBLOCK`: another holder has it.
pub fn try_flock(fd: std::os::fd::BorrowedFd<'_>) -> Result<(), Errno> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock() only uses the descriptor number, which `fd` keeps
    // open for the call.
    let rc = unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    Errno::result(rc).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleanup_path_round_trip() {
        set_cleanup_path(Some(Path::new("dir/.lk12345")));
        assert_eq!(CLEANUP_LEN.load(Ordering::SeqCst), 12);
        let first: Vec<u8> = CLEANUP_PATH
            .iter()
            .take(13)
            .map(|b| b.load(Ordering::SeqCst))
            .collect();
        assert_eq!(first, b"dir/.lk12345\0");
        set_cleanup_path(None);
        assert_eq!(CLEANUP_LEN.load(Ordering::SeqCst), 0);
        set_cleanup_path(Some(Path::new(&"x".repeat(PATH_MAX + 1))));
        assert_eq!(CLEANUP_LEN.load(Ordering::SeqCst), 0);
    }
}
