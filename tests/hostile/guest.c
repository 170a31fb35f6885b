/* The hostile guests' library: see guest.h. */
#include "guest.h"

extern const char guest_name[];

uint16_t vq_size, vq_avail_idx, vq_used_seen;
uint32_t vdev_base = VIRTIO_BASE;
static uint32_t rng = 0x12345678;

void *memset(void *d, int c, size_t n)
{
	uint8_t *p = d;

	while (n--)
		*p++ = (uint8_t)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	uint8_t *p = d;
	const uint8_t *q = s;

	while (n--)
		*p++ = *q++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *p = a, *q = b;

	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p < *q ? -1 : 1;
	return 0;
}

/* ---- console ---- */

void serial_init(void)
{
	outb(0x3f8 + 1, 0x00); /* IER: no interrupts */
	outb(0x3f8 + 3, 0x80); /* DLAB */
	outb(0x3f8 + 0, 0x01); /* 115200 */
	outb(0x3f8 + 1, 0x00);
	outb(0x3f8 + 3, 0x03); /* 8N1 */
	outb(0x3f8 + 2, 0x07); /* FIFO on, cleared */
	outb(0x3f8 + 4, 0x03); /* DTR RTS, no loopback */
}

static void putc_(char c)
{
	for (int i = 0; i < 100000 && !(inb(0x3f8 + 5) & 0x20); i++)
		;
	outb(0x3f8, (uint8_t)c);
}

void puts_(const char *s)
{
	while (*s) {
		if (*s == '\n')
			putc_('\r');
		putc_(*s++);
	}
}

void put_hex(uint32_t v)
{
	static const char hex[] = "0123456789abcdef";

	puts_("0x");
	for (int i = 28; i >= 0; i -= 4)
		putc_(hex[(v >> i) & 15]);
}

void note(const char *msg, uint32_t val)
{
	puts_(guest_name);
	puts_(": ");
	puts_(msg);
	puts_(" ");
	put_hex(val);
	puts_("\n");
}

/* ---- misc ---- */

