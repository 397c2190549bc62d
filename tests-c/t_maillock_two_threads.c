/*
 * docs/c-policy.md §4: two threads that call maillock() at once end with one mail
 * lock, which the process remembers (mailunlock() removes it); nothing is
 * left behind.  One thread gets the lock; the other returns 0 (it found
 * the lock held by the process) or L_MAXTRYS (it contended for the file
 * before that; retries 0, so nobody waits).  The rounds repeat the race;
 * every round must be right.  The reference names temporary files by pid,
 * so its threads clash whenever they overlap.
 */
#include <pthread.h>

#include "common.h"

#define ROUNDS 200

static pthread_barrier_t go;
static int rcs[2];

static void *
lock_it(void *arg)
{
	int *rc = arg;

	pthread_barrier_wait(&go);
	*rc = maillock("iris", 0);
	return NULL;
}

int
main(void)
{
	char mbox[TC_PATH], lock[TC_PATH];
	pthread_t t[2];
	int round, i, zeros;

	TEST_BEGIN();
	tpath(mbox, "iris");
	tpath(lock, "iris.lock");
	set_mail(mbox);
	for (round = 0; round < ROUNDS; round++) {
		if (pthread_barrier_init(&go, NULL, 2) != 0)
			FAIL("pthread_barrier_init");
		for (i = 0; i < 2; i++)
			if (pthread_create(&t[i], NULL, lock_it, &rcs[i]) != 0)
				FAIL("pthread_create");
		for (i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&go);
		for (i = zeros = 0; i < 2; i++) {
			CHECK(rcs[i] == L_SUCCESS || rcs[i] == L_MAXTRYS,
			    "round %d: maillock returned %d", round, rcs[i]);
			zeros += rcs[i] == L_SUCCESS;
		}
		CHECK(zeros >= 1, "round %d: nobody got the lock", round);
		CHECK(exists(lock), "round %d: no lock on disk", round);
		CHECK_NO_TMP();
		mailunlock();
		CHECK(!exists(lock), "round %d: mailunlock() left the lock "
		    "(the process did not remember it)", round);
	}
	PASS();
}
