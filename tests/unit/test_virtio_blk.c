/*
 * Unit tests for virtio-blk: a temporary image file, requests built into
 * real rings in guest memory, processed synchronously or by the worker.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest_mem.h"
#include "x86_layout.h"
#include "unit.h"
#include "virtio/blk.h"
#include "virtio/slots.h"
#include "virtio_driver.h"

#define QSIZE 16
#define DESC_GPA 0x10000ULL
#define AVAIL_GPA 0x11000ULL
#define USED_GPA 0x12000ULL
#define HDR_GPA 0x100000ULL
#define STATUS_GPA 0x110000ULL
#define DATA_GPA 0x200000ULL
#define IMG_BYTES (1024 * 1024)
#define IMG_SECTORS (IMG_BYTES / 512)

static struct guest_mem mem;
static char img[64];
static struct virtio_blk *blk;
static struct virtio_mmio_dev *dev;
/* The driver's side of queue 0; fresh_queue after each driver_up(). */
static const struct virtio_drv_queue fresh_queue = {
	.size = QSIZE, .desc = DESC_GPA, .avail = AVAIL_GPA, .used = USED_GPA
};
static struct virtio_drv_queue vq;
static char err[256];

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 7 + off / 512);
}

static void make_image(const char *path, size_t bytes)
{
	uint8_t *buf = malloc(bytes ? bytes : 1);
	int fd;

	for (size_t i = 0; i < bytes; i++)
		buf[i] = pattern(i);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, bytes), (ssize_t)bytes);
	close(fd);
	free(buf);
}

