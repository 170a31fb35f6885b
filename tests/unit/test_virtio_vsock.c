/*
 * Unit tests for virtio-vsock with the hybrid protocol: rings crafted in
 * guest memory, the device driven through its registers and processed on
 * the test's thread, the host side as real Unix sockets in a scratch
 * directory. No /dev/kvm needed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "guest_mem.h"
#include "snapfile.h"
#include "unit.h"
#include "util.h"
#include "virtio/vsock.h"
#include "virtio_driver.h"

#define CID 7
#define QSIZE 64
#define RXBUF_GPA 0x100000ULL /* QSIZE buffers of RXBUF bytes */
#define RXBUF 4096
#define TXBUF_GPA 0x400000ULL /* packets, 128 KiB apart */
#define EVBUF_GPA 0xe00000ULL /* event buffers, 4 KiB apart */

static struct guest_mem mem;
static struct virtio_vsock *vs;
static struct virtio_mmio_dev *dev;
static struct virtio_drv_queue dq[3];
static char dir[48], uds[72], err[256];

static struct virtio_vsock_stats stats(void)
{
	struct virtio_vsock_stats s;

	virtio_vsock_get_stats(vs, &s);
	return s;
}

static void driver_up(void)
{
	uint32_t st;

	virtio_drv_reset(dev);
	st = virtio_drv_negotiate(dev, 1ULL << VIRTIO_F_VERSION_1);
	for (int q = 0; q < 3; q++) {
		dq[q] = (struct virtio_drv_queue){
			.size = QSIZE,
			.desc = 0x10000 + 0x10000ULL * q,
			.avail = 0x11000 + 0x10000ULL * q,
			.used = 0x12000 + 0x10000ULL * q,
		};
		gmem_fill(&mem, dq[q].desc, 0, 0x10000);
		virtio_drv_setup_queue(dev, (unsigned int)q, QSIZE, dq[q].desc,
				       dq[q].avail, dq[q].used);
	}
	ck_assert_uint_eq(virtio_drv_driver_ok(dev, st),
			  st | VIRTIO_STATUS_DRIVER_OK);
}

static void setup(void)
{
	struct virtio_vsock_opts o = { .cid = CID };
	int ret;

	snprintf(dir, sizeof(dir), "%s/vsock-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	o.uds = uds;
	ck_assert_int_eq(guest_mem_init(&mem, MiB(16)), 0);
	ret = virtio_vsock_create(&vs, &o, &mem, err, sizeof(err));
	ck_assert_msg(ret == 0, "create: %d %s", ret, err);
	dev = virtio_vsock_transport(vs);
	driver_up();
}

static void teardown(void)
{
	char cmd[128];

	virtio_vsock_destroy(vs);
	guest_mem_free(&mem);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Post @n rx buffers of @len bytes each. */
static void post_rx(int n, uint32_t len)
{
	for (int i = 0; i < n; i++) {
		uint16_t slot = dq[VSOCK_RXQ].avail_idx % QSIZE;
		struct virtio_drv_seg s = { RXBUF_GPA + RXBUF * slot, len,
					    true };

		virtio_drv_submit(&mem, &dq[VSOCK_RXQ], &s, 1);
	}
}

/* A packet from the guest: header and @len bytes of @data. */
static void tx_raw(const struct vsock_hdr *h, const void *data, uint32_t len,
		   uint32_t chain_len)
{
	static unsigned int next;
	uint64_t gpa = TXBUF_GPA + (next++ % 64) * 0x20000ULL;
	uint8_t hb[VSOCK_HDR_BYTES];
	struct virtio_drv_seg s;

	vsock_hdr_encode(h, hb);
	gmem_write(&mem, gpa, hb, sizeof(hb));
	if (len)
		gmem_write(&mem, gpa + VSOCK_HDR_BYTES, data, len);
	s = (struct virtio_drv_seg){ gpa, chain_len, false };
	virtio_drv_submit(&mem, &dq[VSOCK_TXQ], &s, 1);
}

static struct vsock_hdr ghdr(uint32_t src_port, uint32_t dst_port, uint16_t op,
			     uint32_t len)
{
	return (struct vsock_hdr){ .src_cid = CID,
				   .dst_cid = VSOCK_HOST_CID,
				   .src_port = src_port,
				   .dst_port = dst_port,
				   .len = len,
				   .type = VSOCK_TYPE_STREAM,
				   .op = op,
				   .buf_alloc = 256 << 10 };
}

static void tx(uint32_t src_port, uint32_t dst_port, uint16_t op,
	       const void *data, uint32_t len)
{
	struct vsock_hdr h = ghdr(src_port, dst_port, op, len);

	tx_raw(&h, data, len, VSOCK_HDR_BYTES + len);
}

static void process(void)
{
	for (int i = 0; i < 8; i++)
		ck_assert_int_ge(virtio_vsock_process(vs), 0);
}

/* The next packet the device gave the guest; @data gets its payload. */
static bool rx_next(struct vsock_hdr *h, void *data, size_t max)
{
	struct virtq_used_elem e;
	uint8_t hb[VSOCK_HDR_BYTES];
	uint64_t gpa;

	if (!virtio_drv_nr_new_used(&mem, &dq[VSOCK_RXQ]))
		return false;
	e = virtio_drv_take_used(&mem, &dq[VSOCK_RXQ]);
	ck_assert_uint_lt(e.id, QSIZE);
	gpa = RXBUF_GPA + RXBUF * e.id;
	ck_assert_uint_ge(e.len, VSOCK_HDR_BYTES);
	gmem_read(&mem, gpa, hb, sizeof(hb));
	vsock_hdr_decode(hb, h);
	ck_assert_uint_eq(e.len, VSOCK_HDR_BYTES + h->len);
	ck_assert_uint_le(h->len, max);
	if (h->len)
		gmem_read(&mem, gpa + VSOCK_HDR_BYTES, data, h->len);
	ck_assert_uint_eq(h->src_cid, VSOCK_HOST_CID);
	ck_assert_uint_eq(h->dst_cid, CID);
	ck_assert_uint_eq(h->type, VSOCK_TYPE_STREAM);
	return true;
}

static int host_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static int host_listen(uint32_t port)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", uds, port);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	return fd;
}

/* Read what the host socket has within @ms; bytes read, 0: EOF, -1: an
 * error (ECONNRESET: closed with our data unread), -2: nothing. */
static ssize_t host_read(int fd, void *buf, size_t len, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };

	if (poll(&p, 1, ms) <= 0)
		return -2;
	return read(fd, buf, len);
}

