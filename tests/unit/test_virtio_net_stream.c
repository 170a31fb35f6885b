/*
 * Unit tests for virtio-net on a stream (passt's qemu protocol: each frame
 * behind its 32-bit big-endian length, no vnet header), one end of a
 * SOCK_STREAM socketpair standing in for passt. No /dev/kvm needed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "guest_mem.h"
#include "unit.h"
#include "util.h"
#include "virtio/net.h"
#include "virtio_driver.h"

#define QSIZE 32
#define HDR VIRTIO_NET_HDR_BYTES
#define RXBUF_GPA 0x100000ULL /* QSIZE buffers of 2 KiB */
#define TXBUF_GPA 0x800000ULL

static struct guest_mem mem;
static struct virtio_net *net;
static struct virtio_mmio_dev *dev;
static struct virtio_drv_queue dq[2];
static int sv[2]; /* sv[0]: the device's, sv[1]: "passt" */
static char err[256];
static const uint8_t mac[6] = { 0x02, 1, 2, 3, 4, 5 };

/* Reset the device and bring it up again with VERSION_1 | MAC | @f, both
 * rings fresh (zeroed, the driver's indexes back to 0). */
static void bring_up(uint64_t f)
{
	uint32_t st;

	virtio_drv_reset(dev);
	gmem_fill(&mem, 0x10000, 0, 0x20000);
	st = virtio_drv_negotiate(dev, 1ULL << VIRTIO_F_VERSION_1 |
					       1ULL << VIRTIO_NET_F_MAC | f);
	for (int q = 0; q < 2; q++) {
		dq[q] = (struct virtio_drv_queue){
			.size = QSIZE,
			.desc = 0x10000 + 0x10000ULL * q,
			.avail = 0x11000 + 0x10000ULL * q,
			.used = 0x12000 + 0x10000ULL * q,
		};
		virtio_drv_setup_queue(dev, (unsigned int)q, QSIZE, dq[q].desc,
				       dq[q].avail, dq[q].used);
	}
	ck_assert_uint_eq(virtio_drv_driver_ok(dev, st),
			  st | VIRTIO_STATUS_DRIVER_OK);
}

