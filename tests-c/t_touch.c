/*
 * docs/c-policy.md §4: lockfile_touch sets the lock's atime and mtime to now (0); on a
 * missing lock it returns -1 with errno ENOENT.
 */
#include "common.h"

int
main(void)
{
	char lock[TC_PATH];
	struct stat st;
	time_t now, after;
	int rc, e;

	TEST_BEGIN();
	tpath(lock, "touch.lock");
	write_file(lock, "0\n");
	now = real_now();
	set_times(lock, now - 1000, now - 1000);

	rc = lockfile_touch(lock);
	e = errno;
	after = real_now();
	CHECK_RC("lockfile_touch(existing)", rc, 0, -1, e);
	st = stat_or_fail(lock);
	CHECK(SET_BETWEEN(st.st_mtime, now, after),
	    "mtime is %ld, not in [%ld - 1, %ld]", (long)st.st_mtime,
	    (long)now, (long)after);
	CHECK(SET_BETWEEN(st.st_atime, now, after),
	    "atime is %ld, not in [%ld - 1, %ld]", (long)st.st_atime,
	    (long)now, (long)after);
	CHECK(lockfile_check(lock, 0) == 0, "touched lock not valid");
	CHECK_CONTENT(lock, "0\n");

	CHECK(unlink(lock) == 0, "unlink: %s", strerror(errno));
	errno = 0;
	rc = lockfile_touch(lock);
	e = errno;
	CHECK_RC("lockfile_touch(missing)", rc, -1, ENOENT, e);
	CHECK(!exists(lock), "lockfile_touch created the lock");
	CHECK_NO_TMP();
	PASS();
}
