/* Unit tests for the 16550A UART emulation (no /dev/kvm needed). */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/serial8250.h"
#include "unit.h"

/* Fake interrupt line: records levels and checks it is only told changes. */
struct fake_irq {
	int level;
	int calls;
	int rises;
	int redundant; /* set_level called with the current level */
	unsigned int last_gsi;
};

static void fake_set_level(void *opaque, unsigned int gsi, int level)
{
	struct fake_irq *f = opaque;

	if (level == f->level)
		f->redundant++;
	if (level && !f->level)
		f->rises++;
	f->level = level;
	f->calls++;
	f->last_gsi = gsi;
}

/* Fake console: collects output bytes. */
struct fake_out {
	uint8_t buf[256];
	size_t len;
	size_t total;
	int bad_len; /* calls with len != 1 */
};

static void fake_out_fn(void *opaque, const uint8_t *buf, size_t len)
{
	struct fake_out *o = opaque;
	size_t i;

	if (len != 1)
		o->bad_len++;
	for (i = 0; i < len; i++) {
		if (o->len < sizeof(o->buf))
			o->buf[o->len++] = buf[i];
		o->total++;
	}
}

static struct serial8250 uart;
static struct fake_irq firq;
static struct fake_out fout;

static void setup(void)
{
	struct irq_line line = {
		.set_level = fake_set_level,
		.opaque = &firq,
		.gsi = 4,
	};

	memset(&firq, 0, sizeof(firq));
	memset(&fout, 0, sizeof(fout));
	ck_assert_int_eq(serial8250_init(&uart, &line, fake_out_fn, &fout), 0);
}

static void teardown(void)
{
	serial8250_destroy(&uart);
	ck_assert_int_eq(firq.redundant, 0);
	ck_assert_int_eq(fout.bad_len, 0);
}

/* Room left in the receive FIFO, read as the device would, locked. */
static size_t rx_room(void)
{
	size_t n;

	pthread_mutex_lock(&uart.lock);
	n = SERIAL8250_RX_FIFO_SIZE - uart.rx_count;
	pthread_mutex_unlock(&uart.lock);
	return n;
}

static uint8_t rd(uint64_t off)
{
	uint8_t v = 0x5a;

	serial8250_io(&uart, off, &v, 1, false);
	return v;
}

static void wr(uint64_t off, uint8_t v)
{
	serial8250_io(&uart, off, &v, 1, true);
}

START_TEST(test_scratch)
{
	int i;

	for (i = 0; i < 256; i++) {
		wr(U8250_SCR, (uint8_t)i);
		ck_assert_uint_eq(rd(U8250_SCR), (uint8_t)i);
	}
}
END_TEST

START_TEST(test_dlab)
{
	wr(U8250_IER, 0x05);
	wr(U8250_LCR, 0x83); /* DLAB, 8N1 */
	wr(U8250_DLL, 0x01);
	wr(U8250_DLM, 0x02);
	ck_assert_uint_eq(rd(U8250_DLL), 0x01);
	ck_assert_uint_eq(rd(U8250_DLM), 0x02);
	ck_assert_uint_eq(rd(U8250_LCR), 0x83);
	ck_assert_uint_eq(fout.total, 0); /* DLL write is not a THR write */
	wr(U8250_LCR, 0x03);
	ck_assert_uint_eq(rd(U8250_IER), 0x05);
	wr(U8250_TX, 'z');
	ck_assert_uint_eq(fout.total, 1);
	ck_assert_uint_eq(fout.buf[0], 'z');
	wr(U8250_LCR, 0x83);
	ck_assert_uint_eq(rd(U8250_DLL), 0x01);
	ck_assert_uint_eq(rd(U8250_DLM), 0x02);
}
END_TEST

