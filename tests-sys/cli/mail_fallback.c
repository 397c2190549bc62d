/*
 * mail_fallback.c - SPEC §5: an unprivileged program locks and unlocks its
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
 */
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

static int
content_is(const char *path, long want)
{
	char buf[32];
	FILE *f;
	size_t n;

	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strtol(buf, NULL, 10) == want && n > 0 && buf[n - 1] == '\n';
}

int
main(int argc, char **argv)
{
	char lock[PATH_MAX], other[PATH_MAX], mail[PATH_MAX];
	int rc;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: mail_fallback SPOOL USER OTHER [RETRIES]\n");
		return 2;
	}
	snprintf(lock, sizeof(lock), "%s/%s.lock", argv[1], argv[2]);
	if (argc == 5)
		return lockfile_create(lock, atoi(argv[4]), 0);
	snprintf(other, sizeof(other), "%s/%s.lock", argv[1], argv[3]);
	snprintf(mail, sizeof(mail), "%s/%s", argv[1], argv[2]);

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
