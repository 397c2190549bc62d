/*
 * The benchmark driver: one program, compiled once against the soname
 * liblockfile.so.1 and run against our library or the reference by
 * changing LD_LIBRARY_PATH (bench/run.sh does that, A B B A).
 *
 * Every mode prints "lib=<file>", the library lockfile_create() really
 * came from, so that the runner can check which one was measured, then
 * its results as key=value lines. Times are nanoseconds.
 *
 *   bench which
 *   bench cycles LOCK FLAGS N      lockfile_create + lockfile_remove
 *   bench mail DIR N               maillock + mailunlock ($MAIL in DIR)
 *   bench handoff LOCK HOLD_MS     a holder releases after HOLD_MS: how
 *                                  long until the waiter holds the lock
 *   bench contend LOCK NPROC ROUNDS RETRIES [INTERVAL]
 *                                  NPROC processes x ROUNDS of lock,
 *                                  increment a counter file, unlock
 *                                  (INTERVAL: lockfile_create2 with
 *                                  __L_INTERVAL, where the library has it)
 *   bench spawn N PROG LOCK        N pairs "PROG -l LOCK", "PROG -u LOCK"
 *                                  [PROG_FLAG] as whole processes
 *   bench starts PROG MISSING ROUNDS N OURS_DIR REF_DIR
 *                                  ROUNDS rounds of N starts of
 *                                  "PROG MISSING" (bench/start.c) with
 *                                  LD_LIBRARY_PATH=OURS_DIR and N with
 *                                  REF_DIR, the order swapped every round;
 *                                  one line of times and faults per round
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lockfile.h>
#include <maillock.h>

extern char **environ;

typedef int (*create2_fn)(const char *, int, int, struct __lockargs *, int);

static void die(const char *what)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(errno));
	exit(2);
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
	       ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static void print_lib(void)
{
	Dl_info info;
	void *sym = dlsym(RTLD_DEFAULT, "lockfile_create");

	if (sym == NULL || dladdr(sym, &info) == 0 || info.dli_fname == NULL) {
		fprintf(stderr, "bench: cannot tell where lockfile_create is\n");
		exit(2);
	}
	printf("lib=%s\n", info.dli_fname);
}

static long arg_long(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0') {
		fprintf(stderr, "bench: not a number: %s\n", s);
		exit(2);
	}
	return v;
}

static void cycle(const char *lock, int flags)
{
	int rc = lockfile_create(lock, 0, flags);

	if (rc != L_SUCCESS) {
		fprintf(stderr, "bench: lockfile_create: %d (%s)\n", rc,
			strerror(errno));
		exit(1);
	}
	if (lockfile_remove(lock) != 0)
		die("lockfile_remove");
}

static int run_cycles(const char *lock, int flags, long n)
{
	long warm = n < 200 ? n : 200;
	int64_t t0, c0;

	for (long i = 0; i < warm; i++)
		cycle(lock, flags);
	t0 = mono_ns();
	c0 = cpu_ns();
	for (long i = 0; i < n; i++)
		cycle(lock, flags);
	printf("wall_ns=%lld\ncpu_ns=%lld\nn=%ld\n",
	       (long long)(mono_ns() - t0), (long long)(cpu_ns() - c0), n);
	return 0;
}

static int run_mail(const char *dir, long n)
{
	static char mail[4096];
	int64_t t0, c0;

	if (snprintf(mail, sizeof(mail), "%s/benchuser", dir) >= (int)sizeof(mail))
		die("mail path");
	if (setenv("MAIL", mail, 1) != 0)
		die("setenv");
	t0 = mono_ns();
	c0 = cpu_ns();
	for (long i = 0; i < n; i++) {
		int rc = maillock("benchuser", 0);

		if (rc != L_SUCCESS) {
			fprintf(stderr, "bench: maillock: %d\n", rc);
			return 1;
		}
		mailunlock();
	}
	printf("wall_ns=%lld\ncpu_ns=%lld\nn=%ld\n",
	       (long long)(mono_ns() - t0), (long long)(cpu_ns() - c0), n);
	return 0;
}

static void read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t r = read(fd, p, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("read from pipe");
		p += r;
		len -= (size_t)r;
	}
}

static void write_all(int fd, const void *buf, size_t len)
{
	if (write(fd, buf, len) != (ssize_t)len)
		die("write to pipe");
}

/*
 * A holder takes the lock, says so, holds it for hold_ms and removes it,
 * sending the time just before the removal. The waiter, here, asks for
 * the lock as soon as it is held, and measures from that time until it
 * holds it, and the CPU it used meanwhile.
 */
