/* Shared bits of the Check unit tests. */
#ifndef KVMLITE_UNIT_H
#define KVMLITE_UNIT_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>
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

/*
 * Check that an access to [@off, @off + @len) of @buf (@size bytes, all
 * @fill beforehand) left every byte outside that range alone.
 */
static inline void unit_check_untouched(const uint8_t *buf, size_t size,
					size_t off, size_t len, uint8_t fill)
{
	for (size_t i = 0; i < off; i++)
		ck_assert_uint_eq(buf[i], fill);
	for (size_t i = off + len; i < size; i++)
		ck_assert_uint_eq(buf[i], fill);
}

#endif
