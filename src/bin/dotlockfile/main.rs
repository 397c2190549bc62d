//! `dotlockfile`: take, test, refresh or release a lock file from the
//! shell; installed set-group-ID mail, it is also the library's helper for
//! group-mail spools (docs/c-policy.md §5, docs/dotlockfile.md §6, man page dotlockfile(1)).
//!
//! The program starts at a C `main`, not at Rust's: std's start-up reads
//! /proc/self/maps, maps a signal stack and installs stack-overflow
//! handlers, which costs a short-lived program as much as its work. What
//! the C original inherits it inherits too: the SIGPIPE disposition and
//! the standard descriptors (which the C library already makes safe for
//! a set-group-ID start).
#![cfg_attr(not(test), no_main)]
#![deny(unsafe_code)]

mod cli;
mod out;
mod privs;
mod run;
#[path = "../common/runtime.rs"]
mod runtime;

/// The entry point the C runtime calls. The arguments are read through
/// `std::env::args_os`, which the C library hands to std on GNU/Linux.
#[cfg(not(test))]
// The one unsafe item of the programs: exporting the symbol `main`, which
// no other object of the program defines (std's `main` is not generated
// under `no_main`), with the C signature crt1 calls it with.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    start()
}

/// Under `cargo test` the harness brings its own entry point; this keeps
/// the program's code reachable so that the lints judge it as built.
#[cfg(test)]
fn main() {
    start();
}

/// Runs the program and exits with its status.
fn start() -> ! {
    // First of all: stop acting with the group we may be installed with.
    let privs = privs::Privs::drop_at_start();
    std::process::exit(run::main(privs))
}
