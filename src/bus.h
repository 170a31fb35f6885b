/* PIO and MMIO buses: range registration and dispatch. */
#ifndef KVMLITE_BUS_H
#define KVMLITE_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A device access. @offset is relative to the registered base. @data holds
 * @len bytes (1, 2, 4 or 8) in guest (little-endian) byte order: the handler
 * fills it on reads and consumes it on writes.
 */
typedef void (*bus_handler_fn)(void *opaque, uint64_t offset, uint8_t *data,
			       uint32_t len, bool is_write);

struct bus_range {
	uint64_t base;
	uint64_t len;
	bus_handler_fn fn;
	void *opaque;
	const char *name;
};

/*
 * Ranges are registered before vCPUs run; dispatch is then lock-free
 * (devices do their own locking).
 */
struct bus {
	struct bus_range *ranges; /* sorted by base, non-overlapping */
	size_t nr;
	size_t cap;
};

void bus_init(struct bus *b);
void bus_free(struct bus *b);
/* -EINVAL for an empty or wrapping range, -EEXIST on overlap. */
int bus_register(struct bus *b, uint64_t base, uint64_t len, bus_handler_fn fn,
		 void *opaque, const char *name);
const struct bus_range *bus_find(const struct bus *b, uint64_t addr);
/*
 * Route an access. Returns 0 when handled, -ENOENT when no device claims
 * addr (reads then see all-ones), -EINVAL for an access that straddles the
 * end of a range (treated as unhandled too).
 */
int bus_dispatch(const struct bus *b, uint64_t addr, uint8_t *data,
		 uint32_t len, bool is_write);

#endif