static void setup(void)
{
	struct virtio_net_config_opts o = { .mac = mac,
					    .name = "passt",
					    .stream = true };
	uint64_t f;

	ck_assert_int_eq(guest_mem_init(&mem, MiB(16)), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	o.tap_fd = sv[0];
	ck_assert_int_eq(virtio_net_create(&net, &o, &mem, err, sizeof(err)),
			 0);
	dev = virtio_net_transport(net);
	f = virtio_drv_device_features(dev);
	/* No vnet header on the stream: nothing a frame would need one
	 * for (partial checksums, segmentation) is offered. GUEST_CSUM
	 * is: passt's frames carry correct checksums, so the device may
	 * mark them DATA_VALID. Nothing offered requires a feature not
	 * offered (virtio 1.2, 5.1.3.1). */
	ck_assert(f & 1ULL << VIRTIO_NET_F_GUEST_CSUM);
	ck_assert(!(f & 1ULL << VIRTIO_NET_F_CSUM));
	ck_assert(!(f & 1ULL << VIRTIO_NET_F_HOST_TSO4));
	ck_assert(!(f & 1ULL << VIRTIO_NET_F_HOST_TSO6));
	ck_assert(!(f & 1ULL << VIRTIO_NET_F_HOST_ECN));
	ck_assert(!(f & 1ULL << VIRTIO_NET_F_HOST_UFO));
	ck_assert(!(f & 1ULL << VIRTIO_NET_F_GUEST_TSO4));
	ck_assert(!(f & 1ULL << VIRTIO_NET_F_GUEST_TSO6));
	ck_assert(!(f & 1ULL << VIRTIO_NET_F_GUEST_ECN));
	ck_assert(!(f & 1ULL << VIRTIO_NET_F_GUEST_UFO));
	ck_assert(f & 1ULL << VIRTIO_NET_F_MRG_RXBUF);
	bring_up(1ULL << VIRTIO_NET_F_MRG_RXBUF);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
}

static void teardown(void)
{
	virtio_net_destroy(net);
	close(sv[1]);
	guest_mem_free(&mem);
}

static struct virtio_net_stats stats(void)
{
	struct virtio_net_stats s;

	virtio_net_get_stats(net, &s);
	return s;
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A tx chain: the guest's header, then @len bytes of @seed, in two
 * descriptors cut in the middle of the frame. */
static void tx_frame(uint32_t len, uint8_t seed)
{
	static unsigned int next;
	uint64_t gpa = TXBUF_GPA + 0x20000ULL * (next++ % 16);
	uint8_t *f = calloc(1, HDR + len);
	struct virtio_drv_seg s[2];

	for (uint32_t i = 0; i < len; i++)
		f[HDR + i] = (uint8_t)(seed + i);
	gmem_write(&mem, gpa, f, HDR + len);
	s[0] = (struct virtio_drv_seg){ gpa, HDR + len / 2, false };
	s[1] = (struct virtio_drv_seg){ gpa + HDR + len / 2, len - len / 2,
					false };
	virtio_drv_submit(&mem, &dq[VIRTIO_NET_TXQ], s, 2);
	free(f);
}

static void post_rx(int n)
{
	for (int i = 0; i < n; i++) {
		uint16_t slot = dq[VIRTIO_NET_RXQ].avail_idx % QSIZE;
		struct virtio_drv_seg s = { RXBUF_GPA + 2048ULL * slot, 2048,
					    true };

		virtio_drv_submit(&mem, &dq[VIRTIO_NET_RXQ], &s, 1);
	}
}

/* Read exactly @len bytes from "passt". */
static void passt_read(uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(sv[1], buf + got, len - got);

		ck_assert_int_gt(n, 0);
		got += (size_t)n;
	}
}

START_TEST(tx_frames)
{
	uint8_t buf[4 + 1500];

	tx_frame(60, 1);
	tx_frame(1500, 2);
	ck_assert_int_eq(virtio_net_process(net), 2);
	passt_read(buf, 4 + 60);
	ck_assert_uint_eq(buf[0] << 24 | buf[1] << 16 | buf[2] << 8 | buf[3],
			  60);
	for (int i = 0; i < 60; i++)
		ck_assert_uint_eq(buf[4 + i], (uint8_t)(1 + i));
	passt_read(buf, 4 + 1500);
	ck_assert_uint_eq(buf[2] << 8 | buf[3], 1500);
	for (int i = 0; i < 1500; i++)
		ck_assert_uint_eq(buf[4 + i], (uint8_t)(2 + i));
	ck_assert_uint_eq(stats().tx_packets, 2);
}
END_TEST

/* "passt" reads slowly: frames come out whole and in order, however the
 * socket cuts them, and the device waits (nothing dropped). */
START_TEST(tx_partial)
{
	static uint8_t buf[4 + 60000];
	int sndbuf = 4096, n = 0;
	size_t total = 0;

	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
				    sizeof(sndbuf)),
			 0);
	for (int i = 0; i < 8; i++)
		tx_frame(60000, (uint8_t)i);
	while (n < 8) {
		uint32_t len;

		(void)virtio_net_process(net);
		fcntl(sv[1], F_SETFL, 0);
		passt_read(buf, 4);
		len = (uint32_t)(buf[0] << 24 | buf[1] << 16 | buf[2] << 8 |
				 buf[3]);
		ck_assert_uint_eq(len, 60000);
		/* The rest may need the device to write more. */
		fcntl(sv[1], F_SETFL, O_NONBLOCK);
		for (size_t got = 0; got < len;) {
			ssize_t r = read(sv[1], buf + 4 + got, len - got);

			if (r > 0)
				got += (size_t)r;
			else
				(void)virtio_net_process(net);
		}
		for (uint32_t i = 0; i < len; i++)
			ck_assert_uint_eq(buf[4 + i], (uint8_t)(n + i));
		total += len;
		n++;
	}
	ck_assert_uint_eq(total, 8 * 60000);
	ck_assert_uint_eq(stats().tx_packets, 8);
	ck_assert_uint_eq(stats().tx_dropped_error, 0);
}
END_TEST