/* The sequence of drivers/tty/serial/8250/8250_port.c:autoconfig(). */
START_TEST(test_autoconfig)
{
	uint8_t save_mcr, v;

	/* IER probe: only the low 4 bits are implemented. */
	wr(U8250_IER, 0);
	ck_assert_uint_eq(rd(U8250_IER) & 0x0f, 0);
	wr(U8250_IER, 0x0f);
	ck_assert_uint_eq(rd(U8250_IER) & 0x0f, 0x0f);
	wr(U8250_IER, 0xff);
	ck_assert_uint_eq(rd(U8250_IER), 0x0f); /* no UUE bit */
	wr(U8250_IER, 0);

	/* Loopback test. */
	save_mcr = rd(U8250_MCR);
	wr(U8250_MCR, U8250_MCR_LOOP | 0x0a);
	ck_assert_uint_eq(rd(U8250_MSR) & 0xf0, 0x90);
	wr(U8250_MCR, save_mcr);

	/* FIFO probe: IIR bits 7:6 == 3 means 16550A, no 64-byte bit. */
	wr(U8250_FCR, U8250_FCR_ENABLE_FIFO);
	ck_assert_uint_eq(rd(U8250_IIR) >> 6, 3);
	wr(U8250_FCR, U8250_FCR_ENABLE_FIFO | 0x20);
	ck_assert_uint_eq(rd(U8250_IIR) & 0xe0, 0xc0);
	wr(U8250_FCR, 0);
	ck_assert_uint_eq(rd(U8250_IIR), U8250_IIR_NO_INT);

	/* Normal mode: a connected peer. */
	v = rd(U8250_MSR);
	ck_assert_uint_eq(v & 0xf0, 0xb0);
}
END_TEST

START_TEST(test_loopback_data)
{
	wr(U8250_MCR, U8250_MCR_LOOP | U8250_MCR_OUT2 | U8250_MCR_RTS);
	ck_assert_uint_eq(rd(U8250_LSR) & U8250_LSR_DR, 0);
	wr(U8250_TX, 'h');
	wr(U8250_TX, 'i');
	ck_assert_uint_eq(fout.total, 0);
	ck_assert_uint_eq(rd(U8250_LSR) & U8250_LSR_DR, U8250_LSR_DR);
	ck_assert_uint_eq(rd(U8250_RX), 'h');
	ck_assert_uint_eq(rd(U8250_RX), 'i');
	ck_assert_uint_eq(rd(U8250_LSR) & U8250_LSR_DR, 0);

	/* All four loopback line mappings. */
	wr(U8250_MCR, U8250_MCR_LOOP | U8250_MCR_DTR);
	ck_assert_uint_eq(rd(U8250_MSR) & 0xf0, U8250_MSR_DSR);
	wr(U8250_MCR, U8250_MCR_LOOP | U8250_MCR_OUT1);
	ck_assert_uint_eq(rd(U8250_MSR) & 0xf0, U8250_MSR_RI);
	wr(U8250_MCR, U8250_MCR_LOOP | 0x0f);
	ck_assert_uint_eq(rd(U8250_MSR) & 0xf0, 0xf0);

	/* Leaving loopback: output goes to the console again. */
	wr(U8250_MCR, U8250_MCR_OUT2);
	wr(U8250_TX, '!');
	ck_assert_uint_eq(fout.total, 1);
	ck_assert_uint_eq(fout.buf[0], '!');
	ck_assert_uint_eq(rd(U8250_LSR) & U8250_LSR_DR, 0);
}
END_TEST

START_TEST(test_msr_deltas)
{
	wr(U8250_MCR, U8250_MCR_LOOP);
	rd(U8250_MSR); /* clear deltas from entering loopback */
	wr(U8250_IER, U8250_IER_MSI);
	ck_assert_int_eq(firq.level, 0);
	wr(U8250_MCR, U8250_MCR_LOOP | U8250_MCR_DTR | U8250_MCR_OUT1);
	ck_assert_int_eq(firq.level, 1);
	ck_assert_uint_eq(serial8250_peek_iir(&uart), U8250_IIR_MSI);
	ck_assert_uint_eq(rd(U8250_MSR),
			  U8250_MSR_DSR | U8250_MSR_RI | U8250_MSR_DDSR);
	ck_assert_int_eq(firq.level, 0);
	/* RI falling edge sets TERI. */
	wr(U8250_MCR, U8250_MCR_LOOP | U8250_MCR_DTR);
	ck_assert_int_eq(firq.level, 1);
	ck_assert_uint_eq(rd(U8250_MSR), U8250_MSR_DSR | U8250_MSR_TERI);
	ck_assert_int_eq(firq.level, 0);
}
END_TEST

START_TEST(test_tx)
{
	const char *msg = "Linux version";
	size_t i;

	ck_assert_uint_eq(rd(U8250_LSR), U8250_LSR_THRE | U8250_LSR_TEMT);
	for (i = 0; msg[i]; i++) {
		wr(U8250_TX, (uint8_t)msg[i]);
		/* Output straight away, no buffering. */
		ck_assert_uint_eq(fout.total, i + 1);
		ck_assert_uint_eq(rd(U8250_LSR) & 0x60, 0x60);
	}
	ck_assert_mem_eq(fout.buf, msg, strlen(msg));
	/* No interrupts enabled: the line never moved. */
	ck_assert_int_eq(firq.calls, 0);
}
END_TEST

