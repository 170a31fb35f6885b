/*
 * vsock_hostile: attacks on virtio-vsock (run with --vsock cid=3,uds=U and
 * a host listener at U_1024 that accepts and never reads; see
 * run_hostile.sh). Steps (verdict 10 + step on failure):
 * 0 bring-up (DeviceID 19, guest_cid 3);
 * 1 a flood of 20000 connection requests to ports nobody listens on, the
 *   first 128 with no rx buffers: the device takes 64 (its RST queue) and
 *   then stops taking packets (never drops, never grows), then answers
 *   every one with a RST once buffers come;
 * 2 bad packets: a header cut short, a length of 0xffffffff, a length
 *   beyond the chain, an unknown op, a type other than stream, a foreign
 *   source CID, a writable descriptor: none puts the device in its error
 *   state, and it still answers a request afterwards;
 * 3 back-pressure and a credit lie: connected to the host listener that
 *   never reads, the guest sends within its credit until the credit stops
 *   growing (bounded: the host socket's buffer and ours), then sends past
 *   it and gets its connection reset;
 * 4 an rx buffer too small for a header and a byte: DEVICE_NEEDS_RESET;
 *   after a reset the device works again;
 * 5 a connection left open when the guest ends the VM: kvmlite closes it
 *   on its way out (under its seccomp filters), status 1 all the same.
 */
#include "vq.h"

const char guest_name[] = "vsock_hostile";

#define CID 3
#define NRX 64
#define NTX 128
#define RST_QUEUE 64 /* VSOCK_RST_QUEUE */
#define RX_RING 0x400000u
#define TX_RING 0x410000u
#define EV_RING 0x420000u
#define RX_BUF 0x500000u /* NRX x 4 KiB */
#define TX_BUF 0x600000u /* NTX x 68 KiB */
#define TX_SLOT 0x11000u
#define HDR 44
#define MAX_PKT 65536

static struct gq rxq, txq, evq;
static uint32_t rst_seen, resp_seen, credit_seen, rw_seen, other_seen;
static uint32_t last_dst_port, peer_fwd_cnt, peer_buf_alloc;
static uint16_t last_op;

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const volatile uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* A header at @p. */
static void hdr(uint8_t *p, uint32_t src_cid, uint32_t src_port,
		uint32_t dst_port, uint32_t len, uint16_t type, uint16_t op,
		uint32_t flags)
{
	memset(p, 0, HDR);
	put32(p, src_cid);
	put32(p + 8, 2);
	put32(p + 16, src_port);
	put32(p + 20, dst_port);
	put32(p + 24, len);
	p[28] = (uint8_t)type;
	p[30] = (uint8_t)op;
	put32(p + 32, flags);
	put32(p + 36, 256 << 10);
}

static bool setup(void)
{
	if (!vdev_find(19) || !vdev_init_any(0))
		return false;
	if (!gq_setup(&rxq, 0, NRX, RX_RING) ||
	    !gq_setup(&txq, 1, NTX, TX_RING) || !gq_setup(&evq, 2, 8, EV_RING))
		return false;
	return vdev_driver_ok();
}

static void post_rx(uint16_t id, uint32_t len)
{
	gq_desc(&rxq, id, RX_BUF + 4096u * id, len, F_WRITE, 0);
	gq_offer(&rxq, id);
}

/* Take what the device gave on rx, note it, give the buffers back. */
static void drain_rx(void)
{
	uint32_t id, len;

	while (gq_take(&rxq, &id, &len)) {
		volatile uint8_t *p = gpa(RX_BUF + 4096u * (id % NRX));
		uint16_t op = p[30];

		last_op = op;
		last_dst_port = get32(p + 20);
		if (op == 3)
			rst_seen++;
		else if (op == 2)
			resp_seen++;
		else if (op == 6)
			credit_seen++;
		else if (op == 5)
			rw_seen++;
		else
			other_seen++;
		if (op == 2 || op == 5 || op == 6) {
			peer_buf_alloc = get32(p + 36);
			peer_fwd_cnt = get32(p + 40);
		}
		post_rx((uint16_t)(id % NRX), 4096);
	}
	gq_kick(&rxq);
}

static void drain_tx(void)
{
	uint32_t id, len;

	while (gq_take(&txq, &id, &len))
		;
}

/* Send one packet from slot memory (one descriptor of @chain_len, device
 * readable unless @writable), waiting for room in the ring (bounded). */
