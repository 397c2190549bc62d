/*
 * docs/c-policy.md §4: mailunlock and touchlock without any mail lock taken are no-ops
 * (run in a child: a crash is a failure).
 */
#include "common.h"

static int
calls(void *arg)
{
	(void)arg;
	mailunlock();
	touchlock();
	mailunlock();
	touchlock();
	return 0;
}

int
main(void)
{
	int status;

	TEST_BEGIN();
	set_mail("/nonexistent/dir/nobody");
	status = run_in_child(calls, NULL);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "mailunlock/touchlock without a lock: %s", status_str(status));
	PASS();
}