START_TEST(test_tx_null_out)
{
	struct serial8250 s2;
	uint8_t v = 'x';

	ck_assert_int_eq(serial8250_init(&s2, NULL, NULL, NULL), 0);
	serial8250_io(&s2, U8250_TX, &v, 1, true);
	v = U8250_IER_THRI;
	serial8250_io(&s2, U8250_IER, &v, 1, true);
	serial8250_io(&s2, U8250_IIR, &v, 1, false);
	ck_assert_uint_eq(v, U8250_IIR_THRI);
	serial8250_destroy(&s2);
}
END_TEST

START_TEST(test_thri)
{
	wr(U8250_FCR, U8250_FCR_ENABLE_FIFO);
	ck_assert_int_eq(firq.level, 0);
	wr(U8250_IER, U8250_IER_THRI);
	ck_assert_int_eq(firq.level, 1);
	ck_assert_uint_eq(firq.last_gsi, 4);
	ck_assert_uint_eq(serial8250_peek_iir(&uart), 0xc2);
	ck_assert_uint_eq(rd(U8250_IIR), 0xc2);
	ck_assert_int_eq(firq.level, 0);
	ck_assert_uint_eq(rd(U8250_IIR), 0xc1);

	/* Each THR write completes at once and makes THRI pending again. */
	wr(U8250_TX, 'a');
	ck_assert_int_eq(firq.level, 1);
	ck_assert_uint_eq(rd(U8250_IIR), 0xc2);
	ck_assert_int_eq(firq.level, 0);

	/* Disabling THRI drops a pending THRI's line. */
	wr(U8250_TX, 'b');
	ck_assert_int_eq(firq.level, 1);
	wr(U8250_IER, 0);
	ck_assert_int_eq(firq.level, 0);
	ck_assert_uint_eq(rd(U8250_IIR), 0xc1);
}
END_TEST

/* serial8250_do_startup()'s "quick test" and the console write path. */
START_TEST(test_linux_startup_thri)
{
	uint8_t lsr, iir, iir1;

	wr(U8250_FCR, U8250_FCR_ENABLE_FIFO);
	wr(U8250_IER, U8250_IER_THRI);
	lsr = rd(U8250_LSR);
	iir = rd(U8250_IIR);
	wr(U8250_IER, 0);
	ck_assert(lsr & U8250_LSR_TEMT);
	ck_assert(!(iir & U8250_IIR_NO_INT)); /* else UART_BUG_TXEN */

	wr(U8250_IER, U8250_IER_THRI);
	iir1 = rd(U8250_IIR);
	wr(U8250_IER, 0);
	ck_assert(!(iir1 & U8250_IIR_NO_INT)); /* else UART_BUG_THRE */

	/* console write: save IER, clear, write, restore -> THRI again */
	wr(U8250_IER, U8250_IER_THRI | U8250_IER_RDI);
	ck_assert_uint_eq(rd(U8250_IIR), 0xc2);
	ck_assert_int_eq(firq.level, 0);
	wr(U8250_IER, 0);
	wr(U8250_TX, 'k');
	ck_assert_int_eq(firq.level, 0);
	wr(U8250_IER, U8250_IER_THRI | U8250_IER_RDI);
	ck_assert_int_eq(firq.level, 1);
	ck_assert_uint_eq(rd(U8250_IIR), 0xc2);
	ck_assert_int_eq(firq.level, 0);
}
END_TEST

START_TEST(test_rx)
{
	ck_assert_uint_eq(serial8250_receive(&uart, (const uint8_t *)"abc", 3),
			  3);
	ck_assert_int_eq(firq.level, 0); /* RDI not enabled yet */
	ck_assert_uint_eq(rd(U8250_LSR) & U8250_LSR_DR, U8250_LSR_DR);
	wr(U8250_FCR, U8250_FCR_ENABLE_FIFO); /* enabling clears the FIFO */
	ck_assert_uint_eq(rd(U8250_LSR) & U8250_LSR_DR, 0);
	ck_assert_uint_eq(serial8250_receive(&uart, (const uint8_t *)"abc", 3),
			  3);
	wr(U8250_IER, U8250_IER_RDI);
	ck_assert_int_eq(firq.level, 1);
	ck_assert_uint_eq(rd(U8250_IIR), 0xc4);
	ck_assert_uint_eq(rd(U8250_IIR), 0xc4); /* RDA is not acked by IIR */
	ck_assert_uint_eq(rd(U8250_RX), 'a');
	ck_assert_uint_eq(rd(U8250_RX), 'b');
	ck_assert_int_eq(firq.level, 1);
	ck_assert_uint_eq(rd(U8250_LSR) & U8250_LSR_DR, U8250_LSR_DR);
	ck_assert_uint_eq(rd(U8250_RX), 'c');
	ck_assert_int_eq(firq.level, 0);
	ck_assert_uint_eq(rd(U8250_LSR) & U8250_LSR_DR, 0);
	ck_assert_uint_eq(rd(U8250_IIR), 0xc1);
	/* Reading an empty RBR is harmless. */
	rd(U8250_RX);
	ck_assert_uint_eq(rd(U8250_LSR) & U8250_LSR_DR, 0);
	ck_assert_uint_eq(rx_room(), SERIAL8250_RX_FIFO_SIZE);
}
END_TEST

