/*
 * docs/protocol.md §2.7 and §3: a lock whose mtime is more than 300 s in the past is
 * stale: it is removed and taken at once, without sleeping, even with
 * retries 0 (one more attempt is granted).
 */
#include "common.h"

int
main(void)
{
	char lock[TC_PATH];
	const int retries[] = { 0, 3 };
	struct stat old;
	size_t i;
	double t0, dt;
	int rc, e;

	TEST_BEGIN();
	tpath(lock, "stale.lock");

	for (i = 0; i < sizeof(retries) / sizeof(retries[0]); i++) {
		make_lock(lock, "0\n", 310);
		old = stat_or_fail(lock);
		t0 = now_mono();
		rc = lockfile_create(lock, retries[i], 0);
		e = errno;
		dt = now_mono() - t0;
		CHECK_RC("lockfile_create(stale lock)", rc, L_SUCCESS, -1, e);
		CHECK(dt < QUICK, "retries %d: took %.2f s, want no sleep",
		    retries[i], dt);
		CHECK_NO_TMP();
		CHECK_CONTENT(lock, "0\n");
		CHECK(stat_or_fail(lock).st_mtime > old.st_mtime + 300,
		    "the old lock is still there");
		CHECK(lockfile_check(lock, 0) == 0, "new lock not valid");
		CHECK(lockfile_remove(lock) == 0, "lockfile_remove failed");
	}
	PASS();
}
