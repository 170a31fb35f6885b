/*
 * Unit tests for the snapshot state file (src/snapfile.c): a written file
 * parses back section by section; every truncation, every flipped byte,
 * another version or format, a malformed section table is refused with
 * its reason; readers never read past their section.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvmlite.h"
#include "snapfile.h"
#include "unit.h"
#include "util.h"

static const uint8_t id[SNAP_ID_BYTES] = { 1, 2,  3,  4,  5,  6,  7,  8,
					   9, 10, 11, 12, 13, 14, 15, 16 };

/* A file of three sections; the caller frees the copy it gets. */
static uint8_t *sample(size_t *len)
{
	struct snap_writer w;
	const uint8_t *out;
	uint8_t *copy;

	snap_writer_init(&w);
	snap_begin(&w, SNAP_CONFIG, 0);
	snap_put_u8(&w, 0xab);
	snap_put_u16(&w, 0xcdef);
	snap_put_u32(&w, 0x12345678);
	snap_put_u64(&w, 0x1122334455667788ULL);
	snap_put_str(&w, "a path");
	snap_put_str(&w, NULL);
	snap_end(&w);
	snap_begin(&w, SNAP_VCPU, 7);
	snap_put_bytes(&w, "xyz", 3);
	snap_end(&w);
	snap_begin(&w, SNAP_VCPU, 8);
	snap_end(&w);
	ck_assert_int_eq(snap_finish(&w, id, &out, len), 0);
	copy = malloc(*len);
	memcpy(copy, out, *len);
	snap_writer_free(&w);
	return copy;
}

static int parse_copy(const uint8_t *data, size_t len, char *err, size_t errlen,
		      struct snapfile *f)
{
	uint8_t *copy = malloc(len ? len : 1);

	memcpy(copy, data, len);
	return snapfile_parse(f, copy, len, err, errlen);
}

START_TEST(roundtrip)
{
	struct snapfile f;
	struct snap_reader r;
	char err[256], s[64];
	size_t len;
	uint8_t *data = sample(&len), b[3];

	ck_assert_int_eq(len % 8, 0);
	ck_assert_int_eq(snapfile_parse(&f, data, len, err, sizeof(err)), 0);
	ck_assert_int_eq(memcmp(f.id, id, sizeof(id)), 0);
	ck_assert_str_eq(f.version, KVMLITE_VERSION_STRING);
	ck_assert_uint_eq(f.nr_sections, 3);
	ck_assert_int_eq(snapfile_section(&f, SNAP_CONFIG, 0, &r), 0);
	ck_assert_uint_eq(snap_get_u8(&r), 0xab);
	ck_assert_uint_eq(snap_get_u16(&r), 0xcdef);
	ck_assert_uint_eq(snap_get_u32(&r), 0x12345678);
	ck_assert_uint_eq(snap_get_u64(&r), 0x1122334455667788ULL);
	snap_get_str(&r, s, sizeof(s));
	ck_assert_str_eq(s, "a path");
	snap_get_str(&r, s, sizeof(s));
	ck_assert_str_eq(s, "");
	ck_assert_int_eq(snap_reader_done(&r), 0);
	ck_assert_int_eq(snapfile_section(&f, SNAP_VCPU, 7, &r), 0);
	snap_get_bytes(&r, b, 3);
	ck_assert_int_eq(memcmp(b, "xyz", 3), 0);
	ck_assert_int_eq(snap_reader_done(&r), 0);
	ck_assert_int_eq(snapfile_section(&f, SNAP_VCPU, 8, &r), 0);
	ck_assert_uint_eq(r.len, 0);
	ck_assert_int_eq(snapfile_section(&f, SNAP_VCPU, 9, &r), -ENOENT);
	ck_assert_int_eq(snapfile_section(&f, SNAP_UART, 0, &r), -ENOENT);
	snapfile_free(&f);
}
END_TEST