uint32_t rand32(void)
{
	/* xorshift32 */
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

void srand32(uint32_t seed)
{
	rng = seed ? seed : 1;
}

uint64_t deadline_ms(uint32_t ms)
{
	return rdtsc() + (uint64_t)ms * 4000000ull;
}

bool expired(uint64_t deadline)
{
	return rdtsc() > deadline;
}

/* ---- virtio ---- */

bool vdev_reset(void)
{
	vw(VM_STATUS, 0);
	return vr(VM_STATUS) == 0;
}

bool vdev_needs_reset(void)
{
	return vr(VM_STATUS) & ST_NEEDS_RESET;
}

bool vdev_find(uint32_t id)
{
	for (uint32_t i = 0; i < 19; i++) {
		vdev_base = VIRTIO_BASE + i * VM_WINDOW;
		if (vr(VM_MAGIC) == VIRTIO_MAGIC && vr(VM_DEVICE_ID) == id)
			return true;
	}
	vdev_base = VIRTIO_BASE;
	return false;
}

bool vq_setup_q(uint16_t q, uint16_t size, uint64_t desc, uint64_t avail,
		uint64_t used)
{
	vw(VM_QUEUE_SEL, q);
	if (vr(VM_QUEUE_NUM_MAX) < size)
		return false;
	vw(VM_QUEUE_NUM, size);
	vw(VM_DESC_LO, (uint32_t)desc);
	vw(VM_DESC_HI, (uint32_t)(desc >> 32));
	vw(VM_DRIVER_LO, (uint32_t)avail);
	vw(VM_DRIVER_HI, (uint32_t)(avail >> 32));
	vw(VM_DEVICE_LO, (uint32_t)used);
	vw(VM_DEVICE_HI, (uint32_t)(used >> 32));
	vw(VM_QUEUE_READY, 1);
	return vr(VM_QUEUE_READY) == 1;
}

bool vdev_init(uint32_t feat)
{
	if (vr(VM_DEVICE_ID) != 2)
		return false;
	return vdev_init_any(feat);
}

bool vdev_init_any(uint32_t feat)
{
	uint32_t st = ST_ACK | ST_DRIVER;

	if (vr(VM_MAGIC) != VIRTIO_MAGIC || vr(VM_VERSION) != 2)
		return false;
	if (!vdev_reset())
		return false;
	vw(VM_STATUS, ST_ACK);
	vw(VM_STATUS, st);
	vw(VM_DEV_FEATURES_SEL, 0);
	feat &= vr(VM_DEV_FEATURES);
	vw(VM_DRV_FEATURES_SEL, 1);
	vw(VM_DRV_FEATURES, 1); /* VERSION_1 */
	vw(VM_DRV_FEATURES_SEL, 0);
	vw(VM_DRV_FEATURES, feat);
	st |= ST_FEATURES_OK;
	vw(VM_STATUS, st);
	return vr(VM_STATUS) == st;
}

bool vq_setup_at(uint16_t size, uint64_t desc, uint64_t avail, uint64_t used)
{
	vq_size = size;
	vq_avail_idx = 0;
	vq_used_seen = 0;
	return vq_setup_q(0, size, desc, avail, used);
}

bool vq_setup(uint16_t size)
{
	memset(gpa(RING_GPA), 0, 0x3000);
	return vq_setup_at(size, DESC_GPA, AVAIL_GPA, USED_GPA);
}

bool vdev_driver_ok(void)
{
	uint32_t st = vr(VM_STATUS) | ST_DRIVER_OK;

	vw(VM_STATUS, st);
	return vr(VM_STATUS) & ST_DRIVER_OK;
}

void vq_put_desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	volatile struct vdesc *d = gpa(DESC_GPA + 16u * i);

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

void vq_offer(uint16_t head)
{
	volatile uint16_t *avail = gpa(AVAIL_GPA);

	avail[2 + (vq_avail_idx & (vq_size - 1))] = head;
	barrier();
	vq_avail_idx++;
	avail[1] = vq_avail_idx;
	barrier();
}

void vq_notify(void)
{
	vw(VM_QUEUE_NOTIFY, 0);
}

enum wait_result vq_wait(uint32_t ms, uint32_t *used_len)
{
	volatile uint16_t *used = gpa(USED_GPA);
	uint64_t dl = deadline_ms(ms);
	uint32_t n = 0;

	for (;;) {
		barrier();
		if (used[1] != vq_used_seen) {
			volatile uint32_t *e =
				gpa(USED_GPA + 4 +
				    8u * (vq_used_seen & (vq_size - 1)));

			if (used_len)
				*used_len = e[1];
			vq_used_seen++;
			return WAIT_USED;
		}
		/* An MMIO read is a VM exit: not on every spin. */
		if (!(++n & 0xff) && vdev_needs_reset())
			return WAIT_NEEDS_RESET;
		if (expired(dl))
			return vdev_needs_reset() ? WAIT_NEEDS_RESET
						  : WAIT_TIMEOUT;
		__asm__ volatile("pause");
	}
}

void blk_hdr(uint32_t type, uint64_t sector)
{
	volatile uint32_t *h = gpa(HDR_GPA);

	h[0] = type;
	h[1] = 0;
	h[2] = (uint32_t)sector;
	h[3] = (uint32_t)(sector >> 32);
}

static bool sector_ok(const uint8_t *p, uint64_t sector)
{
	char line[16];

	memcpy(line, DISK_MAGIC, 15);
	line[15] = (char)('A' + (uint32_t)sector % 26);
	for (int i = 0; i < 512; i += 16)
		if (memcmp(p + i, line, 16))
			return false;
	return true;
}

bool blk_read_check(uint64_t sector)
{
	volatile uint8_t *status = gpa(STATUS_GPA);
	uint16_t head = 0;
	uint32_t len = 0;

	memset(gpa(DATA_GPA), 0, 512);
	*status = BLK_S_NONE;
	blk_hdr(BLK_T_IN, sector);
	vq_put_desc(0, HDR_GPA, 16, F_NEXT, 1);
	vq_put_desc(1, DATA_GPA, 512, F_NEXT | F_WRITE, 2);
	vq_put_desc(2, STATUS_GPA, 1, F_WRITE, 0);
	vq_offer(head);
	vq_notify();
	if (vq_wait(10000, &len) != WAIT_USED) {
		note("read: no completion, status", vr(VM_STATUS));
		return false;
	}
	if (*status != BLK_S_OK || len != 513) {
		note("read: bad status/len", (uint32_t)*status << 16 | len);
		return false;
	}
	if (!sector_ok(gpa(DATA_GPA), sector)) {
		note("read: wrong data for sector", (uint32_t)sector);
		return false;
	}
	return true;
}

bool blk_fresh_read(uint16_t size, uint64_t sector)
{
	if (!vdev_init(0)) {
		note("bring-up: features refused, status", vr(VM_STATUS));
		return false;
	}
	if (!vq_setup(size)) {
		note("bring-up: queue not ready, size", size);
		return false;
	}
	if (!vdev_driver_ok()) {
		note("bring-up: DRIVER_OK refused, status", vr(VM_STATUS));
		return false;
	}
	return blk_read_check(sector);
}
