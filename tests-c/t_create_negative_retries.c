/*
 * docs/protocol.md §2.6: retries + 1 attempts, none if that is <= 0: negative retries
 * give L_MAXTRYS (errno EAGAIN) at once, even when nobody holds the lock,
 * and create nothing.
 */
#include "common.h"

int
main(void)
{
	char lock[TC_PATH];
	const int retries[] = { -1, -2, -100, INT_MIN };
	size_t i;
	double t0;
	int rc, e;

	TEST_BEGIN();
	tpath(lock, "neg.lock");

	for (i = 0; i < sizeof(retries) / sizeof(retries[0]); i++) {
		t0 = now_mono();
		errno = 0;
		rc = lockfile_create(lock, retries[i], 0);
		e = errno;
		CHECK_RC("lockfile_create with negative retries", rc,
		    L_MAXTRYS, EAGAIN, e);
		CHECK(now_mono() - t0 < QUICK, "retries %d: slept", retries[i]);
		CHECK(!exists(lock), "retries %d: lock created", retries[i]);
		CHECK_NO_TMP();
	}

	/* The same with a lock present: left alone. */
	make_lock(lock, "0\n", 0);
	rc = lockfile_create(lock, -1, 0);
	e = errno;
	CHECK_RC("lockfile_create(held, -1, 0)", rc, L_MAXTRYS, EAGAIN, e);
	CHECK_CONTENT(lock, "0\n");
	CHECK_NO_TMP();
	PASS();
}
