/*
 * Guest memory for snapshots (src/guest_mem.c): RAM mapped privately from
 * a memory file (the guest's writes never reach it, a discard brings the
 * file's contents back), mapped in place over RAM of either backing
 * (anonymous with THP, hugetlb), left out of a fork like any guest RAM,
 * and saved sparsely from anonymous memory or a file mapping.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_mem.h"
#include "unit.h"
#include "x86_layout.h"

#define RAM MiB(16)
#define OFF 4096ULL
#define PG 4096ULL

static char path[64];

/* A memory file: OFF bytes of header, then RAM with a byte in some pages
 * (page p holds p & 0xff at its start when p % 7 == 0), the rest holes. */
static int make_file(void)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/kvmlite-gmem-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)(OFF + RAM)), 0);
	for (uint64_t p = 0; p < RAM / PG; p += 7) {
		uint8_t v = (uint8_t)(p | 1);

		ck_assert_int_eq(pwrite(fd, &v, 1, (off_t)(OFF + p * PG)), 1);
	}
	return fd;
}

static uint8_t file_byte(uint64_t p)
{
	return p % 7 ? 0 : (uint8_t)(p | 1);
}

static void check_ram_is_file(const struct guest_mem *m)
{
	for (uint64_t p = 0; p < RAM / PG; p++)
		if (m->base[p * PG] != file_byte(p))
			ck_abort_msg("page %llu: 0x%02x", (unsigned long long)p,
				     m->base[p * PG]);
}

START_TEST(file_ram_private_and_discard)
{
	struct guest_mem m;
	uint8_t v;
	int fd = make_file();

	ck_assert_int_eq(guest_mem_init_file(&m, RAM, fd, OFF), 0);
	ck_assert_int_eq(m.nr_regions, 1);
	ck_assert(m.file_backed);
	check_ram_is_file(&m);
	/* The guest's writes stay in this process. */
	ck_assert_int_eq(gmem_fill(&m, 0, 0xee, 3 * PG), 0);
	ck_assert_int_eq(pread(fd, &v, 1, OFF), 1);
	ck_assert_uint_eq(v, file_byte(0));
	ck_assert_int_eq(guest_mem_discard_private(&m), 0);
	check_ram_is_file(&m);
	guest_mem_free(&m);
	/* Misaligned offsets and sizes refuse; RAM not file-backed has no
	 * private copies to discard. */
	ck_assert_int_eq(guest_mem_init_file(&m, RAM, fd, 100), -EINVAL);
	ck_assert_int_eq(guest_mem_init_file(&m, RAM + 1, fd, OFF), -EINVAL);
	ck_assert_int_eq(guest_mem_init(&m, RAM), 0);
	ck_assert_int_eq(guest_mem_discard_private(&m), -EINVAL);
	guest_mem_free(&m);
	close(fd);
	unlink(path);
}
END_TEST

/* In a child of fork(), is the page at @addr mapped? (madvise says
 * ENOMEM for an unmapped range.) */
static bool mapped_in_child(void *addr)
{
	int status = -1;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(madvise(addr, PG, MADV_NORMAL) == 0 ? 1 : 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status) == 1;
}

/* A reset in place over the default backing (private anonymous, THP
 * advised): the same addresses, the file's bytes, and still no copy of
 * RAM in a fork (MAP_FIXED drops the old mapping's MADV_DONTFORK). */
START_TEST(map_file_over_anonymous_ram)
{
	struct guest_mem m;
	uint8_t *base;
	int fd = make_file();

	ck_assert_int_eq(guest_mem_init(&m, RAM), 0);
	ck_assert_int_eq(m.backing, GMEM_ANON);
	ck_assert_int_eq(m.memfd, -1);
	base = m.base;
	ck_assert_int_eq(gmem_fill(&m, 0, 0x5a, RAM), 0);
	ck_assert(!mapped_in_child(base));
	ck_assert_int_eq(guest_mem_map_file(&m, fd, OFF), 0);
	ck_assert_ptr_eq(m.base, base);
	ck_assert_ptr_eq(m.regions[0].hva, base);
	ck_assert(m.file_backed);
	check_ram_is_file(&m);
	ck_assert(!mapped_in_child(base));
	close(fd); /* RAM keeps its own */
	ck_assert_int_eq(gmem_fill(&m, PG, 0x77, PG), 0);
	ck_assert_int_eq(guest_mem_discard_private(&m), 0);
	check_ram_is_file(&m);
	/* A second reset maps the file again over the file. */
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(gmem_fill(&m, 2 * PG, 0x66, PG), 0);
	ck_assert_int_eq(guest_mem_map_file(&m, fd, OFF), 0);
	check_ram_is_file(&m);
	ck_assert(!mapped_in_child(base));
	close(fd);
	guest_mem_free(&m);
	unlink(path);
}
END_TEST

