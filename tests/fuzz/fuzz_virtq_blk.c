/*
 * Fuzz the split-virtqueue parser and virtio-blk request handling with
 * arbitrary ring contents.
 *
 * Input: [0] log2 of the queue size (mod 9: 1..256), [1] flags (bit 0:
 * EVENT_IDX, bit 1: INDIRECT_DESC, bit 2: skip the device pass), [2..3]
 * the standalone pass's starting last_avail_idx; the rest is guest memory
 * from GPA 0. The rings are packed from GPA 0: descriptor table, avail
 * ring (2-aligned), used ring (4-aligned); see fuzz_layout() (and
 * gen_seeds.c, which writes seeds in this format).
 *
 * Two passes per input, each on a fresh copy of the memory:
 * 1. standalone: virtq_validate_layout, then virtq_pop in a bounded loop,
 *    every chain checked to lie inside guest RAM, virtio_blk_parse on it
 *    (the result checked too), virtq_push;
 * 2. the device: reset and bring up a virtio-blk (backed by a small
 *    memfd image) through its virtio-mmio registers with the same layout
 *    and features, then virtio_blk_process_queue, synchronously.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_layout.h"
#include "guest_mem.h"
#include "x86_layout.h"
#include "virtio/blk.h"
#include "virtio/mmio.h"
#include "virtio/virtq.h"

#include "../unit/virtio_driver.h"

#define MEM_BYTES MiB(2)
#define IMG_BYTES (64 * 512)

static struct guest_mem mem;
static struct virtio_blk *blk;
static struct virtio_mmio_dev *dev;
static int img_fd = -1;
static struct virtq_chain chain;
static struct blk_req req;
static uint8_t img_pattern[IMG_BYTES];

static void die(const char *what)
{
	fprintf(stderr, "fuzz_virtq_blk: %s\n", what);
	abort();
}

static void init_once(void)
{
	struct virtio_blk_config_opts o = { 0 };
	char path[64], err[256];

	if (guest_mem_init(&mem, MEM_BYTES))
		die("guest_mem_init");
	/* A memfd image: no disk I/O, fdatasync is free. */
	img_fd = memfd_create("fuzz-img", MFD_CLOEXEC);
	if (img_fd < 0)
		die("memfd_create");
	for (size_t i = 0; i < IMG_BYTES; i++)
		img_pattern[i] = (uint8_t)(i * 7 + 3);
	if (pwrite(img_fd, img_pattern, IMG_BYTES, 0) != IMG_BYTES)
		die("image write");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", img_fd);
	o.path = path;
	o.serial = "fuzz-serial";
	if (virtio_blk_create(&blk, &o, &mem, err, sizeof(err))) {
		fprintf(stderr, "fuzz_virtq_blk: %s\n", err);
		abort();
	}
	dev = virtio_blk_transport(blk);
}

static bool in_ram(const void *p, size_t len)
{
	const uint8_t *b = p;

	return b >= mem.base && len <= mem.size &&
	       (size_t)(b - mem.base) <= mem.size - len;
}

static void check_iovs(const struct iovec *iov, unsigned int nr, uint64_t total)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < nr; i++) {
		if (!in_ram(iov[i].iov_base, iov[i].iov_len))
			die("iovec outside guest RAM");
		sum += iov[i].iov_len;
	}
	if (sum != total)
		die("iovec lengths do not add up");
}

static void load_mem(const uint8_t *data, size_t size)
{
	memset(mem.base, 0, MEM_BYTES);
	memcpy(mem.base, data, size < MEM_BYTES ? size : MEM_BYTES);
}

static void standalone_pass(const struct fuzz_layout *l, uint16_t start)
{
	struct virtq q;

	virtq_reset(&q);
	q.size = l->size;
	q.desc_gpa = l->desc;
	q.avail_gpa = l->avail;
	q.used_gpa = l->used;
	q.event_idx = l->event_idx;
	q.indirect = l->indirect;
	if (virtq_validate_layout(&q, &mem))
		die("valid layout refused");
	q.last_avail_idx = start;
	q.used_idx = start;
	q.signalled_used = start;
	for (int n = 0; n < 2 * VIRTQ_MAX_SIZE + 4; n++) {
		int ret = virtq_pop(&q, &mem, &chain);

		if (ret <= 0)
			break;
		if (chain.head >= q.size)
			die("head out of range");
		if (chain.nr_out + chain.nr_in > VIRTQ_MAX_SEGS)
			die("too many segments");
		check_iovs(chain.iov, chain.nr_out, chain.out_len);
		check_iovs(chain.iov + chain.nr_out, chain.nr_in, chain.in_len);
		if (!virtio_blk_parse(&chain, &req)) {
			if (!in_ram(req.status_ptr, 1))
				die("status byte outside guest RAM");
			check_iovs(req.data, req.nr_data, req.data_len);
		}
		if (virtq_push(&q, chain.head, chain.in_len))
			die("push refused");
		(void)virtq_needs_interrupt(&q);
		if (n & 1)
			(void)virtq_enable_notify(&q);
		else
			virtq_disable_notify(&q);
	}
}

static void device_pass(const struct fuzz_layout *l)
{
	uint32_t st;
	uint64_t f = 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_BLK_F_FLUSH |
		     1ULL << VIRTIO_BLK_F_DISCARD |
		     1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
	eventfd_t v;

	f |= fuzz_ring_features(l);
	/* Keep the image deterministic across runs. */
	if (pwrite(img_fd, img_pattern, IMG_BYTES, 0) != IMG_BYTES)
		die("image rewrite");
	virtio_drv_reset(dev);
	st = virtio_drv_negotiate(dev, f);
	virtio_drv_setup_queue(dev, 0, l->size, l->desc, l->avail, l->used);
	if (virtio_drv_read32(dev, VIRTIO_MMIO_QUEUE_READY) != 1)
		die("queue not ready");
	if (!(virtio_drv_driver_ok(dev, st) & VIRTIO_STATUS_DRIVER_OK))
		die("DRIVER_OK refused");
	(void)eventfd_read(virtio_mmio_kick_fd(dev, 0), &v);
	/* Twice: the second sees what the first left (or the error state);
	 * a batch-budget stop re-kicks, so loop a few times. */
	for (int i = 0; i < 4; i++) {
		int ret = virtio_blk_process_queue(blk, 0);

		if (ret < 0 && !virtio_drv_needs_reset(dev))
			die("malformed ring without NEEDS_RESET");
		if (ret <= 0)
			break;
	}
	(void)eventfd_read(virtio_mmio_call_fd(dev), &v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_layout l;
	uint16_t start;

	if (!blk)
		init_once();
	if (size < FUZZ_VQ_HDR)
		return 0;
	fuzz_layout(data[0], data[1], &l);
	start = (uint16_t)(data[2] | data[3] << 8);
	data += FUZZ_VQ_HDR;
	size -= FUZZ_VQ_HDR;

	load_mem(data, size);
	standalone_pass(&l, start);
	if (!(l.flags & FUZZ_VQ_NO_DEVICE)) {
		load_mem(data, size);
		device_pass(&l);
	}
	return 0;
}