START_TEST(test_rx_priority)
{
	/* RDA outranks THRI; THRI stays pending until reported. */
	wr(U8250_FCR, U8250_FCR_ENABLE_FIFO);
	wr(U8250_IER, U8250_IER_RDI | U8250_IER_THRI);
	serial8250_receive(&uart, (const uint8_t *)"x", 1);
	ck_assert_uint_eq(rd(U8250_IIR), 0xc4);
	ck_assert_uint_eq(rd(U8250_RX), 'x');
	ck_assert_int_eq(firq.level, 1);
	ck_assert_uint_eq(rd(U8250_IIR), 0xc2);
	ck_assert_int_eq(firq.level, 0);
}
END_TEST

START_TEST(test_rx_full)
{
	static uint8_t big[SERIAL8250_RX_FIFO_SIZE + 100];
	size_t i, n;

	ck_assert_uint_ge(SERIAL8250_RX_FIFO_SIZE, 1024);
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	n = serial8250_receive(&uart, big, 10);
	ck_assert_uint_eq(n, 10);
	n = serial8250_receive(&uart, big + 10, sizeof(big) - 10);
	ck_assert_uint_eq(n, SERIAL8250_RX_FIFO_SIZE - 10);
	ck_assert_uint_eq(rx_room(), 0);
	ck_assert_uint_eq(serial8250_receive(&uart, big, 5), 0);
	ck_assert_uint_eq(serial8250_receive(&uart, big, 0), 0);

	/* Order is preserved across the ring wrap. */
	for (i = 0; i < 100; i++)
		ck_assert_uint_eq(rd(U8250_RX), big[i]);
	ck_assert_uint_eq(rx_room(), 100);
	ck_assert_uint_eq(
		serial8250_receive(&uart, big + SERIAL8250_RX_FIFO_SIZE, 100),
		100);
	for (i = 100; i < sizeof(big); i++)
		ck_assert_uint_eq(rd(U8250_RX), big[i]);
	ck_assert_uint_eq(rd(U8250_LSR) & U8250_LSR_DR, 0);
	/* No overrun is reported: the host kept what did not fit. */
	ck_assert_uint_eq(rd(U8250_LSR) & U8250_LSR_OE, 0);
}
END_TEST

START_TEST(test_loopback_overrun)
{
	size_t i;

	wr(U8250_FCR, U8250_FCR_ENABLE_FIFO);
	wr(U8250_IER, U8250_IER_RLSI);
	wr(U8250_MCR, U8250_MCR_LOOP);
	for (i = 0; i < SERIAL8250_RX_FIFO_SIZE; i++)
		wr(U8250_TX, 'q');
	ck_assert_int_eq(firq.level, 0);
	wr(U8250_TX, 'q');
	ck_assert_int_eq(firq.level, 1);
	ck_assert_uint_eq(rd(U8250_IIR), 0xc6);
	ck_assert_uint_eq(rd(U8250_LSR) & U8250_LSR_OE, U8250_LSR_OE);
	ck_assert_int_eq(firq.level, 0);
	ck_assert_uint_eq(rd(U8250_LSR) & U8250_LSR_OE, 0);
	ck_assert_uint_eq(fout.total, 0);
}
END_TEST

