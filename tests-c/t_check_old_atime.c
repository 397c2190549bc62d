/*
 * docs/protocol.md §3 (we fix): a lock with mtime and atime both 400 s in the past is
 * not valid: lockfile_check returns -1 at the first call.  The reference
 * uses the atime from before its read as "now" whenever the read moved the
 * atime (relatime does so here, atime older than ctime), and so calls such
 * a lock valid once.
 */
#include "common.h"

int
main(void)
{
	char lock[TC_PATH];
	time_t now;
	int rc1, rc2;

	TEST_BEGIN();
	tpath(lock, "old-atime.lock");
	write_file(lock, "0\n");
	now = time(NULL);
	set_times(lock, now - 400, now - 400);

	rc1 = lockfile_check(lock, 0);
	rc2 = lockfile_check(lock, 0);
	CHECK(rc1 == -1, "first lockfile_check returned %d, want -1", rc1);
	CHECK(rc2 == -1, "second lockfile_check returned %d, want -1", rc2);

	/* Same with L_PID and no pid in the lock. */
	set_times(lock, now - 400, now - 400);
	rc1 = lockfile_check(lock, L_PID);
	CHECK(rc1 == -1, "lockfile_check(L_PID) returned %d, want -1", rc1);
	CHECK_NO_TMP();
	PASS();
}
