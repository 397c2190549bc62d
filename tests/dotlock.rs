//! The `dotlock` program (SPEC §7, man page dotlock(1)), run as a user
//! runs it; the locks it holds are probed from this process.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, Flock, FlockArg, fcntl};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const DOTLOCK: &str = env!("CARGO_BIN_EXE_dotlock");
const EX_TEMPFAIL: i32 = 75;
const EX_USAGE: i32 = 64;

static DIRS: AtomicUsize = AtomicUsize::new(0);

struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let n = DIRS.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("dotlock-test-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("mbox"), "").unwrap();
        Scratch(dir)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    fn mbox(&self) -> PathBuf {
        self.path("mbox")
    }
    fn lock(&self) -> PathBuf {
        self.path("mbox.lock")
    }
    fn no_tmp(&self) {
        let tmp: Vec<_> = fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".lk"))
            .collect();
        assert!(tmp.is_empty(), "temporary files left: {tmp:?}");
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
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

struct Running {
    child: Child,
}

impl Running {
    fn start(s: &Scratch, args: &[&str]) -> Running {
        let cmd = hold_cmd(s);
        let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
        let child = dotlock(args, &s.mbox(), &cmd).spawn().unwrap();
        assert!(
            wait_for(&s.path("ready"), Duration::from_secs(10)),
            "the command did not start"
        );
        Running { child }
    }
    fn finish(mut self, s: &Scratch) -> std::process::ExitStatus {
        fs::write(s.path("go"), "").unwrap();
        self.child.wait().unwrap()
    }
}

#[test]
fn holds_flock_dotlock_and_fcntl_while_the_command_runs() {
    let s = Scratch::new();
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
    let s = Scratch::new();
    let r = Running::start(&s, &[]);
    assert!(fcntl_free(&s.mbox()), "fcntl lock without -P");
    assert!(!flock_free(&s.mbox()));
    assert!(r.finish(&s).success());

    let s = Scratch::new();
    let r = Running::start(&s, &["-L"]);
    assert!(s.lock().exists());
    assert!(flock_free(&s.mbox()), "flock with -L");
    assert!(r.finish(&s).success());
    assert!(!s.lock().exists());
}

#[test]
fn passes_on_the_status_of_the_command() {
    let s = Scratch::new();
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
    let s = Scratch::new();
    let held = Flock::lock(File::open(s.mbox()).unwrap(), FlockArg::LockExclusive).unwrap();
    let ran = s.path("ran");
    let t = Instant::now();
    let o = run(dotlock(
        &["-W"],
        &s.mbox(),
        &["touch", ran.to_str().unwrap()],
    ));
    assert!(t.elapsed() < Duration::from_secs(1));
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
    let s = Scratch::new();
    fs::write(s.lock(), "0\n").unwrap();
    let t = Instant::now();
    let o = run(dotlock(&["-W"], &s.mbox(), &["true"]));
    assert!(t.elapsed() < Duration::from_secs(1));
    assert_eq!(o.status.code(), Some(EX_TEMPFAIL));
    assert!(stderr(&o).contains("dot-lock: busy"), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(s.lock()).unwrap(), "0\n");
    assert!(flock_free(&s.mbox()));
    s.no_tmp();
}

#[test]
fn no_wait_fails_at_once_if_the_fcntl_lock_is_busy_and_releases_the_rest() {
    let s = Scratch::new();
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
    let s = Scratch::new();
    let held = Flock::lock(File::open(s.mbox()).unwrap(), FlockArg::LockExclusive).unwrap();
    let ran = s.path("ran");
    let mut child = dotlock(&[], &s.mbox(), &["touch", ran.to_str().unwrap()])
        .spawn()
        .unwrap();
    thread::sleep(Duration::from_millis(700));
    assert!(!ran.exists(), "ran while the flock was held");
    assert!(!s.lock().exists(), "took the dot-lock before the flock");
    drop(held);
    assert!(child.wait().unwrap().success());
    assert!(ran.exists());
}

