/*
 * 16550A UART emulation (the guest's ttyS0 console).
 *
 * Eight byte-wide registers. Transmission is instantaneous unless a
 * transmit gate (serial8250_set_tx_gate) refuses the byte: then it waits
 * in the transmit FIFO (16 bytes with FCR's FIFO enable, else the one
 * holding register), with every byte after it, THRE and TEMT read clear,
 * and the guest waits (for THRI, or polling LSR) until
 * serial8250_tx_ready() lets them go, as on a line with flow control.
 * Linux's interrupt-driven transmit writes 16 bytes per THRI without
 * looking at LSR, so the FIFO is what keeps a slow console reader from
 * losing them. A byte written while the FIFO is full is lost and counted
 * (tx_overruns). Host input goes through a receive FIFO much deeper than
 * the hardware's 16 bytes so that pasted text is not lost.
 *
 * Locking: every entry point takes s->lock. The gate is called with the
 * lock held and must not block or call back. The output callback is called
 * WITHOUT the lock held (so a slow console never blocks host input), for
 * each byte the gate let through, from the vCPU thread doing the THR write
 * or from the thread calling serial8250_tx_ready() (while the byte is
 * still in the FIFO, so THRE reads clear and a vCPU's bytes queue behind
 * it: never alongside a vCPU's); it must not call back into the
 * device. Byte order is preserved for any guest that serialises its own
 * UART accesses (Linux does, under the port lock). The interrupt line is
 * driven with the lock held, only on level changes.
 */
#ifndef KVMLITE_DEVICES_SERIAL8250_H
#define KVMLITE_DEVICES_SERIAL8250_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dumpbuf.h"
#include "irq.h"

/* Register offsets (DLAB = LCR bit 7 selects DLL/DLM at 0/1). */
#define U8250_RX 0  /* in: receive buffer */
#define U8250_TX 0  /* out: transmit holding */
#define U8250_DLL 0 /* DLAB: divisor latch low */
#define U8250_IER 1
#define U8250_DLM 1 /* DLAB: divisor latch high */
#define U8250_IIR 2 /* in */
#define U8250_FCR 2 /* out */
#define U8250_LCR 3
#define U8250_MCR 4
#define U8250_LSR 5
#define U8250_MSR 6
#define U8250_SCR 7
#define U8250_NR_REGS 8

#define U8250_IER_RDI 0x01  /* received data available */
#define U8250_IER_THRI 0x02 /* transmit holding register empty */
#define U8250_IER_RLSI 0x04 /* receiver line status */
#define U8250_IER_MSI 0x08  /* modem status */

#define U8250_IIR_NO_INT 0x01
#define U8250_IIR_ID 0x0e
#define U8250_IIR_MSI 0x00
#define U8250_IIR_THRI 0x02
#define U8250_IIR_RDI 0x04
#define U8250_IIR_RLSI 0x06
#define U8250_IIR_FIFO_ENABLED 0xc0

#define U8250_FCR_ENABLE_FIFO 0x01
#define U8250_FCR_CLEAR_RCVR 0x02
#define U8250_FCR_CLEAR_XMIT 0x04
#define U8250_FCR_DMA_SELECT 0x08
#define U8250_FCR_TRIGGER_MASK 0xc0

#define U8250_LCR_DLAB 0x80

#define U8250_MCR_DTR 0x01
#define U8250_MCR_RTS 0x02
#define U8250_MCR_OUT1 0x04
#define U8250_MCR_OUT2 0x08
#define U8250_MCR_LOOP 0x10

#define U8250_LSR_DR 0x01
#define U8250_LSR_OE 0x02
#define U8250_LSR_PE 0x04
#define U8250_LSR_FE 0x08
#define U8250_LSR_BI 0x10
#define U8250_LSR_THRE 0x20
#define U8250_LSR_TEMT 0x40
#define U8250_LSR_ERRORS                                                       \
	(U8250_LSR_OE | U8250_LSR_PE | U8250_LSR_FE | U8250_LSR_BI)

#define U8250_MSR_DCTS 0x01
#define U8250_MSR_DDSR 0x02
#define U8250_MSR_TERI 0x04
#define U8250_MSR_DDCD 0x08
#define U8250_MSR_DELTAS 0x0f
#define U8250_MSR_CTS 0x10
#define U8250_MSR_DSR 0x20
#define U8250_MSR_RI 0x40
#define U8250_MSR_DCD 0x80

