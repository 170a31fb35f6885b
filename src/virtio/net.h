/*
 * virtio-net (virtio 1.2, 5.1) over virtio-mmio, backed by a TAP fd.
 *
 * Lifecycle, as the VMM wires it:
 *
 *	tap_open(name, true, &tap_fd, err, sizeof(err));   // see tap.h
 *	mac_parse(opt_mac, mac) or mac_default(mac, vm_name, nic_index);
 *	struct virtio_net_config_opts o = {.tap_fd = tap_fd, .mac = mac,
 *					   .name = name};
 *	virtio_net_create(&n, &o, &vm->mem, err, sizeof(err));
 *		// on success n owns tap_fd; on failure the caller closes it
 *	d = virtio_net_transport(n);
 *	bus_register(&vm->mmio, base, VIRTIO_MMIO_WINDOW, virtio_mmio_io, d,
 *		     "virtio-net");
 *	KVM_IOEVENTFD: addr = base + VIRTIO_MMIO_QUEUE_NOTIFY, len = 4,
 *		       datamatch = q, fd = virtio_mmio_kick_fd(d, q)
 *		       for q = 0 (rx) and q = 1 (tx), i.e. for
 *		       q < virtio_net_ops()->nr_queues
 *	KVM_IRQFD:     fd = virtio_mmio_call_fd(d), gsi = the window's GSI
 *	virtio_net_start(n);                // the device's worker thread
 *	... run the guest ...
 *	(stop the vCPUs; close or deassign the ioeventfds/irqfd)
 *	virtio_net_destroy(n);              // joins the worker, closes tap_fd
 *
 * i.e. exactly vm_attach_virtio() with nr_queues = 2. The DSDT/cmdline
 * entry is the same as a disk's (virtio,mmio window + edge interrupt).
 *
 * Threading: the transport's registers are driven from vCPU threads (see
 * mmio.h). All packet I/O runs on the device's own worker thread, which
 * sleeps in poll() on: a stop eventfd; the rx queue's kick eventfd (the
 * guest posted receive buffers); the tx queue's kick eventfd (the guest
 * queued frames); the TAP fd, for POLLIN only while the guest has receive
 * buffers we have not found exhausted (or a received frame is waiting for
 * room) and for POLLOUT only while a transmit is waiting for the TAP to
 * take it. The worker processes a bounded batch while holding the device
 * lock; a device reset (Status 0 from a vCPU) takes that lock and marks the
 * device inactive before the transport clears the queues. It waits for the
 * frame in hand only, not the batch: it cancels the worker first
 * (worker_cancel_begin(), see worker.h), which looks before each frame and
 * then leaves its batch; a stop (virtio_net_destroy()) cancels it the same
 * way. The worker never takes the transport lock.
 * One interrupt per batch, as EVENT_IDX / NO_INTERRUPT allow.
 *
 * Transmit (queue 1): a chain is the 12-byte virtio_net_hdr_v1 then the
 * frame, device-readable only, in any number of descriptors; it is handed
 * to the TAP with one writev() as it is. Dropped, counted and returned to
 * the driver (0 bytes written), the device carrying on, are: a chain with
 * a device-writable descriptor or shorter than the header
 * (tx_dropped_malformed); longer than the header + VIRTIO_NET_MAX_FRAME
 * (tx_dropped_oversize); one the TAP refuses (bad GSO header: EINVAL;
 * interface down: EIO...) (tx_dropped_error). When the TAP says EAGAIN the
 * chain is kept and retried when the TAP becomes writable: nothing is lost
 * and the queue waits.
 *
 * Receive (queue 0): a frame is read from the TAP only when the guest has
 * posted a buffer. When the next chain (with MRG_RXBUF: the next chains
 * together) has room for the largest frame (12 + VIRTIO_NET_MAX_FRAME
 * bytes), the frame is read with one readv() straight into guest memory
 * and the chains it did not fill stay available; otherwise it goes
 * through a per-device bounce buffer and is copied out. With MRG_RXBUF a
 * frame spans as many chains as it needs and num_buffers says how many;
 * without it, it must fit one chain, else it is dropped and counted
 * (rx_dropped_too_big) and the buffer stays with the device for the next
 * frame. A frame larger than all the buffers the whole ring can hold is
 * dropped the same way. When the guest has too few buffers the frame waits
 * in the bounce buffer, the TAP is not read any further and the device
 * waits for an rx kick: nothing overflows, nothing is dropped silently.
 * num_buffers is always set (1 without MRG_RXBUF); without GUEST_CSUM the
 * header's flags are cleared (5.1.6.4.1). An rx chain with a
 * device-readable descriptor, or (with MRG_RXBUF) with fewer than 12
 * writable bytes, is a driver bug: the device enters its error state
 * (DEVICE_NEEDS_RESET), like a malformed ring (rx_bad_chain). A frame
 * waiting for room is dropped by a device reset (rx_dropped_reset).
 *
 * Snapshots (virtio_dev_ops.quiesce/save/restore): a quiesce ends the
 * batch at the next frame, as a reset does, and gives a transmit waiting
 * for the TAP back to its queue (it is sent once the device goes on); a
 * received frame waiting for room is saved with the device and delivered
 * after a restore. A restore sets the TAP's offloads for the negotiated
 * features, as an activation does.
 *
 * On a stream (passt): no partial-checksum or segmentation offloads are
 * offered (the frames carry no vnet header to say what a frame needs),
 * only GUEST_CSUM, for received frames to be marked checksummed; a
 * transmitted frame goes out as its length and the frame after the
 * guest's header, and what the socket does not take at once waits in a
 * buffer of one frame (the next one waits for POLLOUT: frames are never
 * interleaved). Received bytes collect in a buffer of two frames; each
 * whole frame gets a zeroed header, with VIRTIO_NET_HDR_F_DATA_VALID in
 * flags when the driver negotiated GUEST_CSUM (passt computes the L3/L4
 * checksums of every frame it sends, so the guest need not check them
 * again), and goes the bounce-buffer way. A length of 0 or over
 * VIRTIO_NET_MAX_FRAME means the stream is broken: it is read no more (as
 * a TAP at EOF).
 */
