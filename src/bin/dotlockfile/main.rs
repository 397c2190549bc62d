//! `dotlockfile`: take, test, refresh or release a lock file from the
//! shell; installed set-group-ID mail, it is also the library's helper for
//! group-mail spools (SPEC §5-6, man page dotlockfile(1)).
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
mod privs;
mod run;

fn main() {
    // First of all: stop acting with the group we may be installed with.
    let privs = privs::Privs::drop_at_start();
    std::process::exit(run::main(privs))
}
