//! The `dotlock` program (docs/other-systems.md §7, man page dotlock(1)), run as a user
//! runs it; the locks it holds are probed from this process.
// Test code: the rules against panics are for the libraries and programs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{MetadataExt, symlink};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, Flock, FlockArg, fcntl};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const DOTLOCK: &str = env!("CARGO_BIN_EXE_dotlock");
const EX_TEMPFAIL: i32 = 75;
const EX_USAGE: i32 = 64;

#[path = "../crates/core/src/testutil.rs"]
mod testutil;
mod testutil_deps {
    pub(crate) use lockfile::LockError;
    pub(crate) use lockfile::lock::{RealTime, Time};
    pub(crate) use lockfile_core::sys;
}
use testutil::{Scratch, dead_pid};

/// A scratch folder with an empty mailbox `mbox` in it.
fn mailbox() -> Scratch {
    let s = Scratch::new();
    fs::write(s.path("mbox"), "").unwrap();
    s
}

trait Mailbox {
    fn mbox(&self) -> PathBuf;
    fn lock(&self) -> PathBuf;
}

impl Mailbox for Scratch {
    fn mbox(&self) -> PathBuf {
        self.path("mbox")
    }
    fn lock(&self) -> PathBuf {
        self.path("mbox.lock")
    }
}

fn dotlock(args: &[&str], mbox: &Path, cmd: &[&str]) -> Command {
    let mut c = Command::new(DOTLOCK);
    c.args(args).arg(mbox).args(cmd);
    c.stdin(Stdio::null());
    c
}

fn run(mut c: Command) -> Output {
    c.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A command that says it runs (creates `ready`) and waits for `go`.
fn hold_cmd(s: &Scratch) -> Vec<String> {
    let script = format!(
        "touch '{}'; while [ ! -e '{}' ]; do sleep 0.02; done",
        s.path("ready").display(),
        s.path("go").display()
    );
    vec!["sh".into(), "-c".into(), script]
}

fn wait_for(path: &Path, limit: Duration) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if path.exists() {
            return true;
        }
        thread::sleep(Duration::from_millis(10));
    }
    false
}

fn flock_free(mbox: &Path) -> bool {
    match Flock::lock(File::open(mbox).unwrap(), FlockArg::LockExclusiveNonblock) {
        Ok(_) => true,
        Err((_, Errno::EWOULDBLOCK)) => false,
        Err((_, e)) => panic!("flock: {e}"),
    }
}

fn fcntl_lock(file: &File) -> Result<(), Errno> {
    let fl = libc::flock {
        l_type: libc::F_WRLCK as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    fcntl(file, FcntlArg::F_SETLK(&fl)).map(drop)
}

/// The mailbox opened for writing, with this process's fcntl lock on it
/// if it could take one (closing the file releases it).
fn fcntl_locked(mbox: &Path) -> (File, Result<(), Errno>) {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(mbox)
        .unwrap();
    let locked = fcntl_lock(&f);
    (f, locked)
}

/// Whether this process (not the one running dotlock) gets an fcntl lock.
fn fcntl_free(mbox: &Path) -> bool {
    fcntl_locked(mbox).1.is_ok()
}

/// The system calls `dotlock` sits in between two attempts at a busy lock
/// (its pacer polls a signalfd; a plain pacer sleeps).
const PAUSES: &[libc::c_long] = &[
    libc::SYS_ppoll,
    libc::SYS_nanosleep,
    libc::SYS_clock_nanosleep,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_poll,
];

/// Return once `child` (a dotlock) waits for a lock: blocked in one of
/// [`PAUSES`] and without a child of its own. It pauses only after an
/// attempt found a lock busy; while the command runs it polls too, but then
/// it has a child. Panics if it ends first or is not seen waiting in 60 s.
fn wait_until_waiting(child: &mut Child) {
    let pid = child.id();
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("dotlock ended ({status}) instead of waiting");
        }
        let call = fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap();
        let nr = call.split_whitespace().next().and_then(|n| n.parse().ok());
        let kids = fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap();
        if nr.is_some_and(|n| PAUSES.contains(&n)) && kids.trim().is_empty() {
            return;
        }
        assert!(
            Instant::now() < end,
            "dotlock never waited (in {}, children [{}])",
            call.trim(),
            kids.trim()
        );
        thread::sleep(Duration::from_millis(1));
    }
}

