/*
 * docs/protocol.md §2.5: the temporary file cannot be created in a directory we may
 * not write: L_TMPLOCK with open's errno EACCES.  The name does not end in
 * ".lock" (see t_create_tmplock_eacces_mailname).  Runs as uid 65534 when
 * root.
 */
#include "common.h"

static int
unprivileged(const char *lock)
{
	int rc, e;

	errno = 0;
	rc = lockfile_create(lock, 0, 0);
	e = errno;
	CHECK_RC("lockfile_create(lock in a read-only dir)", rc, L_TMPLOCK,
	    EACCES, e);
	CHECK(!exists(lock), "lock created");
	return 0;
}

int
main(int argc, char **argv)
{
	TEST_BEGIN();
	tc_in_readonly_dir(argc, argv, "file.lck", 0, unprivileged);
	PASS();
}
