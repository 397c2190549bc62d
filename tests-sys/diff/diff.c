/*
 * diff - run every scenario of the table through two builds of
 * liblockfile and compare what a caller can see.
 *
 *	diff OURS.so REF.so REF-CREATE2.so [scenario...]
 *
 * Each library is dlopen()ed by absolute path with RTLD_LOCAL in a fresh
 * process, and the process checks with dladdr() that the functions it
 * resolved live in that file.  For each scenario and library:
 *	runner	makes a fresh scratch directory and the scenario's files,
 *		then forks
 *	caller	(as the unprivileged user for S_UNPRIV) makes the calls and
 *		reports return code, errno, open descriptors and time spent;
 *		a crash is reported by the runner as the caller's signal
 *	runner	describes the lock (type, mode, content) and every file left
 *		in the scratch directory, and sends it all to the driver.
 * The driver compares the two reports field by field, and checks both
 * against the scenario's expected result.  Where docs/fixes.md says "we fix", the
 * table gives the reference's result separately, so the difference is
 * asserted, not ignored.  The reference's shared object lacks
 * lockfile_create2 (its static archive has it); REF-CREATE2.so is that
 * archive linked into a shared object.
 *
 * Prints "ok NAME" or "FAIL NAME: ..." per scenario and a final
 * "diff: N passed, N failed, 0 skipped" line; exits 0 only if nothing failed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "diff.h"

/* What the caller reports. */
struct callrep {
	int	rc;
	int	err;
	int	fd_delta;
	int	elapsed;
	char	extra[256];
};

/* What the runner reports for one library. */
struct report {
	int	crashed;	/* signal that killed the caller, or 0 */
	int	rc;
	int	err;
	int	fd_delta;
	int	elapsed;
	char	extra[256];
	char	lock[256];
	char	tree[2048];
	char	dir[D_PATH];
	char	problem[512];	/* the harness itself went wrong */
};

static const char *libpath[2];	/* ours, reference */
static const char *ref_create2;
static const char *names[] = { "ours", "reference" };

void
die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "diff: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

char *
sub(struct ctx *c, char *buf, const char *name)
{
	PATHF(buf, "%s/%s", c->dir, name);
	return buf;
}

void
put_times(const char *path, time_t atime, time_t mtime)
{
	struct timeval tv[2] = { { atime, 0 }, { mtime, 0 } };

	if (lutimes(path, tv) != 0)
		die("utimes %s: %s", path, strerror(errno));
}

/* Write a lock file with content, its mtime age seconds ago. */
void
put(const char *path, const char *content, int age)
{
	time_t now = time(NULL);
	size_t len = strlen(content);
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die("create %s: %s", path, strerror(errno));
	if (write(fd, content, len) != (ssize_t)len || close(fd) != 0)
		die("write %s: %s", path, strerror(errno));
	put_times(path, now, now - age);
}

void
xmkdir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) != 0 || chmod(path, mode) != 0)
		die("mkdir %s: %s", path, strerror(errno));
}

void
note(struct ctx *c, const char *fmt, ...)
{
	size_t n = strlen(c->extra);
	va_list ap;

	if (n > 0 && n < sizeof(c->extra) - 1)
		c->extra[n++] = ' ';
	va_start(ap, fmt);
	vsnprintf(c->extra + n, sizeof(c->extra) - n, fmt, ap);
	va_end(ap);
}

/* Seconds since the last change of path, or -1 if it is not there. */
int
age_of(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return -1;
	return (int)(time(NULL) - st.st_mtime);
}

pid_t
dead_pid(void)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0)
		_exit(0);
	if (waitpid(pid, NULL, 0) != pid)
		die("waitpid: %s", strerror(errno));
	return pid;
}

pid_t
sleeper(void)
{
	pid_t parent = getpid(), pid = fork();

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		alarm(60);
		for (;;)
			pause();
	}
	return pid;
}

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

/* Append s to buf (size n), escaping what is not printable. */
static void
append_esc(char *buf, size_t n, const char *s, size_t len)
{
	size_t at = strlen(buf);

	for (size_t i = 0; i < len && at + 5 < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\n')
			at += snprintf(buf + at, n - at, "\\n");
		else if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
			at += snprintf(buf + at, n - at, "\\x%02x", ch);
		else
			buf[at++] = (char)ch;
		buf[at] = '\0';
	}
}

