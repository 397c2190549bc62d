/*
 * With LOCKFILE_FAST_WAKE=1 the library keeps an inotify descriptor from
 * one wait to the next (README "Performance").  A program that closes all
 * its descriptors between two waits and opens others in their place (an
 * inotify instance of its own at the freed numbers, /dev/null, a pipe)
 * must find them untouched after the next wait: no watch of ours added to
 * its instance, none of its events read, nothing closed; and the second
 * wait still ends when the lock is released.
 */
#include <sys/inotify.h>
#include <pthread.h>

#include "common.h"

static char busy[TC_PATH];

static void *
release_when_waiting(void *arg)
{
	wait_until_sleeping(*(pid_t *)arg);
	if (unlink(busy) != 0)
		FAIL("unlink: %s", strerror(errno));
	return NULL;
}

/* lockfile_create() on a busy lock that another thread releases once we
 * wait; it must end in L_SUCCESS. */
static void
contended_wait(const char *what)
{
	pthread_t t;
	pid_t me = getpid();
	int rc, e;

	make_lock(busy, "0\n", 0);
	if (pthread_create(&t, NULL, release_when_waiting, &me) != 0)
		FAIL("pthread_create");
	rc = lockfile_create(busy, 1, 0);
	e = errno;
	pthread_join(t, NULL);
	CHECK_RC(what, rc, L_SUCCESS, -1, e);
	CHECK(lockfile_remove(busy) == 0, "%s: lockfile_remove", what);
}

/* The number of watches that /proc/self/fdinfo lists for fd. */
static int
watches(int fd)
{
	char path[64], buf[8192];
	int n = 0;
	char *p;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if (read_file(path, buf, sizeof(buf)) < 0)
		SKIP("cannot read %s: %s", path, strerror(errno));
	for (p = buf; (p = strstr(p, "inotify wd:")) != NULL; p++)
		n++;
	return n;
}

int
main(void)
{
	struct rlimit rl;
	char ev[8192], byte = 'x';
	int in, null, pfd[2], fd, wd, saw_tmp = 0, saw_ignored = 0;
	ssize_t n, off;

	TEST_BEGIN();
	if (setenv("LOCKFILE_FAST_WAKE", "1", 1) != 0)
		FAIL("setenv: %s", strerror(errno));
	tpath(busy, "busy.lock");
	contended_wait("first wait");

	/* Close everything but stdio, as a daemon does. */
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		FAIL("getrlimit: %s", strerror(errno));
	for (fd = 3; fd < (int)rl.rlim_cur && fd < 65536; fd++)
		(void)close(fd);
	/* Our own descriptors at the lowest numbers, where the library's
	 * were. */
	if ((in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
		FAIL("inotify_init1: %s", strerror(errno));
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		FAIL("open /dev/null: %s", strerror(errno));
	if (pipe(pfd) != 0)
		FAIL("pipe: %s", strerror(errno));
	if ((wd = inotify_add_watch(in, scratch_dir(), IN_CREATE)) < 0)
		FAIL("inotify_add_watch: %s", strerror(errno));
	CHECK(watches(in) == 1, "our inotify has %d watches", watches(in));

	contended_wait("second wait");

	CHECK(watches(in) == 1, "after the wait our inotify has %d watches",
	    watches(in));
	n = read(in, ev, sizeof(ev));
	CHECK(n > 0, "our inotify lost its events (read: %s)",
	    n < 0 ? strerror(errno) : "empty");
	for (off = 0; off < n;) {
		struct inotify_event *e = (struct inotify_event *)(ev + off);

		if (e->wd == wd && (e->mask & IN_CREATE) && e->len > 0 &&
		    strncmp(e->name, ".lk", 3) == 0)
			saw_tmp = 1;
		if (e->mask & IN_IGNORED)
			saw_ignored = 1;
		off += (ssize_t)(sizeof(*e) + e->len);
	}
	CHECK(saw_tmp, "the creation of the temporary file is missing from "
	    "our inotify's events");
	CHECK(!saw_ignored, "a watch was removed from our inotify");
	CHECK(fcntl(null, F_GETFD) >= 0, "/dev/null was closed");
	CHECK(write(pfd[1], &byte, 1) == 1 && read(pfd[0], &byte, 1) == 1,
	    "our pipe no longer works");
	CHECK_NO_TMP();
	PASS();
}
