//! The core of liblockfile-rs: dot-locks as Debian's liblockfile 1.17
//! takes them (docs/protocol.md §2, docs/decisions.md §8), without the standard library and without
//! allocating, so that the C library built on it carries no Rust runtime.
//!
//! - [`lock`]: create, check, touch and remove a lock; the one waiting
//!   function ([`lock::wait()`]) and its time seam ([`lock::Time`]).
//! - [`mail`]: the process-wide mail lock of `maillock()`.
//! - [`mbox`]: flock, dot-lock and fcntl on a mailbox in one call.
//! - [`helper`]: the setgid `dotlockfile` helper for group-mail spools.
//! - [`policy`]: what the C API does, calling the modules above.
//! - [`sys`]: the one module with `unsafe`: the libc calls.
//!
//! Paths are `&CStr` and stack buffers of `PATH_MAX` ([`cpath`]). The
//! minimum Rust is 1.85 (edition 2024).
#![cfg_attr(not(test), no_std)]

pub mod cpath;
pub mod error;
pub mod helper;
pub mod lock;
pub mod mail;
pub mod mbox;
pub mod policy;
pub mod sys;

pub use error::{LCode, LockError};
pub use sys::Errno;

#[cfg(test)]
mod testutil_deps {
    pub(crate) use crate::LockError;
    pub(crate) use crate::lock::{RealTime, Time};
    pub(crate) use crate::sys;
}
#[cfg(test)]
mod testutil;
