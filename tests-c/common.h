/*
 * common.h - helpers shared by the C test programs in tests-c/.
 *
 * Every program tests one behaviour of liblockfile (docs/ sections named in
 * each file).  Protocol, read by run.sh:
 *	ok <name>		exit 0
 *	FAIL <name>: <what>	exit 1
 *	SKIP <name>: <reason>	exit 77
 * Lines starting with "# " are information only.  <name> is the basename
 * of the source file without ".c".
 *
 * Each program works in a fresh scratch directory under $TMPDIR (or /tmp),
 * removed at exit unless LOCKFILE_TEST_KEEP is set.
 *
 * lockfile_create2 may be missing: Debian's shared object exports it only
 * from its static archive.  get_create2() finds it with dlsym (a shared
 * library that has it, even if the program was linked against one that
 * has not) or through a weak reference (linked statically: dlsym does not
 * see the program's own symbols); tests that need it SKIP without it.
 */
#ifndef TESTS_C_COMMON_H
#define TESTS_C_COMMON_H

#ifndef LOCKFILE_EXPERIMENTAL
#define LOCKFILE_EXPERIMENTAL
#endif

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lockfile.h>
#include <maillock.h>

#pragma weak lockfile_create2

#define TC_UNUSED	__attribute__((unused))
#define TC_PRINTF(a, b)	__attribute__((format(printf, a, b)))
#define TC_NORETURN	__attribute__((noreturn))

/* Exit status of a program that cannot run its case. */
#define EXIT_SKIP	77

/*
 * Seconds within which a call that must not sleep returns: below the
 * shortest sleep of the retry schedule (5 s), so one sleep is caught, and
 * far above what a few system calls take on a loaded host or under
 * valgrind.
 */
#define QUICK		4.0

/* Big enough for any path the tests build (PATH_MAX plus a margin). */
#define TC_PATH		(PATH_MAX + 256)

typedef int (*tc_create2_fn)(const char *, int, int, struct __lockargs *,
    int);

TC_UNUSED static char tc_name[128] = "t_unknown";
TC_UNUSED static char tc_dir[TC_PATH];
TC_UNUSED static pid_t tc_owner;

/* Set the test name from the source file name: "dir/t_x.c" -> "t_x". */
TC_UNUSED static void
tc_set_name(const char *file)
{
	const char *base = strrchr(file, '/');
	size_t len;

	base = base ? base + 1 : file;
	len = strlen(base);
	if (len > 2 && strcmp(base + len - 2, ".c") == 0)
		len -= 2;
	if (len >= sizeof(tc_name))
		len = sizeof(tc_name) - 1;
	memcpy(tc_name, base, len);
	tc_name[len] = '\0';
	/* Lines must come out in order even when a child writes too. */
	setvbuf(stdout, NULL, _IOLBF, 0);
}

#define TEST_BEGIN()	tc_set_name(__FILE__)

/* Name the case that follows (programs that run one of several cases). */
TC_UNUSED static void
tc_set_case(const char *name)
{
	snprintf(tc_name, sizeof(tc_name), "%s", name);
}

TC_UNUSED TC_NORETURN TC_PRINTF(1, 2) static void
tc_fail(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s: ", tc_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(1);
}

