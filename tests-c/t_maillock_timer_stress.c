/*
 * docs/c-policy.md §4 "Process conditions": 1000 rounds of maillock(), touchlock()
 * and mailunlock() while a 1 ms interval timer's handler calls touchlock()
 * and lockfile_touch(), and the main loop allocates and frees memory all
 * the time.  It must finish (a handler blocking on a lock that the
 * interrupted code holds hangs; run.sh's timeout reports that), every
 * round must lock and unlock, and valgrind (check-c runs it under
 * valgrind) must find nothing.
 */
#include "common.h"

#define ROUNDS 1000

static char other[TC_PATH];
static volatile sig_atomic_t ticks, touch_failures;

static void
on_alarm(int sig)
{
	int saved = errno;

	(void)sig;
	touchlock();
	if (lockfile_touch(other) != 0)
		touch_failures++;
	ticks++;
	errno = saved;
}

static void
churn(int round)
{
	void *p[16];
	int i;

	for (i = 0; i < 16; i++) {
		if ((p[i] = malloc((size_t)(16 + (round * 31 + i * 97) % 4000)))
		    == NULL)
			FAIL("malloc");
		memset(p[i], i, 16);
	}
	for (i = 0; i < 16; i++)
		free(p[i]);
}

int
main(void)
{
	char mbox[TC_PATH], lock[TC_PATH];
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	struct sigaction sa;
	int round, rc;

	TEST_BEGIN();
	tpath(mbox, "jack");
	tpath(lock, "jack.lock");
	tpath(other, "other.lock");
	write_file(other, "0\n");
	set_mail(mbox);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) != 0)
		FAIL("sigaction: %s", strerror(errno));
	if (setitimer(ITIMER_REAL, &it, NULL) != 0)
		FAIL("setitimer: %s", strerror(errno));

	for (round = 0; round < ROUNDS; round++) {
		churn(round);
		rc = maillock("jack", 0);
		CHECK(rc == L_SUCCESS, "round %d: maillock returned %d",
		    round, rc);
		churn(round + 1);
		touchlock();
		churn(round + 2);
		mailunlock();
		CHECK(!exists(lock), "round %d: mailunlock left the lock",
		    round);
	}
	setitimer(ITIMER_REAL, &off, NULL);
	CHECK(touch_failures == 0, "lockfile_touch failed %d times in the "
	    "handler", (int)touch_failures);
	tc_info("%d timer ticks during %d rounds", (int)ticks, ROUNDS);
	CHECK_NO_TMP();
	PASS();
}
