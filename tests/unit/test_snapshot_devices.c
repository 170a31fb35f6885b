/*
 * Unit tests for the devices' snapshot state: each device saved, then
 * restored into a fresh one, behaves as the first (registers, FIFOs,
 * pending commands, queues, an in-flight virtio-blk request, a received
 * frame waiting in virtio-net on a stream); a section with an impossible
 * value is refused and changes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/i8042.h"
#include "devices/platform_ports.h"
#include "devices/rtc.h"
#include "devices/serial8250.h"
#include "fakes.h"
#include "guest_mem.h"
#include "snapfile.h"
#include "unit.h"
#include "virtio/blk.h"
#include "virtio/mmio.h"
#include "virtio/net.h"
#include "virtio/virtq.h"
#include "virtio_driver.h"
#include "x86_layout.h"

/* One section's bytes, saved by @save(@dev, w), kept for readers. */
struct saved {
	struct snapfile f;
};

static void save_section(struct saved *s, void (*save)(void *, void *),
			 void *dev)
{
	static const uint8_t id[SNAP_ID_BYTES];
	struct snap_writer w;
	const uint8_t *out;
	uint8_t *copy;
	size_t len;

	snap_writer_init(&w);
	snap_begin(&w, SNAP_CONFIG, 0);
	save(dev, &w);
	snap_end(&w);
	ck_assert_int_eq(snap_finish(&w, id, &out, &len), 0);
	copy = malloc(len);
	memcpy(copy, out, len);
	snap_writer_free(&w);
	ck_assert_int_eq(snapfile_parse(&s->f, copy, len, NULL, 0), 0);
}

static struct snap_reader reader(const struct saved *s)
{
	struct snap_reader r;

	ck_assert_int_eq(snapfile_section(&s->f, SNAP_CONFIG, 0, &r), 0);
	return r;
}

/* A reader over a copy of @s's bytes with byte @at set to @v. */
static struct snap_reader patched(const struct saved *s, size_t at, uint8_t v,
				  uint8_t *buf)
{
	struct snap_reader r = reader(s);

	ck_assert_uint_lt(at, r.len);
	memcpy(buf, r.p, r.len);
	buf[at] = v;
	r.p = buf;
	return r;
}

/* ---- UART ---- */

static int irq_level = -1;

static void record_irq(void *opaque, unsigned int gsi, int level)
{
	(void)opaque;
	(void)gsi;
	irq_level = level;
}

static uint8_t uart_rd(struct serial8250 *s, uint64_t off)
{
	uint8_t b = 0;

	serial8250_io(s, off, &b, 1, false);
	return b;
}

static void uart_wr(struct serial8250 *s, uint64_t off, uint8_t v)
{
	serial8250_io(s, off, &v, 1, true);
}

static void save_uart(void *dev, void *w)
{
	serial8250_save(dev, w);
}

START_TEST(uart_roundtrip)
{
	struct irq_line irq = { record_irq, NULL, 4 };
	struct serial8250 *a = calloc(1, sizeof(*a)),
			  *b = calloc(1, sizeof(*b));
	struct saved s;
	struct snap_reader r;
	uint8_t buf[8192];

	ck_assert_int_eq(serial8250_init(a, &irq, NULL, NULL), 0);
	uart_wr(a, U8250_LCR, U8250_LCR_DLAB);
	uart_wr(a, U8250_DLL, 0x01);
	uart_wr(a, U8250_DLM, 0x02);
	uart_wr(a, U8250_LCR, 0x03);
	uart_wr(a, U8250_FCR, U8250_FCR_ENABLE_FIFO);
	uart_wr(a, U8250_MCR, U8250_MCR_DTR | U8250_MCR_OUT2);
	uart_wr(a, U8250_SCR, 0x5c);
	uart_wr(a, U8250_IER, U8250_IER_RDI);
	ck_assert_uint_eq(serial8250_receive(a, (const uint8_t *)"hello", 5),
			  5);
	save_section(&s, save_uart, a);

	ck_assert_int_eq(serial8250_init(b, &irq, NULL, NULL), 0);
	irq_level = -1;
	r = reader(&s);
	ck_assert_int_eq(serial8250_restore(b, &r), 0);
	/* The line is driven to what the state implies: data waiting. */
	ck_assert_int_eq(irq_level, 1);
	for (uint64_t off = U8250_IER; off < U8250_NR_REGS; off++)
		if (off != U8250_IIR && off != U8250_LSR && off != U8250_MSR)
			ck_assert_uint_eq(uart_rd(b, off), uart_rd(a, off));
	ck_assert_uint_eq(serial8250_peek_iir(b), serial8250_peek_iir(a));
	uart_wr(b, U8250_LCR, 0x83);
	ck_assert_uint_eq(uart_rd(b, U8250_DLL), 0x01);
	ck_assert_uint_eq(uart_rd(b, U8250_DLM), 0x02);
	uart_wr(b, U8250_LCR, 0x03);
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(uart_rd(b, U8250_RX), "hello"[i]);
	ck_assert_int_eq(irq_level, 0); /* drained */

	/* IER with bits no 16550A has: refused, nothing changed. */
	r = patched(&s, 0, 0xff, buf);
	ck_assert_int_eq(serial8250_restore(b, &r), -EINVAL);
	ck_assert_uint_eq(uart_rd(b, U8250_SCR), 0x5c);
	/* A FIFO longer than the UART's. */
	r = reader(&s);
	memcpy(buf, r.p, r.len);
	le_put(buf + 11, 4, SERIAL8250_RX_FIFO_SIZE + 1);
	r.p = buf;
	ck_assert_int_eq(serial8250_restore(b, &r), -EINVAL);
	/* A short section. */
	r = reader(&s);
	r.len -= 1;
	ck_assert_int_eq(serial8250_restore(b, &r), -EINVAL);
	snapfile_free(&s.f);
	serial8250_destroy(a);
	serial8250_destroy(b);
	free(a);
	free(b);
}
END_TEST

