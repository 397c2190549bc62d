/*
 * docs/protocol.md §2.7 and §3: with L_PID, a lock naming a process that no longer
 * exists is stale even if it is fresh: it is removed and taken at once.
 */
#include "common.h"

int
main(void)
{
	char lock[TC_PATH], content[32];
	double t0;
	int rc, e;

	TEST_BEGIN();
	tpath(lock, "deadpid.lock");
	snprintf(content, sizeof(content), "%ld\n", (long)dead_pid());
	make_lock(lock, content, 0);

	t0 = now_mono();
	rc = lockfile_create(lock, 0, L_PID);
	e = errno;
	CHECK_RC("lockfile_create(lock of a dead pid, 0, L_PID)", rc,
	    L_SUCCESS, -1, e);
	CHECK(now_mono() - t0 < QUICK, "slept");
	CHECK_NO_TMP();
	CHECK_PID_CONTENT(lock, (long)getpid());
	PASS();
}
