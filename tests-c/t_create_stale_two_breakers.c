/*
 * SPEC §2.7 (we fix): two processes that find the same stale lock at the
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

#include <sched.h>
#include <sys/mman.h>

struct shared {
	volatile int go;
};

struct report {
	int rc;
	int err;
	ino_t ino;
};

static char lock[TC_PATH];
static struct shared *shm;

/* One child: wait for the start, then delay seconds, then lock. */
static void
breaker(int ready, int fd, double delay)
{
	struct report r;
	struct stat st;
	double t0;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (write(ready, "r", 1) != 1)
		_exit(2);
	while (!__atomic_load_n(&shm->go, __ATOMIC_SEQ_CST))
		sched_yield();	/* leave a CPU to the parent */
	t0 = now_mono();
	while (now_mono() - t0 < delay)
		;
	r.rc = lockfile_create(lock, 0, 0);
	r.err = errno;
	r.ino = 0;
	if (r.rc == L_SUCCESS && lstat(lock, &st) == 0)
		r.ino = st.st_ino;
	if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(2);
	_exit(0);
}

/* One round; returns a description of what went wrong, or NULL. */
static const char *
one_round(int round)
{
	static char msg[200];
	struct report r[2];
	struct stat st;
	pid_t pid[2];
	int pfd[2][2], rfd[2], i, status, wins = 0, w = -1;
	char c;

	make_lock(lock, "0\n", 1000);
	shm->go = 0;
	if (pipe(rfd) != 0)
		FAIL("pipe: %s", strerror(errno));
	fflush(stdout);
	for (i = 0; i < 2; i++) {
		if (pipe(pfd[i]) != 0)
			FAIL("pipe: %s", strerror(errno));
		if ((pid[i] = fork()) < 0)
			FAIL("fork: %s", strerror(errno));
		if (pid[i] == 0) {
			close(pfd[i][0]);
			close(rfd[0]);
			breaker(rfd[1], pfd[i][1],
			    i == 0 ? 0.0 : (round % 41) * 0.5e-6);
		}
		close(pfd[i][1]);
	}
	close(rfd[1]);
	/* Both children are running (and spinning): start them. */
	for (i = 0; i < 2; i++)
		if (read(rfd[0], &c, 1) != 1)
			FAIL("child %d did not start", i);
	close(rfd[0]);
	__atomic_store_n(&shm->go, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < 2; i++) {
		if (read(pfd[i][0], &r[i], sizeof(r[i])) !=
		    (ssize_t)sizeof(r[i]))
			FAIL("child %d sent no report", i);
		close(pfd[i][0]);
		if (waitpid(pid[i], &status, 0) != pid[i] ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			FAIL("child %d: %s", i, status_str(status));
		if (r[i].rc == L_SUCCESS) {
			wins++;
			w = i;
		} else if (r[i].rc != L_MAXTRYS) {
			FAIL("lockfile_create returned %d (errno %d %s)",
			    r[i].rc, r[i].err, strerror(r[i].err));
		}
	}
	CHECK_NO_TMP();
	if (wins != 1) {
		snprintf(msg, sizeof(msg), "%d processes took the lock", wins);
		return msg;
	}
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
	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED)
		FAIL("mmap: %s", strerror(errno));

	for (i = 0; i < rounds; i++) {
		if ((what = one_round(i)) != NULL) {
			if (bad++ == 0)
				snprintf(first, sizeof(first), "%s", what);
		}
	}
	CHECK(bad == 0, "%d of %d rounds: %s", bad, rounds, first);
	PASS();
}
