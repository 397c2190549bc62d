/*
 * docs/c-policy.md §4: lockfile_remove on a lock in a directory we may not write
 * returns -1 with errno EACCES.  The name does not end in ".lock", so the
 * mail-lock path of the library is not involved (see
 * t_remove_eacces_mailname).  Runs the removal as uid 65534 when root.
 */
#include "common.h"

static int
unprivileged(const char *lock)
{
	int rc, e;

	errno = 0;
	rc = lockfile_remove(lock);
	e = errno;
	CHECK_RC("lockfile_remove(lock in a read-only dir)", rc, -1, EACCES,
	    e);
	CHECK(exists(lock), "lock removed");
	return 0;
}

int
main(int argc, char **argv)
{
	TEST_BEGIN();
	tc_in_readonly_dir(argc, argv, "file.lck", 1, unprivileged);
	PASS();
}