/* A restore's RAM (the memory file mapped privately) is left out of a
 * fork too. */
START_TEST(file_ram_left_out_of_fork)
{
	struct guest_mem m;
	int fd = make_file();

	ck_assert_int_eq(guest_mem_init_file(&m, RAM, fd, OFF), 0);
	ck_assert_int_eq(gmem_fill(&m, 0, 1, PG), 0);
	ck_assert(!mapped_in_child(m.base));
	guest_mem_free(&m);
	close(fd);
	unlink(path);
}
END_TEST

/* hugetlb RAM (2 MiB pages, 2 MiB aligned) taken over by the file. Needs
 * 8 free pages in the host's pool; says so when it has not. */
START_TEST(map_file_over_hugetlb_ram)
{
	struct guest_mem m;
	int fd, ret = guest_mem_init_backed(&m, RAM, GMEM_HUGETLB);

	if (ret == -ENOSPC) {
		fprintf(stderr, "NOTE: no free huge pages (HugePages_Free "
				"< 8): a reset over hugetlb RAM not checked\n");
		return;
	}
	ck_assert_int_eq(ret, 0);
	fd = make_file();
	ck_assert_int_eq(gmem_fill(&m, 0, 0x5a, RAM), 0);
	ck_assert_int_eq(guest_mem_map_file(&m, fd, OFF), 0);
	check_ram_is_file(&m);
	ck_assert_int_eq(gmem_fill(&m, PG, 0x77, PG), 0);
	ck_assert_int_eq(guest_mem_discard_private(&m), 0);
	check_ram_is_file(&m);
	ck_assert(!mapped_in_child(m.base));
	guest_mem_free(&m);
	close(fd);
	unlink(path);
}
END_TEST

/* Save @m into a new file; the caller checks it and closes it. */
static int save(const struct guest_mem *m, bool pagemap)
{
	char out[64];
	int fd, pm = pagemap ? open("/proc/self/pagemap", O_RDONLY) : -1;

	snprintf(out, sizeof(out), "/tmp/kvmlite-gmem-out-XXXXXX");
	fd = mkstemp(out);
	ck_assert_int_ge(fd, 0);
	unlink(out);
	ck_assert_int_eq(guest_mem_save(m, fd, OFF, pm, NULL), 0);
	if (pm >= 0)
		close(pm);
	ck_assert_int_eq(lseek(fd, 0, SEEK_END), (off_t)(OFF + RAM));
	return fd;
}

/* The saved file holds @m's bytes; a page of zeros is no data (where the
 * file system tells holes apart). */
static void check_saved(const struct guest_mem *m, int fd)
{
	uint8_t *buf = malloc(PG);
	off_t data;

	for (uint64_t p = 0; p < RAM / PG; p++) {
		ck_assert_int_eq(pread(fd, buf, PG, (off_t)(OFF + p * PG)),
				 (ssize_t)PG);
		if (memcmp(buf, m->base + p * PG, PG))
			ck_abort_msg("page %llu differs",
				     (unsigned long long)p);
	}
	data = lseek(fd, (off_t)OFF, SEEK_DATA);
	if (data >= 0 && m->base[0] == 0 && m->base[PG] == 0)
		ck_assert_int_ge(data, (off_t)(OFF + 2 * PG));
	free(buf);
}

/* Save @m (through pagemap or not) into a new file and check that file. */
static void save_and_check(const struct guest_mem *m, bool pagemap)
{
	int fd = save(m, pagemap);

	check_saved(m, fd);
	close(fd);
}

/* The default backing (anonymous, THP advised: a touched 2 MiB page is
 * present in every 4 KiB of it), with pagemap and without. */