START_TEST(reader_bounds)
{
	static const uint8_t bytes[] = { 5, 0, 0, 0, 'a', 'b', 0, 'd', 'e' };
	struct snap_reader r = { bytes, 4, 0, 0 };
	char s[8];

	ck_assert_uint_eq(snap_get_u32(&r), 5);
	ck_assert_uint_eq(snap_get_u8(&r), 0); /* past the end */
	ck_assert_int_eq(r.err, -EINVAL);
	ck_assert_uint_eq(snap_get_u64(&r), 0); /* and stays failed */
	ck_assert_int_ne(snap_reader_done(&r), 0);
	/* A string with a NUL inside, one too long for its buffer, one
	 * longer than the section. */
	r = (struct snap_reader){ bytes, sizeof(bytes), 0, 0 };
	snap_get_str(&r, s, sizeof(s));
	ck_assert_int_eq(r.err, -EINVAL);
	r = (struct snap_reader){ bytes, sizeof(bytes), 0, 0 };
	snap_get_str(&r, s, 5);
	ck_assert_int_eq(r.err, -EINVAL);
	r = (struct snap_reader){ bytes, 7, 0, 0 };
	snap_get_str(&r, s, sizeof(s));
	ck_assert_int_eq(r.err, -EINVAL);
	ck_assert_str_eq(s, "");
	/* Unread bytes are an error too. */
	r = (struct snap_reader){ bytes, sizeof(bytes), 0, 0 };
	(void)snap_get_u32(&r);
	ck_assert_int_ne(snap_reader_done(&r), 0);
}
END_TEST

START_TEST(every_truncation_refused)
{
	struct snapfile f;
	char err[256];
	size_t len;
	uint8_t *data = sample(&len);

	for (size_t n = 0; n < len; n++) {
		ck_assert_int_eq(parse_copy(data, n, err, sizeof(err), &f),
				 -EINVAL);
		ck_assert_msg(strstr(err, "truncated") != NULL,
			      "prefix %zu: '%s'", n, err);
	}
	free(data);
}
END_TEST

START_TEST(every_flipped_byte_refused)
{
	struct snapfile f;
	char err[256];
	size_t len;
	uint8_t *data = sample(&len);

	/* Past the header's version (magic, format and version are
	 * refused for what they are), the id included. */
	for (size_t i = 32; i < len; i++) {
		data[i] ^= 0x01;
		ck_assert_int_eq(parse_copy(data, len, err, sizeof(err), &f),
				 -EINVAL);
		data[i] ^= 0x01;
	}
	data[len - 1] ^= 0x80;
	parse_copy(data, len, err, sizeof(err), &f);
	ck_assert_str_eq(err, "checksum mismatch (the file is corrupt)");
	free(data);
}
END_TEST

START_TEST(header_refused)
{
	struct snapfile f;
	char err[256];
	size_t len;
	uint8_t *data = sample(&len);

	memcpy(data, "KVMLSNAQ", 8);
	ck_assert_int_eq(parse_copy(data, len, err, sizeof(err), &f), -EINVAL);
	ck_assert_str_eq(err, "not a kvmlite snapshot (bad magic)");
	memcpy(data, SNAP_MAGIC, 8);
	le_put(data + 8, 4, SNAP_FORMAT + 1);
	ck_assert_int_eq(parse_copy(data, len, err, sizeof(err), &f), -EINVAL);
	{
		char want[32];

		snprintf(want, sizeof(want), "format %d ", SNAP_FORMAT + 1);
		ck_assert_msg(strstr(err, want) == err, "'%s'", err);
	}
	le_put(data + 8, 4, SNAP_FORMAT);
	memset(data + 16, 0, 16);
	memcpy(data + 16, "0.1.0\x01", 6);
	ck_assert_int_eq(parse_copy(data, len, err, sizeof(err), &f), -EINVAL);
	ck_assert_msg(strstr(err, "made by kvmlite 0.1.0?; this is "
				  "kvmlite " KVMLITE_VERSION_STRING) == err,
		      "'%s'", err);
	free(data);
}
END_TEST

