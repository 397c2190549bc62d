/*
 * docs/c-policy.md §4 "Process conditions": a signal handler that runs while
 * maillock() waits for a busy lock calls mailunlock(), touchlock(),
 * lockfile_touch() and lockfile_remove().  The handler runs to its end
 * (with a mutex held across the wait it hung for ever); mailunlock() and
 * touchlock() do nothing, as in 1.17 (no mail lock is held yet);
 * lockfile_touch() and lockfile_remove() work.  The handler's
 * lockfile_remove() of the busy lock plays its holder letting go: the wait
 * then ends in L_SUCCESS, and that lock is remembered, so the next
 * mailunlock() removes it.
 *
 * The signal is sent once the waiting thread is seen in its sleep (no
 * timing guess); the wait is 5 s (retries 1).
 */
#include <pthread.h>

#include "common.h"

static char lock[TC_PATH], other[TC_PATH];
static pthread_t waiter;
static volatile sig_atomic_t handled, kept_after_unlock = -1;
static volatile sig_atomic_t rc_touch = -2, rc_remove = -2;

static void
on_usr1(int sig)
{
	int saved = errno;

	(void)sig;
	mailunlock();
	touchlock();
	kept_after_unlock = exists(lock);
	rc_touch = lockfile_touch(other);
	rc_remove = lockfile_remove(lock);
	handled = 1;
	errno = saved;
}

static void *
signaller(void *arg)
{
	double end;

	wait_until_sleeping(*(pid_t *)arg);
	pthread_kill(waiter, SIGUSR1);
	for (end = now_mono() + 60; !handled; usleep(1000))
		if (now_mono() > end)
			FAIL("the handler did not finish within 60 s");
	return NULL;
}

int
main(void)
{
	char mbox[TC_PATH];
	struct sigaction sa;
	struct stat st;
	pthread_t t;
	pid_t me = getpid();
	time_t old = time(NULL) - 100;
	int rc, e;

	TEST_BEGIN();
	tpath(mbox, "erin");
	tpath(lock, "erin.lock");
	tpath(other, "other.lock");
	set_mail(mbox);
	make_lock(lock, "4242\n", 0);
	write_file(other, "0\n");
	set_times(other, old, old);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) != 0)
		FAIL("sigaction: %s", strerror(errno));
	waiter = pthread_self();
	if (pthread_create(&t, NULL, signaller, &me) != 0)
		FAIL("pthread_create");

	rc = maillock("erin", 1);
	e = errno;
	pthread_join(t, NULL);
	CHECK(handled, "the handler did not run");
	CHECK(kept_after_unlock == 1,
	    "mailunlock() in the handler removed a lock we did not hold");
	CHECK(rc_touch == 0, "lockfile_touch() in the handler: %d",
	    (int)rc_touch);
	st = stat_or_fail(other);
	CHECK(st.st_mtime > old + 50, "lockfile_touch() did not touch");
	CHECK(rc_remove == 0, "lockfile_remove() in the handler: %d",
	    (int)rc_remove);
	CHECK_RC("maillock after the handler", rc, L_SUCCESS, -1, e);
	CHECK_CONTENT(lock, "0\n");
	touchlock();
	mailunlock();
	CHECK(!exists(lock), "mailunlock() left the lock maillock() took");
	CHECK_NO_TMP();
	PASS();
}
