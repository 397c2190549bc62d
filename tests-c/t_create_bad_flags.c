/*
 * docs/protocol.md §2.1: lockfile_create accepts only L_PID|L_PPID; any other bit
 * (including __L_INTERVAL, valid only for lockfile_create2) gives L_ERROR
 * with errno EINVAL and creates nothing.
 */
#include "common.h"

int
main(void)
{
	char lock[TC_PATH];
	const int flags[] = {
		1, 2, 4, 8, 64, 128, 256, L_PID | 1, L_PID | L_PPID | 64,
		__L_INTERVAL, 0x40000000, -1, INT_MIN
	};
	DIR *d;
	struct dirent *ent;
	size_t i;
	int rc, e;

	TEST_BEGIN();
	tpath(lock, "flags.lock");

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		errno = 0;
		rc = lockfile_create(lock, 0, flags[i]);
		e = errno;
		CHECK(rc == L_ERROR && e == EINVAL, "flags %#x: returned %d "
		    "errno %d (%s), want L_ERROR/EINVAL", (unsigned)flags[i],
		    rc, e, strerror(e));
	}
	/* Nothing at all may have been created. */
	if ((d = opendir(scratch_dir())) == NULL)
		FAIL("opendir: %s", strerror(errno));
	while ((ent = readdir(d)) != NULL)
		CHECK(strcmp(ent->d_name, ".") == 0 ||
		    strcmp(ent->d_name, "..") == 0,
		    "file %s created", ent->d_name);
	closedir(d);

	/* A valid call still works afterwards. */
	rc = lockfile_create(lock, 0, L_PID | L_PPID);
	e = errno;
	CHECK_RC("lockfile_create(L_PID|L_PPID)", rc, L_SUCCESS, -1, e);
	CHECK(lockfile_remove(lock) == 0, "lockfile_remove failed");
	CHECK_NO_TMP();
	PASS();
}