TC_UNUSED TC_NORETURN TC_PRINTF(1, 2) static void
tc_skip(const char *fmt, ...)
{
	va_list ap;

	printf("SKIP %s: ", tc_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(EXIT_SKIP);
}

TC_UNUSED TC_PRINTF(1, 2) static void
tc_info(const char *fmt, ...)
{
	va_list ap;

	printf("# %s: ", tc_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

TC_UNUSED TC_NORETURN static void
tc_ok(void)
{
	printf("ok %s\n", tc_name);
	fflush(stdout);
	exit(0);
}

/* "dir/t_x.c" -> "t_x.c", for "# file:line" lines. */
TC_UNUSED static const char *
tc_base(const char *file)
{
	const char *base = strrchr(file, '/');

	return base ? base + 1 : file;
}

#define FAIL(...)	tc_fail(__VA_ARGS__)
#define SKIP(...)	tc_skip(__VA_ARGS__)
#define PASS()		tc_ok()

/* CHECK(cond, printf-args): on a false cond print FAIL and exit 1. */
#define CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			printf("# %s:%d: %s\n", tc_base(__FILE__),	\
			    __LINE__, #cond);				\
			tc_fail(__VA_ARGS__);				\
		}							\
	} while (0)

/*
 * CHECK_RC(what, rc, code, err): rc must equal code, and errno (saved by
 * the caller right after the call, passed as err) must equal the expected
 * errno unless that is -1 ("any").
 */
#define CHECK_RC(what, rc, code, want_errno, got_errno)			\
	do {								\
		int tc_rc_ = (rc), tc_we_ = (want_errno);		\
		int tc_ge_ = (got_errno);				\
		CHECK(tc_rc_ == (code), "%s returned %d, want %d "	\
		    "(errno %d %s)", (what), tc_rc_, (code), tc_ge_,	\
		    strerror(tc_ge_));					\
		CHECK(tc_we_ == -1 || tc_ge_ == tc_we_, "%s: errno %d "	\
		    "(%s), want %d (%s)", (what), tc_ge_,		\
		    strerror(tc_ge_), tc_we_, strerror(tc_we_));	\
	} while (0)

/* Remove a directory tree (the scratch dir); best effort. */
TC_UNUSED static void
tc_rmtree(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char sub[TC_PATH];

	if (lstat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		(void)unlink(path);
		return;
	}
	(void)chmod(path, 0700);
	if ((d = opendir(path)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			tc_rmtree(sub);
		}
		closedir(d);
	}
	(void)rmdir(path);
}

TC_UNUSED static void
tc_cleanup(void)
{
	if (tc_dir[0] == '\0' || getpid() != tc_owner)
		return;
	if (getenv("LOCKFILE_TEST_KEEP") != NULL) {
		printf("# %s: kept %s\n", tc_name, tc_dir);
		return;
	}
	tc_rmtree(tc_dir);
}

/*
 * Make the fresh scratch directory (mode 0755, so that a test may look at
 * it as another user) and return its path.  Removed at exit.
 */
TC_UNUSED static const char *
scratch_dir(void)
{
	const char *base = getenv("TMPDIR");

	if (tc_dir[0] != '\0')
		return tc_dir;
	if (base == NULL || *base == '\0')
		base = "/tmp";
	snprintf(tc_dir, sizeof(tc_dir), "%s/lockfile-%s.XXXXXX", base,
	    tc_name);
	if (mkdtemp(tc_dir) == NULL) {
		int e = errno;

		tc_dir[0] = '\0';
		FAIL("mkdtemp under %s: %s", base, strerror(e));
	}
	tc_owner = getpid();
	atexit(tc_cleanup);
	if (chmod(tc_dir, 0755) != 0)
		FAIL("chmod %s: %s", tc_dir, strerror(errno));
	return tc_dir;
}

/* buf = scratch dir + "/" + name. */
TC_UNUSED static char *
tpath(char *buf, const char *name)
{
	snprintf(buf, TC_PATH, "%s/%s", scratch_dir(), name);
	return buf;
}

/* $MAIL = path, or no $MAIL for NULL: the mailbox maillock() takes
 * (docs/c-policy.md §4.2). */
TC_UNUSED static void
set_mail(const char *path)
{
	int rc = path == NULL ? unsetenv("MAIL") : setenv("MAIL", path, 1);

	if (rc != 0)
		FAIL("%s: %s", path == NULL ? "unsetenv MAIL" : "setenv MAIL",
		    strerror(errno));
}

/* Fail if any ".lk*" (temporary lock) file is left in dir. */
TC_UNUSED static void
tc_no_tmp(const char *dir, const char *file, int line)
{
	DIR *d;
	struct dirent *e;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, ".lk", 3) == 0) {
			closedir(d);
			printf("# %s:%d\n", tc_base(file), line);
			FAIL("temporary file %s left in %s", e->d_name, dir);
		}
	}
	closedir(d);
}

#define CHECK_NO_TMP_IN(dir)	tc_no_tmp((dir), __FILE__, __LINE__)
#define CHECK_NO_TMP()		tc_no_tmp(scratch_dir(), __FILE__, __LINE__)

/*
 * Read at most size-1 bytes of path into buf, NUL-terminated.  Returns the
 * length, or -1 with errno set.
 */
TC_UNUSED static ssize_t
read_file(const char *path, char *buf, size_t size)
{
	ssize_t n, len = 0;
	int fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	while ((size_t)len < size - 1) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	return len;
}

/* Printable form of s for one-line messages: a newline shows as \n. */
TC_UNUSED static const char *
esc(const char *s)
{
	static char buf[4][128];
	static int which;
	char *out = buf[which++ % 4];
	size_t n = 0;

	for (; *s != '\0' && n < sizeof(buf[0]) - 8; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n')
			n += sprintf(out + n, "\\n");
		else if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			n += sprintf(out + n, "\\x%02x", c);
		else
			out[n++] = (char)c;
	}
	if (*s != '\0')
		n += sprintf(out + n, "...");
	out[n] = '\0';
	return out;
}

