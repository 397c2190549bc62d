/*
 * docs/c-policy.md §4 (we fix): L_TMPLOCK keeps open's errno EACCES also for a lock
 * named "*.lock" (a candidate mail lock whose mailbox does not exist).
 * The reference reports ENOENT there: its mail-lock test overwrites errno.
 * Runs as uid 65534 when root.
 */
#include "common.h"

static int
unprivileged(const char *lock)
{
	int rc, e;

	errno = 0;
	rc = lockfile_create(lock, 0, 0);
	e = errno;
	CHECK_RC("lockfile_create(mbox.lock in a read-only dir)", rc,
	    L_TMPLOCK, EACCES, e);
	CHECK(!exists(lock), "lock created");
	return 0;
}

int
main(int argc, char **argv)
{
	TEST_BEGIN();
	tc_in_readonly_dir(argc, argv, "mbox.lock", 0, unprivileged);
	PASS();
}
