/*
 * docs/c-policy.md §4 "Process conditions": while one thread waits in maillock() for
 * a busy lock, touchlock() and mailunlock() from another thread return at
 * once (before that wait ends) and act on nothing: no mail lock is held
 * yet, and the busy lock is not ours to touch or remove.  With a mutex held
 * across the wait they blocked until the wait was over.
 */
#include <pthread.h>

#include "common.h"

static pid_t waiter_tid;
static volatile int started, done;
static int wait_rc;

static void *
wait_in_maillock(void *arg)
{
	(void)arg;
	waiter_tid = (pid_t)syscall(SYS_gettid);
	__atomic_store_n(&started, 1, __ATOMIC_SEQ_CST);
	wait_rc = maillock("hugo", 1);
	__atomic_store_n(&done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

int
main(void)
{
	char mbox[TC_PATH], lock[TC_PATH];
	time_t old = time(NULL) - 100;
	pthread_t t;

	TEST_BEGIN();
	tpath(mbox, "hugo");
	tpath(lock, "hugo.lock");
	set_mail(mbox);
	make_lock(lock, "4242\n", 0);
	set_times(lock, old, old);

	if (pthread_create(&t, NULL, wait_in_maillock, NULL) != 0)
		FAIL("pthread_create");
	while (!__atomic_load_n(&started, __ATOMIC_SEQ_CST))
		usleep(1000);
	wait_until_sleeping(waiter_tid);
	touchlock();
	CHECK(!__atomic_load_n(&done, __ATOMIC_SEQ_CST),
	    "touchlock() returned only after maillock()'s wait");
	mailunlock();
	CHECK(!__atomic_load_n(&done, __ATOMIC_SEQ_CST),
	    "mailunlock() returned only after maillock()'s wait");
	CHECK(stat_or_fail(lock).st_mtime == old,
	    "touchlock() touched a lock we do not hold");
	CHECK(exists(lock), "mailunlock() removed a lock we do not hold");

	pthread_join(t, NULL);
	CHECK(wait_rc == L_MAXTRYS, "maillock on the busy lock: %d", wait_rc);
	CHECK_CONTENT(lock, "4242\n");
	CHECK_NO_TMP();
	PASS();
}
