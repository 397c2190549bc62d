/*
 * diff.h - the differential harness: one scenario, run once through each
 * library, observed the same way.  See diff.c for the driver and
 * scenarios.c for the table.
 */
#ifndef TESTS_DIFF_DIFF_H
#define TESTS_DIFF_DIFF_H

#include <sys/types.h>
#include <limits.h>

#define LOCKFILE_EXPERIMENTAL
#include <lockfile.h>

#define D_PATH		(PATH_MAX + 512)
/* snprintf into a D_PATH buffer, or die if it does not fit. */
#define PATHF(buf, ...)							\
	do {								\
		int n_ = snprintf((buf), D_PATH, __VA_ARGS__);		\
		if (n_ < 0 || n_ >= D_PATH)				\
			die("path too long");				\
	} while (0)

#define ANY		(-1000)	/* "any errno": not compared */
#define CRASH		(-2000)	/* rc of a call that killed the process */

typedef int (*create_fn)(const char *, int, int);
typedef int (*create2_fn)(const char *, int, int, struct __lockargs *, int);
typedef int (*path_fn)(const char *);
typedef int (*check_fn)(const char *, int);
typedef int (*maillock_fn)(const char *, int);
typedef void (*void_fn)(void);

/* The API of one library, resolved with dlsym. */
struct api {
	create_fn	create;
	create2_fn	create2;	/* may come from a second object */
	path_fn		remove;
	path_fn		touch;
	check_fn	check;
	maillock_fn	maillock;
	void_fn		mailunlock;
	void_fn		touchlock;
};

/* What one scenario works with, in the process that makes the call. */
struct ctx {
	const struct api *api;
	char	dir[D_PATH];	/* fresh scratch directory */
	char	lock[D_PATH];	/* the lock the scenario is about */
	char	extra[256];	/* scenario's own observations */
	char	mailname[64];	/* a user name unique to this run */
	pid_t	child;		/* a helper process to stop afterwards */
	pid_t	holder;		/* the pid a setup wrote into a lock */
	uid_t	uid;		/* the unprivileged user */
	gid_t	gid;
	int	atime_updates;	/* reading a file sets its atime here */
	int	is_ref;
};

/* Scenario flags. */
#define S_UNPRIV	0x01	/* make the call as the unprivileged user */
#define S_TIMED		0x02	/* compare whole seconds spent in the call */
#define S_NOLOCK	0x04	/* lock path is not a file to describe */

/*
 * The reference's result where docs/fixes.md says "we fix" (or decides where the
 * reference crashes): rc/errno, and the observations allowed to differ.
 */
#define D_TREE		0x01	/* leftover files differ */
#define D_LOCK		0x02	/* the lock differs */
#define D_EXTRA		0x04	/* the scenario's own observation differs */

struct refwant {
	int	set;
	int	rc;
	int	err;
	int	differs;
	const char *lock;	/* the reference's lock description, or NULL */
};

struct scenario {
	const char	*name;
	const char	*what;
	void		(*setup)(struct ctx *);
	int		(*call)(struct ctx *);	/* returns rc; errno kept */
	int		rc;		/* expected rc (ours, and reference) */
	int		err;		/* expected errno, or ANY */
	const char	*lock;		/* expected lock description or NULL */
	int		flags;
	struct refwant	ref;		/* where the reference differs */
	/* Decided at run time (e.g. the atime case depends on the mount). */
	void		(*adjust)(const struct ctx *, struct scenario *);
};

extern struct scenario scenarios[];
extern const int n_scenarios;

/* Helpers shared with scenarios.c. */
void	die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
	    noreturn));
char	*sub(struct ctx *, char *buf, const char *name);
void	put(const char *path, const char *content, int age);
void	put_times(const char *path, time_t atime, time_t mtime);
pid_t	dead_pid(void);
pid_t	sleeper(void);
void	xmkdir(const char *path, mode_t mode);
void	note(struct ctx *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	age_of(const char *path);

#endif /* TESTS_DIFF_DIFF_H */
