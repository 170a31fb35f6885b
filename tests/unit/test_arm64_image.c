/* The arm64 Image header (loader/arm64_image.c): a good header is taken
 * with its text_offset and footprint; corrupt or foreign ones are refused.
 * Neutral C: runs in the x86 build too. */
#include <errno.h>
#include <string.h>

#include "loader/arm64.h"
#include "unit.h"
#include "util.h"

static void make_header(uint8_t *img, uint64_t text_offset, uint64_t image_size,
			uint64_t flags)
{
	memset(img, 0, ARM64_IMAGE_HEADER_SIZE);
	le_put(img + 8, 8, text_offset);
	le_put(img + 16, 8, image_size);
	le_put(img + 24, 8, flags);
	le_put(img + 56, 4, ARM64_IMAGE_MAGIC);
}

START_TEST(good_header)
{
	uint8_t img[4096];
	struct arm64_image out;
	char err[200] = "";

	memset(img, 0xaa, sizeof(img));
	make_header(img, 0, 2 << 20, 0xa); /* 4K pages, anywhere */
	ck_assert_int_eq(
		arm64_image_parse(img, sizeof(img), &out, err, sizeof(err)), 0);
	ck_assert_uint_eq(out.text_offset, 0);
	ck_assert_uint_eq(out.footprint, 2 << 20); /* BSS counted */
	ck_assert_uint_eq(out.flags, 0xa);

	make_header(img, 0x80000, 1024, 0); /* image_size < file: the file */
	ck_assert_int_eq(
		arm64_image_parse(img, sizeof(img), &out, err, sizeof(err)), 0);
	ck_assert_uint_eq(out.text_offset, 0x80000);
	ck_assert_uint_eq(out.footprint, sizeof(img));
}
END_TEST

START_TEST(old_kernel_text_offset)
{
	uint8_t img[64];
	struct arm64_image out;
	char err[200];

	/* image_size 0: text_offset is 0x80000, whatever the field says. */
	make_header(img, 0x1234567, 0, 0);
	ck_assert_int_eq(
		arm64_image_parse(img, sizeof(img), &out, err, sizeof(err)), 0);
	ck_assert_uint_eq(out.text_offset, 0x80000);
}
END_TEST

START_TEST(refused)
{
	uint8_t img[4096];
	struct arm64_image out;
	char err[200];

	make_header(img, 0, 4096, 0);
	/* Too short for the header. */
	ck_assert_int_eq(arm64_image_parse(img, 63, &out, err, sizeof(err)),
			 -ENOEXEC);
	ck_assert_int_eq(arm64_image_parse(img, 0, &out, err, sizeof(err)),
			 -ENOEXEC);
	/* No magic. */
	img[56] ^= 1;
	ck_assert_int_eq(
		arm64_image_parse(img, sizeof(img), &out, err, sizeof(err)),
		-ENOEXEC);
	ck_assert_ptr_nonnull(strstr(err, "not an arm64 Image"));
	/* Big-endian. */
	make_header(img, 0, 4096, ARM64_IMAGE_FLAG_BE);
	ck_assert_int_eq(
		arm64_image_parse(img, sizeof(img), &out, err, sizeof(err)),
		-ENOEXEC);
	ck_assert_ptr_nonnull(strstr(err, "big-endian"));
	/* Unaligned or huge text_offset, absurd image_size. */
	make_header(img, 0x80001, 4096, 0);
	ck_assert_int_eq(
		arm64_image_parse(img, sizeof(img), &out, err, sizeof(err)),
		-EINVAL);
	make_header(img, 2 << 20, 4096, 0);
	ck_assert_int_eq(
		arm64_image_parse(img, sizeof(img), &out, err, sizeof(err)),
		-EINVAL);
	make_header(img, 0, UINT64_MAX, 0);
	ck_assert_int_eq(
		arm64_image_parse(img, sizeof(img), &out, err, sizeof(err)),
		-EINVAL);
	/* A gzip file (Image.gz) is named as such. */
	memset(img, 0, sizeof(img));
	img[0] = 0x1f;
	img[1] = 0x8b;
	ck_assert_int_eq(
		arm64_image_parse(img, sizeof(img), &out, err, sizeof(err)),
		-ENOEXEC);
	ck_assert_ptr_nonnull(strstr(err, "gzip"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("arm64_image");
	TCase *tc = tcase_create("header");

	tcase_add_test(tc, good_header);
	tcase_add_test(tc, old_kernel_text_offset);
	tcase_add_test(tc, refused);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
