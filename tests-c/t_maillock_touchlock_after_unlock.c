/*
 * docs/c-policy.md §4 (we fix): after mailunlock, touchlock is a no-op.  The
 * reference frees the remembered path in mailunlock and touchlock then
 * reads the freed memory.  To make that visible without a memory checker,
 * the test allocates a block of the same size right after mailunlock and
 * writes the old lock path into it (malloc hands back the block just
 * freed), then recreates a file at that path with an old mtime: touchlock
 * must leave it alone.
 */
#include "common.h"

/* Keeps the compiler from dropping the allocation. */
static char *volatile reuse;

int
main(void)
{
	char mbox[TC_PATH], lock[TC_PATH];
	struct stat st;
	time_t now;
	int rc, e;

	TEST_BEGIN();
	tpath(mbox, "frank");
	tpath(lock, "frank.lock");
	set_mail(mbox);

	rc = maillock("frank", 0);
	e = errno;
	CHECK_RC("maillock(\"frank\", 0)", rc, L_SUCCESS, -1, e);
	mailunlock();
	CHECK(!exists(lock), "mailunlock did not remove the lock");

	reuse = malloc(strlen(lock) + 1);
	if (reuse == NULL)
		FAIL("malloc failed");
	strcpy(reuse, lock);

	write_file(lock, "someone else's\n");
	now = time(NULL);
	set_times(lock, now - 1000, now - 1000);
	touchlock();
	st = stat_or_fail(lock);
	free(reuse);
	CHECK(st.st_mtime == now - 1000, "touchlock after mailunlock "
	    "touched %s", lock);
	CHECK_CONTENT(lock, "someone else's\n");
	CHECK_NO_TMP();
	PASS();
}
