/*
 * docs/c-policy.md §4: when $MAIL is unset, or its last component differs from the
 * name, maillock locks MAILDIR + name + ".lock".  Success or L_TMPLOCK
 * (MAILDIR missing or not writable) are both fine here; nothing may be
 * created beside $MAIL, and the test removes what it created in MAILDIR.
 */
#include "common.h"

static char maillock_path[TC_PATH];
static int created;

static void
cleanup_maildir(void)
{
	if (created)
		(void)unlink(maillock_path);
}

static void
one(const char *name, const char *how)
{
	char base[80], other[TC_PATH];
	int rc, e;

	errno = 0;
	rc = maillock(name, 0);
	e = errno;
	if (rc == L_SUCCESS) {
		created = 1;
		CHECK_CONTENT(maillock_path, "0\n");
		mailunlock();
		CHECK(!exists(maillock_path), "%s: mailunlock left %s", how,
		    maillock_path);
		created = 0;
	} else {
		CHECK(rc == L_TMPLOCK, "%s: maillock returned %d (errno %d "
		    "%s), want L_SUCCESS or L_TMPLOCK", how, rc, e,
		    strerror(e));
		CHECK(!exists(maillock_path), "%s: %s created", how,
		    maillock_path);
		tc_info("%s: L_TMPLOCK (%s): cannot write %s", how,
		    strerror(e), MAILDIR);
	}
	snprintf(base, sizeof(base), "%s.lock", name);
	CHECK(!exists(tpath(other, base)), "%s: lock created beside $MAIL",
	    how);
	CHECK(!exists(tpath(other, "helen.lock")), "%s: $MAIL.lock created",
	    how);
	CHECK_NO_TMP();
}

int
main(void)
{
	char mbox[TC_PATH], name[64];

	TEST_BEGIN();
	snprintf(name, sizeof(name), "lockfile-test-%ld-%ld", (long)getpid(),
	    (long)time(NULL));
	snprintf(maillock_path, sizeof(maillock_path), "%s%s.lock", MAILDIR,
	    name);
	if (exists(maillock_path))
		SKIP("%s exists", maillock_path);
	atexit(cleanup_maildir);

	set_mail(tpath(mbox, "helen"));
	one(name, "$MAIL for another name");
	set_mail(NULL);
	one(name, "$MAIL unset");
	PASS();
}
