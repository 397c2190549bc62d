/*
 * crash - mutual exclusion while holders and waiters are killed (docs/protocol.md
 * §2.6, §2.7).
 *
 *	crash pid DIR [CYCLES]	workers lock with L_PID: the lock of a killed
 *				holder is taken over at once
 *	crash age DIR [CYCLES]	workers lock without a pid: the lock of a
 *				killed holder is taken over once stale (the
 *				killer backdates its mtime instead of waiting
 *				five minutes)
 *	crash fork DIR		a child forked after its parent locked makes
 *				a temporary name of its own
 *
 * Four workers lock DIR/lock in a loop (lockfile_create2, interval 0:
 * spinning), and while holding it create DIR/marker with O_EXCL, which
 * fails if another live process holds the lock too. The parent kills a
 * random worker every few milliseconds with SIGKILL and starts a new one,
 * until the workers have done CYCLES (default 500) lock cycles in all.
 * At the end every temporary file left must be named after a killed
 * process, and no survivor may have failed.
 *
 * $CRASH_KILL_MS (16) is the longest pause between two kills, and
 * $CRASH_ORPHAN_MS (2000) how long a lock without a marker must stay
 * unchanged to count as a killed holder's; both are larger under
 * valgrind, where every new worker takes a while to start.
 */
#include "rel.h"

#include <sys/mman.h>

#define WORKERS 4
#define MAX_KILLED 4096

struct shared {
	int stop;
	int cycles;
	int overlaps;
	int errors;
	int last_rc, last_errno;
	int overlap_pid, overlap_with;
	long long orphaned_at;		/* ns, when a holder was killed */
	long long max_takeover;		/* ns, longest wait after that */
};

static struct shared *shm;
static char dir[1024], lock[R_PATH], marker[R_PATH];
static int lock_flags;
static pid_t killed[MAX_KILLED];
static int nkilled;
static int kill_ms = 16, orphan_ms = 2000;

static void check_tmp_names(void);

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Dead, or a zombie not yet reaped. */
static int
pid_dead(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	if (kill(pid, 0) != 0 && errno == ESRCH)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY)) < 0)
		return 1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p != NULL && (p[2] == 'Z' || p[2] == 'X');
}

