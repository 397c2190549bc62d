//! Generates include/lockfile.h, include/maillock.h and
//! include/lockfile_mbox.h with cbindgen into OUT_DIR. With
//! LOCKFILE_BLESS_HEADERS=1 (`make headers`) it also copies them over
//! include/ at the top of the tree; it never writes the tree otherwise.
// A build script reports a failure by panicking.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn generate(root: &Path, top: &Path, out: &Path, name: &str, sources: &[&str]) {
    let config = cbindgen::Config::from_file(root.join(format!("cbindgen-{name}.toml")))
        .unwrap_or_else(|e| panic!("cbindgen-{name}.toml: {e}"));
    let mut builder = cbindgen::Builder::new().with_config(config);
    for src in sources {
        builder = builder.with_src(root.join(src));
    }
    let header = out.join(format!("{name}.h"));
    builder
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen {name}.h: {e}"))
        .write_to_file(&header);
    if env::var_os("LOCKFILE_BLESS_HEADERS").is_some_and(|v| v == "1") {
        let dest = top.join("include").join(format!("{name}.h"));
        fs::copy(&header, &dest).unwrap_or_else(|e| panic!("{}: {e}", dest.display()));
    }
}

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let top = root.join("../..");
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    for f in [
        "src/lib.rs",
        "src/lockfile.rs",
        "src/maillock.rs",
        "src/mbox.rs",
        "cbindgen-lockfile.toml",
        "cbindgen-maillock.toml",
        "cbindgen-lockfile_mbox.toml",
    ] {
        println!("cargo:rerun-if-changed={f}");
    }
    println!("cargo:rerun-if-env-changed=LOCKFILE_BLESS_HEADERS");

    // lib.rs brings its submodules; the config leaves out maillock.rs.
    generate(&root, &top, &out, "lockfile", &["src/lib.rs"]);
    generate(&root, &top, &out, "maillock", &["src/maillock.rs"]);
    generate(&root, &top, &out, "lockfile_mbox", &["src/mbox.rs"]);
}
