/*
 * mbox_api.c - the C extension of lockfile_mbox.h: flock, dot-lock and
 * fcntl on a mailbox in one call, released in reverse order (docs/other-systems.md §7).
 */
#include "common.h"

#include <sys/file.h>

#include <lockfile_mbox.h>

/* Whether another open file description gets the flock at once. */
static int
flock_free(const char *mbox)
{
	int fd = open(mbox, O_RDONLY | O_CLOEXEC), ok;

	if (fd < 0)
		FAIL("open %s: %s", mbox, strerror(errno));
	ok = flock(fd, LOCK_EX | LOCK_NB) == 0;
	close(fd);
	return ok;
}

/* In a child: exit 0 if it gets an fcntl write lock on the mailbox. */
static int
take_fcntl(void *mbox)
{
	struct flock fl;
	int fd = open(mbox, O_RDWR);

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	return fd >= 0 && fcntl(fd, F_SETLK, &fl) == 0 ? 0 : 1;
}

/* Whether another process gets an fcntl write lock at once (fcntl locks
 * never conflict within one process). */
static int
fcntl_free(const char *mbox)
{
	int status = run_in_child(take_fcntl, (void *)mbox);

	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int
main(void)
{
	char mbox[TC_PATH], lock[TC_PATH], buf[600];
	struct lockfile_mbox *h = (struct lockfile_mbox *)&h;
	int rc, e, fd;
	double t0;

	TEST_BEGIN();
	tpath(mbox, "mbox");
	tpath(lock, "mbox.lock");

	/* NULL arguments and unknown flags: L_ERROR/EINVAL, no handle. */
	errno = 0;
	rc = lockfile_mbox_lock(NULL, 0, 0, &h);
	e = errno;
	CHECK_RC("lock(NULL)", rc, L_ERROR, EINVAL, e);
	CHECK(h == NULL, "handle not cleared on error");
	rc = lockfile_mbox_lock(mbox, 0, 0, NULL);
	e = errno;
	CHECK_RC("lock(mbox, NULL)", rc, L_ERROR, EINVAL, e);
	rc = lockfile_mbox_lock(mbox, 0, L_INTERVAL, &h);
	e = errno;
	CHECK_RC("lock(__L_INTERVAL)", rc, L_ERROR, EINVAL, e);
	CHECK(!exists(mbox) && !exists(lock), "refused call made files");
	errno = 0;
	CHECK(lockfile_mbox_unlock(NULL) == -1 && errno == EINVAL,
	    "unlock(NULL)");
	errno = 0;
	CHECK(lockfile_mbox_touch(NULL) == -1 && errno == EINVAL,
	    "touch(NULL)");
	errno = 0;
	CHECK(lockfile_mbox_fd(NULL) == -1 && errno == EINVAL, "fd(NULL)");

	/* All three locks, with our pid and identity in the dot-lock
	 * (docs/holder-identity.md). */
	rc = lockfile_mbox_lock(mbox, -1, LOCKFILE_MBOX_FCNTL | L_PID, &h);
	e = errno;
	CHECK_RC("lock", rc, L_SUCCESS, -1, e);
	CHECK(h != NULL, "no handle");
	snprintf(buf, sizeof(buf), "%ld\n%s", (long)getpid(), own_identity());
	CHECK_CONTENT(lock, buf);
	/* fcntl first: flock_free() closes a descriptor of the mailbox,
	 * which drops this process's fcntl locks (POSIX). */
	CHECK(!fcntl_free(mbox), "fcntl lock not held");
	CHECK(!flock_free(mbox), "flock not held");
	fd = lockfile_mbox_fd(h);
	CHECK(fd >= 0 && write(fd, "From a\n\n", 8) == 8,
	    "cannot write through the descriptor: %s", strerror(errno));
	CHECK(lockfile_mbox_touch(h) == 0, "touch: %s", strerror(errno));
	CHECK(lockfile_mbox_unlock(h) == 0, "unlock: %s", strerror(errno));
	CHECK(!exists(lock), "dot-lock left");
	CHECK(flock_free(mbox) && fcntl_free(mbox), "locks left");
	CHECK_CONTENT(mbox, "From a\n\n");

	/* Without flock and fcntl, only the dot-lock ("0\n"). */
	rc = lockfile_mbox_lock(mbox, 0, LOCKFILE_MBOX_NOFLOCK, &h);
	CHECK(rc == L_SUCCESS, "lock -L: %d", rc);
	CHECK_CONTENT(lock, "0\n");
	CHECK(flock_free(mbox) && fcntl_free(mbox), "unasked lock held");
	lockfile_mbox_unlock(h);

	/* A busy dot-lock with timeout 0: at once, nothing held after. */
	make_lock(lock, "0\n", 0);
	t0 = now_mono();
	errno = 0;
	rc = lockfile_mbox_lock(mbox, 0, 0, &h);
	e = errno;
	CHECK_RC("lock, busy, no wait", rc, L_MAXTRYS, EAGAIN, e);
	CHECK(h == NULL, "handle on failure");
	/* Not waiting for the lock's 5 minutes, even under valgrind on a
	 * loaded machine. */
	CHECK(now_mono() - t0 < 30.0, "did not fail at once");
	CHECK(flock_free(mbox), "flock kept after the dot-lock failed");
	CHECK_NO_TMP();

	/* ... and with a timeout of 2 s: gives up after about that. */
	t0 = now_mono();
	rc = lockfile_mbox_lock(mbox, 2, 0, &h);
	e = errno;
	CHECK_RC("lock, busy, 2 s", rc, L_MAXTRYS, EAGAIN, e);
	CHECK(now_mono() - t0 >= 1.9 && now_mono() - t0 < 60,
	    "gave up after %.1f s", now_mono() - t0);
	CHECK_CONTENT(lock, "0\n");
	CHECK(flock_free(mbox), "flock kept");
	CHECK_NO_TMP();
	CHECK(unlink(lock) == 0, "unlink");

	/* A lost lock is reported, and someone else's is left alone. */
	CHECK(lockfile_mbox_lock(mbox, 0, 0, &h) == L_SUCCESS, "lock");
	CHECK(unlink(lock) == 0, "unlink");
	errno = 0;
	CHECK(lockfile_mbox_touch(h) == -1 && errno == ENOENT,
	    "touch of a removed lock: errno %d", errno);
	CHECK(!exists(lock), "touch made the lock again");
	write_file(lock, "4242\n");
	errno = 0;
	CHECK(lockfile_mbox_touch(h) == -1 && errno == ESTALE,
	    "touch of a replaced lock: errno %d", errno);
	errno = 0;
	CHECK(lockfile_mbox_unlock(h) == -1 && errno == ESTALE,
	    "unlock of a replaced lock: errno %d", errno);
	CHECK_CONTENT(lock, "4242\n");
	CHECK(flock_free(mbox), "flock kept after unlock");
	CHECK_NO_TMP();
	PASS();
}
