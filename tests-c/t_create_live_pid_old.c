/*
 * docs/protocol.md §3: with L_PID, a lock naming a live process is valid however old
 * its mtime: retries 0 gives L_MAXTRYS and the lock is left alone.
 */
#include "common.h"

int
main(void)
{
	char lock[TC_PATH], content[32];
	struct stat before, after;
	pid_t live;
	int rc, e;

	TEST_BEGIN();
	tpath(lock, "livepid.lock");
	live = spawn_sleeper();
	snprintf(content, sizeof(content), "%ld\n", (long)live);
	make_lock(lock, content, 1000);
	before = stat_or_fail(lock);

	rc = lockfile_create(lock, 0, L_PID);
	e = errno;
	if (rc != L_MAXTRYS)
		stop_child(live);
	CHECK_RC("lockfile_create(old lock of a live pid, 0, L_PID)", rc,
	    L_MAXTRYS, EAGAIN, e);
	CHECK_NO_TMP();
	rc = lockfile_create(lock, 0, L_PPID);
	e = errno;
	stop_child(live);
	CHECK_RC("lockfile_create(old lock of a live pid, 0, L_PPID)", rc,
	    L_MAXTRYS, EAGAIN, e);
	CHECK_NO_TMP();
	after = stat_or_fail(lock);
	CHECK(after.st_ino == before.st_ino, "lock replaced");
	CHECK(after.st_mtime == before.st_mtime, "lock mtime changed");
	CHECK_CONTENT(lock, content);
	PASS();
}
