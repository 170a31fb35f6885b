/*
 * Fuzz virtio-vsock with arbitrary ring contents and host input: the
 * input (fuzz_layout.h format, as fuzz_virtq_net) describes the rings of
 * the tx and event queues, so every chain the guest offers there is read
 * as a packet; the rx queue is the harness's, 64 good 4 KiB buffers past
 * the input, so replies and data get delivered (and the packets that
 * follow them parsed); the start
 * index field's low byte is how many of the input's last bytes a host
 * program writes to the listening socket as its "CONNECT <port>\n" line
 * (and what follows). A Unix listener waits at uds_1 for guest-initiated
 * connections. Nothing may crash, hang, leak or touch memory outside
 * guest RAM; a malformed ring must leave the device in NEEDS_RESET; the
 * number of connections must stay within the table.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz_layout.h"
#include "guest_mem.h"
#include "util.h"
#include "virtio/mmio.h"
#include "virtio/virtq.h"
#include "virtio/vsock.h"

#include "../unit/virtio_driver.h"

#define MEM_BYTES MiB(2)
#define CID 3
/* The harness's rx queue, past any input (inputs are at most 16 KiB). */
#define RX_SIZE 64
#define RX_DESC 0x100000ULL
#define RX_AVAIL (RX_DESC + 16 * RX_SIZE)
#define RX_USED (RX_AVAIL + 0x1000)
#define RX_BUFS 0x110000ULL

static struct guest_mem mem;
static struct virtio_vsock *vs;
static struct virtio_mmio_dev *dev;
static char uds[96];
static int listener = -1;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_virtq_vsock: %s\n", what);
	abort();
}

static void init_once(void)
{
	struct virtio_vsock_opts o = { .cid = CID, .max_conns = 8 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char err[256], dir[64];

	snprintf(dir, sizeof(dir), "/tmp/fuzz-vsock-XXXXXX");
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(uds, sizeof(uds), "%s/v", dir);
	o.uds = uds;
	if (guest_mem_init(&mem, MEM_BYTES))
		die("guest_mem_init");
	if (virtio_vsock_create(&vs, &o, &mem, err, sizeof(err)))
		die(err);
	dev = virtio_vsock_transport(vs);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_1", uds);
	listener = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (listener < 0 ||
	    bind(listener, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(listener, 64))
		die("listener");
}

static int host_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", uds);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("connect");
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t f = 1ULL << VIRTIO_F_VERSION_1;
	struct fuzz_layout l;
	size_t line;
	eventfd_t v;
	uint32_t st;
	int host, c;

	if (!vs)
		init_once();
	if (size < FUZZ_VQ_HDR)
		return 0;
	fuzz_layout(data[0], data[1], &l);
	f |= fuzz_ring_features(&l);
	line = data[2];
	data += FUZZ_VQ_HDR;
	size -= FUZZ_VQ_HDR;
	if (line > size)
		line = size;

	gmem_fill(&mem, 0, 0, MEM_BYTES);
	gmem_write(&mem, 0, data, size < MEM_BYTES ? size : MEM_BYTES);
	/* A reset closes what the last input left; the next pass does it. */
	virtio_drv_reset(dev);
	(void)virtio_vsock_process(vs);
	if (virtio_vsock_nr_conns(vs))
		die("connections left after a reset");
	host = host_connect();
	if (line)
		(void)send(host, data + size - line, line, MSG_NOSIGNAL);

	st = virtio_drv_negotiate(dev, f);
	{
		struct virtio_drv_queue rx = { .size = RX_SIZE,
					       .desc = RX_DESC,
					       .avail = RX_AVAIL,
					       .used = RX_USED };

		for (int i = 0; i < RX_SIZE; i++) {
			struct virtio_drv_seg seg = { RX_BUFS + 4096ULL * i,
						      4096, true };

			virtio_drv_submit(&mem, &rx, &seg, 1);
		}
		virtio_drv_setup_queue(dev, VSOCK_RXQ, RX_SIZE, RX_DESC,
				       RX_AVAIL, RX_USED);
	}
	virtio_drv_setup_queue(dev, VSOCK_TXQ, l.size, l.desc, l.avail, l.used);
	virtio_drv_setup_queue(dev, VSOCK_EVQ, l.size, l.desc, l.avail, l.used);
	if (!(virtio_drv_driver_ok(dev, st) & VIRTIO_STATUS_DRIVER_OK)) {
		close(host);
		return 0; /* the layout was refused: fine */
	}
	for (int i = 0; i < 6; i++) {
		int ret = virtio_vsock_process(vs);

		if (ret < 0 && !virtio_drv_needs_reset(dev))
			die("malformed ring without NEEDS_RESET");
		if (virtio_vsock_nr_conns(vs) > 8)
			die("more connections than the table");
		if (ret < 0)
			break;
	}
	(void)eventfd_read(virtio_mmio_call_fd(dev), &v);
	while ((c = accept(listener, NULL, NULL)) >= 0)
		close(c);
	close(host);
	return 0;
}
