/*
 * popsession.c - how a POP3 server in the style of Qpopper handles a
 * user's mail drop with liblockfile, without ever losing or doubling a
 * message, even when it is killed at any point.
 *
 *	popsession [-s] [-d N] [-h SECS] [-o FILE] [-p MS] [-r RETRIES]
 *	           [-S POINT] user [spool]
 *	popsession -R [-r RETRIES] [-S POINT] user [spool]
 *
 * The spool defaults to MAILDIR/user.  Beside it live the temporary drop
 * ".user.pop" and, while the spool is being changed, the journal
 * ".user.pop.j".  The mail lock is the dot-lock "spool.lock", the lock
 * maillock() takes; it is taken here with lockfile_create(..., L_PID) so
 * that the lock of a session that was killed is seen to be dead at once
 * by the next session and by -R.
 *
 * A session (default mode, as Qpopper without server mode):
 *
 *  1. opens the drop and takes flock(LOCK_EX|LOCK_NB) on it.  If that
 *     fails, another session for the user is active: "-ERR [IN-USE]",
 *     exit 2, and the spool is never touched.
 *  2. takes the mail lock only briefly: finishes whatever an interrupted
 *     session left in the journal, appends the spool to the drop, empties
 *     the spool, unlocks.  Deliveries that wait for the same dot-lock
 *     meanwhile append to the spool as usual.  A drop left by a session
 *     that was killed is served too: nothing in it is lost.
 *  3. serves the session from the drop: here it "retrieves" every message
 *     and deletes every N-th one (-d), appending the deleted ones to FILE
 *     (-o) as a client would keep them.
 *  4. takes the mail lock again and rewrites the spool as the undeleted
 *     messages followed by the mail that arrived meanwhile; removes the
 *     drop, unlocks, and only then lets go of the flock on the drop.
 *
 * Server mode (-s), as Qpopper's: the spool is not copied to the drop; the
 * drop is still created and flocked, so [IN-USE] works the same.  Under
 * the mail lock the session reads the spool as it is then: the messages
 * in it at that moment are the session's, and mail that arrives later is
 * not shown (it stays for the next session).  The session is served from
 * that copy.  At the end, under the mail lock, the spool must still begin
 * with exactly those bytes (deliveries only append); it is rewritten as
 * the undeleted messages followed by everything after them.  (Qpopper
 * stages the undeleted messages in the drop; here they go to the journal,
 * see below, which does the same job and survives a crash.)
 *
 * Recovery (-R), what Qpopper's documentation tells an administrator to
 * do when a user keeps getting [IN-USE]: if a live process holds the
 * drop's flock, say which (pid and command, from /proc/locks) and change
 * nothing (exit 2).  Otherwise take the mail lock, put the drop's
 * messages back in front of the spool, remove the drop, unlock, and say
 * how many messages went back.
 *
 * Crash safety.  The spool is only ever changed in place (never replaced
 * by rename: a delivery agent may hold it open while it waits for the
 * lock).  Every change that touches two files, or rewrites the spool, is
 * first written to the journal, complete, and renamed into place: the
 * journal records the spool's length and a checksum of its contents
 * before the change, and the spool's complete new contents.  Whoever
 * takes the mail lock next (a session or -R) finishes the change: if the
 * spool is untouched it is rewritten from the journal (keeping mail that
 * arrived since); if it was rewritten, or partly, the rewrite is
 * completed; then the drop is emptied and the journal removed.  A spool
 * in any other state is left alone with an error (never a guess).  So a
 * session or -R killed at any point leaves every message in exactly one
 * place, and a repeated -R never puts a message back twice.
 *
 * What a killed session's client received but whose deletion was not yet
 * in the journal stays in the spool, as POP says (deletions take effect
 * only at the end of a session).
 *
 * Options for demonstrations and tests:
 *	-d N	delete every N-th message, starting with the first (default 2;
 *		0 deletes none)
 *	-h SECS	keep the mail lock SECS seconds longer in step 2, refreshing
 *		it every second (a slow step)
 *	-o FILE	append the deleted messages to FILE
 *	-p MS	spend MS milliseconds serving the session (step 3)
 *	-r N	retries for the mail lock (default 10: 5 s, 10 s, ... 50 s)
 *	-S POINT stop (SIGSTOP) at POINT, so that a test can act there:
 *		locked (the mail lock just taken, at the start), take (the
 *		spool copied to the drop, not yet emptied), serving (no lock
 *		held), journal (the journal in place, the spool not yet
 *		rewritten), half (the spool half rewritten), written (the
 *		spool rewritten, the drop not yet emptied)
 *
 * Exit status: 0 served (or recovered), 1 error, 2 another session is
 * active (or, with -R, a live process holds the drop).
 *
 * Build: cc -o popsession popsession.c -llockfile
 */
