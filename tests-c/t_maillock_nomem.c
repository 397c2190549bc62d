/*
 * docs/c-policy.md §4: maillock() keeps the path of the mail lock for
 * mailunlock() and touchlock(). When it cannot (no memory is left to map
 * for it: docs/layers.md, "No page of zeroes for the mail lock"), it
 * returns L_ERROR with errno ENOMEM and leaves no lock on disk: a lock
 * that mailunlock() cannot find would stay until it is stale. Once memory
 * is back, maillock works as before.
 *
 * The address space is capped at what the process already uses
 * (RLIMIT_AS), after the stack and stdout's buffer were made, so that the
 * next mapping fails, and what malloc can still give is taken, so that
 * 1.17, which keeps the path in the heap, finds none either: both then
 * answer the same. The lock's own system calls need no memory. Under
 * valgrind the heap is left alone: valgrind needs memory of its own for
 * every block it hands out and stops when the cap denies it; the library
 * valgrind runs is ours, which takes nothing from the heap.
 */
#include "common.h"

/* Grow the stack now: under the cap it could not grow. */
static void
grow_stack(void)
{
	volatile char pad[256 * 1024];

	memset((char *)pad, 1, sizeof(pad));
}

/* Every block malloc can still give, in a list through the blocks. */
static void *hoard;

static void
take_the_heap(void)
{
	const char *preload = getenv("LD_PRELOAD");
	size_t size;
	void **block;

	if (preload != NULL && strstr(preload, "vgpreload") != NULL)
		return;
	for (size = (size_t)1 << 20; size >= sizeof(void *); size /= 2)
		while ((block = malloc(size)) != NULL) {
			*block = hoard;
			hoard = block;
		}
}

static void
give_back_the_heap(void)
{
	void **block;

	while ((block = hoard) != NULL) {
		hoard = *block;
		free(block);
	}
}

/* The process's address space now, in bytes (/proc/self/statm). */
static rlim_t
address_space(void)
{
	unsigned long pages;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		FAIL("open /proc/self/statm: %s", strerror(errno));
	if (fscanf(f, "%lu", &pages) != 1)
		FAIL("read /proc/self/statm");
	fclose(f);
	return (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE);
}

int
main(void)
{
	char mbox[TC_PATH], lock[TC_PATH];
	struct rlimit before, cap;
	void *probe;
	int rc, e, probe_errno;

	TEST_BEGIN();
	tpath(mbox, "alice");
	tpath(lock, "alice.lock");
	write_file(mbox, "");
	set_mail(mbox);
	if (getrlimit(RLIMIT_AS, &before) != 0)
		FAIL("getrlimit: %s", strerror(errno));
	grow_stack();
	tc_info("capping the address space");

	cap = before;
	cap.rlim_cur = address_space();
	if (setrlimit(RLIMIT_AS, &cap) != 0)
		FAIL("setrlimit: %s", strerror(errno));
	/* The cap holds: a page cannot be mapped now. */
	probe = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	probe_errno = errno;
	take_the_heap();
	rc = maillock("alice", 0);
	e = errno;
	give_back_the_heap();
	if (setrlimit(RLIMIT_AS, &before) != 0)
		FAIL("setrlimit back: %s", strerror(errno));

	CHECK(probe == MAP_FAILED && probe_errno == ENOMEM,
	    "a page could still be mapped under the cap");
	CHECK_RC("maillock(\"alice\", 0) with no memory left", rc, L_ERROR,
	    ENOMEM, e);
	CHECK(!exists(lock), "a lock was left that mailunlock cannot find");
	CHECK_NO_TMP();
	/* Nothing is held: both are no-ops. */
	touchlock();
	mailunlock();
	CHECK(exists(mbox), "mailbox removed");

	rc = maillock("alice", 0);
	e = errno;
	CHECK_RC("maillock(\"alice\", 0) with memory again", rc, L_SUCCESS,
	    -1, e);
	CHECK(exists(lock), "lock not created");
	mailunlock();
	CHECK(!exists(lock), "mailunlock did not remove the lock");
	CHECK_NO_TMP();
	PASS();
}
