/*
 * docs/protocol.md §3: without a usable pid, a lock is valid (0) iff it is less than
 * 300 s old (mtime); an older one is not (-1).  lockfile_check changes
 * nothing.
 */
#include "common.h"

int
main(void)
{
	char lock[TC_PATH];
	const struct {
		int age, want;
	} cases[] = {
		{ 0, 0 }, { 1, 0 }, { 200, 0 }, { 290, 0 }, { -3600, 0 },
		{ 310, -1 }, { 400, -1 }, { 86400 * 30, -1 },
	};
	const int flags[] = { 0, L_PID, L_PPID };
	struct stat before, after;
	size_t i, j;
	int rc;

	TEST_BEGIN();
	tpath(lock, "age.lock");

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (j = 0; j < sizeof(flags) / sizeof(flags[0]); j++) {
			/* "0\n" has no usable pid: age rule for all flags. */
			make_lock(lock, "0\n", cases[i].age);
			before = stat_or_fail(lock);
			rc = lockfile_check(lock, flags[j]);
			CHECK(rc == cases[i].want, "age %d s, flags %d: "
			    "lockfile_check returned %d, want %d",
			    cases[i].age, flags[j], rc, cases[i].want);
			after = stat_or_fail(lock);
			CHECK(after.st_ino == before.st_ino &&
			    after.st_mtime == before.st_mtime,
			    "lockfile_check changed the lock");
		}
	}
	CHECK_CONTENT(lock, "0\n");
	CHECK_NO_TMP();
	PASS();
}
