/*
 * lockfile_mbox.h: lock a mailbox with flock, its dot-lock and fcntl in
 * one call (an extension of liblockfile-rs; see README.md).
 *
 * Generated from the Rust sources by cbindgen; do not edit.
 */
#ifndef _LOCKFILE_MBOX_H
#define _LOCKFILE_MBOX_H

#include <lockfile.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Do not take flock on the mailbox (dotlock -L).
 */
#define LOCKFILE_MBOX_NOFLOCK 256

/**
 * Also take an fcntl write lock on the mailbox (dotlock -P).
 */
#define LOCKFILE_MBOX_FCNTL 512

/**
 * A locked mailbox; opaque.
 */
struct lockfile_mbox;

/**
 * Lock a mailbox: flock, its dot-lock MBOX.lock, and an fcntl lock.
 *
 * The fcntl lock only with LOCKFILE_MBOX_FCNTL, the flock unless
 * LOCKFILE_MBOX_NOFLOCK.
 *
 * timeout < 0 waits as long as it takes; 0 fails at once if any lock is
 * busy; > 0 gives up after about that many seconds. While it waits with
 * the flock held, a dot-lock that neither changed nor saw the mailbox
 * change for 30 s is removed; every 10 s the flock is let go briefly so
 * that programs locking in the other order cannot deadlock with us.
 *
 * flags: LOCKFILE_MBOX_NOFLOCK, LOCKFILE_MBOX_FCNTL, and L_PID or L_PPID
 * for the content of the dot-lock. The mailbox is created (mode 0600) if
 * missing. Returns L_SUCCESS and stores the handle in *lock; otherwise
 * stores NULL, and returns L_MAXTRYS with errno EAGAIN if a lock was busy,
 * or another L_* code with errno. Refresh the dot-lock every 15 s with
 * lockfile_mbox_touch().
 *
 * # Safety
 * `mbox` is NULL or a NUL-terminated string; `lock` is NULL or points to
 * writable storage for one pointer.
 */
int lockfile_mbox_lock(const char *mbox, int timeout, int flags, struct lockfile_mbox **lock);

/**
 * Refresh the dot-lock of a locked mailbox.
 *
 * Returns 0; or -1 with errno ENOENT if someone removed the dot-lock,
 * ESTALE if another file has taken its name (neither is touched), or the
 * errno of the failed touch.
 *
 * # Safety
 * `lock` is NULL or a live handle from lockfile_mbox_lock().
 */
int lockfile_mbox_touch(struct lockfile_mbox *lock);

/**
 * The descriptor of the locked mailbox, open read-write if it could be.
 *
 * Valid until lockfile_mbox_unlock(); do not close it. Note that closing
 * any other descriptor of the mailbox in this process drops the fcntl
 * lock (POSIX). Returns -1 with errno EINVAL for NULL.
 *
 * # Safety
 * `lock` is NULL or a live handle from lockfile_mbox_lock().
 */
int lockfile_mbox_fd(const struct lockfile_mbox *lock);

/**
 * Release a locked mailbox: the fcntl lock, the dot-lock, the flock.
 *
 * Always releases and frees the handle. The dot-lock is removed only if
 * it is still ours. Returns 0; or -1 with errno ENOENT if someone had
 * removed the dot-lock, ESTALE if another file had taken its name (it is
 * left alone), or the errno of a failed removal.
 *
 * # Safety
 * `lock` is NULL or a live handle from lockfile_mbox_lock(); it is not
 * valid afterwards.
 */
int lockfile_mbox_unlock(struct lockfile_mbox *lock);

#ifdef __cplusplus
}
#endif

#endif /* _LOCKFILE_MBOX_H */
