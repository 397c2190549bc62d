/*
 * SPEC §8 (we fix): maillock(NULL, ...) returns L_ERROR with errno EINVAL
 * and takes no lock (touchlock/mailunlock stay no-ops).  The reference
 * crashes.  Runs in a child, so a crash is reported as a failure.
 */
#include "common.h"

static int
call(void *arg)
{
	int rc, e;

	(void)arg;
	errno = 0;
	rc = maillock(NULL, 0);
	e = errno;
	if (rc != L_ERROR || e != EINVAL) {
		printf("# maillock(NULL, 0) returned %d errno %d\n", rc, e);
		return 1;
	}
	touchlock();
	mailunlock();
	return 0;
}

int
main(void)
{
	char mbox[TC_PATH];
	int status;

	TEST_BEGIN();
	if (setenv("MAIL", tpath(mbox, "ivan"), 1) != 0)
		FAIL("setenv: %s", strerror(errno));
	status = run_in_child(call, NULL);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "maillock(NULL, 0): %s, want L_ERROR/EINVAL", status_str(status));
	CHECK_NO_TMP();
	PASS();
}
