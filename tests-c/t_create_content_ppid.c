/*
 * docs/protocol.md §2.2-3: with L_PPID the lock holds getppid(), and L_PPID wins over
 * L_PID.  Runs in a child so that the parent pid is known (this program).
 */
#include "common.h"

static int
child(void *arg)
{
	const char *lock = arg;
	const int flags[] = { L_PPID, L_PID | L_PPID };
	size_t i;
	int rc, e;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		rc = lockfile_create(lock, 0, flags[i]);
		e = errno;
		CHECK_RC("lockfile_create with L_PPID", rc, L_SUCCESS, -1, e);
		CHECK_NO_TMP();
		CHECK_PID_CONTENT(lock, (long)getppid());
		CHECK(lockfile_remove(lock) == 0, "lockfile_remove failed");
	}
	return 0;
}

int
main(void)
{
	char lock[TC_PATH];
	int status;

	TEST_BEGIN();
	tpath(lock, "ppid.lock");

	status = run_in_child(child, lock);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %s",
	    status_str(status));
	CHECK(!exists(lock), "lock left behind");
	CHECK_NO_TMP();
	PASS();
}
