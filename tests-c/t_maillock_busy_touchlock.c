/*
 * docs/c-policy.md §4: touchlock is a no-op when no mail lock is held, also after a
 * failed maillock: it must not touch the other process's lock.  (The
 * reference remembers the path of the failed attempt and touches it.)
 */
#include "common.h"

int
main(void)
{
	char mbox[TC_PATH], lock[TC_PATH];
	struct stat st;
	time_t now;
	int rc, e;

	TEST_BEGIN();
	tpath(mbox, "erin");
	tpath(lock, "erin.lock");
	set_mail(mbox);
	write_file(lock, "0\n");
	now = time(NULL);
	set_times(lock, now - 100, now - 100);

	rc = maillock("erin", 0);
	e = errno;
	CHECK_RC("maillock(held, 0)", rc, L_MAXTRYS, EAGAIN, e);
	touchlock();
	st = stat_or_fail(lock);
	CHECK(st.st_mtime == now - 100, "touchlock after a failed maillock "
	    "touched the other process's lock");
	CHECK_NO_TMP();
	PASS();
}