static bool send_raw(uint8_t *pkt, uint32_t chain_len, bool writable)
{
	uint64_t dl = deadline_ms(10000);
	uint16_t slot;

	while (gq_outstanding(&txq) >= NTX) {
		drain_tx();
		drain_rx();
		if (expired(dl))
			return false;
	}
	slot = txq.avail_idx % NTX;
	memcpy(gpa(TX_BUF + TX_SLOT * slot), pkt,
	       chain_len < TX_SLOT ? chain_len : HDR);
	gq_desc(&txq, slot, TX_BUF + TX_SLOT * slot, chain_len,
		writable ? F_WRITE : 0, 0);
	gq_offer(&txq, slot);
	gq_kick(&txq);
	return true;
}

static uint8_t pktbuf[HDR + MAX_PKT];

static bool send_pkt(uint32_t src_port, uint32_t dst_port, uint16_t op,
		     uint32_t len, uint32_t flags)
{
	hdr(pktbuf, CID, src_port, dst_port, len, 1, op, flags);
	return send_raw(pktbuf, HDR + len, false);
}

/* Wait until @n more RSTs have come (bounded). */
static bool wait_rst(uint32_t before, uint32_t n, uint32_t ms)
{
	uint64_t dl = deadline_ms(ms);

	while (rst_seen - before < n) {
		drain_rx();
		drain_tx();
		if (expired(dl) || vdev_needs_reset())
			return false;
	}
	return true;
}

/* The device still answers: a request to nobody gets a RST. RSTs still
 * due for earlier packets (a second one for a connection already reset
 * comes late under a sanitizer) are passed over. */
static bool alive(uint32_t port)
{
	uint32_t before = rst_seen;

	if (!send_pkt(port, 9, 1, 0, 0))
		return false;
	for (uint32_t n = 1; n <= 8; n++) {
		if (!wait_rst(before, n, 5000))
			return false;
		if (last_dst_port == port)
			return true;
	}
	return false;
}

static bool flood(void)
{
	uint64_t dl;
	uint32_t before;

	/* No rx buffers yet: the tx ring fills and then stops moving. */
	for (uint32_t i = 0; i < NTX; i++) {
		hdr(pktbuf, CID, 20000 + i, 7000 + i, 0, 1, 1, 0);
		memcpy(gpa(TX_BUF + TX_SLOT * i), pktbuf, HDR);
		gq_desc(&txq, (uint16_t)i, TX_BUF + TX_SLOT * i, HDR, 0, 0);
		gq_offer(&txq, (uint16_t)i);
	}
	gq_kick(&txq);
	dl = deadline_ms(300);
	while (!expired(dl))
		drain_tx();
	note("flood: taken with no rx buffers", txq.used_seen);
	if (txq.used_seen != RST_QUEUE || rst_seen) {
		note("flood: not stopped at its RST queue", txq.used_seen);
		return false;
	}
	for (uint16_t i = 0; i < NRX; i++)
		post_rx(i, 4096);
	gq_kick(&rxq);
	if (!wait_rst(0, NTX, 10000)) {
		note("flood: RSTs after buffers came", rst_seen);
		return false;
	}
	before = rst_seen;
	for (uint32_t i = 0; i < 20000; i++) {
		if (!send_pkt(30000 + i, 8000 + (i % 1000), 1, 0, 0)) {
			note("flood: tx ring stuck at", i);
			return false;
		}
		drain_rx();
	}
	if (!wait_rst(before, 20000, 20000)) {
		note("flood: RSTs answered", rst_seen - before);
		return false;
	}
	return !vdev_needs_reset();
}

static bool bad_packets(void)
{
	static const uint16_t ops[] = { 0, 8, 99, 0xffff };
	uint32_t before = rst_seen;

	/* Cut short: 20 bytes of a header. */
	hdr(pktbuf, CID, 1, 2, 0, 1, 1, 0);
	if (!send_raw(pktbuf, 20, false))
		return false;
	/* Length 0xffffffff; length beyond the chain. */
	hdr(pktbuf, CID, 3, 4, 0xffffffffu, 1, 5, 0);
	if (!send_raw(pktbuf, HDR + 16, false))
		return false;
	hdr(pktbuf, CID, 5, 6, 4096, 1, 5, 0);
	if (!send_raw(pktbuf, HDR + 100, false))
		return false;
	/* Unknown ops, a seqpacket type. */
	for (unsigned int i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!send_pkt(10 + i, 20, ops[i], 0, 0))
			return false;
	hdr(pktbuf, CID, 30, 31, 0, 2, 1, 0);
	if (!send_raw(pktbuf, HDR, false))
		return false;
	/* From CID 4; and a device-writable descriptor. */
	hdr(pktbuf, CID + 1, 40, 41, 0, 1, 1, 0);
	if (!send_raw(pktbuf, HDR, false))
		return false;
	hdr(pktbuf, CID, 42, 43, 0, 1, 1, 0);
	if (!send_raw(pktbuf, HDR, true))
		return false;
	/* RSTs for the length, op and type cases that name a pair: 2 + 4 +
	 * 1; the cut-short, foreign and writable ones are dropped. */
	if (!wait_rst(before, 7, 5000)) {
		note("bad packets: RSTs", rst_seen - before);
		return false;
	}
	if (vdev_needs_reset()) {
		note("bad packets: error state", vr(VM_STATUS));
		return false;
	}
	return alive(50);
}

