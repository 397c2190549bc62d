/*
 * The headers declare exactly the API of docs/abi.md §1. The compiler rejects a
 * prototype below that does not match the header's, and a constant with
 * the wrong value breaks an array size. Builds as C89, C99, C11 and C++.
 */
#define LOCKFILE_EXPERIMENTAL
#include <maillock.h>
#include <lockfile.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif
int	lockfile_create(const char *lockfile, int retries, int flags);
int	lockfile_remove(const char *lockfile);
int	lockfile_touch(const char *lockfile);
int	lockfile_check(const char *lockfile, int flags);
int	lockfile_create2(const char *lockfile, int retries, int flags,
		struct __lockargs *args, int args_sz);
int	maillock(const char *name, int retries);
void	mailunlock(void);
void	touchlock(void);
#ifdef __cplusplus
}
#endif

#define ASSERT(name, cond) typedef char assert_##name[(cond) ? 1 : -1]

ASSERT(l_success, L_SUCCESS == 0);
ASSERT(l_namelen, L_NAMELEN == 1);
ASSERT(l_tmplock, L_TMPLOCK == 2);
ASSERT(l_tmpwrite, L_TMPWRITE == 3);
ASSERT(l_maxtrys, L_MAXTRYS == 4);
ASSERT(l_error, L_ERROR == 5);
ASSERT(l_manlock, L_MANLOCK == 6);
ASSERT(l_orphaned, L_ORPHANED == 7);
ASSERT(l_rmstale, L_RMSTALE == 8);
ASSERT(l_pid, L_PID == 16);
ASSERT(l_ppid, L_PPID == 32);
ASSERT(l_interval, __L_INTERVAL == 64);
ASSERT(l_interval_alias, L_INTERVAL == __L_INTERVAL);
ASSERT(lockargs_size, sizeof(struct __lockargs) == sizeof(int));
ASSERT(lockargs_alias, sizeof(struct lockargs) == sizeof(struct __lockargs));
ASSERT(lockargs_interval, offsetof(struct __lockargs, interval) == 0);
ASSERT(maildir, sizeof(MAILDIR) > 1);

/* The pointer types must be exactly these. */
int (*const p_create)(const char *, int, int) = lockfile_create;
int (*const p_create2)(const char *, int, int, struct lockargs *, int) =
	lockfile_create2;
int (*const p_remove)(const char *) = lockfile_remove;
int (*const p_touch)(const char *) = lockfile_touch;
int (*const p_check)(const char *, int) = lockfile_check;
int (*const p_maillock)(const char *, int) = maillock;
void (*const p_mailunlock)(void) = mailunlock;
void (*const p_touchlock)(void) = touchlock;