START_TEST(test_fcr_clear)
{
	wr(U8250_FCR, U8250_FCR_ENABLE_FIFO);
	wr(U8250_IER, U8250_IER_RDI);
	serial8250_receive(&uart, (const uint8_t *)"hello", 5);
	ck_assert_int_eq(firq.level, 1);
	wr(U8250_FCR, U8250_FCR_ENABLE_FIFO | U8250_FCR_CLEAR_XMIT);
	ck_assert_uint_eq(rd(U8250_LSR) & U8250_LSR_DR, U8250_LSR_DR);
	wr(U8250_FCR, U8250_FCR_ENABLE_FIFO | U8250_FCR_CLEAR_RCVR);
	ck_assert_uint_eq(rd(U8250_LSR) & U8250_LSR_DR, 0);
	ck_assert_int_eq(firq.level, 0);
	ck_assert_uint_eq(rd(U8250_IIR), 0xc1);
	ck_assert_uint_eq(rx_room(), SERIAL8250_RX_FIFO_SIZE);
}
END_TEST

/* Edge-triggered IOAPIC: every new condition after servicing is an edge. */
START_TEST(test_edges)
{
	wr(U8250_FCR, U8250_FCR_ENABLE_FIFO);
	wr(U8250_IER, U8250_IER_RDI);
	ck_assert_int_eq(firq.rises, 0);

	serial8250_receive(&uart, (const uint8_t *)"a", 1);
	ck_assert_int_eq(firq.rises, 1);
	ck_assert_uint_eq(rd(U8250_IIR), 0xc4);
	rd(U8250_RX);
	ck_assert_uint_eq(rd(U8250_IIR), 0xc1);
	ck_assert_int_eq(firq.level, 0);

	serial8250_receive(&uart, (const uint8_t *)"b", 1);
	ck_assert_int_eq(firq.rises, 2);
	/* More input while still pending: no new edge needed. */
	serial8250_receive(&uart, (const uint8_t *)"c", 1);
	ck_assert_int_eq(firq.rises, 2);
	rd(U8250_RX);
	rd(U8250_RX);
	ck_assert_int_eq(firq.level, 0);

	/* TX interrupt-driven: enable THRI, service, write, service. */
	wr(U8250_IER, U8250_IER_RDI | U8250_IER_THRI);
	ck_assert_int_eq(firq.rises, 3);
	ck_assert_uint_eq(rd(U8250_IIR), 0xc2);
	ck_assert_int_eq(firq.level, 0);
	wr(U8250_TX, '1');
	ck_assert_int_eq(firq.rises, 4);
	ck_assert_uint_eq(rd(U8250_IIR), 0xc2);
	ck_assert_uint_eq(rd(U8250_IIR), 0xc1);
	serial8250_receive(&uart, (const uint8_t *)"d", 1);
	ck_assert_int_eq(firq.rises, 5);
	rd(U8250_RX);
	ck_assert_int_eq(firq.level, 0);
	ck_assert_int_eq(firq.redundant, 0);
}
END_TEST

/* Any width, any offset: only data[0..len) is touched. */
START_TEST(test_widths_canary)
{
	static const uint32_t lens[] = { 1, 2, 3, 4, 8 };
	static const uint64_t offs[] = { 0,	1,	   2,	      3,
					 4,	5,	   6,	      7,
					 8,	9,	   0xff,      0x1000,
					 ~0ULL, ~0ULL - 3, 1ULL << 40 };
	uint8_t buf[32];
	size_t li, oi;
	int w, dlab;

	wr(U8250_FCR, U8250_FCR_ENABLE_FIFO);
	for (dlab = 0; dlab < 2; dlab++) {
		for (w = 0; w < 2; w++) {
			for (li = 0; li < sizeof(lens) / sizeof(lens[0]);
			     li++) {
				for (oi = 0;
				     oi < sizeof(offs) / sizeof(offs[0]);
				     oi++) {
					wr(U8250_LCR,
					   dlab ? U8250_LCR_DLAB : 0);
					memset(buf, 0xa5, sizeof(buf));
					if (w)
						memset(buf + 8, 0, lens[li]);
					serial8250_receive(
						&uart, (const uint8_t *)"zz",
						2);
					serial8250_io(&uart, offs[oi], buf + 8,
						      lens[li], w);
					unit_check_untouched(buf, sizeof(buf),
							     8, lens[li], 0xa5);
					if (!w && lens[li] > 1)
						ck_assert_uint_eq(buf[9], 0xff);
					if (!w && offs[oi] >= U8250_NR_REGS)
						ck_assert_uint_eq(buf[8], 0xff);
				}
			}
		}
	}
	/* Zero-length and NULL accesses are ignored. */
	serial8250_io(&uart, 0, buf, 0, false);
	serial8250_io(&uart, 0, NULL, 1, false);
	serial8250_io(NULL, 0, buf, 1, false);
	ck_assert_uint_eq(serial8250_receive(&uart, NULL, 5), 0);
}
END_TEST

