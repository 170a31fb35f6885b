/* The arm64 Image header (booting.rst). Neutral C, no libfdt: the x86
 * build compiles it too for its unit test and fuzz target. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "loader/arm64.h"
#include "util.h"

int arm64_image_parse(const uint8_t *img, size_t size, struct arm64_image *out,
		      char *err, size_t errlen)
{
	uint64_t text_offset, image_size, flags;

	memset(out, 0, sizeof(*out));
	if (size >= 2 && img[0] == 0x1f && img[1] == 0x8b) {
		snprintf(err, errlen,
			 "a gzip-compressed Image (Image.gz): decompress it "
			 "first (zcat)");
		return -ENOEXEC;
	}
	if (size < ARM64_IMAGE_HEADER_SIZE ||
	    le_get(img + 56, 4) != ARM64_IMAGE_MAGIC) {
		snprintf(err, errlen,
			 "not an arm64 Image (no \"ARM\\x64\" magic at offset "
			 "56)");
		return -ENOEXEC;
	}
	text_offset = le_get(img + 8, 8);
	image_size = le_get(img + 16, 8);
	flags = le_get(img + 24, 8);
	if (flags & ARM64_IMAGE_FLAG_BE) {
		snprintf(err, errlen, "a big-endian arm64 Image");
		return -ENOEXEC;
	}
	if (!image_size)
		text_offset = ARM64_IMAGE_OLD_TEXT_OFFSET;
	/* Linux's are 0 or 0x80000: anything past 2 MiB or unaligned is a
	 * corrupt header, not a kernel to place. */
	if (text_offset % 4096 || text_offset >= MiB(2)) {
		snprintf(err, errlen,
			 "corrupt arm64 Image header: text_offset 0x%llx (want "
			 "4 KiB aligned, below 2 MiB)",
			 (unsigned long long)text_offset);
		return -EINVAL;
	}
	if (image_size > GiB(4)) {
		snprintf(err, errlen,
			 "corrupt arm64 Image header: image_size %llu",
			 (unsigned long long)image_size);
		return -EINVAL;
	}
	out->text_offset = text_offset;
	/* image_size covers the BSS; an old kernel's does not exist. */
	out->footprint = image_size > size ? image_size : size;
	out->flags = flags;
	return 0;
}
