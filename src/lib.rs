//! liblockfile-rs: a drop-in replacement, in Rust, for Debian's liblockfile
//! 1.17 (`liblockfile.so.1`, `lockfile.h`, `maillock.h`) and the SysV
//! `maillock` functions.
//!
//! - [`lock`]: the safe core and Rust API (`Lock`, `create`, `check`,
//!   `remove`, `touch`), with an injectable clock and wait strategy.
//! - [`mail`]: the process-wide mail lock of `maillock()`.
//! - [`mbox`]: flock, dot-lock and fcntl on a mailbox in one call, as
//!   Mail Avenger's `dotlock` takes them.
//! - [`helper`]: the setgid `dotlockfile` helper for group-mail spools.
//! - [`policy`]: what the C API does (waiter choice, helper fallback, the
//!   mail lock), calling the modules above; one direction, no callbacks.
//! - `ffi`: the C ABI: converts arguments and calls [`policy`].
//! - [`sys`]: the few operations that need `unsafe` outside `ffi`.
//!
//! Panics never cross the C boundary: the libraries are built with
//! `panic = "abort"`, and since Rust 1.81 an `extern "C"` function aborts
//! rather than unwind. The minimum Rust is 1.85 (edition 2024).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod error;
pub mod ffi;
pub mod helper;
pub mod lock;
pub mod mail;
pub mod mbox;
pub mod policy;
pub mod sys;
#[cfg(test)]
mod testutil;

pub use error::{Errno, LCode, LockError};