static bool refuse_all(void *opaque, uint8_t byte)
{
	(void)opaque;
	(void)byte;
	return false;
}

static void collect(void *opaque, const uint8_t *buf, size_t len)
{
	char *out = opaque;

	strncat(out, (const char *)buf, len);
}

/* Bytes a full console held in the transmit FIFO are in the snapshot and
 * go, in order, once the restored UART may send. */
START_TEST(uart_held_tx_roundtrip)
{
	struct irq_line irq = { record_irq, NULL, 4 };
	struct serial8250 *a = calloc(1, sizeof(*a)),
			  *b = calloc(1, sizeof(*b));
	char out[32] = "";
	struct saved s;
	struct snap_reader r;
	uint8_t buf[8192];

	ck_assert_int_eq(serial8250_init(a, &irq, NULL, NULL), 0);
	serial8250_set_tx_gate(a, refuse_all, NULL);
	uart_wr(a, U8250_FCR, U8250_FCR_ENABLE_FIFO);
	for (int i = 0; i < 5; i++)
		uart_wr(a, U8250_TX, (uint8_t)"held!"[i]);
	ck_assert_uint_eq(uart_rd(a, U8250_LSR) & U8250_LSR_THRE, 0);
	save_section(&s, save_uart, a);

	ck_assert_int_eq(serial8250_init(b, &irq, collect, out), 0);
	r = reader(&s);
	ck_assert_int_eq(serial8250_restore(b, &r), 0);
	ck_assert_uint_eq(uart_rd(b, U8250_LSR) & U8250_LSR_THRE, 0);
	serial8250_tx_ready(b);
	ck_assert_str_eq(out, "held!");
	ck_assert_uint_eq(uart_rd(b, U8250_LSR) & U8250_LSR_THRE,
			  U8250_LSR_THRE);

	/* More held bytes than the FIFO holds: refused. */
	r = reader(&s);
	memcpy(buf, r.p, r.len);
	buf[10] = SERIAL8250_TX_FIFO_SIZE + 1;
	r.p = buf;
	ck_assert_int_eq(serial8250_restore(b, &r), -EINVAL);
	snapfile_free(&s.f);
	serial8250_destroy(a);
	serial8250_destroy(b);
	free(a);
	free(b);
}
END_TEST

/* ---- RTC, i8042, platform ports ---- */

static void save_rtc(void *dev, void *w)
{
	rtc_save(dev, w);
}

