/*
 * scenarios.c - the table of the differential harness (see diff.c).
 *
 * Each scenario prepares files in its scratch directory (setup, as root),
 * then makes its calls (call, as root or as the unprivileged user) and
 * returns the last return code with errno intact.  rc/err/lock say what
 * docs/ requires; .ref gives the reference's result where docs/fixes.md says "we
 * fix" or decides a case the reference crashes on.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "diff.h"

#define LOCK0		"file 0644 \"0\\n\""
/* $ID: our holder identity after the pid; the reference has none. */
#define LOCKPID		"file 0644 \"$PID\\n$ID\""
#define LOCKPPID	"file 0644 \"$PPID\\n$ID\""
#define STALE		1000	/* seconds: well past the 300 s rule */

/* ------------------------------------------------------------ setups */

static void
held_fresh(struct ctx *c)
{
	put(c->lock, "0\n", 0);
}

static void
held_200s(struct ctx *c)
{
	put(c->lock, "0\n", 200);
}

static void
held_stale(struct ctx *c)
{
	put(c->lock, "0\n", STALE);
}

static void
dead_pid_fresh(struct ctx *c)
{
	char buf[32];

	c->holder = dead_pid();
	snprintf(buf, sizeof(buf), "%ld\n", (long)c->holder);
	put(c->lock, buf, 0);
}

static void
live_pid_stale(struct ctx *c)
{
	char buf[32];

	c->child = c->holder = sleeper();
	snprintf(buf, sizeof(buf), "%ld\n", (long)c->child);
	put(c->lock, buf, STALE);
}

static void
init_pid_stale(struct ctx *c)
{
	put(c->lock, "1\n", STALE);
}

static void
huge_pid_fresh(struct ctx *c)
{
	put(c->lock, "99999999999\n", 0);
}

static void
max_pid_fresh(struct ctx *c)
{
	put(c->lock, "2147483647\n", 0);
}

static void
negative_pid_fresh(struct ctx *c)
{
	put(c->lock, "-5\n", 0);
}

static void
garbage_fresh(struct ctx *c)
{
	put(c->lock, "hello world\n", 0);
}

static void
garbage_stale(struct ctx *c)
{
	put(c->lock, "hello world\n", STALE);
}

static void
long_content_dead_pid(struct ctx *c)
{
	char buf[64];

	/* A pid, then more than the 15 bytes a checker reads. */
	c->holder = dead_pid();
	snprintf(buf, sizeof(buf), "%ld\nxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
	    (long)c->holder);
	put(c->lock, buf, 0);
}

static void
empty_fresh(struct ctx *c)
{
	put(c->lock, "", 0);
}

static void
empty_stale(struct ctx *c)
{
	put(c->lock, "", STALE);
}

static void
dir_fresh(struct ctx *c)
{
	xmkdir(c->lock, 0755);
}

static void
dir_stale(struct ctx *c)
{
	time_t now = time(NULL);

	xmkdir(c->lock, 0755);
	put_times(c->lock, now, now - STALE);
}

static void
dangling_symlink(struct ctx *c)
{
	char target[D_PATH];

	if (symlink(sub(c, target, "nowhere"), c->lock) != 0)
		die("symlink: %s", strerror(errno));
}

static void
symlink_to_fresh(struct ctx *c)
{
	char target[D_PATH];

	put(sub(c, target, "real.lock"), "0\n", 0);
	if (symlink(target, c->lock) != 0)
		die("symlink: %s", strerror(errno));
}

static void
missing_dir(struct ctx *c)
{
	sub(c, c->lock, "nodir/file.lock");
}

static void
not_a_dir(struct ctx *c)
{
	char file[D_PATH];

	put(sub(c, file, "plain"), "x", 0);
	sub(c, c->lock, "plain/file.lock");
}

/* A directory the unprivileged user may not write (owned by root). */
static void
ro_dir(struct ctx *c, const char *name)
{
	char dir[D_PATH];

	xmkdir(sub(c, dir, "ro"), 0755);
	PATHF(c->lock, "%s/%s", dir, name);
}

static void
ro_dir_plain(struct ctx *c)
{
	ro_dir(c, "file.lck");
}