/* Wide writes use the low byte. */
START_TEST(test_wide_low_byte)
{
	uint8_t d[8] = { 0x42, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77 };

	serial8250_io(&uart, U8250_SCR, d, 4, true);
	ck_assert_uint_eq(rd(U8250_SCR), 0x42);
	serial8250_io(&uart, U8250_TX, d, 8, true);
	ck_assert_uint_eq(fout.total, 1);
	ck_assert_uint_eq(fout.buf[0], 0x42);
	memset(d, 0, sizeof(d));
	serial8250_io(&uart, U8250_SCR, d, 2, false);
	ck_assert_uint_eq(d[0], 0x42);
	ck_assert_uint_eq(d[1], 0xff);
}
END_TEST

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(void)
{
	/* xorshift64*: deterministic, no global libc state. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}

START_TEST(test_fuzz)
{
	static const uint32_t lens[] = { 1, 1, 1, 1, 2, 4, 8 };
	uint8_t buf[16 + 8 + 16];
	uint8_t in[64];
	uint8_t iir, lsr;
	size_t room, n, i;
	uint32_t r, len;
	int iter;

	/*
	 * Plain checks in the loop: every ck_assert() costs a message to the
	 * Check parent process.
	 */
	for (iter = 0; iter < 100000; iter++) {
		r = rnd();
		if ((r & 0x1f) == 0) {
			n = rnd() % sizeof(in);
			for (i = 0; i < n; i++)
				in[i] = (uint8_t)rnd();
			room = rx_room();
			if (serial8250_receive(&uart, in, n) !=
			    (n < room ? n : room))
				ck_abort_msg("iter %d: bad receive count",
					     iter);
		} else {
			len = lens[(r >> 8) % 7];
			memset(buf, 0xa5, sizeof(buf));
			for (i = 0; i < len; i++)
				buf[16 + i] = (uint8_t)rnd();
			/* Leave loopback often, to cover the console path. */
			if (((r >> 16) % 10) == 4)
				buf[16] &= ~U8250_MCR_LOOP;
			serial8250_io(&uart, (r >> 20) % 10, buf + 16, len,
				      (r >> 5) & 1);
			for (i = 0; i < 16; i++)
				if (buf[i] != 0xa5)
					ck_abort_msg("iter %d: underrun", iter);
			for (i = 16 + len; i < sizeof(buf); i++)
				if (buf[i] != 0xa5)
					ck_abort_msg("iter %d: overrun", iter);
		}
		/* Invariants. */
		iir = serial8250_peek_iir(&uart);
		if (firq.level != !(iir & U8250_IIR_NO_INT))
			ck_abort_msg("iter %d: line %d but IIR %#x", iter,
				     firq.level, iir);
		if (iir & 0x30)
			ck_abort_msg("iter %d: IIR %#x", iter, iir);
		if (firq.redundant)
			ck_abort_msg("iter %d: redundant irq update", iter);
		if (rx_room() > SERIAL8250_RX_FIFO_SIZE)
			ck_abort_msg("iter %d: bad rx room", iter);
	}
	/* LSR (destructive read) still says the transmitter is idle. */
	lsr = rd(U8250_LSR);
	ck_assert_uint_eq(lsr & 0x60, 0x60);
	ck_assert_int_eq(fout.bad_len, 0);
}
END_TEST

/* A console-input thread against a vCPU thread (run under ASan/TSan). */
static void *rx_thread(void *arg)
{
	const uint8_t msg[] = "0123456789abcdef";
	int i;

	(void)arg;
	for (i = 0; i < 20000; i++)
		serial8250_receive(&uart, msg, sizeof(msg) - 1);
	return NULL;
}

START_TEST(test_threads)
{
	pthread_t t;
	uint8_t iir;
	int i;

	wr(U8250_FCR, U8250_FCR_ENABLE_FIFO);
	wr(U8250_IER, U8250_IER_RDI | U8250_IER_THRI);
	ck_assert_int_eq(pthread_create(&t, NULL, rx_thread, NULL), 0);
	for (i = 0; i < 20000; i++) {
		/* What serial8250_handle_irq does. */
		iir = rd(U8250_IIR);
		if (iir & U8250_IIR_NO_INT)
			continue;
		while (rd(U8250_LSR) & U8250_LSR_DR)
			rd(U8250_RX);
		wr(U8250_TX, 'o');
	}
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	iir = serial8250_peek_iir(&uart);
	ck_assert_int_eq(firq.level, !(iir & U8250_IIR_NO_INT));
}
END_TEST

/* A gate that refuses while closed: flow control towards the guest. */
static bool gate_open;
static unsigned int gate_calls;

