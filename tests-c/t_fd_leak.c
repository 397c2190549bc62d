/*
 * docs/protocol.md §2 and docs/c-policy.md §4: no call leaves a file descriptor open, on any path
 * (success, held, stale, each error).  Counts /proc/self/fd before and
 * after three rounds of every kind of call.
 */
#include "common.h"

static void
calls(void)
{
	char lock[TC_PATH], path[TC_PATH], mbox[TC_PATH], dead[32];
	struct __lockargs args;
	tc_create2_fn create2 = get_create2();

	tpath(lock, "fd.lock");
	tpath(mbox, "judy");
	snprintf(dead, sizeof(dead), "%ld\n", (long)dead_pid());

	/* lockfile_create: success, held, stale by age, stale by pid. */
	(void)lockfile_create(lock, 0, L_PID);
	(void)lockfile_create(lock, 0, 0);
	(void)lockfile_create(lock, -1, 0);
	make_lock(lock, "0\n", 1000);
	(void)lockfile_create(lock, 0, 0);
	make_lock(lock, dead, 0);
	(void)lockfile_create(lock, 0, L_PID);
	(void)lockfile_remove(lock);

	/* lockfile_create errors. */
	(void)lockfile_create(lock, 0, 128);
	(void)lockfile_create(tpath(path, "no/such.lock"), 0, 0);
	write_file(tpath(path, "file"), "x");
	(void)lockfile_create(tpath(path, "file/x.lock"), 0, 0);

	/* lockfile_check, lockfile_touch, lockfile_remove. */
	(void)lockfile_check(lock, 0);
	make_lock(lock, dead, 0);
	(void)lockfile_check(lock, 0);
	(void)lockfile_check(lock, L_PID);
	make_lock(lock, "garbage garbage garbage\n", 1000);
	(void)lockfile_check(lock, L_PPID);
	(void)lockfile_touch(lock);
	(void)lockfile_remove(lock);
	(void)lockfile_touch(lock);
	(void)lockfile_remove(lock);

	/* lockfile_create2. */
	if (create2 != NULL) {
		args.interval = 0;
		(void)create2(lock, 3, __L_INTERVAL, &args, sizeof(args));
		(void)create2(lock, 3, __L_INTERVAL, &args, sizeof(args));
		(void)create2(lock, 3, __L_INTERVAL, NULL, 0);
		(void)lockfile_remove(lock);
	}

	/* Mail locks: free, already held, busy. */
	set_mail(mbox);
	(void)maillock("judy", 0);
	(void)maillock("judy", 0);
	touchlock();
	mailunlock();
	make_lock(tpath(path, "judy.lock"), "0\n", 0);
	(void)maillock("judy", 0);
	(void)unlink(path);
}

int
main(void)
{
	int before, after, i;

	TEST_BEGIN();
	(void)scratch_dir();
	before = count_fds();
	for (i = 0; i < 3; i++)
		calls();
	after = count_fds();
	CHECK(after == before, "%d file descriptors open before, %d after",
	    before, after);
	CHECK_NO_TMP();
	PASS();
}
