/*
 * netfs - locking on shared network file systems and on file systems
 * without hard links (docs/protocol.md §2.6, docs/decisions.md §8).
 *
 *	netfs links A B		A and B: one sshfs share mounted twice. SFTP
 *				carries no inode numbers, so the two names of
 *				a hard link show different inodes: a lock is
 *				ours because link() returned 0.
 *	netfs refails A		(built against the reference) the reference
 *				cannot lock there: L_MAXTRYS, and the lock it
 *				made is left behind as an orphan.
 *	netfs nolinks DIR	DIR on a file system without hard links
 *				(FUSE FAT): the lock is made with O_EXCL.
 *	netfs fastwake A B	with LOCKFILE_FAST_WAKE=1 a waiter watches
 *				the lock's folder with inotify, which sees
 *				nothing removed through another mount: the
 *				wait still ends when the schedule says, and
 *				the lock is taken.
 */
#include "rel.h"

static char buf[R_PATH], buf2[R_PATH];

static char *
at(char *out, const char *d, const char *name)
{
	snprintf(out, R_PATH, "%s/%s", d, name);
	return out;
}

static void
check_content(const char *path, const char *want)
{
	char got[64];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY)) < 0)
		FAIL("open %s: %s", path, strerror(errno));
	n = read(fd, got, sizeof(got) - 1);
	close(fd);
	if (n < 0)
		FAIL("read %s: %s", path, strerror(errno));
	got[n] = '\0';
	CHECK(strcmp(got, want) == 0, "%s holds \"%.20s\", want \"%.20s\"",
	    path, got, want);
}

static int
create2(const char *path, int retries, int flags)
{
	struct __lockargs args = { 0 };

	return lockfile_create2(path, retries, flags | __L_INTERVAL, &args,
	    sizeof(args));
}

static void
case_links(const char *a, const char *b)
{
	struct stat s1, s2;
	int rc, e;

	/* The premise: a hard link's two names show two inodes. */
	make_lock(at(buf, a, "f"), "x\n", 0);
	(void)unlink(at(buf2, a, "g"));
	if (link(buf, at(buf2, a, "g")) != 0)
		FAIL("link on the share: %s", strerror(errno));
	s1 = stat_or_fail(buf);
	s2 = stat_or_fail(buf2);
	tc_info("a hard link's names show inodes %lu and %lu, %lu link(s)",
	    (unsigned long)s1.st_ino, (unsigned long)s2.st_ino,
	    (unsigned long)s1.st_nlink);
	(void)unlink(buf);
	(void)unlink(buf2);

	errno = 0;
	rc = lockfile_create(at(buf, a, "x.lock"), 0, L_PID);
	e = errno;
	CHECK(rc == L_SUCCESS, "lockfile_create on sshfs: %d (%s)", rc,
	    strerror(e));
	CHECK_PID_CONTENT(at(buf2, b, "x.lock"), (long)getpid());
	CHECK(lockfile_check(buf2, L_PID) == 0, "not valid through the "
	    "other mount");
	rc = create2(buf2, 3, L_PID);
	e = errno;
	CHECK_RC("create of the held lock through the other mount", rc,
	    L_MAXTRYS, EAGAIN, e);
	CHECK_PID_CONTENT(buf, (long)getpid());
	CHECK(lockfile_remove(buf2) == 0, "remove through the other "
	    "mount: %s", strerror(errno));
	CHECK(!exists(buf), "lock still seen through the first mount");
	CHECK_NO_TMP_IN(a);
	CHECK_NO_TMP_IN(b);
}

static void
case_refails(const char *a)
{
	int rc, e;

	errno = 0;
	rc = lockfile_create(at(buf, a, "ref.lock"), 0, 0);
	e = errno;
	tc_info("the reference on sshfs: %d (%s), lock %s", rc, strerror(e),
	    exists(buf) ? "left behind" : "not left");
	CHECK(rc == L_MAXTRYS && exists(buf), "the reference took or "
	    "left no lock on sshfs: %d", rc);
	(void)unlink(buf);
	CHECK_NO_TMP_IN(a);
}