/* The device closed the host's socket (EOF, or a reset when what the
 * host sent was left unread). */
static bool host_closed(int fd)
{
	char buf[64];
	ssize_t n;

	while ((n = host_read(fd, buf, sizeof(buf), 1000)) > 0)
		;
	return n == 0 || (n == -1 && errno == ECONNRESET);
}

/* A host-initiated connection up to "OK": its fd, the host port. */
static int host_open(uint32_t port, uint32_t *host_port)
{
	char line[64], want[64];
	struct vsock_hdr h;
	int fd = host_connect(uds);
	ssize_t n;

	snprintf(line, sizeof(line), "CONNECT %u\n", port);
	ck_assert_int_eq(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	process();
	ck_assert(rx_next(&h, NULL, 0));
	ck_assert_uint_eq(h.op, VSOCK_OP_REQUEST);
	ck_assert_uint_eq(h.dst_port, port);
	ck_assert_uint_ge(h.src_port, VSOCK_LOCAL_PORT_BASE);
	ck_assert_uint_eq(h.buf_alloc, VSOCK_BUF_ALLOC);
	*host_port = h.src_port;
	tx(port, h.src_port, VSOCK_OP_RESPONSE, NULL, 0);
	process();
	n = host_read(fd, line, sizeof(line) - 1, 1000);
	ck_assert_int_gt(n, 0);
	line[n] = '\0';
	snprintf(want, sizeof(want), "OK %u\n", h.src_port);
	ck_assert_str_eq(line, want);
	return fd;
}

/* Save the device and restore it in place, as a snapshot restore (or a
 * reset in place) does: a TRANSPORT_RESET is then owed to the guest. */
static void restore_in_place(void)
{
	static const uint8_t id[SNAP_ID_BYTES];
	struct snap_writer w;
	struct snap_reader r;
	struct snapfile f;
	const uint8_t *out;
	uint8_t *copy;
	size_t len;

	snap_writer_init(&w);
	snap_begin(&w, SNAP_CONFIG, 0);
	virtio_mmio_quiesce(dev, true);
	ck_assert_int_eq(virtio_mmio_save(dev, &w, NULL), 0);
	virtio_mmio_quiesce(dev, false);
	snap_end(&w);
	ck_assert_int_eq(snap_finish(&w, id, &out, &len), 0);
	copy = malloc(len);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, out, len);
	snap_writer_free(&w);
	ck_assert_int_eq(snapfile_parse(&f, copy, len, NULL, 0), 0);
	ck_assert_int_eq(snapfile_section(&f, SNAP_CONFIG, 0, &r), 0);
	virtio_mmio_quiesce(dev, true);
	ck_assert_int_eq(virtio_mmio_restore(dev, &r, NULL), 0);
	virtio_mmio_quiesce(dev, false);
	snapfile_free(&f);
	ck_assert(!virtio_drv_needs_reset(dev));
}

