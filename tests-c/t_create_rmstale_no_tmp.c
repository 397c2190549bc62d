/*
 * docs/protocol.md §2.7 (we fix): when a stale lock cannot be removed, lockfile_create
 * returns L_RMSTALE and leaves no temporary file behind (the reference
 * leaks it).  Set up as root: a sticky world-writable directory holding a
 * stale lock owned by root; uid 65534 may create its temporary file there
 * but not remove root's lock.
 */
#include "common.h"

static int
unprivileged(const char *lock)
{
	char dir[TC_PATH], *slash;
	int rc, e;

	snprintf(dir, sizeof(dir), "%s", lock);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	errno = 0;
	rc = lockfile_create(lock, 0, 0);
	e = errno;
	CHECK_RC("lockfile_create(stale lock we may not remove)", rc,
	    L_RMSTALE, -1, e);
	CHECK(exists(lock), "lock removed");
	CHECK_NO_TMP_IN(dir);
	return 0;
}

int
main(int argc, char **argv)
{
	char dir[TC_PATH], lock[TC_PATH];
	int status;

	TEST_BEGIN();
	if (is_unprivileged_run(argc, argv))
		return unprivileged(argv[2]);
	if (geteuid() != 0)
		SKIP("needs root to give the stale lock another owner");

	if (mkdir(tpath(dir, "sticky"), 0755) != 0)
		FAIL("mkdir: %s", strerror(errno));
	if (chmod(dir, 01777) != 0)
		FAIL("chmod: %s", strerror(errno));
	tpath(lock, "sticky/stale.lock");
	make_lock(lock, "0\n", 1000);
	status = run_unprivileged(lock);
	if (status == EXIT_SKIP)
		exit(EXIT_SKIP);
	CHECK(status == 0, "unprivileged part failed");
	CHECK_NO_TMP_IN(dir);
	PASS();
}
