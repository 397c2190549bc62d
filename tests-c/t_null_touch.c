/*
 * SPEC §8 (we fix): lockfile_touch(NULL) returns -1 with errno EINVAL.
 * The reference passes NULL on to the system call (EFAULT).  Runs in a
 * child, so a crash is reported as a failure.
 */
#include "common.h"

#define CALL	"lockfile_touch(NULL)"

static int
call(void *arg)
{
	int rc, e;

	(void)arg;
	errno = 0;
	rc = lockfile_touch(NULL);
	e = errno;
	if (rc != -1 || e != EINVAL) {
		printf("# " CALL " returned %d errno %d (%s)\n", rc, e,
		    strerror(e));
		return 1;
	}
	return 0;
}

int
main(void)
{
	int status;

	TEST_BEGIN();
	status = run_in_child(call, NULL);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    CALL ": %s, want -1/EINVAL", status_str(status));
	PASS();
}