START_TEST(rx_frames)
{
	uint8_t in[4 + 100 + 4 + 1000], hdr[HDR], data[1000];
	struct virtq_used_elem e;

	be32(in, 100);
	memset(in + 4, 'a', 100);
	be32(in + 104, 1000);
	memset(in + 108, 'b', 1000);
	post_rx(QSIZE);
	/* In pieces: the length split, then the rest. */
	ck_assert_int_eq(write(sv[1], in, 2), 2);
	ck_assert_int_eq(virtio_net_process(net), 0);
	ck_assert_int_eq(write(sv[1], in + 2, 300), 300);
	ck_assert_int_eq(virtio_net_process(net), 1);
	ck_assert_int_eq(write(sv[1], in + 302, sizeof(in) - 302),
			 (ssize_t)(sizeof(in) - 302));
	ck_assert_int_eq(virtio_net_process(net), 1);
	for (int f = 0; f < 2; f++) {
		uint32_t len = f ? 1000 : 100;

		e = virtio_drv_take_used(&mem, &dq[VIRTIO_NET_RXQ]);
		ck_assert_uint_eq(e.len, HDR + len);
		gmem_read(&mem, RXBUF_GPA + 2048ULL * e.id, hdr, HDR);
		gmem_read(&mem, RXBUF_GPA + 2048ULL * e.id + HDR, data, len);
		ck_assert_uint_eq(hdr[0], 0);  /* flags */
		ck_assert_uint_eq(hdr[1], 0);  /* gso */
		ck_assert_uint_eq(hdr[10], 1); /* num_buffers */
		for (uint32_t i = 0; i < len; i++)
			ck_assert_uint_eq(data[i], f ? 'b' : 'a');
	}
	ck_assert_uint_eq(stats().rx_packets, 2);
}
END_TEST

/* "passt" sends one frame: @len bytes of @c behind their length. */
static void passt_send(uint32_t len, uint8_t c)
{
	uint8_t *b = malloc(4 + len);

	be32(b, len);
	memset(b + 4, c, len);
	ck_assert_int_eq(write(sv[1], b, 4 + len), (ssize_t)(4 + len));
	free(b);
}

/* Receive one frame of @len bytes of @c, expected in @nbuf of the 2 KiB
 * buffers post_rx() gave; the header of the first one into @hdr. */
static void rx_one(uint32_t len, uint8_t c, int nbuf, uint8_t *hdr)
{
	uint8_t *data = malloc(len);
	uint32_t got = 0, bad = 0;

	passt_send(len, c);
	ck_assert_int_eq(virtio_net_process(net), 1);
	ck_assert_int_eq(virtio_drv_nr_new_used(&mem, &dq[VIRTIO_NET_RXQ]),
			 nbuf);
	for (int i = 0; i < nbuf; i++) {
		struct virtq_used_elem e =
			virtio_drv_take_used(&mem, &dq[VIRTIO_NET_RXQ]);
		uint64_t gpa = RXBUF_GPA + 2048ULL * e.id;
		uint32_t off = i ? 0 : HDR; /* only the first has a header */

		ck_assert_uint_ge(e.len, off);
		ck_assert_uint_le(got + e.len - off, len);
		if (!i)
			gmem_read(&mem, gpa, hdr, HDR);
		gmem_read(&mem, gpa + off, data + got, e.len - off);
		got += e.len - off;
	}
	ck_assert_uint_eq(got, len);
	for (uint32_t i = 0; i < len; i++)
		bad += data[i] != c;
	ck_assert_uint_eq(bad, 0);
	free(data);
}

/* The header of a frame from the stream: @flags at byte 0, no GSO, no
 * checksum offsets, num_buffers @nbuf. */
