//! The output of `dotlockfile`: messages that never panic, and that a
//! closed or broken stdout/stderr cannot stop.
#![forbid(unsafe_code)]

use std::fmt;
use std::io::Write;

/// Output that never panics: a closed or broken stdout/stderr is ignored.
#[derive(Debug, Default)]
pub struct Out {
    /// `-q`: no warnings or error messages.
    pub quiet: bool,
    /// Print nothing at all (unit tests).
    silent: bool,
}

impl Out {
    /// Output to the standard streams.
    pub fn new() -> Out {
        Out::default()
    }

    /// Output that goes nowhere.
    #[cfg(test)]
    pub fn silent() -> Out {
        Out {
            quiet: true,
            silent: true,
        }
    }

    fn write(&self, to_stdout: bool, text: &str) {
        if self.silent {
            return;
        }
        let _ = if to_stdout {
            let mut o = std::io::stdout().lock();
            o.write_all(text.as_bytes()).and_then(|()| o.flush())
        } else {
            std::io::stderr().lock().write_all(text.as_bytes())
        };
    }

    /// "dotlockfile: what" on stderr, unless quiet.
    pub fn error(&self, what: fmt::Arguments<'_>) {
        if !self.quiet {
            self.write(false, &format!("dotlockfile: {what}\n"));
        }
    }

    /// A line on stderr even when quiet (as getopt's and exec's messages
    /// are in the reference).
    pub fn error_raw(&self, what: fmt::Arguments<'_>) {
        self.write(false, &format!("{what}\n"));
    }

    /// The usage text on stderr.
    pub fn usage(&self, text: &str) {
        self.write(false, text);
    }

    /// A line of the `-v` report on stdout.
    pub fn report(&self, what: fmt::Arguments<'_>) {
        self.write(true, &format!("{what}\n"));
    }

    /// A `-v` progress line on stderr, unless quiet.
    pub fn progress(&self, what: fmt::Arguments<'_>) {
        if !self.quiet {
            self.write(false, &format!("dotlockfile: {what}\n"));
        }
    }
}
