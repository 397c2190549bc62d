/*
 * rel.h - helpers for the reliability tests in tests-rel/.
 *
 * A test prints "ok <case>" and exits 0, "FAIL <case>: <what>" and exits
 * 1, or "SKIP: <reason>" and exits 77.  The driver scripts set up mounts,
 * users and servers and run the programs.
 */
#ifndef TESTS_REL_H
#define TESTS_REL_H

#ifndef LOCKFILE_EXPERIMENTAL
#define LOCKFILE_EXPERIMENTAL
#endif

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lockfile.h>

#define R_UNUSED	__attribute__((unused))
#define R_PRINTF(a, b)	__attribute__((format(printf, a, b)))
#define R_NORETURN	__attribute__((noreturn))
#define R_PATH		(PATH_MAX + 512)
#define EXIT_SKIP	77

R_UNUSED static const char *r_case = "?";

R_UNUSED R_NORETURN R_PRINTF(1, 2) static void
r_fail(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s: ", r_case);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(1);
}

R_UNUSED R_NORETURN R_PRINTF(1, 2) static void
r_skip(const char *fmt, ...)
{
	va_list ap;

	printf("SKIP: %s: ", r_case);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(EXIT_SKIP);
}

R_UNUSED R_PRINTF(1, 2) static void
r_info(const char *fmt, ...)
{
	va_list ap;

	printf("# %s: ", r_case);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

#define R_CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			printf("# %s:%d: %s\n", __FILE__, __LINE__,	\
			    #cond);					\
			r_fail(__VA_ARGS__);				\
		}							\
	} while (0)

/* rc must be want_rc, and errno (saved as got_errno) want_errno. */
#define R_CHECK_RC(what, rc, want_rc, want_errno, got_errno)		\
	do {								\
		int r_rc_ = (rc), r_we_ = (want_errno);			\
		int r_ge_ = (got_errno);				\
		R_CHECK(r_rc_ == (want_rc) && r_ge_ == r_we_,		\
		    "%s: returned %d errno %d (%s), want %d errno %d "	\
		    "(%s)", (what), r_rc_, r_ge_, strerror(r_ge_),	\
		    (want_rc), r_we_, strerror(r_we_));			\
	} while (0)

/* Fail if dir holds a temporary lock file (".lk*") or its probe. */
R_UNUSED static void
r_no_tmp(const char *dir)
{
	DIR *d;
	struct dirent *e;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, ".lk", 3) == 0) {
			closedir(d);
			r_fail("temporary file %s left in %s", e->d_name,
			    dir);
		}
	}
	closedir(d);
}

/* Count the ".lk*" files in dir. */
R_UNUSED static int
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

/* Write content to a new file path, mtime age seconds ago. */
R_UNUSED static void
r_make_file(const char *path, const char *content, int age)
{
	struct timeval tv[2];
	size_t len = strlen(content);
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		r_fail("create %s: %s", path, strerror(errno));
	if (write(fd, content, len) != (ssize_t)len || close(fd) != 0)
		r_fail("write %s: %s", path, strerror(errno));
	gettimeofday(&tv[0], NULL);
	tv[1] = tv[0];
	tv[1].tv_sec -= age;
	if (utimes(path, tv) != 0)
		r_fail("utimes %s: %s", path, strerror(errno));
}

/* The identity of path (lstat), failing the test if it is missing. */
R_UNUSED static struct stat
r_stat(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		r_fail("lstat %s: %s", path, strerror(errno));
	return st;
}

/* path must still be the file st describes (a valid lock survived). */
R_UNUSED static void
r_same(const char *path, const struct stat *st)
{
	struct stat now;

	if (lstat(path, &now) != 0)
		r_fail("valid lock %s removed: %s", path, strerror(errno));
	R_CHECK(now.st_dev == st->st_dev && now.st_ino == st->st_ino,
	    "valid lock %s replaced", path);
}

R_UNUSED static int
r_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

typedef int (*r_create2_fn)(const char *, int, int, struct __lockargs *,
    int);

R_UNUSED static double
r_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif /* TESTS_REL_H */
