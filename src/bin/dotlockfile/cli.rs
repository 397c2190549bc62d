//! The command line of `dotlockfile` (docs/dotlockfile.md §6).
//!
//! Options are read the way getopt("+qpNr:mluci:tPvw") reads them: grouped
//! (`-lq`), with the argument attached or separate (`-r5`, `-r 5`), up to
//! `--` or the first argument that is not an option. Errors found while
//! reading end the program at once, as in the reference, so a `-q` given
//! after a bad `-r` does not silence it.
#![forbid(unsafe_code)]

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use lockfile::LCode;
use lockfile::cpath::LOCK_SUFFIX;
use lockfile::lock::parse_pid;
use lockfile::mail::MAILDIR;
use nix::unistd::{User, geteuid};

use crate::out::Out;

/// What to do with the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `-l` (the default): take it, and run the command if one is given.
    Lock,
    /// `-u`: remove it.
    Unlock,
    /// `-t`: touch it.
    Touch,
    /// `-c`: tell whether it is valid.
    Check,
}

/// The parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cli {
    /// What to do.
    pub action: Action,
    /// Attempts after the first (`-r`); `None`: for ever (`-r -1`).
    pub retries: Option<i32>,
    /// Fixed seconds between attempts (`-i`).
    pub interval: Option<u32>,
    /// `-p`.
    pub pid: bool,
    /// `-q`.
    pub quiet: bool,
    /// `-v` (extension).
    pub verbose: bool,
    /// `-w` (extension): wake as soon as the lock is removed, rather than
    /// sleep out the whole wait.
    pub fast_wake: bool,
    /// `-P`.
    pub passthrough: bool,
    /// The lock file.
    pub lockfile: OsString,
    /// The command and its arguments; empty for none.
    pub command: Vec<OsString>,
}

/// The usage text; printed on standard error, then exit 1.
pub const USAGE: &str = "\
Usage: dotlockfile [-l] [-r retries] [-i interval] [-p] [-q] [-v] [-w] <-m|lockfile> [-P] [command args...]
       dotlockfile -u [-p] [-q] <-m|lockfile>
       dotlockfile -t [-q] <-m|lockfile>
       dotlockfile -c [-p] [-q] [-v] <-m|lockfile>
";

/// A number read the way C's `atoi` reads it.
fn atoi(s: &OsStr) -> i32 {
    parse_pid(s.as_bytes())
}

/// The lock of the caller's mailbox (`-m`): `$MAIL.lock` when MAIL is set,
/// else MAILDIR/user.lock for the user of the effective uid.
fn mail_lock(out: &mut Out) -> Result<OsString, i32> {
    let mut path = match std::env::var_os("MAIL") {
        Some(mail) => mail.into_vec(),
        None => match User::from_uid(geteuid()) {
            Ok(Some(user)) => {
                let mut p = MAILDIR.as_bytes().to_vec();
                p.extend_from_slice(user.name.as_bytes());
                p
            }
            _ => {
                out.error(format_args!("no user name for uid {}", geteuid()));
                return Err(LCode::Error.as_c());
            }
        },
    };
    path.extend_from_slice(LOCK_SUFFIX);
    Ok(OsString::from_vec(path))
}

