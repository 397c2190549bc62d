/*
 * docs/protocol.md §2.3 (amended 2026-12): with L_PID or L_PPID the pid line is
 * followed by exactly one line, the holder's identity (host name, boot
 * id, PID namespace), so that a reader elsewhere does not trust the pid;
 * without a pid flag the lock is "0\n" as before.  1.17 writes the bare
 * pid (tests-c/reference-xfail.txt).
 */
#include "common.h"

int
main(void)
{
	char lock[TC_PATH], want[600];
	int rc, e;

	TEST_BEGIN();
	tpath(lock, "id.lock");
	CHECK(*own_identity() != '\0', "cannot read this process's identity");

	rc = lockfile_create(lock, 0, L_PID);
	e = errno;
	CHECK_RC("lockfile_create(lock, 0, L_PID)", rc, L_SUCCESS, -1, e);
	snprintf(want, sizeof(want), "%ld\n%s", (long)getpid(), own_identity());
	CHECK_CONTENT(lock, want);
	CHECK(lockfile_check(lock, L_PID) == 0,
	    "lockfile_check(L_PID) on our own lock is not 0");
	CHECK(lockfile_remove(lock) == 0, "lockfile_remove failed");

	rc = lockfile_create(lock, 0, 0);
	e = errno;
	CHECK_RC("lockfile_create(lock, 0, 0)", rc, L_SUCCESS, -1, e);
	CHECK_CONTENT(lock, "0\n");
	CHECK(lockfile_remove(lock) == 0, "lockfile_remove failed");
	CHECK_NO_TMP();
	PASS();
}
