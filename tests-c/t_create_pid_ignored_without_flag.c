/*
 * docs/protocol.md §3: without L_PID/L_PPID the pid in a lock is ignored and only the
 * age counts: a fresh lock of a dead pid is valid (L_MAXTRYS), an old
 * lock of a live pid is stale (taken).
 */
#include "common.h"

int
main(void)
{
	char lock[TC_PATH], content[32];
	struct stat before;
	pid_t live;
	int rc, e;

	TEST_BEGIN();
	tpath(lock, "flagless.lock");

	snprintf(content, sizeof(content), "%ld\n", (long)dead_pid());
	make_lock(lock, content, 0);
	before = stat_or_fail(lock);
	rc = lockfile_create(lock, 0, 0);
	e = errno;
	CHECK_RC("lockfile_create(fresh lock of a dead pid, 0, 0)", rc,
	    L_MAXTRYS, EAGAIN, e);
	CHECK_NO_TMP();
	CHECK(stat_or_fail(lock).st_ino == before.st_ino, "lock replaced");
	CHECK_CONTENT(lock, content);

	live = spawn_sleeper();
	snprintf(content, sizeof(content), "%ld\n", (long)live);
	make_lock(lock, content, 1000);
	rc = lockfile_create(lock, 0, 0);
	e = errno;
	stop_child(live);
	CHECK_RC("lockfile_create(old lock of a live pid, 0, 0)", rc,
	    L_SUCCESS, -1, e);
	CHECK_NO_TMP();
	CHECK_CONTENT(lock, "0\n");
	PASS();
}
