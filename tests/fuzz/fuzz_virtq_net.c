/*
 * Fuzz the virtio-net header and packet paths with arbitrary ring
 * contents: the input (fuzz_layout.h format, as fuzz_virtq_blk) describes
 * rings that serve as both the receive and the transmit queue; a frame
 * made of the input's last bytes waits on the "tap" (a socketpair) to be
 * received. The device is brought up through its registers with
 * MRG_RXBUF and the checksum offloads it offers, then processed
 * synchronously. With flag FUZZ_NET_STREAM in the layout byte the device
 * is the one on a stream (passt's framing, a SOCK_STREAM socketpair): the
 * frame bytes are then read as the stream itself, lengths and all. Nothing
 * may crash, hang or touch memory outside guest RAM; a malformed ring must
 * leave the device in NEEDS_RESET.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_layout.h"
#include "guest_mem.h"
#include "x86_layout.h"
#include "virtio/mmio.h"
#include "virtio/net.h"
#include "virtio/virtq.h"

#include "../unit/virtio_driver.h"

#define MEM_BYTES MiB(2)

#define FUZZ_NET_STREAM 8

static struct guest_mem mem;
static struct virtio_net *nets[2];
static int peers[2] = { -1, -1 }; /* the host side of the fake taps */

static void die(const char *what)
{
	fprintf(stderr, "fuzz_virtq_net: %s\n", what);
	abort();
}

/* Device @i: 0 the TAP-like one, kept; 1 on a stream, made afresh for
 * each input (a stream that went wrong is given up for good). */
static void make(int i)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
	char err[256];

	{
		struct virtio_net_config_opts o = { .mac = mac,
						    .name = "fuzz",
						    .stream = i == 1 };
		int sv[2];

		if (socketpair(AF_UNIX,
			       (i ? SOCK_STREAM : SOCK_SEQPACKET) |
				       SOCK_NONBLOCK,
			       0, sv))
			die("socketpair");
		o.tap_fd = sv[0];
		peers[i] = sv[1];
		if (virtio_net_create(&nets[i], &o, &mem, err, sizeof(err)))
			die(err);
	}
}

static void init_once(void)
{
	if (guest_mem_init(&mem, MEM_BYTES))
		die("guest_mem_init");
	make(0);
}

static void drain_peer(int peer)
{
	static uint8_t buf[70000];

	while (recv(peer, buf, sizeof(buf), 0) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t st;
	uint64_t f = 1ULL << VIRTIO_F_VERSION_1 |
		     1ULL << VIRTIO_NET_F_MRG_RXBUF |
		     1ULL << VIRTIO_NET_F_CSUM |
		     1ULL << VIRTIO_NET_F_GUEST_CSUM | 1ULL << VIRTIO_NET_F_MAC;
	struct virtio_mmio_dev *dev;
	struct virtio_net *net;
	struct fuzz_layout l;
	eventfd_t v;
	size_t frame;
	int peer;

	if (!nets[0])
		init_once();
	if (size < FUZZ_VQ_HDR)
		return 0;
	fuzz_layout(data[0], data[1], &l);
	if (l.flags & FUZZ_NET_STREAM)
		make(1);
	net = nets[(l.flags & FUZZ_NET_STREAM) ? 1 : 0];
	peer = peers[(l.flags & FUZZ_NET_STREAM) ? 1 : 0];
	dev = virtio_net_transport(net);
	/* What the device offers of them: on a stream, asking for CSUM
	 * (not offered there) would have FEATURES_OK refused and the
	 * stream never processed. */
	f = (f | fuzz_ring_features(&l)) & virtio_drv_device_features(dev);
	frame = data[2] | (size_t)data[3] << 8;
	data += FUZZ_VQ_HDR;
	size -= FUZZ_VQ_HDR;
	if (frame > size)
		frame = size;

	gmem_fill(&mem, 0, 0, MEM_BYTES);
	gmem_write(&mem, 0, data, size < MEM_BYTES ? size : MEM_BYTES);
	drain_peer(peer);
	if (frame)
		(void)send(peer, data + size - frame, frame, 0);

	virtio_drv_reset(dev);
	st = virtio_drv_negotiate(dev, f);
	/* The same rings for both queues. */
	virtio_drv_setup_queue(dev, VIRTIO_NET_RXQ, l.size, l.desc, l.avail,
			       l.used);
	virtio_drv_setup_queue(dev, VIRTIO_NET_TXQ, l.size, l.desc, l.avail,
			       l.used);
	if (!(virtio_drv_driver_ok(dev, st) & VIRTIO_STATUS_DRIVER_OK))
		goto out; /* the layout was refused: fine */
	for (int i = 0; i < 4; i++) {
		int ret = virtio_net_process(net);

		if (ret < 0 && !virtio_drv_needs_reset(dev))
			die("malformed ring without NEEDS_RESET");
		if (ret <= 0)
			break;
	}
	(void)eventfd_read(virtio_mmio_call_fd(dev), &v);
out:
	drain_peer(peer);
	if (net == nets[1]) {
		virtio_net_destroy(nets[1]);
		close(peers[1]);
		nets[1] = NULL;
	}
	return 0;
}
