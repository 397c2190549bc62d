//! Generates include/lockfile.h and include/maillock.h with cbindgen into
//! OUT_DIR, and passes the build-time settings (MAILDIR, the helper's path)
//! to the crate. With LOCKFILE_BLESS_HEADERS=1 (`make headers`) it also
//! copies the headers over include/; it never writes the tree otherwise.
//! On GNU/Linux it also links the programs with libgcc's unwinder
//! statically, as the Makefile links the shared library (STYLE §6).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn generate(root: &Path, out: &Path, name: &str, sources: &[&str]) {
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
        let dest = root.join("include").join(format!("{name}.h"));
        fs::copy(&header, &dest).unwrap_or_else(|e| panic!("{}: {e}", dest.display()));
    }
}

/// Links the programs (dotlockfile, dotlock) with libgcc_eh.a instead of
/// libgcc_s.so.1. Rust's std asks for `-lgcc_s`; a linker script of that
/// name found first on the search path turns the request into the static
/// archive that `gcc -static-libgcc` uses. The programs then need only
/// libc, and a dotlockfile start no longer loads a second shared object
/// (about a tenth of the time of a `dotlockfile -l`/`-u` pair).
fn static_libgcc_for_programs(out: &Path) {
    let linux_gnu = env::var("CARGO_CFG_TARGET_OS").is_ok_and(|v| v == "linux")
        && env::var("CARGO_CFG_TARGET_ENV").is_ok_and(|v| v == "gnu");
    if !linux_gnu {
        return;
    }
    let dir = out.join("static-libgcc");
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let script = dir.join("libgcc_s.so");
    fs::write(&script, "INPUT(-lgcc_eh)\n").unwrap_or_else(|e| panic!("{}: {e}", script.display()));
    // GNU ld applies every -L to every -l, whatever their order.
    println!("cargo:rustc-link-arg-bins=-L{}", dir.display());
}

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    for f in [
        "src/ffi/mod.rs",
        "src/ffi/lockfile.rs",
        "src/ffi/maillock.rs",
        "src/ffi/mbox.rs",
        "cbindgen-lockfile.toml",
        "cbindgen-maillock.toml",
        "cbindgen-lockfile_mbox.toml",
    ] {
        println!("cargo:rerun-if-changed={f}");
    }
    for v in [
        "LOCKFILE_BLESS_HEADERS",
        "LOCKFILE_MAILDIR",
        "LOCKFILE_HELPER",
    ] {
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

    static_libgcc_for_programs(&out);

    // ffi/mod.rs brings its submodules; the config leaves out maillock.rs.
    generate(&root, &out, "lockfile", &["src/ffi/mod.rs"]);
    generate(&root, &out, "maillock", &["src/ffi/maillock.rs"]);
    generate(&root, &out, "lockfile_mbox", &["src/ffi/mbox.rs"]);
}