static void ack_irq(void)
{
	virtio_drv_write32(
		dev, VIRTIO_MMIO_INTERRUPT_ACK,
		virtio_drv_read32(dev, VIRTIO_MMIO_INTERRUPT_STATUS));
}

static bool vring_irq(void)
{
	return virtio_drv_read32(dev, VIRTIO_MMIO_INTERRUPT_STATUS) &
	       VIRTIO_MMIO_INT_VRING;
}

/* Event buffer @slot's page, filled with 0xaa. */
static uint64_t evbuf(unsigned int slot)
{
	uint64_t gpa = EVBUF_GPA + 0x1000ULL * slot;

	gmem_fill(&mem, gpa, 0xaa, 0x1000);
	return gpa;
}

/* The page at @gpa is 0xaa from byte @from on. */
static void untouched_from(uint64_t gpa, unsigned int from)
{
	uint8_t b[0x1000];

	gmem_read(&mem, gpa, b, sizeof(b));
	for (unsigned int i = from; i < sizeof(b); i++)
		ck_assert_msg(b[i] == 0xaa, "byte %u: %#x", i, b[i]);
}

/* The device refused the event ring: NEEDS_RESET, nothing used, and it
 * stays stopped (no crash, no loop) until the driver resets it. */
static void evq_refused(void)
{
	ck_assert_int_lt(virtio_vsock_process(vs), 0);
	ck_assert(virtio_drv_needs_reset(dev));
	ck_assert_uint_ne(virtio_drv_read32(dev, VIRTIO_MMIO_STATUS) &
				  VIRTIO_STATUS_NEEDS_RESET,
			  0);
	ck_assert_int_eq(virtio_drv_nr_new_used(&mem, &dq[VSOCK_EVQ]), 0);
	ck_assert_int_eq(virtio_vsock_process(vs), 0);
	/* A reset and a new driver: working again, no reset owed. */
	driver_up();
	ck_assert(!virtio_drv_needs_reset(dev));
	post_rx(QSIZE, RXBUF);
	close(host_open(1234, &(uint32_t){ 0 }));
}

START_TEST(config_space)
{
	uint8_t b[8];

	ck_assert_uint_eq(virtio_drv_read32(dev, VIRTIO_MMIO_DEVICE_ID),
			  VIRTIO_ID_VSOCK);
	virtio_mmio_io(dev, VIRTIO_MMIO_CONFIG, b, 8, false);
	ck_assert_uint_eq(le_get(b, 8), CID);
}
END_TEST

START_TEST(host_connects)
{
	struct vsock_hdr h;
	uint32_t hp;
	char buf[64];
	int fd;

	post_rx(QSIZE, RXBUF);
	fd = host_open(1234, &hp);
	/* Host -> guest. */
	ck_assert_int_eq(write(fd, "hello", 5), 5);
	process();
	ck_assert(rx_next(&h, buf, sizeof(buf)));
	ck_assert_uint_eq(h.op, VSOCK_OP_RW);
	ck_assert_uint_eq(h.len, 5);
	ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
	/* Guest -> host. */
	tx(1234, hp, VSOCK_OP_RW, "world", 5);
	process();
	ck_assert_int_eq(host_read(fd, buf, sizeof(buf), 1000), 5);
	ck_assert_int_eq(memcmp(buf, "world", 5), 0);
	/* The host shuts its write side: SHUTDOWN(SEND) for the guest. */
	shutdown(fd, SHUT_WR);
	process();
	ck_assert(rx_next(&h, NULL, 0));
	ck_assert_uint_eq(h.op, VSOCK_OP_SHUTDOWN);
	ck_assert_uint_eq(h.flags, VSOCK_SHUTDOWN_SEND);
	/* The guest closes: the host sees EOF, the guest gets its RST. */
	tx(1234, hp, VSOCK_OP_SHUTDOWN, NULL, 0);
	{
		struct vsock_hdr s = ghdr(1234, hp, VSOCK_OP_SHUTDOWN, 0);

		s.flags = VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND;
		tx_raw(&s, NULL, 0, VSOCK_HDR_BYTES);
	}
	process();
	ck_assert_int_eq(host_read(fd, buf, sizeof(buf), 1000), 0);
	ck_assert(rx_next(&h, NULL, 0));
	ck_assert_uint_eq(h.op, VSOCK_OP_RST);
	ck_assert_uint_eq(virtio_vsock_nr_conns(vs), 0);
	close(fd);
}
END_TEST