/* The file at path must contain exactly want. */
TC_UNUSED static void
tc_check_content(const char *path, const char *want, const char *file,
    int line)
{
	char buf[256];

	if (read_file(path, buf, sizeof(buf)) < 0) {
		printf("# %s:%d\n", tc_base(file), line);
		FAIL("read %s: %s", path, strerror(errno));
	}
	if (strcmp(buf, want) != 0) {
		printf("# %s:%d\n", tc_base(file), line);
		FAIL("%s contains \"%s\", want \"%s\"", path, esc(buf),
		    esc(want));
	}
}

#define CHECK_CONTENT(path, want)					\
	tc_check_content((path), (want), __FILE__, __LINE__)

/*
 * This process's holder identity line, as our library writes it after the
 * pid of an L_PID/L_PPID lock (docs/protocol.md §2.3, docs/holder-identity.md):
 * "lockid/1 host=H boot=B pidns=N\n", the host name's bytes that are not
 * printable ASCII, or are a space or '%', written as %XX. Built here
 * from uname, the boot id and /proc/self/ns/pid, independently of the
 * library. Empty if it cannot be read.
 */
TC_UNUSED static const char *
own_identity(void)
{
	static char line[512];
	struct utsname u;
	struct stat st;
	char boot[80];
	ssize_t len;
	size_t at;
	int fd;

	line[0] = '\0';
	if ((fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC)) < 0)
		return line;
	len = read(fd, boot, sizeof(boot) - 1);
	close(fd);
	if (len <= 1 || uname(&u) != 0 || stat("/proc/self/ns/pid", &st) != 0)
		return line;
	boot[len] = '\0';
	boot[strcspn(boot, "\n")] = '\0';
	strcpy(line, "lockid/1 host=");
	for (const unsigned char *h = (const unsigned char *)u.nodename; *h; h++) {
		at = strlen(line);
		if (*h > 0x20 && *h < 0x7f && *h != '%') {
			line[at] = (char)*h;
			line[at + 1] = '\0';
		} else
			snprintf(line + at, sizeof(line) - at, "%%%02X", *h);
	}
	at = strlen(line);
	snprintf(line + at, sizeof(line) - at, " boot=%s pidns=%lu\n", boot,
	    (unsigned long)st.st_ino);
	return line;
}

/*
 * The lock at path names pid: its first line is pid in decimal, and what
 * follows is nothing (1.17's format) or exactly this process's holder
 * identity line (ours; t_create_content_identity demands it).
 */
TC_UNUSED static void
tc_check_pid_content(const char *path, long pid, const char *file, int line)
{
	char bare[32], with_id[600];

	snprintf(bare, sizeof(bare), "%ld\n", pid);
	snprintf(with_id, sizeof(with_id), "%s%s", bare, own_identity());
	if (*own_identity()) {
		char buf[600];

		if (read_file(path, buf, sizeof(buf)) >= 0 &&
		    strcmp(buf, with_id) == 0)
			return;
	}
	tc_check_content(path, bare, file, line);
}

#define CHECK_PID_CONTENT(path, pid)					\
	tc_check_pid_content((path), (pid), __FILE__, __LINE__)

/* Create or truncate path (mode 0644) and write content; fails the test. */
TC_UNUSED static void
write_file(const char *path, const char *content)
{
	size_t len = strlen(content);
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		FAIL("create %s: %s", path, strerror(errno));
	if (write(fd, content, len) != (ssize_t)len)
		FAIL("write %s: %s", path, strerror(errno));
	if (close(fd) != 0)
		FAIL("close %s: %s", path, strerror(errno));
}

/*
 * The whole seconds of the fine real-time clock. time(2) reads the coarse
 * clock, which can be a tick behind a timestamp the kernel has just set,
 * so "now" taken with time(2) after a touch can be a second early.
 */
TC_UNUSED static time_t
real_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		FAIL("clock_gettime: %s", strerror(errno));
	return ts.tv_sec;
}

/*
 * Whether a timestamp the kernel set between the real_now() readings
 * before and after could be t: file timestamps come from the coarse
 * clock, up to a tick behind the fine one.
 */
#define SET_BETWEEN(t, before, after) \
	((t) >= (before) - 1 && (t) <= (after))

