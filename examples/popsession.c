/*
 * popsession.c - how a POP3 server in the style of Qpopper handles a
 * user's mail drop with liblockfile, without ever losing a message.
 *
 *	popsession [-d N] [-h SECS] [-o FILE] [-p MS] [-r RETRIES] user [spool]
 *
 * The spool defaults to MAILDIR/user.  A session:
 *
 *  1. opens the temporary drop ".user.pop" beside the spool and takes
 *     flock(LOCK_EX|LOCK_NB) on it.  If that fails, another session for
 *     the user is active: "-ERR [IN-USE]", exit 2, and the spool is never
 *     touched.  (If the drop was unlinked between our open and our flock,
 *     by a session that was just ending, we start over.)
 *  2. takes the mail lock with maillock() only briefly: appends the spool
 *     to the drop, empties the spool, mailunlock().  Delivery agents that
 *     wait for the same dot-lock meanwhile append to the spool as usual.
 *  3. serves the session from the drop: here it "retrieves" every message
 *     and deletes every N-th one (-d), appending the deleted ones to FILE
 *     (-o) as a client would keep them.
 *  4. takes the mail lock again, writes the undeleted messages back
 *     followed by the mail that arrived meanwhile, removes the drop,
 *     mailunlock(), and only then lets go of the flock on the drop.
 *
 * While it holds the mail lock it refreshes it with touchlock() whenever a
 * step has taken a while, so that the lock never looks stale.
 *
 * Options for demonstrations and tests:
 *	-d N	delete every N-th message, starting with the first (default 2;
 *		0 deletes none)
 *	-h SECS	keep the mail lock SECS seconds longer in step 2, refreshing
 *		it with touchlock() every second (a slow step)
 *	-o FILE	append the deleted messages to FILE
 *	-p MS	spend MS milliseconds serving the session (step 3)
 *	-r N	retries for maillock() (default 10: 5 s, 10 s, ... 50 s)
 *
 * Exit status: 0 served, 1 error, 2 another session is active.
 *
 * Build: cc -o popsession popsession.c -llockfile
 */
#define _DEFAULT_SOURCE

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <maillock.h>

#define EXIT_IN_USE	2
/* Refresh the mail lock after this many seconds of work (SPEC: a holder
 * touches it at least every 3 minutes; it goes stale after 5). */
#define TOUCH_EVERY	60

static const char *prog = "popsession";
static time_t last_touch;
static const char *drop_name;	/* the temporary drop, and its descriptor */
static int drop_fd = -1;

static void
die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

/* Refresh the mail lock if the current step has been going on a while. */
static void
keep_lock_fresh(void)
{
	time_t now = time(NULL);

	if (now - last_touch >= TOUCH_EVERY) {
		touchlock();
		last_touch = now;
	}
}

static void
lock_spool(const char *user, int retries, int patient)
{
	int rc;

	while ((rc = maillock(user, retries)) != L_SUCCESS) {
		/* Giving up at the end would lose track of deletions. */
		struct stat st;

		if (patient && rc == L_MAXTRYS)
			continue;
		/* Leave no empty drop behind (we hold its flock). */
		if (fstat(drop_fd, &st) == 0 && st.st_size == 0)
			(void)unlink(drop_name);
		printf("-ERR [SYS/TEMP] cannot lock the mail drop "
		    "(maillock: %d)\n", rc);
		fflush(stdout);
		exit(1);
	}
	last_touch = time(NULL);
}

static void
write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		buf += n;
		len -= (size_t)n;
		keep_lock_fresh();
	}
}

/* Append everything from `from` (read from its start) to `to`; returns
 * the number of bytes copied. */
