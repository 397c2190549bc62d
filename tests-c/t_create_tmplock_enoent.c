/*
 * docs/protocol.md §2.5: the temporary file cannot be created because the directory
 * does not exist: L_TMPLOCK with open's errno ENOENT.
 */
#include "common.h"

int
main(void)
{
	char lock[TC_PATH];
	int rc, e;

	TEST_BEGIN();
	tpath(lock, "missing-dir/x.lock");

	errno = 0;
	rc = lockfile_create(lock, 0, 0);
	e = errno;
	CHECK_RC("lockfile_create(no such dir)", rc, L_TMPLOCK, ENOENT, e);
	rc = lockfile_create(lock, 3, L_PID);
	e = errno;
	CHECK_RC("lockfile_create(no such dir, 3, L_PID)", rc, L_TMPLOCK,
	    ENOENT, e);
	CHECK(!exists(tpath(lock, "missing-dir")), "directory created");
	CHECK_NO_TMP();
	PASS();
}