static void
case_nolinks(const char *d)
{
	struct stat held;
	int rc, e;

	/* The premise: no hard links here. */
	make_lock(at(buf, d, "f"), "x\n", 0);
	(void)unlink(at(buf2, d, "g"));
	rc = link(buf, at(buf2, d, "g"));
	e = errno;
	(void)unlink(buf);
	CHECK(rc != 0 && e == EPERM, "link() on this file system: %d %s, "
	    "want EPERM", rc, strerror(e));

	errno = 0;
	rc = lockfile_create(at(buf, d, "x.lock"), 0, L_PID);
	e = errno;
	CHECK(rc == L_SUCCESS, "lockfile_create without hard links: %d %s",
	    rc, strerror(e));
	CHECK_PID_CONTENT(buf, (long)getpid());
	CHECK_NO_TMP_IN(d);
	held = stat_or_fail(buf);
	rc = create2(buf, 2, 0);
	e = errno;
	CHECK_RC("create of a held lock", rc, L_MAXTRYS, EAGAIN, e);
	r_same(buf, &held);
	CHECK_PID_CONTENT(buf, (long)getpid());
	CHECK(lockfile_remove(buf) == 0, "remove: %s", strerror(errno));
	CHECK(!exists(buf), "lock not removed");

	/* A stale lock is replaced. */
	make_lock(at(buf, d, "stale.lock"), "0\n", 1000);
	rc = lockfile_create(buf, 0, 0);
	CHECK(rc == L_SUCCESS, "create over a stale lock: %d %s", rc,
	    strerror(errno));
	check_content(buf, "0\n");
	CHECK(lockfile_remove(buf) == 0, "remove: %s", strerror(errno));
	CHECK_NO_TMP_IN(d);
}

static void
case_fastwake(const char *a, const char *b)
{
	double removed, took;
	pid_t pid;
	int status;

	/* Read once per process: set before the first call, and so before
	 * the fork. */
	if (setenv("LOCKFILE_FAST_WAKE", "1", 1) != 0)
		FAIL("setenv: %s", strerror(errno));
	at(buf2, b, "fw.lock");
	CHECK(lockfile_create(at(buf, a, "fw.lock"), 0, 0) == L_SUCCESS,
	    "lock through the first mount: %s", strerror(errno));
	fflush(stdout);
	if ((pid = fork()) < 0)
		FAIL("fork: %s", strerror(errno));
	if (pid == 0)
		_exit(lockfile_create(buf2, 2, 0));
	/* Remove the lock only once the waiter has found it held. */
	wait_until_sleeping(pid);
	CHECK(lockfile_remove(buf) == 0, "remove: %s", strerror(errno));
	removed = now_mono();
	if (waitpid(pid, &status, 0) != pid)
		FAIL("waitpid: %s", strerror(errno));
	took = now_mono() - removed;
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == L_SUCCESS,
	    "the waiter on the other mount: status %#x", status);
	tc_info("the waiter took the lock %.1f s after its removal through "
	    "the other mount", took);
	/* The first wait is 5 s: it ends then at the latest. */
	CHECK(took < 30, "the waiter took %.1f s", took);
	CHECK(lockfile_remove(buf2) == 0, "remove: %s", strerror(errno));
	CHECK(!exists(buf), "lock still seen through the first mount");
	CHECK_NO_TMP_IN(a);
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: netfs links A B | refails A | "
		    "fastwake A B | nolinks DIR\n");
		return 2;
	}
	tc_set_case(argv[1]);
	if (strcmp(tc_name, "links") == 0 && argc == 4)
		case_links(argv[2], argv[3]);
	else if (strcmp(tc_name, "refails") == 0)
		case_refails(argv[2]);
	else if (strcmp(tc_name, "fastwake") == 0 && argc == 4)
		case_fastwake(argv[2], argv[3]);
	else if (strcmp(tc_name, "nolinks") == 0)
		case_nolinks(argv[2]);
	else {
		fprintf(stderr, "netfs: unknown case %s\n", tc_name);
		return 2;
	}
	printf("ok netfs %s\n", tc_name);
	return 0;
}
