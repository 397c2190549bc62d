/*
 * docs/protocol.md §2.4: a lock name without a directory part puts the temporary file
 * in the current directory, and it is removed.
 */
#include "common.h"

int
main(void)
{
	char lock[TC_PATH];
	int rc, e;

	TEST_BEGIN();
	if (chdir(scratch_dir()) != 0)
		FAIL("chdir %s: %s", scratch_dir(), strerror(errno));

	rc = lockfile_create("rel.lock", 0, 0);
	e = errno;
	CHECK_RC("lockfile_create(\"rel.lock\")", rc, L_SUCCESS, -1, e);
	CHECK_NO_TMP();
	CHECK_CONTENT(tpath(lock, "rel.lock"), "0\n");
	CHECK(lockfile_check("rel.lock", 0) == 0, "lockfile_check is not 0");
	CHECK(lockfile_touch("rel.lock") == 0, "lockfile_touch failed");
	CHECK(lockfile_remove("rel.lock") == 0, "lockfile_remove failed");
	CHECK(!exists(lock), "lock still exists after lockfile_remove");
	CHECK_NO_TMP();
	if (chdir("/") != 0)
		FAIL("chdir /: %s", strerror(errno));
	PASS();
}
