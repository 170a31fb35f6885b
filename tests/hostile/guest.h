/*
 * A tiny freestanding library for the hostile guests: port I/O, MMIO,
 * a serial console, test-exit verdicts, and a minimal virtio-mmio /
 * virtio-blk driver for the first disk's window (0xd0000000).
 *
 * Guest memory map (the guests run with --memory 64M):
 *	1 MiB		code, data, bss, stack
 *	RING (4 MiB)	descriptor table, avail ring, used ring
 *	BUF (5 MiB)	request headers, data, status bytes, indirect tables
 *	SCRATCH (32 MiB) what regs_scribble's random queue addresses may hit
 */
#ifndef HOSTILE_GUEST_H
#define HOSTILE_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VERDICT_PASS 1
/* Failures: 10 + the step that failed (see each guest). */
#define VERDICT_FAIL(step) (10 + (step))

#define GUEST_RAM (64u << 20)
#define VIRTIO_BASE 0xd0000000u
#define RING_GPA 0x400000u
#define DESC_GPA RING_GPA
#define AVAIL_GPA (RING_GPA + 0x1000u)
#define USED_GPA (RING_GPA + 0x2000u)
#define HDR_GPA 0x500000u
#define DATA_GPA 0x510000u
#define STATUS_GPA 0x520000u
#define ITAB_GPA 0x530000u
#define BIG_GPA 0x600000u /* 16 MiB of whatever */
#define SCRATCH_GPA 0x2000000u

/* The test script fills sector N of the disk image with the 16-byte
 * line "KVMLITE-SECTOR-" + (char)('A' + N % 26), repeated. */
#define DISK_MAGIC "KVMLITE-SECTOR-"

/* virtio-mmio registers (src/virtio/mmio.h). */
#define VM_MAGIC 0x000
#define VM_VERSION 0x004
#define VM_DEVICE_ID 0x008
#define VM_VENDOR_ID 0x00c
#define VM_DEV_FEATURES 0x010
#define VM_DEV_FEATURES_SEL 0x014
#define VM_DRV_FEATURES 0x020
#define VM_DRV_FEATURES_SEL 0x024
#define VM_QUEUE_SEL 0x030
#define VM_QUEUE_NUM_MAX 0x034
#define VM_QUEUE_NUM 0x038
#define VM_QUEUE_READY 0x044
#define VM_QUEUE_NOTIFY 0x050
#define VM_INT_STATUS 0x060
#define VM_INT_ACK 0x064
#define VM_STATUS 0x070
#define VM_DESC_LO 0x080
#define VM_DESC_HI 0x084
#define VM_DRIVER_LO 0x090
#define VM_DRIVER_HI 0x094
#define VM_DEVICE_LO 0x0a0
#define VM_DEVICE_HI 0x0a4
#define VM_QUEUE_RESET 0x0c0
#define VM_CONFIG_GEN 0x0fc
#define VM_CONFIG 0x100
#define VM_WINDOW 0x200
#define VIRTIO_MAGIC 0x74726976u

#define ST_ACK 0x01
#define ST_DRIVER 0x02
#define ST_DRIVER_OK 0x04
#define ST_FEATURES_OK 0x08
#define ST_NEEDS_RESET 0x40
#define ST_FAILED 0x80

#define F_NEXT 1
#define F_WRITE 2
#define F_INDIRECT 4

/* Feature bits (low word) and VERSION_1 (bit 0 of the high word). */
#define FEAT_FLUSH (1u << 9)
#define FEAT_DISCARD (1u << 13)
#define FEAT_WZ (1u << 14)
#define FEAT_INDIRECT (1u << 28)
#define FEAT_EVENT_IDX (1u << 29)

