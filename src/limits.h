/*
 * Every limit kvmlite enforces, in one place. The ones a caller needs are
 * public (kvmlite.h); the checks below are the only definition of what is
 * valid, used by the command line, the config file and the library alike
 * (each words its own message).
 */
#ifndef KVMLITE_LIMITS_H
#define KVMLITE_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

#include "kvmlite.h"
#include "util.h"

/* KVMLITE_MAX_CPUS, KVMLITE_{MIN,MAX}_MEMORY, KVMLITE_MEMORY_ALIGN,
 * KVMLITE_HUGEPAGE_SIZE, KVMLITE_DISK_SERIAL_MAX,
 * KVMLITE_MAX_{DISKS,NETS,DEVICES}, KVMLITE_VSOCK_*: kvmlite.h. */

static inline bool limits_cpus_ok(uint64_t n)
{
	return n >= 1 && n <= KVMLITE_MAX_CPUS;
}

static inline bool limits_memory_ok(uint64_t bytes)
{
	return bytes >= KVMLITE_MIN_MEMORY && bytes <= KVMLITE_MAX_MEMORY &&
	       bytes % KVMLITE_MEMORY_ALIGN == 0;
}

static inline bool limits_vsock_cid_ok(uint64_t cid)
{
	return cid >= KVMLITE_VSOCK_CID_MIN && cid <= KVMLITE_VSOCK_CID_MAX;
}

/* sizeof(sockaddr_un.sun_path): a Unix socket path is shorter. */
#define LIMITS_UNIX_PATH_MAX 108

#define LIMITS_VSOCK_CID_TEXT "a whole number from 3 to 4294967294"
/* hugepages: whole huge pages. */
static inline bool limits_hugepage_memory_ok(uint64_t bytes)
{
	return bytes % KVMLITE_HUGEPAGE_SIZE == 0;
}

#define LIMITS_MEMORY_TEXT "a multiple of 4K from 16M to 1T"
#define LIMITS_CPUS_TEXT "a whole number from 1 to 255"

#endif