static void
ro_dir_dotlock(struct ctx *c)
{
	/* ".lock", but no mailbox of the caller: not a mail lock. */
	ro_dir(c, "file.lock");
}

static void
ro_dir_held(struct ctx *c)
{
	ro_dir(c, "file.lck");
	put(c->lock, "0\n", 0);
}

static void
ro_dir_held_dotlock(struct ctx *c)
{
	ro_dir(c, "file.lock");
	put(c->lock, "0\n", 0);
}

static void
relative_sub(struct ctx *c)
{
	char dir[D_PATH];

	xmkdir(sub(c, dir, "rel"), 0755);
	sub(c, c->lock, "rel/file.lock");
}

/* A lock path of exactly len characters, in real nested directories. */
static void
path_of_length(struct ctx *c, size_t len)
{
	char comp[202], path[D_PATH];
	size_t at;

	memset(comp, 'd', 200);
	comp[200] = '\0';
	snprintf(path, sizeof(path), "%s", c->dir);
	while (len - (at = strlen(path)) > 250) {
		snprintf(path + at, sizeof(path) - at, "/%s", comp);
		xmkdir(path, 0755);
	}
	at = strlen(path);
	path[at++] = '/';
	while (at < len)
		path[at++] = 'n';
	path[at] = '\0';
	memcpy(c->lock, path, at + 1);
}

static void
path_at_limit(struct ctx *c)
{
	/* docs/protocol.md §2.4: room for the 32 characters of a temporary name. */
	path_of_length(c, PATH_MAX - 32);
}

static void
path_over_limit(struct ctx *c)
{
	path_of_length(c, PATH_MAX - 31);
}

static void
basename_too_long(struct ctx *c)
{
	char name[300];

	memset(name, 'n', 256);
	name[256] = '\0';
	sub(c, c->lock, name);
}

static void
lock_old_atime(struct ctx *c)
{
	time_t now = time(NULL);

	/* Stale by mtime; the atime is older still and reading updates it. */
	put(c->lock, "0\n", STALE);
	put_times(c->lock, now - 2 * STALE, now - STALE);
}

static void
mail_mbox(struct ctx *c)
{
	char mbox[D_PATH];

	put(sub(c, mbox, c->mailname), "", 0);
	PATHF(c->lock, "%s.lock", mbox);
}

static void
mail_held(struct ctx *c)
{
	mail_mbox(c);
	put(c->lock, "0\n", 0);
}

static void
spool_lock(struct ctx *c)
{
	snprintf(c->lock, D_PATH, "/var/mail/%s.lock", c->mailname);
}

static void
spool_held(struct ctx *c)
{
	spool_lock(c);
	put(c->lock, "0\n", 0);
}

/* ------------------------------------------------------------ calls */

static int
create0(struct ctx *c)
{
	return c->api->create(c->lock, 0, 0);
}

static int
create_pid(struct ctx *c)
{
	return c->api->create(c->lock, 0, L_PID);
}

static int
create_ppid(struct ctx *c)
{
	return c->api->create(c->lock, 0, L_PPID);
}

static int
create_both(struct ctx *c)
{
	return c->api->create(c->lock, 0, L_PID | L_PPID);
}

static int
create_umask027(struct ctx *c)
{
	umask(027);
	return c->api->create(c->lock, 0, 0);
}

static int
create_bad_flag(struct ctx *c)
{
	return c->api->create(c->lock, 0, 128);
}

static int
create_interval_flag(struct ctx *c)
{
	return c->api->create(c->lock, 0, __L_INTERVAL);
}

static int
create_minus1(struct ctx *c)
{
	return c->api->create(c->lock, -1, 0);
}

static int
create_minus5(struct ctx *c)
{
	return c->api->create(c->lock, -5, L_PID);
}

/* The temporary file cannot be written in full (RLIMIT_FSIZE). */
static int
create_fsize(struct ctx *c, rlim_t limit)
{
	struct rlimit rl = { limit, limit };

	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
		return -97;
	return c->api->create(c->lock, 0, L_PID);
}

static int
create_fsize0(struct ctx *c)
{
	return create_fsize(c, 0);
}