/* The pid in the marker, or 0 if there is none. */
static pid_t
marker_pid(void)
{
	char buf[32];
	ssize_t n;
	int fd;

	if ((fd = open(marker, O_RDONLY)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return (pid_t)atoi(buf);
}

/* Claim the marker: it must be free, or left by a killed holder. */
static void
claim_marker(void)
{
	char buf[32];
	int fd, len, tries;

	len = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	for (tries = 0; tries < 100; tries++) {
		fd = open(marker, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd >= 0) {
			if (write(fd, buf, len) != len)
				__atomic_add_fetch(&shm->errors, 1,
				    __ATOMIC_SEQ_CST);
			close(fd);
			return;
		}
		if (errno != EEXIST) {
			__atomic_add_fetch(&shm->errors, 1, __ATOMIC_SEQ_CST);
			return;
		}
		pid_t other = marker_pid();

		if (other != 0 && !pid_dead(other)) {
			shm->overlap_pid = getpid();
			shm->overlap_with = other;
			__atomic_add_fetch(&shm->overlaps, 1,
			    __ATOMIC_SEQ_CST);
			return;
		}
		/* A killed holder's marker (or one half written). */
		(void)unlink(marker);
	}
	__atomic_add_fetch(&shm->errors, 1, __ATOMIC_SEQ_CST);
}

static void
worker(unsigned seed)
{
	struct __lockargs args = { 0 };
	int rc;

	srand(seed);
	while (!__atomic_load_n(&shm->stop, __ATOMIC_SEQ_CST)) {
		rc = lockfile_create2(lock, 1 << 30, lock_flags | __L_INTERVAL,
		    &args, sizeof(args));
		if (rc != L_SUCCESS) {
			shm->last_rc = rc;
			shm->last_errno = errno;
			__atomic_add_fetch(&shm->errors, 1, __ATOMIC_SEQ_CST);
			_exit(1);
		}
		long long orphaned = __atomic_exchange_n(&shm->orphaned_at, 0,
		    __ATOMIC_SEQ_CST);
		if (orphaned != 0) {
			long long took = now_ns() - orphaned;

			if (took > shm->max_takeover)
				shm->max_takeover = took;
		}
		claim_marker();
		usleep(100 + rand() % 1000);
		__atomic_add_fetch(&shm->cycles, 1, __ATOMIC_SEQ_CST);
		(void)unlink(marker);
		if (lockfile_remove(lock) != 0) {
			shm->last_rc = -1;
			shm->last_errno = errno;
			__atomic_add_fetch(&shm->errors, 1, __ATOMIC_SEQ_CST);
		}
	}
	_exit(0);
}

static pid_t
spawn(unsigned seed)
{
	pid_t pid;

	fflush(stdout);
	if ((pid = fork()) < 0)
		FAIL("fork: %s", strerror(errno));
	if (pid == 0)
		worker(seed);
	return pid;
}

static void
for_all(pid_t *pids, int sig)
{
	int i;

	for (i = 0; i < WORKERS; i++)
		(void)kill(pids[i], sig);
}

/* Backdate the lock if it is still the file st says. */
static void
backdate(const struct stat *st)
{
	struct stat now;
	struct timeval tv[2];

	if (lstat(lock, &now) != 0 || now.st_ino != st->st_ino
	    || now.st_ctime != st->st_ctime)
		return;
	gettimeofday(&tv[0], NULL);
	tv[1] = tv[0];
	tv[1].tv_sec -= 1000;
	if (utimes(lock, tv) != 0)
		FAIL("utimes: %s", strerror(errno));
	shm->orphaned_at = now_ns();
}

/*
 * Without L_PID: after victim was killed, find out whether it left the
 * lock held, and if so make it stale. A marker naming the victim proves
 * it; a lock that stays unchanged while the others run, with no marker or
 * only the marker of an earlier victim, is the victim's too (a live holder
 * claims the marker at once, removing a dead one's; a victim killed
 * between taking a lock over and claiming the marker leaves the old
 * victim's marker). The final look is taken with every worker stopped.
 */
static void
handle_orphan(pid_t victim, pid_t *pids)
{
	struct stat st, again;
	int polls;

	for (polls = 0; polls < orphan_ms / 10; polls++) {
		if (lstat(lock, &st) != 0)
			return;
		pid_t m = marker_pid();

		if (m == victim) {
			backdate(&st);
			return;
		}
		if (m != 0 && !pid_dead(m))
			return;
		usleep(10000);
		if (lstat(lock, &again) != 0 || again.st_ino != st.st_ino ||
		    again.st_ctime != st.st_ctime)
			return;
	}
	for_all(pids, SIGSTOP);
	usleep(20000);
	pid_t m = marker_pid();

	if (lstat(lock, &st) == 0 && (m == 0 || pid_dead(m)))
		backdate(&st);
	for_all(pids, SIGCONT);
}

static void
run_crash(const char *mode, int want_cycles)
{
	pid_t pids[WORKERS];
	int i, status, kills = 0, holder_kills = 0, survivors_failed = 0;
	unsigned seed = (unsigned)getpid();
	struct stat st;
	double start = now_mono();

	lock_flags = strcmp(mode, "pid") == 0 ? L_PID : 0;
	if (getenv("CRASH_KILL_MS") != NULL)
		kill_ms = atoi(getenv("CRASH_KILL_MS"));
	if (getenv("CRASH_ORPHAN_MS") != NULL)
		orphan_ms = atoi(getenv("CRASH_ORPHAN_MS"));
	if (kill_ms < 1 || orphan_ms < 100)
		FAIL("bad CRASH_KILL_MS or CRASH_ORPHAN_MS");
	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED)
		FAIL("mmap: %s", strerror(errno));
	memset(shm, 0, sizeof(*shm));
	srand(seed);
	for (i = 0; i < WORKERS; i++)
		pids[i] = spawn(seed + i + 1);

	/* Until enough cycles, and enough kills of holders and waiters. */
	while ((__atomic_load_n(&shm->cycles, __ATOMIC_SEQ_CST) < want_cycles
	    || kills < 20 || holder_kills < 5)
	    && shm->overlaps == 0 && shm->errors == 0) {
		if (now_mono() - start > 400)
			FAIL("only %d cycles in 400 s", shm->cycles);
		usleep(1000 + rand() % (kill_ms * 1000));
		/* Half the time the holder, else anyone (mostly a waiter). */
		pid_t m = marker_pid(), victim;

		i = rand() % WORKERS;
		if (rand() % 2 == 0)
			for (int j = 0; j < WORKERS; j++)
				if (pids[j] == m)
					i = j;
		victim = pids[i];
		int held = m == victim;

		(void)kill(victim, SIGKILL);
		if (waitpid(victim, &status, 0) != victim)
			FAIL("waitpid: %s", strerror(errno));
		if (nkilled < MAX_KILLED)
			killed[nkilled++] = victim;
		kills++;
		holder_kills += held;
		if (held && lock_flags)
			shm->orphaned_at = now_ns();
		pids[i] = spawn(seed + 100 + kills);
		if (!lock_flags)
			handle_orphan(victim, pids);
	}
	__atomic_store_n(&shm->stop, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < WORKERS; i++) {
		if (waitpid(pids[i], &status, 0) != pids[i])
			FAIL("waitpid: %s", strerror(errno));
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			survivors_failed++;
	}
	tc_info("%d cycles, %d kills (%d of a holder), longest takeover "
	    "%.3f s, %.1f s", shm->cycles, kills, holder_kills,
	    shm->max_takeover / 1e9, now_mono() - start);
	CHECK(shm->overlaps == 0, "%d overlaps: %d found the marker of "
	    "live %d", shm->overlaps, shm->overlap_pid, shm->overlap_with);
	CHECK(shm->errors == 0 && survivors_failed == 0, "%d errors, %d "
	    "workers failed; last rc %d errno %s", shm->errors,
	    survivors_failed, shm->last_rc, strerror(shm->last_errno));
	CHECK(shm->cycles >= want_cycles, "only %d cycles", shm->cycles);
	CHECK(kills >= 20 && holder_kills >= 5, "only %d kills, %d of a "
	    "holder", kills, holder_kills);
	/* Taken over at once: not after the five minutes of the age rule. */
	CHECK(shm->max_takeover < 30 * 1000000000LL, "a killed holder's "
	    "lock was taken over only after %.1f s", shm->max_takeover / 1e9);

	/* Debris only of killed processes: their temporary files, and the
	 * lock and marker of a holder killed last. */
	if (lstat(lock, &st) == 0)
		tc_info("lock left by a killed holder");
	pid_t m = marker_pid();
	for (i = 0; m != 0 && i < nkilled && killed[i] != m; i++)
		;
	CHECK(m == 0 || i < nkilled, "marker of survivor %d left", (int)m);
	check_tmp_names();
}

/* Every ".lk" file in dir is the temporary name of a killed process. */
static void
check_tmp_names(void)
{
	char host[256], name[300], *dot;
	DIR *d;
	struct dirent *e;
	int i, h, found, left = 0;

	if (gethostname(host, sizeof(host)) != 0)
		FAIL("gethostname: %s", strerror(errno));
	host[sizeof(host) - 1] = '\0';
	if ((dot = strchr(host, '.')) != NULL)
		*dot = '\0';
	if ((d = opendir(dir)) == NULL)
		FAIL("opendir: %s", strerror(errno));
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, ".lk", 3) != 0)
			continue;
		left++;
		found = 0;
		for (i = 0; i < nkilled && !found; i++)
			for (h = 0; h < 16 && !found; h++) {
				snprintf(name, sizeof(name), ".lk%05d%x%s",
				    (int)killed[i], h, host);
				name[31] = '\0';
				found = strcmp(name, e->d_name) == 0;
			}
		if (!found) {
			closedir(d);
			FAIL("temporary file %s is not a killed process's",
			    e->d_name);
		}
	}
	closedir(d);
	tc_info("%d temporary files of killed processes", left);
}