static void file_read(uint64_t off, void *buf, size_t len)
{
	int fd = open(img, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

/* True when the image still holds the original pattern at [off, +len). */
static bool file_is_pattern(uint64_t off, size_t len)
{
	uint8_t *buf = malloc(len);
	bool ok = true;

	file_read(off, buf, len);
	for (size_t i = 0; i < len; i++)
		ok = ok && buf[i] == pattern(off + i);
	free(buf);
	return ok;
}

static bool file_is_zero(uint64_t off, size_t len)
{
	uint8_t *buf = malloc(len);
	bool ok = true;

	file_read(off, buf, len);
	for (size_t i = 0; i < len; i++)
		ok = ok && !buf[i];
	free(buf);
	return ok;
}

static off_t file_size(void)
{
	struct stat st;

	ck_assert_int_eq(stat(img, &st), 0);
	return st.st_size;
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	ck_assert_int_eq(guest_mem_init(&mem, MiB(16)), 0);
	snprintf(img, sizeof(img), "%s/vblkXXXXXX", tmp ? tmp : "/tmp");
	if (strlen(img) >= sizeof(img) - 1)
		snprintf(img, sizeof(img), "/tmp/vblkXXXXXX");
	fd = mkstemp(img);
	ck_assert_int_ge(fd, 0);
	close(fd);
	make_image(img, IMG_BYTES);
	blk = NULL;
	dev = NULL;
	vq = fresh_queue;
	err[0] = 0;
}

static void teardown(void)
{
	virtio_blk_destroy(blk);
	unlink(img);
	guest_mem_free(&mem);
}

/* ---- a minimal driver (virtio_driver.h) ---- */

/* Bring the device up with @features (all offered ones when ~0). */
static void driver_up(uint64_t features)
{
	uint32_t st;

	dev = virtio_blk_transport(blk);
	if (features == ~0ULL)
		features = virtio_drv_device_features(dev);
	virtio_drv_reset(dev);
	/* Fresh rings, as a driver allocates them. */
	gmem_fill(&mem, DESC_GPA, 0, 0x3000);
	st = virtio_drv_negotiate(dev, features);
	ck_assert_uint_eq(virtio_drv_read32(dev, VIRTIO_MMIO_STATUS), st);
	virtio_drv_setup_queue(dev, 0, QSIZE, DESC_GPA, AVAIL_GPA, USED_GPA);
	ck_assert_uint_eq(virtio_drv_read32(dev, VIRTIO_MMIO_QUEUE_READY), 1);
	ck_assert_uint_eq(virtio_drv_driver_ok(dev, st),
			  st | VIRTIO_STATUS_DRIVER_OK);
	/* Activation kicked the queue: forget that. */
	(void)eventfd_read(virtio_mmio_kick_fd(dev, 0), &(eventfd_t){ 0 });
	vq = fresh_queue;
}

static void create(bool ro, const char *serial)
{
	struct virtio_blk_config_opts o = { .path = img,
					    .read_only = ro,
					    .serial = serial };
	int ret = virtio_blk_create(&blk, &o, &mem, err, sizeof(err));

	ck_assert_msg(ret == 0, "create: %d %s", ret, err);
	driver_up(~0ULL);
}

static void put_hdr(uint64_t gpa, uint32_t type, uint64_t sector)
{
	uint8_t h[16] = { 0 };

	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
	gmem_write(&mem, gpa, h, 16);
}

static uint8_t status_at(uint64_t gpa)
{
	uint8_t s;

	gmem_read(&mem, gpa, &s, 1);
	return s;
}

/* The next used entry; checks there is one. */
static struct virtq_used_elem next_used(void)
{
	ck_assert_uint_ne(virtio_drv_used_idx(&mem, &vq), vq.used_seen);
	return virtio_drv_take_used(&mem, &vq);
}

/* A simple request: header, one data buffer, status. */
static uint8_t simple_req(uint32_t type, uint64_t sector, uint32_t data_len,
			  uint32_t *used_len)
{
	bool in = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
	struct virtio_drv_seg s[3] = {
		{ HDR_GPA, 16, false },
		{ DATA_GPA, data_len, in },
		{ STATUS_GPA, 1, true },
	};
	struct virtq_used_elem e;

	put_hdr(HDR_GPA, type, sector);
	gmem_fill(&mem, STATUS_GPA, 0xee, 1);
	if (data_len) {
		virtio_drv_submit(&mem, &vq, s, 3);
	} else {
		s[1] = s[2];
		virtio_drv_submit(&mem, &vq, s, 2);
	}
	ck_assert_int_eq(virtio_blk_process_queue(blk, 0), 1);
	e = next_used();
	if (used_len)
		*used_len = e.len;
	return status_at(STATUS_GPA);
}

static uint64_t efd_value(int fd)
{
	eventfd_t v;

	if (eventfd_read(fd, &v) < 0)
		return 0;
	return v;
}

/* ---- creation ---- */

START_TEST(create_errors)
{
	struct virtio_blk_config_opts o = { .path = "/nonexistent/disk.img" };
	char path[128];

	ck_assert_int_eq(virtio_blk_create(&blk, &o, &mem, err, sizeof(err)),
			 -ENOENT);
	ck_assert_ptr_null(blk);
	ck_assert_msg(strstr(err, "disk /nonexistent/disk.img: ") == err &&
			      strstr(err, "No such file"),
		      "%s", err);

	o.path = "/tmp";
	ck_assert_int_lt(virtio_blk_create(&blk, &o, &mem, err, sizeof(err)),
			 0);
	ck_assert_msg(strstr(err, "disk /tmp: "), "%s", err);
	o.read_only = true;
	ck_assert_int_eq(virtio_blk_create(&blk, &o, &mem, err, sizeof(err)),
			 -EINVAL);
	ck_assert_msg(strstr(err, "not a regular file or block device"), "%s",
		      err);
	o.read_only = false;

	snprintf(path, sizeof(path), "%s.odd", img);
	make_image(path, 1000);
	o.path = path;
	ck_assert_int_eq(virtio_blk_create(&blk, &o, &mem, err, sizeof(err)),
			 -EINVAL);
	ck_assert_msg(strstr(err, "not a multiple of 512"), "%s", err);
	make_image(path, 0);
	ck_assert_int_eq(virtio_blk_create(&blk, &o, &mem, err, sizeof(err)),
			 -EINVAL);
	ck_assert_msg(strstr(err, "empty"), "%s", err);
	unlink(path);

	o.path = img;
	o.serial = "123456789012345678901"; /* 21 bytes */
	ck_assert_int_eq(virtio_blk_create(&blk, &o, &mem, err, sizeof(err)),
			 -EINVAL);
	o.path = "";
	ck_assert_int_eq(virtio_blk_create(&blk, &o, &mem, err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_null(blk);
}
END_TEST

START_TEST(lock_conflicts)
{
	struct virtio_blk_config_opts rw = { .path = img };
	struct virtio_blk_config_opts ro = { .path = img, .read_only = true };
	struct virtio_blk *b2 = NULL, *b3 = NULL;

	ck_assert_int_eq(virtio_blk_create(&blk, &rw, &mem, err, sizeof(err)),
			 0);
	ck_assert_int_eq(virtio_blk_create(&b2, &rw, &mem, err, sizeof(err)),
			 -EBUSY);
	ck_assert_msg(strstr(err, "in use by another process (locked)"), "%s",
		      err);
	ck_assert_int_eq(virtio_blk_create(&b2, &ro, &mem, err, sizeof(err)),
			 -EBUSY);
	virtio_blk_destroy(blk);
	blk = NULL;

	/* Readers share. */
	ck_assert_int_eq(virtio_blk_create(&b2, &ro, &mem, err, sizeof(err)),
			 0);
	ck_assert_int_eq(virtio_blk_create(&b3, &ro, &mem, err, sizeof(err)),
			 0);
	ck_assert_int_eq(virtio_blk_create(&blk, &rw, &mem, err, sizeof(err)),
			 -EBUSY);
	virtio_blk_destroy(b2);
	virtio_blk_destroy(b3);
	/* Released on destroy. */
	ck_assert_int_eq(virtio_blk_create(&blk, &rw, &mem, err, sizeof(err)),
			 0);
}
END_TEST

START_TEST(config_space)
{
	uint8_t cfg[VIRTIO_BLK_CONFIG_SIZE];
	uint64_t cap, f;
	uint32_t v;

	create(false, NULL);
	for (int i = 0; i < VIRTIO_BLK_CONFIG_SIZE; i++)
		virtio_mmio_io(dev, VIRTIO_MMIO_CONFIG + i, &cfg[i], 1, false);
	memcpy(&cap, cfg + VIRTIO_BLK_CFG_CAPACITY, 8);
	ck_assert_uint_eq(cap, IMG_SECTORS);
	memcpy(&v, cfg + VIRTIO_BLK_CFG_BLK_SIZE, 4);
	ck_assert_uint_eq(v, 512);
	memcpy(&v, cfg + VIRTIO_BLK_CFG_SEG_MAX, 4);
	ck_assert_uint_eq(v, VIRTQ_MAX_SIZE - 2);
	memcpy(&v, cfg + VIRTIO_BLK_CFG_MAX_DISCARD_SEG, 4);
	ck_assert_uint_eq(v, VIRTIO_BLK_MAX_DWZ_SEG);
	ck_assert_uint_eq(cfg[VIRTIO_BLK_CFG_WZ_MAY_UNMAP], 1);
	/* A 64-bit read of the capacity. */
	virtio_mmio_io(dev, VIRTIO_MMIO_CONFIG, (uint8_t *)&cap, 8, false);
	ck_assert_uint_eq(cap, IMG_SECTORS);

	f = virtio_drv_device_features(dev);
	ck_assert(f & 1ULL << VIRTIO_F_VERSION_1);
	ck_assert(f & 1ULL << VIRTIO_BLK_F_FLUSH);
	ck_assert(f & 1ULL << VIRTIO_BLK_F_DISCARD);
	ck_assert(f & 1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	ck_assert(f & 1ULL << VIRTIO_RING_F_EVENT_IDX);
	ck_assert(f & 1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	ck_assert(!(f & 1ULL << VIRTIO_BLK_F_RO));
	ck_assert(!(f & 1ULL << VIRTIO_BLK_F_MQ));
	ck_assert_uint_eq(virtio_drv_read32(dev, VIRTIO_MMIO_DEVICE_ID),
			  VIRTIO_ID_BLOCK);
}
END_TEST

/* ---- I/O ---- */

START_TEST(read_split_everywhere)
{
	/* Header in 3 pieces, data in 3 uneven pieces, the status sharing
	 * the last data descriptor. */
	struct virtio_drv_seg s[] = {
		{ HDR_GPA, 5, false },
		{ HDR_GPA + 5, 3, false },
		{ HDR_GPA + 8, 8, false },
		{ DATA_GPA, 100, true },
		{ DATA_GPA + 0x1000, 700, true },
		{ DATA_GPA + 0x2000, 224 + 1, true },
	};
	uint8_t buf[1024];
	struct virtq_used_elem e;

	create(false, NULL);
	put_hdr(HDR_GPA, VIRTIO_BLK_T_IN, 3);
	virtio_drv_submit(&mem, &vq, s, 6);
	ck_assert_int_eq(virtio_blk_process_queue(blk, 0), 1);
	e = next_used();
	ck_assert_uint_eq(e.id, 0);
	ck_assert_uint_eq(e.len, 1024 + 1);
	ck_assert_uint_eq(status_at(DATA_GPA + 0x2000 + 224), VIRTIO_BLK_S_OK);
	gmem_read(&mem, DATA_GPA, buf, 100);
	gmem_read(&mem, DATA_GPA + 0x1000, buf + 100, 700);
	gmem_read(&mem, DATA_GPA + 0x2000, buf + 800, 224);
	for (int i = 0; i < 1024; i++)
		ck_assert_uint_eq(buf[i], pattern(3 * 512 + i));
}
END_TEST

START_TEST(write_and_read_back)
{
	uint8_t buf[2048], back[2048];
	struct virtio_drv_seg s[] = {
		{ HDR_GPA, 16, false },
		{ DATA_GPA, 1000, false },
		{ DATA_GPA + 0x3000, 1048, false },
		{ STATUS_GPA, 1, true },
	};
	uint32_t used;

	create(false, NULL);
	for (int i = 0; i < 2048; i++)
		buf[i] = (uint8_t)(i ^ 0x5a);
	gmem_write(&mem, DATA_GPA, buf, 1000);
	gmem_write(&mem, DATA_GPA + 0x3000, buf + 1000, 1048);
	put_hdr(HDR_GPA, VIRTIO_BLK_T_OUT, 10);
	virtio_drv_submit(&mem, &vq, s, 4);
	ck_assert_int_eq(virtio_blk_process_queue(blk, 0), 1);
	ck_assert_uint_eq(next_used().len, 1);
	ck_assert_uint_eq(status_at(STATUS_GPA), VIRTIO_BLK_S_OK);
	file_read(10 * 512, back, sizeof(back));
	ck_assert_mem_eq(back, buf, sizeof(buf));
	ck_assert(file_is_pattern(0, 10 * 512));
	ck_assert(file_is_pattern(14 * 512, IMG_BYTES - 14 * 512));

	/* The last sectors of the disk, and back through a read. */
	gmem_fill(&mem, DATA_GPA + 0x10000, 0, 1024);
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_IN, 10, 1024, &used),
			  VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, 1025);
	gmem_read(&mem, DATA_GPA, back, 1024);
	ck_assert_mem_eq(back, buf, 1024);
	ck_assert_uint_eq(
		simple_req(VIRTIO_BLK_T_OUT, IMG_SECTORS - 2, 1024, NULL),
		VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(file_size(), IMG_BYTES);
}
END_TEST

START_TEST(flush_and_get_id)
{
	char id[24];
	uint32_t used;

	create(false, "kvmlite-disk-0");
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_FLUSH, 0, 0, &used),
			  VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, 1);
	gmem_fill(&mem, DATA_GPA, 'x', 24);
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_GET_ID, 0, 20, &used),
			  VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, 21);
	gmem_read(&mem, DATA_GPA, id, 24);
	ck_assert_mem_eq(id, "kvmlite-disk-0\0\0\0\0\0\0xxxx", 24);
	/* A short buffer gets what fits. */
	gmem_fill(&mem, DATA_GPA, 'x', 24);
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_GET_ID, 0, 4, &used),
			  VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, 5);
	gmem_read(&mem, DATA_GPA, id, 6);
	ck_assert_mem_eq(id, "kvmlxx", 6);
}
END_TEST

