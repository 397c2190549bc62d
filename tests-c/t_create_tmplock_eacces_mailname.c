/*
 * SPEC §4 (we fix): L_TMPLOCK keeps open's errno EACCES also for a lock
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
	char dir[TC_PATH], lock[TC_PATH];
	int status;

	TEST_BEGIN();
	if (is_unprivileged_run(argc, argv))
		return unprivileged(argv[2]);

	if (mkdir(tpath(dir, "ro"), 0755) != 0)
		FAIL("mkdir: %s", strerror(errno));
	if (chmod(dir, 0555) != 0)
		FAIL("chmod: %s", strerror(errno));
	tpath(lock, "ro/mbox.lock");
	status = run_unprivileged(lock);
	if (status < 0)
		status = unprivileged(lock);
	if (status == EXIT_SKIP)
		exit(EXIT_SKIP);
	CHECK(status == 0, "unprivileged part failed");
	CHECK_NO_TMP_IN(dir);
	PASS();
}
