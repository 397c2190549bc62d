/*
 * docs/c-policy.md §4: maillock with a name too long for PATH_MAX returns L_NAMELEN
 * with errno ENAMETOOLONG, whether the path comes from MAILDIR (name
 * alone too long) or from $MAIL (its last component is the name).
 */
#include "common.h"

int
main(void)
{
	static char name[PATH_MAX + 1000], mail[TC_PATH + 1000];
	size_t n;
	int rc, e;

	TEST_BEGIN();

	/* MAILDIR + a 4090-character name. */
	set_mail(NULL);
	memset(name, 'n', 4090);
	name[4090] = '\0';
	errno = 0;
	rc = maillock(name, 0);
	e = errno;
	CHECK_RC("maillock(4090-char name)", rc, L_NAMELEN, ENAMETOOLONG, e);
	memset(name, 'n', PATH_MAX + 500);
	name[PATH_MAX + 500] = '\0';
	rc = maillock(name, 0);
	e = errno;
	CHECK_RC("maillock(4596-char name)", rc, L_NAMELEN, ENAMETOOLONG, e);

	/* $MAIL of 4200 characters whose last component is "gina". */
	n = (size_t)snprintf(mail, sizeof(mail), "%s/", scratch_dir());
	while (n < 4200 - 5) {
		mail[n] = (n % 200 == 0) ? '/' : 'm';
		n++;
	}
	strcpy(mail + n, "/gina");
	set_mail(mail);
	errno = 0;
	rc = maillock("gina", 0);
	e = errno;
	CHECK_RC("maillock with a 4200-char $MAIL", rc, L_NAMELEN,
	    ENAMETOOLONG, e);
	CHECK_NO_TMP();
	PASS();
}