/* Wait for a held lock beside another process: exit 0 if the wait ends
 * in L_MAXTRYS with EAGAIN, else 10 + the L_* code. */
static void
wait_beside(void)
{
	struct __lockargs args = { 1 };
	int rc = lockfile_create2(lock, 4, L_PID | __L_INTERVAL, &args,
	    sizeof(args));

	_exit(rc == L_MAXTRYS && errno == EAGAIN ? 0 : 10 + rc);
}

static void
run_fork(void)
{
	char a[R_PATH];
	pid_t child[2];
	int i, status, seen;

	/* Lock once first, so that whatever a library caches is cached. */
	snprintf(a, sizeof(a), "%s/warm.lock", dir);
	CHECK(lockfile_create(a, 0, L_PID) == L_SUCCESS, "warm-up lock: "
	    "%s", strerror(errno));
	CHECK(lockfile_remove(a) == 0, "remove: %s", strerror(errno));
	/* A valid lock of someone else's, that both will wait for. */
	make_lock(lock, "0\n", 0);

	/* Two children, each with what this process cached, wait for the
	 * lock at the same time, each with its temporary file: the same name
	 * would make one fail. Both are seen in their sleep between two
	 * attempts (4 s of them) before the files are counted. */
	fflush(stdout);
	for (i = 0; i < 2; i++) {
		if ((child[i] = fork()) < 0)
			FAIL("fork: %s", strerror(errno));
		if (child[i] == 0)
			wait_beside();
	}
	wait_until_sleeping(child[0]);
	wait_until_sleeping(child[1]);
	seen = r_count_tmp(dir);
	for (i = 0; i < 2; i++) {
		if (waitpid(child[i], &status, 0) != child[i])
			FAIL("waitpid: %s", strerror(errno));
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d "
		    "failed: status %#x (10 + its L_* code)", i, status);
	}
	CHECK(seen == 2, "%d temporary files while two processes waited, "
	    "want 2", seen);
	CHECK_NO_TMP_IN(dir);
	(void)unlink(lock);
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: crash pid|age|fork DIR [CYCLES]\n");
		return 2;
	}
	tc_set_case(argv[1]);
	snprintf(dir, sizeof(dir), "%s", argv[2]);
	snprintf(lock, sizeof(lock), "%s/lock", dir);
	snprintf(marker, sizeof(marker), "%s/marker", dir);
	if (strcmp(tc_name, "fork") == 0)
		run_fork();
	else if (strcmp(tc_name, "pid") == 0 || strcmp(tc_name, "age") == 0)
		run_crash(tc_name, argc > 3 ? atoi(argv[3]) : 500);
	else {
		fprintf(stderr, "crash: unknown case %s\n", tc_name);
		return 2;
	}
	printf("ok crash %s\n", tc_name);
	return 0;
}
