//! Links the programs (dotlockfile, dotlock) with libgcc's unwinder
//! statically, as the Makefile links the shared library (docs/layers.md).
// A build script reports a failure by panicking.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::env;
use std::fs;
use std::path::PathBuf;

/// Links the programs with libgcc_eh.a instead of libgcc_s.so.1. Rust's
/// std asks for `-lgcc_s`; a linker script of that name found first on
/// the search path turns the request into the static archive that `gcc
/// -static-libgcc` uses. The programs then need only libc, and a
/// dotlockfile start no longer loads a second shared object (about a
/// tenth of the time of a `dotlockfile -l`/`-u` pair).
fn main() {
    let linux_gnu = env::var("CARGO_CFG_TARGET_OS").is_ok_and(|v| v == "linux")
        && env::var("CARGO_CFG_TARGET_ENV").is_ok_and(|v| v == "gnu");
    if !linux_gnu {
        return;
    }
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let dir = out.join("static-libgcc");
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let script = dir.join("libgcc_s.so");
    fs::write(&script, "INPUT(-lgcc_eh)\n").unwrap_or_else(|e| panic!("{}: {e}", script.display()));
    // GNU ld applies every -L to every -l, whatever their order.
    println!("cargo:rustc-link-arg-bins=-L{}", dir.display());
}
