/*
 * faults - lockfile_create and friends under file-system and resource
 * faults (docs/protocol.md §2.5-§2.7, docs/c-policy.md §4).  Each case gives the documented L_* code
 * and errno, leaves no temporary file and never removes a valid lock.
 *
 *	faults enospc-data DIR		DIR on a small tmpfs (filled here)
 *	faults enospc-inodes DIR	DIR on a tmpfs with few inodes
 *	faults erofs RW RO		RO a read-only bind mount of RW
 *	faults eacces-setup DIR		as root: lay out DIR for eacces
 *	faults eacces DIR		as an unprivileged user
 *	faults dirs DIR			missing, file, loop, directory lock
 *	faults nametoolong DIR
 *	faults fsize DIR		RLIMIT_FSIZE 0 and 1
 *	faults nofile DIR		a full file-descriptor table
 *	faults flicker DIR		(with shim_link.so) link() finds the
 *					lock taken, lstat() finds it gone
 *	faults breakrace DIR		(with shim_link.so) another waiter
 *					breaks the same stale lock at once
 *
 * The mounts and users are made by faults.sh.
 */
#include "rel.h"

#include <sys/resource.h>

/* The test folder: short, so that paths below it fit. */
static char dir[1024];

static char *
at(char *buf, const char *name)
{
	snprintf(buf, R_PATH, "%s/%s", dir, name);
	return buf;
}

static int
create2(const char *path, int retries, int flags, int interval)
{
	struct __lockargs args;

	args.interval = interval;
	return lockfile_create2(path, retries, flags | __L_INTERVAL, &args,
	    sizeof(args));
}

/* Plant a valid lock (fresh, "0\n") and a stale one (old, "0\n"). */
static void
plant(const char *d, struct stat *held, struct stat *stale)
{
	char p[R_PATH];

	snprintf(p, sizeof(p), "%s/held.lock", d);
	make_lock(p, "0\n", 0);
	*held = stat_or_fail(p);
	snprintf(p, sizeof(p), "%s/stale.lock", d);
	make_lock(p, "0\n", 1000);
	*stale = stat_or_fail(p);
}

