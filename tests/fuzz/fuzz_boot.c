/*
 * Fuzz the kernel loaders: the input is the kernel image (ELF vmlinux or
 * bzImage; built twice, as fuzz_elf and fuzz_bzimage, which differ only in
 * their seed corpora). x86_boot_prepare() on one reused 64 MiB guest
 * memory, with a fixed command line, a small initrd, 2 vCPUs and one
 * virtio-mmio window.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest_mem.h"
#include "x86_layout.h"
#include "loader/loader.h"

static struct guest_mem mem;
static bool mem_ready;
static uint8_t initrd[4096];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct boot_mmio_dev mmio = {
		.base = LAYOUT_VIRTIO_MMIO,
		.size = 0x200,
		.gsi = 5,
	};
	struct boot_args a = {
		.kernel = data,
		.kernel_size = size,
		.initrd = initrd,
		.initrd_size = sizeof(initrd),
		.cmdline = "console=ttyS0 reboot=k panic=-1 pci=off",
		.ncpus = 2,
		.mmio_devs = &mmio,
		.nr_mmio_devs = 1,
	};
	struct boot_entry e;
	char err[256];
	int ret;

	if (!mem_ready) {
		if (guest_mem_init(&mem, MiB(64)))
			abort();
		memset(initrd, 0x5a, sizeof(initrd));
		mem_ready = true;
	}
	err[0] = 0;
	ret = x86_boot_prepare(&mem, &a, &e, err, sizeof(err));
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "x86_boot_prepare: %d %s\n", ret, err);
	if (ret) {
		/* Every failure names a reason. */
		if (!err[0] || !memchr(err, 0, sizeof(err)))
			abort();
		return 0;
	}
	/* Entry state within guest RAM. */
	if (e.proto == BOOT_PROTO_PVH && e.entry >= mem.size)
		abort();
	return 0;
}