/*
 * This process's holder identity line, as our library writes it after
 * the pid of an L_PID/L_PPID lock (docs/protocol.md §2.3, docs/holder-identity.md):
 * "lockid/1 host=H boot=B pidns=N\n", the host name with every byte
 * that is not printable ASCII, a space or '%' written as %XX.  Built here
 * independently of the library, so that the format itself is checked.
 * Empty when it cannot be read (then the library writes a bare pid).
 */
static const char *
own_identity(void)
{
	static char line[512];
	static int done;
	struct utsname u;
	struct stat st;
	char boot[80] = "";
	ssize_t len = -1;
	int fd;

	if (done)
		return line;
	done = 1;
	if ((fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC)) >= 0) {
		len = read(fd, boot, sizeof(boot) - 1);
		close(fd);
	}
	if (uname(&u) != 0 || len <= 1 || stat("/proc/self/ns/pid", &st) != 0)
		return line;
	boot[len] = '\0';
	boot[strcspn(boot, "\n")] = '\0';
	strcpy(line, "lockid/1 host=");
	for (const unsigned char *h = (const unsigned char *)u.nodename; *h; h++) {
		size_t at = strlen(line);

		if (*h > 0x20 && *h < 0x7f && *h != '%')
			line[at] = (char)*h, line[at + 1] = '\0';
		else
			snprintf(line + at, sizeof(line) - at, "%%%02X", *h);
	}
	snprintf(line + strlen(line), sizeof(line) - strlen(line),
	    " boot=%s pidns=%lu\n", boot, (unsigned long)st.st_ino);
	return line;
}

/*
 * Describe the lock: "missing", "file 0644 \"0\\n\"", "dir 0755",
 * "symlink".  The caller's pid and its parent's show as $PID and $PPID,
 * a pid the setup wrote as $HOLDER, so that the two runs compare; the
 * holder identity that follows our library's pid, if it is exactly this
 * process's (the caller's), shows as $ID.
 */
static void
describe_lock(const char *path, pid_t pid, pid_t ppid, pid_t holder,
    char *out, size_t n)
{
	char buf[600], spid[24], sppid[24], sholder[24];
	const char *id = own_identity();
	struct stat st;
	ssize_t len = 0;
	int fd;

	if (lstat(path, &st) != 0) {
		snprintf(out, n, "missing");
		return;
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(out, n, "symlink");
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(out, n, "dir %04o", (unsigned)(st.st_mode & 07777));
		return;
	}
	snprintf(out, n, "file %04o \"", (unsigned)(st.st_mode & 07777));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOATIME)) >= 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	if (len < 0)
		len = 0;
	buf[len] = '\0';
	snprintf(spid, sizeof(spid), "%ld\n", (long)pid);
	snprintf(sppid, sizeof(sppid), "%ld\n", (long)ppid);
	snprintf(sholder, sizeof(sholder), "%ld\n", (long)holder);
	if (holder > 0 && strncmp(buf, sholder, strlen(sholder)) == 0) {
		strncat(out, "$HOLDER\\n", n - strlen(out) - 1);
		append_esc(out, n, buf + strlen(sholder),
		    (size_t)len - strlen(sholder));
	} else if (strcmp(buf, spid) == 0)
		strncat(out, "$PID\\n", n - strlen(out) - 1);
	else if (strcmp(buf, sppid) == 0)
		strncat(out, "$PPID\\n", n - strlen(out) - 1);
	else if (*id && strncmp(buf, spid, strlen(spid)) == 0 &&
	    strcmp(buf + strlen(spid), id) == 0)
		strncat(out, "$PID\\n$ID", n - strlen(out) - 1);
	else if (*id && strncmp(buf, sppid, strlen(sppid)) == 0 &&
	    strcmp(buf + strlen(sppid), id) == 0)
		strncat(out, "$PPID\\n$ID", n - strlen(out) - 1);
	else
		append_esc(out, n, buf, (size_t)len);
	strncat(out, "\"", n - strlen(out) - 1);
}

/*
 * The lock the reference leaves where ours leaves `lock`: the same, less
 * the holder identity (docs/protocol.md §2.3, amended 2026-12: 1.17 writes the bare
 * pid), i.e. without "$ID".
 */
