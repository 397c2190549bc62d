//! The command line of `dotlock`:
//!
//! ```text
//! dotlock [-LPW] [--noflock] [--fcntl] [--nowait] mbox command [args...]
//! dotlock --status mbox
//! dotlock --help | --version
//! ```
//!
//! Short options may be grouped (`-LW`) and mixed with the long ones;
//! options end at `--` or at the first argument that is not an option, the
//! mailbox, so that the command's own options pass through untouched.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

/// Run a command while holding the mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cli {
    /// `-L`, `--noflock`: no flock.
    pub no_flock: bool,
    /// `-P`, `--fcntl`: an fcntl lock too.
    pub fcntl: bool,
    /// `-W`, `--nowait`: fail at once if any lock is busy.
    pub no_wait: bool,
    /// The mailbox.
    pub mbox: OsString,
    /// The command and its arguments (never empty).
    pub command: Vec<OsString>,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Lock the mailbox and run the command.
    Run(Cli),
    /// `--status mbox`: say who holds the mailbox, take nothing.
    Status(OsString),
    /// `--help`.
    Help,
    /// `--version`.
    Version,
}

/// The usage text (stderr on errors, stdout for `--help`).
pub const USAGE: &str = "usage: dotlock [-LPW] mbox command [args...]
       dotlock --status mbox
       dotlock --help | --version";

/// The options, for `--help`.
pub const HELP: &str = "Run a command while holding a mailbox locked: flock, the dot-lock
mbox.lock, and with -P an fcntl lock.

  -L, --noflock   do not take the flock
  -P, --fcntl     also take an fcntl (POSIX) lock on the mailbox
  -W, --nowait    exit at once (status 75) if any lock is busy
      --status    report the dot-lock and every flock and fcntl lock on
                  the mailbox, taking none (exit 0 free, 1 held, 2 error)
      --help      show this text
      --version   show the version
  --              end of the options";

/// Read the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Action, String> {
    let mut args = args.into_iter().peekable();
    let (mut no_flock, mut fcntl, mut no_wait, mut status) = (false, false, false, false);
    while let Some(arg) = args.peek() {
        let bytes = arg.as_bytes();
        if bytes == b"--" {
            args.next();
            break;
        }
        if let Some(long) = bytes.strip_prefix(b"--") {
            match long {
                b"noflock" => no_flock = true,
                b"fcntl" => fcntl = true,
                b"nowait" => no_wait = true,
                b"status" => status = true,
                b"help" => return Ok(Action::Help),
                b"version" => return Ok(Action::Version),
                _ => {
                    return Err(format!(
                        "unknown option --{}",
                        String::from_utf8_lossy(long)
                    ));
                }
            }
            args.next();
            continue;
        }
        let Some(flags) = bytes.strip_prefix(b"-").filter(|f| !f.is_empty()) else {
            break;
        };
        for &flag in flags {
            match flag {
                b'L' => no_flock = true,
                b'P' => fcntl = true,
                b'W' => no_wait = true,
                other => return Err(format!("unknown option -{}", char::from(other))),
            }
        }
        args.next();
    }
    let mbox = args.next().ok_or("no mailbox given")?;
    if mbox.is_empty() {
        return Err("empty mailbox name".into());
    }
    let command: Vec<OsString> = args.collect();
    if status {
        if no_flock || fcntl || no_wait {
            return Err("--status takes no other option".into());
        }
        if !command.is_empty() {
            return Err("--status takes no command".into());
        }
        return Ok(Action::Status(mbox));
    }
    if command.is_empty() {
        return Err("no command given".into());
    }
    Ok(Action::Run(Cli {
        no_flock,
        fcntl,
        no_wait,
        mbox,
        command,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Action, String> {
        parse(args.iter().map(OsString::from))
    }

    fn ok(l: bool, pp: bool, w: bool, mbox: &str, cmd: &[&str]) -> Result<Action, String> {
        Ok(Action::Run(Cli {
            no_flock: l,
            fcntl: pp,
            no_wait: w,
            mbox: mbox.into(),
            command: cmd.iter().map(OsString::from).collect(),
        }))
    }

    #[test]
    fn table() {
        assert_eq!(p(&["m", "true"]), ok(false, false, false, "m", &["true"]));
        assert_eq!(
            p(&["-L", "m", "true"]),
            ok(true, false, false, "m", &["true"])
        );
        assert_eq!(
            p(&["-PW", "m", "ls", "-l"]),
            ok(false, true, true, "m", &["ls", "-l"])
        );
        assert_eq!(
            p(&["-L", "-P", "-W", "--", "-m", "x"]),
            ok(true, true, true, "-m", &["x"])
        );
        assert_eq!(
            p(&["m", "cmd", "-W"]),
            ok(false, false, false, "m", &["cmd", "-W"])
        );
        assert_eq!(p(&["-", "true"]), ok(false, false, false, "-", &["true"]));
        assert!(p(&["-x", "m", "true"]).is_err());
        assert!(p(&["m"]).is_err());
        assert!(p(&[]).is_err());
        assert!(p(&["-W"]).is_err());
        assert!(p(&["", "true"]).is_err());
    }

    #[test]
    fn long_options_are_the_short_ones() {
        for (long, short) in [
            (&["--noflock"][..], &["-L"][..]),
            (&["--fcntl"], &["-P"]),
            (&["--nowait"], &["-W"]),
            (&["--noflock", "-PW"], &["-LPW"]),
            (&["-L", "--fcntl", "--nowait"], &["-LPW"]),
        ] {
            let args = |opts: &[&str]| {
                let mut v: Vec<&str> = opts.to_vec();
                v.extend(["m", "cmd", "--noflock"]);
                p(&v)
            };
            assert_eq!(args(long), args(short), "{long:?}");
            assert!(args(long).is_ok());
        }
        assert_eq!(
            p(&["--nowait", "--", "--fcntl", "x"]),
            ok(false, false, true, "--fcntl", &["x"])
        );
        assert_eq!(p(&["--help"]), Ok(Action::Help));
        assert_eq!(p(&["-L", "--help", "m", "x"]), Ok(Action::Help));
        assert_eq!(p(&["--version"]), Ok(Action::Version));
        assert_eq!(
            p(&["--bogus", "m", "x"]),
            Err("unknown option --bogus".into())
        );
        assert!(p(&["--noflock=yes", "m", "x"]).is_err());
    }

    #[test]
    fn status() {
        assert_eq!(p(&["--status", "m"]), Ok(Action::Status("m".into())));
        assert_eq!(
            p(&["--status", "--", "-m"]),
            Ok(Action::Status("-m".into()))
        );
        assert!(p(&["--status"]).is_err());
        assert!(p(&["--status", "m", "true"]).is_err());
        assert!(p(&["--status", "-W", "m"]).is_err());
    }
}