#define _DEFAULT_SOURCE

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lockfile.h>
#include <maillock.h>

#define EXIT_IN_USE	2
/* Refresh the mail lock after this many seconds of work: dotlock(1)
 * breaks a dot-lock that has not changed for 30 s while it waits. */
#define TOUCH_EVERY	10
#define JOURNAL_MAGIC	"popsession-journal-1"

static const char *prog = "popsession";
static const char *stop_at = "";
static time_t last_touch;
static int retries = 10;
static char spool[PATH_MAX], drop[PATH_MAX], dir[PATH_MAX];
static char journal[PATH_MAX], journal_tmp[PATH_MAX], lock[PATH_MAX];
static int drop_fd = -1, spool_fd = -1;

/* A buffer that grows. */
struct buf {
	char *p;
	size_t len, cap;
};

static void
die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

/* dst = a b c (dst may be a); a path too long is an error. */
static void
join(char *dst, const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);

	if (la + lb + lc >= PATH_MAX) {
		errno = ENAMETOOLONG;
		die(a);
	}
	memmove(dst, a, la);
	memcpy(dst + la, b, lb);
	memcpy(dst + la + lb, c, lc + 1);
}

static void
stop(const char *point)
{
	if (strcmp(stop_at, point) == 0)
		raise(SIGSTOP);
}

static void
add(struct buf *b, const char *p, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = (b->len + len + 1) * 2;
		char *q = realloc(b->p, cap);

		if (q == NULL)
			die("realloc");
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
	b->p[b->len] = '\0';
}

/* Refresh the mail lock if the current step has been going on a while. */
static void
keep_lock_fresh(void)
{
	time_t now = time(NULL);

	if (now - last_touch >= TOUCH_EVERY) {
		lockfile_touch(lock);
		last_touch = now;
	}
}

static void
lock_spool(int patient)
{
	int rc;

	while ((rc = lockfile_create(lock, retries, L_PID)) != L_SUCCESS) {
		struct stat st;

		if (patient && rc == L_MAXTRYS)
			continue;
		/* Leave no empty drop behind (we hold its flock). */
		if (fstat(drop_fd, &st) == 0 && st.st_size == 0)
			(void)unlink(drop);
		printf("-ERR [SYS/TEMP] cannot lock the mail drop "
		    "(lockfile_create: %d)\n", rc);
		fflush(stdout);
		exit(1);
	}
	last_touch = time(NULL);
}

static void
unlock_spool(void)
{
	if (lockfile_remove(lock) != 0)
		die(lock);
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

static void
sync_fd(int fd, const char *what)
{
	if (fsync(fd) != 0)
		die(what);
}

/* The whole file, NUL-terminated. */
static struct buf
slurp(int fd)
{
	struct buf b = { NULL, 0, 0 };
	char chunk[65536];
	ssize_t n;

	add(&b, "", 0);
	if (lseek(fd, 0, SEEK_SET) < 0)
		die("lseek");
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		add(&b, chunk, (size_t)n);
	}
	return b;
}

/* Replace the contents of fd by p[0..len), in place. */
static void
rewrite(int fd, const char *p, size_t len, const char *what)
{
	if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) < 0)
		die(what);
	write_all(fd, p, len / 2);
	sync_fd(fd, what);
	stop("half");
	write_all(fd, p + len / 2, len - len / 2);
	sync_fd(fd, what);
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

static int
count_messages(const char *p, size_t len)
{
	const char *end = p + len;
	int n = 0;

	for (; p < end; p = next_message(p, end))
		n++;
	return n;
}

/* FNV-1a, 64 bits: tells an untouched spool from a changed one. */
static uint64_t
checksum(const char *p, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	while (len-- > 0) {
		h ^= (unsigned char)*p++;
		h *= 1099511628211ULL;
	}
	return h;
}

static void
sync_dir(void)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) != 0)
		die(dir);
	close(fd);
}

/*
 * Put a journal in place, complete or not at all: KIND is "take" (the
 * spool is being moved to the drop, which was DROPLEN long) or
 * "rewrite" (the spool becomes BODY).  OLD is the spool as it is now.
 */
