/*
 * Fuzz the snapshot state parser: the container (snapfile_parse) and every
 * section a restore decodes, as a restore reads them: CONFIG (then the
 * configuration's checks), the VM's and each vCPU's KVM state, the UART,
 * RTC, i8042 and ACPI port, and virtio slots 0 and 1 (transport, queues
 * and device state of a virtio-blk and a virtio-net on 2 MiB of guest
 * RAM), each device then processing its restored queues once. The input's
 * checksum is made right first, so that the fuzzer gets past it (a wrong
 * one is refused before anything else is read). Nothing may crash, leak
 * or touch memory outside guest RAM; a decoded vCPU's CPUID matches
 * itself; every parse error has a message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "devices/i8042.h"
#include "devices/platform_ports.h"
#include "devices/rtc.h"
#include "devices/serial8250.h"
#include "guest_mem.h"
#include "kvm.h"
#include "snapfile.h"
#include "snapshot.h"
#include "util.h"
#include "vcpu/x86_state.h"
#include "virtio/blk.h"
#include "virtio/net.h"
#include "virtio/slots.h"

#define MEM_BYTES MiB(2)

static struct guest_mem mem;
static struct serial8250 uart;
static struct rtc rtc;
static struct i8042 kbd;
static struct acpi_sleep_port acpi;
static struct virtio_slots slots;
static struct virtio_blk *blk;
static struct virtio_net *net;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_snapshot: %s\n", what);
	abort();
}

static void init_once(void)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
	struct virtio_net_config_opts no = { .mac = mac, .name = "fuzz" };
	struct virtio_blk_config_opts bo = { 0 };
	char img[] = "/tmp/kvmlite-fuzz-snapshot-XXXXXX", err[256];
	int sv[2], fd;

	if (guest_mem_init(&mem, MEM_BYTES) ||
	    serial8250_init(&uart, NULL, NULL, NULL) || rtc_init(&rtc) ||
	    i8042_init(&kbd, NULL))
		die("init");
	acpi_sleep_port_init(&acpi, NULL);
	fd = mkstemp(img);
	if (fd < 0 || ftruncate(fd, 64 * 1024))
		die("image");
	close(fd);
	bo.path = img;
	if (virtio_blk_create(&blk, &bo, &mem, err, sizeof(err)))
		die(err);
	unlink(img);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv))
		die("socketpair");
	no.tap_fd = sv[0];
	if (virtio_net_create(&net, &no, &mem, err, sizeof(err)))
		die(err);
	slots.slot[0] =
		(struct virtio_slot){ .kind = &virtio_blk_kind,
				      .dev = blk,
				      .mmio = virtio_blk_transport(blk) };
	slots.slot[1] =
		(struct virtio_slot){ .kind = &virtio_net_kind,
				      .dev = net,
				      .mmio = virtio_net_transport(net) };
	slots.nr = 2;
}

static void decode_vcpus(const struct snapfile *f)
{
	for (uint32_t i = 0; i < f->nr_sections; i++) {
		struct x86_vcpu_state s;
		struct snap_reader r;
		char err[256];

		if (f->sections[i].tag != SNAP_VCPU ||
		    snapfile_section(f, SNAP_VCPU, f->sections[i].index, &r))
			continue;
		if (!x86_vcpu_state_decode(&r, &s) &&
		    x86_vcpu_cpuid_matches(&s, s.cpuid, err, sizeof(err)))
			die("a CPUID does not match itself");
		x86_vcpu_state_free(&s);
	}
}

static void restore_devices(const struct snapfile *f)
{
	struct snap_reader r;
	char err[256];

	if (!snapfile_section(f, SNAP_UART, 0, &r))
		(void)serial8250_restore(&uart, &r);
	if (!snapfile_section(f, SNAP_RTC, 0, &r))
		(void)rtc_restore(&rtc, &r);
	if (!snapfile_section(f, SNAP_I8042, 0, &r))
		(void)i8042_restore(&kbd, &r);
	if (!snapfile_section(f, SNAP_PLATFORM, 0, &r))
		(void)acpi_sleep_port_restore(&acpi, &r);
	virtio_slots_quiesce(&slots, true);
	err[0] = '\0';
	if (virtio_slots_restore(&slots, f, NULL, err, sizeof(err)) && !err[0])
		die("a slot's restore failed without a message");
	virtio_slots_quiesce(&slots, false);
	/* Whatever the rings say now, processed as a worker would. */
	(void)virtio_blk_process_queue(blk, 0);
	(void)virtio_net_process(net);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snapshot_config sc;
	struct kvm_x86_vm_state vs;
	struct snapfile f;
	struct snap_reader r;
	uint8_t *copy;
	char err[512];

	if (!blk)
		init_once();
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (size >= SNAP_HEADER_BYTES) {
		le_put(copy + 40, 4, 0);
		le_put(copy + 40, 4, snap_crc32(copy, size));
	}
	err[0] = '\0';
	if (snapfile_parse(&f, copy, size, err, sizeof(err))) {
		if (!err[0])
			die("a parse error without a message");
		return 0;
	}
	memset(&sc, 0, sizeof(sc));
	kvmlite_config_init(&sc.c.cfg);
	if (!snapshot_config_decode(&f, &sc))
		(void)config_validate_machine(&sc.c.cfg, err, sizeof(err));
	snapshot_config_free(&sc);
	if (!snapfile_section(&f, SNAP_VM, 0, &r))
		(void)kvm_x86_vm_state_decode(&r, &vs);
	decode_vcpus(&f);
	restore_devices(&f);
	snapfile_free(&f);
	return 0;
}