static off_t
append_file(int to, int from)
{
	char buf[65536];
	ssize_t n;
	off_t total = 0;

	if (lseek(from, 0, SEEK_SET) < 0 || lseek(to, 0, SEEK_END) < 0)
		die("lseek");
	while ((n = read(from, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		write_all(to, buf, (size_t)n);
		total += n;
	}
	return total;
}

/* The whole file, NUL-terminated; *len is its size. */
static char *
slurp(int fd, size_t *len)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	ssize_t n;

	if (fstat(fd, &st) != 0)
		die("fstat");
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		die("malloc");
	if (lseek(fd, 0, SEEK_SET) < 0)
		die("lseek");
	while (got < (size_t)st.st_size &&
	    (n = read(fd, buf + got, (size_t)st.st_size - got)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*len = got;
	return buf;
}

/* Where the next message starts: the next line that begins "From ". */
static const char *
next_message(const char *p, const char *end)
{
	for (p++; p < end; p++)
		if (p[-1] == '\n' && end - p >= 5 && memcmp(p, "From ", 5) == 0)
			return p;
	return end;
}

/*
 * Open the temporary drop and take its flock.  Exits with EXIT_IN_USE if
 * another session holds it.
 */
static int
open_drop(const char *drop)
{
	struct stat held, named;
	int fd;

	for (;;) {
		fd = open(drop, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		    0600);
		if (fd < 0)
			die(drop);
		if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
			if (errno != EWOULDBLOCK)
				die("flock");
			printf("-ERR [IN-USE] another session is active for "
			    "this mail drop\n");
			fflush(stdout);
			exit(EXIT_IN_USE);
		}
		/* An ending session unlinks the drop before it lets go of
		 * the flock: if ours is no longer the file by that name, we
		 * hold a lock on a dead file.  Start over. */
		if (fstat(fd, &held) != 0)
			die("fstat");
		if (stat(drop, &named) == 0 && named.st_dev == held.st_dev &&
		    named.st_ino == held.st_ino)
			return fd;
		close(fd);
	}
}

int
main(int argc, char **argv)
{
	const char *user, *out_name = NULL;
	char spool[PATH_MAX], drop[PATH_MAX], dir[PATH_MAX];
	int del_every = 2, hold = 0, pause_ms = 0, retries = 10;
	int c, spool_fd, out_fd = -1, i, nmsg = 0, ndel = 0;
	char *mail, *p, *end;
	size_t len;
	off_t arrived;
	struct stat st;

	while ((c = getopt(argc, argv, "d:h:o:p:r:")) != -1) {
		switch (c) {
		case 'd': del_every = atoi(optarg); break;
		case 'h': hold = atoi(optarg); break;
		case 'o': out_name = optarg; break;
		case 'p': pause_ms = atoi(optarg); break;
		case 'r': retries = atoi(optarg); break;
		default: goto usage;
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		goto usage;
	user = argv[optind];
	if (argc - optind == 2) {
		const char *base = strrchr(argv[optind + 1], '/');

		/* maillock() locks $MAIL.lock when $MAIL names the user's
		 * mailbox: point it at this spool. */
		base = base ? base + 1 : argv[optind + 1];
		if (strcmp(base, user) != 0) {
			fprintf(stderr, "%s: the spool must be named after "
			    "the user\n", prog);
			return 1;
		}
		snprintf(spool, sizeof(spool), "%s", argv[optind + 1]);
		if (setenv("MAIL", spool, 1) != 0)
			die("setenv");
	} else {
		snprintf(spool, sizeof(spool), "%s%s", MAILDIR, user);
		if (unsetenv("MAIL") != 0)
			die("unsetenv");
	}
	snprintf(dir, sizeof(dir), "%s", spool);
	snprintf(drop, sizeof(drop), "%s/.%s.pop", dirname(dir), user);
	if (out_name != NULL && (out_fd = open(out_name,
	    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0)
		die(out_name);

	/* 1: the temporary drop marks the session. */
	drop_name = drop;
	drop_fd = open_drop(drop);

	/* 2: move the spool into the drop under the mail lock. */
	lock_spool(user, retries, 0);
	spool_fd = open(spool, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (spool_fd < 0)
		die(spool);
	append_file(drop_fd, spool_fd);
	if (fsync(drop_fd) != 0)
		die("fsync");
	if (ftruncate(spool_fd, 0) != 0)
		die("ftruncate");
	for (i = 0; i < hold; i++) {
		sleep(1);
		touchlock();
	}
	mailunlock();

	/* 3: the session, from the drop alone. */
	mail = slurp(drop_fd, &len);
	end = mail + len;
	if (pause_ms > 0) {
		struct timespec ts = { pause_ms / 1000,
		    (pause_ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}

	/* 4: write back what is left, then what arrived meanwhile. */
	lock_spool(user, retries, 1);
	if (ftruncate(drop_fd, 0) != 0 || lseek(drop_fd, 0, SEEK_SET) < 0)
		die("ftruncate");
	for (p = mail; p < end; nmsg++) {
		const char *next = next_message(p, end);
		int deleted = del_every > 0 && nmsg % del_every == 0;

		if (deleted) {
			ndel++;
			if (out_fd >= 0)
				write_all(out_fd, p, (size_t)(next - p));
		} else {
			write_all(drop_fd, p, (size_t)(next - p));
		}
		p = (char *)next;
	}
	if (out_fd >= 0 && fsync(out_fd) != 0)
		die("fsync");
	arrived = append_file(drop_fd, spool_fd);
	if (fsync(drop_fd) != 0)
		die("fsync");
	if (ftruncate(spool_fd, 0) != 0)
		die("ftruncate");
	append_file(spool_fd, drop_fd);
	if (fsync(spool_fd) != 0)
		die("fsync");
	if (unlink(drop) != 0)
		die("unlink");
	mailunlock();
	if (fstat(spool_fd, &st) != 0)
		die("fstat");
	close(spool_fd);
	close(drop_fd);		/* only now the next session may start */

	printf("+OK %s: %d messages, %d deleted; %lld octets arrived "
	    "meanwhile; %lld octets left\n", user, nmsg, ndel,
	    (long long)arrived, (long long)st.st_size);
	free(mail);
	return 0;

usage:
	fprintf(stderr, "usage: %s [-d N] [-h SECS] [-o FILE] [-p MS] "
	    "[-r RETRIES] user [spool]\n", prog);
	return 1;
}