/* kvmlite_vm_counters' view of a disk: what completed, by kind. */
START_TEST(counters_count_completed_requests)
{
	char text[512];
	struct dumpbuf db = { text, sizeof(text), 0 };

	create(false, NULL);
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_OUT, 0, 1024, NULL),
			  VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_IN, 0, 512, NULL),
			  VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_IN, 2, 2048, NULL),
			  VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_FLUSH, 0, 0, NULL),
			  VIRTIO_BLK_S_OK);
	/* Past the end: an error, not a read. */
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_IN, IMG_SECTORS, 512, NULL),
			  VIRTIO_BLK_S_IOERR);
	virtio_blk_kind.counters(blk, &db);
	ck_assert_str_eq(text, "\"read_ops\":2,\"read_bytes\":2560,"
			       "\"write_ops\":1,\"write_bytes\":1024,"
			       "\"flush_ops\":1,\"discard_ops\":0,"
			       "\"errors\":1");
	ck_assert_str_eq(virtio_blk_kind.counter_name, "disk");
}
END_TEST

START_TEST(get_id_20_bytes)
{
	char id[21];

	create(true, "ABCDEFGHIJKLMNOPQRST");
	gmem_fill(&mem, DATA_GPA, '#', 21);
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_GET_ID, 0, 20, NULL),
			  VIRTIO_BLK_S_OK);
	gmem_read(&mem, DATA_GPA, id, 21);
	ck_assert_mem_eq(id, "ABCDEFGHIJKLMNOPQRST#", 21);
}
END_TEST