static const char *
without_id(const char *lock)
{
	static char buf[2][256];
	static int which;
	char *out = buf[which++ % 2];
	const char *at;

	snprintf(out, 256, "%s", lock);
	if ((at = strstr(out, "$ID")) != NULL)
		memmove((char *)at, at + 3, strlen(at + 3) + 1);
	return out;
}

/*
 * List what is in dir, sorted, recursively: "name" for files, "name/" for
 * directories, "name@" for symlinks; temporary lock names show as ".lk*",
 * long names are cut (the deep-path scenarios).
 */
static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
list_tree(const char *dir, const char *prefix, char *out, size_t n, int depth)
{
	char *ents[256], path[D_PATH], name[D_PATH];
	struct dirent *e;
	struct stat st;
	int count = 0;
	DIR *d;

	if (depth > 24 || (d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL && count < 256) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		ents[count++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(ents, (size_t)count, sizeof(ents[0]), cmpstr);
	for (int i = 0; i < count; i++) {
		const char *shown = ents[i];
		char cut[32];

		if (strncmp(shown, ".lk", 3) == 0)
			shown = ".lk*";
		else if (strlen(shown) > 24) {
			snprintf(cut, sizeof(cut), "%.8s~%zu", shown,
			    strlen(shown));
			shown = cut;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]);
		snprintf(name, sizeof(name), "%s%s", prefix, shown);
		if (lstat(path, &st) != 0)
			strncat(name, "?", sizeof(name) - strlen(name) - 1);
		else if (S_ISLNK(st.st_mode))
			strncat(name, "@", sizeof(name) - strlen(name) - 1);
		else if (S_ISDIR(st.st_mode))
			strncat(name, "/", sizeof(name) - strlen(name) - 1);
		if (strlen(out) + strlen(name) + 2 < n) {
			if (out[0] != '\0')
				strcat(out, " ");
			strcat(out, name);
		}
		if (S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode))
			list_tree(path, name, out, n, depth + 1);
		free(ents[i]);
	}
}

/* Remove a tree, also one deeper than PATH_MAX allows to name at once. */
static void
rm_tree_at(int dirfd, const char *name)
{
	struct dirent *e;
	DIR *d;
	int fd;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return;
	(void)fchmodat(dirfd, name, 0700, 0);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd < 0)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			rm_tree_at(fd, e->d_name);
	closedir(d);
	(void)unlinkat(dirfd, name, AT_REMOVEDIR);
}

static void
rm_tree(const char *path)
{
	rm_tree_at(AT_FDCWD, path);
}

