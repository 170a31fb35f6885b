/* Guest memory layout and the bounds-checked accessors. */
#include "unit.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_mem.h"
#include "x86_layout.h"

START_TEST(small_guest_one_region)
{
	struct guest_mem m;

	ck_assert_int_eq(guest_mem_init(&m, MiB(64)), 0);
	ck_assert_int_eq(m.nr_regions, 1);
	ck_assert_uint_eq(gmem_low_end(&m), MiB(64));
	ck_assert_ptr_nonnull(gmem_ptr(&m, 0, MiB(64)));
	ck_assert_ptr_null(gmem_ptr(&m, 0, MiB(64) + 1));
	ck_assert_ptr_null(gmem_ptr(&m, MiB(64), 1));
	ck_assert_ptr_nonnull(gmem_ptr(&m, MiB(64) - 1, 1));
	ck_assert_ptr_null(gmem_ptr(&m, MiB(64) - 1, ~0ULL));
	ck_assert_ptr_null(gmem_ptr(&m, ~0ULL, 1));
	guest_mem_free(&m);
}
END_TEST

START_TEST(big_guest_split_around_hole)
{
	struct guest_mem m;
	uint8_t buf[16];

	ck_assert_int_eq(guest_mem_init(&m, GiB(4)), 0);
	ck_assert_int_eq(m.nr_regions, 2);
	ck_assert_uint_eq(gmem_low_end(&m), LAYOUT_MMIO_HOLE);
	ck_assert_uint_eq(m.regions[1].gpa, GiB(4));
	ck_assert_uint_eq(m.regions[1].size, GiB(1));
	/* The hole is not RAM. */
	ck_assert_ptr_null(gmem_ptr(&m, LAYOUT_MMIO_HOLE, 1));
	ck_assert_ptr_null(gmem_ptr(&m, LAYOUT_IOAPIC, 4));
	ck_assert_int_eq(gmem_read(&m, LAYOUT_MMIO_HOLE - 8, buf, 16), -EFAULT);
	ck_assert_ptr_nonnull(gmem_ptr(&m, GiB(5) - 4, 4));
	ck_assert_ptr_null(gmem_ptr(&m, GiB(5) - 4, 5));
	/* Both regions are one mapping, low part first. */
	ck_assert_ptr_eq(gmem_ptr(&m, GiB(4), 1), m.base + LAYOUT_MMIO_HOLE);
	guest_mem_free(&m);
}
END_TEST

START_TEST(read_write_fill)
{
	struct guest_mem m;
	uint8_t in[32], out[32];

	ck_assert_int_eq(guest_mem_init(&m, MiB(16)), 0);
	for (int i = 0; i < 32; i++)
		in[i] = (uint8_t)i;
	ck_assert_int_eq(gmem_write(&m, 0x1000, in, sizeof(in)), 0);
	ck_assert_int_eq(gmem_read(&m, 0x1000, out, sizeof(out)), 0);
	ck_assert_mem_eq(in, out, sizeof(in));
	ck_assert_int_eq(gmem_fill(&m, 0x1004, 0xee, 4), 0);
	ck_assert_int_eq(gmem_read(&m, 0x1000, out, 12), 0);
	ck_assert_uint_eq(out[3], 3);
	ck_assert_uint_eq(out[4], 0xee);
	ck_assert_uint_eq(out[7], 0xee);
	ck_assert_uint_eq(out[8], 8);
	/* A failing write changes nothing, even the part that was RAM. */
	memset(in, 0x77, sizeof(in));
	ck_assert_int_eq(gmem_write(&m, MiB(16) - 16, in, 32), -EFAULT);
	ck_assert_int_eq(gmem_read(&m, MiB(16) - 16, out, 16), 0);
	ck_assert_uint_eq(out[0], 0);
	ck_assert_int_eq(gmem_write(&m, ~0ULL - 3, in, 8), -EFAULT);
	ck_assert_int_eq(gmem_read(&m, MiB(16), out, 0), 0);
	guest_mem_free(&m);
}
END_TEST

START_TEST(bad_sizes_refused)
{
	struct guest_mem m;

	ck_assert_int_eq(guest_mem_init(&m, 0), -EINVAL);
	ck_assert_int_eq(guest_mem_init(&m, MiB(16) + 1), -EINVAL);
	ck_assert_int_eq(guest_mem_init(&m, GiB(2048)), -EINVAL);
}
END_TEST