/* Put n discard/write-zeroes segments at DATA_GPA. */
static void put_dwz(int n, uint64_t sector, uint32_t nr, uint32_t flags)
{
	for (int i = 0; i < n; i++) {
		uint8_t raw[16];
		uint64_t s = sector + (uint64_t)i * nr;

		memcpy(raw, &s, 8);
		memcpy(raw + 8, &nr, 4);
		memcpy(raw + 12, &flags, 4);
		gmem_write(&mem, DATA_GPA + 16ULL * i, raw, 16);
	}
}

START_TEST(write_zeroes_and_discard)
{
	create(false, NULL);
	put_dwz(1, 8, 8, 0);
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, NULL),
			  VIRTIO_BLK_S_OK);
	ck_assert(file_is_zero(8 * 512, 8 * 512));
	ck_assert(file_is_pattern(0, 8 * 512));
	ck_assert(file_is_pattern(16 * 512, 512));

	/* Two segments, with unmap. */
	put_dwz(2, 100, 3, VIRTIO_BLK_DWZ_FLAG_UNMAP);
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_WRITE_ZEROES, 0, 32, NULL),
			  VIRTIO_BLK_S_OK);
	ck_assert(file_is_zero(100 * 512, 6 * 512));
	ck_assert(file_is_pattern(106 * 512, 512));
	ck_assert(file_is_pattern(99 * 512, 512));
	ck_assert_uint_eq(file_size(), IMG_BYTES);

	/* Discard: a hint, but it must succeed and keep the size. */
	put_dwz(1, 200, 16, 0);
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_DISCARD, 0, 16, NULL),
			  VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(file_size(), IMG_BYTES);
	ck_assert(file_is_pattern(216 * 512, 512));
}
END_TEST