/* Set atime and mtime (seconds since the epoch). */
TC_UNUSED static void
set_times(const char *path, time_t atime, time_t mtime)
{
	struct timeval tv[2];

	tv[0].tv_sec = atime;
	tv[0].tv_usec = 0;
	tv[1].tv_sec = mtime;
	tv[1].tv_usec = 0;
	if (utimes(path, tv) != 0)
		FAIL("utimes %s: %s", path, strerror(errno));
}

/*
 * Make a lock file with content and an mtime age seconds in the past; the
 * atime stays "now" so that only the mtime decides (see t_check_old_atime
 * for the case of an old atime).
 */
TC_UNUSED static void
make_lock(const char *path, const char *content, int age)
{
	time_t now = time(NULL);

	write_file(path, content);
	set_times(path, now, now - age);
}

TC_UNUSED static struct stat
stat_or_fail(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		FAIL("lstat %s: %s", path, strerror(errno));
	return st;
}

TC_UNUSED static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Monotonic clock in seconds. */
TC_UNUSED static double
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Number of open file descriptors, from /proc/self/fd. */
TC_UNUSED static int
count_fds(void)
{
	DIR *d;
	struct dirent *e;
	int n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		SKIP("cannot read /proc/self/fd: %s", strerror(errno));
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory stream's own descriptor */
}

/* A pid that belonged to a process that has exited and been reaped. */
TC_UNUSED static pid_t
dead_pid(void)
{
	pid_t pid;
	int status;

	fflush(stdout);
	if ((pid = fork()) < 0)
		FAIL("fork: %s", strerror(errno));
	if (pid == 0)
		_exit(0);
	if (waitpid(pid, &status, 0) != pid)
		FAIL("waitpid: %s", strerror(errno));
	return pid;
}

/*
 * A child that sleeps until killed; stop it with stop_child().  It dies
 * with this process, or after two minutes, if a failing test forgets it.
 */
TC_UNUSED static pid_t
spawn_sleeper(void)
{
	pid_t parent = getpid(), pid;

	fflush(stdout);
	if ((pid = fork()) < 0)
		FAIL("fork: %s", strerror(errno));
	if (pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		alarm(120);
		for (;;)
			pause();
	}
	return pid;
}

TC_UNUSED static void
stop_child(pid_t pid)
{
	int status;

	(void)kill(pid, SIGKILL);
	(void)waitpid(pid, &status, 0);
}

/* lockfile_create2, or NULL if the library does not export it. */
TC_UNUSED static tc_create2_fn
get_create2(void)
{
	void *sym = dlsym(RTLD_DEFAULT, "lockfile_create2");

	if (sym != NULL)
		return (tc_create2_fn)sym;
	/* Linked statically: the weak reference is resolved. */
	return lockfile_create2;
}

/*
 * Take lock as a busy contender: with create2 (lockfile_create2, when the
 * library has it) retry at interval 0 up to a million times; without it,
 * call lockfile_create(lock, 0, 0) until it stops saying L_MAXTRYS.
 */
TC_UNUSED static int
tc_take_busy(const char *lock, tc_create2_fn create2)
{
	struct __lockargs args;
	int rc;

	args.interval = 0;
	for (;;) {
		if (create2 != NULL)
			return create2(lock, 1000000, __L_INTERVAL, &args,
			    sizeof(args));
		rc = lockfile_create(lock, 0, 0);
		if (rc != L_MAXTRYS)
			return rc;
		sched_yield();
	}
}

/*
 * Run fn(arg) in a forked child and return its wait status, so that a
 * crash is reported by the caller instead of killing the test.
 */
TC_UNUSED static int
run_in_child(int (*fn)(void *), void *arg)
{
	pid_t pid;
	int status;

	fflush(stdout);
	if ((pid = fork()) < 0)
		FAIL("fork: %s", strerror(errno));
	if (pid == 0) {
		struct rlimit rl = { 0, 0 };

		/* No core file: the crash itself is the report. */
		(void)setrlimit(RLIMIT_CORE, &rl);
		_exit(fn(arg));
	}
	if (waitpid(pid, &status, 0) != pid)
		FAIL("waitpid: %s", strerror(errno));
	return status;
}

/* Describe a wait status ("exit 3", "killed by signal 11 (...)"). */
TC_UNUSED static const char *
status_str(int status)
{
	static char buf[96];

	if (WIFEXITED(status))
		snprintf(buf, sizeof(buf), "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, sizeof(buf), "killed by signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, sizeof(buf), "status %#x", status);
	return buf;
}

