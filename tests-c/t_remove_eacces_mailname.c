/*
 * docs/c-policy.md §4 (we fix): lockfile_remove on a lock named "*.lock" in a
 * directory we may not write returns -1 with errno EACCES.  The reference
 * returns 0 (errno ENOENT) because its mail-lock test overwrites errno
 * (the mailbox beside the lock does not exist).  Runs as uid 65534.
 */
#include "common.h"

static int
unprivileged(const char *lock)
{
	int rc, e;

	errno = 0;
	rc = lockfile_remove(lock);
	e = errno;
	CHECK_RC("lockfile_remove(mbox.lock in a read-only dir)", rc, -1,
	    EACCES, e);
	CHECK(exists(lock), "lock removed");
	return 0;
}

int
main(int argc, char **argv)
{
	TEST_BEGIN();
	tc_in_readonly_dir(argc, argv, "mbox.lock", 1, unprivileged);
	PASS();
}
