/*
 * docs/c-policy.md §4: with $MAIL = DIR/NAME, maillock(NAME, 0) creates $MAIL.lock
 * holding "0\n"; while it is held maillock returns 0 at once (for any
 * name) and creates nothing; touchlock sets its mtime to now; mailunlock
 * removes it; a second mailunlock is a no-op.
 */
#include "common.h"

int
main(void)
{
	char mbox[TC_PATH], lock[TC_PATH], other[TC_PATH];
	struct stat before, st;
	time_t now, after;
	int rc, e;

	TEST_BEGIN();
	tpath(mbox, "alice");
	tpath(lock, "alice.lock");
	write_file(mbox, "");
	set_mail(mbox);

	rc = maillock("alice", 0);
	e = errno;
	CHECK_RC("maillock(\"alice\", 0)", rc, L_SUCCESS, -1, e);
	CHECK_CONTENT(lock, "0\n");
	CHECK_NO_TMP();
	before = stat_or_fail(lock);

	rc = maillock("alice", 0);
	e = errno;
	CHECK_RC("second maillock(\"alice\", 0)", rc, L_SUCCESS, -1, e);
	rc = maillock("bob", 0);
	e = errno;
	CHECK_RC("maillock(\"bob\", 0) while holding", rc, L_SUCCESS, -1, e);
	CHECK(!exists(tpath(other, "bob.lock")), "bob.lock created");
	st = stat_or_fail(lock);
	CHECK(st.st_ino == before.st_ino, "lock replaced");

	now = real_now();
	set_times(lock, now - 1000, now - 1000);
	touchlock();
	after = real_now();
	st = stat_or_fail(lock);
	CHECK(SET_BETWEEN(st.st_mtime, now, after),
	    "touchlock: mtime is %ld, not in [%ld - 1, %ld]", (long)st.st_mtime,
	    (long)now, (long)after);
	CHECK(st.st_ino == before.st_ino, "lock replaced");

	mailunlock();
	CHECK(!exists(lock), "mailunlock did not remove the lock");
	CHECK(exists(mbox), "mailbox removed");
	mailunlock();
	CHECK_NO_TMP();

	/* And again after the unlock. */
	rc = maillock("alice", 0);
	e = errno;
	CHECK_RC("maillock after mailunlock", rc, L_SUCCESS, -1, e);
	CHECK(exists(lock), "lock not created again");
	mailunlock();
	CHECK(!exists(lock), "mailunlock did not remove the lock");
	CHECK_NO_TMP();
	PASS();
}
