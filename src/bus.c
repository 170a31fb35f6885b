#include "bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void bus_init(struct bus *b)
{
	memset(b, 0, sizeof(*b));
}

void bus_free(struct bus *b)
{
	free(b->ranges);
	memset(b, 0, sizeof(*b));
}

int bus_register(struct bus *b, uint64_t base, uint64_t len, bus_handler_fn fn,
		 void *opaque, const char *name)
{
	size_t i;

	if (!len || !fn || base + len - 1 < base)
		return -EINVAL;
	for (i = 0; i < b->nr; i++) {
		const struct bus_range *r = &b->ranges[i];

		if (base <= r->base + r->len - 1 && r->base <= base + len - 1)
			return -EEXIST;
		if (r->base > base)
			break;
	}
	if (b->nr == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8;
		struct bus_range *n = realloc(b->ranges, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		b->ranges = n;
		b->cap = cap;
	}
	memmove(&b->ranges[i + 1], &b->ranges[i],
		(b->nr - i) * sizeof(b->ranges[0]));
	b->ranges[i] = (struct bus_range){ base, len, fn, opaque, name };
	b->nr++;
	return 0;
}

const struct bus_range *bus_find(const struct bus *b, uint64_t addr)
{
	size_t lo = 0, hi = b->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &b->ranges[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

int bus_dispatch(const struct bus *b, uint64_t addr, uint8_t *data,
		 uint32_t len, bool is_write)
{
	const struct bus_range *r = bus_find(b, addr);
	uint64_t off;

	if (!r)
		goto unhandled;
	off = addr - r->base;
	if (len == 0 || len > 8 || len > r->len - off) {
		if (!is_write)
			memset(data, 0xff, len > 8 ? 8 : len);
		return -EINVAL;
	}
	r->fn(r->opaque, off, data, len, is_write);
	return 0;

unhandled:
	if (!is_write)
		memset(data, 0xff, len > 8 ? 8 : len);
	return -ENOENT;
}
