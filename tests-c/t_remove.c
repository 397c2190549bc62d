/*
 * docs/c-policy.md §4: lockfile_remove unlinks the lock (0); a missing lock is success
 * too (0); another failure is -1 with unlink's errno (a directory here).
 */
#include "common.h"

int
main(void)
{
	char lock[TC_PATH], dir[TC_PATH];
	int rc, e;

	TEST_BEGIN();
	tpath(lock, "rm.lock");

	make_lock(lock, "0\n", 0);
	rc = lockfile_remove(lock);
	e = errno;
	CHECK_RC("lockfile_remove(existing)", rc, 0, -1, e);
	CHECK(!exists(lock), "lock still exists");

	rc = lockfile_remove(lock);
	e = errno;
	CHECK_RC("lockfile_remove(missing)", rc, 0, -1, e);
	rc = lockfile_remove(tpath(dir, "no/such/dir.lock"));
	e = errno;
	CHECK_RC("lockfile_remove(missing dir)", rc, 0, -1, e);

	if (mkdir(tpath(dir, "adir"), 0755) != 0)
		FAIL("mkdir: %s", strerror(errno));
	errno = 0;
	rc = lockfile_remove(dir);
	e = errno;
	CHECK(rc == -1 && e != 0 && e != ENOENT, "lockfile_remove(a "
	    "directory) returned %d errno %d (%s), want -1 with an errno",
	    rc, e, strerror(e));
	CHECK(exists(dir), "directory removed");
	CHECK_NO_TMP();
	PASS();
}