/* Rewrite @data's checksum after an edit. */
static void fix_crc(uint8_t *data, size_t len)
{
	le_put(data + 40, 4, 0);
	le_put(data + 40, 4, snap_crc32(data, len));
}

START_TEST(sections_refused)
{
	struct snapfile f;
	char err[256];
	size_t len;
	uint8_t *data = sample(&len), *big;

	/* The first section's length past the end. */
	le_put(data + 64 + 8, 8, 1ULL << 40);
	fix_crc(data, len);
	ck_assert_int_eq(parse_copy(data, len, err, sizeof(err), &f), -EINVAL);
	ck_assert_msg(strstr(err, "section 0: ") == err, "'%s'", err);
	free(data);
	/* More sections counted than there are. */
	data = sample(&len);
	le_put(data + 44, 4, 4);
	fix_crc(data, len);
	ck_assert_int_eq(parse_copy(data, len, err, sizeof(err), &f), -EINVAL);
	ck_assert_msg(strstr(err, "section 3: truncated") == err, "'%s'", err);
	le_put(data + 44, 4, 1u << 31);
	fix_crc(data, len);
	ck_assert_int_eq(parse_copy(data, len, err, sizeof(err), &f), -EINVAL);
	ck_assert_msg(strstr(err, "sections cannot fit") != NULL, "'%s'", err);
	/* Fewer: bytes left over. */
	le_put(data + 44, 4, 2);
	fix_crc(data, len);
	ck_assert_int_eq(parse_copy(data, len, err, sizeof(err), &f), -EINVAL);
	ck_assert_msg(strstr(err, "after the last section") != NULL, "'%s'",
		      err);
	free(data);
	/* The same tag and index twice. */
	data = sample(&len);
	for (size_t off = 64; off < len;) {
		uint64_t l = le_get(data + off + 8, 8);

		if (le_get(data + off, 4) == SNAP_VCPU &&
		    le_get(data + off + 4, 4) == 8)
			le_put(data + off + 4, 4, 7);
		off += 16 + ((l + 7) & ~7ULL);
	}
	fix_crc(data, len);
	ck_assert_int_eq(parse_copy(data, len, err, sizeof(err), &f), -EINVAL);
	ck_assert_msg(strstr(err, "given twice") != NULL, "'%s'", err);
	/* Padding past the end of the file (header says longer). */
	big = malloc(len + 8);
	memcpy(big, data, len);
	memset(big + len, 0, 8);
	ck_assert_int_eq(parse_copy(big, len + 8, err, sizeof(err), &f),
			 -EINVAL);
	free(big);
	free(data);
}
END_TEST

START_TEST(writer_errors)
{
	struct snap_writer w;
	const uint8_t *out;
	size_t len;
	char *longs = malloc(SNAP_MAX_STRING + 1);

	/* Nothing written, a section left open, a string too long. */
	snap_writer_init(&w);
	ck_assert_int_eq(snap_finish(&w, id, &out, &len), -EINVAL);
	snap_writer_free(&w);
	snap_writer_init(&w);
	snap_begin(&w, SNAP_RTC, 0);
	ck_assert_int_eq(snap_finish(&w, id, &out, &len), -EINVAL);
	snap_writer_free(&w);
	snap_writer_init(&w);
	snap_begin(&w, SNAP_RTC, 0);
	memset(longs, 'x', SNAP_MAX_STRING);
	longs[SNAP_MAX_STRING] = '\0';
	snap_put_str(&w, longs);
	snap_end(&w);
	ck_assert_int_eq(snap_finish(&w, id, &out, &len), -ENAMETOOLONG);
	snap_writer_free(&w);
	free(longs);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("snapfile");
	TCase *tc = tcase_create("snapfile");

	tcase_add_test(tc, roundtrip);
	tcase_add_test(tc, reader_bounds);
	tcase_add_test(tc, every_truncation_refused);
	tcase_add_test(tc, every_flipped_byte_refused);
	tcase_add_test(tc, header_refused);
	tcase_add_test(tc, sections_refused);
	tcase_add_test(tc, writer_errors);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