START_TEST(host_line_bad)
{
	static const char *const lines[] = {
		"CONNECT x\n",
		"CONNECT 4294967296\n",
		"HELLO 5\n",
		"CONNECT 1 2\n",
		"CONNECT 12345678901234567890123456789\n",
	};

	post_rx(QSIZE, RXBUF);
	for (size_t i = 0; i < ARRAY_LEN(lines); i++) {
		int fd = host_connect(uds);
		struct vsock_hdr h;
		char buf[8];

		ck_assert_int_eq(write(fd, lines[i], strlen(lines[i])),
				 (ssize_t)strlen(lines[i]));
		process();
		(void)buf;
		ck_assert_msg(host_closed(fd), "'%s' not refused", lines[i]);
		ck_assert(!rx_next(&h, NULL, 0));
		close(fd);
	}
	ck_assert_uint_eq(stats().host_rejected, ARRAY_LEN(lines));
	ck_assert_uint_eq(virtio_vsock_nr_conns(vs), 0);
}
END_TEST

START_TEST(host_line_in_pieces)
{
	struct vsock_hdr h;
	int fd;

	post_rx(QSIZE, RXBUF);
	fd = host_connect(uds);
	ck_assert_int_eq(write(fd, "CONN", 4), 4);
	process();
	ck_assert(!rx_next(&h, NULL, 0));
	ck_assert_int_eq(write(fd, "ECT 77\ndata", 11), 11);
	process();
	ck_assert(rx_next(&h, NULL, 0));
	ck_assert_uint_eq(h.op, VSOCK_OP_REQUEST);
	ck_assert_uint_eq(h.dst_port, 77);
	/* The guest refuses: the host's socket closes without OK. */
	tx(77, h.src_port, VSOCK_OP_RST, NULL, 0);
	process();
	ck_assert(host_closed(fd));
	close(fd);
}
END_TEST

START_TEST(guest_connects)
{
	struct vsock_hdr h;
	char buf[64];
	int ls, c;

	post_rx(QSIZE, RXBUF);
	/* Nobody at uds_900: RST. */
	tx(5000, 900, VSOCK_OP_REQUEST, NULL, 0);
	process();
	ck_assert(rx_next(&h, NULL, 0));
	ck_assert_uint_eq(h.op, VSOCK_OP_RST);
	ck_assert_uint_eq(h.dst_port, 5000);
	ck_assert_uint_eq(h.src_port, 900);
	ck_assert_uint_eq(stats().no_listener, 1);
	/* Someone there: RESPONSE, and data both ways. */
	ls = host_listen(901);
	tx(5001, 901, VSOCK_OP_REQUEST, NULL, 0);
	process();
	ck_assert(rx_next(&h, NULL, 0));
	ck_assert_uint_eq(h.op, VSOCK_OP_RESPONSE);
	c = accept(ls, NULL, NULL);
	ck_assert_int_ge(c, 0);
	tx(5001, 901, VSOCK_OP_RW, "ping", 4);
	process();
	ck_assert_int_eq(host_read(c, buf, sizeof(buf), 1000), 4);
	ck_assert_int_eq(write(c, "pong", 4), 4);
	process();
	ck_assert(rx_next(&h, buf, sizeof(buf)));
	ck_assert_uint_eq(h.op, VSOCK_OP_RW);
	ck_assert_int_eq(memcmp(buf, "pong", 4), 0);
	/* A second REQUEST for the same pair resets it. */
	tx(5001, 901, VSOCK_OP_REQUEST, NULL, 0);
	process();
	ck_assert(rx_next(&h, NULL, 0));
	ck_assert_uint_eq(h.op, VSOCK_OP_RST);
	ck_assert(host_closed(c));
	close(c);
	close(ls);
}
END_TEST

