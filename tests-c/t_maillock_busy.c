/*
 * docs/c-policy.md §4: maillock on a mail lock held by someone else, retries 0:
 * L_MAXTRYS (errno EAGAIN), the lock is left alone, and mailunlock does
 * not remove it (we do not hold it).  Once it is released maillock works.
 */
#include "common.h"

int
main(void)
{
	char mbox[TC_PATH], lock[TC_PATH];
	struct stat before;
	int rc, e;

	TEST_BEGIN();
	tpath(mbox, "dave");
	tpath(lock, "dave.lock");
	set_mail(mbox);
	make_lock(lock, "4242\n", 0);
	before = stat_or_fail(lock);

	rc = maillock("dave", 0);
	e = errno;
	CHECK_RC("maillock(held, 0)", rc, L_MAXTRYS, EAGAIN, e);
	CHECK_NO_TMP();
	mailunlock();
	CHECK(exists(lock), "mailunlock removed a lock we do not hold");
	CHECK(stat_or_fail(lock).st_ino == before.st_ino, "lock replaced");
	CHECK_CONTENT(lock, "4242\n");

	CHECK(unlink(lock) == 0, "unlink: %s", strerror(errno));
	rc = maillock("dave", 0);
	e = errno;
	CHECK_RC("maillock(free, 0)", rc, L_SUCCESS, -1, e);
	CHECK_CONTENT(lock, "0\n");
	mailunlock();
	CHECK(!exists(lock), "mailunlock did not remove the lock");
	CHECK_NO_TMP();
	PASS();
}