START_TEST(rtc_roundtrip)
{
	struct rtc a, b;
	struct saved s;
	struct snap_reader r;
	uint8_t buf[256];

	ck_assert_int_eq(rtc_init(&a), 0);
	ck_assert_int_eq(rtc_init(&b), 0);
	a.index = 0x21;
	a.cmos[0x21] = 0x77;
	a.offset = -86400;
	save_section(&s, save_rtc, &a);
	r = reader(&s);
	ck_assert_int_eq(rtc_restore(&b, &r), 0);
	ck_assert_uint_eq(b.index, 0x21);
	ck_assert_int_eq(memcmp(a.cmos, b.cmos, sizeof(a.cmos)), 0);
	ck_assert_int_eq(b.offset, -86400);
	r = patched(&s, 0, 200, buf); /* no register 200 */
	ck_assert_int_eq(rtc_restore(&b, &r), -EINVAL);
	ck_assert_uint_eq(b.index, 0x21);
	snapfile_free(&s.f);
	rtc_destroy(&a);
	rtc_destroy(&b);
}
END_TEST

static void save_i8042(void *dev, void *w)
{
	i8042_save(dev, w);
}

START_TEST(i8042_roundtrip)
{
	struct fake_platform fp = { 0 };
	struct platform_ops ops = { fake_platform_event, &fp };
	struct i8042 a, b;
	struct saved s;
	struct snap_reader r;
	uint8_t v = 0xd1, buf[64]; /* WRITE_OUTP, waiting for its byte */

	ck_assert_int_eq(i8042_init(&a, &ops), 0);
	ck_assert_int_eq(i8042_init(&b, &ops), 0);
	i8042_cmd_io(&a, 0, &v, 1, true);
	save_section(&s, save_i8042, &a);
	r = reader(&s);
	ck_assert_int_eq(i8042_restore(&b, &r), 0);
	/* The restored controller takes the pending command's byte: a
	 * cleared reset line reboots. */
	v = 0x00;
	i8042_data_io(&b, 0, &v, 1, true);
	ck_assert_int_eq(fp.nr, 1);
	ck_assert_int_eq(fp.ev[0], PLATFORM_REBOOT);
	r = patched(&s, 3, 2, buf); /* obf is a boolean */
	ck_assert_int_eq(i8042_restore(&b, &r), -EINVAL);
	snapfile_free(&s.f);
	i8042_destroy(&a);
	i8042_destroy(&b);
}
END_TEST

static void save_acpi(void *dev, void *w)
{
	acpi_sleep_port_save(dev, w);
}

START_TEST(platform_ports)
{
	struct fake_platform fp = { 0 };
	struct platform_ops ops = { fake_platform_event, &fp };
	struct acpi_sleep_port a, b;
	struct snapshot_port on, off;
	struct saved s;
	struct snap_reader r;
	uint8_t v[4];

	acpi_sleep_port_init(&a, &ops);
	acpi_sleep_port_init(&b, &ops);
	atomic_store(&a.status, ACPI_WAK_STS);
	save_section(&s, save_acpi, &a);
	r = reader(&s);
	ck_assert_int_eq(acpi_sleep_port_restore(&b, &r), 0);
	acpi_sleep_port_io(&b, ACPI_SLEEP_STS_OFF, v, 1, false);
	ck_assert_uint_eq(v[0], ACPI_WAK_STS);
	snapfile_free(&s.f);

	/* Port 0xf6: reads 0 until restored, then 1 (wide reads: then
	 * zeros); writes ask for a snapshot only when enabled. */
	snapshot_port_init(&on, &ops, true);
	snapshot_port_init(&off, &ops, false);
	memset(v, 0xff, sizeof(v));
	snapshot_port_io(&off, 0, v, 4, false);
	ck_assert_uint_eq(le_get(v, 4), 0);
	v[0] = 1;
	snapshot_port_io(&off, 0, v, 1, true);
	ck_assert_int_eq(fp.nr, 0);
	snapshot_port_io(&on, 0, v, 1, true);
	ck_assert_int_eq(fp.nr, 1);
	ck_assert_int_eq(fp.ev[0], PLATFORM_SNAPSHOT);
	snapshot_port_set_restored(&off);
	memset(v, 0xff, sizeof(v));
	snapshot_port_io(&off, 0, v, 4, false);
	ck_assert_uint_eq(le_get(v, 4), 1);
}
END_TEST

/* ---- virtqueues ---- */

static struct guest_mem mem;

static void mem_setup(void)
{
	ck_assert_int_eq(guest_mem_init(&mem, MiB(16)), 0);
}

static void mem_teardown(void)
{
	guest_mem_free(&mem);
}

static void save_virtq(void *dev, void *w)
{
	virtq_save(dev, w);
}

