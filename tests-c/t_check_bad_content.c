/*
 * docs/protocol.md §3: lockfile_check reads at most 15 bytes; content without a
 * positive pid (garbage, empty, negative, zero) falls back to the age
 * rule.  Long content must not crash.  Each check runs in a child so that
 * a crash is reported.
 */
#include "common.h"

static const char *lock_path;
static int check_flags;

static int
do_check(void *arg)
{
	(void)arg;
	return lockfile_check(lock_path, check_flags) == 0 ? 0 : 1;
}

/*
 * Write content with the given age and check it in a child.  None of the
 * short contents holds a positive pid, so the age decides (want); the
 * value read from the long ones is unspecified: only crashes count there.
 */
static void
check_one(const char *lock, const char *content, int flags, int age,
    int want)
{
	int status, got;

	make_lock(lock, content, age);
	status = run_in_child(do_check, NULL);
	CHECK(WIFEXITED(status), "content \"%s\", flags %d, age %d: "
	    "lockfile_check %s", esc(content), flags, age,
	    status_str(status));
	if (strlen(content) >= 15)
		return;
	got = WEXITSTATUS(status) == 0 ? 0 : -1;
	CHECK(got == want, "content \"%s\", flags %d, age %d: "
	    "lockfile_check returned %d, want %d", esc(content), flags, age,
	    got, want);
}

int
main(void)
{
	char lock[TC_PATH];
	const char *contents[] = {
		"", "\n", "garbage", "abc\n", "0\n", "-1\n", "-999999\n",
		" \n", "0x10\n", "\001\002\003\377",
		"123456789012345",		/* 15 bytes */
		"1234567890123456",		/* 16 bytes */
		"12345678901234567890123456789012345678901234567890\n",
		"99999999999999999999999999999999999999999999999999",
		"000000000000000000000000000000000000001\n",
		"                                                 ",
	};
	const int flags[] = { 0, L_PID, L_PPID };
	size_t i, j;

	TEST_BEGIN();
	lock_path = tpath(lock, "content.lock");

	for (i = 0; i < sizeof(contents) / sizeof(contents[0]); i++) {
		for (j = 0; j < sizeof(flags) / sizeof(flags[0]); j++) {
			check_flags = flags[j];
			check_one(lock, contents[i], flags[j], 1000, -1);
			check_one(lock, contents[i], flags[j], 0, 0);
		}
	}
	CHECK_NO_TMP();
	PASS();
}
