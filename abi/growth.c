/*
 * The size a program pays for liblockfile.a: check-abi builds this file
 * twice, with every function of the API called (USE_LIB) and without,
 * links the first against the archive, and compares the stripped sizes.
 */
#include <stdio.h>
#ifdef USE_LIB
#define LOCKFILE_EXPERIMENTAL
#include <lockfile.h>
#include <maillock.h>
#include <lockfile_mbox.h>
#endif

int main(int argc, char **argv)
{
	const char *lock = argc > 1 ? argv[1] : "growth.lock";
	int rc = 0;
#ifdef USE_LIB
	struct lockfile_mbox *mbox = NULL;
	struct lockargs args = { 1 };

	rc |= lockfile_create(lock, 0, 0);
	rc |= lockfile_create2(lock, 0, 0, &args, sizeof args);
	rc |= lockfile_touch(lock);
	rc |= lockfile_check(lock, 0);
	rc |= lockfile_remove(lock);
	rc |= maillock(lock, 0);
	touchlock();
	mailunlock();
	rc |= lockfile_mbox_lock(lock, 0, 0, &mbox);
	rc |= lockfile_mbox_touch(mbox);
	rc |= lockfile_mbox_fd(mbox);
	rc |= lockfile_mbox_unlock(mbox);
#endif
	printf("%s %d\n", lock, rc);
	return 0;
}
