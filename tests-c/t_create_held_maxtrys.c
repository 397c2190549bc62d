/*
 * docs/protocol.md §2.6 and §2.9: a valid lock held by someone else, retries 0: one
 * attempt, no sleep, L_MAXTRYS with errno EAGAIN; the lock is untouched.
 */
#include "common.h"

int
main(void)
{
	char lock[TC_PATH];
	struct stat before, after;
	double t0, dt;
	int rc, e;

	TEST_BEGIN();
	tpath(lock, "held.lock");
	make_lock(lock, "0\n", 0);
	before = stat_or_fail(lock);

	t0 = now_mono();
	errno = 0;
	rc = lockfile_create(lock, 0, 0);
	e = errno;
	dt = now_mono() - t0;
	CHECK_RC("lockfile_create(held, 0, 0)", rc, L_MAXTRYS, EAGAIN, e);
	CHECK(dt < QUICK, "took %.2f s, want no sleep", dt);
	CHECK_NO_TMP();

	rc = lockfile_create(lock, 0, L_PID);
	e = errno;
	CHECK_RC("lockfile_create(held, 0, L_PID)", rc, L_MAXTRYS, EAGAIN, e);
	CHECK_NO_TMP();

	after = stat_or_fail(lock);
	CHECK(before.st_ino == after.st_ino, "lock was replaced");
	CHECK(before.st_mtime == after.st_mtime, "lock mtime changed");
	CHECK_CONTENT(lock, "0\n");
	PASS();
}
