/*
 * virtio-vsock (virtio 1.2, 5.10) over virtio-mmio, with Firecracker's
 * hybrid vsock on the host side: no vhost, no AF_VSOCK on the host, only
 * Unix stream sockets, so no privileges.
 *
 * Host-initiated: a program connects to the listening socket @uds and
 * writes "CONNECT <port>\n" (within VSOCK_LINE_MS). The device sends
 * the guest a REQUEST from CID 2 and a fresh host port (from
 * VSOCK_LOCAL_PORT_BASE up) to <port>; when the guest answers RESPONSE the
 * program reads "OK <host port>\n" and then the stream. A RST from the
 * guest (nobody listens there, its backlog is full), a bad line, or no
 * answer within VSOCK_ANSWER_MS closes the program's socket.
 * Guest-initiated: a REQUEST to CID 2 port P is connected (non-blocking)
 * to the Unix socket "@uds_P"; nobody there means a RST.
 *
 * Flow control (5.10.6.3), per connection. Guest to host: we advertise
 * buf_alloc = VSOCK_BUF_ALLOC; what the host socket does not take at once
 * waits in a buffer of at most that size, and fwd_cnt counts only what
 * the socket took, so a host that stops reading stops the guest's sender
 * (its credit runs out). A guest that sends beyond its credit (a "credit
 * lie") gets that connection reset. Host to guest: we read from the host
 * socket only as much as the guest's credit (buf_alloc - (sent -
 * fwd_cnt)) allows, straight into its rx buffers, so a guest that stops
 * reading stops the host's writer (its socket buffer fills). Host memory
 * is bounded by VSOCK_MAX_CONNS * VSOCK_BUF_ALLOC whatever either side
 * does.
 *
 * Hostile packets: a header shorter than 44 bytes, a length beyond the
 * chain or VSOCK_MAX_PKT, a type other than STREAM, an unknown op, a
 * packet for a connection that does not exist or from the wrong CID are
 * dropped and counted; the ones that name a port pair get a RST (the
 * guest breaks only its own connection). RSTs for packets without a
 * connection wait in a queue of VSOCK_RST_QUEUE; when it is full the
 * device stops taking packets until the guest takes its replies, so a
 * flood of requests is paced by the guest's own receive ring. An rx chain
 * that cannot hold a header and a byte of data, or one with a
 * device-readable descriptor, is a driver bug: DEVICE_NEEDS_RESET, as a
 * malformed ring.
 *
 * Half-close: host EOF sends SHUTDOWN(SEND); the guest's SHUTDOWN(SEND)
 * shuts the socket's write side once the buffer is written; SHUTDOWN with
 * both flags (the guest's close) closes the socket and answers RST.
 * A device reset closes every connection; the listening socket stays.
 * The event queue is set up by the driver and left alone (there is no
 * transport reset without snapshots).
 *
 * Threading as net (net.h): one worker polls an epoll set (the listening
 * socket, each connection's socket as its state needs, a timer for the
 * handshakes) and the kicks, and processes under the device lock.
 */
#ifndef KVMLITE_VIRTIO_VSOCK_H
#define KVMLITE_VIRTIO_VSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"
#include "virtio/mmio.h"

#define VIRTIO_ID_VSOCK 19

/* The queues. */
#define VSOCK_RXQ 0
#define VSOCK_TXQ 1
#define VSOCK_EVQ 2

/* struct virtio_vsock_hdr (5.10.6), little-endian, packed. */
#define VSOCK_HDR_BYTES 44
#define VSOCK_TYPE_STREAM 1
#define VSOCK_OP_REQUEST 1
#define VSOCK_OP_RESPONSE 2
#define VSOCK_OP_RST 3
#define VSOCK_OP_SHUTDOWN 4
#define VSOCK_OP_RW 5
#define VSOCK_OP_CREDIT_UPDATE 6
#define VSOCK_OP_CREDIT_REQUEST 7
#define VSOCK_SHUTDOWN_RCV 1
#define VSOCK_SHUTDOWN_SEND 2
#define VSOCK_HOST_CID 2
/* struct virtio_vsock_event's id (5.10.6.5), le32. */
#define VSOCK_EVENT_TRANSPORT_RESET 0

struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;
	uint16_t type, op;
	uint32_t flags;
	uint32_t buf_alloc, fwd_cnt;
};

/* Into and out of the 44 bytes of the ring. */
void vsock_hdr_decode(const uint8_t *b, struct vsock_hdr *h);
void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t *b);

/* The credit we give each connection, and what we buffer at most for one
 * whose host program stops reading (64 MiB over KVMLITE_VSOCK_MAX_CONNS).
 * 256 KiB, as Linux's and vhost-vsock's default: 64 KiB held the guest's
 * sender to one window per round trip (bench/net: 0.68x vhost-vsock
 * guest -> host, 1.43x at 256 KiB). */
#define VSOCK_BUF_ALLOC (256u << 10)
#define VSOCK_MAX_PKT (64u << 10)
#define VSOCK_RST_QUEUE 64
/* For the host's "CONNECT" line, and for the guest's answer to our
 * REQUEST: generous, as a guest busy under emulation may take seconds,
 * and giving up on an answer that then comes leaves a dead connection in
 * the guest listener's accept queue. */
#define VSOCK_LINE_MS 10000
#define VSOCK_ANSWER_MS 30000
#define VSOCK_LOCAL_PORT_BASE (1u << 30)
/* "CONNECT 4294967295\n" and a little slack. */
#define VSOCK_LINE_MAX 32

struct virtio_vsock_opts {
	uint32_t cid;		/* 3..0xfffffffe */
	const char *uds;	/* listening socket path */
	unsigned int max_conns; /* 0: KVMLITE_VSOCK_MAX_CONNS */
	bool seccomp;		/* the worker loads the vsock allow-list */
};

struct virtio_vsock_stats {
	uint64_t tx_packets, rx_packets;
	uint64_t tx_bytes, rx_bytes; /* payload, guest -> host, host -> guest */
	uint64_t bad_packets;	     /* short header, bad length, CID, type */
	uint64_t unknown_ops;
	uint64_t credit_lies; /* data beyond the credit: connection reset */
	uint64_t no_listener; /* RST: no conn, nobody at uds_P, table full */
	uint64_t rst_sent;
	uint64_t conns_opened, conns_closed;
	uint64_t host_rejected; /* bad CONNECT line, timeout, guest RST */
	uint64_t tx_stalls;	/* times the RST queue was full */
};

struct virtio_vsock;

/*
 * Create the device and its listening socket @o->uds (a stale socket
 * there, one nobody listens on, is replaced; anything else is an error).
 * A negative errno and a one-line "vsock: ..." message on failure.
 */
int virtio_vsock_create(struct virtio_vsock **out,
			const struct virtio_vsock_opts *o,
			const struct guest_mem *m, char *err, size_t errlen);
/* Stop the worker, close every socket (the file @uds stays, stale: the
 * next create replaces it). NULL is fine. */
void virtio_vsock_destroy(struct virtio_vsock *v);
struct virtio_mmio_dev *virtio_vsock_transport(struct virtio_vsock *v);
int virtio_vsock_start(struct virtio_vsock *v);

/*
 * One pass of the worker's work on the calling thread (tests): the
 * sockets' events, the tx queue, then what the guest is owed on the rx
 * queue. Packets moved, or -errno for a malformed ring or rx chain (the
 * device is then in its error state); 0 when not active.
 */
int virtio_vsock_process(struct virtio_vsock *v);
void virtio_vsock_get_stats(const struct virtio_vsock *v,
			    struct virtio_vsock_stats *s);
/* Connections open now (any state). */
unsigned int virtio_vsock_nr_conns(struct virtio_vsock *v);

#endif
