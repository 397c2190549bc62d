/*
 * docs/protocol.md §3: with L_PID or L_PPID and a positive pid in the lock, the pid
 * decides: a live process (kill(pid, 0) succeeds or fails with EPERM)
 * makes the lock valid whatever its age; a dead one makes it invalid even
 * when fresh.
 */
#include "common.h"

static void
expect(const char *lock, const char *content, int age, int flags, int want,
    const char *what)
{
	int rc;

	make_lock(lock, content, age);
	rc = lockfile_check(lock, flags);
	CHECK(rc == want, "%s (content \"%s\", age %d, flags %d): "
	    "lockfile_check returned %d, want %d", what, esc(content), age,
	    flags, rc, want);
}

int
main(void)
{
	char lock[TC_PATH], dead[32], live[32], self[32];
	pid_t sleeper;
	int i;
	const int flags[] = { L_PID, L_PPID, L_PID | L_PPID };

	TEST_BEGIN();
	tpath(lock, "pid.lock");
	sleeper = spawn_sleeper();
	snprintf(dead, sizeof(dead), "%ld\n", (long)dead_pid());
	snprintf(live, sizeof(live), "%ld\n", (long)sleeper);
	snprintf(self, sizeof(self), "%ld", (long)getpid());

	for (i = 0; i < 3; i++) {
		expect(lock, dead, 0, flags[i], -1, "fresh lock, dead pid");
		expect(lock, dead, 1000, flags[i], -1, "old lock, dead pid");
		expect(lock, live, 1000, flags[i], 0, "old lock, live pid");
		expect(lock, live, 0, flags[i], 0, "fresh lock, live pid");
		/* No newline, as some writers leave it out. */
		expect(lock, self, 1000, flags[i], 0, "old lock, own pid");
		/* Pid 1 exists (EPERM when not root). */
		expect(lock, "1\n", 1000, flags[i], 0, "old lock, pid 1");
	}
	stop_child(sleeper);
	CHECK_NO_TMP();
	PASS();
}