/// Wait for `child` to end; panics (and kills it) if it still runs after
/// 60 s: a wait that should have ended has hung.
fn finish(child: &mut Child) -> std::process::ExitStatus {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("dotlock still ran 60 s after its locks were free");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

struct Running {
    child: Child,
    /// The file that lets the command end.
    go: PathBuf,
}

impl Running {
    fn start(s: &Scratch, args: &[&str]) -> Running {
        let cmd = hold_cmd(s);
        let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
        let child = dotlock(args, &s.mbox(), &cmd).spawn().unwrap();
        let r = Running {
            child,
            go: s.path("go"),
        };
        assert!(
            wait_for(&s.path("ready"), Duration::from_secs(60)),
            "the command did not start"
        );
        r
    }
    fn finish(mut self, s: &Scratch) -> std::process::ExitStatus {
        fs::write(s.path("go"), "").unwrap();
        self.child.wait().unwrap()
    }
}

/// A test that fails while the command runs leaves nothing running: the
/// command ends once `go` exists (and dotlock with it), or dotlock is
/// killed after 60 s.
impl Drop for Running {
    fn drop(&mut self) {
        let _ = fs::write(&self.go, "");
        let end = Instant::now() + Duration::from_secs(60);
        while matches!(self.child.try_wait(), Ok(None)) {
            if Instant::now() >= end {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

#[test]
fn holds_flock_dotlock_and_fcntl_while_the_command_runs() {
    let s = mailbox();
    let r = Running::start(&s, &["-P"]);
    assert_eq!(fs::read_to_string(s.lock()).unwrap(), "0\n");
    assert!(!fcntl_free(&s.mbox()), "no fcntl lock with -P");
    assert!(!flock_free(&s.mbox()), "no flock");
    assert!(r.finish(&s).success());
    assert!(!s.lock().exists());
    assert!(flock_free(&s.mbox()) && fcntl_free(&s.mbox()));
    s.no_tmp();
}

#[test]
fn without_options_no_fcntl_and_with_l_no_flock() {
    let s = mailbox();
    let r = Running::start(&s, &[]);
    assert!(fcntl_free(&s.mbox()), "fcntl lock without -P");
    assert!(!flock_free(&s.mbox()));
    assert!(r.finish(&s).success());

    let s = mailbox();
    let r = Running::start(&s, &["-L"]);
    assert!(s.lock().exists());
    assert!(flock_free(&s.mbox()), "flock with -L");
    assert!(r.finish(&s).success());
    assert!(!s.lock().exists());
}

#[test]
fn passes_on_the_status_of_the_command() {
    let s = mailbox();
    let o = run(dotlock(&[], &s.mbox(), &["sh", "-c", "exit 7"]));
    assert_eq!(o.status.code(), Some(7));
    let o = run(dotlock(&[], &s.mbox(), &["sh", "-c", "kill -9 $$"]));
    assert_eq!(o.status.code(), Some(128 + 9));
    let o = run(dotlock(&[], &s.mbox(), &["sh", "-c", "kill -TERM $$"]));
    assert_eq!(o.status.code(), Some(128 + 15), "{}", stderr(&o));
    let o = run(dotlock(&[], &s.mbox(), &["/nonexistent/program"]));
    assert_eq!(o.status.code(), Some(127));
    // The command's own options are its own.
    let o = run(dotlock(&["-W"], &s.mbox(), &["sh", "-c", "echo $0", "-W"]));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "-W\n");
    assert!(!s.lock().exists());
    s.no_tmp();
}

#[test]
fn usage_errors() {
    for args in [&[][..], &["mbox"], &["-X", "mbox", "true"]] {
        let o = run({
            let mut c = Command::new(DOTLOCK);
            c.args(args);
            c
        });
        assert_eq!(o.status.code(), Some(EX_USAGE), "{args:?}");
        assert!(stderr(&o).contains("usage: dotlock [-LPW]"), "{args:?}");
    }
}

#[test]
fn no_wait_fails_at_once_if_the_flock_is_busy() {
    let s = mailbox();
    let held = Flock::lock(File::open(s.mbox()).unwrap(), FlockArg::LockExclusive).unwrap();
    let ran = s.path("ran");
    let t = Instant::now();
    let o = run(dotlock(
        &["-W"],
        &s.mbox(),
        &["touch", ran.to_str().unwrap()],
    ));
    // Without -W it would wait for ever: any end is "at once".
    assert!(t.elapsed() < Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(EX_TEMPFAIL));
    assert!(
        stderr(&o).contains("flock on the mailbox: busy"),
        "{}",
        stderr(&o)
    );
    assert!(!s.lock().exists() && !ran.exists());
    // -L does not ask for the flock.
    let o = run(dotlock(&["-LW"], &s.mbox(), &["true"]));
    assert!(o.status.success(), "{}", stderr(&o));
    drop(held);
}

#[test]
fn no_wait_fails_at_once_if_the_dotlock_is_busy_and_lets_go_of_the_flock() {
    let s = mailbox();
    fs::write(s.lock(), "0\n").unwrap();
    let t = Instant::now();
    let o = run(dotlock(&["-W"], &s.mbox(), &["true"]));
    // Without -W it would wait for ever: any end is "at once".
    assert!(t.elapsed() < Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(EX_TEMPFAIL));
    assert!(stderr(&o).contains("dot-lock: busy"), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(s.lock()).unwrap(), "0\n");
    assert!(flock_free(&s.mbox()));
    s.no_tmp();
}

#[test]
fn no_wait_fails_at_once_if_the_fcntl_lock_is_busy_and_releases_the_rest() {
    let s = mailbox();
    let (f, locked) = fcntl_locked(&s.mbox());
    locked.unwrap();
    let o = run(dotlock(&["-PW"], &s.mbox(), &["true"]));
    assert_eq!(o.status.code(), Some(EX_TEMPFAIL));
    assert!(
        stderr(&o).contains("fcntl lock on the mailbox: busy"),
        "{}",
        stderr(&o)
    );
    assert!(!s.lock().exists(), "dot-lock kept after fcntl failed");
    assert!(flock_free(&s.mbox()));
    // Without -P the fcntl lock does not matter.
    assert!(run(dotlock(&["-W"], &s.mbox(), &["true"])).status.success());
    drop(f);
}

#[test]
fn waits_for_a_busy_flock() {
    let s = mailbox();
    let held = Flock::lock(File::open(s.mbox()).unwrap(), FlockArg::LockExclusive).unwrap();
    let ran = s.path("ran");
    let mut child = dotlock(&[], &s.mbox(), &["touch", ran.to_str().unwrap()])
        .spawn()
        .unwrap();
    wait_until_waiting(&mut child);
    assert!(!ran.exists(), "ran while the flock was held");
    assert!(!s.lock().exists(), "took the dot-lock before the flock");
    drop(held);
    assert!(finish(&mut child).success());
    assert!(ran.exists());
}

#[test]
fn waits_for_a_busy_fcntl_lock() {
    let s = mailbox();
    let (f, locked) = fcntl_locked(&s.mbox());
    locked.unwrap();
    let ran = s.path("ran");
    let mut child = dotlock(&["-P"], &s.mbox(), &["touch", ran.to_str().unwrap()])
        .spawn()
        .unwrap();
    wait_until_waiting(&mut child);
    assert!(!ran.exists(), "ran while the fcntl lock was held");
    drop(f); // closing releases our fcntl lock
    assert!(finish(&mut child).success());
    assert!(ran.exists());
    assert!(!s.lock().exists());
    s.no_tmp();
}

#[test]
fn says_when_its_lock_was_removed_or_replaced() {
    let s = mailbox();
    let lock = s.lock();
    let lock = lock.to_str().unwrap();
    let o = run(dotlock(&[], &s.mbox(), &["rm", lock]));
    assert!(o.status.success());
    assert!(stderr(&o).contains("was removed"), "{}", stderr(&o));
    let script = format!("rm '{lock}' && echo 4242 > '{lock}'");
    let o = run(dotlock(&[], &s.mbox(), &["sh", "-c", &script]));
    assert!(o.status.success());
    assert!(stderr(&o).contains("was replaced"), "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(lock).unwrap(),
        "4242\n",
        "removed a foreign lock"
    );
    // A quiet run says nothing.
    fs::remove_file(lock).unwrap();
    let o = run(dotlock(&[], &s.mbox(), &["true"]));
    assert_eq!(stderr(&o), "");
}

#[test]
fn a_signal_while_waiting_leaves_nothing_behind() {
    let s = mailbox();
    fs::write(s.lock(), "0\n").unwrap();
    let mut child = dotlock(&[], &s.mbox(), &["true"]).spawn().unwrap();
    wait_until_waiting(&mut child);
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let status = finish(&mut child);
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    assert_eq!(fs::read_to_string(s.lock()).unwrap(), "0\n");
    assert!(flock_free(&s.mbox()));
    s.no_tmp();
}

/// What a running dotlock holds, seen from outside: the dot-lock, the
/// flock, the fcntl lock; and its exit status.
fn locks_taken(args: &[&str]) -> (bool, bool, bool, Option<i32>) {
    let s = mailbox();
    let r = Running::start(&s, args);
    let seen = (
        s.lock().exists(),
        !flock_free(&s.mbox()),
        !fcntl_free(&s.mbox()),
    );
    let status = r.finish(&s);
    assert!(!s.lock().exists());
    s.no_tmp();
    (seen.0, seen.1, seen.2, status.code())
}

#[test]
fn each_long_option_does_what_its_short_twin_does() {
    for (long, short, want) in [
        (&[][..], &[][..], (true, true, false)),
        (&["--noflock"], &["-L"], (true, false, false)),
        (&["--fcntl"], &["-P"], (true, true, true)),
        (&["--nowait"], &["-W"], (true, true, false)),
        (&["--noflock", "--fcntl"], &["-LP"], (true, false, true)),
        (
            &["-L", "--fcntl", "--nowait"],
            &["-LPW"],
            (true, false, true),
        ),
    ] {
        let l = locks_taken(long);
        let sh = locks_taken(short);
        assert_eq!(l, sh, "{long:?} against {short:?}");
        assert_eq!(
            (l.0, l.1, l.2, l.3),
            (want.0, want.1, want.2, Some(0)),
            "{long:?}"
        );
    }
    // --nowait fails at once on a busy flock, as -W does; --noflock with
    // it does not ask for the flock.
    let s = mailbox();
    let held = Flock::lock(File::open(s.mbox()).unwrap(), FlockArg::LockExclusive).unwrap();
    for args in [&["--nowait"][..], &["-W"]] {
        let o = run(dotlock(args, &s.mbox(), &["true"]));
        assert_eq!(o.status.code(), Some(EX_TEMPFAIL), "{args:?}");
    }
    for args in [&["--noflock", "--nowait"][..], &["-LW"]] {
        let o = run(dotlock(args, &s.mbox(), &["true"]));
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    }
    drop(held);
}

#[test]
fn help_version_double_dash_and_unknown_long_options() {
    let o = run({
        let mut c = Command::new(DOTLOCK);
        c.arg("--help");
        c
    });
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    for word in [
        "usage: dotlock",
        "--noflock",
        "--fcntl",
        "--nowait",
        "--status",
    ] {
        assert!(out.contains(word), "--help lacks {word}: {out}");
    }
    assert_eq!(stderr(&o), "");
    let o = run({
        let mut c = Command::new(DOTLOCK);
        c.arg("--version");
        c
    });
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("dotlock "));
    // After --, a name that looks like a long option is the mailbox.
    let s = mailbox();
    let o = run({
        let mut c = Command::new(DOTLOCK);
        c.current_dir(&s.0)
            .args(["--nowait", "--", "--fcntl", "true"]);
        c
    });
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(s.path("--fcntl").exists() && !s.path("--fcntl.lock").exists());
    let o = run({
        let mut c = Command::new(DOTLOCK);
        c.args(["--no-such-option"]).arg(s.mbox()).arg("true");
        c
    });
    assert_eq!(o.status.code(), Some(EX_USAGE));
    assert!(stderr(&o).contains("unknown option --no-such-option"));
    assert!(stderr(&o).contains("usage: dotlock"));
    assert!(!s.lock().exists());
}

/// `dotlock --status`: its output and exit status, and proof that it
/// changed nothing.
fn status(s: &Scratch) -> (Option<i32>, String) {
    let before = fs::metadata(s.mbox())
        .ok()
        .map(|m| (m.len(), m.mtime(), m.ino()));
    let lock_before = fs::read(s.lock()).ok();
    let o = run({
        let mut c = Command::new(DOTLOCK);
        c.arg("--status").arg(s.mbox());
        c
    });
    let after = fs::metadata(s.mbox())
        .ok()
        .map(|m| (m.len(), m.mtime(), m.ino()));
    assert_eq!(before, after, "--status changed the mailbox");
    assert_eq!(
        lock_before,
        fs::read(s.lock()).ok(),
        "--status changed the dot-lock"
    );
    s.no_tmp();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned() + &stderr(&o),
    )
}

#[test]
fn status_reports_free_and_every_kind_of_holder() {
    let s = mailbox();
    let (code, out) = status(&s);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("dot-lock") && out.contains(": none"), "{out}");
    assert!(
        out.contains("flock: none") && out.contains("fcntl: none"),
        "{out}"
    );

    // flock(1) holding the mailbox; --no-fork, so that killing the holder
    // leaves no sleeping child behind (it would keep the test's output
    // open for ten minutes). Once it is named sleep, it has the lock and
    // the name that status must report.
    let mut flock1 = Command::new("flock")
        .arg("--no-fork")
        .arg(s.mbox())
        .args(["sh", "-c", "exec sleep 600"])
        .spawn()
        .unwrap();
    let comm = format!("/proc/{}/comm", flock1.id());
    let end = Instant::now() + Duration::from_secs(30);
    while fs::read_to_string(&comm).unwrap() != "sleep\n" {
        assert!(Instant::now() < end, "flock(1) never ran sleep");
        thread::sleep(Duration::from_millis(10));
    }
    let (code, out) = status(&s);
    // The lock was taken by flock(1) itself, which then became the command.
    let want = format!(
        "flock: held, WRITE, by pid {} (sleep), running since ",
        flock1.id()
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains(&want), "{out}");
    let _ = flock1.kill();
    let _ = flock1.wait();

    // An fcntl holder: a child of ours (a lock of this test process
    // itself would not do: POSIX locks belong to the process).
    let s = mailbox();
    let mut holder = Command::new("python3")
        .args([
            "-c",
            "import fcntl,sys,time;f=open(sys.argv[1],'r+');fcntl.lockf(f,fcntl.LOCK_EX);\
             open(sys.argv[2],'w').close();time.sleep(600)",
        ])
        .arg(s.mbox())
        .arg(s.path("ready"))
        .spawn()
        .unwrap();
    assert!(wait_for(&s.path("ready"), Duration::from_secs(30)));
    let (code, out) = status(&s);
    assert_eq!(code, Some(1), "{out}");
    let want = format!(
        "fcntl: held, WRITE bytes 0-EOF, by pid {} (python3)",
        holder.id()
    );
    assert!(out.contains(&want), "{out}");
    assert!(out.contains("flock: none"), "{out}");
    let _ = holder.kill();
    let _ = holder.wait();

    // A dot-lock of a live process and of a dead one.
    let s = mailbox();
    fs::write(s.lock(), format!("{}\n", std::process::id())).unwrap();
    let (code, out) = status(&s);
    assert_eq!(code, Some(1), "{out}");
    let want = format!("held by pid {} (", std::process::id());
    assert!(out.contains(&want), "{out}");
    assert!(
        out.contains("stale in ") && !out.contains("stale now"),
        "{out}"
    );
    let dead = dead_pid();
    fs::write(s.lock(), format!("{dead}\n")).unwrap();
    let (code, out) = status(&s);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("pid {dead}, which is not running")),
        "{out}"
    );
    assert!(
        out.contains("stale now for waiters that check the pid"),
        "{out}"
    );
    // An old one is stale for everybody.
    let old = filetime::FileTime::from_unix_time(filetime::FileTime::now().unix_seconds() - 400, 0);
    filetime::set_file_mtime(s.lock(), old).unwrap();
    let (_, out) = status(&s);
    assert!(out.contains("stale now (older than 5 minutes)"), "{out}");
    // A missing mailbox is not an error: nothing can hold it.
    fs::remove_file(s.lock()).unwrap();
    fs::remove_file(s.mbox()).unwrap();
    let (code, out) = status(&s);
    assert_eq!(code, Some(0), "{out}");
    assert!(!s.mbox().exists());
}

