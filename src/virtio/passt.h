/*
 * passt (Debian's passt package): user-mode networking for virtio-net
 * without TAP, bridge or privileges. passt speaks qemu's socket protocol:
 * on a Unix stream socket, each Ethernet frame (no vnet header) comes
 * after its length as a 32-bit big-endian number. It answers DHCP, NDP
 * and DHCPv6 itself, gives the guest the host's address and routes, and
 * maps the gateway address to the host's loopback.
 */
#ifndef KVMLITE_VIRTIO_PASST_H
#define KVMLITE_VIRTIO_PASST_H

#include <stddef.h>

/* How long passt may take to set up (its first process then exits,
 * leaving the one in the background). */
#define PASST_START_MS 10000

/*
 * A stream socket to passt, non-blocking and close-on-exec, into *fd_out.
 * @socket_path "": start a passt of our own, "passt -q --fd N" on one end
 * of a socketpair; passt moves to the background, serves that socket
 * alone and quits when it is closed (no process of ours is left to reap:
 * the first one is waited for here, and it signals nobody: no SIGCHLD
 * reaches the program). passt is looked up in PATH. Otherwise connect to
 * a passt listening on @socket_path (passt -s PATH). 0, or a negative
 * errno and one line: "net passt: passt not found in PATH (apt-get
 * install passt)" (-ENOENT), "net passt: passt failed (status N): ...",
 * "net passt SOCKET: ...".
 */
int passt_open(const char *socket_path, int *fd_out, char *err, size_t errlen);

#endif
