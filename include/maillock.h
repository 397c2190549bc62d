/*
 * maillock.h: SysV-style locking of a user's mailbox (liblockfile 1.17 API).
 *
 * Generated from the Rust sources by cbindgen; do not edit.
 */
#ifndef _MAILLOCK_H
#define _MAILLOCK_H

#ifdef __cplusplus
extern "C" {
#endif

#ifndef _PATH_MAILDIR
#include <paths.h>
#endif

#define MAILDIR (_PATH_MAILDIR "/")

/**
 * Lock the mailbox of user `name`, retrying `retries` times.
 */
int maillock(const char *name, int retries);

/**
 * Remove the mail lock taken by maillock(), if any.
 */
void mailunlock(void);

/**
 * Refresh the mail lock taken by maillock(); does nothing without one.
 */
void touchlock(void);

#ifdef __cplusplus
}
#endif

#include <lockfile.h>

#endif /* _MAILLOCK_H */