#ifndef KVMLITE_VIRTIO_NET_H
#define KVMLITE_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"
#include "virtio/mmio.h"
#include "virtio/virtq.h"

#define VIRTIO_ID_NET 1

/* Feature bits (5.1.3). */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_CTRL_GUEST_OFFLOADS 2
#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN 9
#define VIRTIO_NET_F_GUEST_UFO 10
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_ECN 13
#define VIRTIO_NET_F_HOST_UFO 14
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_CTRL_VQ 17
#define VIRTIO_NET_F_MQ 22

/* Configuration space (struct virtio_net_config, 5.1.4): mac, status. */
#define VIRTIO_NET_CFG_MAC 0
#define VIRTIO_NET_CFG_STATUS 6
#define VIRTIO_NET_CONFIG_SIZE 8
#define VIRTIO_NET_S_LINK_UP 1

/* struct virtio_net_hdr_v1 (5.1.6), little-endian. */
#define VIRTIO_NET_HDR_BYTES 12
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE 0
#define VIRTIO_NET_HDR_GSO_TCPV4 1
#define VIRTIO_NET_HDR_GSO_UDP 3
#define VIRTIO_NET_HDR_GSO_TCPV6 4
#define VIRTIO_NET_HDR_GSO_ECN 0x80
#define VIRTIO_NET_HDR_OFF_NUM_BUFFERS 10

struct virtio_net_hdr_v1 {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};

/* Largest frame (after the vnet header) either way: a 64 KiB GSO packet
 * plus an Ethernet and a VLAN header, with room to spare. */