#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_T_FLUSH 4
#define BLK_T_GET_ID 8
#define BLK_T_DISCARD 11
#define BLK_T_WZ 13
#define BLK_S_OK 0
#define BLK_S_IOERR 1
#define BLK_S_UNSUPP 2
#define BLK_S_NONE 0xff /* what we pre-fill the status byte with */

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
} __attribute__((packed));

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint16_t inw(uint16_t port)
{
	uint16_t v;

	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void mmio_w8(uint32_t a, uint8_t v)
{
	*(volatile uint8_t *)a = v;
}
static inline void mmio_w16(uint32_t a, uint16_t v)
{
	*(volatile uint16_t *)a = v;
}
static inline void mmio_w32(uint32_t a, uint32_t v)
{
	*(volatile uint32_t *)a = v;
}
static inline uint8_t mmio_r8(uint32_t a)
{
	return *(volatile uint8_t *)a;
}
static inline uint16_t mmio_r16(uint32_t a)
{
	return *(volatile uint16_t *)a;
}
static inline uint32_t mmio_r32(uint32_t a)
{
	return *(volatile uint32_t *)a;
}

/* The window the driver below talks to: the first disk's unless a guest
 * picks another device (vdev_find). */
extern uint32_t vdev_base;

static inline uint32_t vr(uint32_t off)
{
	return mmio_r32(vdev_base + off);
}
static inline void vw(uint32_t off, uint32_t v)
{
	mmio_w32(vdev_base + off, v);
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static inline void barrier(void)
{
	__asm__ volatile("mfence" ::: "memory");
}

static inline void *gpa(uint32_t a)
{
	return (void *)a;
}

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

void serial_init(void);
void puts_(const char *s);
void put_hex(uint32_t v);
/* "name: msg 0xVAL" and a newline. */
void note(const char *msg, uint32_t val);

uint32_t rand32(void);
void srand32(uint32_t seed);

/* Deadline helpers: a budget of about @ms milliseconds (assuming a TSC of
 * at most 4 GHz; a slower TSC only makes the wait longer). */
uint64_t deadline_ms(uint32_t ms);
bool expired(uint64_t deadline);

/* ---- the virtio-blk driver ---- */

/* Reset, then ACK, DRIVER, features (@feat low word, VERSION_1 always),
 * FEATURES_OK. False when the device refuses. */
bool vdev_init(uint32_t feat);
/* The same for the device in the current window, whatever its kind. */
bool vdev_init_any(uint32_t feat);
/* Point vdev_base at the first window with DeviceID @id; false if none
 * of the first 19 has it. */
bool vdev_find(uint32_t id);
/* Queue @q of @size at the given rings (zeroed by the caller). */
bool vq_setup_q(uint16_t q, uint16_t size, uint64_t desc, uint64_t avail,
		uint64_t used);
/* Queue 0 of @size at the standard ring GPAs (zeroed first). Returns
 * QueueReady as read back. */
bool vq_setup(uint16_t size);
bool vq_setup_at(uint16_t size, uint64_t desc, uint64_t avail, uint64_t used);
/* DRIVER_OK; true when it stuck. */
bool vdev_driver_ok(void);
/* Reset, check it reads back 0. */
bool vdev_reset(void);
bool vdev_needs_reset(void);

/* Driver ring state of the current queue. */
extern uint16_t vq_size, vq_avail_idx, vq_used_seen;

void vq_put_desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next);
/* Publish @head in the avail ring (does not notify). */
void vq_offer(uint16_t head);
void vq_notify(void);

enum wait_result { WAIT_USED, WAIT_NEEDS_RESET, WAIT_TIMEOUT };
/* Wait for the next used entry or the error state, bounded. */
enum wait_result vq_wait(uint32_t ms, uint32_t *used_len);

/* A blk request header at HDR_GPA. */
void blk_hdr(uint32_t type, uint64_t sector);
/* Read sector @sector (whole 3-descriptor chain from descriptor 0) into
 * DATA_GPA and check its contents; returns true on success. */
bool blk_read_check(uint64_t sector);
/* Full bring-up (reset, features, queue of @size, DRIVER_OK) then a
 * checked read: proves the device works. */
bool blk_fresh_read(uint16_t size, uint64_t sector);

#endif