/// Read the command line `args` (with the program name first). On a usage
/// error or a bad value it prints what is wrong and returns the exit code.
pub fn parse(args: &[OsString], out: &mut Out) -> Result<Cli, i32> {
    let prog = args
        .first()
        .map_or_else(|| "dotlockfile".into(), |a| a.to_string_lossy());
    let usage = |out: &mut Out| {
        out.usage(USAGE);
        Err(1)
    };
    let mut cli = Cli {
        action: Action::Lock,
        retries: Some(5),
        interval: None,
        pid: false,
        quiet: false,
        verbose: false,
        fast_wake: false,
        passthrough: false,
        lockfile: OsString::new(),
        command: Vec::new(),
    };
    let (mut lock, mut unlock, mut check, mut touch) = (false, false, false, false);
    let mut mailbox: Option<OsString> = None;

    let mut rest = args.iter().skip(1).peekable();
    while let Some(arg) = rest.peek() {
        let bytes = arg.as_bytes();
        if bytes == b"--" {
            rest.next();
            break;
        }
        let Some(opts) = bytes.strip_prefix(b"-").filter(|o| !o.is_empty()) else {
            break;
        };
        let opts = opts.to_vec();
        rest.next();
        for (i, &c) in opts.iter().enumerate() {
            match c {
                b'q' => {
                    cli.quiet = true;
                    out.quiet = true;
                }
                b'p' => cli.pid = true,
                b'N' => {}
                b'm' => mailbox = Some(mail_lock(out)?),
                b'l' => lock = true,
                b'u' => unlock = true,
                b'c' => check = true,
                b't' => touch = true,
                b'P' => cli.passthrough = true,
                b'v' => cli.verbose = true,
                b'w' => cli.fast_wake = true,
                b'r' | b'i' => {
                    let attached = opts.get(i + 1..).filter(|a| !a.is_empty());
                    let value = match attached {
                        Some(a) => OsStr::from_bytes(a).to_os_string(),
                        None => match rest.next() {
                            Some(v) => v.clone(),
                            None => {
                                out.error_raw(format_args!(
                                    "{prog}: option requires an argument -- '{}'",
                                    char::from(c)
                                ));
                                return usage(out);
                            }
                        },
                    };
                    let n = atoi(&value);
                    let zero = value.as_bytes() == b"0";
                    if c == b'r' {
                        if n <= 0 && n != -1 && !zero {
                            out.error(format_args!(
                                "-r {}: invalid argument",
                                value.to_string_lossy()
                            ));
                            return Err(LCode::Error.as_c());
                        }
                        cli.retries = (n != -1).then_some(n);
                    } else {
                        let secs = u32::try_from(n).ok().filter(|&s| s > 0 || zero);
                        let Some(secs) = secs else {
                            out.error(format_args!("-i needs argument >= 0"));
                            return Err(LCode::Error.as_c());
                        };
                        cli.interval = Some(secs);
                    }
                    break;
                }
                other => {
                    out.error_raw(format_args!(
                        "{prog}: invalid option -- '{}'",
                        char::from(other)
                    ));
                    return usage(out);
                }
            }
        }
    }

    cli.lockfile = match mailbox {
        Some(m) => m,
        None => match rest.next() {
            Some(l) => l.clone(),
            None => return usage(out),
        },
    };
    cli.command = rest.cloned().collect();
    if (!cli.command.is_empty() || lock) && (touch || check || unlock) {
        return usage(out);
    }
    cli.action = if check {
        Action::Check
    } else if touch {
        Action::Touch
    } else if unlock {
        Action::Unlock
    } else {
        Action::Lock
    };
    Ok(cli)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Cli, i32> {
        let args: Vec<OsString> = std::iter::once("dotlockfile")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        parse(&args, &mut Out::silent())
    }

    #[test]
    fn defaults() {
        let c = p(&["x.lock"]).unwrap();
        assert_eq!(c.action, Action::Lock);
        assert_eq!(c.retries, Some(5));
        assert_eq!(c.interval, None);
        assert_eq!(c.lockfile, "x.lock");
        assert!(c.command.is_empty());
    }

    #[test]
    fn grouped_and_attached() {
        let c = p(&["-lqr3", "-i2", "x", "cmd", "-r", "9"]).unwrap();
        assert!(c.quiet);
        assert_eq!(c.retries, Some(3));
        assert_eq!(c.interval, Some(2));
        assert_eq!(c.command, ["cmd", "-r", "9"]);
        let c = p(&["-r", "0", "-i", "0", "--", "-x"]).unwrap();
        assert_eq!((c.retries, c.interval), (Some(0), Some(0)));
        assert_eq!(c.lockfile, "-x");
        assert_eq!(p(&["-"]).unwrap().lockfile, "-");
    }

    #[test]
    fn retries_like_atoi() {
        assert_eq!(p(&["-r", "-1", "x"]).unwrap().retries, None);
        assert_eq!(p(&["-r", "7abc", "x"]).unwrap().retries, Some(7));
        for bad in ["-2", "abc", "00", "", "+0"] {
            assert_eq!(p(&["-r", bad, "x"]), Err(5), "{bad}");
        }
        for bad in ["-1", "x", "00"] {
            assert_eq!(p(&["-i", bad, "x"]), Err(5), "{bad}");
        }
    }

    #[test]
    fn usage_errors() {
        assert_eq!(p(&[]), Err(1));
        assert_eq!(p(&["-z", "x"]), Err(1));
        assert_eq!(p(&["-r"]), Err(1));
        assert_eq!(p(&["-u", "x", "cmd"]), Err(1));
        assert_eq!(p(&["-l", "-c", "x"]), Err(1));
        assert_eq!(p(&["-c", "-u", "x"]).unwrap().action, Action::Check);
        assert_eq!(p(&["-t", "-u", "x"]).unwrap().action, Action::Touch);
    }
}