static int run_handoff(const char *lock, long hold_ms)
{
	int held[2], released[2];
	char c = 'h';
	int64_t t_release, t_acquired, c0, w0;
	pid_t pid;
	int rc, status;

	if (pipe(held) != 0 || pipe(released) != 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		struct timespec ts = { hold_ms / 1000, (hold_ms % 1000) * 1000000 };

		if (lockfile_create(lock, 0, 0) != L_SUCCESS)
			_exit(1);
		write_all(held[1], &c, 1);
		nanosleep(&ts, NULL);
		t_release = mono_ns();
		if (lockfile_remove(lock) != 0)
			_exit(1);
		write_all(released[1], &t_release, sizeof(t_release));
		_exit(0);
	}
	read_all(held[0], &c, 1);
	c0 = cpu_ns();
	w0 = mono_ns();
	/* Standard schedule: 5 s, then 10 s: enough for any hold below 15 s. */
	rc = lockfile_create(lock, 2, 0);
	t_acquired = mono_ns();
	c0 = cpu_ns() - c0;
	if (rc != L_SUCCESS) {
		fprintf(stderr, "bench: waiter got %d\n", rc);
		return 1;
	}
	read_all(released[0], &t_release, sizeof(t_release));
	lockfile_remove(lock);
	if (waitpid(pid, &status, 0) != pid || status != 0) {
		fprintf(stderr, "bench: holder failed\n");
		return 1;
	}
	printf("handoff_ns=%lld\nwait_ns=%lld\nwaiter_cpu_ns=%lld\n",
	       (long long)(t_acquired - t_release), (long long)(t_acquired - w0),
	       (long long)c0);
	return 0;
}

static long read_counter(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY);

	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) < 0)
		die("read counter");
	close(fd);
	return strtol(buf, NULL, 10);
}

static void write_counter(const char *path, long v)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%ld\n", v);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, buf, (size_t)len) != len)
		die("write counter");
	close(fd);
}

static int run_contend(const char *lock, long nproc, long rounds, int retries,
		       long interval)
{
	static char counter[4096];
	create2_fn create2 = NULL;
	struct __lockargs args = { (int)interval };
	int start[2], report[2];
	long failures = 0, got;
	int64_t t0;

	if (interval >= 0) {
		create2 = (create2_fn)dlsym(RTLD_DEFAULT, "lockfile_create2");
		if (create2 == NULL) {
			printf("skipped=no lockfile_create2 in this library\n");
			return 0;
		}
	}
	if (snprintf(counter, sizeof(counter), "%s.counter", lock) >=
	    (int)sizeof(counter))
		die("counter path");
	write_counter(counter, 0);
	if (pipe(start) != 0 || pipe(report) != 0)
		die("pipe");
	for (long p = 0; p < nproc; p++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			char c;
			long failed = 0;

			close(start[1]);
			if (read(start[0], &c, 1) != 0)
				_exit(1);
			for (long r = 0; r < rounds; r++) {
				int rc = create2 != NULL
					? create2(lock, retries, __L_INTERVAL,
						  &args, sizeof(args))
					: lockfile_create(lock, retries, 0);

				if (rc != L_SUCCESS) {
					failed++;
					continue;
				}
				write_counter(counter, read_counter(counter) + 1);
				if (lockfile_remove(lock) != 0)
					_exit(1);
			}
			write_all(report[1], &failed, sizeof(failed));
			_exit(0);
		}
	}
	close(start[0]);
	t0 = mono_ns();
	close(start[1]); /* go */
	for (long p = 0; p < nproc; p++) {
		long f;
		int status;

		read_all(report[0], &f, sizeof(f));
		failures += f;
		if (wait(&status) < 0 || status != 0) {
			fprintf(stderr, "bench: a worker failed\n");
			return 1;
		}
	}
	got = read_counter(counter);
	printf("wall_ns=%lld\nfailures=%ld\nlost=%ld\ncount=%ld\n",
	       (long long)(mono_ns() - t0), failures,
	       nproc * rounds - failures - got, got);
	unlink(counter);
	return 0;
}

static int spawn_wait(const char *prog, char *const argv[])
{
	pid_t pid;
	int status;

	errno = posix_spawn(&pid, prog, NULL, NULL, argv, environ);
	if (errno != 0)
		die(prog);
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	return status;
}

static int64_t children_cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_CHILDREN, &ru);
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
	       ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static int run_spawn(long n, const char *prog, const char *lock,
		     const char *flag)
{
	char *lk[] = { (char *)prog, "-l", (char *)lock, NULL, NULL };
	char *un[] = { (char *)prog, "-u", (char *)lock, NULL };
	int64_t t0, c0 = children_cpu_ns();

	if (flag != NULL) {
		lk[2] = (char *)flag;
		lk[3] = (char *)lock;
	}
	t0 = mono_ns();
	for (long i = 0; i < n; i++) {
		if (spawn_wait(prog, lk) != 0 || spawn_wait(prog, un) != 0) {
			fprintf(stderr, "bench: %s failed\n", prog);
			return 1;
		}
	}
	printf("wall_ns=%lld\ncpu_ns=%lld\nn=%ld\n",
	       (long long)(mono_ns() - t0),
	       (long long)(children_cpu_ns() - c0), n);
	return 0;
}