/*
 * Two lockers started at the same moment, as two breakers of one stale
 * lock are (docs/protocol.md §2.7).  tc_race_two() forks two children.  Child i calls
 * setup(i, arg), which returns the lock it is to take (and may change the
 * child, e.g. its host name), says it is ready, spins until the parent
 * has heard from both, waits delay[i] seconds more, calls
 * lockfile_create(lock, 0, 0) and reports the result, with the inode of
 * the lock it saw when it won.  Returns the number of winners; a result
 * other than L_SUCCESS or L_MAXTRYS fails the test.
 */
struct tc_race_report {
	int rc;
	int err;
	ino_t ino;
};

typedef const char *(*tc_racer_setup)(int i, void *arg);

TC_UNUSED static void
tc_racer(int i, tc_racer_setup setup, void *arg, double delay,
    volatile int *go, int ready, int out)
{
	struct tc_race_report r;
	struct stat st;
	const char *lock;
	double t0;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	lock = setup(i, arg);
	if (write(ready, "r", 1) != 1)
		_exit(2);
	while (!__atomic_load_n(go, __ATOMIC_SEQ_CST))
		sched_yield();	/* leave a CPU to the other */
	t0 = now_mono();
	while (now_mono() - t0 < delay)
		;
	errno = 0;
	r.rc = lockfile_create(lock, 0, 0);
	r.err = errno;
	r.ino = 0;
	if (r.rc == L_SUCCESS && lstat(lock, &st) == 0)
		r.ino = st.st_ino;
	if (write(out, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(2);
	_exit(0);
}

TC_UNUSED static int
tc_race_two(tc_racer_setup setup, void *arg, const double delay[2],
    struct tc_race_report r[2])
{
	static volatile int *go;
	pid_t pid[2];
	int pfd[2][2], rfd[2], i, status, wins = 0;
	char c;

	if (go == NULL) {
		go = mmap(NULL, sizeof(*go), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (go == MAP_FAILED)
			FAIL("mmap: %s", strerror(errno));
	}
	*go = 0;
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
			tc_racer(i, setup, arg, delay[i], go, rfd[1],
			    pfd[i][1]);
		}
		close(pfd[i][1]);
	}
	close(rfd[1]);
	/* Both children are running (and spinning): start them. */
	for (i = 0; i < 2; i++)
		if (read(rfd[0], &c, 1) != 1)
			FAIL("racer %d did not start", i);
	close(rfd[0]);
	__atomic_store_n(go, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < 2; i++) {
		if (read(pfd[i][0], &r[i], sizeof(r[i])) !=
		    (ssize_t)sizeof(r[i]))
			FAIL("racer %d sent no report", i);
		close(pfd[i][0]);
		if (waitpid(pid[i], &status, 0) != pid[i] ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			FAIL("racer %d: %s", i, status_str(status));
		if (r[i].rc == L_SUCCESS)
			wins++;
		else if (r[i].rc != L_MAXTRYS)
			FAIL("lockfile_create returned %d (errno %d %s)",
			    r[i].rc, r[i].err, strerror(r[i].err));
	}
	return wins;
}

/* Unprivileged uid/gid used for permission tests when running as root. */
#define TC_NOBODY	"65534"
#define TC_UNPRIV_ARG	"--unprivileged"

/*
 * For tests that need EACCES: if euid is not 0, return -1 and let the
 * caller run its unprivileged part in this process.  As root, re-run this
 * program as uid/gid 65534 through setpriv(1) with argv
 * { self, TC_UNPRIV_ARG, arg } and return the child's exit status
 * (0 ok, 1 fail, 77 skip; the child prints its own FAIL/SKIP line).
 * SKIP if setpriv cannot run it.
 */
TC_UNUSED static int
run_unprivileged(const char *arg)
{
	char self[TC_PATH];
	ssize_t n;
	pid_t pid;
	int status;

	if (geteuid() != 0)
		return -1;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		SKIP("readlink /proc/self/exe: %s", strerror(errno));
	self[n] = '\0';
	fflush(stdout);
	if ((pid = fork()) < 0)
		FAIL("fork: %s", strerror(errno));
	if (pid == 0) {
		execlp("setpriv", "setpriv", "--reuid=" TC_NOBODY,
		    "--regid=" TC_NOBODY, "--clear-groups", self,
		    TC_UNPRIV_ARG, arg, (char *)NULL);
		_exit(126);
	}
	if (waitpid(pid, &status, 0) != pid)
		FAIL("waitpid: %s", strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) >= 126)
		SKIP("cannot run %s as uid %s with setpriv", self, TC_NOBODY);
	if (!WIFEXITED(status))
		FAIL("unprivileged child %s", status_str(status));
	return WEXITSTATUS(status);
}

/* True if argv asks for the unprivileged part (see run_unprivileged). */
TC_UNUSED static int
is_unprivileged_run(int argc, char **argv)
{
	return argc == 3 && strcmp(argv[1], TC_UNPRIV_ARG) == 0;
}

/*
 * The EACCES cases: make the scratch folder "ro" holding "ro/<name>" (a
 * fresh lock "0\n" when with_lock), make the folder read-only, and run
 * fn on that path as uid 65534 when root, else in this process.  Fails
 * unless fn returned 0, or if a temporary file is left in the folder.
 * Call it first thing in main, with main's argv: in the unprivileged run
 * it only runs fn and exits.
 */
TC_UNUSED static void
tc_in_readonly_dir(int argc, char **argv, const char *name, int with_lock,
    int (*fn)(const char *path))
{
	char dir[TC_PATH], path[TC_PATH + 64];
	int status;

	if (is_unprivileged_run(argc, argv))
		exit(fn(argv[2]));
	if (mkdir(tpath(dir, "ro"), 0755) != 0)
		FAIL("mkdir: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (with_lock)
		make_lock(path, "0\n", 0);
	if (chmod(dir, 0555) != 0)
		FAIL("chmod: %s", strerror(errno));
	status = run_unprivileged(path);
	if (status < 0)
		status = fn(path);
	if (status == EXIT_SKIP)
		exit(EXIT_SKIP);
	CHECK(status == 0, "unprivileged part failed");
	CHECK_NO_TMP_IN(dir);
}

struct tc_call {
	const char *what;
	int (*fn)(void *);
	void *arg;
	int want_rc, want_errno;
};

TC_UNUSED static int
tc_call_child(void *p)
{
	const struct tc_call *c = p;
	int rc, e;

	errno = 0;
	rc = c->fn(c->arg);
	e = errno;
	if (rc != c->want_rc || e != c->want_errno) {
		printf("# %s returned %d errno %d (%s)\n", c->what, rc, e,
		    strerror(e));
		return 1;
	}
	return 0;
}

/*
 * The calls that crash the reference: fn(arg) runs in a child, so that a
 * crash is reported as a failure; it must return want_rc and leave errno
 * want_errno (errno is 0 before the call).
 */
TC_UNUSED static void
tc_call_in_child(const char *what, int (*fn)(void *), void *arg,
    int want_rc, int want_errno)
{
	struct tc_call c = { what, fn, arg, want_rc, want_errno };
	int status = run_in_child(tc_call_child, &c);

	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "%s: %s, want %d errno %d (%s)", what, status_str(status),
	    want_rc, want_errno, strerror(want_errno));
}

/*
 * Process conditions (docs/c-policy.md §4): block until thread `tid` (of this process,
 * or a child process's pid) sits in a sleeping system call (nanosleep,
 * clock_nanosleep, poll, ppoll: the wait between two attempts, plain or
 * with LOCKFILE_FAST_WAKE), read from /proc/TID/task/TID/syscall.  The
 * tests that act while maillock() waits build their interleaving with it
 * instead of guessing a time.
 * FAIL when the thread is not seen waiting within 60 s.
 */
TC_UNUSED static int
tc_is_sleep_syscall(long nr)
{
	switch (nr) {
#ifdef SYS_nanosleep
	case SYS_nanosleep:
#endif
#ifdef SYS_poll
	case SYS_poll:
#endif
	case SYS_clock_nanosleep:
	case SYS_ppoll:
		return 1;
	}
	return 0;
}

TC_UNUSED static void
wait_until_sleeping(pid_t tid)
{
	char path[64], buf[64];
	double end = now_mono() + 60;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/syscall", (long)tid,
	    (long)tid);
	for (;;) {
		if ((fd = open(path, O_RDONLY)) < 0)
			SKIP("cannot read %s: %s", path, strerror(errno));
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			if (buf[0] >= '0' && buf[0] <= '9' &&
			    tc_is_sleep_syscall(strtol(buf, NULL, 10)))
				return;
		}
		if (now_mono() > end)
			FAIL("thread %ld never waited (last: %.20s)",
			    (long)tid, n > 0 ? buf : "?");
		usleep(1000);
	}
}

#endif /* TESTS_C_COMMON_H */
