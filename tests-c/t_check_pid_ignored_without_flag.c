/*
 * docs/protocol.md §3: lockfile_check with flags 0 ignores the pid in the lock and
 * judges by age only.
 */
#include "common.h"

int
main(void)
{
	char lock[TC_PATH], dead[32], live[32];
	pid_t sleeper;
	int rc1, rc2;

	TEST_BEGIN();
	tpath(lock, "flagless.lock");
	sleeper = spawn_sleeper();
	snprintf(dead, sizeof(dead), "%ld\n", (long)dead_pid());
	snprintf(live, sizeof(live), "%ld\n", (long)sleeper);

	make_lock(lock, dead, 0);
	rc1 = lockfile_check(lock, 0);
	make_lock(lock, live, 1000);
	rc2 = lockfile_check(lock, 0);
	stop_child(sleeper);
	CHECK(rc1 == 0, "fresh lock of a dead pid: %d, want 0", rc1);
	CHECK(rc2 == -1, "old lock of a live pid: %d, want -1", rc2);
	CHECK_NO_TMP();
	PASS();
}
