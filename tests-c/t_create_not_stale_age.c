/*
 * docs/protocol.md §3: a lock whose mtime is 200 s old is still valid: with retries 0
 * lockfile_create returns L_MAXTRYS and leaves the lock untouched (same
 * inode, content and mtime).
 */
#include "common.h"

int
main(void)
{
	char lock[TC_PATH];
	struct stat before, after;
	int rc, e;

	TEST_BEGIN();
	tpath(lock, "young.lock");
	make_lock(lock, "0\n", 200);
	before = stat_or_fail(lock);

	rc = lockfile_create(lock, 0, 0);
	e = errno;
	CHECK_RC("lockfile_create(200 s old lock, 0, 0)", rc, L_MAXTRYS,
	    EAGAIN, e);
	CHECK_NO_TMP();
	after = stat_or_fail(lock);
	CHECK(after.st_ino == before.st_ino, "lock replaced");
	CHECK(after.st_mtime == before.st_mtime, "lock mtime changed");
	CHECK_CONTENT(lock, "0\n");
	PASS();
}
