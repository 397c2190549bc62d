/*
 * docs/decisions.md §8 (we fix): lockfile_create(NULL, ...) and lockfile_create2(NULL,
 * ...) return L_ERROR with errno EINVAL.  The reference crashes.  Each
 * call runs in a child, so a crash is reported as a failure.
 */
#include "common.h"

static int
call_create(void *arg)
{
	return lockfile_create(NULL, 0, *(int *)arg);
}

static int
call_create2(void *arg)
{
	struct __lockargs args = { 0 };

	return get_create2()(NULL, 0, *(int *)arg, &args, sizeof(args));
}

int
main(void)
{
	int flags[] = { 0, L_PID, L_PPID, __L_INTERVAL };
	char what[64];
	int i;

	TEST_BEGIN();
	for (i = 0; i < 3; i++) {
		snprintf(what, sizeof(what), "lockfile_create(NULL, 0, %d)",
		    flags[i]);
		tc_call_in_child(what, call_create, &flags[i], L_ERROR,
		    EINVAL);
	}
	if (get_create2() == NULL) {
		tc_info("lockfile_create2 not exported; not tested");
		PASS();
	}
	for (i = 0; i < 4; i++) {
		snprintf(what, sizeof(what), "lockfile_create2(NULL, 0, %d)",
		    flags[i]);
		tc_call_in_child(what, call_create2, &flags[i], L_ERROR,
		    EINVAL);
	}
	PASS();
}
