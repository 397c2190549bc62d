/*
 * docs/decisions.md §8: locking is safe between threads of one process.  8 threads
 * take and release one lock in turn; at most one holds it at any time,
 * and no call fails with L_TMPLOCK (temporary names are unique per thread:
 * the 5-digit number is the thread id).  Uses lockfile_create2 with
 * __L_INTERVAL 0 when exported, else lockfile_create with retries 0 in a
 * loop; neither sleeps.
 */
#include "common.h"

#include <pthread.h>
#include <sched.h>

#define THREADS	8
#define ROUNDS	250

static char lock[TC_PATH];
static tc_create2_fn create2;
static int holders, overlaps, acquired;
static pthread_mutex_t err_mutex = PTHREAD_MUTEX_INITIALIZER;
static char err_msg[256];

static void
record(const char *fmt, int a, int b)
{
	pthread_mutex_lock(&err_mutex);
	if (err_msg[0] == '\0')
		snprintf(err_msg, sizeof(err_msg), fmt, a, b, strerror(b));
	pthread_mutex_unlock(&err_mutex);
}

static void *
worker(void *arg)
{
	int i, rc;

	(void)arg;
	for (i = 0; i < ROUNDS; i++) {
		if ((rc = tc_take_busy(lock, create2)) != L_SUCCESS) {
			record("lockfile_create returned %d (errno %d %s)",
			    rc, errno);
			return NULL;
		}
		if (__atomic_add_fetch(&holders, 1, __ATOMIC_SEQ_CST) != 1)
			__atomic_add_fetch(&overlaps, 1, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&acquired, 1, __ATOMIC_SEQ_CST);
		sched_yield();
		__atomic_sub_fetch(&holders, 1, __ATOMIC_SEQ_CST);
		if ((rc = lockfile_remove(lock)) != 0) {
			record("lockfile_remove returned %d (errno %d %s)",
			    rc, errno);
			return NULL;
		}
	}
	return NULL;
}

int
main(void)
{
	pthread_t tid[THREADS];
	int i, rc;

	TEST_BEGIN();
	tpath(lock, "threads.lock");
	create2 = get_create2();
	tc_info("%s", create2 != NULL ? "lockfile_create2, interval 0" :
	    "lockfile_create, retries 0, in a loop");

	for (i = 0; i < THREADS; i++)
		if ((rc = pthread_create(&tid[i], NULL, worker, NULL)) != 0)
			FAIL("pthread_create: %s", strerror(rc));
	for (i = 0; i < THREADS; i++)
		pthread_join(tid[i], NULL);

	CHECK(err_msg[0] == '\0', "%s", err_msg);
	CHECK(overlaps == 0, "%d times two threads held the lock at once",
	    overlaps);
	CHECK(acquired == THREADS * ROUNDS, "lock taken %d times, want %d",
	    acquired, THREADS * ROUNDS);
	CHECK(!exists(lock), "lock left behind");
	CHECK_NO_TMP();
	PASS();
}
