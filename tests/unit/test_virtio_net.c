/*
 * Unit tests for virtio-net and the TAP/MAC helpers: rings crafted in guest
 * memory, the device driven through its virtio-mmio registers, and one end
 * of a SOCK_SEQPACKET socketpair standing in for the TAP (it keeps frame
 * boundaries as a TAP does). No /dev/kvm needed; a real TAP only for one
 * check, skipped loudly when /dev/net/tun is unusable.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "guest_mem.h"
#include "x86_layout.h"
#include "unit.h"
#include "virtio/net.h"
#include "virtio/slots.h"
#include "virtio/tap.h"
#include "virtio_driver.h"

#define QSIZE 32
#define BUF_GPA 0x100000ULL /* rx buffers, 64 KiB apart when big */
#define TXBUF_GPA 0x800000ULL
#define HDR VIRTIO_NET_HDR_BYTES

static struct guest_mem mem;
static struct virtio_net *net;
static struct virtio_mmio_dev *dev;
/* The driver's side of the queues. */
static struct virtio_drv_queue dq[2];
static struct virtio_drv_queue *const rxq = &dq[VIRTIO_NET_RXQ];
static struct virtio_drv_queue *const txq = &dq[VIRTIO_NET_TXQ];
static int sv[2]; /* sv[0]: the device's "tap", sv[1]: the network */
static char err[256];

/* A field of the device's own state, as its line of the state dump shows
 * it ("tx_wait=1", "rx_len=1514"). */
static unsigned long net_state(const char *key)
{
	char buf[4096], want[64];
	struct dumpbuf b = { buf, sizeof(buf), 0 };
	const char *p;

	virtio_mmio_dump(dev, "t", &b);
	snprintf(want, sizeof(want), " %s=", key);
	p = strstr(buf, want);
	ck_assert_msg(p, "no %s in the dump: %s", key, buf);
	return strtoul(p + strlen(want), NULL, 10);
}
static const uint8_t test_mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };

static const uint64_t base_features = 1ULL << VIRTIO_F_VERSION_1 |
				      1ULL << VIRTIO_NET_F_MAC |
				      1ULL << VIRTIO_NET_F_STATUS;

/*
 * A "TAP" that misbehaves on demand. libkvmlite is linked statically, so
 * its readv() calls resolve to this definition (under ASan too: an
 * executable's own definition comes before the runtime's interceptor); the
 * real call is made with syscall(). Only reads of fake_fd are touched:
 * - fake_excess > 0: the next one reads as usual but returns fake_excess
 *   bytes more than the buffers it was given hold (a broken backend);
 * - fake_frames > 0: no read at all: each call sleeps fake_delay_ms (a slow
 *   backend) and "receives" a frame of fake_frame_len zero bytes, until
 *   fake_frames have come.
 * fake_reads counts the calls either way.
 */
static int fake_fd = -1;
static ssize_t fake_excess;
static int fake_frames, fake_delay_ms;
static size_t fake_frame_len;
static int fake_reads; /* atomic */

ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	size_t offered = 0;
	ssize_t r;

	if (fd != fake_fd || fd < 0 ||
	    (!__atomic_load_n(&fake_excess, __ATOMIC_SEQ_CST) &&
	     !__atomic_load_n(&fake_frames, __ATOMIC_SEQ_CST)))
		return syscall(SYS_readv, fd, iov, cnt);
	__atomic_fetch_add(&fake_reads, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < cnt; i++)
		offered += iov[i].iov_len;
	if (__atomic_load_n(&fake_frames, __ATOMIC_SEQ_CST)) {
		size_t len =
			fake_frame_len < offered ? fake_frame_len : offered;

		__atomic_fetch_sub(&fake_frames, 1, __ATOMIC_SEQ_CST);
		usleep((useconds_t)fake_delay_ms * 1000);
		for (int i = 0, done = 0; i < cnt && (size_t)done < len; i++) {
			size_t k = iov[i].iov_len;

			if (k > len - (size_t)done)
				k = len - (size_t)done;
			memset(iov[i].iov_base, 0, k);
			done += (int)k;
		}
		return (ssize_t)len;
	}
	r = syscall(SYS_readv, fd, iov, cnt);
	if (r < 0)
		return r;
	return (ssize_t)offered +
	       __atomic_exchange_n(&fake_excess, 0, __ATOMIC_SEQ_CST);
}

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Bring the device up with @features, an rx queue of @rx_size entries
 * (<= 256) and a tx queue of QSIZE. */
static void driver_up_rx(uint64_t features, uint16_t rx_size)
{
	uint32_t st;

	virtio_drv_reset(dev);
	gmem_fill(&mem, 0x10000, 0, 0x20000);
	st = virtio_drv_negotiate(dev, features);
	ck_assert_uint_eq(virtio_drv_read32(dev, VIRTIO_MMIO_STATUS), st);
	for (int q = 0; q < 2; q++) {
		uint16_t size = q == VIRTIO_NET_RXQ ? rx_size : QSIZE;

		dq[q] = (struct virtio_drv_queue){
			.size = size,
			.desc = 0x10000 + 0x10000ULL * q,
			.avail = 0x11000 + 0x10000ULL * q,
			.used = 0x12000 + 0x10000ULL * q,
		};
		virtio_drv_write32(dev, VIRTIO_MMIO_QUEUE_SEL, (uint32_t)q);
		ck_assert_uint_eq(
			virtio_drv_read32(dev, VIRTIO_MMIO_QUEUE_NUM_MAX),
			VIRTQ_MAX_SIZE);
		virtio_drv_setup_queue(dev, (unsigned int)q, size, dq[q].desc,
				       dq[q].avail, dq[q].used);
		ck_assert_uint_eq(
			virtio_drv_read32(dev, VIRTIO_MMIO_QUEUE_READY), 1);
	}
	ck_assert_uint_eq(virtio_drv_driver_ok(dev, st),
			  st | VIRTIO_STATUS_DRIVER_OK);
}

/* Bring the device up with @features. */
static void driver_up(uint64_t features)
{
	driver_up_rx(features, QSIZE);
}

static void setup(void)
{
	struct virtio_net_config_opts o;
	int ret;

	ck_assert_int_eq(guest_mem_init(&mem, MiB(16)), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	o = (struct virtio_net_config_opts){ sv[0], test_mac, "test", false,
					     false };
	ret = virtio_net_create(&net, &o, &mem, err, sizeof(err));
	ck_assert_msg(ret == 0, "create: %d %s", ret, err);
	dev = virtio_net_transport(net);
	fake_fd = sv[0];
	/* The network side does not block the test. */
	fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK);
}

static void teardown(void)
{
	virtio_net_destroy(net); /* closes sv[0] */
	close(sv[1]);
	guest_mem_free(&mem);
}

/* The next used entry of queue @q; checks there is one. */
static struct virtq_used_elem next_used(int q)
{
	ck_assert_uint_ne(virtio_drv_used_idx(&mem, &dq[q]), dq[q].used_seen);
	return virtio_drv_take_used(&mem, &dq[q]);
}

/* Interrupts raised since the last call (the call eventfd's count). */
static uint64_t irqs(void)
{
	eventfd_t v = 0;

	if (eventfd_read(virtio_mmio_call_fd(dev), &v) < 0)
		return 0;
	return v;
}

static struct virtio_net_stats stats(void)
{
	struct virtio_net_stats s;

	virtio_net_get_stats(net, &s);
	return s;
}

static uint8_t pat(size_t i, unsigned int seed)
{
	return (uint8_t)(i * 31 + seed * 7 + (i >> 8));
}

/* A frame: a vnet header with @hdr_flags, then @len pattern bytes. */
static uint8_t *make_frame(size_t len, unsigned int seed, uint8_t hdr_flags)
{
	uint8_t *f = calloc(1, HDR + len);

	f[0] = hdr_flags;
	f[10] = 0xee; /* num_buffers: the device must overwrite it */
	f[11] = 0xee;
	for (size_t i = 0; i < len; i++)
		f[HDR + i] = pat(i, seed);
	return f;
}