/* Bad headers: dropped, and a RST where a port pair is named. */
START_TEST(bad_packets)
{
	struct vsock_hdr h, r;
	uint32_t hp;
	int fd;

	post_rx(QSIZE, RXBUF);
	/* Shorter than a header: dropped, nothing else. */
	h = ghdr(1, 2, VSOCK_OP_REQUEST, 0);
	tx_raw(&h, NULL, 0, 20);
	/* From another CID: dropped. */
	h.src_cid = CID + 1;
	tx_raw(&h, NULL, 0, VSOCK_HDR_BYTES);
	process();
	ck_assert(!rx_next(&r, NULL, 0));
	ck_assert_uint_eq(stats().bad_packets, 2);
	/* Unknown op, no connection: RST. Wrong type: RST. */
	tx(10, 20, 99, NULL, 0);
	h = ghdr(11, 21, VSOCK_OP_REQUEST, 0);
	h.type = 2;
	tx_raw(&h, NULL, 0, VSOCK_HDR_BYTES);
	process();
	ck_assert(rx_next(&r, NULL, 0));
	ck_assert_uint_eq(r.op, VSOCK_OP_RST);
	ck_assert_uint_eq(r.dst_port, 10);
	ck_assert(rx_next(&r, NULL, 0));
	ck_assert_uint_eq(r.op, VSOCK_OP_RST);
	ck_assert_uint_eq(r.dst_port, 11);
	/* A length beyond the chain resets the connection it names. */
	fd = host_open(30, &hp);
	h = ghdr(30, hp, VSOCK_OP_RW, 1000);
	tx_raw(&h, "x", 1, VSOCK_HDR_BYTES + 1);
	process();
	ck_assert(rx_next(&r, NULL, 0));
	ck_assert_uint_eq(r.op, VSOCK_OP_RST);
	ck_assert(host_closed(fd));
	close(fd);
	/* Nothing of it broke the device. */
	ck_assert(!virtio_drv_needs_reset(dev));
	ck_assert_uint_eq(virtio_vsock_nr_conns(vs), 0);
}
END_TEST

/* Guest data beyond the credit, the host not reading: reset. */
START_TEST(credit_lie)
{
	static uint8_t chunk[VSOCK_MAX_PKT];
	struct vsock_hdr r;
	uint32_t hp, sent = 0;
	bool reset = false;
	int fd;

	post_rx(QSIZE, RXBUF);
	fd = host_open(40, &hp);
	memset(chunk, 'z', sizeof(chunk));
	/* The host's socket buffer takes some, then VSOCK_BUF_ALLOC more
	 * are allowed; a guest that goes on sending lies. */
	for (int i = 0; i < 200 && !reset; i++) {
		int taken = 0;

		tx(40, hp, VSOCK_OP_RW, chunk, sizeof(chunk));
		process();
		sent += sizeof(chunk);
		while (rx_next(&r, NULL, 0)) {
			reset |= r.op == VSOCK_OP_RST;
			taken++;
		}
		post_rx(taken, RXBUF);
	}
	ck_assert_msg(reset, "no reset after %u bytes", sent);
	ck_assert_uint_eq(stats().credit_lies, 1);
	close(fd);
}
END_TEST

/* Host -> guest stops at the guest's credit, and goes on with it. */
START_TEST(guest_credit)
{
	static uint8_t big[20000];
	struct vsock_hdr r, h;
	uint32_t hp, got = 0;
	int fd;

	post_rx(QSIZE, RXBUF);
	fd = host_connect(uds);
	ck_assert_int_eq(write(fd, "CONNECT 50\n", 11), 11);
	process();
	ck_assert(rx_next(&r, NULL, 0));
	hp = r.src_port;
	h = ghdr(50, hp, VSOCK_OP_RESPONSE, 0);
	h.buf_alloc = 8192;
	tx_raw(&h, NULL, 0, VSOCK_HDR_BYTES);
	process();
	{
		char line[32];

		ck_assert_int_gt(host_read(fd, line, sizeof(line), 1000), 0);
	}
	memset(big, 'q', sizeof(big));
	ck_assert_int_eq(write(fd, big, sizeof(big)), (ssize_t)sizeof(big));
	process();
	while (rx_next(&r, big, sizeof(big)))
		got += r.len;
	ck_assert_uint_eq(got, 8192);
	/* The guest read it all: CREDIT_UPDATE; the rest comes. */
	h = ghdr(50, hp, VSOCK_OP_CREDIT_UPDATE, 0);
	h.buf_alloc = 8192;
	h.fwd_cnt = 8192;
	tx_raw(&h, NULL, 0, VSOCK_HDR_BYTES);
	process();
	while (rx_next(&r, big, sizeof(big)))
		got += r.len;
	ck_assert_uint_eq(got, 16384);
	/* A CREDIT_REQUEST gets our credit. */
	tx(50, hp, VSOCK_OP_CREDIT_REQUEST, NULL, 0);
	process();
	ck_assert(rx_next(&r, NULL, 0));
	ck_assert_uint_eq(r.op, VSOCK_OP_CREDIT_UPDATE);
	ck_assert_uint_eq(r.buf_alloc, VSOCK_BUF_ALLOC);
	close(fd);
}
END_TEST

/* The host does not read: the guest's data waits (bounded), and when
 * the host reads it all arrives, with a credit update. */
