/*
 * mail_fallback.c - docs/c-policy.md §5: an unprivileged program locks and unlocks its
 * own mailbox in a spool that only group mail may write (root:mail 2775),
 * through the setgid helper.  Run by tests-sys/cli/run.sh as the test user.
 *
 * usage: mail_fallback SPOOL USER OTHER
 *   SPOOL/USER is the caller's mailbox; SPOOL/OTHER belongs to someone
 *   else.  Prints "ok <what>" or "FAIL <what>" per step; exit 0 if all
 *   passed, 1 otherwise.
 * usage: mail_fallback SPOOL USER OTHER RETRIES
 *   Only lockfile_create(SPOOL/USER.lock, RETRIES, 0); exit with its code
 *   (we fix: with RETRIES < 0, no attempt is made, as outside the spool;
 *   the reference runs the helper with "-r -1", which means for ever).
 * usage: mail_fallback SPOOL USER OTHER sigchld MODE
 *   docs/c-policy.md §5: the helper's status reaches the library whatever the caller
 *   does with SIGCHLD.  MODE: dfl, ign (SIG_IGN), nocldwait (SA_NOCLDWAIT),
 *   handler (a handler that reaps every child with waitpid(-1)), thread
 *   (another thread that reaps every child).  Lock free: L_SUCCESS and the
 *   lock on disk; busy: L_MAXTRYS with errno EAGAIN (the reference leaves
 *   EACCES) and the lock as it was; never an error with our lock left on
 *   disk; the caller's signal dispositions and mask unchanged.
 */
#include <sys/wait.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lockfile.h>
#include <maillock.h>

static int failed;

static void
step(int good, const char *what)
{
	printf("%s %s\n", good ? "ok" : "FAIL", what);
	if (!good)
		failed = 1;
}

static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/*
 * The lock's first line is want in decimal; after it comes nothing, or
 * (from our library, with a pid) one holder identity line (docs/protocol.md §2.3).
 */
static int
content_is(const char *path, long want)
{
	char buf[600], line[32], *rest;
	FILE *f;
	size_t n;

	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	snprintf(line, sizeof(line), "%ld\n", want);
	if (strncmp(buf, line, strlen(line)) != 0)
		return 0;
	rest = buf + strlen(line);
	return *rest == '\0' || (want != 0 && strncmp(rest, "lockid/1 ", 9) == 0 &&
	    strchr(rest, '\n') == rest + strlen(rest) - 1);
}

static void
reap_all(int sig)
{
	int saved = errno;

	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = saved;
}

static void *
reaper(void *arg)
{
	(void)arg;
	for (;;)
		if (waitpid(-1, NULL, 0) < 0)
			usleep(100);
	return NULL;
}

struct signal_state {
	struct sigaction act[NSIG];
	sigset_t mask;
};

static void
save_signals(struct signal_state *st)
{
	int sig;

	memset(st, 0, sizeof(*st));
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, NULL, &st->act[sig]);
	(void)pthread_sigmask(SIG_SETMASK, NULL, &st->mask);
}

static int
same_signals(const struct signal_state *a, const struct signal_state *b)
{
	int sig;

	for (sig = 1; sig < NSIG; sig++) {
		if (a->act[sig].sa_handler != b->act[sig].sa_handler ||
		    a->act[sig].sa_flags != b->act[sig].sa_flags)
			return 0;
		if (sigismember(&a->mask, sig) != sigismember(&b->mask, sig))
			return 0;
	}
	return 1;
}

/* One call through the helper: the code, errno, and whether the lock is
 * on disk must agree (docs/c-policy.md §5). */
static void
expect(const char *mode, const char *what, int rc, int e, int want,
    int want_errno, const char *lock, int want_lock)
{
	char msg[256];
	int on_disk = exists(lock);

	snprintf(msg, sizeof(msg), "%s %s: returned %d (want %d)", mode, what,
	    rc, want);
	step(rc == want, msg);
	if (want_errno) {
		snprintf(msg, sizeof(msg), "%s %s errno: %d %s (want %s)",
		    mode, what, e, strerror(e), strerror(want_errno));
		step(e == want_errno, msg);
	}
	snprintf(msg, sizeof(msg), "%s %s: the lock is %son disk", mode, what,
	    on_disk ? "" : "not ");
	step(on_disk == want_lock, msg);
	if (rc != L_SUCCESS && rc != L_MAXTRYS && on_disk) {
		snprintf(msg, sizeof(msg), "%s %s: error %d with our lock left "
		    "on disk", mode, what, rc);
		step(0, msg);
	}
}

