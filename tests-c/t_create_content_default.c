/*
 * docs/protocol.md §2.3: without L_PID/L_PPID the lock holds "0\n" (SysV readers need
 * the 0); the lock is a plain file with one link (temp file removed).
 */
#include "common.h"

int
main(void)
{
	char lock[TC_PATH];
	struct stat st;
	int rc, e;

	TEST_BEGIN();
	tpath(lock, "default.lock");

	errno = 0;
	rc = lockfile_create(lock, 0, 0);
	e = errno;
	CHECK_RC("lockfile_create(lock, 0, 0)", rc, L_SUCCESS, -1, e);
	CHECK_NO_TMP();
	CHECK_CONTENT(lock, "0\n");
	st = stat_or_fail(lock);
	CHECK(S_ISREG(st.st_mode), "lock is not a regular file");
	CHECK(st.st_nlink == 1, "lock has %lu links, want 1",
	    (unsigned long)st.st_nlink);
	CHECK(lockfile_remove(lock) == 0, "lockfile_remove failed");
	CHECK(!exists(lock), "lock still exists after lockfile_remove");
	CHECK_NO_TMP();
	PASS();
}
