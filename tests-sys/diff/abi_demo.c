/*
 * abi_demo - a program as a user of liblockfile writes it, built once
 * against our headers and once against the reference's, and run on the
 * other library (abi.sh).  It checks the calls' results and that its
 * lockfile_create comes from the library named as argv[1].
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lockfile.h>
#include <maillock.h>

static int failed;

static void
expect(const char *what, int got, int want)
{
	if (got != want) {
		printf("FAIL abi_demo: %s returned %d, want %d\n", what, got,
		    want);
		failed = 1;
	}
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/lockfile-abi.XXXXXX", lock[PATH_MAX];
	char mail[PATH_MAX], real[PATH_MAX], want[PATH_MAX];
	Dl_info info;
	FILE *f;

	if (argc != 2 || realpath(argv[1], want) == NULL)
		return 2;
	if (dladdr((void *)lockfile_create, &info) == 0 ||
	    realpath(info.dli_fname, real) == NULL || strcmp(real, want)) {
		printf("FAIL abi_demo: lockfile_create is not from %s\n", want);
		return 1;
	}
	if (mkdtemp(dir) == NULL)
		return 2;
	snprintf(lock, sizeof(lock), "%s/x.lock", dir);
	expect("lockfile_create", lockfile_create(lock, 0, L_PID), L_SUCCESS);
	expect("lockfile_create (held)", lockfile_create(lock, 0, 0),
	    L_MAXTRYS);
	expect("lockfile_check", lockfile_check(lock, L_PID), 0);
	expect("lockfile_touch", lockfile_touch(lock), 0);
	expect("lockfile_remove", lockfile_remove(lock), 0);
	expect("lockfile_check (gone)", lockfile_check(lock, 0), -1);
	expect("lockfile_create (bad flag)", lockfile_create(lock, 0, 0x1000),
	    L_ERROR);
	snprintf(mail, sizeof(mail), "%s/someone", dir);
	if ((f = fopen(mail, "w")) == NULL)
		return 2;
	fclose(f);
	setenv("MAIL", mail, 1);
	expect("maillock", maillock("someone", 0), L_SUCCESS);
	touchlock();
	if (snprintf(lock, sizeof(lock), "%s.lock", mail) >= (int)sizeof(lock))
		return 2;
	expect("mail lock present", access(lock, F_OK), 0);
	mailunlock();
	expect("mail lock gone", access(lock, F_OK), -1);
	unlink(mail);
	rmdir(dir);
	if (!failed)
		printf("ok abi_demo on %s\n", want);
	return failed;
}
