/* The coalesced write ring's playback (src/coalesced.c), on a fake ring. */
#include "unit.h"
#include <string.h>
#include <unistd.h>

#include "bus.h"
#include "coalesced.h"

static uint8_t got[4096];
static size_t ngot;
static int calls;

static void record(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		   bool is_write)
{
	(void)opaque;
	ck_assert(is_write);
	ck_assert_uint_eq(off, 0);
	for (uint32_t i = 0; i < len && ngot < sizeof(got); i++)
		got[ngot++] = data[i];
	calls++;
}

static uint8_t *map; /* run page, then the ring's page */
static struct kvm_coalesced_mmio_ring *ring;
static struct coalesced coal;
static struct bus pio, mmio;
static size_t page;

static void setup(void)
{
	page = (size_t)sysconf(_SC_PAGESIZE);
	map = calloc(KVM_COALESCED_MMIO_PAGE_OFFSET + 1, page);
	ck_assert_ptr_nonnull(map);
	ring = (void *)(map + KVM_COALESCED_MMIO_PAGE_OFFSET * page);
	bus_init(&pio);
	bus_init(&mmio);
	ck_assert_int_eq(bus_register(&pio, 0x3f8, 1, record, NULL, "thr"), 0);
	ck_assert_int_eq(bus_register(&mmio, 0x9000000, 1, record, NULL, "thr"),
			 0);
	ck_assert_int_eq(
		coalesced_init(&coal, map,
			       (KVM_COALESCED_MMIO_PAGE_OFFSET + 1) * page,
			       &pio, &mmio),
		0);
	ngot = 0;
	calls = 0;
}

static void teardown(void)
{
	coalesced_free(&coal);
	bus_free(&pio);
	bus_free(&mmio);
	free(map);
}

/* As KVM appends a write. */
static void push(uint64_t addr, uint8_t byte, bool is_pio)
{
	struct kvm_coalesced_mmio *e = &ring->coalesced_mmio[ring->last];

	memset(e, 0, sizeof(*e));
	e->phys_addr = addr;
	e->len = 1;
	e->pio = is_pio;
	e->data[0] = byte;
	ring->last = (ring->last + 1) % coal.max;
}

START_TEST(plays_in_order_across_the_wrap)
{
	ck_assert_uint_eq(coal.max, (page - sizeof(*ring)) /
					    sizeof(struct kvm_coalesced_mmio));
	/* Near the end of the ring, so the writes wrap. */
	ring->first = ring->last = coal.max - 3;
	for (int i = 0; i < 8; i++)
		push(i % 2 ? 0x9000000 : 0x3f8, (uint8_t)('a' + i), i % 2 == 0);
	coalesced_play(&coal);
	ck_assert_uint_eq(ngot, 8);
	ck_assert_mem_eq(got, "abcdefgh", 8);
	ck_assert_uint_eq(ring->first, ring->last);
	ck_assert_uint_eq(coal.played, 8);
	/* Empty: nothing more. */
	coalesced_play(&coal);
	ck_assert_int_eq(calls, 8);
}
END_TEST

START_TEST(bad_entries_and_indexes)
{
	/* A length past the entry's data is skipped, not read. */
	push(0x3f8, 'x', true);
	ring->coalesced_mmio[0].len = 9;
	push(0x3f8, 'y', true);
	coalesced_play(&coal);
	ck_assert_uint_eq(ngot, 1);
	ck_assert_uint_eq(got[0], 'y');
	/* Indexes outside the ring: nothing is read. */
	ring->first = coal.max + 5;
	ring->last = 2;
	coalesced_play(&coal);
	ck_assert_uint_eq(ngot, 1);
}
END_TEST

START_TEST(no_ring_page)
{
	struct coalesced c;

	/* A mapping without the ring's page: nothing to play, no crash. */
	ck_assert_int_eq(coalesced_init(&c, map, page, &pio, &mmio), 0);
	ck_assert_ptr_null(c.ring);
	coalesced_play(&c);
	coalesced_free(&c);
}
END_TEST

static Suite *coalesced_suite(void)
{
	Suite *s = suite_create("coalesced");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, plays_in_order_across_the_wrap);
	tcase_add_test(tc, bad_entries_and_indexes);
	tcase_add_test(tc, no_ring_page);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(coalesced_suite());
}