static int
create_fsize1(struct ctx *c)
{
	return create_fsize(c, 1);
}

/* lstat() of the lock keeps failing: L_MAXTRYS with its errno. */
static int
create2_stat_failures(struct ctx *c)
{
	struct __lockargs a = { 0 };

	return c->api->create2(c->lock, 20, __L_INTERVAL, &a, sizeof(a));
}

static int
create_relative(struct ctx *c)
{
	return c->api->create("rel/file.lock", 0, 0);
}

static int
create_relative_plain(struct ctx *c)
{
	return c->api->create("file.lock", 0, 0);
}

static int
create_null(struct ctx *c)
{
	return c->api->create(NULL, 0, 0);
}

static int
create_twice(struct ctx *c)
{
	int rc = c->api->create(c->lock, 0, 0);

	note(c, "first=%d", rc);
	return c->api->create(c->lock, 0, 0);
}

static int
create_then_check(struct ctx *c)
{
	int rc = c->api->create(c->lock, 0, L_PID), e = errno;

	note(c, "check=%d", c->api->check(c->lock, L_PID));
	errno = e;
	return rc;
}

static int
create2_interval0(struct ctx *c)
{
	struct __lockargs a = { 0 };

	return c->api->create2(c->lock, 3, __L_INTERVAL, &a, sizeof(a));
}

static int
create2_interval1(struct ctx *c)
{
	struct __lockargs a = { 1 };

	return c->api->create2(c->lock, 1, __L_INTERVAL, &a, sizeof(a));
}

static int
create2_bad_size(struct ctx *c)
{
	struct __lockargs a = { 0 };

	return c->api->create2(c->lock, 0, __L_INTERVAL, &a, sizeof(a) + 4);
}

static int
create2_null_args(struct ctx *c)
{
	return c->api->create2(c->lock, 0, __L_INTERVAL, NULL, 0);
}

static int
create2_bad_flag(struct ctx *c)
{
	struct __lockargs a = { 0 };

	return c->api->create2(c->lock, 0, 256 | __L_INTERVAL, &a,
	    sizeof(a));
}

static int
create2_plain(struct ctx *c)
{
	return c->api->create2(c->lock, 0, L_PID, NULL, 0);
}

/* The caller's parent exits first: L_PPID finds pid 1. */
static int
create_orphaned(struct ctx *c)
{
	int p[2], r[3] = { 0, 0, 0 };
	pid_t mid, midpid;

	if (pipe(p) != 0 || (mid = fork()) < 0)
		return -99;
	if (mid == 0) {
		midpid = getpid();
		if (fork() == 0) {
			close(p[0]);
			while (getppid() == midpid)
				usleep(1000);
			r[0] = getppid();
			errno = 0;
			r[1] = c->api->create(c->lock, 0, L_PPID);
			r[2] = errno;
			(void)!write(p[1], r, sizeof(r));
			_exit(0);
		}
		_exit(0);
	}
	close(p[1]);
	waitpid(mid, NULL, 0);
	if (read(p[0], r, sizeof(r)) != (ssize_t)sizeof(r))
		r[1] = -98;
	close(p[0]);
	note(c, "parent=%s", r[0] == 1 ? "1" : "not-1");
	errno = r[2];
	return r[1];
}

static int
remove_lock(struct ctx *c)
{
	return c->api->remove(c->lock);
}

static int
remove_null(struct ctx *c)
{
	return c->api->remove(NULL);
}

static int
touch_lock(struct ctx *c)
{
	int rc = c->api->touch(c->lock), e = errno;

	note(c, "age=%s", age_of(c->lock) < 0 ? "none" :
	    age_of(c->lock) < 60 ? "fresh" : "old");
	errno = e;
	return rc;
}

static int
check0(struct ctx *c)
{
	return c->api->check(c->lock, 0);
}

static int
check_pid(struct ctx *c)
{
	return c->api->check(c->lock, L_PID);
}

static int
maillock0(struct ctx *c)
{
	return c->api->maillock(c->mailname, 0);
}

