/*
 * 16550A UART emulation. See serial8250.h for the locking rules.
 *
 * Interrupts: the line level is "IIR would report something", recomputed
 * after every state change. Linux's handler loops until IIR reads NO_INT,
 * so the line is low when the guest leaves its handler and any new
 * condition produces a fresh 0->1 edge (the ISA IRQ is edge-triggered on
 * the IOAPIC).
 */
#include <errno.h>
#include <string.h>

#include "devices/serial8250.h"
#include "snapfile.h"

/* In loopback, MCR outputs feed the modem status inputs. */
static uint8_t loop_msr_lines(uint8_t mcr)
{
	uint8_t msr = 0;

	if (mcr & U8250_MCR_DTR)
		msr |= U8250_MSR_DSR;
	if (mcr & U8250_MCR_RTS)
		msr |= U8250_MSR_CTS;
	if (mcr & U8250_MCR_OUT1)
		msr |= U8250_MSR_RI;
	if (mcr & U8250_MCR_OUT2)
		msr |= U8250_MSR_DCD;
	return msr;
}

/* The modem lines as the UART sees them: a permanently connected peer. */
static uint8_t msr_lines(const struct serial8250 *s)
{
	if (s->mcr & U8250_MCR_LOOP)
		return loop_msr_lines(s->mcr);
	return U8250_MSR_DCD | U8250_MSR_DSR | U8250_MSR_CTS;
}

/* Latch new modem line levels and their delta bits. */
static void msr_update(struct serial8250 *s)
{
	uint8_t old = s->msr & 0xf0;
	uint8_t now = msr_lines(s);
	uint8_t chg = old ^ now;
	uint8_t delta = 0;

	if (chg & U8250_MSR_CTS)
		delta |= U8250_MSR_DCTS;
	if (chg & U8250_MSR_DSR)
		delta |= U8250_MSR_DDSR;
	if ((old & U8250_MSR_RI) && !(now & U8250_MSR_RI))
		delta |= U8250_MSR_TERI;
	if (chg & U8250_MSR_DCD)
		delta |= U8250_MSR_DDCD;
	s->msr = now | (s->msr & U8250_MSR_DELTAS) | delta;
}

static uint8_t iir_locked(const struct serial8250 *s)
{
	uint8_t fifo =
		(s->fcr & U8250_FCR_ENABLE_FIFO) ? U8250_IIR_FIFO_ENABLED : 0;

	if ((s->ier & U8250_IER_RLSI) && (s->lsr_err & U8250_LSR_ERRORS))
		return fifo | U8250_IIR_RLSI;
	if ((s->ier & U8250_IER_RDI) && s->rx_count)
		return fifo | U8250_IIR_RDI;
	if ((s->ier & U8250_IER_THRI) && s->thr_ipending)
		return fifo | U8250_IIR_THRI;
	if ((s->ier & U8250_IER_MSI) && (s->msr & U8250_MSR_DELTAS))
		return fifo | U8250_IIR_MSI;
	return fifo | U8250_IIR_NO_INT;
}

static void update_irq_locked(struct serial8250 *s)
{
	int level = !(iir_locked(s) & U8250_IIR_NO_INT);

	if (level != s->irq_level) {
		s->irq_level = level;
		irq_line_set(&s->irq, level);
	}
}

static void rx_clear(struct serial8250 *s)
{
	s->rx_head = 0;
	s->rx_count = 0;
}

/* Returns false (byte dropped) when the FIFO is full. */
static bool rx_push(struct serial8250 *s, uint8_t c)
{
	size_t tail;

	if (s->rx_count >= SERIAL8250_RX_FIFO_SIZE)
		return false;
	tail = (s->rx_head + s->rx_count) % SERIAL8250_RX_FIFO_SIZE;
	s->rx_buf[tail] = c;
	s->rx_count++;
	return true;
}