#[test]
fn status_takes_no_lock_while_dotlock_holds_all_three() {
    let s = mailbox();
    let r = Running::start(&s, &["--fcntl"]);
    let (code, out) = status(&s);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("flock: held, WRITE, by pid "), "{out}");
    assert!(
        out.contains("fcntl: held, WRITE bytes 0-EOF, by pid "),
        "{out}"
    );
    assert!(out.contains("no pid in it (\"0\")"), "{out}");
    assert!(r.finish(&s).success());
    assert_eq!(status(&s).0, Some(0));
}

/// `dotlock --status` with a FIFO or a device at the dot-lock's name
/// answers at once: it reads the lock as the library does, never waiting
/// for a writer. Run under timeout(1): a hang fails with status 137.
#[test]
fn status_never_blocks_on_a_fifo_or_a_device() {
    let s = mailbox();
    let status = |s: &Scratch| {
        let o = run({
            let mut c = Command::new("timeout");
            c.args(["-s", "KILL", "30"])
                .arg(DOTLOCK)
                .arg("--status")
                .arg(s.mbox());
            c
        });
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    nix::unistd::mkfifo(&s.lock(), nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let (code, out) = status(&s);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("no pid in it (\"\")"), "{out}");
    // With a writer that keeps it open and writes nothing.
    let writer = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(s.lock())
        .unwrap();
    let (code, out) = status(&s);
    assert_eq!(code, Some(1), "{out}");
    drop(writer);
    fs::remove_file(s.lock()).unwrap();
    symlink("/dev/zero", s.lock()).unwrap();
    let (code, out) = status(&s);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("no pid in it"), "{out}");
}