static void check_hdr(const uint8_t *hdr, uint8_t flags, uint16_t nbuf)
{
	ck_assert_uint_eq(hdr[0], flags);
	ck_assert_uint_eq(hdr[1], VIRTIO_NET_HDR_GSO_NONE);
	for (int i = 2; i < VIRTIO_NET_HDR_OFF_NUM_BUFFERS; i++)
		ck_assert_uint_eq(hdr[i], 0); /* hdr_len, gso_size, csum_* */
	ck_assert_uint_eq(hdr[10] | hdr[11] << 8, nbuf);
}

/* GUEST_CSUM negotiated: every frame from passt is marked DATA_VALID
 * (passt computed its checksums), with or without MRG_RXBUF. The header
 * is the same 12 bytes either way (VERSION_1: num_buffers is always
 * there), flags at byte 0 of the first buffer; a merged frame has it
 * there too, and its second buffer holds frame bytes only. */
START_TEST(rx_data_valid_with_guest_csum)
{
	for (int mrg = 0; mrg < 2; mrg++) {
		uint8_t hdr[HDR];

		bring_up(1ULL << VIRTIO_NET_F_GUEST_CSUM |
			 (mrg ? 1ULL << VIRTIO_NET_F_MRG_RXBUF : 0));
		post_rx(QSIZE);
		rx_one(1000, 'x', 1, hdr);
		check_hdr(hdr, VIRTIO_NET_HDR_F_DATA_VALID, 1);
		if (mrg) {
			rx_one(3000, 'y', 2, hdr);
			check_hdr(hdr, VIRTIO_NET_HDR_F_DATA_VALID, 2);
		}
	}
	ck_assert_uint_eq(stats().rx_packets, 3);
}
END_TEST

/* GUEST_CSUM offered but declined: flags stay 0 (5.1.6.4.1: without
 * GUEST_CSUM the device MUST set flags to zero), with or without
 * MRG_RXBUF, even right after the same device had it negotiated (what
 * counts is what this driver accepted, not what was offered). */
START_TEST(rx_no_data_valid_without_guest_csum)
{
	for (int mrg = 0; mrg < 2; mrg++) {
		uint64_t f = mrg ? 1ULL << VIRTIO_NET_F_MRG_RXBUF : 0;
		uint8_t hdr[HDR];

		bring_up(f | 1ULL << VIRTIO_NET_F_GUEST_CSUM);
		post_rx(QSIZE);
		rx_one(100, 'a', 1, hdr);
		check_hdr(hdr, VIRTIO_NET_HDR_F_DATA_VALID, 1);
		bring_up(f);
		post_rx(QSIZE);
		rx_one(100, 'b', 1, hdr);
		check_hdr(hdr, 0, 1);
		if (mrg) {
			rx_one(3000, 'c', 2, hdr);
			check_hdr(hdr, 0, 2);
		}
	}
}
END_TEST

/* A frame read while the driver had GUEST_CSUM, waiting for room when
 * the device is reset, is dropped: the next driver, which declined
 * GUEST_CSUM, never sees a header made for the old one. */
START_TEST(rx_waiting_frame_dropped_by_reset)
{
	uint8_t hdr[HDR];

	bring_up(1ULL << VIRTIO_NET_F_GUEST_CSUM);
	passt_send(100, 'a');
	ck_assert_int_eq(virtio_net_process(net), 0); /* no buffers yet */
	bring_up(0);
	ck_assert_uint_eq(stats().rx_dropped_reset, 1);
	post_rx(QSIZE);
	rx_one(200, 'b', 1, hdr);
	check_hdr(hdr, 0, 1);
}
END_TEST

