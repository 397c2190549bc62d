/*
 * docs/protocol.md §2.5: when the pid cannot be written to the temporary file,
 * lockfile_create returns L_TMPWRITE with write's errno and removes the
 * temporary file.  A file size limit of 0 makes write fail with EFBIG.
 */
#include "common.h"

#include <sys/resource.h>

int
main(void)
{
	char lock[TC_PATH];
	struct rlimit old, zero;
	int rc, e;

	TEST_BEGIN();
	tpath(lock, "write.lock");
	if (getrlimit(RLIMIT_FSIZE, &old) != 0)
		FAIL("getrlimit: %s", strerror(errno));
	signal(SIGXFSZ, SIG_IGN);
	zero.rlim_cur = 0;
	zero.rlim_max = old.rlim_max;
	if (setrlimit(RLIMIT_FSIZE, &zero) != 0)
		SKIP("setrlimit: %s", strerror(errno));

	errno = 0;
	rc = lockfile_create(lock, 0, L_PID);
	e = errno;
	if (setrlimit(RLIMIT_FSIZE, &old) != 0)
		FAIL("setrlimit: %s", strerror(errno));
	CHECK_RC("lockfile_create with RLIMIT_FSIZE 0", rc, L_TMPWRITE,
	    EFBIG, e);
	CHECK(!exists(lock), "lock created");
	CHECK_NO_TMP();
	PASS();
}
