/*
 * docs/protocol.md §2.4: a lock path whose length plus 32 exceeds PATH_MAX (4096)
 * gives L_ERROR with ENAMETOOLONG before anything is created; at exactly
 * 4096 the call goes on (here: L_TMPLOCK, the directory does not exist).
 */
#include "common.h"

/*
 * buf = scratch/missing/aaa.../aaa...k of exactly len characters, in
 * components shorter than NAME_MAX.
 */
static void
long_path(char *buf, size_t len)
{
	size_t n;

	n = (size_t)snprintf(buf, TC_PATH, "%s/missing/", scratch_dir());
	for (; n < len; n++)
		buf[n] = (n % 200 == 0) ? '/' : 'a';
	buf[len - 1] = 'k';	/* no trailing slash */
	buf[len] = '\0';
}

int
main(void)
{
	static char lock[TC_PATH];
	int rc, e;

	TEST_BEGIN();

	long_path(lock, PATH_MAX - 32 + 1);
	CHECK(strlen(lock) == 4065, "bad test path length %zu",
	    strlen(lock));
	errno = 0;
	rc = lockfile_create(lock, 0, 0);
	e = errno;
	CHECK_RC("lockfile_create(4065-char path)", rc, L_ERROR,
	    ENAMETOOLONG, e);
	CHECK(!exists(tpath(lock, "missing")), "something was created");

	long_path(lock, PATH_MAX + 100);
	rc = lockfile_create(lock, 0, L_PID);
	e = errno;
	CHECK_RC("lockfile_create(4196-char path)", rc, L_ERROR,
	    ENAMETOOLONG, e);

	long_path(lock, PATH_MAX - 32);
	rc = lockfile_create(lock, 0, 0);
	e = errno;
	CHECK_RC("lockfile_create(4064-char path)", rc, L_TMPLOCK, ENOENT,
	    e);
	CHECK(!exists(tpath(lock, "missing")), "something was created");
	CHECK_NO_TMP();
	PASS();
}
