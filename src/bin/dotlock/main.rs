//! `dotlock`: run a command while holding a mailbox the way Mail Avenger's
//! `dotlock` holds it: flock, the dot-lock `MBOX.lock`, and optionally an
//! fcntl lock (docs/other-systems.md §7, man page dotlock(1)).
#![deny(unsafe_code)]

mod cli;
mod run;
#[path = "../common/runtime.rs"]
mod runtime;
mod status;

fn main() {
    std::process::exit(run::main())
}