/* Fill the file system of dir with one file until ENOSPC. */
static void
fill(void)
{
	char p[R_PATH], block[4096];
	int fd;

	memset(block, 'x', sizeof(block));
	fd = open(at(p, "filler"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		FAIL("create filler: %s", strerror(errno));
	for (;;) {
		ssize_t n = write(fd, block, sizeof(block));

		if (n < 0 && errno == ENOSPC)
			break;
		if (n <= 0)
			FAIL("fill: %s", strerror(errno));
	}
	/* The last, partial page too. */
	while (write(fd, block, 1) == 1)
		;
	close(fd);
}

static void
case_enospc_data(void)
{
	char p[R_PATH], h[R_PATH];
	struct stat held, stale;
	int rc, e;

	plant(dir, &held, &stale);
	fill();
	errno = 0;
	rc = lockfile_create(at(p, "new.lock"), 0, 0);
	e = errno;
	CHECK_RC("create on a full fs", rc, L_TMPWRITE, ENOSPC, e);
	CHECK(!exists(p), "lock created on a full fs");
	CHECK_NO_TMP_IN(dir);

	rc = lockfile_create(at(h, "held.lock"), 0, L_PID);
	e = errno;
	CHECK_RC("create of a held lock on a full fs", rc, L_TMPWRITE,
	    ENOSPC, e);
	r_same(h, &held);
	rc = lockfile_create(at(p, "stale.lock"), 3, 0);
	e = errno;
	CHECK_RC("create of a stale lock on a full fs", rc, L_TMPWRITE,
	    ENOSPC, e);
	CHECK_NO_TMP_IN(dir);
	CHECK(lockfile_touch(h) == 0, "touch on a full fs: %s",
	    strerror(errno));
	CHECK(lockfile_check(h, 0) == 0, "held lock not valid");
	CHECK(lockfile_remove(h) == 0, "remove on a full fs: %s",
	    strerror(errno));
	CHECK(!exists(h), "held lock not removed");
}

static void
case_enospc_inodes(void)
{
	char p[R_PATH], h[R_PATH];
	struct stat held, stale;
	int rc, e, i;

	plant(dir, &held, &stale);
	for (i = 0;; i++) {
		int fd;

		snprintf(p, sizeof(p), "%s/inode%d", dir, i);
		if ((fd = open(p, O_WRONLY | O_CREAT, 0644)) < 0) {
			CHECK(errno == ENOSPC, "filling inodes: %s",
			    strerror(errno));
			break;
		}
		close(fd);
	}
	rc = lockfile_create(at(p, "new.lock"), 0, 0);
	e = errno;
	CHECK_RC("create without inodes", rc, L_TMPLOCK, ENOSPC, e);
	CHECK(!exists(p), "lock created");
	rc = lockfile_create(at(h, "held.lock"), 1, 0);
	e = errno;
	CHECK_RC("create of a held lock without inodes", rc, L_TMPLOCK,
	    ENOSPC, e);
	r_same(h, &held);
	rc = lockfile_create(at(p, "stale.lock"), 1, 0);
	e = errno;
	CHECK_RC("create of a stale lock without inodes", rc, L_TMPLOCK,
	    ENOSPC, e);
	r_same(p, &stale);
	CHECK_NO_TMP_IN(dir);
}

static void
case_erofs(const char *rw, const char *ro)
{
	char p[R_PATH], h[R_PATH], s[R_PATH];
	struct stat held, stale;
	int rc, e;

	/* The driver planted the locks before mounting read-only. */
	snprintf(h, sizeof(h), "%s/held.lock", rw);
	held = stat_or_fail(h);
	snprintf(s, sizeof(s), "%s/stale.lock", rw);
	stale = stat_or_fail(s);
	snprintf(dir, sizeof(dir), "%s", ro);

	rc = lockfile_create(at(p, "new.lock"), 0, 0);
	e = errno;
	CHECK_RC("create on a read-only fs", rc, L_TMPLOCK, EROFS, e);
	CHECK(!exists(p), "lock created");
	rc = lockfile_create(at(p, "stale.lock"), 2, L_PID);
	e = errno;
	CHECK_RC("create of a stale lock on a read-only fs", rc,
	    L_TMPLOCK, EROFS, e);
	r_same(s, &stale);
	rc = lockfile_create(at(p, "held.lock"), 0, 0);
	e = errno;
	CHECK_RC("create of a held lock on a read-only fs", rc,
	    L_TMPLOCK, EROFS, e);
	r_same(h, &held);
	errno = 0;
	rc = lockfile_remove(p);
	e = errno;
	CHECK_RC("remove on a read-only fs", rc, -1, EROFS, e);
	r_same(h, &held);
	errno = 0;
	rc = lockfile_touch(p);
	e = errno;
	CHECK_RC("touch on a read-only fs", rc, -1, EROFS, e);
	CHECK(lockfile_check(p, 0) == 0, "held lock not valid");
	CHECK(lockfile_check(at(p, "stale.lock"), 0) == -1,
	    "stale lock valid");
	CHECK_NO_TMP_IN(ro);
}

/* As root: folders the unprivileged part cannot write or remove from. */
static void
case_eacces_setup(void)
{
	char p[R_PATH];
	struct stat held, stale;

	if (mkdir(at(p, "ro"), 0755) != 0 || mkdir(at(p, "sticky"), 0755) != 0
	    || chmod(p, 01777) != 0 || mkdir(at(p, "closed"), 0700) != 0)
		FAIL("mkdir: %s", strerror(errno));
	plant(at(p, "ro"), &held, &stale);
	plant(at(p, "sticky"), &held, &stale);
	make_lock(at(p, "closed/held.lock"), "0\n", 0);
}

static void
case_eacces(void)
{
	char p[R_PATH], q[R_PATH];
	struct stat held, stale, sheld, sstale;
	int rc, e;

	CHECK(geteuid() != 0, "must run unprivileged");
	held = stat_or_fail(at(p, "ro/held.lock"));
	stale = stat_or_fail(at(p, "ro/stale.lock"));
	sheld = stat_or_fail(at(p, "sticky/held.lock"));
	sstale = stat_or_fail(at(p, "sticky/stale.lock"));

	rc = lockfile_create(at(p, "ro/new.lock"), 0, 0);
	e = errno;
	CHECK_RC("create in a folder not ours", rc, L_TMPLOCK, EACCES, e);
	rc = lockfile_create(at(p, "ro/stale.lock"), 1, 0);
	e = errno;
	CHECK_RC("create of a stale lock in a folder not ours", rc,
	    L_TMPLOCK, EACCES, e);
	r_same(p, &stale);
	errno = 0;
	rc = lockfile_remove(at(p, "ro/held.lock"));
	e = errno;
	CHECK_RC("remove of a lock not ours", rc, -1, EACCES, e);
	r_same(p, &held);
	errno = 0;
	rc = lockfile_touch(p);
	e = errno;
	CHECK_RC("touch of a lock not ours", rc, -1, EACCES, e);
	CHECK(lockfile_check(p, 0) == 0, "foreign held lock not valid");

	/*
	 * A sticky folder: the temporary file can be made, but another
	 * user's stale lock cannot be removed (EPERM).
	 */
	rc = lockfile_create(at(p, "sticky/stale.lock"), 1, 0);
	e = errno;
	CHECK_RC("create over a foreign stale lock in a sticky folder", rc,
	    L_RMSTALE, EPERM, e);
	r_same(p, &sstale);
	CHECK_NO_TMP_IN(at(q, "sticky"));
	rc = create2(at(p, "sticky/held.lock"), 3, 0, 0);
	e = errno;
	CHECK_RC("create over a foreign held lock", rc, L_MAXTRYS, EAGAIN,
	    e);
	r_same(p, &sheld);
	CHECK_NO_TMP_IN(at(q, "sticky"));
	rc = lockfile_create(at(p, "sticky/mine.lock"), 0, L_PID);
	CHECK(rc == L_SUCCESS, "create in a sticky folder: %d %s", rc,
	    strerror(errno));
	CHECK(lockfile_remove(p) == 0, "remove own lock: %s",
	    strerror(errno));

	rc = lockfile_create(at(p, "closed/held.lock"), 0, 0);
	e = errno;
	CHECK_RC("create in a folder we cannot enter", rc, L_TMPLOCK,
	    EACCES, e);
	CHECK(lockfile_check(p, 0) == -1, "check through a closed folder");
	errno = 0;
	rc = lockfile_remove(p);
	e = errno;
	CHECK_RC("remove through a closed folder", rc, -1, EACCES, e);
	CHECK_NO_TMP_IN(at(q, "ro"));
}

static void
case_dirs(void)
{
	char p[R_PATH], q[R_PATH];
	struct stat st, held;
	struct timeval tv[2];
	int rc, e;

	rc = lockfile_create(at(p, "missing/x.lock"), 0, 0);
	e = errno;
	CHECK_RC("create in a missing folder", rc, L_TMPLOCK, ENOENT, e);

	make_lock(at(p, "file"), "", 0);
	rc = lockfile_create(at(p, "file/x.lock"), 0, 0);
	e = errno;
	CHECK_RC("create under a regular file", rc, L_TMPLOCK, ENOTDIR, e);

	if (symlink("loop", at(p, "loop")) != 0)
		FAIL("symlink: %s", strerror(errno));
	rc = lockfile_create(at(p, "loop/x.lock"), 0, 0);
	e = errno;
	CHECK_RC("create under a symlink loop", rc, L_TMPLOCK, ELOOP, e);
	CHECK(lockfile_check(p, 0) == -1, "check of a loop");

	/* The lock's name is a folder: fresh, it is held; old, it cannot
	 * be removed as a stale lock. */
	if (mkdir(at(p, "d.lock"), 0755) != 0)
		FAIL("mkdir: %s", strerror(errno));
	held = stat_or_fail(p);
	rc = create2(p, 2, 0, 0);
	e = errno;
	CHECK_RC("create over a fresh folder", rc, L_MAXTRYS, EAGAIN, e);
	r_same(p, &held);
	gettimeofday(&tv[0], NULL);
	tv[1] = tv[0];
	tv[1].tv_sec -= 1000;
	if (utimes(p, tv) != 0)
		FAIL("utimes: %s", strerror(errno));
	rc = lockfile_create(p, 2, 0);
	e = errno;
	CHECK_RC("create over an old folder", rc, L_RMSTALE, EISDIR, e);
	st = stat_or_fail(p);
	CHECK(S_ISDIR(st.st_mode), "folder gone");
	errno = 0;
	rc = lockfile_remove(p);
	e = errno;
	CHECK_RC("remove of a folder", rc, -1, EISDIR, e);

	/* A lock that is a symlink to itself, or dangling: no lock; it is
	 * replaced by a real one, never followed. */
	if (symlink("self.lock", at(p, "self.lock")) != 0)
		FAIL("symlink: %s", strerror(errno));
	rc = lockfile_create(p, 0, 0);
	CHECK(rc == L_SUCCESS, "create over a symlink loop: %d %s", rc,
	    strerror(errno));
	st = stat_or_fail(p);
	CHECK(S_ISREG(st.st_mode), "lock is not a regular file");
	if (symlink("target", at(p, "dangling.lock")) != 0)
		FAIL("symlink: %s", strerror(errno));
	rc = lockfile_create(p, 0, 0);
	CHECK(rc == L_SUCCESS, "create over a dangling symlink: %d %s", rc,
	    strerror(errno));
	CHECK(!exists(at(q, "target")), "lock made through a symlink");
	st = stat_or_fail(p);
	CHECK(S_ISREG(st.st_mode), "lock is not a regular file");

	/* A symlink to a valid lock is a valid lock. */
	make_lock(at(q, "real.lock"), "0\n", 0);
	if (symlink("real.lock", at(p, "link.lock")) != 0)
		FAIL("symlink: %s", strerror(errno));
	held = stat_or_fail(p);
	rc = create2(p, 1, 0, 0);
	e = errno;
	CHECK_RC("create over a symlink to a held lock", rc, L_MAXTRYS,
	    EAGAIN, e);
	r_same(p, &held);
	CHECK_NO_TMP_IN(dir);
}

static void
case_nametoolong(void)
{
	char p[R_PATH], name[400];
	int rc, e;

	memset(name, 'n', 300);
	name[300] = '\0';
	/* A lock name longer than NAME_MAX: the temporary file is made,
	 * link() and lstat() fail; after 6 failed lstats, give up. */
	snprintf(p, sizeof(p), "%s/%s.lock", dir, name);
	rc = create2(p, 10, 0, 0);
	e = errno;
	CHECK_RC("lock name over NAME_MAX", rc, L_MAXTRYS, ENAMETOOLONG, e);
	CHECK_NO_TMP_IN(dir);
	rc = lockfile_create(p, 0, 0);
	e = errno;
	CHECK_RC("lock name over NAME_MAX, one attempt", rc, L_MAXTRYS,
	    EAGAIN, e);
	CHECK_NO_TMP_IN(dir);
	/* A folder name longer than NAME_MAX. */
	snprintf(p, sizeof(p), "%s/%s/x.lock", dir, name);
	rc = lockfile_create(p, 0, 0);
	e = errno;
	CHECK_RC("folder name over NAME_MAX", rc, L_TMPLOCK, ENAMETOOLONG,
	    e);
	/* The whole path over PATH_MAX - 32. */
	memset(p, 'a', PATH_MAX - 31);
	p[0] = '/';
	p[PATH_MAX - 31] = '\0';
	rc = lockfile_create(p, 0, 0);
	e = errno;
	CHECK_RC("path over PATH_MAX - 32", rc, L_ERROR, ENAMETOOLONG, e);
	CHECK_NO_TMP_IN(dir);
}

static void
case_fsize(void)
{
	char p[R_PATH], n[R_PATH];
	struct rlimit rl, old;
	struct stat held, stale;
	int rc[3], e[3];

	plant(dir, &held, &stale);
	at(p, "held.lock");
	at(n, "new.lock");
	/* A caller that limits the file size handles SIGXFSZ itself. */
	signal(SIGXFSZ, SIG_IGN);
	if (getrlimit(RLIMIT_FSIZE, &old) != 0)
		FAIL("getrlimit: %s", strerror(errno));
	rl = old;
	rl.rlim_cur = 0;
	/* Nothing is printed until the limit is back: stdout may be a file. */
	if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
		FAIL("setrlimit: %s", strerror(errno));
	rc[0] = lockfile_create(p, 0, 0);
	e[0] = errno;
	rc[1] = lockfile_create(at(p, "stale.lock"), 0, 0);
	e[1] = errno;
	/* One byte allowed: the pid is written short. */
	rl.rlim_cur = 1;
	if (setrlimit(RLIMIT_FSIZE, &rl) == 0) {
		rc[2] = lockfile_create(n, 0, L_PID);
		e[2] = errno;
	} else {
		rc[2] = -1;
		e[2] = errno;
	}
	if (setrlimit(RLIMIT_FSIZE, &old) != 0)
		FAIL("setrlimit: %s", strerror(errno));
	CHECK_RC("create of a held lock, RLIMIT_FSIZE 0", rc[0], L_TMPWRITE,
	    EFBIG, e[0]);
	r_same(at(p, "held.lock"), &held);
	CHECK_RC("create of a stale lock, RLIMIT_FSIZE 0", rc[1],
	    L_TMPWRITE, EFBIG, e[1]);
	/* A short write is not retried (a second write would raise
	   SIGXFSZ): EAGAIN, as the reference says. */
	CHECK_RC("create, RLIMIT_FSIZE 1 (a short write)", rc[2],
	    L_TMPWRITE, EAGAIN, e[2]);
	CHECK(!exists(n), "lock created");
	CHECK_NO_TMP_IN(dir);
}

/* Descriptors taken to fill the table. */
static int fillers[1024], nfillers;

/*
 * Lower RLIMIT_NOFILE to the highest open descriptor + 1 and take every
 * free one below it, so that no descriptor is free; returns the old limit.
 */
static struct rlimit
no_free_fd(void)
{
	struct rlimit rl, old;
	int fd, high = 0;

	if (getrlimit(RLIMIT_NOFILE, &old) != 0)
		FAIL("getrlimit: %s", strerror(errno));
	for (fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			high = fd;
	rl = old;
	rl.rlim_cur = high + 1;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		SKIP("setrlimit NOFILE: %s", strerror(errno));
	nfillers = 0;
	while (nfillers < 1024 && (fd = open("/", O_RDONLY)) >= 0)
		fillers[nfillers++] = fd;
	if (errno != EMFILE)
		FAIL("filling the descriptor table: %s", strerror(errno));
	return old;
}

static void
free_fds(const struct rlimit *old)
{
	while (nfillers > 0)
		close(fillers[--nfillers]);
	if (setrlimit(RLIMIT_NOFILE, old) != 0)
		FAIL("setrlimit: %s", strerror(errno));
}

static void
case_nofile(void)
{
	char p[R_PATH], h[R_PATH], o[R_PATH], buf[32];
	struct stat held, stale, old_pid;
	struct rlimit old;
	int rc, e, rc_check, rc_create;

	plant(dir, &held, &stale);
	/* Held by a live pid, but untouched for long. */
	snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	make_lock(at(o, "pid.lock"), buf, 1000);
	old_pid = stat_or_fail(o);
	at(h, "held.lock");
	at(p, "new.lock");

	old = no_free_fd();
	rc = lockfile_create(p, 0, 0);
	e = errno;
	rc_check = lockfile_check(o, L_PID);
	rc_create = lockfile_create(o, 0, L_PID);
	free_fds(&old);
	CHECK_RC("create with no free descriptor", rc, L_TMPLOCK, EMFILE,
	    e);
	CHECK(!exists(p), "lock created");
	CHECK(rc_create == L_TMPLOCK, "create of a pid lock: %d",
	    rc_create);
	r_same(o, &old_pid);
	/* Not able to read the pid is no reason to call the lock stale. */
	CHECK(rc_check == 0, "lockfile_check of a live pid's lock with no "
	    "free descriptor: %d", rc_check);

	old = no_free_fd();
	rc = lockfile_create(h, 0, L_PID);
	e = errno;
	free_fds(&old);
	CHECK_RC("create of a held lock with no free descriptor", rc,
	    L_TMPLOCK, EMFILE, e);
	r_same(h, &held);
	CHECK_NO_TMP_IN(dir);
}

/*
 * Under shim_link.so, the first 10 link()s to flicker.lock fail as if the
 * lock were held, and the lock is gone by the lstat() that follows: a
 * busy lock changing hands. Those are lost attempts, not failures of
 * lstat(): with 20 retries the lock is taken (the reference gives up
 * with L_MAXTRYS/ENOENT after six).
 */
static void
case_flicker(void)
{
	char p[R_PATH];
	const char *fails = getenv("SHIM_LINK_FAILS");
	int rc, e;

	if (fails == NULL || atoi(fails) != 10)
		FAIL("run with shim_link.so and SHIM_LINK_FAILS=10");
	rc = create2(at(p, "flicker.lock"), 20, 0, 0);
	e = errno;
	CHECK(rc == L_SUCCESS, "lock changing hands 10 times: %d (%s)", rc,
	    strerror(e));
	CHECK(lockfile_remove(p) == 0, "remove: %s", strerror(errno));
	CHECK_NO_TMP_IN(dir);
}

/*
 * Under shim_link.so with SHIM_BREAK_RACE, another waiter breaks the same
 * stale lock just as we remove it (between our last lstat() and our
 * unlink()), following the same protocol. Whoever loses must not remove
 * the lock the winner has just taken: the shim's waiter then leaves
 * race.lock.taken and its lock is gone.
 */
static void
case_breakrace(void)
{
	char p[R_PATH], note[R_PATH];
	int rc;

	if (getenv("SHIM_BREAK_RACE") == NULL)
		FAIL("run with shim_link.so and SHIM_BREAK_RACE=1");
	make_lock(at(p, "race.lock"), "0\n", 1000);
	rc = lockfile_create(p, 0, 0);
	CHECK(rc == L_SUCCESS, "create over a stale lock: %d (%s)", rc,
	    strerror(errno));
	CHECK(!exists(at(note, "race.lock.taken")), "removed the lock "
	    "another waiter had just taken after breaking the same stale "
	    "lock");
	CHECK(lockfile_remove(p) == 0, "remove: %s", strerror(errno));
	CHECK_NO_TMP_IN(dir);
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: faults CASE DIR [DIR]\n");
		return 2;
	}
	tc_set_case(argv[1]);
	snprintf(dir, sizeof(dir), "%s", argv[2]);
	if (strcmp(tc_name, "enospc-data") == 0)
		case_enospc_data();
	else if (strcmp(tc_name, "enospc-inodes") == 0)
		case_enospc_inodes();
	else if (strcmp(tc_name, "erofs") == 0 && argc == 4)
		case_erofs(argv[2], argv[3]);
	else if (strcmp(tc_name, "eacces-setup") == 0)
		case_eacces_setup();
	else if (strcmp(tc_name, "eacces") == 0)
		case_eacces();
	else if (strcmp(tc_name, "dirs") == 0)
		case_dirs();
	else if (strcmp(tc_name, "nametoolong") == 0)
		case_nametoolong();
	else if (strcmp(tc_name, "fsize") == 0)
		case_fsize();
	else if (strcmp(tc_name, "nofile") == 0)
		case_nofile();
	else if (strcmp(tc_name, "flicker") == 0)
		case_flicker();
	else if (strcmp(tc_name, "breakrace") == 0)
		case_breakrace();
	else {
		fprintf(stderr, "faults: unknown case %s\n", tc_name);
		return 2;
	}
	printf("ok %s\n", tc_name);
	return 0;
}
