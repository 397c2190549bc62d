/*
 * docs/protocol.md §2.5: a path component of the lock is a regular file: L_TMPLOCK
 * with open's errno ENOTDIR.
 */
#include "common.h"

int
main(void)
{
	char lock[TC_PATH], file[TC_PATH];
	int rc, e;

	TEST_BEGIN();
	write_file(tpath(file, "file"), "not a directory\n");
	tpath(lock, "file/x.lock");

	errno = 0;
	rc = lockfile_create(lock, 0, 0);
	e = errno;
	CHECK_RC("lockfile_create(file/x.lock)", rc, L_TMPLOCK, ENOTDIR, e);
	CHECK_CONTENT(file, "not a directory\n");
	CHECK_NO_TMP();
	PASS();
}
