/* docs/protocol.md §2.5: the lock is created with mode 0644 less the umask. */
#include "common.h"

int
main(void)
{
	char lock[TC_PATH];
	const mode_t masks[] = { 022, 077, 0, 026 };
	struct stat st;
	size_t i;
	int rc, e;

	TEST_BEGIN();
	tpath(lock, "mode.lock");

	for (i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		umask(masks[i]);
		rc = lockfile_create(lock, 0, 0);
		e = errno;
		umask(022);
		CHECK_RC("lockfile_create", rc, L_SUCCESS, -1, e);
		CHECK_NO_TMP();
		st = stat_or_fail(lock);
		CHECK((st.st_mode & 07777) == (0644 & ~masks[i]),
		    "umask %03o: mode %04o, want %04o", (unsigned)masks[i],
		    (unsigned)(st.st_mode & 07777),
		    (unsigned)(0644 & ~masks[i]));
		CHECK(lockfile_remove(lock) == 0, "lockfile_remove failed");
	}
	CHECK_NO_TMP();
	PASS();
}