/// `dotlock --status` names the host of a pid written elsewhere and says
/// that the pid is not looked up; a lock of this host's name from before
/// this boot is stale at once for waiters that check the pid.
#[test]
fn status_names_the_holders_host() {
    let s = mailbox();
    fs::write(s.lock(), "34\nlockid/1 host=alpha boot=b pidns=5\n").unwrap();
    let (code, out) = status(&s);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(
            "held by pid 34 on host alpha, written on another host or in another PID \
             namespace (its pid is not looked up here); written "
        ),
        "{out}"
    );
    assert!(
        out.contains("stale in ") && !out.contains("stale now"),
        "{out}"
    );
    // This host's name, another boot, older than this boot.
    let host = nix::sys::utsname::uname().unwrap();
    let host = host.nodename().to_str().unwrap();
    let ns = fs::metadata("/proc/self/ns/pid").unwrap().ino();
    fs::write(
        s.lock(),
        format!("34\nlockid/1 host={host} boot=b pidns={ns}\n"),
    )
    .unwrap();
    let uptime: f64 = fs::read_to_string("/proc/uptime")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let before_boot = filetime::FileTime::now().unix_seconds() - uptime as i64 - 60;
    let t = filetime::FileTime::from_unix_time(before_boot, 0);
    filetime::set_file_times(s.lock(), t, t).unwrap();
    let (code, out) = status(&s);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "held by pid 34 on host {host}, left by an earlier boot of this host"
        )),
        "{out}"
    );
    assert!(out.contains("stale now"), "{out}");
}
