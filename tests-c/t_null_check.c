/*
 * docs/decisions.md §8 (we fix): lockfile_check(NULL, 0) returns -1 with errno EINVAL.
 * The reference passes NULL on to the system call (EFAULT).  Runs in a
 * child, so a crash is reported as a failure.
 */
#include "common.h"

static int
call(void *arg)
{
	(void)arg;
	return lockfile_check(NULL, 0);
}

int
main(void)
{
	TEST_BEGIN();
	tc_call_in_child("lockfile_check(NULL, 0)", call, NULL, -1, EINVAL);
	PASS();
}