#[test]
fn waits_for_a_busy_fcntl_lock() {
    let s = Scratch::new();
    let (f, locked) = fcntl_locked(&s.mbox());
    locked.unwrap();
    let ran = s.path("ran");
    let mut child = dotlock(&["-P"], &s.mbox(), &["touch", ran.to_str().unwrap()])
        .spawn()
        .unwrap();
    thread::sleep(Duration::from_millis(700));
    assert!(!ran.exists(), "ran while the fcntl lock was held");
    drop(f); // closing releases our fcntl lock
    assert!(child.wait().unwrap().success());
    assert!(ran.exists());
    assert!(!s.lock().exists());
    s.no_tmp();
}

#[test]
fn says_when_its_lock_was_removed_or_replaced() {
    let s = Scratch::new();
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
    let s = Scratch::new();
    fs::write(s.lock(), "0\n").unwrap();
    let mut child = dotlock(&[], &s.mbox(), &["true"]).spawn().unwrap();
    thread::sleep(Duration::from_millis(500));
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    assert_eq!(fs::read_to_string(s.lock()).unwrap(), "0\n");
    assert!(flock_free(&s.mbox()));
    s.no_tmp();
}

/// The rules that take real time (SPEC §7), run side by side: a quiet
/// foreign dot-lock is broken after about 30 s under flock, but not
/// without flock (-L) and not while the mailbox changes; our own lock is
/// refreshed every 15 s while the command runs.
#[test]
fn thirty_second_stale_rule_and_fifteen_second_refresh() {
    const WATCH: Duration = Duration::from_secs(38);
    let quiet = Scratch::new();
    let no_flock = Scratch::new();
    let busy = Scratch::new();
    let refresh = Scratch::new();
    for s in [&quiet, &no_flock, &busy] {
        fs::write(s.lock(), "0\n").unwrap();
    }
    let t0 = Instant::now();
    let mut quiet_c = dotlock(&[], &quiet.mbox(), &["true"]).spawn().unwrap();
    let mut no_flock_c = dotlock(&["-L"], &no_flock.mbox(), &["true"])
        .spawn()
        .unwrap();
    let mut busy_c = dotlock(&[], &busy.mbox(), &["true"]).spawn().unwrap();
    let mut refresh_c = dotlock(&[], &refresh.mbox(), &["sleep", "17"])
        .spawn()
        .unwrap();
    assert!(wait_for(&refresh.lock(), Duration::from_secs(5)));
    let first = fs::metadata(refresh.lock()).unwrap();
    // The holder of `busy`'s dot-lock delivers every 4 s.
    let mut next_delivery = Instant::now();
    let mut quiet_done = None;
    let mut refreshed = None;
    while t0.elapsed() < WATCH {
        if Instant::now() >= next_delivery {
            let mut text = fs::read_to_string(busy.mbox()).unwrap();
            text.push_str("From x\n\n");
            fs::write(busy.mbox(), text).unwrap();
            next_delivery += Duration::from_secs(4);
        }
        if quiet_done.is_none() && quiet_c.try_wait().unwrap().is_some() {
            quiet_done = Some(t0.elapsed());
        }
        if refreshed.is_none() && t0.elapsed() > Duration::from_secs(16) {
            let now = fs::metadata(refresh.lock()).unwrap();
            assert_eq!(now.ino(), first.ino());
            refreshed =
                Some((now.mtime(), now.mtime_nsec()) != (first.mtime(), first.mtime_nsec()));
        }
        thread::sleep(Duration::from_millis(100));
    }
    let still_waiting = [no_flock_c.try_wait().unwrap(), busy_c.try_wait().unwrap()];
    for c in [&mut no_flock_c, &mut busy_c] {
        let _ = c.kill();
        let _ = c.wait();
    }
    assert!(refresh_c.wait().unwrap().success());
    assert!(quiet_c.wait().unwrap().success());
    let quiet_done = quiet_done.expect("the quiet foreign lock was never broken");
    assert!(
        quiet_done >= Duration::from_secs(29) && quiet_done < Duration::from_secs(36),
        "broken after {quiet_done:?}"
    );
    assert!(!quiet.lock().exists());
    assert_eq!(
        still_waiting,
        [None, None],
        "broke a lock it should not have"
    );
    assert_eq!(fs::read_to_string(no_flock.lock()).unwrap(), "0\n");
    assert_eq!(fs::read_to_string(busy.lock()).unwrap(), "0\n");
    assert_eq!(
        refreshed,
        Some(true),
        "the lock was not refreshed after 15 s"
    );
    assert!(!refresh.lock().exists());
}