/* Host input FIFO depth (bytes). */
#define SERIAL8250_RX_FIFO_SIZE 4096
/* The 16550A's transmit FIFO (bytes). */
#define SERIAL8250_TX_FIFO_SIZE 16

typedef void (*serial_out_fn)(void *opaque, const uint8_t *buf, size_t len);
/* True: the byte may go now; false: hold it (see above). */
typedef bool (*serial_tx_gate_fn)(void *opaque, uint8_t byte);

struct serial8250 {
	uint8_t ier; /* low 4 bits only */
	uint8_t fcr; /* FIFO enable, DMA mode, RX trigger */
	uint8_t lcr;
	uint8_t mcr;	 /* low 5 bits only */
	uint8_t lsr_err; /* latched OE/PE/FE/BI, cleared by reading LSR */
	uint8_t msr;	 /* line state (high nibble) | deltas (low nibble) */
	uint8_t scr;
	uint8_t dll;
	uint8_t dlm;
	bool thr_ipending; /* THRI condition, consumed by reading IIR */
	int irq_level;	   /* last level driven on irq */
	/* Bytes the gate held, oldest at tx_head; THRE is tx_count == 0. */
	uint8_t tx_buf[SERIAL8250_TX_FIFO_SIZE];
	uint8_t tx_head, tx_count;
	uint32_t tx_epoch; /* bumped when the FIFO is cleared */
	/* One serial8250_tx_ready drains at a time; another caller meanwhile
	 * sets tx_again, and the drainer looks once more before it leaves. */
	bool tx_draining, tx_again;
	uint64_t tx_overruns; /* bytes written while the FIFO was full */

	pthread_mutex_t lock;
	struct irq_line irq;
	serial_out_fn out;
	void *out_opaque;
	serial_tx_gate_fn gate;
	void *gate_opaque;

	/* Receive FIFO (ring). */
	size_t rx_head;
	size_t rx_count;
	uint8_t rx_buf[SERIAL8250_RX_FIFO_SIZE];
};

/*
 * @irq is copied (may be NULL: no interrupt). @out may be NULL: output is
 * discarded. Returns 0 or a negative errno.
 */
int serial8250_init(struct serial8250 *s, const struct irq_line *irq,
		    serial_out_fn out, void *out_opaque);
void serial8250_destroy(struct serial8250 *s);

/* Install a transmit gate (before the guest runs); NULL: none. */
void serial8250_set_tx_gate(struct serial8250 *s, serial_tx_gate_fn gate,
			    void *opaque);
/* The gate has room again: offer it the held byte (any thread, without
 * the gate's own locks held). */
void serial8250_tx_ready(struct serial8250 *s);
/* Bytes lost to writes while THR was full. */
uint64_t serial8250_tx_overruns(struct serial8250 *s);

/* Bus handler for the 8 registers; opaque is the struct serial8250. */
void serial8250_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		   bool is_write);

/*
 * Host input. Returns the number of bytes accepted (0 when the FIFO is
 * full); the caller keeps the rest and retries later.
 */
size_t serial8250_receive(struct serial8250 *s, const uint8_t *buf, size_t len);

/*
 * What IIR would read now, without the read side effect (for tests and
 * debugging).
 */
uint8_t serial8250_peek_iir(struct serial8250 *s);

struct snap_writer;
struct snap_reader;

/*
 * Snapshots: every register, the receive FIFO and a byte the gate holds.
 * serial8250_restore() validates what it reads (-EINVAL: nothing
 * changed), then drives the interrupt line to the level the restored
 * state implies, whatever it was before (reset in place reuses the line).
 * After a restore the caller offers a held byte again
 * (serial8250_tx_ready()), as its console starts empty.
 */
void serial8250_save(struct serial8250 *s, struct snap_writer *w);
int serial8250_restore(struct serial8250 *s, struct snap_reader *r);

/* Its registers for the state dump, "key=value" words without a newline;
 * never blocks (a held lock is reported as busy). */
void serial8250_dump(struct serial8250 *s, struct dumpbuf *b);

#endif
