/* The guest memory map, shared by the zero page (e820) and PVH memmap. */
#include <errno.h>

#include "loader/loader_internal.h"

static int e820_add(struct e820_map *map, uint64_t addr, uint64_t size,
		    uint32_t type)
{
	if (!size)
		return 0;
	if (map->nr >= E820_MAX_ENTRIES)
		return -E2BIG;
	map->e[map->nr++] = (struct boot_e820_entry){ addr, size, type };
	return 0;
}

/* Clip [start, end) to [rstart, rend) and add what is left. */
static int e820_add_clipped(struct e820_map *map, uint64_t start, uint64_t end,
			    uint64_t rstart, uint64_t rend, uint32_t type)
{
	if (start < rstart)
		start = rstart;
	if (end > rend)
		end = rend;
	if (start >= end)
		return 0;
	return e820_add(map, start, end - start, type);
}

int e820_build(const struct guest_mem *m, struct e820_map *map)
{
	int ret = 0;

	map->nr = 0;
	for (int i = 0; i < m->nr_regions && !ret; i++) {
		uint64_t start = m->regions[i].gpa;
		uint64_t end = start + m->regions[i].size;

		if (start != 0) {
			ret = e820_add(map, start, end - start, E820_TYPE_RAM);
			continue;
		}
		/* Low memory: firmware areas are reserved, the VGA/ROM hole
		 * between them is left out. */
		ret = e820_add_clipped(map, 0, LAYOUT_EBDA, start, end,
				       E820_TYPE_RAM);
		if (!ret)
			ret = e820_add_clipped(map, LAYOUT_EBDA,
					       LAYOUT_LOWMEM_END, start, end,
					       E820_TYPE_RESERVED);
		if (!ret)
			ret = e820_add_clipped(map, LAYOUT_ACPI,
					       LAYOUT_ACPI_END, start, end,
					       E820_TYPE_RESERVED);
		if (!ret)
			ret = e820_add_clipped(map, LAYOUT_KERNEL, end, start,
					       end, E820_TYPE_RAM);
	}
	return ret;
}
