/*
 * docs/protocol.md §2.2: with L_PPID, when the parent pid is 1 (the caller has been
 * orphaned), L_ORPHANED is returned before anything is created.
 * A grandchild whose parent has exited is reparented to init; if a
 * subreaper adopts it instead, its parent pid is not 1 and the test skips.
 */
#include "common.h"

/* Runs in the grandchild; writes a one-line report to fd. */
static void
orphan(int fd, const char *lock)
{
	char msg[256];
	double t0 = now_mono();
	int rc, e;

	while (getppid() != 1 && now_mono() - t0 < 2.0)
		usleep(10000);
	if (getppid() != 1) {
		snprintf(msg, sizeof(msg), "S parent pid is %ld, not 1 "
		    "(subreaper?)", (long)getppid());
	} else {
		errno = 0;
		rc = lockfile_create(lock, 0, L_PPID);
		e = errno;
		if (rc != L_ORPHANED)
			snprintf(msg, sizeof(msg), "F lockfile_create(L_PPID) "
			    "returned %d (errno %d), want L_ORPHANED", rc, e);
		else if ((rc = lockfile_create(lock, 0, L_PID | L_PPID)) !=
		    L_ORPHANED)
			snprintf(msg, sizeof(msg), "F lockfile_create(L_PID|"
			    "L_PPID) returned %d, want L_ORPHANED", rc);
		else
			snprintf(msg, sizeof(msg), "O");
	}
	if (write(fd, msg, strlen(msg)) < 0)
		_exit(1);
	_exit(0);
}

int
main(void)
{
	char lock[TC_PATH], msg[256];
	int pfd[2], status;
	ssize_t n, len = 0;
	pid_t pid;

	TEST_BEGIN();
	tpath(lock, "orphan.lock");
	if (pipe(pfd) != 0)
		FAIL("pipe: %s", strerror(errno));
	fflush(stdout);
	if ((pid = fork()) < 0)
		FAIL("fork: %s", strerror(errno));
	if (pid == 0) {
		close(pfd[0]);
		if ((pid = fork()) < 0)
			_exit(1);
		if (pid == 0)
			orphan(pfd[1], lock);
		_exit(0);
	}
	close(pfd[1]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		FAIL("intermediate child failed: %s", status_str(status));
	while (len < (ssize_t)sizeof(msg) - 1 &&
	    (n = read(pfd[0], msg + len, sizeof(msg) - 1 - len)) > 0)
		len += n;
	close(pfd[0]);
	msg[len] = '\0';

	if (msg[0] == 'S')
		SKIP("%s", msg + 2);
	CHECK(msg[0] == 'O', "%s", len > 2 ? msg + 2 : "grandchild died");
	CHECK(!exists(lock), "lock created");
	CHECK_NO_TMP();
	PASS();
}