/* A length of 0 or beyond a frame: the stream is broken, given up. */
START_TEST(rx_bad_length)
{
	uint8_t in[8] = { 0 };

	post_rx(QSIZE);
	be32(in, VIRTIO_NET_MAX_FRAME + 1);
	ck_assert_int_eq(write(sv[1], in, 8), 8);
	ck_assert_int_eq(virtio_net_process(net), 0);
	ck_assert_uint_eq(stats().rx_read_errors, 1);
	ck_assert_int_eq(virtio_drv_nr_new_used(&mem, &dq[VIRTIO_NET_RXQ]), 0);
	/* The device lives on: transmit still works. */
	tx_frame(60, 9);
	ck_assert_int_eq(virtio_net_process(net), 1);
	ck_assert(!virtio_drv_needs_reset(dev));
}
END_TEST

/* A burst of frames bigger than one frame's worth of buffer: one read()
 * takes them all (the buffer holds NET_STREAM_BUF bytes), and each
 * reaches the guest whole, its header in place of its length, also the
 * frame left waiting for room each time the ring runs out. Sizes vary
 * so frames span one to three 2 KiB buffers. */
#define BURST 120
static uint32_t burst_len(int i)
{
	return 60 + (uint32_t)(i * 397) % 4000;
}

START_TEST(rx_burst_one_read)
{
	static uint8_t in[BURST * (4 + 4060)];
	size_t total = 0, off = 0;
	int sz = 1 << 20, f = 0, posted = 0; /* buffers not yet used */

	bring_up(1ULL << VIRTIO_NET_F_MRG_RXBUF |
		 1ULL << VIRTIO_NET_F_GUEST_CSUM);
	(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	for (int i = 0; i < BURST; i++) {
		be32(in + total, burst_len(i));
		memset(in + total + 4, 'A' + i % 50, burst_len(i));
		total += 4 + burst_len(i);
	}
	ck_assert_uint_gt(total, 2 * (4 + VIRTIO_NET_MAX_FRAME));
	while (off < total) {
		ssize_t w = write(sv[1], in + off, total - off);

		ck_assert_int_gt(w, 0);
		off += (size_t)w;
	}
	while (f < BURST) {
		int got;

		post_rx(QSIZE - posted);
		posted = QSIZE;
		got = virtio_net_process(net);
		ck_assert_int_gt(got, 0);
		for (int k = 0; k < got; k++, f++) {
			uint8_t hdr[HDR], data[4060];
			uint32_t len = burst_len(f), have = 0;
			uint16_t nb = 0;

			for (uint16_t b = 0; !b || b < nb; b++) {
				struct virtq_used_elem e = virtio_drv_take_used(
					&mem, &dq[VIRTIO_NET_RXQ]);
				uint64_t gpa = RXBUF_GPA + 2048ULL * e.id;
				uint32_t skip = b ? 0 : HDR;

				posted--;

				if (!b) {
					gmem_read(&mem, gpa, hdr, HDR);
					nb = (uint16_t)(hdr[10] | hdr[11] << 8);
					ck_assert_uint_ge(nb, 1);
				}
				ck_assert_uint_le(have + e.len - skip, len);
				gmem_read(&mem, gpa + skip, data + have,
					  e.len - skip);
				have += e.len - skip;
			}
			check_hdr(hdr, VIRTIO_NET_HDR_F_DATA_VALID, nb);
			ck_assert_uint_eq(have, len);
			for (uint32_t i = 0; i < len; i++)
				ck_assert_uint_eq(data[i], 'A' + f % 50);
		}
	}
	ck_assert_uint_eq(stats().rx_packets, BURST);
	ck_assert_uint_eq(stats().rx_stream_reads, 1);
	ck_assert_int_eq(virtio_net_process(net), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtio_net_stream");
	TCase *tc = tcase_create("stream");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, tx_frames);
	tcase_add_test(tc, tx_partial);
	tcase_add_test(tc, rx_frames);
	tcase_add_test(tc, rx_bad_length);
	tcase_add_test(tc, rx_data_valid_with_guest_csum);
	tcase_add_test(tc, rx_no_data_valid_without_guest_csum);
	tcase_add_test(tc, rx_waiting_frame_dropped_by_reset);
	tcase_add_test(tc, rx_burst_one_read);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
