/*
 * A program as a user writes it: lock, check, touch, unlock. Built by
 * `make check` with pkg-config, with -lmail and statically.
 * Usage: link_demo LOCKFILE
 */
#include <stdio.h>
#include <unistd.h>
#include <maillock.h>

int
main(int argc, char **argv)
{
	int r;

	if (argc != 2)
		return 2;
	(void)unlink(argv[1]);
	if ((r = lockfile_create(argv[1], 0, L_PID)) != L_SUCCESS) {
		printf("FAIL lockfile_create: %d\n", r);
		return 1;
	}
	if (lockfile_check(argv[1], L_PID) != 0 ||
	    lockfile_create(argv[1], 0, 0) != L_MAXTRYS ||
	    lockfile_touch(argv[1]) != 0 || lockfile_remove(argv[1]) != 0 ||
	    access(argv[1], F_OK) == 0) {
		printf("FAIL check/touch/remove\n");
		return 1;
	}
	printf("ok link_demo\n");
	return 0;
}
