//! `dotlock`: run a command while holding a mailbox the way Mail Avenger's
//! `dotlock` holds it: flock, the dot-lock `MBOX.lock`, and optionally an
//! fcntl lock (SPEC §7, man page dotlock(1)).
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod cli;
mod run;
mod status;

fn main() {
    std::process::exit(run::main())
}
