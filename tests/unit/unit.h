/* Shared bits of the Check unit tests. */
#ifndef KVMLITE_UNIT_H
#define KVMLITE_UNIT_H

#include <check.h>
#include <stdlib.h>

/* Run one suite; the process's status is the verdict. */
static inline int unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
