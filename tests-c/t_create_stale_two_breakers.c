/*
 * docs/protocol.md §2.7 (we fix): two processes that find the same stale lock at the
 * same moment must not remove each other's new lock.  Each round: a stale
 * lock (mtime 1000 s old), two children released at once call
 * lockfile_create(lock, 0, 0), the second one 0 to 20 microseconds later
 * (a different delay each round, to sweep the window where one removes
 * the stale lock while the other is judging it).  Exactly one succeeds,
 * the other gets L_MAXTRYS, and the lock on disk is the winner's (same
 * inode as it saw right after taking it).  The reference lets both win in
 * about one round in a hundred.  ROUNDS rounds (first argument, default
 * 1000).
 */
#include "common.h"

static char lock[TC_PATH];

static const char *
the_lock(int i, void *arg)
{
	(void)i;
	(void)arg;
	return lock;
}

/* One round; returns a description of what went wrong, or NULL. */
static const char *
one_round(int round)
{
	static char msg[200];
	struct tc_race_report r[2];
	struct stat st;
	double delay[2];
	int wins, w;

	make_lock(lock, "0\n", 1000);
	delay[0] = 0.0;
	delay[1] = (round % 41) * 0.5e-6;
	wins = tc_race_two(the_lock, NULL, delay, r);
	CHECK_NO_TMP();
	if (wins != 1) {
		snprintf(msg, sizeof(msg), "%d processes took the lock", wins);
		return msg;
	}
	w = r[0].rc == L_SUCCESS ? 0 : 1;
	if (lstat(lock, &st) != 0)
		return "the winner's lock was removed";
	if (st.st_ino != r[w].ino)
		return "the winner's lock was replaced";
	return NULL;
}

int
main(int argc, char **argv)
{
	const char *what;
	char first[200] = "";
	int rounds = 1000, i, bad = 0;

	TEST_BEGIN();
	if (argc > 1 && (rounds = atoi(argv[1])) < 1)
		FAIL("bad round count");
	tpath(lock, "stale.lock");

	for (i = 0; i < rounds; i++) {
		if ((what = one_round(i)) != NULL) {
			if (bad++ == 0)
				snprintf(first, sizeof(first), "%s", what);
		}
	}
	CHECK(bad == 0, "%d of %d rounds: %s", bad, rounds, first);
	PASS();
}
