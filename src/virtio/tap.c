/*
 * TAP interfaces and MAC addresses. See tap.h.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "err.h"
#include "virtio/net.h"
#include "virtio/tap.h"

#define TUN_DEV "/dev/net/tun"

/* What the kernel's dev_valid_name() accepts, minus '%' patterns. */
static int check_name(const char *name, char *err, size_t errlen)
{
	size_t len;

	if (!name || !*name)
		return err_fmt(err, errlen, -EINVAL,
			       "tap: empty interface name");
	len = strlen(name);
	if (len >= IFNAMSIZ)
		return err_fmt(
			err, errlen, -EINVAL,
			"tap %.64s%s: interface name longer than %d bytes",
			name, len > 64 ? "..." : "", IFNAMSIZ - 1);
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return err_fmt(err, errlen, -EINVAL,
			       "tap %s: invalid interface name", name);
	for (const char *p = name; *p; p++) {
		if (*p == '/' || *p == ':' || *p == '%' ||
		    isspace((unsigned char)*p) || !isprint((unsigned char)*p))
			return err_fmt(err, errlen, -EINVAL,
				       "tap %s: invalid character in interface "
				       "name",
				       name);
	}
	return 0;
}

int tap_open(const char *name, bool vnet_hdr, int *fd_out, char *err,
	     size_t errlen)
{
	struct ifreq ifr;
	int fd, ret, sz = TAP_VNET_HDR_BYTES;

	*fd_out = -1;
	ret = check_name(name, err, errlen);
	if (ret)
		return ret;
	fd = open(TUN_DEV, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		if (errno == ENOENT || errno == ENODEV || errno == ENXIO)
			return err_fmt(err, errlen, ret,
				       "tap %s: " TUN_DEV ": %s (is the tun "
				       "module loaded?)",
				       name, strerror(errno));
		if (errno == EACCES || errno == EPERM)
			return err_fmt(err, errlen, ret,
				       "tap %s: " TUN_DEV ": permission denied",
				       name);
		return err_fmt(err, errlen, ret, "tap %s: " TUN_DEV ": %s",
			       name, strerror(errno));
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet_hdr ? IFF_VNET_HDR : 0);
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		close(fd);
		switch (-ret) {
		case EBUSY:
			return err_fmt(
				err, errlen, ret,
				"tap %s: busy (in use by another process)",
				name);
		case EPERM:
		case EACCES:
			return err_fmt(
				err, errlen, -EPERM,
				"tap %s: permission denied (needs "
				"CAP_NET_ADMIN or a persistent tap owned "
				"by you)",
				name);
		case EINVAL:
			return err_fmt(
				err, errlen, ret,
				"tap %s: cannot attach: %s (not a tap, a "
				"multi-queue tap, or a non-tun interface "
				"of that name?)",
				name, strerror(-ret));
		default:
			return err_fmt(err, errlen, ret,
				       "tap %s: TUNSETIFF: %s", name,
				       strerror(-ret));
		}
	}
	if (vnet_hdr && ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) {
		ret = -errno;
		close(fd);
		return err_fmt(err, errlen, ret, "tap %s: TUNSETVNETHDRSZ: %s",
			       name, strerror(-ret));
	}
	/* No offloads until the guest says which it can take. */
	if (vnet_hdr && ioctl(fd, TUNSETOFFLOAD, 0U) < 0) {
		ret = -errno;
		close(fd);
		return err_fmt(err, errlen, ret, "tap %s: TUNSETOFFLOAD: %s",
			       name, strerror(-ret));
	}
	*fd_out = fd;
	return 0;
}

unsigned int tap_offload_flags(uint64_t f)
{
	unsigned int flags = 0;

	if (!(f & 1ULL << VIRTIO_NET_F_GUEST_CSUM))
		return 0;
	flags |= TUN_F_CSUM;
	if (f & 1ULL << VIRTIO_NET_F_GUEST_TSO4)
		flags |= TUN_F_TSO4;
	if (f & 1ULL << VIRTIO_NET_F_GUEST_TSO6)
		flags |= TUN_F_TSO6;
	if ((flags & (TUN_F_TSO4 | TUN_F_TSO6)) &&
	    (f & 1ULL << VIRTIO_NET_F_GUEST_ECN))
		flags |= TUN_F_TSO_ECN;
	return flags;
}

int tap_set_offload(int fd, uint64_t guest_features)
{
	if (ioctl(fd, TUNSETOFFLOAD, tap_offload_flags(guest_features)) < 0)
		return -errno;
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int mac_parse(const char *s, uint8_t mac[6])
{
	uint8_t m[6];
	bool zero = true;

	if (!s || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		if (i < 5 && s[3 * i + 2] != ':')
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
		zero = zero && !m[i];
	}
	if (zero || (m[0] & 1))
		return -EINVAL;
	memcpy(mac, m, 6);
	return 0;
}

static uint32_t fnv1a(uint32_t h, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 16777619U;
	}
	return h;
}

void mac_default(uint8_t mac[6], const char *vm_name, unsigned int index)
{
	const char *name = vm_name ? vm_name : "";
	uint32_t h = fnv1a(2166136261U, name, strlen(name));

	mac[0] = 0x02; /* locally administered, unicast */
	mac[1] = (uint8_t)(h >> 24);
	mac[2] = (uint8_t)(h >> 16);
	mac[3] = (uint8_t)(h >> 8);
	mac[4] = (uint8_t)h;
	mac[5] = (uint8_t)index;
}

void mac_format(const uint8_t mac[6], char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
}
