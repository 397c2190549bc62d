/*
 * docs/protocol.md §2.8: the real sleep schedule.  A valid lock held by someone else,
 * lockfile_create(lock, 2, 0): three attempts with 5 s and then 10 s of
 * sleep between them, then L_MAXTRYS with errno EAGAIN after 15 s.
 * The only test that sleeps for real.  A sleep is never shorter than asked,
 * so 15 s is a hard lower bound; the upper bound leaves 4.5 s for a loaded
 * machine or valgrind and still rejects the next schedules one could
 * mistake it for (10 + 10, or a third attempt after 15 s more).
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
	tpath(lock, "schedule.lock");
	make_lock(lock, "0\n", 0);
	before = stat_or_fail(lock);

	t0 = now_mono();
	errno = 0;
	rc = lockfile_create(lock, 2, 0);
	e = errno;
	dt = now_mono() - t0;
	tc_info("lockfile_create(held, 2, 0) took %.3f s", dt);
	CHECK_RC("lockfile_create(held, 2, 0)", rc, L_MAXTRYS, EAGAIN, e);
	CHECK(dt >= 14.95 && dt < 19.5, "took %.2f s, want 15 s (5 + 10)",
	    dt);
	CHECK_NO_TMP();
	after = stat_or_fail(lock);
	CHECK(after.st_ino == before.st_ino, "lock replaced");
	CHECK_CONTENT(lock, "0\n");
	PASS();
}