/* Put frame @f of @len bytes (header included) at @gpa as a tx chain
 * cut at the offsets in @cuts (ascending, < len). */
static void tx_frame_split(uint64_t gpa, const uint8_t *f, size_t len,
			   const uint32_t *cuts, int nr_cuts)
{
	struct virtio_drv_seg s[16];
	uint32_t prev = 0;
	int n = 0;

	gmem_write(&mem, gpa, f, len);
	for (int i = 0; i <= nr_cuts; i++) {
		uint32_t end = i < nr_cuts ? cuts[i] : (uint32_t)len;

		s[n++] = (struct virtio_drv_seg){ gpa + prev, end - prev,
						  false };
		prev = end;
	}
	virtio_drv_submit(&mem, txq, s, n);
}

static void tx_frame(uint64_t gpa, const uint8_t *f, size_t len)
{
	tx_frame_split(gpa, f, len, NULL, 0);
}

/* Receive one frame on the network side; its length or -1. */
static ssize_t net_recv(uint8_t *buf, size_t len)
{
	return recv(sv[1], buf, len, MSG_DONTWAIT);
}

/* ---- configuration ---- */

START_TEST(config_and_features)
{
	uint64_t f = virtio_drv_device_features(dev);
	uint8_t b[8];

	ck_assert_uint_eq(virtio_drv_read32(dev, VIRTIO_MMIO_DEVICE_ID),
			  VIRTIO_ID_NET);
	ck_assert(f & 1ULL << VIRTIO_F_VERSION_1);
	ck_assert(f & 1ULL << VIRTIO_RING_F_EVENT_IDX);
	ck_assert(f & 1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	ck_assert(f & 1ULL << VIRTIO_NET_F_MAC);
	ck_assert(f & 1ULL << VIRTIO_NET_F_STATUS);
	ck_assert(f & 1ULL << VIRTIO_NET_F_CSUM);
	ck_assert(f & 1ULL << VIRTIO_NET_F_GUEST_CSUM);
	ck_assert(f & 1ULL << VIRTIO_NET_F_HOST_TSO4);
	ck_assert(f & 1ULL << VIRTIO_NET_F_HOST_TSO6);
	ck_assert(f & 1ULL << VIRTIO_NET_F_GUEST_TSO4);
	ck_assert(f & 1ULL << VIRTIO_NET_F_GUEST_TSO6);
	ck_assert(f & 1ULL << VIRTIO_NET_F_MRG_RXBUF);
	ck_assert(!(f & 1ULL << VIRTIO_NET_F_MQ));
	ck_assert(!(f & 1ULL << VIRTIO_NET_F_CTRL_VQ));
	ck_assert(!(f & 1ULL << VIRTIO_NET_F_MTU));
	ck_assert_uint_eq(virtio_net_ops()->nr_queues, 2);

	for (int i = 0; i < 6; i++) {
		virtio_mmio_io(dev, VIRTIO_MMIO_CONFIG + i, b, 1, false);
		ck_assert_uint_eq(b[0], test_mac[i]);
	}
	virtio_mmio_io(dev, VIRTIO_MMIO_CONFIG + VIRTIO_NET_CFG_STATUS, b, 2,
		       false);
	ck_assert_uint_eq(b[0] | b[1] << 8, VIRTIO_NET_S_LINK_UP);
	/* Beyond the 8 bytes: nothing. */
	memset(b, 0xaa, 4);
	virtio_mmio_io(dev, VIRTIO_MMIO_CONFIG + 8, b, 2, false);
	ck_assert_uint_eq(b[0] | b[1], 0);

	/* Link down: a configuration interrupt, status 0. */
	virtio_net_set_link(net, false);
	ck_assert_uint_eq(virtio_drv_read32(dev, VIRTIO_MMIO_INTERRUPT_STATUS) &
				  VIRTIO_MMIO_INT_CONFIG,
			  VIRTIO_MMIO_INT_CONFIG);
	virtio_mmio_io(dev, VIRTIO_MMIO_CONFIG + VIRTIO_NET_CFG_STATUS, b, 2,
		       false);
	ck_assert_uint_eq(b[0] | b[1] << 8, 0);
	virtio_net_set_link(net, true);

	/* Inactive device: processing does nothing. */
	ck_assert_int_eq(virtio_net_process(net), 0);
}
END_TEST

START_TEST(create_errors)
{
	struct virtio_net *n2 = NULL;
	uint8_t mc[6] = { 0x01, 0, 0, 0, 0, 1 }, zero[6] = { 0 };
	struct virtio_net_config_opts o = { -1, test_mac, "x", false, false };

	ck_assert_int_eq(virtio_net_create(&n2, &o, &mem, err, sizeof(err)),
			 -EBADF);
	ck_assert_ptr_null(n2);
	o.tap_fd = sv[1];
	o.mac = mc;
	ck_assert_int_eq(virtio_net_create(&n2, &o, &mem, err, sizeof(err)),
			 -EINVAL);
	ck_assert_msg(strstr(err, "net x:") && strstr(err, "multicast"), "%s",
		      err);
	o.mac = zero;
	ck_assert_int_eq(virtio_net_create(&n2, &o, &mem, err, sizeof(err)),
			 -EINVAL);
	o.mac = NULL;
	ck_assert_int_eq(virtio_net_create(&n2, &o, &mem, err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_null(n2);
	/* The caller still owns the fd after a failure. */
	ck_assert_int_ge(fcntl(sv[1], F_GETFD), 0);
}
END_TEST

/* ---- transmit ---- */

START_TEST(tx_normal_and_split)
{
	uint8_t *f = make_frame(1000, 1, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	uint8_t buf[2048];
	uint32_t cuts[] = { 5, 12, 13, 600 };
	struct virtq_used_elem e;

	driver_up(base_features | 1ULL << VIRTIO_NET_F_CSUM);
	tx_frame(TXBUF_GPA, f, HDR + 1000);
	ck_assert_int_eq(virtio_net_process(net), 1);
	ck_assert_int_eq(net_recv(buf, sizeof(buf)), HDR + 1000);
	ck_assert_mem_eq(buf, f, HDR + 1000);
	e = next_used(VIRTIO_NET_TXQ);
	ck_assert_uint_eq(e.id, 0);
	ck_assert_uint_eq(e.len, 0);
	ck_assert_uint_eq(irqs(), 1);

	/* The header split over descriptors, and the payload too. */
	tx_frame_split(TXBUF_GPA + 0x1000, f, HDR + 1000, cuts, 4);
	ck_assert_int_eq(virtio_net_process(net), 1);
	ck_assert_int_eq(net_recv(buf, sizeof(buf)), HDR + 1000);
	ck_assert_mem_eq(buf, f, HDR + 1000);
	e = next_used(VIRTIO_NET_TXQ);
	ck_assert_uint_eq(e.id, 1);
	ck_assert_uint_eq(e.len, 0);
	ck_assert_uint_eq(stats().tx_packets, 2);
	ck_assert_uint_eq(stats().tx_bytes, 2000);
	{
		/* kvmlite_vm_counters' view of the same. */
		char text[256];
		struct dumpbuf db = { text, sizeof(text), 0 };

		virtio_net_kind.counters(net, &db);
		ck_assert_str_eq(text, "\"rx_bytes\":0,\"rx_frames\":0,"
				       "\"tx_bytes\":2000,\"tx_frames\":2,"
				       "\"rx_dropped\":0,\"tx_dropped\":0");
		ck_assert_str_eq(virtio_net_kind.counter_name, "net");
	}
	/* Exactly a header (an empty frame) is still a frame. */
	tx_frame(TXBUF_GPA, f, HDR);
	ck_assert_int_eq(virtio_net_process(net), 1);
	ck_assert_int_eq(net_recv(buf, sizeof(buf)), HDR);
	free(f);
}
END_TEST

START_TEST(tx_malformed_dropped)
{
	uint8_t *f = make_frame(VIRTIO_NET_MAX_FRAME + 1, 2, 0);
	uint8_t buf[256];
	struct virtio_net_stats s;
	struct virtio_drv_seg w[2] = {
		{ TXBUF_GPA, HDR + 50, false },
		{ TXBUF_GPA + 0x1000, 100, true },
	};
	struct virtio_drv_seg wonly = { TXBUF_GPA, 100, true };

	driver_up(base_features);
	gmem_write(&mem, TXBUF_GPA, f, HDR + 50);
	virtio_drv_submit(&mem, txq, w, 2);	  /* writable descriptor */
	virtio_drv_submit(&mem, txq, &wonly, 1);  /* nothing readable */
	tx_frame(TXBUF_GPA + 0x2000, f, HDR - 1); /* shorter than a header */
	tx_frame(TXBUF_GPA + 0x3000, f, 0 + 1);
	/* Longer than the cap by one byte, and exactly the cap. */
	tx_frame(0x400000, f, HDR + VIRTIO_NET_MAX_FRAME + 1);
	tx_frame(TXBUF_GPA + 0x4000, f, HDR + 60); /* a good one */
	ck_assert_int_eq(virtio_net_process(net), 6);
	ck_assert_int_eq(net_recv(buf, sizeof(buf)), HDR + 60);
	ck_assert_mem_eq(buf, f, HDR + 60);
	ck_assert_int_eq(net_recv(buf, sizeof(buf)), -1);
	for (int i = 0; i < 6; i++)
		ck_assert_uint_eq(next_used(VIRTIO_NET_TXQ).len, 0);
	s = stats();
	ck_assert_uint_eq(s.tx_dropped_malformed, 4);
	ck_assert_uint_eq(s.tx_dropped_oversize, 1);
	ck_assert_uint_eq(s.tx_packets, 1);
	ck_assert(!virtio_drv_needs_reset(dev));

	/* The largest frame allowed goes through. */
	{
		uint8_t *big = malloc(HDR + VIRTIO_NET_MAX_FRAME + 16);

		tx_frame(0x400000, f, HDR + VIRTIO_NET_MAX_FRAME);
		ck_assert_int_eq(virtio_net_process(net), 1);
		ck_assert_int_eq(recv(sv[1], big,
				      HDR + VIRTIO_NET_MAX_FRAME + 16,
				      MSG_DONTWAIT),
				 HDR + VIRTIO_NET_MAX_FRAME);
		ck_assert_mem_eq(big, f, HDR + VIRTIO_NET_MAX_FRAME);
		free(big);
	}
	free(f);
}
END_TEST

START_TEST(tx_eagain_waits)
{
	int small = 4096, sent = 0, got = 0;
	uint8_t *f = make_frame(3000, 3, 0);
	uint8_t buf[4096];

	ck_assert_int_eq(
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)),
		0);
	driver_up(base_features);
	/* Queue frames until the "TAP" is full. */
	while (!net_state("tx_wait") && sent < QSIZE) {
		f[HDR] = (uint8_t)sent;
		tx_frame(TXBUF_GPA + 0x1000ULL * sent, f, HDR + 3000);
		sent++;
		ck_assert_int_ge(virtio_net_process(net), 0);
	}
	ck_assert_msg(net_state("tx_wait"), "the socket never filled");
	ck_assert_uint_ge(stats().tx_eagain, 1);
	/* One more behind the blocked one. */
	f[HDR] = (uint8_t)sent;
	tx_frame(TXBUF_GPA + 0x1000ULL * sent, f, HDR + 3000);
	sent++;
	/* Drain the network side; everything arrives, in order. */
	for (int tries = 0; got < sent && tries < 1000; tries++) {
		ssize_t r = net_recv(buf, sizeof(buf));

		if (r < 0) {
			ck_assert_int_ge(virtio_net_process(net), 0);
			continue;
		}
		ck_assert_int_eq(r, HDR + 3000);
		ck_assert_uint_eq(buf[HDR], (uint8_t)got);
		got++;
	}
	ck_assert_int_eq(got, sent);
	ck_assert(!net_state("tx_wait"));
	ck_assert_uint_eq(stats().tx_packets, (uint64_t)sent);
	ck_assert_int_eq(virtio_drv_nr_new_used(&mem, txq), sent);
	free(f);
}
END_TEST

/* ---- receive ---- */

static void post_rx(uint64_t gpa, uint32_t len)
{
	struct virtio_drv_seg s = { gpa, len, true };

	virtio_drv_submit(&mem, rxq, &s, 1);
}

static void net_send(const uint8_t *f, size_t len)
{
	ck_assert_int_eq(send(sv[1], f, len, 0), (ssize_t)len);
}

static uint16_t num_buffers_at(uint64_t gpa)
{
	uint16_t v;

	gmem_read(&mem, gpa + 10, &v, 2);
	return v;
}

START_TEST(rx_basic)
{
	uint8_t *f = make_frame(100, 4, VIRTIO_NET_HDR_F_DATA_VALID);
	uint8_t got[HDR + 100];
	struct virtq_used_elem e;
	struct virtio_drv_seg split[3] = {
		{ BUF_GPA + 0x10000, 5, true },
		{ BUF_GPA + 0x11000, 10, true },
		{ BUF_GPA + 0x12000, 2000, true },
	};

	driver_up(base_features | 1ULL << VIRTIO_NET_F_GUEST_CSUM);
	post_rx(BUF_GPA, 2048);
	net_send(f, HDR + 100);
	ck_assert_int_eq(virtio_net_process(net), 1);
	e = next_used(VIRTIO_NET_RXQ);
	ck_assert_uint_eq(e.id, 0);
	ck_assert_uint_eq(e.len, HDR + 100);
	gmem_read(&mem, BUF_GPA, got, sizeof(got));
	ck_assert_uint_eq(num_buffers_at(BUF_GPA), 1);
	ck_assert_uint_eq(got[0], VIRTIO_NET_HDR_F_DATA_VALID);
	ck_assert_mem_eq(got + HDR, f + HDR, 100);
	ck_assert_uint_eq(irqs(), 1);
	ck_assert_uint_eq(stats().rx_packets, 1);
	ck_assert_uint_eq(stats().rx_bytes, 100);

	/* A buffer in three pieces, the header split. */
	virtio_drv_submit(&mem, rxq, split, 3);
	net_send(f, HDR + 100);
	ck_assert_int_eq(virtio_net_process(net), 1);
	e = next_used(VIRTIO_NET_RXQ);
	ck_assert_uint_eq(e.len, HDR + 100);
	gmem_read(&mem, BUF_GPA + 0x10000, got, 5);
	gmem_read(&mem, BUF_GPA + 0x11000, got + 5, 10);
	gmem_read(&mem, BUF_GPA + 0x12000, got + 15, HDR + 100 - 15);
	ck_assert_uint_eq(got[10] | got[11] << 8, 1);
	ck_assert_mem_eq(got + HDR, f + HDR, 100);
	free(f);
}
END_TEST

START_TEST(rx_flags_cleared_without_guest_csum)
{
	uint8_t *f = make_frame(60, 5, VIRTIO_NET_HDR_F_DATA_VALID);
	uint8_t h;

	driver_up(base_features);
	post_rx(BUF_GPA, 2048);
	net_send(f, HDR + 60);
	ck_assert_int_eq(virtio_net_process(net), 1);
	gmem_read(&mem, BUF_GPA, &h, 1);
	ck_assert_uint_eq(h, 0);
	free(f);
}
END_TEST

START_TEST(rx_mergeable)
{
	size_t len = 60000;
	uint8_t *f = make_frame(len, 6, 0);
	uint8_t *got = malloc(HDR + len);
	uint32_t total = 0;
	int n = 0;

	driver_up(base_features | 1ULL << VIRTIO_NET_F_MRG_RXBUF);
	for (int i = 0; i < 20; i++)
		post_rx(BUF_GPA + 0x1000ULL * i, 4096);
	net_send(f, HDR + len);
	ck_assert_int_eq(virtio_net_process(net), 1);
	/* 60012 / 4096 */
	ck_assert_int_eq(virtio_drv_nr_new_used(&mem, rxq), 15);
	while (virtio_drv_nr_new_used(&mem, rxq)) {
		struct virtq_used_elem e = next_used(VIRTIO_NET_RXQ);

		ck_assert_uint_eq(e.id, n);
		ck_assert_uint_eq(e.len, n < 14 ? 4096 : HDR + len - 14 * 4096);
		gmem_read(&mem, BUF_GPA + 0x1000ULL * e.id, got + total, e.len);
		total += e.len;
		n++;
	}
	ck_assert_uint_eq(total, HDR + len);
	ck_assert_uint_eq(got[10] | got[11] << 8, 15);
	ck_assert_mem_eq(got + HDR, f + HDR, len);
	ck_assert_uint_eq(irqs(), 1);

	/* A small frame then takes one buffer, num_buffers 1. */
	net_send(f, HDR + 64);
	ck_assert_int_eq(virtio_net_process(net), 1);
	ck_assert_uint_eq(next_used(VIRTIO_NET_RXQ).len, HDR + 64);
	ck_assert_uint_eq(num_buffers_at(BUF_GPA + 0x1000ULL * 15), 1);
	free(got);
	free(f);
}
END_TEST

/* Frames read straight into the chains leave the chains they did not
 * fill available, in order, for the next frames. */
START_TEST(rx_mergeable_direct_keeps_the_rest)
{
	static const size_t lens[3] = { 5000, 60000, 100 };
	static const unsigned int first_id[3] = { 0, 2, 17 };
	static const unsigned int nbufs[3] = { 2, 15, 1 };
	uint8_t *got = malloc(HDR + 60000);

	driver_up(base_features | 1ULL << VIRTIO_NET_F_MRG_RXBUF);
	for (int i = 0; i < 20; i++)
		post_rx(BUF_GPA + 0x1000ULL * i, 4096);
	for (int k = 0; k < 3; k++) {
		uint8_t *f = make_frame(lens[k], 20 + (unsigned int)k, 0);
		uint32_t total = 0;

		net_send(f, HDR + lens[k]);
		ck_assert_int_eq(virtio_net_process(net), 1);
		ck_assert_int_eq(virtio_drv_nr_new_used(&mem, rxq),
				 (int)nbufs[k]);
		for (unsigned int i = 0; i < nbufs[k]; i++) {
			struct virtq_used_elem e = next_used(VIRTIO_NET_RXQ);

			ck_assert_uint_eq(e.id, first_id[k] + i);
			gmem_read(&mem, BUF_GPA + 0x1000ULL * e.id, got + total,
				  e.len);
			total += e.len;
		}
		ck_assert_uint_eq(total, HDR + lens[k]);
		ck_assert_uint_eq(got[10] | got[11] << 8, nbufs[k]);
		ck_assert_mem_eq(got + HDR, f + HDR, lens[k]);
		free(f);
	}
	ck_assert_uint_eq(stats().rx_packets, 3);
	free(got);
}
END_TEST

START_TEST(rx_waits_for_buffers)
{
	size_t len = 60000;
	uint8_t *f = make_frame(len, 7, 0);
	uint8_t *got = malloc(HDR + len);
	uint32_t total = 0;
	eventfd_t v;
	int n = 0;

	driver_up(base_features | 1ULL << VIRTIO_NET_F_MRG_RXBUF |
		  1ULL << VIRTIO_RING_F_EVENT_IDX);
	/* No buffers at all: the frame stays in the TAP. */
	net_send(f, HDR + 64);
	ck_assert_int_eq(virtio_net_process(net), 0);
	ck_assert(!net_state("rx_len"));
	post_rx(BUF_GPA, 4096);
	ck_assert_int_eq(virtio_net_process(net), 1);
	ck_assert_uint_eq(next_used(VIRTIO_NET_RXQ).len, HDR + 64);

	/* Two buffers for a frame that needs 15: it waits, read from the
	 * TAP and held, and the device asks to be kicked. */
	post_rx(BUF_GPA + 0x1000, 4096);
	post_rx(BUF_GPA + 0x2000, 4096);
	(void)eventfd_read(virtio_mmio_kick_fd(dev, VIRTIO_NET_RXQ), &v);
	net_send(f, HDR + len);
	ck_assert_int_eq(virtio_net_process(net), 0);
	ck_assert(net_state("rx_len"));
	ck_assert_int_eq(virtio_drv_nr_new_used(&mem, rxq), 0);
	ck_assert_uint_eq(stats().rx_no_room, 1);
	ck_assert_uint_eq(stats().rx_dropped_too_big, 0);
	/* Kick on the next. */
	ck_assert_uint_eq(virtio_drv_avail_event(&mem, rxq), rxq->avail_idx);
	for (int i = 3; i < 16; i++)
		post_rx(BUF_GPA + 0x1000ULL * i, 4096);
	ck_assert_int_eq(virtio_net_process(net), 1);
	ck_assert(!net_state("rx_len"));
	ck_assert_int_eq(virtio_drv_nr_new_used(&mem, rxq), 15);
	while (virtio_drv_nr_new_used(&mem, rxq)) {
		struct virtq_used_elem e = next_used(VIRTIO_NET_RXQ);

		ck_assert_uint_eq(e.id, n + 1);
		gmem_read(&mem, BUF_GPA + 0x1000ULL * e.id, got + total, e.len);
		total += e.len;
		n++;
	}
	ck_assert_uint_eq(total, HDR + len);
	ck_assert_uint_eq(got[10] | got[11] << 8, 15);
	ck_assert_mem_eq(got + HDR, f + HDR, len);
	ck_assert_uint_eq(stats().rx_packets, 2);
	free(got);
	free(f);
}
END_TEST

START_TEST(rx_too_small_dropped)
{
	uint8_t *f = make_frame(200, 8, 0);
	uint8_t got[HDR + 50];
	struct virtq_used_elem e;

	driver_up(base_features);
	post_rx(BUF_GPA, 100);
	net_send(f, HDR + 200);
	net_send(f, HDR + 50);
	ck_assert_int_eq(virtio_net_process(net), 2);
	ck_assert_uint_eq(stats().rx_dropped_too_big, 1);
	/* The small frame got the buffer the big one could not use. */
	e = next_used(VIRTIO_NET_RXQ);
	ck_assert_uint_eq(e.id, 0);
	ck_assert_uint_eq(e.len, HDR + 50);
	gmem_read(&mem, BUF_GPA, got, sizeof(got));
	ck_assert_mem_eq(got + HDR, f + HDR, 50);
	ck_assert_int_eq(virtio_drv_nr_new_used(&mem, rxq), 0);
	ck_assert(!net_state("rx_len"));
	free(f);
}
END_TEST

START_TEST(rx_mergeable_ring_too_small)
{
	/* 32 buffers of 1 KiB cannot hold 60 KiB: dropped, not stuck. */
	uint8_t *f = make_frame(60000, 9, 0);

	driver_up(base_features | 1ULL << VIRTIO_NET_F_MRG_RXBUF);
	for (int i = 0; i < QSIZE; i++)
		post_rx(BUF_GPA + 0x1000ULL * i, 1024);
	net_send(f, HDR + 60000);
	net_send(f, HDR + 100);
	ck_assert_int_eq(virtio_net_process(net), 2);
	ck_assert_uint_eq(stats().rx_dropped_too_big, 1);
	ck_assert_int_eq(virtio_drv_nr_new_used(&mem, rxq), 1);
	ck_assert_uint_eq(next_used(VIRTIO_NET_RXQ).len, HDR + 100);
	free(f);
}
END_TEST

START_TEST(rx_direct_big_buffer)
{
	size_t len = 65000;
	uint8_t *f = make_frame(len, 10, 0);
	uint8_t *got = malloc(HDR + len);
	struct virtio_drv_seg s[2] = {
		{ BUF_GPA, HDR, true },
		{ BUF_GPA + 0x1000, VIRTIO_NET_MAX_FRAME, true },
	};
	struct virtq_used_elem e;

	driver_up(base_features | 1ULL << VIRTIO_NET_F_GUEST_CSUM |
		  1ULL << VIRTIO_NET_F_GUEST_TSO4);
	virtio_drv_submit(&mem, rxq, s, 2);
	net_send(f, HDR + len);
	ck_assert_int_eq(virtio_net_process(net), 1);
	e = next_used(VIRTIO_NET_RXQ);
	ck_assert_uint_eq(e.len, HDR + len);
	ck_assert_uint_eq(num_buffers_at(BUF_GPA), 1);
	gmem_read(&mem, BUF_GPA + 0x1000, got, len);
	ck_assert_mem_eq(got, f + HDR, len);
	free(got);
	free(f);
}
END_TEST

/*
 * The "TAP" claims a frame longer than the buffers it was given. Direct
 * path (a buffer that holds the largest frame): the length used to be
 * trusted, and the walk over the chains it filled went past the ones it
 * had popped (pushing 256 bogus used entries, an out-of-bounds index under
 * UBSan). Now a read error: counted, the frame dropped, the chain given
 * back and used by the next frame.
 */
START_TEST(rx_direct_read_longer_than_offered)
{
	uint8_t *f = make_frame(100, 21, 0);
	struct virtio_drv_seg s = { BUF_GPA, HDR + VIRTIO_NET_MAX_FRAME, true };
	struct virtq_used_elem e;
	struct virtio_net_stats st;

	for (int mrg = 0; mrg < 2; mrg++) {
		fake_reads = 0;
		driver_up(base_features |
			  (mrg ? 1ULL << VIRTIO_NET_F_MRG_RXBUF : 0));
		if (mrg) {
			/* 17 chains of 4 KiB: the frame's 65612 bytes. */
			for (int i = 0; i < 17; i++)
				post_rx(BUF_GPA + 0x1000ULL * i, 4096);
		} else {
			virtio_drv_submit(&mem, rxq, &s, 1);
		}
		fake_excess = 1 + 4096 * mrg;
		net_send(f, HDR + 100);
		ck_assert_int_eq(virtio_net_process(net), 1);
		ck_assert_int_eq(fake_reads, 1);
		st = stats();
		ck_assert_uint_eq(st.rx_read_errors, 1 + (uint64_t)mrg);
		ck_assert_uint_eq(st.rx_packets, (uint64_t)mrg);
		ck_assert_int_eq(virtio_drv_nr_new_used(&mem, rxq), 0);
		ck_assert(!virtio_drv_needs_reset(dev));
		/* The next frame gets the first chain, as if nothing was. */
		net_send(f, HDR + 100);
		ck_assert_int_eq(virtio_net_process(net), 1);
		e = next_used(VIRTIO_NET_RXQ);
		ck_assert_uint_eq(e.id, 0);
		ck_assert_uint_eq(e.len, HDR + 100);
		ck_assert_uint_eq(num_buffers_at(BUF_GPA), 1);
		ck_assert_int_eq(virtio_drv_nr_new_used(&mem, rxq), 0);
		ck_assert_uint_eq(stats().rx_packets, 1 + (uint64_t)mrg);
	}
	free(f);
}
END_TEST

/*
 * The same through the bounce buffer: chains of 32 x 48-byte buffers (in
 * indirect tables) are 1024 iovecs before they hold the largest frame, so
 * the frame is read into the bounce buffer, which a claimed length beyond
 * its size made the copy to the guest read past (ASan: heap overflow).
 */
START_TEST(rx_bounce_read_longer_than_buffer)
{
	enum { CHAINS = 64, SEGS = 32, SEG = 48 };
	const uint64_t itab = 0x300000, bufs = BUF_GPA;
	uint8_t *f = make_frame(100, 22, 0);
	struct virtq_used_elem e;

	driver_up_rx(base_features | 1ULL << VIRTIO_NET_F_MRG_RXBUF |
			     1ULL << VIRTIO_RING_F_INDIRECT_DESC,
		     CHAINS);
	for (uint16_t c = 0; c < CHAINS; c++) {
		struct virtq_desc head = { itab + 0x1000ULL * c, 16 * SEGS,
					   VIRTQ_DESC_F_INDIRECT, 0 };

		for (uint16_t i = 0; i < SEGS; i++) {
			struct virtq_desc d = {
				bufs + (uint64_t)SEG * (c * SEGS + i), SEG,
				(uint16_t)(VIRTQ_DESC_F_WRITE |
					   (i + 1 < SEGS ? VIRTQ_DESC_F_NEXT
							 : 0)),
				(uint16_t)(i + 1)
			};

			gmem_write(&mem, head.addr + 16ULL * i, &d, sizeof(d));
		}
		gmem_write(&mem, rxq->desc + 16ULL * c, &head, sizeof(head));
		gmem_write(&mem, rxq->avail + 4 + 2ULL * c, &c, 2);
	}
	rxq->avail_idx = CHAINS;
	gmem_write(&mem, rxq->avail + 2, &rxq->avail_idx, 2);

	fake_excess = 100;
	net_send(f, HDR + 100);
	ck_assert_int_eq(virtio_net_process(net), 1);
	ck_assert_int_eq(fake_reads, 1);
	ck_assert_uint_eq(stats().rx_read_errors, 1);
	ck_assert_uint_eq(stats().rx_dropped_too_big, 0);
	ck_assert_uint_eq(stats().rx_packets, 0);
	ck_assert_int_eq(virtio_drv_nr_new_used(&mem, rxq), 0);
	/* The ring is as it was: the next frame fills the first chain. */
	net_send(f, HDR + 100);
	ck_assert_int_eq(virtio_net_process(net), 1);
	e = next_used(VIRTIO_NET_RXQ);
	ck_assert_uint_eq(e.id, 0);
	ck_assert_uint_eq(e.len, HDR + 100);
	ck_assert_uint_eq(num_buffers_at(bufs), 1);
	ck_assert_int_eq(virtio_drv_nr_new_used(&mem, rxq), 0);
	ck_assert_uint_eq(stats().rx_packets, 1);
	free(f);
}
END_TEST

START_TEST(rx_bad_chain_needs_reset)
{
	struct virtio_drv_seg s[2] = {
		{ BUF_GPA, 100, false },
		{ BUF_GPA + 0x1000, 2048, true },
	};
	uint8_t *f = make_frame(100, 11, 0);

	driver_up(base_features);
	virtio_drv_submit(&mem, rxq, s, 2);
	net_send(f, HDR + 100);
	ck_assert_int_lt(virtio_net_process(net), 0);
	ck_assert(virtio_drv_needs_reset(dev));
	ck_assert_uint_eq(stats().rx_bad_chain, 1);
	ck_assert_int_eq(virtio_net_process(net), 0);
	/* A reset brings it back. */
	driver_up(base_features);
	post_rx(BUF_GPA, 2048);
	ck_assert_int_eq(virtio_net_process(net), 1);
	ck_assert_uint_eq(next_used(VIRTIO_NET_RXQ).len, HDR + 100);
	free(f);
}
END_TEST

/* ---- interrupts ---- */

START_TEST(event_idx_interrupts)
{
	uint8_t *f = make_frame(100, 12, 0);
	uint8_t buf[256];

	driver_up(base_features | 1ULL << VIRTIO_RING_F_EVENT_IDX);
	irqs();
	/* Interrupt only once used idx passes 4 (the 5th completion). */
	virtio_drv_set_used_event(&mem, txq, 4);
	virtio_drv_set_used_event(&mem, rxq, 100);
	for (int i = 0; i < 3; i++)
		tx_frame(TXBUF_GPA + 0x1000ULL * i, f, HDR + 100);
	ck_assert_int_eq(virtio_net_process(net), 3);
	ck_assert_uint_eq(irqs(), 0);
	for (int i = 3; i < 6; i++)
		tx_frame(TXBUF_GPA + 0x1000ULL * i, f, HDR + 100);
	ck_assert_int_eq(virtio_net_process(net), 3);
	ck_assert_uint_eq(irqs(), 1);
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(net_recv(buf, sizeof(buf)), HDR + 100);
	/* rx: used_event 0 wants the first completion. */
	virtio_drv_set_used_event(&mem, rxq, 0);
	post_rx(BUF_GPA, 2048);
	post_rx(BUF_GPA + 0x1000, 2048);
	net_send(f, HDR + 100);
	net_send(f, HDR + 100);
	ck_assert_int_eq(virtio_net_process(net), 2);
	ck_assert_uint_eq(irqs(), 1);
	ck_assert_uint_eq(stats().interrupts, 2);
	free(f);
}
END_TEST

START_TEST(no_interrupt_flag)
{
	uint8_t *f = make_frame(100, 13, 0);
	uint8_t buf[256];

	driver_up(base_features);
	irqs();
	virtio_drv_set_avail_flags(&mem, txq, VIRTQ_AVAIL_F_NO_INTERRUPT);
	tx_frame(TXBUF_GPA, f, HDR + 100);
	ck_assert_int_eq(virtio_net_process(net), 1);
	ck_assert_uint_eq(irqs(), 0);
	virtio_drv_set_avail_flags(&mem, txq, 0);
	tx_frame(TXBUF_GPA, f, HDR + 100);
	ck_assert_int_eq(virtio_net_process(net), 1);
	ck_assert_uint_eq(irqs(), 1);
	ck_assert_int_eq(net_recv(buf, sizeof(buf)), HDR + 100);
	free(f);
}
END_TEST

/* ---- reset and the worker ---- */

START_TEST(reset_with_pending)
{
	uint8_t *f = make_frame(60000, 14, 0);

	driver_up(base_features | 1ULL << VIRTIO_NET_F_MRG_RXBUF);
	post_rx(BUF_GPA, 4096);
	net_send(f, HDR + 60000);
	ck_assert_int_eq(virtio_net_process(net), 0);
	ck_assert(net_state("rx_len"));
	virtio_drv_reset(dev);
	ck_assert(!net_state("rx_len"));
	ck_assert_uint_eq(stats().rx_dropped_reset, 1);
	ck_assert_int_eq(virtio_net_process(net), 0);
	/* Up again, without MRG_RXBUF this time: traffic flows. */
	driver_up(base_features);
	post_rx(BUF_GPA, 2048);
	net_send(f, HDR + 500);
	ck_assert_int_eq(virtio_net_process(net), 1);
	ck_assert_uint_eq(next_used(VIRTIO_NET_RXQ).len, HDR + 500);
	free(f);
}
END_TEST

static bool wait_irq(int ms)
{
	struct pollfd p = { virtio_mmio_call_fd(dev), POLLIN, 0 };

	if (poll(&p, 1, ms) != 1)
		return false;
	irqs();
	return true;
}

static ssize_t net_recv_wait(uint8_t *buf, size_t len, int ms)
{
	struct pollfd p = { sv[1], POLLIN, 0 };

	if (poll(&p, 1, ms) != 1)
		return -1;
	return net_recv(buf, len);
}

START_TEST(worker_thread)
{
	uint8_t *f = make_frame(1400, 15, 0);
	uint8_t buf[2048];
	int rx_done = 0;

	ck_assert_int_eq(virtio_net_start(net), 0);
	ck_assert_int_eq(virtio_net_start(net), -EBUSY);
	driver_up(base_features | 1ULL << VIRTIO_RING_F_EVENT_IDX |
		  1ULL << VIRTIO_NET_F_MRG_RXBUF);

	/* tx: the guest notifies through the register (or ioeventfd). */
	tx_frame(TXBUF_GPA, f, HDR + 1400);
	virtio_drv_write32(dev, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_NET_TXQ);
	ck_assert_int_eq(net_recv_wait(buf, sizeof(buf), 10000), HDR + 1400);
	ck_assert_mem_eq(buf, f, HDR + 1400);
	ck_assert(wait_irq(10000));

	/* rx: frames arrive before any buffer; the guest posts and kicks. */
	for (int i = 0; i < 4; i++)
		net_send(f, HDR + 1400);
	usleep(20000);
	ck_assert_int_eq(virtio_drv_nr_new_used(&mem, rxq), 0);
	for (int i = 0; i < 4; i++)
		post_rx(BUF_GPA + 0x1000ULL * i, 4096);
	virtio_drv_write32(dev, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_NET_RXQ);
	for (int tries = 0; tries < 100 && rx_done < 4; tries++) {
		wait_irq(100);
		rx_done += virtio_drv_nr_new_used(&mem, rxq);
		while (virtio_drv_nr_new_used(&mem, rxq))
			ck_assert_uint_eq(next_used(VIRTIO_NET_RXQ).len,
					  HDR + 1400);
		virtio_drv_set_used_event(&mem, rxq, dq[0].used_seen);
	}
	ck_assert_int_eq(rx_done, 4);

	/* More frames than buffers, then a reset with one pending, then
	 * up again: the device keeps working. */
	post_rx(BUF_GPA, 4096);
	virtio_drv_write32(dev, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_NET_RXQ);
	for (int i = 0; i < 3; i++)
		net_send(f, HDR + 1400);
	usleep(50000);
	virtio_drv_reset(dev);
	while (net_recv(buf, sizeof(buf)) > 0)
		;
	driver_up(base_features | 1ULL << VIRTIO_RING_F_EVENT_IDX);
	irqs(); /* forget the interrupts from before the reset */
	for (int i = 0; i < 8; i++)
		post_rx(BUF_GPA + 0x1000ULL * i, 4096);
	virtio_drv_write32(dev, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_NET_RXQ);
	ck_assert(wait_irq(10000));
	/* The frames that waited in the "TAP" arrive now (at most 2). */
	ck_assert_int_ge(virtio_drv_nr_new_used(&mem, rxq), 1);
	tx_frame(TXBUF_GPA, f, HDR + 1400);
	virtio_drv_write32(dev, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_NET_TXQ);
	ck_assert_int_eq(net_recv_wait(buf, sizeof(buf), 10000), HDR + 1400);
	free(f);
}
END_TEST

START_TEST(worker_stream)
{
	/* Many frames both ways against the running worker. */
	enum { N = 2000 };
	uint8_t *f = make_frame(1000, 16, 0);
	uint8_t buf[2048];
	int sent_tx = 0, got_tx = 0, sent_rx = 0, got_rx = 0;

	ck_assert_int_eq(virtio_net_start(net), 0);
	driver_up(base_features | 1ULL << VIRTIO_RING_F_EVENT_IDX |
		  1ULL << VIRTIO_NET_F_MRG_RXBUF);
	for (int i = 0; i < QSIZE / 2; i++)
		post_rx(BUF_GPA + 0x1000ULL * i, 2048);
	virtio_drv_write32(dev, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_NET_RXQ);
	for (int loops = 0; (got_tx < N || got_rx < N) && loops < 200000;
	     loops++) {
		/* tx: keep up to 8 in flight. */
		while (sent_tx < N && sent_tx - (int)dq[1].used_seen < 8) {
			f[HDR] = (uint8_t)sent_tx;
			tx_frame(TXBUF_GPA + 0x1000ULL * (sent_tx % QSIZE), f,
				 HDR + 1000);
			sent_tx++;
			virtio_drv_write32(dev, VIRTIO_MMIO_QUEUE_NOTIFY,
					   VIRTIO_NET_TXQ);
		}
		while (virtio_drv_nr_new_used(&mem, txq))
			next_used(VIRTIO_NET_TXQ);
		virtio_drv_set_used_event(&mem, txq, dq[1].used_seen);
		while (net_recv(buf, sizeof(buf)) > 0) {
			ck_assert_uint_eq(buf[HDR], (uint8_t)got_tx);
			got_tx++;
		}
		if (sent_rx < N && sent_rx - got_rx < 8) {
			f[HDR] = (uint8_t)sent_rx;
			if (send(sv[1], f, HDR + 1000, MSG_DONTWAIT) > 0)
				sent_rx++;
		}
		while (virtio_drv_nr_new_used(&mem, rxq)) {
			struct virtq_used_elem e = next_used(VIRTIO_NET_RXQ);
			uint8_t b;

			ck_assert_uint_eq(e.len, HDR + 1000);
			gmem_read(&mem, BUF_GPA + 0x1000ULL * e.id + HDR, &b,
				  1);
			ck_assert_uint_eq(b, (uint8_t)got_rx);
			got_rx++;
			post_rx(BUF_GPA + 0x1000ULL * (dq[0].next_desc % QSIZE),
				2048);
			virtio_drv_write32(dev, VIRTIO_MMIO_QUEUE_NOTIFY,
					   VIRTIO_NET_RXQ);
		}
		virtio_drv_set_used_event(&mem, rxq, dq[0].used_seen);
		if (loops % 64 == 63)
			usleep(100);
	}
	ck_assert_int_eq(got_tx, N);
	ck_assert_int_eq(got_rx, N);
	ck_assert_uint_eq(stats().tx_packets, N);
	ck_assert_uint_eq(stats().rx_packets, N);
	free(f);
}
END_TEST

/* ---- MAC and TAP helpers ---- */

/*
 * A slow backend behind a batch: the worker receives frames that are each
 * too big for the guest's one small buffer (dropped, the buffer kept), so
 * a batch is NET_BATCH_BUDGET (256) reads of SLOW_MS each, ~5 s. A reset
 * (Status 0) or a stop (virtio_net_destroy) used to wait for the whole
 * batch; now the worker gives up after the frame in hand.
 */
#define SLOW_MS 20

static void slow_backend_busy(void)
{
	fake_frame_len = HDR + 200;
	fake_delay_ms = SLOW_MS;
	fake_frames = 100000;
	ck_assert_int_eq(virtio_net_start(net), 0);
	driver_up(base_features);
	post_rx(BUF_GPA, 64);
	virtio_drv_write32(dev, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_NET_RXQ);
	/* Wait until the worker is well into its batch. */
	for (int i = 0;
	     i < 10000 && __atomic_load_n(&fake_reads, __ATOMIC_SEQ_CST) < 3;
	     i++)
		usleep(1000);
	ck_assert_int_ge(__atomic_load_n(&fake_reads, __ATOMIC_SEQ_CST), 3);
}

/* Reads begun since @before: at most the one in hand and one racing. */
static void check_cut_short(int before, int64_t t0)
{
	int64_t took = now_ms() - t0;
	int reads = __atomic_load_n(&fake_reads, __ATOMIC_SEQ_CST) - before;

	ck_assert_msg(reads <= 2, "%d more reads of the batch (%lld ms)", reads,
		      (long long)took);
	/* Liveness, generous: the whole batch takes 256 * SLOW_MS. */
	ck_assert_msg(took < 2000, "took %lld ms", (long long)took);
}

START_TEST(reset_cuts_a_slow_batch_short)
{
	uint8_t *f = make_frame(100, 23, 0);
	int before;
	int64_t t0;

	slow_backend_busy();
	before = __atomic_load_n(&fake_reads, __ATOMIC_SEQ_CST);
	t0 = now_ms();
	virtio_drv_reset(dev);
	check_cut_short(before, t0);
	ck_assert_uint_ge(stats().rx_dropped_too_big, 3);
	/* The device works on: a real frame after a fresh bring-up. */
	fake_frames = 0;
	driver_up(base_features);
	post_rx(BUF_GPA, 2048);
	net_send(f, HDR + 100);
	virtio_drv_write32(dev, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_NET_RXQ);
	for (int i = 0; i < 10000 && !virtio_drv_nr_new_used(&mem, rxq); i++)
		usleep(1000);
	ck_assert_uint_eq(next_used(VIRTIO_NET_RXQ).len, HDR + 100);
	free(f);
}
END_TEST

START_TEST(stop_cuts_a_slow_batch_short)
{
	int before;
	int64_t t0;

	slow_backend_busy();
	before = __atomic_load_n(&fake_reads, __ATOMIC_SEQ_CST);
	t0 = now_ms();
	virtio_net_destroy(net);
	net = NULL; /* for teardown */
	check_cut_short(before, t0);
}
END_TEST

START_TEST(mac_parse_cases)
{
	uint8_t m[6] = { 0 }, keep[6];
	char s[32];

	ck_assert_int_eq(mac_parse("52:54:00:12:34:56", m), 0);
	ck_assert_uint_eq(m[0], 0x52);
	ck_assert_uint_eq(m[5], 0x56);
	ck_assert_int_eq(mac_parse("02:AB:cd:Ef:00:ff", m), 0);
	ck_assert_uint_eq(m[1], 0xab);
	ck_assert_uint_eq(m[3], 0xef);
	mac_format(m, s, sizeof(s));
	ck_assert_str_eq(s, "02:ab:cd:ef:00:ff");
	memcpy(keep, m, 6);
	ck_assert_int_eq(mac_parse("01:00:5e:00:00:01", m), -EINVAL);
	ck_assert_int_eq(mac_parse("ff:ff:ff:ff:ff:ff", m), -EINVAL);
	ck_assert_int_eq(mac_parse("00:00:00:00:00:00", m), -EINVAL);
	ck_assert_int_eq(mac_parse("02:00:00:00:00", m), -EINVAL);
	ck_assert_int_eq(mac_parse("02:00:00:00:00:00:00", m), -EINVAL);
	ck_assert_int_eq(mac_parse("02:00:00:00:00:0", m), -EINVAL);
	ck_assert_int_eq(mac_parse("02:00:00:00:00:0g", m), -EINVAL);
	ck_assert_int_eq(mac_parse("02-00-00-00-00-01", m), -EINVAL);
	ck_assert_int_eq(mac_parse("2:00:00:00:00:001", m), -EINVAL);
	ck_assert_int_eq(mac_parse("", m), -EINVAL);
	ck_assert_int_eq(mac_parse(NULL, m), -EINVAL);
	ck_assert_int_eq(mac_parse("02:00:00:00:00:01 ", m), -EINVAL);
	ck_assert_mem_eq(m, keep, 6); /* untouched on failure */
}
END_TEST

START_TEST(mac_default_stable)
{
	uint8_t a[6], b[6], c[6], d[6];

	mac_default(a, "vm1", 0);
	mac_default(b, "vm1", 0);
	mac_default(c, "vm1", 1);
	mac_default(d, "vm2", 0);
	ck_assert_mem_eq(a, b, 6);
	ck_assert_mem_ne(a, c, 6);
	ck_assert_mem_ne(a, d, 6);
	ck_assert_uint_eq(a[0] & 0x03, 0x02); /* local, unicast */
	ck_assert_uint_eq(c[0] & 0x03, 0x02);
	ck_assert_uint_eq(a[5], 0);
	ck_assert_uint_eq(c[5], 1);
	/* Pinned: FNV-1a("") is the offset basis 0x811c9dc5. */
	{
		uint8_t e[6], n[6];
		char s[32];

		mac_default(e, NULL, 3);
		mac_default(n, "", 3);
		ck_assert_mem_eq(e, n, 6);
		mac_format(e, s, sizeof(s));
		ck_assert_str_eq(s, "02:81:1c:9d:c5:03");
	}
}
END_TEST

START_TEST(tap_open_errors)
{
	int fd = 123;

	ck_assert_int_eq(tap_open("", true, &fd, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(fd, -1);
	ck_assert_str_eq(err, "tap: empty interface name");
	ck_assert_int_eq(tap_open(NULL, true, &fd, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(
		tap_open("abcdefghijklmnop", true, &fd, err, sizeof(err)),
		-EINVAL);
	ck_assert_msg(strstr(err, "tap abcdefghijklmnop:") &&
			      strstr(err, "longer than 15"),
		      "%s", err);
	ck_assert_int_eq(tap_open("a/b", true, &fd, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "tap a/b:"), "%s", err);
	ck_assert_int_eq(tap_open("tap%d", true, &fd, err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(tap_open("a b", true, &fd, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(tap_open("..", true, &fd, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(fd, -1);
}
END_TEST

START_TEST(tap_offload_mapping)
{
	uint64_t csum = 1ULL << VIRTIO_NET_F_GUEST_CSUM;
	uint64_t tso = 1ULL << VIRTIO_NET_F_GUEST_TSO4 |
		       1ULL << VIRTIO_NET_F_GUEST_TSO6;

	ck_assert_uint_eq(tap_offload_flags(0), 0);
	ck_assert_uint_eq(tap_offload_flags(tso), 0); /* needs GUEST_CSUM */
	ck_assert_uint_eq(tap_offload_flags(csum), TUN_F_CSUM);
	ck_assert_uint_eq(tap_offload_flags(csum | tso),
			  TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
	ck_assert_uint_eq(tap_offload_flags(csum |
					    1ULL << VIRTIO_NET_F_GUEST_TSO6 |
					    1ULL << VIRTIO_NET_F_GUEST_ECN),
			  TUN_F_CSUM | TUN_F_TSO6 | TUN_F_TSO_ECN);
	/* Host (guest transmit) offloads need no TUNSETOFFLOAD. */
	ck_assert_uint_eq(tap_offload_flags(1ULL << VIRTIO_NET_F_CSUM |
					    1ULL << VIRTIO_NET_F_HOST_TSO4),
			  0);
	/* Not a tap: -ENOTTY, which a device over a socket ignores. */
	ck_assert_int_eq(tap_set_offload(sv[1], csum), -ENOTTY);
}
END_TEST

START_TEST(tap_real)
{
	char name[IFNAMSIZ];
	struct virtio_net *n2 = NULL;
	struct virtio_net_config_opts o;
	struct ifreq ifr;
	int fd, fd2, ret, sz = 0;

	snprintf(name, sizeof(name), "kvlt%u", (unsigned int)getpid() % 100000);
	ret = tap_open(name, true, &fd, err, sizeof(err));
	if (ret == -EPERM || ret == -EACCES || ret == -ENOENT ||
	    ret == -ENODEV || ret == -ENXIO) {
		fprintf(stderr,
			"SKIP (this check only) tap_real: cannot create a "
			"tap here: %s\n",
			err);
		return;
	}
	ck_assert_msg(ret == 0, "tap_open: %d %s", ret, err);
	memset(&ifr, 0, sizeof(ifr));
	ck_assert_int_eq(ioctl(fd, TUNGETIFF, &ifr), 0);
	ck_assert_str_eq(ifr.ifr_name, name);
	ck_assert(ifr.ifr_flags & IFF_TAP);
	ck_assert(ifr.ifr_flags & IFF_NO_PI);
	ck_assert(ifr.ifr_flags & IFF_VNET_HDR);
	ck_assert_int_eq(ioctl(fd, TUNGETVNETHDRSZ, &sz), 0);
	ck_assert_int_eq(sz, HDR);
	ck_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ck_assert_int_eq(
		tap_set_offload(fd, (1ULL << VIRTIO_NET_F_GUEST_CSUM) |
					    (1ULL << VIRTIO_NET_F_GUEST_TSO4)),
		0);

	/* Attached already: busy. */
	ck_assert_int_eq(tap_open(name, true, &fd2, err, sizeof(err)), -EBUSY);
	ck_assert_msg(strstr(err, "busy (in use by another process)"), "%s",
		      err);

	/* A device on the real tap; activation sets the offloads. */
	o = (struct virtio_net_config_opts){ fd, test_mac, name, false, false };
	ret = virtio_net_create(&n2, &o, &mem, err, sizeof(err));
	ck_assert_msg(ret == 0, "create: %s", err);
	virtio_net_destroy(net); /* swap the fixture's device out */
	net = n2;
	dev = virtio_net_transport(net);
	sv[0] = -1;
	driver_up(base_features | 1ULL << VIRTIO_NET_F_GUEST_CSUM |
		  1ULL << VIRTIO_NET_F_GUEST_TSO4 |
		  1ULL << VIRTIO_NET_F_GUEST_TSO6 |
		  1ULL << VIRTIO_NET_F_MRG_RXBUF);
	ck_assert(!virtio_drv_needs_reset(dev));
	ck_assert_int_ge(virtio_net_process(net), 0);

	/* A tap without the vnet header is refused by the device. */
	{
		char name2[IFNAMSIZ];
		int fd3;

		snprintf(name2, sizeof(name2), "kvlu%u",
			 (unsigned int)getpid() % 100000);
		ck_assert_int_eq(tap_open(name2, false, &fd3, err, sizeof(err)),
				 0);
		o = (struct virtio_net_config_opts){ fd3, test_mac, name2,
						     false, false };
		ck_assert_int_eq(
			virtio_net_create(&n2, &o, &mem, err, sizeof(err)),
			-EINVAL);
		ck_assert_msg(strstr(err, "IFF_VNET_HDR"), "%s", err);
		close(fd3);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtio_net");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, config_and_features);
	tcase_add_test(tc, create_errors);
	tcase_add_test(tc, tx_normal_and_split);
	tcase_add_test(tc, tx_malformed_dropped);
	tcase_add_test(tc, tx_eagain_waits);
	tcase_add_test(tc, rx_basic);
	tcase_add_test(tc, rx_flags_cleared_without_guest_csum);
	tcase_add_test(tc, rx_mergeable);
	tcase_add_test(tc, rx_mergeable_direct_keeps_the_rest);
	tcase_add_test(tc, rx_waits_for_buffers);
	tcase_add_test(tc, rx_too_small_dropped);
	tcase_add_test(tc, rx_mergeable_ring_too_small);
	tcase_add_test(tc, rx_direct_big_buffer);
	tcase_add_test(tc, rx_direct_read_longer_than_offered);
	tcase_add_test(tc, rx_bounce_read_longer_than_buffer);
	tcase_add_test(tc, rx_bad_chain_needs_reset);
	tcase_add_test(tc, event_idx_interrupts);
	tcase_add_test(tc, no_interrupt_flag);
	tcase_add_test(tc, reset_with_pending);
	tcase_add_test(tc, worker_thread);
	tcase_add_test(tc, worker_stream);
	tcase_add_test(tc, reset_cuts_a_slow_batch_short);
	tcase_add_test(tc, stop_cuts_a_slow_batch_short);
	tcase_add_test(tc, mac_parse_cases);
	tcase_add_test(tc, mac_default_stable);
	tcase_add_test(tc, tap_open_errors);
	tcase_add_test(tc, tap_offload_mapping);
	tcase_add_test(tc, tap_real);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
