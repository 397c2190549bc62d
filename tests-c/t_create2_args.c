/*
 * docs/protocol.md §2.1: lockfile_create2 checks its arguments: args_sz must equal
 * sizeof(struct __lockargs) when args is not NULL, __L_INTERVAL needs
 * args, unknown flags are refused: L_ERROR with errno EINVAL, nothing
 * created.  Valid combinations lock normally.
 */
#include "common.h"

int
main(void)
{
	char lock[TC_PATH];
	struct __lockargs args = { 0 };
	const int sz = (int)sizeof(args);
	tc_create2_fn create2;
	struct {
		const char *what;
		int flags;
		struct __lockargs *args;
		int args_sz;
	} bad[] = {
		{ "args_sz 0", __L_INTERVAL, &args, 0 },
		{ "args_sz + 1", __L_INTERVAL, &args, sz + 1 },
		{ "args_sz - 1", __L_INTERVAL, &args, sz - 1 },
		{ "args_sz -1", 0, &args, -1 },
		{ "args_sz mismatch, no flag", 0, &args, sz * 2 },
		{ "__L_INTERVAL, NULL args", __L_INTERVAL, NULL, sz },
		{ "__L_INTERVAL, NULL args, 0", __L_INTERVAL, NULL, 0 },
		{ "flag 128", 128, &args, sz },
		{ "flag 1", 1 | __L_INTERVAL, &args, sz },
		{ "flag 256, NULL args", 256, NULL, 0 },
	};
	struct {
		const char *what;
		int flags;
		struct __lockargs *args;
		int args_sz;
	} good[] = {
		{ "no flags, NULL args", 0, NULL, 0 },
		{ "no flags, NULL args, any size", 0, NULL, 12345 },
		{ "args without __L_INTERVAL", L_PID, &args, sz },
		{ "__L_INTERVAL", __L_INTERVAL | L_PID | L_PPID, &args, sz },
	};
	size_t i;
	int rc, e;

	TEST_BEGIN();
	if ((create2 = get_create2()) == NULL)
		SKIP("library does not export lockfile_create2");
	tpath(lock, "args.lock");

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		rc = create2(lock, 0, bad[i].flags, bad[i].args,
		    bad[i].args_sz);
		e = errno;
		CHECK(rc == L_ERROR && e == EINVAL, "%s: returned %d errno "
		    "%d (%s), want L_ERROR/EINVAL", bad[i].what, rc, e,
		    strerror(e));
		CHECK(!exists(lock), "%s: lock created", bad[i].what);
		CHECK_NO_TMP();
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		rc = create2(lock, 0, good[i].flags, good[i].args,
		    good[i].args_sz);
		e = errno;
		CHECK(rc == L_SUCCESS, "%s: returned %d errno %d (%s), want "
		    "L_SUCCESS", good[i].what, rc, e, strerror(e));
		CHECK_NO_TMP();
		CHECK(lockfile_remove(lock) == 0, "lockfile_remove failed");
	}
	PASS();
}
