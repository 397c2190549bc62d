/*
 * contend - mutual exclusion without back-off (docs/protocol.md §2.7).
 *
 *	contend [-D DOTLOCKFILE] [-H HOST,...] DIR[,DIR...] PROCS ROUNDS
 *
 * PROCS processes each take DIR/lock ROUNDS times, spinning while it is
 * held: with lockfile_create2(..., __L_INTERVAL, interval 0), or with
 * "DOTLOCKFILE -r -1 -i 0" and "DOTLOCKFILE -u". Given several folders
 * (the same share mounted several times), process i works through folder
 * i modulo their number; given host names, process i runs in a UTS
 * namespace of its own with host name i modulo their number, as a client
 * on another machine would (the temporary names differ by host).
 *
 * While holding the lock each process creates DIR/marker with O_EXCL
 * (which fails if another process holds the lock too) and adds one to
 * the number in DIR/counter by reading and rewriting it (which loses
 * increments if two hold it at once). At the end the counter must be PROCS x ROUNDS, with
 * no overlap, no error and no temporary file left.
 *
 * The lock is held only for a moment, so that waiters often find it gone
 * between looking at it and judging it: the reference then removes the
 * next holder's lock as "stale".
 */
#include "rel.h"

#include <sched.h>
#include <spawn.h>
#include <sys/mman.h>

extern char **environ;

struct shared {
	int overlaps;
	int errors;
	int last_rc, last_errno;
};

#define MAX_DIRS 8

static struct shared *shm;
static char dir[1024], lock[R_PATH], marker[R_PATH], counter[R_PATH];
static const char *dotlockfile;
static char *dirs[MAX_DIRS], *hosts[MAX_DIRS];
static int ndirs, nhosts;

/* Split a comma-separated list in place. */
static int
split(char *list, char **out)
{
	int n = 0;
	char *save = NULL, *p;

	for (p = strtok_r(list, ",", &save); p != NULL && n < MAX_DIRS;
	    p = strtok_r(NULL, ",", &save))
		out[n++] = p;
	return n;
}

/* Work through folder d from now on. */
static void
use_dir(const char *d)
{
	snprintf(dir, sizeof(dir), "%s", d);
	snprintf(lock, sizeof(lock), "%s/lock", dir);
	snprintf(marker, sizeof(marker), "%s/marker", dir);
	snprintf(counter, sizeof(counter), "%s/counter", dir);
}