static bool fake_gate(void *opaque, uint8_t byte)
{
	(void)opaque;
	(void)byte;
	gate_calls++;
	return gate_open;
}

START_TEST(test_tx_gate)
{
	gate_open = true;
	gate_calls = 0;
	serial8250_set_tx_gate(&uart, fake_gate, NULL);
	wr(U8250_IER, U8250_IER_THRI);
	(void)rd(U8250_IIR); /* take the THRI that enabling raised */
	wr(U8250_TX, 'a');
	ck_assert_uint_eq(fout.len, 1);
	ck_assert_uint_eq(rd(U8250_LSR) & 0x60, 0x60);

	/* Refused: held in THR, THRE/TEMT clear, no THRI, no output. */
	gate_open = false;
	(void)rd(U8250_IIR);
	wr(U8250_TX, 'b');
	ck_assert_uint_eq(fout.len, 1);
	ck_assert_uint_eq(rd(U8250_LSR) & 0x60, 0);
	ck_assert_uint_eq(rd(U8250_IIR) & 0x0f, U8250_IIR_NO_INT);
	ck_assert_int_eq(firq.level, 0);
	/* A guest that does not wait loses that byte, counted. */
	wr(U8250_TX, 'c');
	ck_assert_uint_eq(serial8250_tx_overruns(&uart), 1);
	/* Re-enabling THRI while THR is full raises nothing. */
	wr(U8250_IER, 0);
	wr(U8250_IER, U8250_IER_THRI);
	ck_assert_uint_eq(rd(U8250_IIR) & 0x0f, U8250_IIR_NO_INT);

	/* Still no room: tx_ready keeps holding it. */
	serial8250_tx_ready(&uart);
	ck_assert_uint_eq(fout.len, 1);
	ck_assert_uint_eq(rd(U8250_LSR) & 0x60, 0);

	/* Room: the held byte goes, THRE is back, THRI is raised. */
	gate_open = true;
	serial8250_tx_ready(&uart);
	ck_assert_uint_eq(fout.len, 2);
	ck_assert_mem_eq(fout.buf, "ab", 2);
	ck_assert_uint_eq(rd(U8250_LSR) & 0x60, 0x60);
	ck_assert_int_eq(firq.level, 1);
	ck_assert_uint_eq(rd(U8250_IIR) & 0x0f, U8250_IIR_THRI);
	ck_assert_int_eq(firq.level, 0);
	/* Nothing held: a spare tx_ready does nothing. */
	serial8250_tx_ready(&uart);
	ck_assert_uint_eq(fout.len, 2);

	/* CLEAR_XMIT drops a held byte (counted) and frees THR. */
	gate_open = false;
	wr(U8250_TX, 'd');
	ck_assert_uint_eq(rd(U8250_LSR) & 0x60, 0);
	wr(U8250_FCR, U8250_FCR_ENABLE_FIFO | U8250_FCR_CLEAR_XMIT);
	ck_assert_uint_eq(rd(U8250_LSR) & 0x60, 0x60);
	ck_assert_uint_eq(serial8250_tx_overruns(&uart), 2);
	ck_assert_uint_eq(fout.len, 2);
}
END_TEST

/* A gate that takes gate_budget bytes, then refuses. */
static unsigned int gate_budget;

static bool budget_gate(void *opaque, uint8_t byte)
{
	(void)opaque;
	(void)byte;
	if (!gate_budget)
		return false;
	gate_budget--;
	return true;
}

/*
 * Linux's interrupt-driven transmit (serial8250_tx_chars) writes up to 16
 * bytes per THRI without reading LSR. A console reader that fell behind
 * must not lose them: they wait in the FIFO, in order.
 */
