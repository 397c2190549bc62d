/*
 * docs/decisions.md §8 (we fix): maillock(NULL, ...) returns L_ERROR with errno EINVAL
 * and takes no lock (touchlock/mailunlock stay no-ops).  The reference
 * crashes.  Runs in a child, so a crash is reported as a failure.
 */
#include "common.h"

/* maillock(NULL, 0), then the calls that must stay no-ops after it. */
static int
call(void *arg)
{
	int rc, e;

	(void)arg;
	rc = maillock(NULL, 0);
	e = errno;
	touchlock();
	mailunlock();
	errno = e;
	return rc;
}

int
main(void)
{
	char mbox[TC_PATH];

	TEST_BEGIN();
	set_mail(tpath(mbox, "ivan"));
	tc_call_in_child("maillock(NULL, 0)", call, NULL, L_ERROR, EINVAL);
	CHECK_NO_TMP();
	PASS();
}
