/*
 * lockfile.h: dot-locking that is safe over NFS (liblockfile 1.17 API).
 *
 * Conventions of every function declared here and in maillock.h and
 * lockfile_mbox.h:
 * - A pointer argument is either NULL or points to a NUL-terminated
 *   string that stays valid and unchanged for the call. NULL gives
 *   L_ERROR (or -1) with errno EINVAL, where liblockfile 1.17 crashes.
 * - errno is set as the last action, from the value the failing system
 *   call left; on success it is left as it was.
 * - lockfile_remove(), lockfile_touch(), lockfile_check(), mailunlock()
 *   and touchlock() are async-signal-safe and may be called in the child
 *   of a threaded program: they allocate nothing and take no lock.
 * - Should a bug of the library be hit, the process aborts; no error of
 *   the library unwinds through the caller's frames.
 *
 * Generated from the Rust sources by cbindgen; do not edit.
 */
#ifndef _LOCKFILE_H
#define _LOCKFILE_H

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Lockfile created.
 */
#define L_SUCCESS 0

/**
 * Name too long.
 */
#define L_NAMELEN 1

/**
 * Error creating the temporary lock file.
 */
#define L_TMPLOCK 2

/**
 * Cannot write the pid into the temporary lock file.
 */
#define L_TMPWRITE 3

/**
 * Failed after the maximum number of attempts.
 */
#define L_MAXTRYS 4

/**
 * Other error; see errno.
 */
#define L_ERROR 5

/**
 * Cannot set a mandatory lock on the temporary file (unused).
 */
#define L_MANLOCK 6

/**
 * Called with L_PPID but the parent is gone.
 */
#define L_ORPHANED 7

/**
 * Failed to remove a stale lock file.
 */
#define L_RMSTALE 8

/**
 * Write our pid into the lock.
 */
#define L_PID 16

/**
 * Write our parent's pid into the lock.
 */
#define L_PPID 32

/**
 * Use args->interval as the fixed wait between attempts (experimental).
 */
#define __L_INTERVAL 64

/**
 * Extra arguments of lockfile_create2() (experimental).
 */
struct __lockargs {
  /**
   * Seconds between attempts, with __L_INTERVAL.
   */
  int interval;
};

/**
 * Create a lock file, retrying `retries` times.
 */
int lockfile_create(const char *lockfile, int retries, int flags);

/**
 * Remove a lock file.
 */
int lockfile_remove(const char *lockfile);

/**
 * Set a lock file's access and modification times to now.
 */
int lockfile_touch(const char *lockfile);

/**
 * Check whether a valid lock file exists.
 */
int lockfile_check(const char *lockfile, int flags);

/*
 * Experimental interface: define LOCKFILE_EXPERIMENTAL to use it.
 */
#ifdef LOCKFILE_EXPERIMENTAL
#define lockargs __lockargs
#define L_INTERVAL __L_INTERVAL
int lockfile_create2(const char *lockfile, int retries, int flags,
                     struct lockargs *args, int args_sz);
#endif

#ifdef __cplusplus
}
#endif

#endif /* _LOCKFILE_H */
