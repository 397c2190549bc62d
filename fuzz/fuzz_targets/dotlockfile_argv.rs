//! dotlockfile's command-line parser (src/bin/dotlockfile/cli.rs, compiled
//! here as it is) over fuzzed argument vectors and `$MAIL` values.
//!
//! The parser lives in the program, not the library, so this target
//! includes its source and stands in for the program's output type with
//! one that only counts messages. Whatever the arguments: no panic, no
//! hang; an accepted command line names a lock file, asks for at most
//! one action and keeps retries and interval in range (docs/dotlockfile.md §6); a refused
//! one exits 1 or with L_NAMELEN.
#![no_main]

use std::ffi::OsString;
use std::fmt;
use std::os::unix::ffi::OsStringExt;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[allow(dead_code, unused_imports)]
#[path = "../../src/bin/dotlockfile/cli.rs"]
mod cli;

/// The part of the program's output type (src/bin/dotlockfile/out.rs)
/// that the parser uses.
mod out {
    use super::fmt;

    #[derive(Debug, Default)]
    pub struct Out {
        pub quiet: bool,
        pub messages: std::cell::Cell<usize>,
    }

    impl Out {
        pub fn error(&self, what: fmt::Arguments<'_>) {
            let _ = what.to_string();
            self.messages.set(self.messages.get() + 1);
        }
        pub fn error_raw(&self, what: fmt::Arguments<'_>) {
            self.error(what);
        }
        pub fn usage(&self, text: &str) {
            assert!(text.starts_with("Usage: dotlockfile"));
            self.messages.set(self.messages.get() + 1);
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    args: Vec<Vec<u8>>,
    mail: Option<Vec<u8>>,
}

fuzz_target!(|input: Input| {
    let mut args: Vec<OsString> = vec!["dotlockfile".into()];
    args.extend(
        input
            .args
            .iter()
            .take(24)
            .map(|a| OsString::from_vec(a.iter().copied().filter(|&b| b != 0).collect())),
    );
    match input.mail.map(|m| {
        m.into_iter()
            .filter(|&b| b != 0 && b != b'=')
            .collect::<Vec<u8>>()
    }) {
        // SAFETY: single-threaded; nothing else reads the environment now.
        Some(m) if !m.is_empty() => unsafe { std::env::set_var("MAIL", OsString::from_vec(m)) },
        // SAFETY: as above.
        _ => unsafe { std::env::remove_var("MAIL") },
    }
    let mut out = out::Out::default();
    match cli::parse(&args, &mut out) {
        Ok(c) => {
            // The lock is an argument as given (even ""), or the mailbox's.
            assert!(
                args.contains(&c.lockfile) || c.lockfile.as_encoded_bytes().ends_with(b".lock"),
                "lock file {:?} from {args:?}",
                c.lockfile
            );
            assert!(c.retries.is_none_or(|r| r >= 0), "{c:?}");
            assert!(c.interval.is_none_or(|i| i <= i32::MAX as u32), "{c:?}");
            if c.action != cli::Action::Lock {
                assert!(
                    c.command.is_empty(),
                    "a command with {:?}: {args:?}",
                    c.action
                );
            }
        }
        Err(code) => {
            assert!(
                code == 1
                    || code == lockfile::LCode::NameLen.as_c()
                    || code == lockfile::LCode::Error.as_c(),
                "exit {code} for {args:?}"
            );
        }
    }
});