START_TEST(save_default_ram)
{
	struct guest_mem m;

	ck_assert_int_eq(guest_mem_init(&m, RAM), 0);
	ck_assert_int_eq(gmem_fill(&m, 5 * PG + 3, 0xab, 10), 0);
	ck_assert_int_eq(gmem_fill(&m, MiB(4) + 17, 0xef, 1), 0);
	ck_assert_int_eq(gmem_fill(&m, RAM - 1, 0xcd, 1), 0);
	/* Touched, but zero: a hole in the file. */
	ck_assert_int_eq(gmem_fill(&m, 0, 0, 2 * PG), 0);
	save_and_check(&m, true);
	save_and_check(&m, false);
	guest_mem_free(&m);
}
END_TEST

/* A snapshot of a VM reset in place: anonymous RAM replaced by a file
 * mapping, then written: the file's pages and the new ones saved. */
START_TEST(save_after_map_file)
{
	struct guest_mem m;
	int src = make_file();

	ck_assert_int_eq(guest_mem_init(&m, RAM), 0);
	ck_assert_int_eq(gmem_fill(&m, 0, 0x5a, RAM), 0);
	ck_assert_int_eq(guest_mem_map_file(&m, src, OFF), 0);
	ck_assert_int_eq(gmem_fill(&m, 3 * PG + 9, 0x33, 4), 0);
	ck_assert_int_eq(gmem_fill(&m, 14 * PG, 0, 1), 0);
	save_and_check(&m, true);
	guest_mem_free(&m);
	close(src);
	unlink(path);
}
END_TEST

START_TEST(save_file_ram)
{
	struct guest_mem m;
	int src = make_file();

	ck_assert_int_eq(guest_mem_init_file(&m, RAM, src, OFF), 0);
	/* A page written where the file has a hole, one where it has data,
	 * one where it has data written back to zero. */
	ck_assert_int_eq(gmem_fill(&m, 3 * PG + 9, 0x33, 4), 0);
	ck_assert_int_eq(gmem_fill(&m, 14 * PG + 1, 0x44, 4), 0);
	ck_assert_int_eq(gmem_fill(&m, 21 * PG, 0, 1), 0);
	save_and_check(&m, true);
	/* Without pagemap every page is looked at: the same bytes. */
	save_and_check(&m, false);
	guest_mem_free(&m);
	close(src);
	unlink(path);
}
END_TEST

START_TEST(save_anonymous_ram)
{
	/* As guest_mem_init() lays out private anonymous RAM. */
	struct guest_mem m = { .memfd = -1, .size = RAM, .nr_regions = 1 };

	m.base = mmap(NULL, RAM, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(m.base, MAP_FAILED);
	m.regions[0] = (struct guest_region){ 0, RAM, m.base };
	ck_assert_int_eq(gmem_fill(&m, 7 * PG, 0x99, PG), 0);
	ck_assert_int_eq(gmem_fill(&m, RAM - PG, 0x98, 1), 0);
	save_and_check(&m, true);
	munmap(m.base, RAM);
}
END_TEST

START_TEST(save_stops)
{
	struct guest_mem m;
	volatile int stop = 1;
	int fd;

	ck_assert_int_eq(guest_mem_init(&m, RAM), 0);
	ck_assert_int_eq(gmem_fill(&m, 0, 1, RAM), 0);
	fd = open("/dev/null", O_WRONLY);
	ck_assert_int_eq(guest_mem_save(&m, fd, OFF, -1, &stop), -EINVAL);
	close(fd);
	snprintf(path, sizeof(path), "/tmp/kvmlite-gmem-XXXXXX");
	fd = mkstemp(path);
	unlink(path);
	ck_assert_int_eq(guest_mem_save(&m, fd, OFF, -1, &stop), -ECANCELED);
	close(fd);
	guest_mem_free(&m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("guest_mem_snapshot");
	TCase *tc = tcase_create("snapshot");

	tcase_add_test(tc, file_ram_private_and_discard);
	tcase_add_test(tc, map_file_over_anonymous_ram);
	tcase_add_test(tc, file_ram_left_out_of_fork);
	tcase_add_test(tc, map_file_over_hugetlb_ram);
	tcase_add_test(tc, save_default_ram);
	tcase_add_test(tc, save_after_map_file);
	tcase_add_test(tc, save_file_ram);
	tcase_add_test(tc, save_anonymous_ram);
	tcase_add_test(tc, save_stops);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
