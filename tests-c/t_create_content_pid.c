/* docs/protocol.md §2.2-3: with L_PID the lock holds getpid() in decimal and "\n". */
#include "common.h"

int
main(void)
{
	char lock[TC_PATH];
	int rc, e;

	TEST_BEGIN();
	tpath(lock, "pid.lock");

	rc = lockfile_create(lock, 0, L_PID);
	e = errno;
	CHECK_RC("lockfile_create(lock, 0, L_PID)", rc, L_SUCCESS, -1, e);
	CHECK_NO_TMP();
	CHECK_PID_CONTENT(lock, (long)getpid());
	CHECK(lockfile_check(lock, L_PID) == 0,
	    "lockfile_check(L_PID) on our own lock is not 0");
	CHECK(lockfile_remove(lock) == 0, "lockfile_remove failed");
	CHECK_NO_TMP();
	PASS();
}