START_TEST(host_slow)
{
	static uint8_t chunk[16384], out[1 << 20];
	struct vsock_hdr r;
	uint32_t hp, sent = 0, fwd = 0;
	size_t got = 0;
	ssize_t n;
	int fd;

	post_rx(QSIZE, RXBUF);
	fd = host_open(60, &hp);
	/* Honest: never more than our credit in flight. */
	for (int i = 0; i < 40; i++) {
		while (rx_next(&r, NULL, 0))
			if (r.op == VSOCK_OP_CREDIT_UPDATE ||
			    r.op == VSOCK_OP_RW)
				fwd = r.fwd_cnt;
		if (sent + sizeof(chunk) - fwd > VSOCK_BUF_ALLOC)
			break;
		memset(chunk, 'a' + i % 26, sizeof(chunk));
		tx(60, hp, VSOCK_OP_RW, chunk, sizeof(chunk));
		process();
		sent += sizeof(chunk);
	}
	ck_assert_uint_eq(stats().credit_lies, 0);
	ck_assert_uint_gt(sent - fwd, 0);
	while (got < sent &&
	       (n = host_read(fd, out + got, sizeof(out) - got, 1000)) > 0) {
		got += (size_t)n;
		process();
	}
	ck_assert_uint_eq(got, sent);
	for (size_t i = 0; i < got; i++)
		ck_assert_uint_eq(out[i], 'a' + (i / sizeof(chunk)) % 26);
	while (rx_next(&r, NULL, 0))
		if (r.op == VSOCK_OP_CREDIT_UPDATE)
			fwd = r.fwd_cnt;
	ck_assert_uint_eq(fwd, sent);
	close(fd);
}
END_TEST

/* A flood of requests to nobody with no rx buffers: the RST queue fills,
 * the device stops taking packets, and goes on once the guest takes its
 * replies. */
START_TEST(request_flood)
{
	struct vsock_hdr r;
	unsigned int rst = 0;

	for (uint32_t i = 0; i < QSIZE; i++)
		tx(10000 + i, 7, VSOCK_OP_REQUEST, NULL, 0);
	process();
	ck_assert_uint_eq(virtio_drv_nr_new_used(&mem, &dq[VSOCK_TXQ]),
			  VSOCK_RST_QUEUE);
	ck_assert_uint_ge(stats().tx_stalls, 1);
	post_rx(QSIZE, RXBUF);
	process();
	ck_assert_uint_eq(virtio_drv_nr_new_used(&mem, &dq[VSOCK_TXQ]), QSIZE);
	while (rx_next(&r, NULL, 0)) {
		ck_assert_uint_eq(r.op, VSOCK_OP_RST);
		rst++;
	}
	ck_assert_uint_eq(rst, QSIZE);
}
END_TEST

/* An rx buffer without room for data is a driver bug. */
START_TEST(rx_buffer_too_small)
{
	post_rx(1, VSOCK_HDR_BYTES);
	tx(1, 2, VSOCK_OP_REQUEST, NULL, 0);
	ck_assert_int_lt(virtio_vsock_process(vs), 0);
	ck_assert(virtio_drv_needs_reset(dev));
}
END_TEST

/* A device reset closes every connection; the listener stays. */
START_TEST(reset_closes)
{
	uint32_t hp;
	int fd, fd2;

	post_rx(QSIZE, RXBUF);
	fd = host_open(70, &hp);
	virtio_drv_reset(dev);
	ck_assert_int_eq(virtio_vsock_process(vs), 0);
	ck_assert(host_closed(fd));
	ck_assert_uint_eq(virtio_vsock_nr_conns(vs), 0);
	close(fd);
	driver_up();
	post_rx(QSIZE, RXBUF);
	fd2 = host_open(71, &hp);
	close(fd2);
}
END_TEST

START_TEST(uds_paths)
{
	struct virtio_vsock_opts o = { .cid = CID };
	struct virtio_vsock *v2 = NULL;
	char path[96];
	int fd;

	/* In use (ours is listening). */
	o.uds = uds;
	ck_assert_int_eq(virtio_vsock_create(&v2, &o, &mem, err, sizeof(err)),
			 -EADDRINUSE);
	ck_assert_msg(strstr(err, "in use"), "%s", err);
	/* Not a socket. */
	snprintf(path, sizeof(path), "%s/file", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	o.uds = path;
	ck_assert_int_eq(virtio_vsock_create(&v2, &o, &mem, err, sizeof(err)),
			 -EEXIST);
	ck_assert_msg(strstr(err, "not a socket"), "%s", err);
	/* A stale socket is replaced. */
	snprintf(path, sizeof(path), "%s/stale", dir);
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int s = socket(AF_UNIX, SOCK_STREAM, 0);

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)),
				 0);
		close(s);
	}
	ck_assert_int_eq(virtio_vsock_create(&v2, &o, &mem, err, sizeof(err)),
			 0);
	virtio_vsock_destroy(v2);
	/* Bad cid. */
	o.cid = 2;
	ck_assert_int_eq(virtio_vsock_create(&v2, &o, &mem, err, sizeof(err)),
			 -EINVAL);
}
END_TEST