#define VIRTIO_NET_MAX_FRAME (65536 + 64)

/* The queues. */
#define VIRTIO_NET_RXQ 0
#define VIRTIO_NET_TXQ 1

struct virtio_net_config_opts {
	int tap_fd;	    /* from tap_open(), or any packet fd (tests) */
	const uint8_t *mac; /* 6 bytes, unicast, not zero; required */
	const char *name;   /* for messages, e.g. the TAP's name */
	bool seccomp;	    /* the worker runs under the I/O allow-list */
	/* tap_fd is a stream socket to passt (passt.h): frames without
	 * a vnet header, each after its 32-bit big-endian length. */
	bool stream;
};

/* Counters, read with virtio_net_get_stats(). Bytes exclude the header. */
struct virtio_net_stats {
	uint64_t tx_packets, tx_bytes;
	uint64_t tx_dropped_malformed; /* writable descriptor, < header */
	uint64_t tx_dropped_oversize;  /* > header + VIRTIO_NET_MAX_FRAME */
	uint64_t tx_dropped_error;     /* the TAP refused it */
	uint64_t tx_eagain;	       /* times the TAP was full (retried) */
	uint64_t rx_packets, rx_bytes;
	uint64_t rx_dropped_too_big; /* no buffer (set) could ever hold it */
	uint64_t rx_dropped_reset;   /* waiting for room when reset */
	uint64_t rx_no_room;	     /* times a frame had to wait */
	uint64_t rx_bad_chain;	     /* device entered its error state */
	uint64_t rx_read_errors;     /* TAP read errors other than EAGAIN, reads
					shorter than the header or longer than
					the buffers offered; a stream's frame
					length 0 or over VIRTIO_NET_MAX_FRAME
					(the stream is then given up) */
	uint64_t interrupts;	     /* used-buffer interrupts raised */
	uint64_t rx_stream_reads;    /* a stream's read() calls that got bytes */
};

struct virtio_net;

/*
 * Set up the device on guest memory @m (which must outlive it) with TAP
 * @o->tap_fd, made non-blocking here. On success the device owns the fd
 * (closed by virtio_net_destroy()); on failure the caller still does.
 * A negative errno and a one-line message "net NAME: REASON" on failure
 * (bad fd, bad MAC, out of memory).
 */
int virtio_net_create(struct virtio_net **out,
		      const struct virtio_net_config_opts *o,
		      const struct guest_mem *m, char *err, size_t errlen);
/* Stop the worker, close the TAP fd, free. NULL is fine. */
void virtio_net_destroy(struct virtio_net *n);

/* The device's virtio-mmio transport (bus handler, kick/call fds). */
struct virtio_mmio_dev *virtio_net_transport(struct virtio_net *n);
/* The ops the transport uses (device id 1, two queues: rx 0, tx 1). */
const struct virtio_dev_ops *virtio_net_ops(void);

/* Start the worker thread. 0 or a negative errno. Once only. */
int virtio_net_start(struct virtio_net *n);

/* A snapshot of the counters (each read atomically). */
void virtio_net_get_stats(const struct virtio_net *n,
			  struct virtio_net_stats *s);

/*
 * One pass of the worker's work, on the calling thread: transmit what the
 * tx queue holds (until the TAP says EAGAIN), receive what the TAP holds
 * (until it is empty or the guest is out of buffers), raise the interrupt
 * if the driver wants one. For tests and for VMMs that want no worker;
 * serialised with the worker by the device lock. Returns the number of
 * frames moved, or a negative errno when a ring was malformed (the device
 * is then in its error state). 0 when the device is not active.
 */
int virtio_net_process(struct virtio_net *n);

/* Link status as the guest sees it (VIRTIO_NET_F_STATUS); a change raises
 * a configuration interrupt. Call from a control thread, not the worker.
 * Up at creation. */
void virtio_net_set_link(struct virtio_net *n, bool up);

#endif