static uint8_t rx_pop(struct serial8250 *s)
{
	uint8_t c;

	if (!s->rx_count)
		return 0;
	c = s->rx_buf[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL8250_RX_FIFO_SIZE;
	s->rx_count--;
	return c;
}

/* How many bytes the transmit side holds: the FIFO, or THR alone. */
static unsigned int tx_room(const struct serial8250 *s)
{
	return (s->fcr & U8250_FCR_ENABLE_FIFO) ? SERIAL8250_TX_FIFO_SIZE : 1;
}

static uint8_t lsr_locked(const struct serial8250 *s)
{
	uint8_t lsr = s->lsr_err;

	if (!s->tx_count)
		lsr |= U8250_LSR_THRE | U8250_LSR_TEMT;
	if (s->rx_count)
		lsr |= U8250_LSR_DR;
	return lsr;
}

static uint8_t reg_read_locked(struct serial8250 *s, uint64_t offset)
{
	uint8_t v;

	switch (offset) {
	case U8250_RX:
		if (s->lcr & U8250_LCR_DLAB)
			return s->dll;
		return rx_pop(s);
	case U8250_IER:
		if (s->lcr & U8250_LCR_DLAB)
			return s->dlm;
		return s->ier;
	case U8250_IIR:
		v = iir_locked(s);
		/* Reading IIR while it reports THRI acknowledges it. */
		if ((v & U8250_IIR_ID) == U8250_IIR_THRI &&
		    !(v & U8250_IIR_NO_INT))
			s->thr_ipending = false;
		return v;
	case U8250_LCR:
		return s->lcr;
	case U8250_MCR:
		return s->mcr;
	case U8250_LSR:
		v = lsr_locked(s);
		s->lsr_err = 0;
		return v;
	case U8250_MSR:
		v = s->msr;
		s->msr &= ~U8250_MSR_DELTAS;
		return v;
	case U8250_SCR:
		return s->scr;
	default:
		return 0xff;
	}
}

/* Returns true when @v must be sent to the output callback. */
static bool reg_write_locked(struct serial8250 *s, uint64_t offset, uint8_t v)
{
	uint8_t changed;

	switch (offset) {
	case U8250_TX:
		if (s->lcr & U8250_LCR_DLAB) {
			s->dll = v;
			return false;
		}
		if (s->tx_count >= tx_room(s)) {
			s->tx_overruns++; /* the guest did not wait for THRE */
			return false;
		}
		if (s->mcr & U8250_MCR_LOOP) {
			s->thr_ipending = true;
			if (!rx_push(s, v))
				s->lsr_err |= U8250_LSR_OE;
			return false;
		}
		/* Behind held bytes, or refused: it waits in the FIFO. */
		if (s->tx_count || (s->gate && !s->gate(s->gate_opaque, v))) {
			s->tx_buf[(s->tx_head + s->tx_count) %
				  SERIAL8250_TX_FIFO_SIZE] = v;
			s->tx_count++;
			s->thr_ipending = false; /* until the FIFO empties */
			return false;
		}
		/* Transmitted at once: THR empty again, THRI pending. */
		s->thr_ipending = true;
		return true;
	case U8250_IER:
		if (s->lcr & U8250_LCR_DLAB) {
			s->dlm = v;
			return false;
		}
		changed = (s->ier ^ v) & 0x0f;
		s->ier = v & 0x0f;
		/*
		 * Enabling THRI with THR empty raises THRI: the 8250 driver's
		 * startup test and console write path rely on it.
		 */
		if (changed & U8250_IER_THRI)
			s->thr_ipending =
				(s->ier & U8250_IER_THRI) && !s->tx_count;
		return false;
	case U8250_FCR:
		/* Toggling the FIFO enable resets both FIFOs. */
		if ((v ^ s->fcr) & U8250_FCR_ENABLE_FIFO)
			v |= U8250_FCR_CLEAR_RCVR | U8250_FCR_CLEAR_XMIT;
		if (v & U8250_FCR_CLEAR_RCVR)
			rx_clear(s);
		/* CLEAR_XMIT: only held bytes are buffered on that side. */
		if ((v & U8250_FCR_CLEAR_XMIT) && s->tx_count) {
			s->tx_overruns += s->tx_count;
			s->tx_count = 0;
			s->tx_epoch++;
			s->thr_ipending = true;
		}
		s->fcr = v & (U8250_FCR_ENABLE_FIFO | U8250_FCR_DMA_SELECT |
			      U8250_FCR_TRIGGER_MASK);
		return false;
	case U8250_LCR:
		s->lcr = v;
		return false;
	case U8250_MCR:
		s->mcr = v & 0x1f;
		msr_update(s);
		return false;
	case U8250_SCR:
		s->scr = v;
		return false;
	default:
		/* LSR, MSR (factory test) and unknown offsets: ignored. */
		return false;
	}
}

void serial8250_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		   bool is_write)
{
	struct serial8250 *s = opaque;
	bool emit;
	uint8_t c;
	uint32_t i;

	if (!s || !data || !len)
		return;

	/*
	 * Byte-wide device: a wider access uses its low byte; the rest of a
	 * wider read reads as 0xff.
	 */
	if (!is_write) {
		pthread_mutex_lock(&s->lock);
		c = reg_read_locked(s, offset);
		update_irq_locked(s);
		pthread_mutex_unlock(&s->lock);
		data[0] = c;
		for (i = 1; i < len; i++)
			data[i] = 0xff;
		return;
	}

	c = data[0];
	pthread_mutex_lock(&s->lock);
	emit = reg_write_locked(s, offset, c);
	update_irq_locked(s);
	pthread_mutex_unlock(&s->lock);

	if (emit && s->out)
		s->out(s->out_opaque, &c, 1);
}

