//! The programs' runtime: what only a program that owns its process may
//! do, and that cannot be written without `unsafe`: signal handlers and
//! the code run in a child between `fork` and `exec`. Shared by
//! `dotlockfile` and `dotlock` (each includes this file; each uses part
//! of it). The libraries never change a signal disposition of the
//! caller's process.
#![allow(unsafe_code, dead_code)]

use std::ffi::c_int;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use lockfile::cpath::PATH_MAX;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::unistd::{Gid, fchdir, getresgid, setresgid};

/// The temporary file a signal handler must remove: its bytes, then a NUL.
/// Atomics, so that writing it is safe and a handler reads whole bytes.
static CLEANUP_PATH: [AtomicU8; PATH_MAX + 1] = [const { AtomicU8::new(0) }; PATH_MAX + 1];
/// The length of [`CLEANUP_PATH`]; 0 when there is nothing to remove.
static CLEANUP_LEN: AtomicUsize = AtomicUsize::new(0);

/// Name the file that [`Action::Cleanup`] handlers remove (`None`: none).
/// A name too long or containing a NUL is not recorded.
pub fn set_cleanup_path(path: Option<&[u8]>) {
    CLEANUP_LEN.store(0, Ordering::SeqCst);
    let Some(bytes) = path else {
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
pub fn handle_signal(
    sig: Signal,
    action: Action,
    keep_ignored: bool,
) -> Result<(), nix::errno::Errno> {
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
            return Err(nix::errno::Errno::EPERM.into());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleanup_path_round_trip() {
        set_cleanup_path(Some(b"dir/.lk12345"));
        assert_eq!(CLEANUP_LEN.load(Ordering::SeqCst), 12);
        let first: Vec<u8> = CLEANUP_PATH
            .iter()
            .take(13)
            .map(|b| b.load(Ordering::SeqCst))
            .collect();
        assert_eq!(first, b"dir/.lk12345\0");
        set_cleanup_path(None);
        assert_eq!(CLEANUP_LEN.load(Ordering::SeqCst), 0);
        set_cleanup_path(Some("x".repeat(PATH_MAX + 1).as_bytes()));
        assert_eq!(CLEANUP_LEN.load(Ordering::SeqCst), 0);
    }
}
