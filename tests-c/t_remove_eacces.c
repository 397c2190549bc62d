/*
 * SPEC §4: lockfile_remove on a lock in a directory we may not write
 * returns -1 with errno EACCES.  The name does not end in ".lock", so the
 * mail-lock path of the library is not involved (see
 * t_remove_eacces_mailname).  Runs the removal as uid 65534 when root.
 */
#include "common.h"

static int
unprivileged(const char *lock)
{
	int rc, e;

	errno = 0;
	rc = lockfile_remove(lock);
	e = errno;
	CHECK_RC("lockfile_remove(lock in a read-only dir)", rc, -1, EACCES,
	    e);
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
	tpath(lock, "ro/file.lck");
	make_lock(lock, "0\n", 0);
	if (chmod(dir, 0555) != 0)
		FAIL("chmod: %s", strerror(errno));
	status = run_unprivileged(lock);
	if (status < 0)
		status = unprivileged(lock);
	if (status == EXIT_SKIP)
		exit(EXIT_SKIP);
	CHECK(status == 0, "unprivileged part failed");
	CHECK_NO_TMP_IN(dir);
	PASS();
}