size_t serial8250_receive(struct serial8250 *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	if (!s || !buf)
		return 0;

	pthread_mutex_lock(&s->lock);
	while (n < len && rx_push(s, buf[n]))
		n++;
	if (n)
		update_irq_locked(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

uint8_t serial8250_peek_iir(struct serial8250 *s)
{
	uint8_t v;

	pthread_mutex_lock(&s->lock);
	v = iir_locked(s);
	pthread_mutex_unlock(&s->lock);
	return v;
}

int serial8250_init(struct serial8250 *s, const struct irq_line *irq,
		    serial_out_fn out, void *out_opaque)
{
	int ret;

	if (!s)
		return -EINVAL;

	memset(s, 0, sizeof(*s));
	ret = pthread_mutex_init(&s->lock, NULL);
	if (ret)
		return -ret;

	if (irq)
		s->irq = *irq;
	s->out = out;
	s->out_opaque = out_opaque;

	/* Power-on state; 0x000c = 9600 baud, as firmware would leave it. */
	s->dll = 0x0c;
	s->msr = msr_lines(s);
	s->irq_level = 0;
	return 0;
}

void serial8250_destroy(struct serial8250 *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
}

void serial8250_set_tx_gate(struct serial8250 *s, serial_tx_gate_fn gate,
			    void *opaque)
{
	pthread_mutex_lock(&s->lock);
	s->gate = gate;
	s->gate_opaque = opaque;
	pthread_mutex_unlock(&s->lock);
}

void serial8250_tx_ready(struct serial8250 *s)
{
	uint32_t epoch;
	uint8_t c;

	pthread_mutex_lock(&s->lock);
	/* Two consoles (exec's stdout and stderr) each call this when their
	 * reader makes room: a second drainer would send the head byte again
	 * and take one more than the FIFO held. */
	if (s->tx_draining) {
		s->tx_again = true;
		pthread_mutex_unlock(&s->lock);
		return;
	}
	s->tx_draining = true;
	do {
		s->tx_again = false;
		while (s->tx_count &&
		       (!s->gate ||
			s->gate(s->gate_opaque, s->tx_buf[s->tx_head]))) {
			c = s->tx_buf[s->tx_head];
			epoch = s->tx_epoch;
			pthread_mutex_unlock(&s->lock);
			/* Still in the FIFO: a vCPU's new bytes queue behind
			 * it. */
			if (s->out)
				s->out(s->out_opaque, &c, 1);
			pthread_mutex_lock(&s->lock);
			/* The guest cleared the FIFO meanwhile? */
			if (epoch != s->tx_epoch)
				break;
			s->tx_head = (s->tx_head + 1) % SERIAL8250_TX_FIFO_SIZE;
			s->tx_count--;
			if (!s->tx_count) {
				s->thr_ipending = true;
				update_irq_locked(s);
			}
		}
	} while (s->tx_again);
	s->tx_draining = false;
	pthread_mutex_unlock(&s->lock);
}

uint64_t serial8250_tx_overruns(struct serial8250 *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->tx_overruns;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void serial8250_dump(struct serial8250 *s, struct dumpbuf *b)
{
	if (pthread_mutex_trylock(&s->lock)) {
		dumpbuf_printf(b, " busy(lock held)");
		return;
	}
	dumpbuf_printf(b,
		       " ier=0x%02x iir=0x%02x lsr=0x%02x lcr=0x%02x "
		       "mcr=0x%02x msr=0x%02x rx_queued=%zu irq=%d "
		       "tx_held=%u tx_overruns=%llu",
		       s->ier, iir_locked(s), lsr_locked(s), s->lcr, s->mcr,
		       s->msr, s->rx_count, s->irq_level, s->tx_count,
		       (unsigned long long)s->tx_overruns);
	pthread_mutex_unlock(&s->lock);
}

void serial8250_save(struct serial8250 *s, struct snap_writer *w)
{
	pthread_mutex_lock(&s->lock);
	snap_put_u8(w, s->ier);
	snap_put_u8(w, s->fcr);
	snap_put_u8(w, s->lcr);
	snap_put_u8(w, s->mcr);
	snap_put_u8(w, s->lsr_err);
	snap_put_u8(w, s->msr);
	snap_put_u8(w, s->scr);
	snap_put_u8(w, s->dll);
	snap_put_u8(w, s->dlm);
	snap_put_u8(w, s->thr_ipending);
	snap_put_u8(w, s->tx_count);
	for (unsigned int i = 0; i < s->tx_count; i++)
		snap_put_u8(
			w, s->tx_buf[(s->tx_head + i) % SERIAL8250_TX_FIFO_SIZE]);
	snap_put_u32(w, (uint32_t)s->rx_count);
	for (size_t i = 0; i < s->rx_count; i++)
		snap_put_u8(
			w,
			s->rx_buf[(s->rx_head + i) % SERIAL8250_RX_FIFO_SIZE]);
	pthread_mutex_unlock(&s->lock);
}

static bool is_bool(uint8_t v)
{
	return v <= 1;
}

int serial8250_restore(struct serial8250 *s, struct snap_reader *r)
{
	struct serial8250 n;
	uint32_t rx;
	int level;

	memset(&n, 0, sizeof(n));
	n.ier = snap_get_u8(r);
	n.fcr = snap_get_u8(r);
	n.lcr = snap_get_u8(r);
	n.mcr = snap_get_u8(r);
	n.lsr_err = snap_get_u8(r);
	n.msr = snap_get_u8(r);
	n.scr = snap_get_u8(r);
	n.dll = snap_get_u8(r);
	n.dlm = snap_get_u8(r);
	n.thr_ipending = snap_get_u8(r);
	n.tx_count = snap_get_u8(r);
	/* Before the bytes are read: n.fcr, read above, sets the room. */
	if (n.tx_count > tx_room(&n))
		return -EINVAL;
	snap_get_bytes(r, n.tx_buf, n.tx_count);
	rx = snap_get_u32(r);
	if (r->err || n.ier & ~0x0f || n.mcr & ~0x1f ||
	    n.fcr & ~(U8250_FCR_ENABLE_FIFO | U8250_FCR_DMA_SELECT |
		      U8250_FCR_TRIGGER_MASK) ||
	    n.lsr_err & ~U8250_LSR_ERRORS || !is_bool(n.thr_ipending) ||
	    rx > SERIAL8250_RX_FIFO_SIZE)
		return -EINVAL;
	snap_get_bytes(r, n.rx_buf, rx);
	if (snap_reader_done(r))
		return -EINVAL;

	pthread_mutex_lock(&s->lock);
	s->ier = n.ier;
	s->fcr = n.fcr;
	s->lcr = n.lcr;
	s->mcr = n.mcr;
	s->lsr_err = n.lsr_err;
	s->msr = n.msr;
	s->scr = n.scr;
	s->dll = n.dll;
	s->dlm = n.dlm;
	s->thr_ipending = n.thr_ipending;
	memcpy(s->tx_buf, n.tx_buf, n.tx_count);
	s->tx_head = 0;
	s->tx_count = n.tx_count;
	s->tx_epoch++;
	s->rx_head = 0;
	s->rx_count = rx;
	memcpy(s->rx_buf, n.rx_buf, rx);
	level = !(iir_locked(s) & U8250_IIR_NO_INT);
	s->irq_level = level;
	irq_line_set(&s->irq, level);
	pthread_mutex_unlock(&s->lock);
	return 0;
}