START_TEST(virtq_roundtrip)
{
	struct virtq a, b;
	struct saved s;
	struct snap_reader r;
	uint8_t buf[64];

	virtq_reset(&a);
	a.size = 16;
	a.desc_gpa = 0x10000;
	a.avail_gpa = 0x11000;
	a.used_gpa = 0x12000;
	a.event_idx = true;
	ck_assert_int_eq(virtq_validate_layout(&a, &mem), 0);
	a.last_avail_idx = 700;
	a.used_idx = 699;
	a.signalled_used = 690;
	save_section(&s, save_virtq, &a);
	r = reader(&s);
	ck_assert_int_eq(virtq_restore(&b, &r, &mem), 0);
	ck_assert(virtq_is_ready(&b));
	ck_assert_uint_eq(virtq_size(&b), 16);
	ck_assert_uint_eq(virtq_next_avail(&b), 700);
	ck_assert_uint_eq(b.used_idx, 699);
	ck_assert_uint_eq(b.signalled_used, 690);
	ck_assert(b.event_idx && !b.indirect);
	/* Its rings are where the driver put them. */
	ck_assert_ptr_eq(b.desc, gmem_ptr(&mem, 0x10000, 1));

	/* A size no transport takes; rings past the end of RAM. */
	r = patched(&s, 0, 3, buf);
	ck_assert_int_eq(virtq_restore(&b, &r, &mem), -EINVAL);
	ck_assert(!virtq_is_ready(&b));
	r = patched(&s, 2 + 8 + 8 + 3, 0x80, buf); /* used at 2 GiB+ */
	ck_assert_int_eq(virtq_restore(&b, &r, &mem), -EINVAL);
	ck_assert(!virtq_is_ready(&b));
	snapfile_free(&s.f);
}
END_TEST

/* ---- virtio-blk through the transport ---- */

#define QSIZE 8
#define HDR_GPA 0x100000ULL
#define DATA_GPA 0x200000ULL
#define STATUS_GPA 0x110000ULL

static char img[64];

static void make_image(void)
{
	uint8_t sector[512];
	int fd;

	snprintf(img, sizeof(img), "/tmp/kvmlite-snapdev-XXXXXX");
	fd = mkstemp(img);
	ck_assert_int_ge(fd, 0);
	for (int s = 0; s < 64; s++) {
		memset(sector, 'a' + s % 26, sizeof(sector));
		ck_assert_int_eq(write(fd, sector, 512), 512);
	}
	close(fd);
}

static void submit_read(struct virtio_drv_queue *q, uint64_t sector,
			uint64_t data)
{
	uint8_t hdr[16] = { 0 };
	struct virtio_drv_seg segs[3] = {
		{ HDR_GPA + 16 * q->avail_idx, 16, false },
		{ data, 512, true },
		{ STATUS_GPA + q->avail_idx, 1, true },
	};

	le_put(hdr + 8, 8, sector);
	gmem_write(&mem, segs[0].gpa, hdr, sizeof(hdr));
	virtio_drv_submit(&mem, q, segs, 3);
}

static int save_mmio(struct virtio_mmio_dev *d, struct snap_writer *w)
{
	int ret;

	virtio_mmio_quiesce(d, true);
	ret = virtio_mmio_save(d, w, NULL);
	virtio_mmio_quiesce(d, false);
	return ret;
}

static void save_blk(void *dev, void *w)
{
	ck_assert_int_eq(save_mmio(dev, w), 0);
}