START_TEST(discard_write_zeroes_malformed)
{
	create(false, NULL);
	/* Unmap on a discard, reserved flags anywhere: UNSUPP. */
	put_dwz(1, 0, 8, VIRTIO_BLK_DWZ_FLAG_UNMAP);
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_DISCARD, 0, 16, NULL),
			  VIRTIO_BLK_S_UNSUPP);
	put_dwz(1, 0, 8, 2);
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, NULL),
			  VIRTIO_BLK_S_UNSUPP);
	/* Out of range, overflowing, too many sectors or segments: IOERR,
	 * and nothing is done, not even the good first segment. */
	{
		uint64_t s = IMG_SECTORS - 4;
		uint32_t n = 8;

		put_dwz(1, 0, 8, 0);
		gmem_write(&mem, DATA_GPA + 16, &s, 8);
		gmem_write(&mem, DATA_GPA + 24, &n, 4);
		gmem_write(&mem, DATA_GPA + 28, (uint32_t[1]){ 0 }, 4);
	}
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_WRITE_ZEROES, 0, 32, NULL),
			  VIRTIO_BLK_S_IOERR);
	ck_assert(file_is_pattern(0, 8 * 512));
	put_dwz(1, 0xfffffffffffffff0ULL, 0x20, 0);
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, NULL),
			  VIRTIO_BLK_S_IOERR);
	put_dwz(1, 0, VIRTIO_BLK_MAX_DWZ_SECTORS + 1, 0);
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, NULL),
			  VIRTIO_BLK_S_IOERR);
	put_dwz(VIRTIO_BLK_MAX_DWZ_SEG + 1, 0, 1, 0);
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_WRITE_ZEROES, 0,
				     16 * (VIRTIO_BLK_MAX_DWZ_SEG + 1), NULL),
			  VIRTIO_BLK_S_IOERR);
	/* Payload not whole segments, or none. */
	put_dwz(1, 0, 8, 0);
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_WRITE_ZEROES, 0, 15, NULL),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_DISCARD, 0, 0, NULL),
			  VIRTIO_BLK_S_IOERR);
	ck_assert(file_is_pattern(0, IMG_BYTES));
}
END_TEST

START_TEST(out_of_range)
{
	create(false, NULL);
	gmem_fill(&mem, DATA_GPA, 0x11, 4096);
	/* Straddling the end, past it, and a sector that overflows. */
	ck_assert_uint_eq(
		simple_req(VIRTIO_BLK_T_OUT, IMG_SECTORS - 1, 1024, NULL),
		VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_OUT, IMG_SECTORS, 512, NULL),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_OUT, 1ULL << 63, 512, NULL),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_OUT, ~0ULL, 512, NULL),
			  VIRTIO_BLK_S_IOERR);
	ck_assert(file_is_pattern(0, IMG_BYTES));
	ck_assert_uint_eq(file_size(), IMG_BYTES);
	/* Reads too; the buffer is left alone. */
	ck_assert_uint_eq(
		simple_req(VIRTIO_BLK_T_IN, IMG_SECTORS - 1, 1024, NULL),
		VIRTIO_BLK_S_IOERR);
	for (int i = 0; i < 1024; i++) {
		uint8_t c;

		gmem_read(&mem, DATA_GPA + i, &c, 1);
		ck_assert_uint_eq(c, 0x11);
	}
	/* Zero sectors at the very end is fine. */
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_IN, IMG_SECTORS, 0, NULL),
			  VIRTIO_BLK_S_OK);
}
END_TEST