/* Open lib and resolve the API; check that the symbols live in lib. */
static int
load(const char *lib, const char *create2_lib, struct api *api, char *why,
    size_t n)
{
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL), *h2;
	char real_lib[D_PATH], real_found[D_PATH];
	Dl_info info;

	if (h == NULL) {
		snprintf(why, n, "dlopen %s: %s", lib, dlerror());
		return -1;
	}
	api->create = (create_fn)dlsym(h, "lockfile_create");
	api->create2 = (create2_fn)dlsym(h, "lockfile_create2");
	api->remove = (path_fn)dlsym(h, "lockfile_remove");
	api->touch = (path_fn)dlsym(h, "lockfile_touch");
	api->check = (check_fn)dlsym(h, "lockfile_check");
	api->maillock = (maillock_fn)dlsym(h, "maillock");
	api->mailunlock = (void_fn)dlsym(h, "mailunlock");
	api->touchlock = (void_fn)dlsym(h, "touchlock");
	if (!api->create || !api->remove || !api->touch || !api->check ||
	    !api->maillock || !api->mailunlock || !api->touchlock) {
		snprintf(why, n, "%s lacks an API symbol", lib);
		return -1;
	}
	if (dladdr((void *)api->create, &info) == 0 || !info.dli_fname ||
	    !realpath(info.dli_fname, real_found) ||
	    !realpath(lib, real_lib) || strcmp(real_lib, real_found) != 0) {
		snprintf(why, n, "lockfile_create of %s resolved elsewhere",
		    lib);
		return -1;
	}
	if (api->create2 == NULL && create2_lib != NULL) {
		if ((h2 = dlopen(create2_lib, RTLD_NOW | RTLD_LOCAL)) == NULL) {
			snprintf(why, n, "dlopen %s: %s", create2_lib,
			    dlerror());
			return -1;
		}
		api->create2 = (create2_fn)dlsym(h2, "lockfile_create2");
	}
	if (api->create2 == NULL) {
		snprintf(why, n, "no lockfile_create2 for %s", lib);
		return -1;
	}
	return 0;
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int
read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t r = read(fd, p, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The caller: drop privileges if asked, call, report. */
static void
caller(struct ctx *c, const struct scenario *s, int out)
{
	struct callrep rep;
	double t0;
	int fds;

	memset(&rep, 0, sizeof(rep));
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (s->flags & S_UNPRIV) {
		if (setgroups(0, NULL) != 0 || setgid(c->gid) != 0 ||
		    setuid(c->uid) != 0)
			_exit(3);
		/* setuid() made /proc/self root's; read our own fds. */
		(void)prctl(PR_SET_DUMPABLE, 1);
	}
	if ((fds = count_fds()) < 0)
		_exit(5);
	t0 = mono();
	errno = 0;
	rep.rc = s->call(c);
	rep.err = errno;
	rep.elapsed = (int)(mono() - t0);
	rep.fd_delta = count_fds() - fds;
	memcpy(rep.extra, c->extra, sizeof(rep.extra));
	_exit(write_all(out, &rep, sizeof(rep)) == 0 ? 0 : 4);
}

/* The runner: everything for one library, in a fresh process. */
static void
runner(const struct scenario *s, int which, const struct ctx *proto,
    int out)
{
	struct report rep;
	struct callrep cr;
	struct api api;
	struct ctx c = *proto;
	const char *base = getenv("TMPDIR");
	int p[2], status;
	pid_t pid;

	memset(&rep, 0, sizeof(rep));
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	unsetenv("MAIL");
	if (load(libpath[which], which == 1 ? ref_create2 : NULL, &api,
	    rep.problem, sizeof(rep.problem)) != 0)
		goto send;
	c.api = &api;
	c.is_ref = which == 1;
	snprintf(c.dir, sizeof(c.dir), "%s/lockfile-diff.XXXXXX",
	    base && *base ? base : "/tmp");
	if (mkdtemp(c.dir) == NULL || chmod(c.dir, 0755) != 0) {
		snprintf(rep.problem, sizeof(rep.problem), "mkdtemp: %s",
		    strerror(errno));
		goto send;
	}
	memcpy(rep.dir, c.dir, sizeof(rep.dir));
	if (s->flags & S_UNPRIV) {
		if (chown(c.dir, c.uid, c.gid) != 0) {
			snprintf(rep.problem, sizeof(rep.problem), "chown: %s",
			    strerror(errno));
			goto send;
		}
	}
	PATHF(c.lock, "%s/file.lock", c.dir);
	if (chdir(c.dir) != 0)
		die("chdir %s: %s", c.dir, strerror(errno));
	umask(022);
	if (s->setup)
		s->setup(&c);
	fflush(NULL);
	if (pipe(p) != 0 || (pid = fork()) < 0)
		die("pipe/fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		caller(&c, s, p[1]);
	}
	close(p[1]);
	memset(&cr, 0, sizeof(cr));
	if (read_all(p[0], &cr, sizeof(cr)) != 0)
		memset(&cr, 0, sizeof(cr));
	close(p[0]);
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid: %s", strerror(errno));
	if (WIFSIGNALED(status)) {
		rep.crashed = WTERMSIG(status);
		rep.rc = CRASH;
	} else if (WEXITSTATUS(status) != 0) {
		snprintf(rep.problem, sizeof(rep.problem),
		    "caller exited %d", WEXITSTATUS(status));
	} else {
		rep.rc = cr.rc;
		rep.err = cr.err;
		rep.fd_delta = cr.fd_delta;
		rep.elapsed = cr.elapsed;
		memcpy(rep.extra, cr.extra, sizeof(rep.extra));
	}
	if (s->flags & S_NOLOCK)
		snprintf(rep.lock, sizeof(rep.lock), "-");
	else
		describe_lock(c.lock, pid, getpid(), c.holder, rep.lock,
		    sizeof(rep.lock));
	list_tree(c.dir, "", rep.tree, sizeof(rep.tree), 0);
	if (c.child > 0) {
		kill(c.child, SIGKILL);
		waitpid(c.child, NULL, 0);
	}
send:
	if (write_all(out, &rep, sizeof(rep)) != 0)
		_exit(1);
	_exit(0);
}

static int
run_lib(const struct scenario *s, int which, const struct ctx *proto,
    struct report *rep)
{
	char spool[D_PATH];
	int p[2], status;
	pid_t pid;

	fflush(NULL);
	if (pipe(p) != 0 || (pid = fork()) < 0)
		die("pipe/fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		runner(s, which, proto, p[1]);
	}
	close(p[1]);
	memset(rep, 0, sizeof(*rep));
	if (read_all(p[0], rep, sizeof(*rep)) != 0)
		snprintf(rep->problem, sizeof(rep->problem),
		    "runner died without a report");
	close(p[0]);
	waitpid(pid, &status, 0);
	if (rep->dir[0] != '\0')
		rm_tree(rep->dir);
	/* The spool scenarios lock a name of this run only. */
	snprintf(spool, sizeof(spool), "/var/mail/%s.lock", proto->mailname);
	(void)unlink(spool);
	return rep->problem[0] ? -1 : 0;
}

static const char *
rc_str(int rc, int crashed)
{
	static char buf[2][48];
	static int which;
	char *out = buf[which++ % 2];

	if (rc == CRASH)
		snprintf(out, 48, "crash(signal %d)", crashed);
	else
		snprintf(out, 48, "%d", rc);
	return out;
}

static const char *
err_str(int err)
{
	static char buf[2][64];
	static int which;
	char *out = buf[which++ % 2];

	if (err == ANY)
		return "any";
	snprintf(out, 64, "%d(%s)", err, strerrorname_np(err) ?
	    strerrorname_np(err) : "?");
	return out;
}

/*
 * Compare one report with what the scenario expects of it (rc, errno,
 * lock).  Returns the number of mismatches, printed as "# " lines.
 */
static int
check_expect(const char *who, const struct report *r, int rc, int err,
    const char *lock)
{
	int bad = 0;

	if (r->rc != rc) {
		printf("#   %s: rc %s, want %s\n", who,
		    rc_str(r->rc, r->crashed), rc_str(rc, 0));
		bad++;
	}
	if (err != ANY && r->rc != CRASH && r->err != err) {
		printf("#   %s: errno %s, want %s\n", who, err_str(r->err),
		    err_str(err));
		bad++;
	}
	if (lock != NULL && strcmp(r->lock, lock) != 0) {
		printf("#   %s: lock %s, want %s\n", who, r->lock, lock);
		bad++;
	}
	if (r->fd_delta != 0 && r->rc != CRASH) {
		printf("#   %s: %d descriptors left open\n", who,
		    r->fd_delta);
		bad++;
	}
	return bad;
}

static int
same_field(const char *what, const char *a, const char *b)
{
	if (strcmp(a, b) == 0)
		return 0;
	printf("#   %s differs: ours %s | reference %s\n", what, a, b);
	return 1;
}

static int
run_scenario(struct scenario *s, const struct ctx *proto)
{
	struct report r[2];
	int bad = 0, differs = 0;
	char a[64], b[64];

	if (s->adjust)
		s->adjust(proto, s);
	for (int i = 0; i < 2; i++) {
		if (run_lib(s, i, proto, &r[i]) != 0) {
			printf("FAIL %s: %s run: %s\n", s->name, names[i],
			    r[i].problem);
			return 1;
		}
	}
	/* Ours always meets the scenario's expectation. */
	bad += check_expect("ours", &r[0], s->rc, s->err, s->lock);
	if (s->ref.set) {
		differs = s->ref.differs;
		bad += check_expect("reference", &r[1], s->ref.rc, s->ref.err,
		    (differs & D_LOCK) ? s->ref.lock : without_id(s->lock));
	} else {
		bad += check_expect("reference", &r[1], s->rc, s->err,
		    s->lock ? without_id(s->lock) : NULL);
		/* Both must agree on everything, errno included. */
		snprintf(a, sizeof(a), "%s", err_str(r[0].err));
		snprintf(b, sizeof(b), "%s", err_str(r[1].err));
		if (r[0].rc != 0 && r[0].rc != CRASH)
			bad += same_field("errno", a, b);
	}
	if (!(differs & D_LOCK))
		bad += same_field("lock", without_id(r[0].lock), r[1].lock);
	if (!(differs & D_TREE))
		bad += same_field("files left", r[0].tree, r[1].tree);
	if (!(differs & D_EXTRA))
		bad += same_field("observed", r[0].extra, r[1].extra);
	if (s->flags & S_TIMED) {
		snprintf(a, sizeof(a), "%ds", r[0].elapsed);
		snprintf(b, sizeof(b), "%ds", r[1].elapsed);
		bad += same_field("time", a, b);
	}
	/* A "we fix" difference must really show, or the claim is stale. */
	if (s->ref.set && (differs & D_TREE) &&
	    strcmp(r[0].tree, r[1].tree) == 0) {
		printf("#   files left should differ, both: %s\n", r[0].tree);
		bad++;
	}
	if (s->ref.set && (differs & D_EXTRA) &&
	    strcmp(r[0].extra, r[1].extra) == 0) {
		printf("#   observations should differ, both: %s\n",
		    r[0].extra);
		bad++;
	}
	if (bad) {
		printf("#   ours:      rc %s errno %s lock %s files [%s] %s\n",
		    rc_str(r[0].rc, r[0].crashed), err_str(r[0].err),
		    r[0].lock, r[0].tree, r[0].extra);
		printf("#   reference: rc %s errno %s lock %s files [%s] %s\n",
		    rc_str(r[1].rc, r[1].crashed), err_str(r[1].err),
		    r[1].lock, r[1].tree, r[1].extra);
		printf("FAIL %s: %s\n", s->name, s->what);
		return 1;
	}
	printf("ok %s%s\n", s->name, s->ref.set ? " (reference differs, "
	    "as documented)" : "");
	return 0;
}

/* Whether reading a file with an old atime updates it (relatime). */
static int
probe_atime(void)
{
	char path[D_PATH], buf[4];
	const char *base = getenv("TMPDIR");
	struct stat st;
	time_t now = time(NULL);
	int fd, updated = 0;

	snprintf(path, sizeof(path), "%s/lockfile-diff-atime.XXXXXX",
	    base && *base ? base : "/tmp");
	if ((fd = mkstemp(path)) < 0)
		die("mkstemp: %s", strerror(errno));
	if (write(fd, "0\n", 2) != 2)
		die("write: %s", strerror(errno));
	close(fd);
	put_times(path, now - 2000, now - 1000);
	if ((fd = open(path, O_RDONLY)) >= 0) {
		if (read(fd, buf, sizeof(buf)) > 0 && fstat(fd, &st) == 0)
			updated = st.st_atime > now - 1000;
		close(fd);
	}
	unlink(path);
	return updated;
}

int
main(int argc, char **argv)
{
	struct ctx proto;
	struct passwd *pw;
	const char *user = getenv("LOCKFILE_TEST_USER");
	int passed = 0, failed = 0, ran;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 4)
		die("usage: diff OURS.so REF.so REF-CREATE2.so [scenario...]");
	libpath[0] = argv[1];
	libpath[1] = argv[2];
	ref_create2 = argv[3];
	if (geteuid() != 0) {
		printf("SKIP diff: the scenarios need root (some run as an "
		    "unprivileged user, some write the mail spool)\n");
		return 77;
	}
	memset(&proto, 0, sizeof(proto));
	if (user == NULL || *user == '\0')
		user = "nobody";
	if ((pw = getpwnam(user)) == NULL)
		die("no user %s", user);
	proto.uid = pw->pw_uid;
	proto.gid = pw->pw_gid;
	proto.atime_updates = probe_atime();
	snprintf(proto.mailname, sizeof(proto.mailname), "lfdiff%ld",
	    (long)getpid());
	printf("# ours %s, reference %s (+%s); unprivileged user %s; "
	    "reads %s atime\n", argv[1], argv[2], argv[3], user,
	    proto.atime_updates ? "update" : "do not update");
	for (int i = 0; i < n_scenarios; i++) {
		ran = argc == 4;
		for (int j = 4; j < argc; j++)
			if (strcmp(argv[j], scenarios[i].name) == 0)
				ran = 1;
		if (!ran)
			continue;
		if (run_scenario(&scenarios[i], &proto) == 0)
			passed++;
		else
			failed++;
	}
	printf("diff: %d passed, %d failed, 0 skipped\n", passed, failed);
	return failed ? 1 : 0;
}
