//! `dotlock --status mbox`: who holds the mailbox, found without taking or
//! changing anything: the dot-lock `mbox.lock` (the library's report: the
//! pid and host written in it, its age, when it goes stale and why) and every flock and fcntl lock on the mailbox
//! in the kernel's lock table, `/proc/locks`, matched by device and inode,
//! with the holder's command name and start time from `/proc/PID`.
//!
//! Everything here reads files that every user may read, so a user can
//! ask about their own mailbox. Exit status: 0 free, 1 held, 2 error.
#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use lockfile::dotlock_path;
use lockfile::lock::identity::Origin;
use lockfile::lock::{CONTENT_MAX, RealTime, Verdict, Why, pid_alive, report};
use lockfile::mbox::STALE_QUIET;

/// Exit statuses.
pub const FREE: i32 = 0;
pub const HELD: i32 = 1;
pub const ERROR: i32 = 2;

/// Which kind of lock a line of `/proc/locks` describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// flock(2).
    Flock,
    /// fcntl(2) F_SETLK, owned by a process.
    Posix,
    /// fcntl(2) F_OFD_SETLK, owned by an open file description.
    Ofd,
}

/// One line of `/proc/locks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelLock {
    /// flock, POSIX or OFD.
    pub kind: Kind,
    /// READ or WRITE.
    pub access: String,
    /// The process that took it (-1: none, for OFD locks).
    pub pid: i32,
    /// The file: device major, minor and inode.
    pub dev: (u32, u32),
    /// The inode.
    pub ino: u64,
    /// The bytes, "START-END" (END may be EOF).
    pub range: String,
    /// A process waiting for the lock rather than holding it ("->").
    pub waiting: bool,
}

/// Read the kernel's lock table, `/proc/locks`:
///
/// ```text
/// 1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF
/// 1: -> FLOCK  ADVISORY  WRITE 1240 08:01:5678 0 EOF
/// 2: POSIX  ADVISORY  WRITE 1235 00:2a:99 0 EOF
/// ```
///
/// Lines it does not understand (leases, other kinds) are left out.
pub fn parse_locks(text: &str) -> Vec<KernelLock> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<KernelLock> {
    let mut f = line.split_whitespace().skip(1).peekable();
    let waiting = f.next_if_eq(&"->").is_some();
    let kind = match f.next()? {
        "FLOCK" => Kind::Flock,
        "POSIX" => Kind::Posix,
        "OFDLCK" => Kind::Ofd,
        _ => return None,
    };
    let _mode = f.next()?;
    let access = f.next()?.to_string();
    let pid = f.next()?.parse().ok()?;
    let mut id = f.next()?.split(':');
    let major = u32::from_str_radix(id.next()?, 16).ok()?;
    let minor = u32::from_str_radix(id.next()?, 16).ok()?;
    let ino = id.next()?.parse().ok()?;
    let range = format!("{}-{}", f.next()?, f.next()?);
    Some(KernelLock {
        kind,
        access,
        pid,
        dev: (major, minor),
        ino,
        range,
        waiting,
    })
}

/// Seconds since 1970 as "YYYY-MM-DD HH:MM:SS UTC".
pub fn utc(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// The start time of a process, in seconds since 1970, from field 22 of
/// `/proc/PID/stat` (clock ticks after boot) and `btime` of `/proc/stat`.
fn started(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: the
    // fields after it start after the last ')'.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let ticks: u64 = rest.split_whitespace().nth(19)?.parse().ok()?;
    let btime: u64 = fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())?;
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|h| u64::try_from(h).ok())
        .filter(|&h| h > 0)?;
    Some(btime + ticks / hz)
}

/// "pid 1234 (procmail), running since ..." for a lock's holder.
fn holder(pid: i32) -> String {
    if pid <= 0 {
        return "no process (an open file description lock)".into();
    }
    if !alive(pid) {
        // flock and OFD locks belong to the open file: a child that
        // inherited the descriptor may hold it after the taker ended.
        return format!(
            "pid {pid}, which has ended (a process that inherited its descriptor holds it)"
        );
    }
    let comm = fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|c| c.trim_end().to_string())
        .unwrap_or_else(|_| "?".into());
    let mut s = format!("pid {pid} ({comm})");
    match started(pid) {
        Some(t) => {
            let _ = write!(s, ", running since {}", utc(t));
        }
        None => s.push_str(", start time unknown"),
    }
    s
}

/// Whether a process is alive (EPERM: alive, someone else's; unknown
/// counts as alive, as it does for the library's waiters).
fn alive(pid: i32) -> bool {
    pid_alive(pid) != Some(false)
}

/// The first bytes of a lock's content, for showing a lock without a
/// pid. Non-blocking: a FIFO or a device at the lock's name answers at once.
fn content(lock: &Path) -> Vec<u8> {
    let mut buf = vec![0; CONTENT_MAX];
    let n = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(lock)
        .and_then(|mut f| f.read(&mut buf))
        .unwrap_or(0);
    buf.truncate(n);
    buf
}