static void
write_journal(const char *kind, const struct buf *old, off_t droplen,
    const char *body, size_t bodylen)
{
	char head[200];
	int fd;

	(void)unlink(journal_tmp);
	fd = open(journal_tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd < 0)
		die(journal_tmp);
	snprintf(head, sizeof(head), "%s %s %zu %016llx %lld\n",
	    JOURNAL_MAGIC, kind, old->len,
	    (unsigned long long)checksum(old->p, old->len),
	    (long long)droplen);
	write_all(fd, head, strlen(head));
	write_all(fd, body, bodylen);
	sync_fd(fd, journal_tmp);
	close(fd);
	if (rename(journal_tmp, journal) != 0)
		die(journal);
	sync_dir();
}

static void
remove_journal(void)
{
	if (unlink(journal) != 0 && errno != ENOENT)
		die(journal);
	sync_dir();
}

static void
refuse(const char *why)
{
	fprintf(stderr, "%s: %s: %s; nothing changed, see %s\n", prog,
	    spool, why, journal);
	printf("-ERR [SYS/PERM] the mail drop needs an administrator\n");
	fflush(stdout);
	exit(1);
}

/*
 * Finish (or undo) what the journal says was under way.  Called with the
 * mail lock and the drop's flock held.  Returns 1 if there was a journal.
 */
static int
recover(void)
{
	struct buf j, cur;
	char kind[16], *body;
	size_t oldlen, bodylen;
	unsigned long long sum;
	long long droplen;
	int fd, untouched, n;
	struct stat st;

	(void)unlink(journal_tmp);	/* never put in place: void */
	if ((fd = open(journal, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		if (errno == ENOENT)
			return 0;
		die(journal);
	}
	j = slurp(fd);
	close(fd);
	body = memchr(j.p, '\n', j.len);
	n = 0;
	if (body == NULL || sscanf(j.p, JOURNAL_MAGIC " %15s %zu %llx %lld%n",
	    kind, &oldlen, &sum, &droplen, &n) != 4 || j.p + n != body)
		refuse("the journal is not one of ours");
	body++;
	bodylen = j.len - (size_t)(body - j.p);
	cur = slurp(spool_fd);
	untouched = cur.len >= oldlen && checksum(cur.p, oldlen) == sum;

	if (strcmp(kind, "take") == 0) {
		if (fstat(drop_fd, &st) != 0)
			die("fstat");
		if (untouched) {
			/* The spool was not emptied: undo the copy. */
			if (ftruncate(drop_fd, (off_t)droplen) != 0)
				die(drop);
			sync_fd(drop_fd, drop);
		} else if (st.st_size != (off_t)droplen + (off_t)oldlen) {
			refuse("the drop is not what the journal says");
		}
		/* else: the spool was emptied after the drop had it all. */
	} else if (strcmp(kind, "rewrite") == 0) {
		/* The spool is either untouched, the old contents followed
		 * by mail that came after the crash, or the new contents, in
		 * full or cut short, maybe followed by such mail.  Mail that
		 * came after a crash is new: it never begins with bytes the
		 * journal already holds, which tells the cases apart. */
		int prefix_of_new = cur.len <= bodylen &&
		    memcmp(cur.p, body, cur.len) == 0;
		int starts_new = cur.len >= bodylen &&
		    memcmp(cur.p, body, bodylen) == 0;

		if (prefix_of_new) {
			/* Cut short (or complete): finish it. */
			if (cur.len != bodylen)
				rewrite(spool_fd, body, bodylen, spool);
		} else if (starts_new && (bodylen >= oldlen || !untouched)) {
			/* Rewritten; mail has arrived since. */
		} else if (untouched && oldlen > 0 && cur.len == oldlen) {
			rewrite(spool_fd, body, bodylen, spool);
		} else {
			/* Mail arrived after the journal was written (a
			 * waiter broke the lock of a killed holder): after
			 * the old contents, or after the new ones cut short.
			 * It starts a message ("From "), where the part of
			 * the journal that was written stops.  Make it part
			 * of the journal, then rewrite from that. */
			struct buf w = { NULL, 0, 0 };
			size_t k = 0;

			if (untouched && oldlen > 0) {
				k = oldlen;
			} else {
				while (k < cur.len && k < bodylen &&
				    cur.p[k] == body[k])
					k++;
				while (k > 0 && (cur.len - k < 5 ||
				    memcmp(cur.p + k, "From ", 5) != 0))
					k--;
				if (cur.len < 5 || memcmp(cur.p + k, "From ", 5) != 0)
					refuse("the spool is not what the "
					    "journal says");
			}
			add(&w, body, bodylen);
			add(&w, cur.p + k, cur.len - k);
			write_journal("rewrite", &cur, 0, w.p, w.len);
			free(w.p);
			free(j.p);
			free(cur.p);
			return recover();
		}
		stop("written");
		if (ftruncate(drop_fd, 0) != 0)
			die(drop);
		sync_fd(drop_fd, drop);
	} else {
		refuse("the journal is not one of ours");
	}
	remove_journal();
	free(j.p);
	free(cur.p);
	return 1;
}

/* The spool becomes W: through the journal, so that it survives a crash;
 * the drop is emptied with it. */
static void
commit(const char *w, size_t len)
{
	struct buf cur = slurp(spool_fd);

	write_journal("rewrite", &cur, 0, w, len);
	free(cur.p);
	stop("journal");
	recover();
}

/* The pid of a process that holds an flock on fd, from /proc/locks; 0 if
 * none is found. */
static long
flock_holder(int fd)
{
	struct stat st;
	char line[512], kind[16];
	unsigned int maj, min;
	unsigned long long ino;
	long pid, found = 0;
	FILE *f;

	if (fstat(fd, &st) != 0 || (f = fopen("/proc/locks", "re")) == NULL)
		return 0;
	while (found == 0 && fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, "->") != NULL)
			continue;	/* a waiter */
		if (sscanf(line, "%*d: %15s %*s %*s %ld %x:%x:%llu", kind,
		    &pid, &maj, &min, &ino) == 5 &&
		    strcmp(kind, "FLOCK") == 0 && maj == major(st.st_dev) &&
		    min == minor(st.st_dev) && ino == (unsigned long long)st.st_ino)
			found = pid;
	}
	fclose(f);
	return found;
}