START_TEST(blk_in_flight_request)
{
	struct virtio_blk_config_opts o = { .path = img };
	struct virtio_drv_queue q = {
		QSIZE, 0x10000, 0x11000, 0x12000, 0, 0, 0
	};
	struct virtio_blk *a, *b;
	struct virtio_mmio_dev *d;
	struct saved s;
	struct snap_reader r;
	char err[256];
	uint8_t data[512];
	uint32_t st;

	make_image();
	ck_assert_int_eq(virtio_blk_create(&a, &o, &mem, err, sizeof(err)), 0);
	d = virtio_blk_transport(a);
	virtio_drv_reset(d);
	st = virtio_drv_negotiate(d, 1ULL << VIRTIO_F_VERSION_1);
	virtio_drv_setup_queue(d, 0, QSIZE, q.desc, q.avail, q.used);
	ck_assert(virtio_drv_driver_ok(d, st) & VIRTIO_STATUS_DRIVER_OK);
	submit_read(&q, 1, DATA_GPA);
	ck_assert_int_eq(virtio_blk_process_queue(a, 0), 1);
	/* A second request, made available but not taken yet: the
	 * snapshot holds it in the guest's ring. */
	submit_read(&q, 2, DATA_GPA + 512);
	save_section(&s, save_blk, d);
	virtio_blk_destroy(a);

	ck_assert_int_eq(virtio_blk_create(&b, &o, &mem, err, sizeof(err)), 0);
	d = virtio_blk_transport(b);
	r = reader(&s);
	virtio_mmio_quiesce(d, true);
	ck_assert_int_eq(virtio_mmio_restore(d, &r, NULL), 0);
	virtio_mmio_quiesce(d, false);
	ck_assert_uint_eq(virtio_drv_read32(d, VIRTIO_MMIO_STATUS),
			  st | VIRTIO_STATUS_DRIVER_OK);
	ck_assert_int_eq(virtio_blk_process_queue(b, 0), 1);
	ck_assert_int_eq(virtio_drv_nr_new_used(&mem, &q), 2);
	gmem_read(&mem, DATA_GPA + 512, data, sizeof(data));
	for (int i = 0; i < 512; i++)
		ck_assert_uint_eq(data[i], 'c');

	/* Another device's section; a status no driver can reach. */
	{
		uint8_t buf[4096];

		r = patched(&s, 0, 1, buf); /* device id 1: a net */
		virtio_mmio_quiesce(d, true);
		ck_assert_int_eq(virtio_mmio_restore(d, &r, NULL), -EINVAL);
		r = patched(&s, 8, VIRTIO_STATUS_DRIVER_OK, buf);
		ck_assert_int_eq(virtio_mmio_restore(d, &r, NULL), -EINVAL);
		virtio_mmio_quiesce(d, false);
		/* Left as after a reset. */
		ck_assert_uint_eq(virtio_drv_read32(d, VIRTIO_MMIO_STATUS), 0);
	}
	snapfile_free(&s.f);
	virtio_blk_destroy(b);
	unlink(img);
}
END_TEST

/* ---- virtio-net on a stream (passt) ---- */

#define NET_RXBUF_GPA 0x300000ULL
#define NET_FRAME 100

struct stream_net {
	struct virtio_net *n;
	struct virtio_mmio_dev *d;
	int peer; /* "passt" */
};

static void stream_net_create(struct stream_net *sn)
{
	static const uint8_t mac[6] = { 0x02, 1, 2, 3, 4, 5 };
	struct virtio_net_config_opts o = { .mac = mac,
					    .name = "passt",
					    .stream = true };
	char err[256];
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	o.tap_fd = sv[0];
	ck_assert_int_eq(virtio_net_create(&sn->n, &o, &mem, err, sizeof(err)),
			 0);
	sn->d = virtio_net_transport(sn->n);
	sn->peer = sv[1];
}

static void stream_net_destroy(struct stream_net *sn)
{
	virtio_net_destroy(sn->n);
	close(sn->peer);
}

/* Restore @r into @sn's device: it comes back with status @st, live. */
static void stream_net_restore(struct stream_net *sn, struct snap_reader *r,
			       uint32_t st)
{
	virtio_mmio_quiesce(sn->d, true);
	ck_assert_int_eq(virtio_mmio_restore(sn->d, r, NULL), 0);
	virtio_mmio_quiesce(sn->d, false);
	ck_assert_uint_eq(virtio_drv_read32(sn->d, VIRTIO_MMIO_STATUS),
			  st | VIRTIO_STATUS_DRIVER_OK);
}

static void passt_frame(const struct stream_net *sn, uint8_t c)
{
	uint8_t b[4 + NET_FRAME] = { 0, 0, 0, NET_FRAME };

	memset(b + 4, c, NET_FRAME);
	ck_assert_int_eq(write(sn->peer, b, sizeof(b)), (ssize_t)sizeof(b));
}

/* The next frame the guest got: its flags; its bytes are all @c. */
static uint8_t guest_frame(struct virtio_drv_queue *q, uint8_t c)
{
	uint8_t got[VIRTIO_NET_HDR_BYTES + NET_FRAME];
	struct virtq_used_elem e;
	int bad = 0;

	ck_assert_int_eq(virtio_drv_nr_new_used(&mem, q), 1);
	e = virtio_drv_take_used(&mem, q);
	ck_assert_uint_eq(e.len, sizeof(got));
	gmem_read(&mem, NET_RXBUF_GPA + 2048ULL * e.id, got, sizeof(got));
	for (int i = 0; i < NET_FRAME; i++)
		bad += got[VIRTIO_NET_HDR_BYTES + i] != c;
	ck_assert_int_eq(bad, 0);
	ck_assert_uint_eq(got[VIRTIO_NET_HDR_OFF_NUM_BUFFERS], 1);
	return got[0];
}

