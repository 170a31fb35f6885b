/* arm64 boot: the Image header (arm64_image.c), the device tree
 * (arm64_fdt.c) and the boot's layout (arm64_boot.c). */
#ifndef KVMLITE_LOADER_ARM64_H
#define KVMLITE_LOADER_ARM64_H

#include <stddef.h>
#include <stdint.h>

#include "loader/loader.h"

/* Documentation/arch/arm64/booting.rst: the 64-byte header. */
#define ARM64_IMAGE_MAGIC 0x644d5241u /* "ARM\x64", at offset 56 */
#define ARM64_IMAGE_HEADER_SIZE 64
#define ARM64_IMAGE_FLAG_BE 1ull /* flags bit 0: big-endian kernel */
/* image_size 0: a kernel older than 3.17, whose text_offset is 0x80000. */
#define ARM64_IMAGE_OLD_TEXT_OFFSET 0x80000ull

struct arm64_image {
	uint64_t text_offset; /* load at a 2 MiB aligned base + this */
	uint64_t footprint;   /* bytes from there the kernel may use */
	uint64_t flags;
};

/* Check @size bytes of a kernel file as an arm64 Image: 0, or -ENOEXEC
 * (not an Image: no magic, a compressed one, big-endian) or -EINVAL
 * (corrupt header), with a one-line reason in @err. */
int arm64_image_parse(const uint8_t *img, size_t size, struct arm64_image *out,
		      char *err, size_t errlen);

/* What the device tree describes. */
struct arm64_fdt_args {
	uint64_t ram_base, ram_size;
	unsigned int ncpus;
	const char *cmdline;
	uint64_t initrd_start, initrd_end; /* both 0: no initrd */
	const struct boot_mmio_dev *mmio_devs;
	unsigned int nr_mmio_devs;
};

/* The device tree into @buf (@size bytes): 0, or -E2BIG when it does not
 * fit, -EINVAL for a libfdt failure. */
int arm64_fdt_build(void *buf, size_t size, const struct arm64_fdt_args *a);

/* A vCPU's MPIDR affinity as KVM gives it (Aff0 = id % 16, Aff1 = id / 16):
 * its "reg" in the device tree. */
static inline uint32_t arm64_cpu_mpidr(unsigned int id)
{
	return ((id >> 4) & 0xff) << 8 | (id & 0xf);
}

/* The Image, the initrd and the device tree in guest RAM: the entry in
 * @out (pc, x0 = the DTB). As x86_boot_prepare(). */
int arm64_boot_prepare(const struct guest_mem *m, const struct boot_args *a,
		       struct boot_entry *out, char *err, size_t errlen);

#endif