/* After a restore, the first event buffer gets TRANSPORT_RESET (a le32
 * id of 0) and nothing more, with an interrupt; once only. Variants: a
 * buffer of 4 bytes, a larger one, the 4 bytes split over two. */
START_TEST(restore_transport_reset)
{
	static const uint32_t lens[][2] = { { 4, 0 }, { 64, 0 }, { 1, 3 } };
	struct virtio_drv_seg s[2] = {
		{ evbuf(0), lens[_i][0], true },
		{ evbuf(1), lens[_i][1], true },
	};
	struct virtq_used_elem e;
	uint8_t b[4];
	uint16_t head;

	restore_in_place();
	ack_irq();
	/* No event buffer yet: nothing, no interrupt. */
	process();
	ck_assert(!vring_irq());
	ck_assert_int_eq(virtio_drv_nr_new_used(&mem, &dq[VSOCK_EVQ]), 0);
	head = virtio_drv_submit(&mem, &dq[VSOCK_EVQ], s, s[1].len ? 2 : 1);
	process();
	ck_assert(!virtio_drv_needs_reset(dev));
	ck_assert_int_eq(virtio_drv_nr_new_used(&mem, &dq[VSOCK_EVQ]), 1);
	e = virtio_drv_take_used(&mem, &dq[VSOCK_EVQ]);
	ck_assert_uint_eq(e.id, head);
	ck_assert_uint_eq(e.len, 4);
	ck_assert(vring_irq());
	if (s[1].len) {
		gmem_read(&mem, s[0].gpa, b, 1);
		gmem_read(&mem, s[1].gpa, b + 1, 3);
	} else {
		gmem_read(&mem, s[0].gpa, b, 4);
	}
	ck_assert_uint_eq(le_get(b, 4), VSOCK_EVENT_TRANSPORT_RESET);
	untouched_from(s[0].gpa, s[1].len ? 1 : 4);
	untouched_from(s[1].gpa, s[1].len ? 3 : 0);
	/* One event per restore. */
	s[0] = (struct virtio_drv_seg){ evbuf(2), 4, true };
	virtio_drv_submit(&mem, &dq[VSOCK_EVQ], s, 1);
	process();
	ck_assert_int_eq(virtio_drv_nr_new_used(&mem, &dq[VSOCK_EVQ]), 0);
	untouched_from(s[0].gpa, 0);
}
END_TEST

/* A device-readable event buffer (alone, or before a writable one). */
START_TEST(restore_event_buffer_readable)
{
	struct virtio_drv_seg s[2] = {
		{ evbuf(0), 4, false },
		{ evbuf(1), 4, true },
	};

	restore_in_place();
	virtio_drv_submit(&mem, &dq[VSOCK_EVQ], s, _i ? 2 : 1);
	evq_refused();
	untouched_from(s[0].gpa, 0);
	untouched_from(s[1].gpa, 0);
	untouched_from(evbuf(2), 0);
}
END_TEST

/* A writable event buffer too short for the event: 0, 1 or 3 bytes, or
 * 1 + 2 over two descriptors. */
START_TEST(restore_event_buffer_short)
{
	static const uint32_t lens[][2] = {
		{ 0, 0 }, { 1, 0 }, { 3, 0 }, { 1, 2 }
	};
	struct virtio_drv_seg s[2] = {
		{ evbuf(0), lens[_i][0], true },
		{ evbuf(1), lens[_i][1], true },
	};

	restore_in_place();
	virtio_drv_submit(&mem, &dq[VSOCK_EVQ], s, s[1].len ? 2 : 1);
	evq_refused();
	untouched_from(s[0].gpa, 0);
	untouched_from(s[1].gpa, 0);
}
END_TEST

/* An event ring's avail index more than a ring ahead. */
START_TEST(restore_evq_avail_malformed)
{
	uint16_t idx = QSIZE + 1;

	restore_in_place();
	gmem_write(&mem, dq[VSOCK_EVQ].avail + 2, &idx, 2);
	evq_refused();
}
END_TEST

/* The avail index the reset is marked at is outside the ring's window
 * (the event buffer lies over the avail index: writing the event moves
 * it back, a ring and more ahead in u16): virtq_enable_notify_at()
 * refuses the mark. */