static int
run(const char *const argv[])
{
	pid_t pid;
	int status;

	if (posix_spawn(&pid, argv[0], NULL, NULL, (char *const *)argv,
	    environ) != 0)
		return -1;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int
take(void)
{
	struct __lockargs args = { 0 };
	int rc;

	if (dotlockfile != NULL) {
		const char *argv[] = { dotlockfile, "-r", "-1", "-i", "0",
		    lock, NULL };

		rc = run(argv);
	} else {
		rc = lockfile_create2(lock, 1 << 30, __L_INTERVAL, &args,
		    sizeof(args));
	}
	if (rc != L_SUCCESS) {
		shm->last_rc = rc;
		shm->last_errno = errno;
	}
	return rc;
}

static int
release(void)
{
	if (dotlockfile != NULL) {
		const char *argv[] = { dotlockfile, "-u", lock, NULL };

		return run(argv);
	}
	return lockfile_remove(lock);
}

/*
 * Add one to the counter: read it, then rewrite it from scratch (FUSE FAT
 * ignores writes over existing data, and pwrite()'s offset).
 */
static void
bump(void)
{
	char buf[32];
	ssize_t n;
	int fd, value;

	if ((fd = open(counter, O_RDONLY)) < 0)
		goto fail;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		goto fail;
	buf[n] = '\0';
	value = atoi(buf) + 1;
	n = snprintf(buf, sizeof(buf), "%d\n", value);
	if ((fd = open(counter, O_WRONLY | O_TRUNC)) < 0)
		goto fail;
	if (write(fd, buf, n) != n) {
		close(fd);
		goto fail;
	}
	if (close(fd) == 0)
		return;
fail:
	__atomic_add_fetch(&shm->errors, 1, __ATOMIC_SEQ_CST);
}

static void
worker(int id, int rounds, int gate)
{
	char c;
	int i, fd;

	use_dir(dirs[id % ndirs]);
	if (nhosts > 0) {
		const char *h = hosts[id % nhosts];

		if (unshare(CLONE_NEWUTS) != 0 || sethostname(h, strlen(h)))
			_exit(3);
	}

	/* All start together: the gate opens when the parent closes it. */
	(void)read(gate, &c, 1);
	close(gate);

	for (i = 0; i < rounds; i++) {
		if (take() != L_SUCCESS) {
			__atomic_add_fetch(&shm->errors, 1, __ATOMIC_SEQ_CST);
			_exit(1);
		}
		fd = open(marker, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0) {
			/* Said at once, too: a run killed later (a hung
			 * file system) must still show it. */
			if (__atomic_add_fetch(&shm->overlaps, 1,
			    __ATOMIC_SEQ_CST) == 1)
				dprintf(2, "# violation: process %d, round %d: "
				    "marker: %s\n", id, i, strerror(errno));
		} else {
			close(fd);
		}
		bump();
		if (fd >= 0)
			(void)unlink(marker);
		if (release() != 0) {
			shm->last_rc = -1;
			shm->last_errno = errno;
			__atomic_add_fetch(&shm->errors, 1, __ATOMIC_SEQ_CST);
		}
	}
	_exit(0);
}

static ssize_t
read_counter(char *buf, size_t size)
{
	ssize_t n;
	int fd;

	if ((fd = open(counter, O_RDONLY)) < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

static void
usage(void)
{
	fprintf(stderr, "usage: contend [-D DOTLOCKFILE] [-H HOST,...] "
	    "DIR[,DIR...] PROCS ROUNDS\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	int procs, rounds, i, status, failed = 0, value, gate[2], opt;
	char buf[32];
	pid_t *pids;
	double start;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "D:H:")) != -1) {
		if (opt == 'D')
			dotlockfile = optarg;
		else if (opt == 'H')
			nhosts = split(optarg, hosts);
		else
			usage();
	}
	if (argc - optind != 3)
		usage();
	tc_set_case(dotlockfile ? "contend dotlockfile" : "contend create2");
	ndirs = split(argv[optind], dirs);
	procs = atoi(argv[optind + 1]);
	rounds = atoi(argv[optind + 2]);
	if (ndirs == 0 || procs <= 0 || rounds <= 0)
		usage();
	use_dir(dirs[0]);
	make_lock(counter, "0\n", 0);
	(void)unlink(lock);
	(void)unlink(marker);
	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED || (pids = calloc(procs, sizeof(*pids))) == NULL)
		FAIL("out of memory");
	if (pipe(gate) != 0)
		FAIL("pipe: %s", strerror(errno));
	fflush(stdout);
	for (i = 0; i < procs; i++) {
		if ((pids[i] = fork()) < 0)
			FAIL("fork: %s", strerror(errno));
		if (pids[i] == 0) {
			close(gate[1]);
			worker(i, rounds, gate[0]);
		}
	}
	close(gate[0]);
	start = now_mono();
	close(gate[1]);
	for (i = 0; i < procs; i++) {
		if (waitpid(pids[i], &status, 0) != pids[i])
			FAIL("waitpid: %s", strerror(errno));
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	free(pids);
	if (read_counter(buf, sizeof(buf)) < 0)
		FAIL("read counter: %s", strerror(errno));
	value = atoi(buf);
	tc_info("%d x %d rounds through %d folder(s) in %.1f s: counter %d, "
	    "%d overlaps, %d errors", procs, rounds, ndirs, now_mono() - start,
	    value, shm->overlaps, shm->errors);
	CHECK(shm->errors == 0 && failed == 0, "%d errors, %d processes "
	    "failed; last code %d errno %s", shm->errors, failed,
	    shm->last_rc, strerror(shm->last_errno));
	CHECK(shm->overlaps == 0, "%d overlaps", shm->overlaps);
	CHECK(value == procs * rounds, "counter %d, want %d: %d lost",
	    value, procs * rounds, procs * rounds - value);
	CHECK(!exists(lock), "lock left");
	for (i = 0; i < ndirs; i++)
		CHECK_NO_TMP_IN(dirs[i]);
	printf("ok %s\n", tc_name);
	return 0;
}