/* A copy of the environment with LD_LIBRARY_PATH=dir in it. */
static char **env_with_libdir(const char *dir)
{
	size_t n = 0, k = 0;
	char **env;
	char *var;

	while (environ[n] != NULL)
		n++;
	env = calloc(n + 2, sizeof(*env));
	var = malloc(strlen("LD_LIBRARY_PATH=") + strlen(dir) + 1);
	if (env == NULL || var == NULL)
		die("malloc");
	strcpy(var, "LD_LIBRARY_PATH=");
	strcat(var, dir);
	env[k++] = var;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_LIBRARY_PATH=", 16) != 0)
			env[k++] = environ[i];
	env[k] = NULL;
	return env;
}

struct starts {
	int64_t wall_ns, cpu_ns;
	long minflt;
};

static int64_t tv_ns(struct timeval tv)
{
	return (int64_t)tv.tv_sec * 1000000000 + (int64_t)tv.tv_usec * 1000;
}

/* One start of argv[0], waited for; adds its times and faults to *out. */
static void time_start(char *const argv[], char **env, struct starts *out)
{
	struct rusage ru;
	int64_t t0 = mono_ns();
	pid_t pid;
	int status;

	errno = posix_spawn(&pid, argv[0], NULL, NULL, argv, env);
	if (errno != 0)
		die(argv[0]);
	if (wait4(pid, &status, 0, &ru) != pid)
		die("wait4");
	out->wall_ns += mono_ns() - t0;
	if (status != 0) {
		fprintf(stderr, "bench: %s %s exited with status %d\n", argv[0],
			argv[1], status);
		exit(1);
	}
	out->cpu_ns += tv_ns(ru.ru_utime) + tv_ns(ru.ru_stime);
	out->minflt += ru.ru_minflt;
}

/*
 * Each round is n pairs of starts, one with each library, the order of
 * the two swapped from pair to pair: whatever else the machine does
 * falls on both sides alike, and the ratio of a round's two sums is
 * what the runner takes the median of.
 */
static int run_starts(const char *prog, const char *missing, long rounds,
		      long n, const char *ours, const char *ref)
{
	char *argv[] = { (char *)prog, (char *)missing, NULL };
	char **env[2] = { env_with_libdir(ours), env_with_libdir(ref) };

	/* Both sides' files into the page cache before anything counts. */
	for (long i = 0; i < 20; i++) {
		struct starts warm = { 0, 0, 0 };

		time_start(argv, env[i % 2], &warm);
	}
	for (long r = 0; r < rounds; r++) {
		struct starts s[2] = { { 0, 0, 0 }, { 0, 0, 0 } };

		for (long i = 0; i < n; i++) {
			int first = (int)((r + i) % 2);

			time_start(argv, env[first], &s[first]);
			time_start(argv, env[1 - first], &s[1 - first]);
		}
		printf("round=%ld ours_ns=%lld ref_ns=%lld ours_cpu_ns=%lld "
		       "ref_cpu_ns=%lld ours_minflt=%ld ref_minflt=%ld\n",
		       r, (long long)s[0].wall_ns, (long long)s[1].wall_ns,
		       (long long)s[0].cpu_ns, (long long)s[1].cpu_ns,
		       s[0].minflt, s[1].minflt);
	}
	printf("n=%ld\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	print_lib();
	if (strcmp(mode, "which") == 0 && argc == 2)
		return 0;
	if (strcmp(mode, "cycles") == 0 && argc == 5)
		return run_cycles(argv[2], (int)arg_long(argv[3]),
				  arg_long(argv[4]));
	if (strcmp(mode, "mail") == 0 && argc == 4)
		return run_mail(argv[2], arg_long(argv[3]));
	if (strcmp(mode, "handoff") == 0 && argc == 4)
		return run_handoff(argv[2], arg_long(argv[3]));
	if (strcmp(mode, "contend") == 0 && (argc == 6 || argc == 7))
		return run_contend(argv[2], arg_long(argv[3]),
				   arg_long(argv[4]), (int)arg_long(argv[5]),
				   argc == 7 ? arg_long(argv[6]) : -1);
	if (strcmp(mode, "spawn") == 0 && (argc == 5 || argc == 6))
		return run_spawn(arg_long(argv[2]), argv[3], argv[4],
				 argc == 6 ? argv[5] : NULL);
	if (strcmp(mode, "starts") == 0 && argc == 8)
		return run_starts(argv[2], argv[3], arg_long(argv[4]),
				  arg_long(argv[5]), argv[6], argv[7]);
	fprintf(stderr, "usage: bench which|cycles|mail|handoff|contend|spawn|starts ...\n");
	return 2;
}