static int
maillock_same_user(struct ctx *c)
{
	char mbox[D_PATH];

	setenv("MAIL", sub(c, mbox, c->mailname), 1);
	return c->api->maillock(c->mailname, 0);
}

static int
maillock_other_user(struct ctx *c)
{
	char mbox[D_PATH];
	int rc, e;

	/* $MAIL names someone else: the spool is used. */
	setenv("MAIL", sub(c, mbox, "someoneelse"), 1);
	rc = c->api->maillock(c->mailname, 0);
	e = errno;
	note(c, "spool=%s", age_of(c->lock) >= 0 ? "locked" : "free");
	c->api->mailunlock();
	note(c, "after-unlock=%s", age_of(c->lock) >= 0 ? "locked" : "free");
	errno = e;
	return rc;
}

static int
maillock_relative(struct ctx *c)
{
	/* The lock is made in the working directory, the scratch dir. */
	setenv("MAIL", c->mailname, 1);
	return c->api->maillock(c->mailname, 0);
}

static int
maillock_spool(struct ctx *c)
{
	int rc = c->api->maillock(c->mailname, 0), e = errno;
	char buf[32];
	int fd, n = 0;

	if ((fd = open(c->lock, O_RDONLY)) >= 0) {
		n = (int)read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	note(c, "spool=\"%.*s\"", n > 0 ? n - 1 : 0, buf);
	c->api->mailunlock();
	note(c, "after-unlock=%s", age_of(c->lock) >= 0 ? "locked" : "free");
	errno = e;
	return rc;
}

static int
maillock_twice(struct ctx *c)
{
	char mbox[D_PATH];
	int rc;

	setenv("MAIL", sub(c, mbox, c->mailname), 1);
	rc = c->api->maillock(c->mailname, 0);
	note(c, "first=%d", rc);
	/* Held already: 0 at once, even for a lock that is now busy. */
	unlink(c->lock);
	put(c->lock, "other\n", 0);
	return c->api->maillock(c->mailname, 0);
}

static int
maillock_unlock(struct ctx *c)
{
	char mbox[D_PATH];
	int rc, e;

	setenv("MAIL", sub(c, mbox, c->mailname), 1);
	rc = c->api->maillock(c->mailname, 0);
	e = errno;
	note(c, "locked=%s", age_of(c->lock) >= 0 ? "yes" : "no");
	c->api->mailunlock();
	errno = e;
	return rc;
}

static int
maillock_touch(struct ctx *c)
{
	char mbox[D_PATH];
	time_t now = time(NULL);
	int rc;

	setenv("MAIL", sub(c, mbox, c->mailname), 1);
	rc = c->api->maillock(c->mailname, 0);
	put_times(c->lock, now - STALE, now - STALE);
	c->api->touchlock();
	note(c, "age=%s", age_of(c->lock) < 60 ? "fresh" : "old");
	return rc;
}

static int
maillock_long_name(struct ctx *c)
{
	static char name[PATH_MAX + 16];

	(void)c;
	memset(name, 'n', PATH_MAX);
	name[PATH_MAX] = '\0';
	return c->api->maillock(name, 0);
}

static int
maillock_long_mail(struct ctx *c)
{
	static char mail[PATH_MAX + 64];

	memset(mail, 'm', sizeof(mail) - 1);
	mail[0] = '/';
	if (snprintf(mail + PATH_MAX - 4, 64, "/%s", c->mailname) >= 64)
		die("user name too long");
	setenv("MAIL", mail, 1);
	return c->api->maillock(c->mailname, 0);
}

static int
mailunlock_unheld(struct ctx *c)
{
	char mbox[D_PATH];

	/* Nobody locked: mailunlock must not remove someone else's lock. */
	setenv("MAIL", sub(c, mbox, c->mailname), 1);
	c->api->mailunlock();
	return 0;
}

/* ----------------------------------------------------------- adjust */

/*
 * docs/protocol.md §3 "we fix": the reference takes its "now" from the atime before
 * the read.  That shows only where a read updates the atime.
 */
static void
atime_depends(const struct ctx *c, struct scenario *s)
{
	s->ref.set = c->atime_updates;
}

/* ------------------------------------------------------------ table */

struct scenario scenarios[] = {
	/* lockfile_create: what it writes */
	{ "create_default", "no flag: the lock holds \"0\\n\", mode 0644",
	  NULL, create0, L_SUCCESS, ANY, LOCK0, 0, { 0 }, NULL },
	{ "create_umask", "mode is 0644 less the umask",
	  NULL, create_umask027, L_SUCCESS, ANY, "file 0640 \"0\\n\"", 0,
	  { 0 }, NULL },
	{ "create_pid", "L_PID writes the caller's pid",
	  NULL, create_pid, L_SUCCESS, ANY, LOCKPID, 0, { 0 }, NULL },
	{ "create_ppid", "L_PPID writes the parent's pid",
	  NULL, create_ppid, L_SUCCESS, ANY, LOCKPPID, 0, { 0 }, NULL },
	{ "create_pid_ppid", "L_PPID wins over L_PID",
	  NULL, create_both, L_SUCCESS, ANY, LOCKPPID, 0, { 0 }, NULL },
	{ "create_orphaned", "L_PPID with parent pid 1: L_ORPHANED, nothing "
	  "created", NULL, create_orphaned, L_ORPHANED, ANY, "missing", 0,
	  { 0 }, NULL },
	{ "create_relative", "a relative path, temp file beside the lock",
	  relative_sub, create_relative, L_SUCCESS, ANY, LOCK0, 0, { 0 },
	  NULL },
	{ "create_relative_cwd", "a bare name in the working directory",
	  NULL, create_relative_plain, L_SUCCESS, ANY, LOCK0, 0, { 0 },
	  NULL },
	{ "create_twice", "a second create of our own lock waits out",
	  NULL, create_twice, L_MAXTRYS, EAGAIN, LOCK0, 0, { 0 }, NULL },
	{ "create_then_check", "a fresh L_PID lock checks valid",
	  NULL, create_then_check, L_SUCCESS, ANY, LOCKPID, 0, { 0 }, NULL },

	/* lockfile_create: arguments */
	{ "create_bad_flag", "unknown flag: L_ERROR/EINVAL",
	  NULL, create_bad_flag, L_ERROR, EINVAL, "missing", 0, { 0 }, NULL },
	{ "create_interval_flag", "__L_INTERVAL without args: EINVAL",
	  NULL, create_interval_flag, L_ERROR, EINVAL, "missing", 0, { 0 },
	  NULL },
	{ "create_retries_minus1", "negative retries: no attempt at all",
	  NULL, create_minus1, L_MAXTRYS, EAGAIN, "missing", 0, { 0 }, NULL },
	{ "create_retries_minus5", "negative retries with L_PID",
	  NULL, create_minus5, L_MAXTRYS, EAGAIN, "missing", 0, { 0 }, NULL },
	{ "create_null", "NULL path (docs/decisions.md §8; the reference crashes)",
	  NULL, create_null, L_ERROR, EINVAL, "-", S_NOLOCK,
	  { 1, CRASH, ANY, 0, NULL }, NULL },

	/* lockfile_create: an existing lock */
	{ "held_fresh", "a fresh lock: L_MAXTRYS/EAGAIN, lock untouched",
	  held_fresh, create0, L_MAXTRYS, EAGAIN, LOCK0, 0, { 0 }, NULL },
	{ "held_200s", "a lock 200 s old is not stale yet",
	  held_200s, create0, L_MAXTRYS, EAGAIN, LOCK0, 0, { 0 }, NULL },
	{ "stale_by_age", "a lock older than 300 s is broken and taken",
	  held_stale, create_pid, L_SUCCESS, ANY, LOCKPID, 0, { 0 }, NULL },
	{ "stale_dead_pid", "L_PID: a fresh lock of a dead pid is broken",
	  dead_pid_fresh, create_pid, L_SUCCESS, ANY, LOCKPID, 0, { 0 },
	  NULL },
	{ "dead_pid_no_flag", "without L_PID the pid is not read",
	  dead_pid_fresh, create0, L_MAXTRYS, EAGAIN, "file 0644 "
	  "\"$HOLDER\\n\"", 0, { 0 }, NULL },
	{ "live_pid_old_lock", "L_PID: a live pid keeps an old lock valid",
	  live_pid_stale, create_pid, L_MAXTRYS, EAGAIN, "file 0644 "
	  "\"$HOLDER\\n\"", 0, { 0 }, NULL },
	{ "live_pid_old_no_flag", "without L_PID an old lock is stale",
	  live_pid_stale, create0, L_SUCCESS, ANY, LOCK0, 0, { 0 }, NULL },
	{ "eperm_pid_old_lock", "pid of another user (EPERM) is alive",
	  init_pid_stale, create_pid, L_MAXTRYS, EAGAIN, "file 0644 \"1\\n\"",
	  S_UNPRIV, { 0 }, NULL },
	{ "huge_pid", "a pid too big for an int",
	  huge_pid_fresh, create_pid, L_SUCCESS, ANY, LOCKPID, 0, { 0 },
	  NULL },
	{ "max_pid", "pid 2147483647 does not exist",
	  max_pid_fresh, create_pid, L_SUCCESS, ANY, LOCKPID, 0, { 0 },
	  NULL },
	{ "negative_pid", "a negative pid falls back to the age",
	  negative_pid_fresh, create_pid, L_MAXTRYS, EAGAIN,
	  "file 0644 \"-5\\n\"", 0, { 0 }, NULL },
	{ "garbage_fresh", "garbage content, fresh: valid by age",
	  garbage_fresh, create_pid, L_MAXTRYS, EAGAIN, NULL, 0, { 0 },
	  NULL },
	{ "garbage_stale", "garbage content, old: stale",
	  garbage_stale, create_pid, L_SUCCESS, ANY, LOCKPID, 0, { 0 },
	  NULL },
	{ "long_content_dead_pid", "more than 15 bytes after a dead pid",
	  long_content_dead_pid, create_pid, L_SUCCESS, ANY, LOCKPID, 0,
	  { 0 }, NULL },
	{ "empty_fresh", "an empty lock file, fresh",
	  empty_fresh, create_pid, L_MAXTRYS, EAGAIN, "file 0644 \"\"", 0,
	  { 0 }, NULL },
	{ "empty_stale", "an empty lock file, old",
	  empty_stale, create_pid, L_SUCCESS, ANY, LOCKPID, 0, { 0 }, NULL },
	{ "lock_is_dir", "the lock path is a fresh directory",
	  dir_fresh, create0, L_MAXTRYS, EAGAIN, "dir 0755", 0, { 0 }, NULL },
	{ "lock_is_old_dir", "an old directory cannot be removed: "
	  "L_RMSTALE (the reference leaks its temp file)",
	  dir_stale, create0, L_RMSTALE, EISDIR, "dir 0755", 0,
	  { 1, L_RMSTALE, EISDIR, D_TREE, NULL }, NULL },
	{ "dangling_symlink", "a dangling symlink is stale and replaced",
	  dangling_symlink, create0, L_SUCCESS, ANY, LOCK0, 0, { 0 }, NULL },
	{ "symlink_to_fresh", "a symlink to a fresh lock is valid",
	  symlink_to_fresh, create0, L_MAXTRYS, EAGAIN, "symlink", 0, { 0 },
	  NULL },
	{ "stale_old_atime", "stale by mtime while the atime is older "
	  "(the reference judges by the old atime)", lock_old_atime,
	  create0, L_SUCCESS, ANY, LOCK0, 0,
	  { 0, L_MAXTRYS, EAGAIN, 0, NULL },
	  atime_depends },

	/* lockfile_create: where the lock cannot be made */
	{ "missing_dir", "directory does not exist: L_TMPLOCK/ENOENT",
	  missing_dir, create0, L_TMPLOCK, ENOENT, "missing", 0, { 0 },
	  NULL },
	{ "not_a_dir", "a path through a file: L_TMPLOCK/ENOTDIR",
	  not_a_dir, create0, L_TMPLOCK, ENOTDIR, "missing", 0, { 0 }, NULL },
	{ "ro_dir", "non-writable directory (unprivileged): "
	  "L_TMPLOCK/EACCES", ro_dir_plain, create0, L_TMPLOCK, EACCES,
	  "missing", S_UNPRIV, { 0 }, NULL },
	{ "ro_dir_dotlock", "non-writable directory, a \".lock\" that is "
	  "not a mail lock (the reference says ENOENT)",
	  ro_dir_dotlock, create0, L_TMPLOCK, EACCES, "missing", S_UNPRIV,
	  { 1, L_TMPLOCK, ENOENT, 0, NULL }, NULL },
	{ "ro_dir_held", "non-writable directory with a held lock",
	  ro_dir_held, create0, L_TMPLOCK, EACCES, LOCK0, S_UNPRIV,
	  { 0 }, NULL },
	{ "path_at_limit", "a lock path of PATH_MAX - 32 characters",
	  path_at_limit, create0, L_SUCCESS, ANY, LOCK0, 0, { 0 }, NULL },
	{ "path_over_limit", "one character more: L_ERROR/ENAMETOOLONG",
	  path_over_limit, create0, L_ERROR, ENAMETOOLONG, "missing", 0,
	  { 0 }, NULL },
	{ "basename_too_long", "a lock name over NAME_MAX",
	  basename_too_long, create0, L_MAXTRYS, ANY, "missing", 0, { 0 },
	  NULL },

	{ "tmpwrite_efbig", "the temp file cannot be written: L_TMPWRITE",
	  NULL, create_fsize0, L_TMPWRITE, EFBIG, "missing", 0, { 0 }, NULL },
	{ "tmpwrite_short", "a short write: L_TMPWRITE with EAGAIN",
	  NULL, create_fsize1, L_TMPWRITE, EAGAIN, "missing", 0,
	  { 0 }, NULL },
	{ "stat_failures", "lstat of the lock fails 7 times: L_MAXTRYS with "
	  "its errno", basename_too_long, create2_stat_failures, L_MAXTRYS,
	  ENAMETOOLONG, "missing", 0, { 0 }, NULL },

	/* lockfile_create2 (the reference's from its static archive) */
	{ "interval_0", "__L_INTERVAL 0: retries without sleeping",
	  held_fresh, create2_interval0, L_MAXTRYS, EAGAIN, LOCK0, S_TIMED,
	  { 0 }, NULL },
	{ "interval_1", "__L_INTERVAL 1 with one retry: one second",
	  held_fresh, create2_interval1, L_MAXTRYS, EAGAIN, LOCK0, S_TIMED,
	  { 0 }, NULL },
	{ "create2_bad_size", "args_sz not sizeof(struct __lockargs)",
	  NULL, create2_bad_size, L_ERROR, EINVAL, "missing", 0, { 0 }, NULL },
	{ "create2_null_args", "__L_INTERVAL with NULL args",
	  NULL, create2_null_args, L_ERROR, EINVAL, "missing", 0, { 0 },
	  NULL },
	{ "create2_bad_flag", "unknown flag",
	  NULL, create2_bad_flag, L_ERROR, EINVAL, "missing", 0, { 0 }, NULL },
	{ "create2_plain", "no args, L_PID",
	  NULL, create2_plain, L_SUCCESS, ANY, LOCKPID, 0, { 0 }, NULL },

	/* lockfile_remove, lockfile_touch, lockfile_check */
	{ "remove", "remove a lock",
	  held_fresh, remove_lock, 0, ANY, "missing", 0, { 0 }, NULL },
	{ "remove_missing", "removing no lock is success",
	  NULL, remove_lock, 0, ANY, "missing", 0, { 0 }, NULL },
	{ "remove_dir", "removing a directory: -1/EISDIR",
	  dir_fresh, remove_lock, -1, EISDIR, "dir 0755", 0, { 0 }, NULL },
	{ "remove_ro_dir", "non-writable directory (unprivileged): -1/EACCES",
	  ro_dir_held, remove_lock, -1, EACCES, LOCK0, S_UNPRIV, { 0 },
	  NULL },
	{ "remove_ro_dir_dotlock", "the same for a \".lock\" that is not a "
	  "mail lock (the reference says 0)", ro_dir_held_dotlock,
	  remove_lock, -1, EACCES, LOCK0, S_UNPRIV, { 1, 0, ANY, 0, NULL },
	  NULL },
	{ "remove_null", "NULL path: -1/EINVAL (the reference: EFAULT)",
	  NULL, remove_null, -1, EINVAL, "-", S_NOLOCK,
	  { 1, -1, EFAULT, 0, NULL }, NULL },
	{ "touch", "touch an old lock: fresh again",
	  held_stale, touch_lock, 0, ANY, LOCK0, 0, { 0 }, NULL },
	{ "touch_missing", "touch no lock: -1/ENOENT",
	  NULL, touch_lock, -1, ENOENT, "missing", 0, { 0 }, NULL },
	{ "check_missing", "check no lock: -1",
	  NULL, check0, -1, ANY, "missing", 0, { 0 }, NULL },
	{ "check_fresh", "check a fresh lock: 0",
	  held_fresh, check0, 0, ANY, LOCK0, 0, { 0 }, NULL },
	{ "check_stale", "check an old lock: -1",
	  held_stale, check0, -1, ANY, LOCK0, 0, { 0 }, NULL },
	{ "check_live_pid_old", "L_PID: a live pid in an old lock: 0",
	  live_pid_stale, check_pid, 0, ANY, NULL, 0, { 0 }, NULL },
	{ "check_dead_pid", "L_PID: a dead pid in a fresh lock: -1",
	  dead_pid_fresh, check_pid, -1, ANY, NULL, 0, { 0 }, NULL },
	{ "check_old_atime", "old atime: stale by mtime (the reference "
	  "judges by the old atime)", lock_old_atime, check0, -1, ANY, LOCK0,
	  0, { 0, 0, ANY, 0, NULL }, atime_depends },

	/* maillock, mailunlock, touchlock */
	{ "maillock_mail_same_user", "$MAIL names the user: $MAIL.lock",
	  mail_mbox, maillock_same_user, L_SUCCESS, ANY, LOCK0, 0, { 0 },
	  NULL },
	{ "maillock_mail_other_user", "$MAIL names someone else: the spool",
	  spool_lock, maillock_other_user, L_SUCCESS, ANY, "missing", 0,
	  { 0 }, NULL },
	{ "maillock_mail_relative", "a relative $MAIL",
	  mail_mbox, maillock_relative, L_SUCCESS, ANY, LOCK0, 0, { 0 },
	  NULL },
	{ "maillock_spool", "no $MAIL: MAILDIR/name.lock, \"0\\n\"",
	  spool_lock, maillock_spool, L_SUCCESS, ANY, "missing", 0, { 0 },
	  NULL },
	{ "maillock_busy", "the spool lock is held: L_MAXTRYS",
	  spool_held, maillock0, L_MAXTRYS, EAGAIN, LOCK0, 0, { 0 }, NULL },
	{ "maillock_twice", "held already: 0 at once",
	  mail_mbox, maillock_twice, L_SUCCESS, ANY,
	  "file 0644 \"other\\n\"", 0, { 0 }, NULL },
	{ "maillock_mailunlock", "mailunlock removes the lock",
	  mail_mbox, maillock_unlock, L_SUCCESS, ANY, "missing", 0, { 0 },
	  NULL },
	{ "maillock_touchlock", "touchlock refreshes the lock",
	  mail_mbox, maillock_touch, L_SUCCESS, ANY, LOCK0, 0, { 0 }, NULL },
	{ "maillock_name_too_long", "a name too long: L_NAMELEN",
	  NULL, maillock_long_name, L_NAMELEN, ENAMETOOLONG, "-", S_NOLOCK,
	  { 0 }, NULL },
	{ "maillock_mail_too_long", "a $MAIL too long: L_NAMELEN",
	  NULL, maillock_long_mail, L_NAMELEN, ENAMETOOLONG, "-", S_NOLOCK,
	  { 0 }, NULL },
	{ "mailunlock_unheld", "mailunlock without maillock removes nothing",
	  mail_held, mailunlock_unheld, 0, ANY, LOCK0, 0, { 0 }, NULL },
};

const int n_scenarios = (int)(sizeof(scenarios) / sizeof(scenarios[0]));
