/*
 * rel.h - helpers for the reliability tests in tests-sys/rel/.
 *
 * The programs print and check as the tests-c programs do (common.h):
 * "ok <case>" and exit 0, "FAIL <case>: <what>" and exit 1, or "SKIP
 * <case>: <reason>" and exit 77; each runs the case named by its first
 * argument (tc_set_case).  The driver scripts set up mounts, users and
 * servers and run the programs.
 */
#ifndef TESTS_REL_H
#define TESTS_REL_H

#include "../../tests-c/common.h"

/* Room for the long names the fault cases build. */
#define R_PATH		(PATH_MAX + 512)

/* Count the ".lk*" files in dir. */
TC_UNUSED static int
r_count_tmp(const char *dir)
{
	DIR *d;
	struct dirent *e;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, ".lk", 3) == 0)
			n++;
	closedir(d);
	return n;
}

/* path must still be the file st describes (a valid lock survived). */
TC_UNUSED static void
r_same(const char *path, const struct stat *st)
{
	struct stat now;

	if (lstat(path, &now) != 0)
		FAIL("valid lock %s removed: %s", path, strerror(errno));
	CHECK(now.st_dev == st->st_dev && now.st_ino == st->st_ino,
	    "valid lock %s replaced", path);
}

#endif /* TESTS_REL_H */
