/*
 * TAP interfaces and MAC addresses for virtio-net.
 *
 * A TAP is opened through /dev/net/tun with IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR and a 12-byte vnet header (TUNSETVNETHDRSZ): every frame
 * read from or written to the fd is preceded by a struct virtio_net_hdr_v1
 * (flags, gso_type, hdr_len, gso_size, csum_start, csum_offset,
 * num_buffers), exactly the header a VERSION_1 virtio-net driver uses, so
 * frames pass between the guest's buffers and the TAP unchanged. The tun
 * driver does not write num_buffers on read: the device sets it.
 */
#ifndef KVMLITE_VIRTIO_TAP_H
#define KVMLITE_VIRTIO_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The vnet header size we set on the TAP (virtio_net_hdr_v1). */
#define TAP_VNET_HDR_BYTES 12

/*
 * Open the TAP interface @name (1 to IFNAMSIZ - 1 bytes, no '/', ':', '%'
 * or white space; not "." or ".."), creating it when it does not exist
 * (needs CAP_NET_ADMIN; the interface then lives as long as the fd unless
 * it was made persistent), or attaching to an existing one. With
 * @vnet_hdr: IFF_VNET_HDR and a 12-byte header (TAP_VNET_HDR_BYTES). The
 * fd is non-blocking and close-on-exec. The interface is not brought up:
 * that is the administrator's business (ip link set NAME up).
 *
 * 0 and *fd_out, or a negative errno and a one-line message in @err:
 * "tap NAME: busy (in use by another process)" (-EBUSY),
 * "tap NAME: permission denied (needs CAP_NET_ADMIN or a persistent tap
 * owned by you)" (-EPERM), "tap NAME: interface name longer than 15 bytes"
 * (-EINVAL), "tap: empty interface name" (-EINVAL), ...
 */
int tap_open(const char *name, bool vnet_hdr, int *fd_out, char *err,
	     size_t errlen);

/*
 * TUNSETOFFLOAD from the negotiated virtio-net features: the offloads the
 * *guest* can receive. TUN_F_CSUM with VIRTIO_NET_F_GUEST_CSUM; TUN_F_TSO4,
 * TUN_F_TSO6 with GUEST_TSO4, GUEST_TSO6 (only together with GUEST_CSUM,
 * as the spec and tun require); TUN_F_TSO_ECN with GUEST_ECN and a TSO.
 * 0 or a negative errno (-ENOTTY when @fd is not a tun/tap).
 */
int tap_set_offload(int fd, uint64_t guest_features);

/* The TUN_F_* offload flags tap_set_offload() would set. */
unsigned int tap_offload_flags(uint64_t guest_features);

/*
 * Parse "xx:xx:xx:xx:xx:xx" (exactly six two-digit hex bytes, either
 * case). -EINVAL for anything else, for a multicast (or broadcast)
 * address and for 00:00:00:00:00:00. @mac is written only on success.
 */
int mac_parse(const char *s, uint8_t mac[6]);

/*
 * The default MAC of NIC @index of the VM named @vm_name (NULL: ""):
 * 02:AA:BB:CC:DD:II, a locally administered unicast address where
 * AA:BB:CC:DD is the 32-bit FNV-1a hash of the name's bytes (big-endian)
 * and II is @index & 0xff. Stable across runs, hosts and builds; the NICs
 * of one VM (up to 256) never collide with each other; VMs with different
 * names collide with probability 2^-32.
 */
void mac_default(uint8_t mac[6], const char *vm_name, unsigned int index);

/* "xx:xx:xx:xx:xx:xx" into @buf (at least 18 bytes). */
void mac_format(const uint8_t mac[6], char *buf, size_t len);

#endif
