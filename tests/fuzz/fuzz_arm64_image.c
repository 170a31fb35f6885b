/*
 * Fuzz the arm64 Image header parser (src/loader/arm64_image.c): the input
 * is the kernel file. Oracles: an error says why, with -ENOEXEC or -EINVAL
 * and a zeroed result; a success gives what arm64_boot_prepare() relies on
 * to place the kernel without overflow (text_offset 4 KiB aligned below
 * 2 MiB, 0x80000 for image_size 0; a footprint covering the file and at
 * most the file or 4 GiB; a little-endian kernel).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loader/arm64.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct arm64_image zero;
	struct arm64_image img;
	char err[256];
	int ret;

	err[0] = 0;
	memset(&img, 0xa5, sizeof(img));
	ret = arm64_image_parse(data, size, &img, err, sizeof(err));
	if (ret) {
		if ((ret != -ENOEXEC && ret != -EINVAL) || !err[0] ||
		    !memchr(err, 0, sizeof(err)) ||
		    memcmp(&img, &zero, sizeof(img)))
			abort();
		return 0;
	}
	if (size < ARM64_IMAGE_HEADER_SIZE || img.text_offset % 4096 ||
	    img.text_offset >= MiB(2) || img.footprint < size ||
	    (img.footprint > size && img.footprint > GiB(4)) ||
	    (img.flags & ARM64_IMAGE_FLAG_BE))
		abort();
	if (!le_get(data + 16, 8) &&
	    img.text_offset != ARM64_IMAGE_OLD_TEXT_OFFSET)
		abort();
	return 0;
}