START_TEST(malformed_requests)
{
	struct virtio_drv_seg s[3];
	struct virtq_used_elem e;

	create(false, NULL);
	/* Header too short. */
	s[0] = (struct virtio_drv_seg){ HDR_GPA, 8, false };
	s[1] = (struct virtio_drv_seg){ STATUS_GPA, 1, true };
	put_hdr(HDR_GPA, VIRTIO_BLK_T_OUT, 0);
	virtio_drv_submit(&mem, &vq, s, 2);
	ck_assert_int_eq(virtio_blk_process_queue(blk, 0), 1);
	ck_assert_uint_eq(next_used().len, 1);
	ck_assert_uint_eq(status_at(STATUS_GPA), VIRTIO_BLK_S_IOERR);

	/* No status byte: the status "descriptor" is read-only. Returned
	 * untouched, the device carries on. */
	s[0] = (struct virtio_drv_seg){ HDR_GPA, 16, false };
	s[1] = (struct virtio_drv_seg){ DATA_GPA, 512, false };
	s[2] = (struct virtio_drv_seg){ STATUS_GPA, 1, false };
	gmem_fill(&mem, STATUS_GPA, 0xee, 1);
	virtio_drv_submit(&mem, &vq, s, 3);
	ck_assert_int_eq(virtio_blk_process_queue(blk, 0), 1);
	e = next_used();
	ck_assert_uint_eq(e.len, 0);
	ck_assert_uint_eq(status_at(STATUS_GPA), 0xee);
	ck_assert(file_is_pattern(0, 512));
	ck_assert(!virtio_mmio_needs_reset(dev));

	/* Unknown type. */
	ck_assert_uint_eq(simple_req(99, 0, 512, NULL), VIRTIO_BLK_S_UNSUPP);
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_IN + 2, 0, 0, NULL),
			  VIRTIO_BLK_S_UNSUPP);
	/* Data not whole sectors. */
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_OUT, 0, 513, NULL),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_IN, 0, 100, NULL),
			  VIRTIO_BLK_S_IOERR);
	ck_assert(file_is_pattern(0, IMG_BYTES));
}
END_TEST

START_TEST(parse_directly)
{
	struct virtq_chain c;
	struct blk_req r;
	uint8_t hdr[16] = { 0 }, data[1024], status = 0xee;

	memset(&c, 0, sizeof(c));
	/* Nothing at all. */
	ck_assert_int_eq(virtio_blk_parse(&c, &r), -EINVAL);
	/* Only a status. */
	c.iov[0] = (struct iovec){ &status, 1 };
	c.nr_in = 1;
	c.in_len = 1;
	ck_assert_int_eq(virtio_blk_parse(&c, &r), 0);
	ck_assert_uint_eq(r.status, VIRTIO_BLK_S_IOERR);
	ck_assert_ptr_eq(r.status_ptr, &status);
	/* A write: header split 1 + 15, data in the second piece. */
	hdr[0] = VIRTIO_BLK_T_OUT;
	hdr[8] = 7;
	c.iov[0] = (struct iovec){ hdr, 1 };
	c.iov[1] = (struct iovec){ hdr + 1, 15 };
	c.iov[2] = (struct iovec){ data, 1024 };
	c.iov[3] = (struct iovec){ &status, 1 };
	c.nr_out = 3;
	c.out_len = 1040;
	ck_assert_int_eq(virtio_blk_parse(&c, &r), 0);
	ck_assert_uint_eq(r.status, VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(r.type, VIRTIO_BLK_T_OUT);
	ck_assert_uint_eq(r.sector, 7);
	ck_assert_uint_eq(r.nr_data, 1);
	ck_assert_ptr_eq(r.data[0].iov_base, data);
	ck_assert_uint_eq(r.data_len, 1024);
	/* Header and data in one buffer. */
	memcpy(data, hdr, 16);
	c.iov[0] = (struct iovec){ data, 16 + 512 };
	c.iov[1] = (struct iovec){ &status, 1 };
	c.nr_out = 1;
	c.out_len = 528;
	ck_assert_int_eq(virtio_blk_parse(&c, &r), 0);
	ck_assert_uint_eq(r.status, VIRTIO_BLK_S_OK);
	ck_assert_ptr_eq(r.data[0].iov_base, data + 16);
	ck_assert_uint_eq(r.data[0].iov_len, 512);
	/* A read whose status shares the data buffer. */
	data[0] = VIRTIO_BLK_T_IN;
	c.iov[0] = (struct iovec){ data, 16 };
	c.iov[1] = (struct iovec){ data + 16, 513 };
	c.out_len = 16;
	c.in_len = 513;
	ck_assert_int_eq(virtio_blk_parse(&c, &r), 0);
	ck_assert_uint_eq(r.status, VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(r.data_len, 512);
	ck_assert_ptr_eq(r.status_ptr, data + 16 + 512);
}
END_TEST

START_TEST(read_only_device)
{
	uint64_t f;

	create(true, NULL);
	f = virtio_drv_device_features(dev);
	ck_assert(f & 1ULL << VIRTIO_BLK_F_RO);
	ck_assert(!(f & 1ULL << VIRTIO_BLK_F_DISCARD));
	ck_assert(!(f & 1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
	gmem_fill(&mem, DATA_GPA, 0x33, 4096);
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_OUT, 0, 4096, NULL),
			  VIRTIO_BLK_S_IOERR);
	put_dwz(1, 0, 8, 0);
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, NULL),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_DISCARD, 0, 16, NULL),
			  VIRTIO_BLK_S_IOERR);
	ck_assert(file_is_pattern(0, IMG_BYTES));
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_IN, 1, 512, NULL),
			  VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_FLUSH, 0, 0, NULL),
			  VIRTIO_BLK_S_OK);
}
END_TEST