START_TEST(restore_evq_mark_malformed)
{
	struct virtio_drv_seg s = { dq[VSOCK_EVQ].avail + 2, 4, true };
	uint16_t idx;

	restore_in_place();
	virtio_drv_submit(&mem, &dq[VSOCK_EVQ], &s, 1);
	ck_assert_int_lt(virtio_vsock_process(vs), 0);
	ck_assert(virtio_drv_needs_reset(dev));
	gmem_read(&mem, dq[VSOCK_EVQ].avail + 2, &idx, 2);
	ck_assert_uint_eq(idx, 0);
	ck_assert_int_eq(virtio_vsock_process(vs), 0);
	driver_up();
	ck_assert(!virtio_drv_needs_reset(dev));
}
END_TEST

/* After the reset event, an avail index a ring and more ahead of the
 * device's is no refill: the ring is refused, the listener not released. */
START_TEST(restore_hold_avail_malformed)
{
	struct virtio_drv_seg s[2] = {
		{ evbuf(0), 4, true },
		{ evbuf(1), 4, true },
	};
	uint16_t idx = 1 + QSIZE + 1;

	virtio_drv_submit(&mem, &dq[VSOCK_EVQ], &s[0], 1);
	virtio_drv_submit(&mem, &dq[VSOCK_EVQ], &s[1], 1);
	restore_in_place();
	process();
	ck_assert_int_eq(virtio_drv_nr_new_used(&mem, &dq[VSOCK_EVQ]), 1);
	(void)virtio_drv_take_used(&mem, &dq[VSOCK_EVQ]);
	gmem_write(&mem, dq[VSOCK_EVQ].avail + 2, &idx, 2);
	evq_refused();
}
END_TEST

/* After the reset event, a host connection waits in the listener until
 * the driver refills the event ring past the mark. */
START_TEST(restore_holds_listener)
{
	struct virtio_drv_seg s[2] = {
		{ evbuf(0), 4, true },
		{ evbuf(1), 4, true },
	};
	struct vsock_hdr h;
	char line[64];
	ssize_t n;
	int fd;

	/* Two buffers posted: the mark is past both. */
	virtio_drv_submit(&mem, &dq[VSOCK_EVQ], &s[0], 1);
	virtio_drv_submit(&mem, &dq[VSOCK_EVQ], &s[1], 1);
	restore_in_place();
	post_rx(QSIZE, RXBUF);
	process();
	ck_assert_int_eq(virtio_drv_nr_new_used(&mem, &dq[VSOCK_EVQ]), 1);
	(void)virtio_drv_take_used(&mem, &dq[VSOCK_EVQ]);
	fd = host_connect(uds);
	ck_assert_int_eq(write(fd, "CONNECT 1234\n", 13), 13);
	process();
	ck_assert(!rx_next(&h, NULL, 0));
	ck_assert_uint_eq(virtio_vsock_nr_conns(vs), 0);
	/* The driver gives the used buffer back: released. */
	s[0] = (struct virtio_drv_seg){ evbuf(0), 4, true };
	virtio_drv_submit(&mem, &dq[VSOCK_EVQ], &s[0], 1);
	process();
	ck_assert(rx_next(&h, NULL, 0));
	ck_assert_uint_eq(h.op, VSOCK_OP_REQUEST);
	ck_assert_uint_eq(h.dst_port, 1234);
	tx(1234, h.src_port, VSOCK_OP_RESPONSE, NULL, 0);
	process();
	n = host_read(fd, line, sizeof(line) - 1, 1000);
	ck_assert_int_gt(n, 0);
	ck_assert(!strncmp(line, "OK ", 3));
	ck_assert(!virtio_drv_needs_reset(dev));
	close(fd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtio_vsock");
	TCase *tc = tcase_create("vsock");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, config_space);
	tcase_add_test(tc, host_connects);
	tcase_add_test(tc, host_line_bad);
	tcase_add_test(tc, host_line_in_pieces);
	tcase_add_test(tc, guest_connects);
	tcase_add_test(tc, bad_packets);
	tcase_add_test(tc, credit_lie);
	tcase_add_test(tc, guest_credit);
	tcase_add_test(tc, host_slow);
	tcase_add_test(tc, request_flood);
	tcase_add_test(tc, rx_buffer_too_small);
	tcase_add_test(tc, reset_closes);
	tcase_add_test(tc, uds_paths);
	tcase_add_loop_test(tc, restore_transport_reset, 0, 3);
	tcase_add_loop_test(tc, restore_event_buffer_readable, 0, 2);
	tcase_add_loop_test(tc, restore_event_buffer_short, 0, 4);
	tcase_add_test(tc, restore_evq_avail_malformed);
	tcase_add_test(tc, restore_evq_mark_malformed);
	tcase_add_test(tc, restore_hold_avail_malformed);
	tcase_add_test(tc, restore_holds_listener);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
