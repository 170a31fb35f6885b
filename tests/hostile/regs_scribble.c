/*
 * regs_scribble: pseudo-random writes (and reads) at every offset and
 * width (1, 2, 4 bytes) of the virtio-mmio window, and at the serial,
 * RTC and i8042 ports, thousands of times; random values are biased
 * towards small ones so that the status/feature/queue state machine is
 * really driven (DRIVER_OK and activation with random rings happen).
 * Queue addresses that would land in RAM are moved into SCRATCH so the
 * device can only scribble there. Then: the device still answers
 * MagicValue/Version/DeviceID, resets cleanly, and serves a real read.
 *
 * Steps (verdict 10 + step on failure): 1 MagicValue after scribbling,
 * 2 reset, 3 read after reset.
 */
#include "guest.h"

const char guest_name[] = "regs_scribble";

#define ROUNDS 20000

static uint32_t value(void)
{
	uint32_t r = rand32();

	switch (r & 3) {
	case 0:
		return r >> 30; /* 0..3 */
	case 1:
		return (r >> 8) & 0xff;
	case 2:
		return 1u << ((r >> 8) & 31);
	default:
		return rand32();
	}
}

/* Keep the device's ring writes away from our code, data and rings. */
static uint32_t tame(uint32_t off, uint32_t v)
{
	if (off >= VM_DESC_LO && off < VM_QUEUE_RESET && v < GUEST_RAM)
		v = SCRATCH_GPA | (v & (SCRATCH_GPA - 1));
	return v;
}

static void scribble_mmio(void)
{
	uint32_t r = rand32();
	uint32_t off = r % VM_WINDOW; /* constant modulus: no libgcc */
	uint32_t width = 1u << ((r >> 12) % 3);
	bool write = (r >> 16) & 3;
	uint32_t a = VIRTIO_BASE + off;

	off &= ~(width - 1);
	a = VIRTIO_BASE + off;
	if (!write) {
		if (width == 1)
			(void)mmio_r8(a);
		else if (width == 2)
			(void)mmio_r16(a);
		else
			(void)mmio_r32(a);
		return;
	}
	/* A few aligned 4-byte writes to the registers that matter most. */
	if (((r >> 20) & 7) == 0) {
		static const uint16_t hot[] = {
			VM_STATUS,	     VM_QUEUE_SEL,    VM_QUEUE_NUM,
			VM_QUEUE_READY,	     VM_QUEUE_NOTIFY, VM_DRV_FEATURES,
			VM_DRV_FEATURES_SEL, VM_INT_ACK,      VM_DESC_LO,
			VM_DRIVER_LO,	     VM_DEVICE_LO,    VM_QUEUE_RESET,
		};
		uint32_t h = hot[(r >> 23) % (sizeof(hot) / sizeof(hot[0]))];

		vw(h, tame(h, value()));
		return;
	}
	if (width == 1)
		mmio_w8(a, (uint8_t)value());
	else if (width == 2)
		mmio_w16(a, (uint16_t)value());
	else
		mmio_w32(a, tame(off, value()));
}

static void scribble_ports(void)
{
	static const uint16_t ports[] = { 0x3f8, 0x3f9, 0x3fa, 0x3fb,
					  0x3fc, 0x3fd, 0x3fe, 0x3ff,
					  0x70,	 0x71,	0x60,  0x64 };
	uint32_t r = rand32();
	uint16_t p = ports[r % (sizeof(ports) / sizeof(ports[0]))];
	uint32_t v = value();
	uint32_t width = 1u << ((r >> 8) % 3);

	/* i8042 output-port pulses (0xf0-0xff) and output-port writes
	 * (0xd1, then data) can be resets, which the VMM does on purpose
	 * (exit status 80): avoid them. */
	if (p == 0x64 && ((v & 0xf0) == 0xf0 || (v & 0xff) == 0xd1))
		v = 0xaa;
	if ((r >> 12) & 1) {
		if (width == 1)
			(void)inb(p);
		else if (width == 2)
			(void)inw(p);
		else
			(void)inl(p);
		return;
	}
	/* Wider writes at 0x3fe/0x3ff, 0x71, 0x64 would spill into other
	 * ports; keep them byte-wide there. */
	if (width == 1 || p == 0x3ff || p == 0x3fe || p == 0x71 || p == 0x64 ||
	    p == 0x60)
		outb(p, (uint8_t)v);
	else if (width == 2)
		outw(p, (uint16_t)v);
	else if (p <= 0x3fc)
		outl(p, v);
}

int guest_main(void)
{
	serial_init();
	puts_("regs_scribble: start\n");
	srand32(0xc0ffee);
	for (int i = 0; i < ROUNDS; i++) {
		scribble_mmio();
		if (!(i & 7))
			scribble_ports();
	}
	/* A second pass over every offset and width, in order. */
	for (uint32_t off = 0; off < VM_WINDOW + 0x40; off++) {
		mmio_w8(VIRTIO_BASE + off, (uint8_t)value());
		if (!(off & 1))
			mmio_w16(VIRTIO_BASE + off, (uint16_t)value());
		if (!(off & 3))
			mmio_w32(VIRTIO_BASE + off, tame(off, value()));
		(void)mmio_r32(VIRTIO_BASE + (off & ~3u));
	}
	serial_init();
	puts_("regs_scribble: scribbling done\n");
	if (vr(VM_MAGIC) != VIRTIO_MAGIC || vr(VM_VERSION) != 2 ||
	    vr(VM_DEVICE_ID) != 2) {
		note("MagicValue lost", vr(VM_MAGIC));
		return VERDICT_FAIL(1);
	}
	if (!vdev_reset()) {
		note("reset did not take, status", vr(VM_STATUS));
		return VERDICT_FAIL(2);
	}
	if (!blk_fresh_read(16, 3))
		return VERDICT_FAIL(3);
	puts_("regs_scribble: PASS\n");
	return VERDICT_PASS;
}