START_TEST(malformed_ring_needs_reset)
{
	struct virtq_desc d = { DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 0 };
	int call;

	create(false, NULL);
	call = virtio_mmio_call_fd(dev);
	(void)efd_value(call);
	/* A self-loop. */
	gmem_write(&mem, DESC_GPA, &d, sizeof(d));
	gmem_write(&mem, AVAIL_GPA + 4, &(uint16_t){ 0 }, 2);
	gmem_write(&mem, AVAIL_GPA + 2, &(uint16_t){ 1 }, 2);
	ck_assert_int_lt(virtio_blk_process_queue(blk, 0), 0);
	ck_assert(virtio_mmio_needs_reset(dev));
	ck_assert_uint_ne(virtio_drv_read32(dev, VIRTIO_MMIO_STATUS) &
				  VIRTIO_STATUS_NEEDS_RESET,
			  0);
	ck_assert_uint_ne(virtio_drv_read32(dev, VIRTIO_MMIO_INTERRUPT_STATUS) &
				  VIRTIO_MMIO_INT_CONFIG,
			  0);
	ck_assert_uint_eq(efd_value(call), 1);
	ck_assert_int_eq(virtio_blk_process_queue(blk, 0), 0);
	/* Reset and bring up again: works. */
	driver_up(~0ULL);
	ck_assert(!virtio_mmio_needs_reset(dev));
	ck_assert_uint_eq(simple_req(VIRTIO_BLK_T_IN, 0, 512, NULL),
			  VIRTIO_BLK_S_OK);
}
END_TEST

START_TEST(batch_and_event_idx)
{
	uint64_t f;
	int call;
	struct virtio_drv_seg s[3] = {
		{ HDR_GPA, 16, false },
		{ DATA_GPA, 512, true },
		{ STATUS_GPA, 1, true },
	};

	create(false, NULL);
	call = virtio_mmio_call_fd(dev);
	/* Without EVENT_IDX: one interrupt per batch. */
	f = virtio_drv_device_features(dev) &
	    ~(1ULL << VIRTIO_RING_F_EVENT_IDX);
	driver_up(f);
	(void)efd_value(call);
	put_hdr(HDR_GPA, VIRTIO_BLK_T_IN, 0);
	for (int i = 0; i < 4; i++)
		virtio_drv_submit(&mem, &vq, s, 3);
	ck_assert_int_eq(virtio_blk_process_queue(blk, 0), 4);
	ck_assert_uint_eq(efd_value(call), 1);
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(next_used().len, 513);
	ck_assert_int_eq(virtio_blk_process_queue(blk, 0), 0);
	ck_assert_uint_eq(efd_value(call), 0);

	/* EVENT_IDX: the driver asks for an interrupt at used index 2. */
	driver_up(~0ULL);
	(void)efd_value(call);
	virtio_drv_set_used_event(&mem, &vq, 2);
	virtio_drv_submit(&mem, &vq, s, 3);
	virtio_drv_submit(&mem, &vq, s, 3);
	ck_assert_int_eq(virtio_blk_process_queue(blk, 0), 2);
	ck_assert_uint_eq(efd_value(call), 0);
	virtio_drv_submit(&mem, &vq, s, 3);
	ck_assert_int_eq(virtio_blk_process_queue(blk, 0), 1);
	ck_assert_uint_eq(efd_value(call), 1);
	/* avail_event tells the driver to kick for the next one. */
	ck_assert_uint_eq(virtio_drv_avail_event(&mem, &vq), 3);
}
END_TEST