/* A field of the /proc/self/smaps entry of the mapping at @addr, -1 if
 * not found. */
static long smaps_field(const void *addr, const char *name)
{
	char line[256], start[32];
	bool in = false;
	long v = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	ck_assert_ptr_nonnull(f);
	snprintf(start, sizeof(start), "%lx-", (unsigned long)addr);
	while (fgets(line, sizeof(line), f)) {
		if (strchr(line, '-') &&
		    strchr(line, '-') < strchr(line, ' ')) {
			if (in)
				break;
			in = !strncmp(line, start, strlen(start));
			continue;
		}
		if (in && !strncmp(line, name, strlen(name)) &&
		    line[strlen(name)] == ':') {
			v = strtol(line + strlen(name) + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* The host's THP mode: "[never]" selected in enabled? */
static bool thp_never(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

	if (!f)
		return true;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return strstr(buf, "[never]") != NULL;
}

/* The default backing is private anonymous memory, 2 MiB aligned and
 * eligible for transparent huge pages with the host's default settings
 * (shared memory would need shmem_enabled = advise). */
START_TEST(default_backing_gets_huge_pages)
{
	struct guest_mem m;

	ck_assert_int_eq(guest_mem_init(&m, MiB(64)), 0);
	ck_assert_int_eq(m.backing, GMEM_ANON);
	ck_assert_int_eq(m.memfd, -1);
	ck_assert_uint_eq((uintptr_t)m.base % MiB(2), 0);
	ck_assert_int_eq(gmem_fill(&m, 0, 0x5a, MiB(8)), 0);
	/* Not shared memory: no Shmem-backed RSS. */
	ck_assert_int_eq(smaps_field(m.base, "Rss") > 0, 1);
	if (thp_never()) {
		fprintf(stderr, "NOTE: THP is off on this host (enabled = "
				"never): eligibility not checked\n");
	} else {
		ck_assert_int_eq(smaps_field(m.base, "THPeligible"), 1);
	}
	guest_mem_free(&m);
}
END_TEST

/* A fork (a test rig running a helper) leaves guest RAM to the parent: the
 * child has no mapping there, so no copy-on-write for the guest. */
START_TEST(fork_leaves_ram_out)
{
	struct guest_mem m;
	int status = -1;
	pid_t pid;

	ck_assert_int_eq(guest_mem_init(&m, MiB(16)), 0);
	ck_assert_int_eq(gmem_fill(&m, 0, 1, MiB(1)), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(smaps_field(m.base, "Rss") == -1 ? 0 : 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	guest_mem_free(&m);
}
END_TEST

/* hugetlb: a size of whole 2 MiB pages, from the host's pool, reserved at
 * once: a pool too small for it is -ENOSPC now, not a SIGBUS later. */
START_TEST(hugetlb_backing)
{
	struct guest_mem m;
	long free_pages = -1;
	char line[128];
	FILE *f = fopen("/proc/meminfo", "r");
	int ret;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "HugePages_Free: %ld", &free_pages) == 1)
			break;
	fclose(f);
	ck_assert_int_eq(
		guest_mem_init_backed(&m, MiB(16) + KiB(4), GMEM_HUGETLB),
		-EINVAL);
	ret = guest_mem_init_backed(&m, MiB(16), GMEM_HUGETLB);
	if (free_pages < 8) {
		ck_assert_int_eq(ret, -ENOSPC);
		ck_assert_ptr_null(m.base);
		return;
	}
	ck_assert_int_eq(ret, 0);
	ck_assert_int_eq(m.backing, GMEM_HUGETLB);
	ck_assert_int_eq(gmem_fill(&m, 0, 1, MiB(16)), 0);
	ck_assert_int_eq(smaps_field(m.base, "KernelPageSize"), 2048);
	guest_mem_free(&m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("guest_mem");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, small_guest_one_region);
	tcase_add_test(tc, big_guest_split_around_hole);
	tcase_add_test(tc, read_write_fill);
	tcase_add_test(tc, bad_sizes_refused);
	tcase_add_test(tc, default_backing_gets_huge_pages);
	tcase_add_test(tc, hugetlb_backing);
	tcase_add_test(tc, fork_leaves_ram_out);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