/* Connected to the host listener that never reads. */
static bool credit(void)
{
	uint32_t sent = 0, stuck_at;
	uint64_t dl;

	resp_seen = 0;
	if (!send_pkt(60, 1024, 1, 0, 0))
		return false;
	dl = deadline_ms(5000);
	while (!resp_seen && !expired(dl)) {
		drain_rx();
		drain_tx();
	}
	if (!resp_seen) {
		note("credit: no RESPONSE from the host listener, last op",
		     last_op);
		return false;
	}
	note("credit: buf_alloc", peer_buf_alloc);
	/* Honest: never more in flight than the credit. */
	memset(pktbuf + HDR, 'v', MAX_PKT);
	for (;;) {
		uint32_t room = peer_buf_alloc - (sent - peer_fwd_cnt);

		if (room >= 16384) {
			if (!send_pkt(60, 1024, 5, 16384, 0))
				return false;
			sent += 16384;
			continue;
		}
		/* Out of credit: wait for more, give up once none comes. */
		dl = deadline_ms(1000);
		stuck_at = peer_fwd_cnt;
		while (!expired(dl) && peer_fwd_cnt == stuck_at) {
			drain_rx();
			drain_tx();
		}
		if (peer_fwd_cnt == stuck_at)
			break;
		if (sent > (64u << 20)) {
			note("credit: a host that never reads took", sent);
			return false;
		}
	}
	note("credit: the host's side took, then held back at", sent);
	/* Lie: two packets of 64 KiB beyond the credit. */
	{
		uint32_t before = rst_seen;

		if (!send_pkt(60, 1024, 5, MAX_PKT, 0) ||
		    !send_pkt(60, 1024, 5, MAX_PKT, 0)) {
			note("credit: the tx ring stayed full, outstanding",
			     gq_outstanding(&txq));
			return false;
		}
		if (!wait_rst(before, 1, 5000) || last_dst_port != 60) {
			note("credit: no RST for the lie, rst",
			     rst_seen - before);
			return false;
		}
	}
	if (!alive(61)) {
		note("credit: no RST from port 61 after the lie, rst",
		     rst_seen);
		return false;
	}
	return true;
}

static bool small_rx(void)
{
	uint64_t dl;

	/* Take back every buffer: reset, fresh queues, one tiny buffer. */
	if (!setup())
		return false;
	post_rx(0, HDR);
	gq_kick(&rxq);
	if (!send_pkt(70, 9, 1, 0, 0))
		return false;
	dl = deadline_ms(5000);
	while (!vdev_needs_reset() && !expired(dl))
		;
	if (!vdev_needs_reset()) {
		note("small rx: no error state", vr(VM_STATUS));
		return false;
	}
	rst_seen = 0;
	if (!setup())
		return false;
	for (uint16_t i = 0; i < NRX; i++)
		post_rx(i, 4096);
	gq_kick(&rxq);
	return alive(71);
}

int guest_main(void)
{
	serial_init();
	if (!setup() || vr(VM_CONFIG) != CID)
		return VERDICT_FAIL(0);
	if (!flood())
		return VERDICT_FAIL(1);
	puts_("vsock_hostile: flood survived\n");
	if (!bad_packets())
		return VERDICT_FAIL(2);
	puts_("vsock_hostile: bad packets survived\n");
	if (!credit())
		return VERDICT_FAIL(3);
	puts_("vsock_hostile: credit held\n");
	if (!small_rx())
		return VERDICT_FAIL(4);
	resp_seen = 0;
	if (!send_pkt(80, 1024, 1, 0, 0))
		return VERDICT_FAIL(5);
	{
		uint64_t dl = deadline_ms(5000);

		while (!resp_seen && !expired(dl)) {
			drain_rx();
			drain_tx();
		}
	}
	if (!resp_seen)
		return VERDICT_FAIL(5);
	puts_("vsock_hostile: PASS (a connection left open)\n");
	return VERDICT_PASS;
}
