/*
 * docs/protocol.md §2.7 (we fix): a lock that vanishes while a waiter looks at it is
 * not stale, and a waiter never removes a lock that it did not judge
 * stale.  3 processes x 2000 rounds: take the lock (interval 0), read a
 * counter file, increment it, write it back, remove the lock.  The counter
 * must end at exactly 6000 and no two processes may hold the lock at once,
 * in every one of RUNS runs (default 20; first argument or
 * $LOCKFILE_RACE_RUNS).  The reference loses mutual exclusion in one run
 * in five to twenty, depending on the host's CPUs and load: to be sure of
 * seeing it fail there, give it 100 runs (it stops after the third lost
 * run).  Uses lockfile_create2 with __L_INTERVAL 0 when exported, else
 * lockfile_create with retries 0 in a loop.
 */
#include "common.h"

#include <sys/mman.h>

#define PROCS	3
#define ROUNDS	2000
#define DIGITS	11	/* counter file: "%010ld\n" */

struct shared {
	int holders;	/* processes inside the critical section */
	int overlaps;	/* times a process entered it while not alone */
	int lost;	/* times a holder's lock vanished while held */
};

static char lock[TC_PATH], counter[TC_PATH];
static tc_create2_fn create2;
static struct shared *shm;

static void
die(const char *what)
{
	int e = errno;

	printf("# %s: %s: %s\n", tc_name, what, strerror(e));
	fflush(stdout);
	_exit(1);
}

/* One process: ROUNDS increments under the lock.  Exit 0 or 1. */
static void
worker(void)
{
	char buf[32];
	struct stat st;
	ino_t mine;
	int i, rc, fd;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if ((fd = open(counter, O_RDWR | O_CLOEXEC)) < 0)
		die("open counter");
	for (i = 0; i < ROUNDS; i++) {
		if ((rc = tc_take_busy(lock, create2)) != L_SUCCESS) {
			printf("# %s: lockfile_create returned %d\n", tc_name,
			    rc);
			die("lockfile_create");
		}
		if (__atomic_add_fetch(&shm->holders, 1, __ATOMIC_SEQ_CST) !=
		    1)
			__atomic_add_fetch(&shm->overlaps, 1,
			    __ATOMIC_SEQ_CST);
		/* Nobody may remove our lock while we hold it. */
		mine = lstat(lock, &st) == 0 ? st.st_ino : 0;

		if (pread(fd, buf, DIGITS, 0) != DIGITS)
			die("read counter");
		buf[DIGITS] = '\0';
		snprintf(buf, sizeof(buf), "%010ld\n", atol(buf) + 1);
		if (pwrite(fd, buf, DIGITS, 0) != DIGITS)
			die("write counter");

		if (mine == 0 || lstat(lock, &st) != 0 || st.st_ino != mine)
			__atomic_add_fetch(&shm->lost, 1, __ATOMIC_SEQ_CST);
		__atomic_sub_fetch(&shm->holders, 1, __ATOMIC_SEQ_CST);
		if (lockfile_remove(lock) != 0)
			die("lockfile_remove");
	}
	close(fd);
	_exit(0);
}

/* One run; returns 1 if mutual exclusion was lost. */
static int
one_run(int run)
{
	char buf[32];
	pid_t pid[PROCS];
	int i, status, count;

	write_file(counter, "0000000000\n");
	shm->holders = 0;
	shm->overlaps = 0;
	shm->lost = 0;
	fflush(stdout);
	for (i = 0; i < PROCS; i++) {
		if ((pid[i] = fork()) < 0)
			FAIL("fork: %s", strerror(errno));
		if (pid[i] == 0)
			worker();
	}
	for (i = 0; i < PROCS; i++) {
		if (waitpid(pid[i], &status, 0) != pid[i])
			FAIL("waitpid: %s", strerror(errno));
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "run %d: worker %s", run, status_str(status));
	}
	if (read_file(counter, buf, sizeof(buf)) < 0)
		FAIL("read counter: %s", strerror(errno));
	count = atoi(buf);
	CHECK_NO_TMP();
	if (exists(lock)) {
		tc_info("run %d: lock left behind", run);
		(void)unlink(lock);
		return 1;
	}
	if (count == PROCS * ROUNDS && shm->overlaps == 0 && shm->lost == 0)
		return 0;
	tc_info("run %d: counter %d (want %d), %d overlapping holds, %d "
	    "locks lost while held", run, count, PROCS * ROUNDS,
	    shm->overlaps, shm->lost);
	return 1;
}

int
main(int argc, char **argv)
{
	const char *env = getenv("LOCKFILE_RACE_RUNS");
	int runs = 20, run, failed = 0;

	TEST_BEGIN();
	if (argc > 1)
		runs = atoi(argv[1]);
	else if (env != NULL && *env != '\0')
		runs = atoi(env);
	if (runs < 1)
		FAIL("bad run count");
	tpath(lock, "race.lock");
	tpath(counter, "counter");
	create2 = get_create2();
	tc_info("%d runs, %s", runs, create2 != NULL ?
	    "lockfile_create2, interval 0" :
	    "lockfile_create, retries 0, in a loop");
	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED)
		FAIL("mmap: %s", strerror(errno));

	/* Three lost runs tell enough: stop there. */
	for (run = 1; run <= runs && failed < 3; run++)
		failed += one_run(run);
	CHECK(failed == 0, "%d of %d runs lost mutual exclusion", failed,
	    run - 1);
	PASS();
}
