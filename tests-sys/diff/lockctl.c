/*
 * lockctl - take a dot-lock through a given liblockfile, for the mixed
 * mutual-exclusion tests (mutex.sh).
 *
 *	lockctl LIB which			print the file LIB's code is in
 *	lockctl LIB count LOCK DIR N		N times: lock, increment
 *						DIR/counter, unlock
 *	lockctl LIB hold LOCK DIR		lock, create DIR/held, wait for
 *						DIR/release, unlock
 *	lockctl LIB take LOCK DIR		lock (waiting), create DIR/got,
 *						unlock
 *
 * LIB is dlopen()ed by absolute path, and lockfile_create2 with
 * __L_INTERVAL 0 retries without sleeping, so that the waits are short.
 * Inside the lock, DIR/inside is made with mkdir(), which fails if any
 * other process is inside too: a direct witness of a broken exclusion.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/stat.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOCKFILE_EXPERIMENTAL
#include <lockfile.h>

typedef int (*create2_fn)(const char *, int, int, struct __lockargs *, int);
typedef int (*remove_fn)(const char *);

static create2_fn create2;
static remove_fn remove_lock;

static void
die(const char *what)
{
	fprintf(stderr, "lockctl: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void
path(char *buf, const char *dir, const char *name)
{
	if (snprintf(buf, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX) {
		errno = ENAMETOOLONG;
		die(dir);
	}
}

static void nap(long usec);

/*
 * With LOCKCTL_POLL_US set, poll: one attempt, then a pause, and again.
 * Otherwise spin (__L_INTERVAL 0, endless retries).
 */
static void
lock(const char *lockfile)
{
	struct __lockargs args = { 0 };
	const char *poll = getenv("LOCKCTL_POLL_US");
	int rc;

	if (poll != NULL) {
		while ((rc = create2(lockfile, 0, L_PID | __L_INTERVAL, &args,
		    sizeof(args))) == L_MAXTRYS)
			nap(strtol(poll, NULL, 10));
	} else {
		rc = create2(lockfile, 1000000000, L_PID | __L_INTERVAL,
		    &args, sizeof(args));
	}
	if (rc != L_SUCCESS) {
		fprintf(stderr, "lockctl: lockfile_create2 %s: %d\n", lockfile,
		    rc);
		exit(3);
	}
}

static void
unlock(const char *lockfile)
{
	if (remove_lock(lockfile) != 0)
		die("lockfile_remove");
}

static void
touch(const char *file)
{
	int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0 || close(fd) != 0)
		die(file);
}

static void
nap(long usec)
{
	struct timespec ts = { usec / 1000000, (usec % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/* Read the counter, give others a chance to interfere, write it + 1. */
static void
increment(const char *dir)
{
	char counter[PATH_MAX], inside[PATH_MAX], buf[32];
	ssize_t n;
	long value = 0;
	int fd;

	path(inside, dir, "inside");
	if (mkdir(inside, 0755) != 0) {
		fprintf(stderr, "lockctl: someone else is inside the lock\n");
		exit(4);
	}
	path(counter, dir, "counter");
	if ((fd = open(counter, O_RDWR | O_CLOEXEC)) < 0)
		die(counter);
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		die(counter);
	buf[n] = '\0';
	value = strtol(buf, NULL, 10);
	sched_yield();
	n = snprintf(buf, sizeof(buf), "%ld\n", value + 1);
	if (pwrite(fd, buf, (size_t)n, 0) != n || ftruncate(fd, n) != 0 ||
	    close(fd) != 0)
		die(counter);
	if (rmdir(inside) != 0)
		die(inside);
}

int
main(int argc, char **argv)
{
	char file[PATH_MAX];
	Dl_info info;
	void *h;

	if (argc < 3) {
		fprintf(stderr, "usage: lockctl LIB which|count|hold|take "
		    "[LOCK DIR [N]]\n");
		return 2;
	}
	if ((h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fprintf(stderr, "lockctl: %s\n", dlerror());
		return 2;
	}
	create2 = (create2_fn)dlsym(h, "lockfile_create2");
	remove_lock = (remove_fn)dlsym(h, "lockfile_remove");
	if (create2 == NULL || remove_lock == NULL) {
		fprintf(stderr, "lockctl: %s lacks the API\n", argv[1]);
		return 2;
	}
	if (strcmp(argv[2], "which") == 0) {
		if (dladdr((void *)create2, &info) == 0 || !info.dli_fname ||
		    !realpath(info.dli_fname, file))
			die("dladdr");
		printf("%s\n", file);
		return 0;
	}
	if (argc < 5)
		return 2;
	if (strcmp(argv[2], "count") == 0 && argc == 6) {
		long n = strtol(argv[5], NULL, 10);

		for (long i = 0; i < n; i++) {
			lock(argv[3]);
			increment(argv[4]);
			unlock(argv[3]);
			sched_yield();
		}
		return 0;
	}
	if (strcmp(argv[2], "hold") == 0) {
		lock(argv[3]);
		path(file, argv[4], "held");
		touch(file);
		path(file, argv[4], "release");
		while (access(file, F_OK) != 0)
			nap(10000);
		unlock(argv[3]);
		return 0;
	}
	if (strcmp(argv[2], "take") == 0) {
		lock(argv[3]);
		path(file, argv[4], "got");
		touch(file);
		unlock(argv[3]);
		return 0;
	}
	fprintf(stderr, "lockctl: unknown mode %s\n", argv[2]);
	return 2;
}
