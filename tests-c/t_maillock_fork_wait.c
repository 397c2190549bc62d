/*
 * docs/c-policy.md §4 "Process conditions": the child of a threaded program calls
 * touchlock() and mailunlock() and finishes.
 *
 * 1. One thread waits in maillock() for a busy lock; another forks; the
 *    child calls touchlock() and mailunlock() and exits.  With a mutex
 *    held across the wait the child inherited it locked and hung for ever.
 *    No mail lock is held yet, so the child removes nothing.
 * 2. The program holds its mail lock; a thread waits in lockfile_create();
 *    another forks; the child's touchlock() and mailunlock() remove the
 *    inherited lock (as with 1.17, whose child inherits its state).
 * A child that does not finish within 60 s is killed and reported.
 */
#include <pthread.h>

#include "common.h"

static char busy[TC_PATH];

struct waiter {
	pid_t tid;
	int rc;
	int use_maillock;
	volatile int started;
};

static void *
wait_for_busy(void *arg)
{
	struct waiter *w = arg;

	w->tid = (pid_t)syscall(SYS_gettid);
	__atomic_store_n(&w->started, 1, __ATOMIC_SEQ_CST);
	w->rc = w->use_maillock ? maillock("fred", 1)
	    : lockfile_create(busy, 1, 0);
	return NULL;
}

/*
 * Fork once w's thread waits; the child runs touchlock()+mailunlock() and
 * reports through a pipe whether `gone` (if not NULL) no longer exists.
 * It then ends with SIGKILL rather than exit: under valgrind an exit runs
 * a leak check, and what the waiting thread had allocated (it did not
 * come along through fork) would look lost.
 */
static void
fork_while_waiting(struct waiter *w, const char *gone, const char *what)
{
	double end;
	pid_t pid;
	int status, pfd[2];
	char result = 'n';

	while (!__atomic_load_n(&w->started, __ATOMIC_SEQ_CST))
		usleep(1000);
	wait_until_sleeping(w->tid);
	fflush(stdout);
	if (pipe(pfd) != 0)
		FAIL("pipe: %s", strerror(errno));
	if ((pid = fork()) < 0)
		FAIL("fork: %s", strerror(errno));
	if (pid == 0) {
		touchlock();
		mailunlock();
		touchlock();
		result = gone == NULL || !exists(gone) ? 'y' : 'n';
		if (write(pfd[1], &result, 1) != 1)
			_exit(2);
		kill(getpid(), SIGKILL);
		_exit(3);
	}
	close(pfd[1]);
	for (end = now_mono() + 60;; usleep(1000)) {
		pid_t got = waitpid(pid, &status, WNOHANG);

		if (got == pid)
			break;
		if (got < 0)
			FAIL("waitpid: %s", strerror(errno));
		if (now_mono() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			FAIL("%s: the child hung in touchlock/mailunlock", what);
		}
	}
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	    "%s: child %s", what, status_str(status));
	CHECK(read(pfd[0], &result, 1) == 1 && result == 'y',
	    "%s: the child's mailunlock() left the lock", what);
	close(pfd[0]);
}

int
main(void)
{
	char mbox[TC_PATH], mine[TC_PATH];
	struct waiter w;
	pthread_t t;

	TEST_BEGIN();
	tpath(mbox, "fred");
	tpath(busy, "fred.lock");
	tpath(mine, "gina.lock");
	set_mail(mbox);
	make_lock(busy, "4242\n", 0);

	/* 1: fork during maillock()'s wait. */
	memset(&w, 0, sizeof(w));
	w.use_maillock = 1;
	if (pthread_create(&t, NULL, wait_for_busy, &w) != 0)
		FAIL("pthread_create");
	fork_while_waiting(&w, NULL, "fork during maillock()");
	CHECK(exists(busy), "the child removed a lock nobody held");
	pthread_join(t, NULL);
	CHECK(w.rc == L_MAXTRYS, "maillock on the busy lock: %d", w.rc);
	CHECK_CONTENT(busy, "4242\n");

	/* 2: the child removes the mail lock it inherited. */
	tpath(mbox, "gina");
	set_mail(mbox);
	CHECK(maillock("gina", 0) == L_SUCCESS, "maillock(gina)");
	CHECK(exists(mine), "no mail lock");
	memset(&w, 0, sizeof(w));
	if (pthread_create(&t, NULL, wait_for_busy, &w) != 0)
		FAIL("pthread_create");
	fork_while_waiting(&w, mine, "child of a mail-lock holder");
	pthread_join(t, NULL);
	CHECK(w.rc == L_MAXTRYS, "lockfile_create on the busy lock: %d", w.rc);
	mailunlock();
	CHECK(!exists(mine), "the mail lock stayed");
	CHECK_NO_TMP();
	PASS();
}