START_TEST(test_tx_fifo_burst)
{
	const char *burst = "0123456789abcdef";

	gate_budget = 3;
	serial8250_set_tx_gate(&uart, budget_gate, NULL);
	wr(U8250_FCR, U8250_FCR_ENABLE_FIFO);
	wr(U8250_IER, U8250_IER_THRI);
	ck_assert_uint_eq(rd(U8250_IIR) & 0x0f, U8250_IIR_THRI);
	for (int i = 0; i < 16; i++)
		wr(U8250_TX, (uint8_t)burst[i]);
	ck_assert_uint_eq(fout.len, 3);
	ck_assert_uint_eq(serial8250_tx_overruns(&uart), 0);
	ck_assert_uint_eq(rd(U8250_LSR) & 0x60, 0);
	ck_assert_uint_eq(rd(U8250_IIR) & 0x0f, U8250_IIR_NO_INT);
	ck_assert_int_eq(firq.level, 0);

	/* The FIFO holds 13: three more fit, the fourth is an overrun. */
	wr(U8250_TX, 'X');
	wr(U8250_TX, 'Y');
	wr(U8250_TX, 'Z');
	wr(U8250_TX, '!');
	ck_assert_uint_eq(serial8250_tx_overruns(&uart), 1);

	/* Some room: part of it goes, in order, THRE still clear. */
	gate_budget = 5;
	serial8250_tx_ready(&uart);
	ck_assert_uint_eq(fout.len, 8);
	ck_assert_uint_eq(rd(U8250_LSR) & 0x60, 0);
	ck_assert_int_eq(firq.level, 0);

	/* Room for all: the rest goes, THRE is back, THRI raised. */
	gate_budget = 100;
	serial8250_tx_ready(&uart);
	ck_assert_uint_eq(fout.len, 19);
	ck_assert_mem_eq(fout.buf, "0123456789abcdefXYZ", 19);
	ck_assert_uint_eq(rd(U8250_LSR) & 0x60, 0x60);
	ck_assert_int_eq(firq.level, 1);
	ck_assert_uint_eq(rd(U8250_IIR) & 0x0f, U8250_IIR_THRI);
}
END_TEST

/* An output that takes its time, as a preempted console thread does. */
static pthread_mutex_t slow_lock = PTHREAD_MUTEX_INITIALIZER;

static void slow_out_fn(void *opaque, const uint8_t *buf, size_t len)
{
	pthread_mutex_lock(&slow_lock);
	fake_out_fn(opaque, buf, len);
	pthread_mutex_unlock(&slow_lock);
	usleep(50000);
}

static void *tx_ready_thread(void *arg)
{
	(void)arg;
	serial8250_tx_ready(&uart);
	return NULL;
}

/*
 * exec's two consoles (stdout, stderr) each call tx_ready when their
 * reader makes room. Two at once must send each held byte once, in order,
 * and leave the FIFO empty: a second drainer sent the head byte twice and
 * took the count below zero (255 stale bytes "held").
 */
START_TEST(test_tx_ready_two_callers)
{
	pthread_t t1, t2;

	uart.out = slow_out_fn;
	gate_open = false;
	serial8250_set_tx_gate(&uart, fake_gate, NULL);
	wr(U8250_FCR, U8250_FCR_ENABLE_FIFO);
	wr(U8250_TX, 'A');
	wr(U8250_TX, 'B');
	ck_assert_uint_eq(fout.len, 0);
	gate_open = true;
	ck_assert_int_eq(pthread_create(&t1, NULL, tx_ready_thread, NULL), 0);
	usleep(10000); /* t1 is in its slow output of 'A' */
	ck_assert_int_eq(pthread_create(&t2, NULL, tx_ready_thread, NULL), 0);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	ck_assert_uint_eq(fout.total, 2);
	ck_assert_mem_eq(fout.buf, "AB", 2);
	ck_assert_uint_eq(rd(U8250_LSR) & 0x60, 0x60);
	pthread_mutex_lock(&uart.lock);
	ck_assert_uint_eq(uart.tx_count, 0);
	pthread_mutex_unlock(&uart.lock);
	/* And the UART still works. */
	wr(U8250_TX, 'C');
	ck_assert_uint_eq(fout.total, 3);
}
END_TEST

static Suite *serial_suite(void)
{
	Suite *s = suite_create("serial8250");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_scratch);
	tcase_add_test(tc, test_dlab);
	tcase_add_test(tc, test_autoconfig);
	tcase_add_test(tc, test_loopback_data);
	tcase_add_test(tc, test_msr_deltas);
	tcase_add_test(tc, test_tx);
	tcase_add_test(tc, test_tx_null_out);
	tcase_add_test(tc, test_thri);
	tcase_add_test(tc, test_linux_startup_thri);
	tcase_add_test(tc, test_rx);
	tcase_add_test(tc, test_rx_priority);
	tcase_add_test(tc, test_rx_full);
	tcase_add_test(tc, test_loopback_overrun);
	tcase_add_test(tc, test_fcr_clear);
	tcase_add_test(tc, test_edges);
	tcase_add_test(tc, test_widths_canary);
	tcase_add_test(tc, test_wide_low_byte);
	tcase_add_test(tc, test_fuzz);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_tx_gate);
	tcase_add_test(tc, test_tx_fifo_burst);
	tcase_add_test(tc, test_tx_ready_two_callers);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(serial_suite());
}
