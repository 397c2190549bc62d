/*
 * SPEC §4 (we fix): lockfile_remove on a lock named "*.lock" in a
 * directory we may not write returns -1 with errno EACCES.  The reference
 * returns 0 (errno ENOENT) because its mail-lock test overwrites errno
 * (the mailbox beside the lock does not exist).  Runs as uid 65534.
 */
#include "common.h"

static int
unprivileged(const char *lock)
{
	int rc, e;

	errno = 0;
	rc = lockfile_remove(lock);
	e = errno;
	CHECK_RC("lockfile_remove(mbox.lock in a read-only dir)", rc, -1,
	    EACCES, e);
	CHECK(exists(lock), "lock removed");
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
	tpath(lock, "ro/mbox.lock");
	make_lock(lock, "0\n", 0);
	if (chmod(dir, 0555) != 0)
		FAIL("chmod: %s", strerror(errno));
	status = run_unprivileged(lock);
	if (status < 0)
		status = unprivileged(lock);
	if (status == EXIT_SKIP)
		exit(EXIT_SKIP);
	CHECK(status == 0, "unprivileged part failed");
	PASS();
}
