/*
 * docs/c-policy.md §4: $MAIL without a slash is its own last component: maillock of
 * that name locks "$MAIL.lock" relative to the current directory.
 */
#include "common.h"

int
main(void)
{
	char lock[TC_PATH];
	int rc, e;

	TEST_BEGIN();
	tpath(lock, "carol.lock");
	if (chdir(scratch_dir()) != 0)
		FAIL("chdir: %s", strerror(errno));
	set_mail("carol");

	rc = maillock("carol", 0);
	e = errno;
	CHECK_RC("maillock(\"carol\", 0)", rc, L_SUCCESS, -1, e);
	CHECK_CONTENT(lock, "0\n");
	CHECK_NO_TMP();
	mailunlock();
	CHECK(!exists(lock), "mailunlock did not remove the lock");
	CHECK_NO_TMP();
	if (chdir("/") != 0)
		FAIL("chdir /: %s", strerror(errno));
	PASS();
}
