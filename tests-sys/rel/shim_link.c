/*
 * shim_link.so - an LD_PRELOAD shim that makes link() and linkat() to a
 * name ending in "/flicker.lock" fail, the first $SHIM_LINK_FAILS times,
 * with $SHIM_LINK_ERRNO (EEXIST, or EPERM as sshfs says for a lost race),
 * while no such lock exists: as if another process held the lock at the
 * link() and had let it go by the lstat() that follows. Used by
 * "faults flicker".
 *
 * With $SHIM_BREAK_RACE set, the first unlink() of a name ending in
 * "/race.lock" first plays another waiter that breaks the same stale lock
 * at that moment, as the library does: it takes an exclusive flock on the
 * stale file, and only if it gets it removes the file, takes the lock (a
 * new file) and leaves "race.lock.taken" as a note. The unlink() then
 * goes ahead. Used by "faults breakrace".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/file.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failed;

static int
must_fail(const char *newpath)
{
	const char *n = getenv("SHIM_LINK_FAILS"), *e;
	size_t len = strlen(newpath), tail = strlen("/flicker.lock");

	if (n == NULL || len < tail ||
	    strcmp(newpath + len - tail, "/flicker.lock") != 0 ||
	    failed >= atoi(n))
		return 0;
	failed++;
	e = getenv("SHIM_LINK_ERRNO");
	errno = e != NULL && strcmp(e, "EPERM") == 0 ? EPERM : EEXIST;
	return 1;
}

int
linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
    int flags)
{
	int (*next)(int, const char *, int, const char *, int);

	if (must_fail(newpath))
		return -1;
	*(void **)&next = dlsym(RTLD_NEXT, "linkat");
	return next(olddirfd, oldpath, newdirfd, newpath, flags);
}

int
link(const char *oldpath, const char *newpath)
{
	int (*next)(const char *, const char *);

	if (must_fail(newpath))
		return -1;
	*(void **)&next = dlsym(RTLD_NEXT, "link");
	return next(oldpath, newpath);
}

static int
ends_with(const char *s, const char *tail)
{
	size_t ls = strlen(s), lt = strlen(tail);

	return ls >= lt && strcmp(s + ls - lt, tail) == 0;
}

int
unlink(const char *path)
{
	static int raced;
	int (*next)(const char *);
	char note[4096];
	int fd, nfd;

	*(void **)&next = dlsym(RTLD_NEXT, "unlink");
	if (getenv("SHIM_BREAK_RACE") == NULL || raced ||
	    !ends_with(path, "/race.lock"))
		return next(path);
	raced = 1;
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
		return next(path);
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		(void)next(path);
		nfd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (nfd >= 0) {
			(void)write(nfd, "1\n", 2);
			close(nfd);
			snprintf(note, sizeof(note), "%s.taken", path);
			close(open(note, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
		}
	}
	close(fd);
	return next(path);
}
