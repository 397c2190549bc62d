/*
 * SPEC §8 (we fix): lockfile_create(NULL, ...) and lockfile_create2(NULL,
 * ...) return L_ERROR with errno EINVAL.  The reference crashes.  Each
 * call runs in a child, so a crash is reported as a failure.
 */
#include "common.h"

static int
call_create(void *arg)
{
	int flags = *(int *)arg, rc, e;

	errno = 0;
	rc = lockfile_create(NULL, 0, flags);
	e = errno;
	if (rc != L_ERROR || e != EINVAL) {
		printf("# lockfile_create(NULL, 0, %d) returned %d errno %d\n",
		    flags, rc, e);
		return 1;
	}
	return 0;
}

static int
call_create2(void *arg)
{
	struct __lockargs args = { 0 };
	int flags = *(int *)arg, rc, e;

	errno = 0;
	rc = get_create2()(NULL, 0, flags, &args, sizeof(args));
	e = errno;
	if (rc != L_ERROR || e != EINVAL) {
		printf("# lockfile_create2(NULL, 0, %d) returned %d errno "
		    "%d\n", flags, rc, e);
		return 1;
	}
	return 0;
}

int
main(void)
{
	int flags[] = { 0, L_PID, L_PPID, __L_INTERVAL };
	int i, status;

	TEST_BEGIN();
	for (i = 0; i < 3; i++) {
		status = run_in_child(call_create, &flags[i]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "lockfile_create(NULL, 0, %d): %s, want L_ERROR/EINVAL",
		    flags[i], status_str(status));
	}
	if (get_create2() == NULL) {
		tc_info("lockfile_create2 not exported; not tested");
		PASS();
	}
	for (i = 0; i < 4; i++) {
		status = run_in_child(call_create2, &flags[i]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "lockfile_create2(NULL, 0, %d): %s, want L_ERROR/EINVAL",
		    flags[i], status_str(status));
	}
	PASS();
}
