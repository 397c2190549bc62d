//! The command line of `dotlock`: `dotlock [-LPW] mbox command [args...]`.
//!
//! Options may be grouped (`-LW`); they end at `--` or at the first
//! argument that is not an option, the mailbox, so that the command's own
//! options pass through untouched.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cli {
    /// `-L`: no flock.
    pub no_flock: bool,
    /// `-P`: an fcntl lock too.
    pub fcntl: bool,
    /// `-W`: fail at once if any lock is busy.
    pub no_wait: bool,
    /// The mailbox.
    pub mbox: OsString,
    /// The command and its arguments (never empty).
    pub command: Vec<OsString>,
}

/// The usage text, for errors.
pub const USAGE: &str = "usage: dotlock [-LPW] mbox command [args...]";

/// Read the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Cli, String> {
    let mut args = args.into_iter().peekable();
    let (mut no_flock, mut fcntl, mut no_wait) = (false, false, false);
    while let Some(arg) = args.peek() {
        let bytes = arg.as_bytes();
        if bytes == b"--" {
            args.next();
            break;
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
    if command.is_empty() {
        return Err("no command given".into());
    }
    Ok(Cli {
        no_flock,
        fcntl,
        no_wait,
        mbox,
        command,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Cli, String> {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn table() {
        let ok = |l, pp, w, mbox: &str, cmd: &[&str]| {
            Ok(Cli {
                no_flock: l,
                fcntl: pp,
                no_wait: w,
                mbox: mbox.into(),
                command: cmd.iter().map(OsString::from).collect(),
            })
        };
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
}