/// Describe the dot-lock; `Ok(None)` when there is none. What is valid or
/// stale, and why, is the library's report (the rule every waiter uses).
fn dot_lock(lock: &Path) -> Result<Option<String>, String> {
    match fs::symlink_metadata(lock) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", lock.display())),
    }
    let c = lockfile::c_path(lock).map_err(|e| format!("{}: {e}", lock.display()))?;
    let r = report(c.as_cstr(), false, &RealTime);
    let mut s = format!("dot-lock {}: held", lock.display());
    match (r.pid, r.origin, r.alive) {
        (Some(p), Origin::Foreign, _) => {
            let _ = write!(
                s,
                " by pid {p} on host {}, written on another host or in another PID namespace (its pid is not looked up here)",
                r.host
            );
        }
        (Some(p), Origin::EarlierBoot, _) => {
            let _ = write!(
                s,
                " by pid {p} on host {}, left by an earlier boot of this host",
                r.host
            );
        }
        (Some(p), _, Some(false)) => {
            let _ = write!(s, " by pid {p}, which is not running");
        }
        (Some(p), _, _) => {
            let _ = write!(s, " by {}", holder(p));
        }
        (None, _, _) => {
            let text = String::from_utf8_lossy(&content(lock)).trim().to_string();
            let _ = write!(s, ", no pid in it ({text:?})");
        }
    }
    if !r.host.is_empty() && !r.foreign() {
        let _ = write!(s, ", on host {} (this boot, this PID namespace)", r.host);
    }
    let _ = write!(s, "; written {} s ago; ", r.age);
    match r.why {
        Why::Young { left } => {
            match r.with_pid {
                (Verdict::Stale, Why::EarlierBoot) => s.push_str(
                    "stale now for waiters that check the pid (an earlier boot's lock), ",
                ),
                (Verdict::Stale, _) => s.push_str("stale now for waiters that check the pid, "),
                _ => {}
            }
            let _ = write!(s, "stale in {left} s by its age");
        }
        Why::Old => s.push_str("stale now (older than 5 minutes)"),
        other => {
            let _ = write!(s, "{other}");
        }
    }
    let _ = write!(
        s,
        " (dotlock also breaks it after {} s in which neither it nor the mailbox changes)",
        STALE_QUIET.as_secs()
    );
    Ok(Some(s))
}

/// The report; returns the exit status.
pub fn main(mbox: &Path) -> i32 {
    let mut out = String::new();
    let mut held = false;
    let lock = dotlock_path(mbox);
    match dot_lock(&lock) {
        Ok(Some(line)) => {
            held = true;
            out.push_str(&line);
        }
        Ok(None) => {
            let _ = write!(out, "dot-lock {}: none", lock.display());
        }
        Err(e) => return fail(&e),
    }
    out.push('\n');
    match fs::metadata(mbox) {
        Ok(meta) => {
            let table = match fs::read_to_string("/proc/locks") {
                Ok(t) => t,
                Err(e) => return fail(&format!("/proc/locks: {e}")),
            };
            let dev = (libc::major(meta.dev()), libc::minor(meta.dev()));
            let ours: Vec<KernelLock> = parse_locks(&table)
                .into_iter()
                .filter(|l| l.dev == dev && l.ino == meta.ino())
                .collect();
            for (kind, name) in [
                (Kind::Flock, "flock"),
                (Kind::Posix, "fcntl"),
                (Kind::Ofd, "fcntl (open file description)"),
            ] {
                let mut any = false;
                for l in ours.iter().filter(|l| l.kind == kind) {
                    any = true;
                    let what = if l.waiting { "waiting" } else { "held" };
                    held |= !l.waiting;
                    let _ = write!(out, "{name}: {what}, {}", l.access);
                    if kind != Kind::Flock {
                        let _ = write!(out, " bytes {}", l.range);
                    }
                    let _ = writeln!(out, ", by {}", holder(l.pid));
                }
                if !any && kind != Kind::Ofd {
                    let _ = writeln!(out, "{name}: none");
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let _ = writeln!(
                out,
                "{}: no such mailbox, so no flock or fcntl lock",
                mbox.display()
            );
        }
        Err(e) => return fail(&format!("{}: {e}", mbox.display())),
    }
    let _ = write!(std::io::stdout(), "{out}");
    if held { HELD } else { FREE }
}

fn fail(what: &str) -> i32 {
    let _ = writeln!(std::io::stderr(), "dotlock: {what}");
    ERROR
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_lock_table() {
        let text = "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF\n\
                    1: -> FLOCK  ADVISORY  WRITE 1240 08:01:5678 0 EOF\n\
                    2: POSIX  ADVISORY  READ 99 103:1a:7 10 20\n\
                    3: OFDLCK ADVISORY  WRITE -1 00:2a:9 0 EOF\n\
                    4: LEASE  ACTIVE    READ 12 00:2a:10 0 EOF\n\
                    garbage\n";
        let locks = parse_locks(text);
        assert_eq!(locks.len(), 4);
        assert_eq!(
            locks[0],
            KernelLock {
                kind: Kind::Flock,
                access: "WRITE".into(),
                pid: 1234,
                dev: (8, 1),
                ino: 5678,
                range: "0-EOF".into(),
                waiting: false,
            }
        );
        assert!(locks[1].waiting && locks[1].pid == 1240);
        assert_eq!(
            (locks[2].kind, locks[2].dev, locks[2].range.as_str()),
            (Kind::Posix, (0x103, 0x1a), "10-20")
        );
        assert_eq!((locks[3].kind, locks[3].pid), (Kind::Ofd, -1));
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_796_518_861), "2026-12-06 01:01:01 UTC");
    }
}