/*
 * Open the drop and take its flock.  Returns -1 (errno EWOULDBLOCK) if
 * another process holds it.
 */
static int
open_drop(void)
{
	struct stat held, named;
	int fd;

	for (;;) {
		fd = open(drop, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		    0600);
		if (fd < 0)
			die(drop);
		if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
			int e = errno;

			if (e != EWOULDBLOCK)
				die("flock");
			drop_fd = fd;	/* kept open to name the holder */
			errno = e;
			return -1;
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

static void
open_spool(void)
{
	spool_fd = open(spool, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (spool_fd < 0)
		die(spool);
}

/* The end of a session: unlink the drop under both locks, unlock, and
 * only then let go of the flock. */
static void
finish(void)
{
	if (unlink(drop) != 0)
		die(drop);
	sync_dir();
	unlock_spool();
	close(spool_fd);
	close(drop_fd);
}

/* -R: put a drop that nobody serves back in front of the spool. */
static int
recover_drop(void)
{
	struct buf d, cur, w = { NULL, 0, 0 };
	int n, fd = open_drop();

	if (fd < 0) {
		long pid = flock_holder(drop_fd);
		char path[64], comm[64] = "?";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
		if (pid > 0 && (f = fopen(path, "re")) != NULL) {
			if (fgets(comm, sizeof(comm), f) != NULL)
				comm[strcspn(comm, "\n")] = '\0';
			fclose(f);
		}
		if (pid > 0)
			printf("%s: %s is in use by pid %ld (%s), a live "
			    "session; nothing changed\n", prog, drop, pid,
			    comm);
		else
			printf("%s: %s is in use by a live process; nothing "
			    "changed\n", prog, drop);
		return EXIT_IN_USE;
	}
	drop_fd = fd;
	lock_spool(1);
	stop("locked");
	open_spool();
	recover();
	d = slurp(drop_fd);
	n = count_messages(d.p, d.len);
	if (d.len > 0) {
		cur = slurp(spool_fd);
		add(&w, d.p, d.len);
		add(&w, cur.p, cur.len);
		commit(w.p, w.len);
		free(cur.p);
		free(w.p);
	}
	finish();
	printf("%s: put %d messages (%zu octets) back into %s\n", prog, n,
	    d.len, spool);
	free(d.p);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *user, *out_name = NULL;
	int del_every = 2, hold = 0, pause_ms = 0, server = 0, recovery = 0;
	int c, out_fd = -1, i, nmsg = 0, ndel = 0;
	struct buf mail = { NULL, 0, 0 }, cur, w = { NULL, 0, 0 };
	const char *p, *end;
	size_t arrived;

	while ((c = getopt(argc, argv, "d:h:o:p:r:sRS:")) != -1) {
		switch (c) {
		case 'd': del_every = atoi(optarg); break;
		case 'h': hold = atoi(optarg); break;
		case 'o': out_name = optarg; break;
		case 'p': pause_ms = atoi(optarg); break;
		case 'r': retries = atoi(optarg); break;
		case 's': server = 1; break;
		case 'R': recovery = 1; break;
		case 'S': stop_at = optarg; break;
		default: goto usage;
		}
	}
	if (argc - optind < 1 || argc - optind > 2 || (recovery && server))
		goto usage;
	user = argv[optind];
	if (argc - optind == 2) {
		const char *base = strrchr(argv[optind + 1], '/');

		base = base ? base + 1 : argv[optind + 1];
		if (strcmp(base, user) != 0) {
			fprintf(stderr, "%s: the spool must be named after "
			    "the user\n", prog);
			return 1;
		}
		snprintf(spool, sizeof(spool), "%s", argv[optind + 1]);
	} else {
		snprintf(spool, sizeof(spool), "%s%s", MAILDIR, user);
	}
	snprintf(drop, sizeof(drop), "%s", spool);
	snprintf(dir, sizeof(dir), "%s", dirname(drop));
	join(drop, dir, "/.", user);
	join(drop, drop, ".pop", "");
	join(journal, drop, ".j", "");
	join(journal_tmp, drop, ".j.tmp", "");
	join(lock, spool, ".lock", "");
	if (recovery)
		return recover_drop();
	if (out_name != NULL && (out_fd = open(out_name,
	    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0)
		die(out_name);

	/* 1: the temporary drop marks the session. */
	if ((drop_fd = open_drop()) < 0) {
		printf("-ERR [IN-USE] another session is active for this "
		    "mail drop\n");
		fflush(stdout);
		return EXIT_IN_USE;
	}

	/* 2: under the mail lock, finish what a killed session left, and
	 * take the session's messages. */
	lock_spool(0);
	stop("locked");
	open_spool();
	recover();
	cur = slurp(spool_fd);
	if (server) {
		struct buf d = slurp(drop_fd);

		if (d.len > 0) {
			/* A default-mode session was killed: its drop goes
			 * back in front of the spool first. */
			add(&w, d.p, d.len);
			add(&w, cur.p, cur.len);
			commit(w.p, w.len);
			free(cur.p);
			cur = slurp(spool_fd);
			w.len = 0;
		}
		free(d.p);
		mail = cur;	/* the session's messages: these bytes */
	} else if (cur.len > 0) {
		struct stat st;

		if (fstat(drop_fd, &st) != 0)
			die("fstat");
		write_journal("take", &cur, st.st_size, "", 0);
		if (lseek(drop_fd, 0, SEEK_END) < 0)
			die("lseek");
		write_all(drop_fd, cur.p, cur.len);
		sync_fd(drop_fd, drop);
		stop("take");
		if (ftruncate(spool_fd, 0) != 0)
			die("ftruncate");
		sync_fd(spool_fd, spool);
		remove_journal();
		free(cur.p);
	} else {
		free(cur.p);
	}
	for (i = 0; i < hold; i++) {
		sleep(1);
		lockfile_touch(lock);
	}
	unlock_spool();

	/* 3: the session. */
	if (!server)
		mail = slurp(drop_fd);
	stop("serving");
	if (pause_ms > 0) {
		struct timespec ts = { pause_ms / 1000,
		    (pause_ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}

	/* 4: what is left, then what arrived meanwhile, become the spool. */
	lock_spool(1);
	recover();
	cur = slurp(spool_fd);
	if (server && (cur.len < mail.len ||
	    memcmp(cur.p, mail.p, mail.len) != 0)) {
		/* Somebody rewrote the spool behind the mail lock. */
		printf("-ERR [SYS/PERM] the mail drop changed during the "
		    "session; nothing deleted\n");
		finish();
		return 1;
	}
	end = mail.p + mail.len;
	w.len = 0;
	for (p = mail.p; p < end; nmsg++) {
		const char *next = next_message(p, end);
		int deleted = del_every > 0 && nmsg % del_every == 0;

		if (deleted) {
			ndel++;
			if (out_fd >= 0)
				write_all(out_fd, p, (size_t)(next - p));
		} else {
			add(&w, p, (size_t)(next - p));
		}
		p = next;
	}
	if (out_fd >= 0)
		sync_fd(out_fd, out_name);
	arrived = server ? cur.len - mail.len : cur.len;
	add(&w, cur.p + (server ? mail.len : 0), arrived);
	if (ndel > 0 || !server)
		commit(w.p, w.len);
	finish();

	printf("+OK %s: %d messages, %d deleted; %zu octets arrived "
	    "meanwhile; %zu octets left\n", user, nmsg, ndel, arrived, w.len);
	free(mail.p);
	free(cur.p);
	free(w.p);
	return 0;

usage:
	fprintf(stderr, "usage: %s [-s] [-d N] [-h SECS] [-o FILE] [-p MS] "
	    "[-r RETRIES] [-S POINT] user [spool]\n"
	    "       %s -R [-r RETRIES] [-S POINT] user [spool]\n", prog, prog);
	return 1;
}
