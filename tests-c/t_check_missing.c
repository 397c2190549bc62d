/* docs/protocol.md §3: lockfile_check on a lock that does not exist returns -1. */
#include "common.h"

int
main(void)
{
	char lock[TC_PATH];

	TEST_BEGIN();
	tpath(lock, "none.lock");
	CHECK(lockfile_check(lock, 0) == -1, "flags 0: not -1");
	CHECK(lockfile_check(lock, L_PID) == -1, "L_PID: not -1");
	CHECK(lockfile_check(lock, L_PPID) == -1, "L_PPID: not -1");
	CHECK(lockfile_check(tpath(lock, "no/such/dir.lock"), 0) == -1,
	    "missing directory: not -1");
	CHECK(!exists(lock), "lock created");
	PASS();
}