START_TEST(worker_thread)
{
	struct virtio_drv_seg s[3] = {
		{ HDR_GPA, 16, false },
		{ DATA_GPA, 4096, false },
		{ STATUS_GPA, 1, true },
	};
	struct pollfd p;
	uint8_t back[4096];

	create(false, NULL);
	ck_assert_int_eq(virtio_blk_start(blk), 0);
	ck_assert_int_eq(virtio_blk_start(blk), -EBUSY);
	p.fd = virtio_mmio_call_fd(dev);
	p.events = POLLIN;
	(void)efd_value(p.fd);
	gmem_fill(&mem, DATA_GPA, 0x42, 4096);
	put_hdr(HDR_GPA, VIRTIO_BLK_T_OUT, 16);
	gmem_fill(&mem, STATUS_GPA, 0xee, 1);
	virtio_drv_submit(&mem, &vq, s, 3);
	/* The fallback path. */
	virtio_drv_write32(dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	ck_assert_int_eq(poll(&p, 1, 10000), 1);
	ck_assert_uint_eq(efd_value(p.fd), 1);
	ck_assert_uint_eq(virtio_drv_read32(dev, VIRTIO_MMIO_INTERRUPT_STATUS) &
				  VIRTIO_MMIO_INT_VRING,
			  VIRTIO_MMIO_INT_VRING);
	virtio_drv_write32(dev, VIRTIO_MMIO_INTERRUPT_ACK,
			   VIRTIO_MMIO_INT_VRING);
	ck_assert_uint_eq(next_used().len, 1);
	ck_assert_uint_eq(status_at(STATUS_GPA), VIRTIO_BLK_S_OK);
	file_read(16 * 512, back, sizeof(back));
	for (int i = 0; i < 4096; i++)
		ck_assert_uint_eq(back[i], 0x42);

	/* Reset while the worker runs, then bring up and go again. */
	driver_up(~0ULL);
	put_hdr(HDR_GPA, VIRTIO_BLK_T_IN, 16);
	s[1].write = true;
	gmem_fill(&mem, DATA_GPA, 0, 4096);
	virtio_drv_submit(&mem, &vq, s, 3);
	virtio_drv_write32(dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	ck_assert_int_eq(poll(&p, 1, 10000), 1);
	ck_assert_uint_eq(next_used().len, 4097);
	gmem_read(&mem, DATA_GPA, back, 4096);
	for (int i = 0; i < 4096; i++)
		ck_assert_uint_eq(back[i], 0x42);
	virtio_drv_reset(dev);
}
END_TEST

START_TEST(worker_many_requests)
{
	struct virtio_drv_seg s[3] = {
		{ HDR_GPA, 16, false },
		{ DATA_GPA, 512, true },
		{ STATUS_GPA, 1, true },
	};
	struct pollfd p;
	int done = 0;

	create(false, NULL);
	ck_assert_int_eq(virtio_blk_start(blk), 0);
	p.fd = virtio_mmio_call_fd(dev);
	p.events = POLLIN;
	put_hdr(HDR_GPA, VIRTIO_BLK_T_IN, 0);
	/* 1000 requests through a 16-entry ring, kicking via the fd as an
	 * ioeventfd would: exercises the index wrap and notification
	 * suppression against a running worker. */
	while (done < 1000) {
		uint16_t used;

		/* Interrupt after the last of the five (EVENT_IDX). */
		virtio_drv_set_used_event(&mem, &vq,
					  (uint16_t)(vq.used_seen + 4));
		for (int i = 0; i < 5; i++)
			virtio_drv_submit(&mem, &vq, s, 3);
		(void)eventfd_write(virtio_mmio_kick_fd(dev, 0), 1);
		for (;;) {
			used = virtio_drv_used_idx(&mem, &vq);
			if (used == (uint16_t)(vq.used_seen + 5))
				break;
			ck_assert_int_ge(poll(&p, 1, 10000), 1);
			(void)efd_value(p.fd);
		}
		for (int i = 0; i < 5; i++)
			ck_assert_uint_eq(next_used().len, 513);
		done += 5;
	}
	ck_assert_uint_eq(status_at(STATUS_GPA), VIRTIO_BLK_S_OK);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtio_blk");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, create_errors);
	tcase_add_test(tc, lock_conflicts);
	tcase_add_test(tc, config_space);
	tcase_add_test(tc, read_split_everywhere);
	tcase_add_test(tc, write_and_read_back);
	tcase_add_test(tc, flush_and_get_id);
	tcase_add_test(tc, counters_count_completed_requests);
	tcase_add_test(tc, get_id_20_bytes);
	tcase_add_test(tc, write_zeroes_and_discard);
	tcase_add_test(tc, discard_write_zeroes_malformed);
	tcase_add_test(tc, out_of_range);
	tcase_add_test(tc, malformed_requests);
	tcase_add_test(tc, parse_directly);
	tcase_add_test(tc, read_only_device);
	tcase_add_test(tc, malformed_ring_needs_reset);
	tcase_add_test(tc, batch_and_event_idx);
	tcase_add_test(tc, worker_thread);
	tcase_add_test(tc, worker_many_requests);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
