//! Passes the build-time settings to the crate: the mail spool (MAILDIR)
//! and the helper's absolute path, from the Makefile.
// A build script reports a failure by panicking.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::env;

fn main() {
    for v in ["LOCKFILE_MAILDIR", "LOCKFILE_HELPER"] {
        println!("cargo:rerun-if-env-changed={v}");
    }
    let mut maildir = env::var("LOCKFILE_MAILDIR").unwrap_or_else(|_| "/var/mail".into());
    if !maildir.ends_with('/') {
        maildir.push('/');
    }
    println!("cargo:rustc-env=LOCKFILE_MAILDIR={maildir}");
    let helper =
        env::var("LOCKFILE_HELPER").unwrap_or_else(|_| "/usr/local/bin/dotlockfile".into());
    assert!(
        helper.starts_with('/'),
        "LOCKFILE_HELPER must be an absolute path"
    );
    println!("cargo:rustc-env=LOCKFILE_HELPER={helper}");
}
