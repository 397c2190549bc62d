/*
 * docs/protocol.md §2.8: with __L_INTERVAL lockfile_create2 sleeps args->interval
 * seconds between attempts (0 allowed), not the 5, 10, ... schedule.
 */
#include "common.h"

int
main(void)
{
	char lock[TC_PATH];
	struct __lockargs args;
	tc_create2_fn create2;
	double t0, dt;
	int rc, e;

	TEST_BEGIN();
	if ((create2 = get_create2()) == NULL)
		SKIP("library does not export lockfile_create2");
	tpath(lock, "interval.lock");
	make_lock(lock, "0\n", 0);

	/* Interval 0: 201 attempts without sleeping. */
	args.interval = 0;
	t0 = now_mono();
	errno = 0;
	rc = create2(lock, 200, __L_INTERVAL, &args, sizeof(args));
	e = errno;
	dt = now_mono() - t0;
	CHECK_RC("lockfile_create2(held, 200, interval 0)", rc, L_MAXTRYS,
	    EAGAIN, e);
	CHECK(dt < QUICK, "interval 0 took %.2f s", dt);
	CHECK_NO_TMP();

	/* Interval 1, 2 retries: 1 s + 1 s. */
	args.interval = 1;
	t0 = now_mono();
	rc = create2(lock, 2, __L_INTERVAL, &args, sizeof(args));
	e = errno;
	dt = now_mono() - t0;
	CHECK_RC("lockfile_create2(held, 2, interval 1)", rc, L_MAXTRYS,
	    EAGAIN, e);
	/* At least the two sleeps; well under the 5 s of the default
	 * schedule's first sleep, which a lost interval would give. */
	CHECK(dt >= 1.95 && dt < 4.9, "interval 1, 2 retries took %.2f s, "
	    "want 2 s", dt);
	CHECK_NO_TMP();
	CHECK_CONTENT(lock, "0\n");

	/* Once the lock is gone the next attempt takes it. */
	CHECK(lockfile_remove(lock) == 0, "lockfile_remove failed");
	args.interval = 0;
	rc = create2(lock, 0, __L_INTERVAL, &args, sizeof(args));
	e = errno;
	CHECK_RC("lockfile_create2(free, 0, interval 0)", rc, L_SUCCESS, -1,
	    e);
	CHECK_NO_TMP();
	PASS();
}