static int
sigchld_case(const char *lock, const char *mail, const char *user,
    const char *mode)
{
	struct signal_state before, after;
	struct sigaction sa;
	pthread_t t;
	int rc, e;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	if (strcmp(mode, "dfl") == 0)
		sa.sa_handler = SIG_DFL;
	else if (strcmp(mode, "ign") == 0)
		sa.sa_handler = SIG_IGN;
	else if (strcmp(mode, "nocldwait") == 0) {
		sa.sa_handler = SIG_DFL;
		sa.sa_flags = SA_NOCLDWAIT;
	} else if (strcmp(mode, "handler") == 0) {
		sa.sa_handler = reap_all;
		sa.sa_flags = SA_RESTART;
	} else if (strcmp(mode, "thread") == 0) {
		sa.sa_handler = SIG_DFL;
		if (pthread_create(&t, NULL, reaper, NULL) != 0)
			return 2;
	} else {
		fprintf(stderr, "mail_fallback: unknown mode %s\n", mode);
		return 2;
	}
	if (sigaction(SIGCHLD, &sa, NULL) != 0)
		return 2;
	save_signals(&before);

	errno = 0;
	rc = lockfile_create(lock, 0, 0);
	e = errno;
	expect(mode, "free", rc, e, L_SUCCESS, 0, lock, 1);
	errno = 0;
	rc = lockfile_create(lock, 0, 0);
	e = errno;
	expect(mode, "busy", rc, e, L_MAXTRYS, EAGAIN, lock, 1);
	rc = lockfile_remove(lock);
	expect(mode, "remove", rc, 0, 0, 0, lock, 0);
	/* With L_PID the helper is our own child (it writes its parent's
	 * pid), so its status may go to the disposition or the reaper. */
	errno = 0;
	rc = lockfile_create(lock, 0, L_PID);
	e = errno;
	expect(mode, "free L_PID", rc, e, L_SUCCESS, 0, lock, 1);
	step(content_is(lock, (long)getpid()), "the L_PID lock holds our pid");
	errno = 0;
	rc = lockfile_create(lock, 0, L_PID);
	e = errno;
	expect(mode, "busy L_PID", rc, e, L_MAXTRYS, EAGAIN, lock, 1);
	rc = lockfile_remove(lock);
	expect(mode, "remove L_PID", rc, 0, 0, 0, lock, 0);
	if (setenv("MAIL", mail, 1) != 0)
		return 2;
	rc = maillock(user, 0);
	expect(mode, "maillock", rc, 0, L_SUCCESS, 0, lock, 1);
	mailunlock();
	step(!exists(lock), "mailunlock removed the lock");

	save_signals(&after);
	step(same_signals(&before, &after),
	    "signal dispositions and mask unchanged");
	/* Clean up after a library that lost track of its lock. */
	sa.sa_handler = SIG_DFL;
	sa.sa_flags = 0;
	(void)sigaction(SIGCHLD, &sa, NULL);
	if (exists(lock))
		(void)lockfile_remove(lock);
	return failed;
}

int
main(int argc, char **argv)
{
	char lock[PATH_MAX], other[PATH_MAX], mail[PATH_MAX];
	int rc;

	if (argc != 4 && argc != 5 && argc != 6) {
		fprintf(stderr, "usage: mail_fallback SPOOL USER OTHER "
		    "[RETRIES | sigchld MODE]\n");
		return 2;
	}
	snprintf(lock, sizeof(lock), "%s/%s.lock", argv[1], argv[2]);
	snprintf(mail, sizeof(mail), "%s/%s", argv[1], argv[2]);
	if (argc == 6 && strcmp(argv[4], "sigchld") == 0)
		return sigchld_case(lock, mail, argv[2], argv[5]);
	if (argc == 5)
		return lockfile_create(lock, atoi(argv[4]), 0);
	snprintf(other, sizeof(other), "%s/%s.lock", argv[1], argv[3]);

	/* The premise: we cannot create files in the spool ourselves. */
	step(access(argv[1], W_OK) != 0, "spool is not writable by us");

	rc = lockfile_create(lock, 0, 0);
	step(rc == L_SUCCESS, "lockfile_create on own mailbox lock");
	step(exists(lock) && content_is(lock, 0), "lock exists with \"0\\n\"");
	step(lockfile_create(lock, 0, 0) == L_MAXTRYS, "second lockfile_create is L_MAXTRYS");
	rc = lockfile_remove(lock);
	step(rc == 0, "lockfile_remove on own mailbox lock");
	step(!exists(lock), "lock is gone");

	rc = lockfile_create(lock, 1, L_PID);
	step(rc == L_SUCCESS, "lockfile_create with L_PID");
	step(content_is(lock, (long)getpid()), "lock holds our pid");
	step(lockfile_remove(lock) == 0 && !exists(lock), "removed again");

	/* maillock uses $MAIL.lock when $MAIL ends in the name. */
	if (setenv("MAIL", mail, 1) != 0)
		return 2;
	rc = maillock(argv[2], 0);
	step(rc == L_SUCCESS, "maillock on own mailbox");
	step(exists(lock), "maillock created the lock");
	mailunlock();
	step(!exists(lock), "mailunlock removed the lock");

	rc = lockfile_create(other, 0, 0);
	step(rc == L_TMPLOCK, "lockfile_create on another user's mailbox is L_TMPLOCK");
	step(!exists(other), "no lock for another user's mailbox");

	return failed;
}
