/*
 * docs/protocol.md §3 (we fix): a lock with both mtime and atime 400 s in the past is
 * stale and is taken at once.  The reference takes "now" from the atime
 * before its read, so the first look at such a lock calls it valid.
 */
#include "common.h"

int
main(void)
{
	char lock[TC_PATH];
	time_t now;
	double t0;
	int rc, e;

	TEST_BEGIN();
	tpath(lock, "old-atime.lock");
	write_file(lock, "0\n");
	now = time(NULL);
	set_times(lock, now - 400, now - 400);

	t0 = now_mono();
	rc = lockfile_create(lock, 0, 0);
	e = errno;
	CHECK_RC("lockfile_create(lock with old mtime and atime, 0, 0)", rc,
	    L_SUCCESS, -1, e);
	CHECK(now_mono() - t0 < QUICK, "slept");
	CHECK_NO_TMP();
	CHECK(stat_or_fail(lock).st_mtime >= now - 5, "old lock kept");
	PASS();
}