static void post_net_rx(struct virtio_drv_queue *q)
{
	struct virtio_drv_seg seg = {
		NET_RXBUF_GPA + 2048ULL * (q->avail_idx % q->size), 2048, true
	};

	virtio_drv_submit(&mem, q, &seg, 1);
}

static void save_net(void *dev, void *w)
{
	ck_assert_int_eq(save_mmio(dev, w), 0);
}

/*
 * GUEST_CSUM is not in the net section: a restore takes it from the
 * transport's negotiated features, as an activation does. Saved with a
 * frame from passt waiting for room, restored into a fresh device: that
 * frame and the next one get DATA_VALID exactly when the driver had
 * negotiated GUEST_CSUM; a saved header that claims DATA_VALID without
 * it is delivered with flags 0.
 */
START_TEST(net_stream_guest_csum)
{
	const uint8_t want = _i ? VIRTIO_NET_HDR_F_DATA_VALID : 0;
	struct virtio_drv_queue q[2] = {
		{ QSIZE, 0x10000, 0x11000, 0x12000, 0, 0, 0 },
		{ QSIZE, 0x20000, 0x21000, 0x22000, 0, 0, 0 },
	};
	struct virtio_drv_queue q0 = q[0];
	struct stream_net a, b;
	struct snap_reader r;
	struct saved s;
	uint8_t buf[4096];
	uint32_t st;

	stream_net_create(&a);
	virtio_drv_reset(a.d);
	st = virtio_drv_negotiate(
		a.d, 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_NET_F_MAC |
			     (_i ? 1ULL << VIRTIO_NET_F_GUEST_CSUM : 0));
	for (unsigned int i = 0; i < 2; i++)
		virtio_drv_setup_queue(a.d, i, QSIZE, q[i].desc, q[i].avail,
				       q[i].used);
	ck_assert(virtio_drv_driver_ok(a.d, st) & VIRTIO_STATUS_DRIVER_OK);
	passt_frame(&a, 'a');
	ck_assert_int_eq(virtio_net_process(a.n), 0); /* no room: waits */
	save_section(&s, save_net, a.d);
	stream_net_destroy(&a);

	stream_net_create(&b);
	r = reader(&s);
	stream_net_restore(&b, &r, st);
	post_net_rx(&q[0]);
	ck_assert_int_eq(virtio_net_process(b.n), 1);
	ck_assert_uint_eq(guest_frame(&q[0], 'a'), want);
	/* A frame that came after the restore. */
	post_net_rx(&q[0]);
	passt_frame(&b, 'b');
	ck_assert_int_eq(virtio_net_process(b.n), 1);
	ck_assert_uint_eq(guest_frame(&q[0], 'b'), want);
	stream_net_destroy(&b);

	if (!_i) {
		/* The waiting frame's header (the section's last bytes)
		 * says DATA_VALID: the device clears it. */
		r = reader(&s);
		r = patched(&s, r.len - (VIRTIO_NET_HDR_BYTES + NET_FRAME),
			    VIRTIO_NET_HDR_F_DATA_VALID, buf);
		stream_net_create(&b);
		gmem_fill(&mem, 0x10000, 0, 0x20000);
		q[0] = q0;
		stream_net_restore(&b, &r, st);
		post_net_rx(&q[0]);
		ck_assert_int_eq(virtio_net_process(b.n), 1);
		ck_assert_uint_eq(guest_frame(&q[0], 'a'), 0);
		stream_net_destroy(&b);
	}
	snapfile_free(&s.f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("snapshot_devices");
	TCase *tc = tcase_create("devices");
	TCase *tq = tcase_create("virtio");

	tcase_add_test(tc, uart_roundtrip);
	tcase_add_test(tc, uart_held_tx_roundtrip);
	tcase_add_test(tc, rtc_roundtrip);
	tcase_add_test(tc, i8042_roundtrip);
	tcase_add_test(tc, platform_ports);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tq, mem_setup, mem_teardown);
	tcase_add_test(tq, virtq_roundtrip);
	tcase_add_test(tq, blk_in_flight_request);
	tcase_add_loop_test(tq, net_stream_guest_csum, 0, 2);
	suite_add_tcase(s, tq);
	return unit_run(s);
}
