/* Unit tests for split virtqueues: crafted, often hostile, rings. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "guest_mem.h"
#include "x86_layout.h"
#include "unit.h"
#include "virtio/virtq.h"

#define QSIZE 8
#define DESC_GPA 0x10000ULL
#define AVAIL_GPA 0x20000ULL
#define USED_GPA 0x30000ULL
#define TABLE_GPA 0x40000ULL /* indirect tables */
#define BUF_GPA 0x100000ULL

static struct guest_mem mem;
static struct virtq q;
static struct virtq_chain chain;
static uint16_t drv_avail; /* the driver's avail idx */

static void setup_size(uint16_t size)
{
	ck_assert_int_eq(guest_mem_init(&mem, MiB(16)), 0);
	virtq_reset(&q);
	q.size = size;
	q.desc_gpa = DESC_GPA;
	q.avail_gpa = AVAIL_GPA;
	q.used_gpa = USED_GPA;
	ck_assert_int_eq(virtq_validate_layout(&q, &mem), 0);
	drv_avail = 0;
}

static void setup(void)
{
	setup_size(QSIZE);
}

static void teardown(void)
{
	guest_mem_free(&mem);
}

static void put_desc(uint64_t table, uint16_t i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	struct virtq_desc d = { addr, len, flags, next };

	ck_assert_int_eq(gmem_write(&mem, table + 16ULL * i, &d, sizeof(d)), 0);
}

static void desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	put_desc(DESC_GPA, i, addr, len, flags, next);
}

static void set_avail_idx(uint16_t idx)
{
	ck_assert_int_eq(gmem_write(&mem, AVAIL_GPA + 2, &idx, 2), 0);
}

/* Offer chain @head, the way a driver does. */
static void offer(uint16_t head)
{
	ck_assert_int_eq(gmem_write(&mem,
				    AVAIL_GPA + 4 + 2 * (drv_avail % q.size),
				    &head, 2),
			 0);
	drv_avail++;
	set_avail_idx(drv_avail);
}

static uint16_t rd16(uint64_t gpa)
{
	uint16_t v;

	ck_assert_int_eq(gmem_read(&mem, gpa, &v, 2), 0);
	return v;
}

static uint32_t rd32(uint64_t gpa)
{
	uint32_t v;

	ck_assert_int_eq(gmem_read(&mem, gpa, &v, 4), 0);
	return v;
}

static void wr16(uint64_t gpa, uint16_t v)
{
	ck_assert_int_eq(gmem_write(&mem, gpa, &v, 2), 0);
}

START_TEST(layout_checks)
{
	struct virtq t;

	virtq_reset(&t);
	t.desc_gpa = DESC_GPA;
	t.avail_gpa = AVAIL_GPA;
	t.used_gpa = USED_GPA;
	t.size = 0;
	ck_assert_int_eq(virtq_validate_layout(&t, &mem), -EINVAL);
	t.size = 12; /* not a power of two */
	ck_assert_int_eq(virtq_validate_layout(&t, &mem), -EINVAL);
	t.size = 2 * VIRTQ_MAX_SIZE;
	ck_assert_int_eq(virtq_validate_layout(&t, &mem), -EINVAL);
	t.size = VIRTQ_MAX_SIZE;
	ck_assert_int_eq(virtq_validate_layout(&t, &mem), 0);
	ck_assert(t.ready);

	t.desc_gpa = DESC_GPA + 8; /* misaligned */
	ck_assert_int_eq(virtq_validate_layout(&t, &mem), -EINVAL);
	ck_assert(!t.ready);
	t.desc_gpa = DESC_GPA;
	t.avail_gpa = AVAIL_GPA + 1;
	ck_assert_int_eq(virtq_validate_layout(&t, &mem), -EINVAL);
	t.avail_gpa = AVAIL_GPA;
	t.used_gpa = USED_GPA + 2;
	ck_assert_int_eq(virtq_validate_layout(&t, &mem), -EINVAL);
	/* Outside RAM, and straddling its end. */
	t.used_gpa = LAYOUT_VIRTIO_MMIO;
	ck_assert_int_eq(virtq_validate_layout(&t, &mem), -EFAULT);
	t.used_gpa = MiB(16) - 64;
	ck_assert_int_eq(virtq_validate_layout(&t, &mem), -EFAULT);
	t.used_gpa = USED_GPA;
	t.desc_gpa = MiB(16) - 16;
	ck_assert_int_eq(virtq_validate_layout(&t, &mem), -EFAULT);
	t.desc_gpa = 0xfffffffffffffff0ULL;
	ck_assert_int_eq(virtq_validate_layout(&t, &mem), -EFAULT);
	ck_assert(!t.ready);
}
END_TEST

START_TEST(simple_chain)
{
	struct virtq_used_elem e;

	desc(0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 3);
	desc(3, BUF_GPA + 0x1000, 512, VIRTQ_DESC_F_NEXT, 5);
	desc(5, BUF_GPA + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 0); /* empty */
	offer(0);
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);
	ck_assert_uint_eq(chain.head, 0);
	ck_assert_uint_eq(chain.nr_out, 2);
	ck_assert_uint_eq(chain.nr_in, 1);
	ck_assert_uint_eq(chain.out_len, 528);
	ck_assert_uint_eq(chain.in_len, 1);
	ck_assert_ptr_eq(chain.iov[0].iov_base, gmem_ptr(&mem, BUF_GPA, 16));
	ck_assert_uint_eq(chain.iov[0].iov_len, 16);
	ck_assert_ptr_eq(chain.iov[1].iov_base,
			 gmem_ptr(&mem, BUF_GPA + 0x1000, 512));
	ck_assert_ptr_eq(chain.iov[2].iov_base,
			 gmem_ptr(&mem, BUF_GPA + 0x2000, 1));
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 0);

	ck_assert_int_eq(virtq_push(&q, 0, 77), 0);
	ck_assert_uint_eq(rd16(USED_GPA + 2), 1);
	ck_assert_int_eq(gmem_read(&mem, USED_GPA + 4, &e, sizeof(e)), 0);
	ck_assert_uint_eq(e.id, 0);
	ck_assert_uint_eq(e.len, 77);
	ck_assert_int_eq(virtq_push(&q, QSIZE, 0), -EINVAL);
}
END_TEST

START_TEST(zero_length_descriptors)
{
	/* Empty buffers are skipped, wherever they claim to be. */
	desc(1, 0xdead00000000ULL, 0, VIRTQ_DESC_F_NEXT, 2);
	desc(2, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 4);
	desc(4, 0xffffffffffffffffULL, 0, VIRTQ_DESC_F_WRITE, 0);
	offer(1);
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);
	ck_assert_uint_eq(chain.nr_out, 1);
	ck_assert_uint_eq(chain.nr_in, 0);
	ck_assert_uint_eq(chain.out_len, 16);
}
END_TEST

START_TEST(indirect_chain)
{
	put_desc(TABLE_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 2);
	put_desc(TABLE_GPA, 2, BUF_GPA + 0x100, 4096,
		 VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	put_desc(TABLE_GPA, 1, BUF_GPA + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	/* The WRITE flag of the referring descriptor is ignored. */
	desc(6, TABLE_GPA, 3 * 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE,
	     0);
	offer(6);
	/* Not negotiated: malformed. */
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), -EINVAL);
	q.indirect = true;
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);
	ck_assert_uint_eq(chain.head, 6);
	ck_assert_uint_eq(chain.nr_out, 1);
	ck_assert_uint_eq(chain.nr_in, 2);
	ck_assert_uint_eq(chain.out_len, 16);
	ck_assert_uint_eq(chain.in_len, 4097);
	ck_assert_ptr_eq(chain.iov[1].iov_base,
			 gmem_ptr(&mem, BUF_GPA + 0x100, 1));
}
END_TEST

/* Offer @head once and expect virtq_pop to fail with @err, consuming
 * nothing. */
static void expect_malformed(uint16_t head, int err)
{
	uint16_t before = q.last_avail_idx;

	offer(head);
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), err);
	ck_assert_uint_eq(q.last_avail_idx, before);
}

START_TEST(loops)
{
	desc(0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(1, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 0); /* a -> b -> a */
	expect_malformed(0, -EINVAL);
}
END_TEST

START_TEST(self_loop)
{
	desc(2, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 2);
	expect_malformed(2, -EINVAL);
}
END_TEST

START_TEST(zero_length_loop)
{
	/* Empty buffers add no iovec: only the length bound stops this. */
	desc(0, BUF_GPA, 0, VIRTQ_DESC_F_NEXT, 1);
	desc(1, BUF_GPA, 0, VIRTQ_DESC_F_NEXT, 0);
	expect_malformed(0, -EINVAL);
	desc(0, BUF_GPA, 16, 0, 0); /* fixed: consume it */
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);
	q.indirect = true;
	put_desc(TABLE_GPA, 0, 0, 0, VIRTQ_DESC_F_NEXT, 0);
	desc(2, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(2);
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), -EINVAL);
}
END_TEST

START_TEST(long_chain_through_whole_table)
{
	/* Every descriptor once is fine; the last pointing back is not. */
	for (uint16_t i = 0; i < QSIZE; i++)
		desc(i, BUF_GPA, 1, VIRTQ_DESC_F_NEXT, (i + 1) % QSIZE);
	desc(QSIZE - 1, BUF_GPA, 1, 0, 0);
	offer(0);
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);
	ck_assert_uint_eq(chain.nr_out, QSIZE);
	desc(QSIZE - 1, BUF_GPA, 1, VIRTQ_DESC_F_NEXT, 0);
	expect_malformed(0, -EINVAL);
}
END_TEST

START_TEST(next_out_of_range)
{
	desc(0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, QSIZE);
	expect_malformed(0, -EINVAL);
}
END_TEST

START_TEST(head_out_of_range)
{
	expect_malformed(QSIZE, -EINVAL);
}
END_TEST

START_TEST(bad_addresses)
{
	/* Not RAM. */
	desc(0, LAYOUT_VIRTIO_MMIO, 16, 0, 0);
	expect_malformed(0, -EFAULT);
}
END_TEST

START_TEST(straddles_ram_end)
{
	desc(0, MiB(16) - 8, 16, 0, 0);
	expect_malformed(0, -EFAULT);
}
END_TEST

START_TEST(addr_len_overflow)
{
	desc(0, 0xfffffffffffffff0ULL, 0x100, 0, 0);
	expect_malformed(0, -EFAULT);
}
END_TEST

START_TEST(huge_length)
{
	desc(0, 0, 0xffffffff, VIRTQ_DESC_F_WRITE, 0);
	expect_malformed(0, -EFAULT);
}
END_TEST

START_TEST(total_length_overflow)
{
	struct virtq big;

	/* 256 descriptors of all 16 MiB of RAM: 4 GiB in total. */
	virtq_reset(&big);
	big.size = 256;
	big.desc_gpa = DESC_GPA;
	big.avail_gpa = AVAIL_GPA;
	big.used_gpa = USED_GPA;
	ck_assert_int_eq(virtq_validate_layout(&big, &mem), 0);
	for (uint16_t i = 0; i < 256; i++)
		desc(i, 0, (uint32_t)MiB(16), i < 255 ? VIRTQ_DESC_F_NEXT : 0,
		     i + 1);
	wr16(AVAIL_GPA + 4, 0);
	set_avail_idx(1);
	ck_assert_int_eq(virtq_pop(&big, &mem, &chain), -EINVAL);
	/* One fewer is 4 GiB - 16 MiB: fine. */
	desc(254, 0, (uint32_t)MiB(16), 0, 0);
	ck_assert_int_eq(virtq_pop(&big, &mem, &chain), 1);
	ck_assert_uint_eq(chain.out_len, 255 * MiB(16));
}
END_TEST

START_TEST(readable_after_writable)
{
	desc(0, BUF_GPA, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	desc(1, BUF_GPA, 16, 0, 0);
	expect_malformed(0, -EINVAL);
}
END_TEST

START_TEST(indirect_in_indirect)
{
	q.indirect = true;
	put_desc(TABLE_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	put_desc(TABLE_GPA, 1, TABLE_GPA + 0x100, 32, VIRTQ_DESC_F_INDIRECT, 0);
	put_desc(TABLE_GPA + 0x100, 0, BUF_GPA, 16, 0, 0);
	desc(0, TABLE_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	expect_malformed(0, -EINVAL);
}
END_TEST

START_TEST(indirect_with_next)
{
	q.indirect = true;
	put_desc(TABLE_GPA, 0, BUF_GPA, 16, 0, 0);
	desc(0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	desc(1, BUF_GPA, 16, 0, 0);
	expect_malformed(0, -EINVAL);
}
END_TEST

START_TEST(indirect_after_direct)
{
	q.indirect = true;
	put_desc(TABLE_GPA, 0, BUF_GPA, 16, 0, 0);
	desc(0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(1, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	expect_malformed(0, -EINVAL);
}
END_TEST

START_TEST(indirect_bad_tables)
{
	q.indirect = true;
	put_desc(TABLE_GPA, 0, BUF_GPA, 16, 0, 0);
	desc(0, TABLE_GPA, 24, VIRTQ_DESC_F_INDIRECT, 0); /* not 16n */
	expect_malformed(0, -EINVAL);
	desc(0, TABLE_GPA, 0, VIRTQ_DESC_F_INDIRECT, 0); /* empty */
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), -EINVAL);
	desc(0, TABLE_GPA, 16 * (QSIZE + 1), VIRTQ_DESC_F_INDIRECT, 0);
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), -EINVAL);
	desc(0, MiB(16) - 16, 32, VIRTQ_DESC_F_INDIRECT, 0); /* past RAM */
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), -EFAULT);
	desc(0, LAYOUT_VIRTIO_MMIO, 16, VIRTQ_DESC_F_INDIRECT, 0);
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), -EFAULT);
	/* Loops and next out of range inside a table. */
	put_desc(TABLE_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	put_desc(TABLE_GPA, 1, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
	desc(0, TABLE_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), -EINVAL);
	put_desc(TABLE_GPA, 1, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 2);
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), -EINVAL);
	/* Fixed, it goes through. */
	put_desc(TABLE_GPA, 1, BUF_GPA, 16, 0, 0);
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);
	ck_assert_uint_eq(chain.nr_out, 2);
}
END_TEST

START_TEST(avail_idx_too_far_ahead)
{
	desc(0, BUF_GPA, 16, 0, 0);
	set_avail_idx(QSIZE + 1);
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), -EINVAL);
	set_avail_idx(0xffff); /* "behind" us */
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), -EINVAL);
	/* Exactly a full ring is fine. */
	for (int i = 0; i < QSIZE; i++)
		offer(0);
	for (int i = 0; i < QSIZE; i++)
		ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 0);
}
END_TEST

START_TEST(index_wrap_around)
{
	uint16_t start = 65530;
	int done = 0;

	q.last_avail_idx = start;
	q.used_idx = start;
	q.signalled_used = start;
	drv_avail = start;
	set_avail_idx(start);
	for (uint16_t i = 0; i < QSIZE; i++)
		desc(i, BUF_GPA + 64 * i, 64, VIRTQ_DESC_F_WRITE, 0);
	while (done < 20) {
		int batch = 5;

		for (int i = 0; i < batch; i++)
			offer((uint16_t)((done + i) % QSIZE));
		for (int i = 0; i < batch; i++) {
			ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);
			ck_assert_uint_eq(chain.head, (done + i) % QSIZE);
			ck_assert_int_eq(virtq_push(&q, chain.head,
						    (uint32_t)(done + i)),
					 0);
		}
		ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 0);
		done += batch;
	}
	ck_assert_uint_eq(q.last_avail_idx, (uint16_t)(start + 20));
	ck_assert_uint_eq(rd16(USED_GPA + 2), (uint16_t)(start + 20));
	for (int i = 0; i < 20; i++) {
		uint16_t slot = (uint16_t)(start + i) % QSIZE;

		/* Each slot was last written by the latest lap. */
		if (i + QSIZE < 20)
			continue;
		ck_assert_uint_eq(rd32(USED_GPA + 4 + 8 * slot), i % QSIZE);
		ck_assert_uint_eq(rd32(USED_GPA + 8 + 8 * slot), i);
	}
}
END_TEST

START_TEST(need_event_formula)
{
	ck_assert(vring_need_event(0, 1, 0));
	ck_assert(!vring_need_event(1, 1, 0));
	ck_assert(vring_need_event(5, 10, 0));
	ck_assert(!vring_need_event(10, 10, 0));
	ck_assert(!vring_need_event(3, 10, 5));
	/* Across the 16-bit wrap. */
	ck_assert(vring_need_event(65535, 2, 65534));
	ck_assert(vring_need_event(0, 2, 65534));
	ck_assert(!vring_need_event(2, 2, 65534));
	ck_assert(!vring_need_event(65533, 2, 65534));
}
END_TEST

START_TEST(event_idx_interrupts)
{
	uint64_t used_event_gpa = AVAIL_GPA + 4 + 2 * QSIZE;
	uint64_t avail_event_gpa = USED_GPA + 4 + 8 * QSIZE;

	q.event_idx = true;
	desc(0, BUF_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
	/* Driver wants an interrupt after the entry at used index 2. */
	wr16(used_event_gpa, 2);
	virtq_push(&q, 0, 1); /* idx 0 */
	virtq_push(&q, 0, 1); /* idx 1 */
	ck_assert(!virtq_needs_interrupt(&q));
	virtq_push(&q, 0, 1); /* idx 2 */
	ck_assert(virtq_needs_interrupt(&q));
	ck_assert(!virtq_needs_interrupt(&q)); /* nothing new */
	virtq_push(&q, 0, 1);
	ck_assert(!virtq_needs_interrupt(&q)); /* event 2 already passed */

	/* Around the wrap. */
	q.used_idx = q.signalled_used = 65534;
	wr16(used_event_gpa, 65535);
	virtq_push(&q, 0, 1);
	virtq_push(&q, 0, 1);
	virtq_push(&q, 0, 1);
	ck_assert_uint_eq(q.used_idx, 1);
	ck_assert(virtq_needs_interrupt(&q));

	/* The notification side: avail_event follows last_avail_idx. */
	q.last_avail_idx = 0x1234;
	drv_avail = 0x1234;
	set_avail_idx(0x1234);
	ck_assert(!virtq_enable_notify(&q));
	ck_assert_uint_eq(rd16(avail_event_gpa), 0x1234);
	offer(0);
	ck_assert(virtq_enable_notify(&q));
}
END_TEST

START_TEST(no_interrupt_flag)
{
	ck_assert(!virtq_needs_interrupt(&q)); /* nothing pushed */
	virtq_push(&q, 0, 0);
	ck_assert(virtq_needs_interrupt(&q));
	wr16(AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT);
	virtq_push(&q, 0, 0);
	ck_assert(!virtq_needs_interrupt(&q));
	wr16(AVAIL_GPA, 0);
	virtq_push(&q, 0, 0);
	ck_assert(virtq_needs_interrupt(&q));

	/* NO_NOTIFY in the used flags while we process. */
	virtq_disable_notify(&q);
	ck_assert_uint_eq(rd16(USED_GPA), VIRTQ_USED_F_NO_NOTIFY);
	ck_assert(!virtq_enable_notify(&q));
	ck_assert_uint_eq(rd16(USED_GPA), 0);
}
END_TEST

START_TEST(not_ready_queue)
{
	struct virtq t;

	virtq_reset(&t);
	ck_assert_int_eq(virtq_pop(&t, &mem, &chain), 0);
	ck_assert_int_eq(virtq_push(&t, 0, 0), -EINVAL);
	ck_assert(!virtq_needs_interrupt(&t));
	ck_assert(!virtq_enable_notify(&t));
	virtq_disable_notify(&t);
}
END_TEST

/* A one-descriptor chain in each of the first @n table entries, buffer i
 * 64 bytes long at BUF_GPA + 0x100 * i. */
static void one_desc_chains(uint16_t n)
{
	for (uint16_t i = 0; i < n; i++)
		desc(i, BUF_GPA + 0x100ULL * i, 64, VIRTQ_DESC_F_WRITE, 0);
}

START_TEST(undo_pop)
{
	one_desc_chains(QSIZE);
	for (uint16_t i = 0; i < 3; i++)
		offer(i);
	ck_assert_int_eq(virtq_undo_pop(&q, 0), 0);
	ck_assert_int_eq(virtq_undo_pop(&q, 1), -EINVAL); /* none popped */
	for (uint16_t i = 0; i < 3; i++)
		ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 0);
	ck_assert_uint_eq(virtq_next_avail(&q), 3);

	/* More than were popped: refused, nothing given back. */
	ck_assert_int_eq(virtq_undo_pop(&q, 4), -EINVAL);
	ck_assert_int_eq(virtq_undo_pop(&q, 0xffffffffU), -EINVAL);
	ck_assert_uint_eq(virtq_next_avail(&q), 3);

	/* The last two back: popped again, and validated again. */
	ck_assert_int_eq(virtq_undo_pop(&q, 2), 0);
	ck_assert_uint_eq(virtq_next_avail(&q), 1);
	desc(1, BUF_GPA + 0x100, 32, VIRTQ_DESC_F_WRITE, 0);
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);
	ck_assert_uint_eq(chain.head, 1);
	ck_assert_uint_eq(chain.in_len, 32);
	desc(2, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, QSIZE); /* now malformed */
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), -EINVAL);
	ck_assert_uint_eq(virtq_next_avail(&q), 2);
	desc(2, BUF_GPA + 0x200, 64, VIRTQ_DESC_F_WRITE, 0);
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);
	ck_assert_uint_eq(chain.head, 2);

	/* Given back and popped again count once: three popped in all. */
	ck_assert_int_eq(virtq_undo_pop(&q, 3), 0);
	ck_assert_uint_eq(virtq_next_avail(&q), 0);
	ck_assert_int_eq(virtq_undo_pop(&q, 1), -EINVAL);
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);
	ck_assert_uint_eq(chain.head, 0);
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);

	/* A push ends what can be given back: none popped before it. */
	ck_assert_int_eq(virtq_push(&q, 0, 0), 0);
	ck_assert_int_eq(virtq_undo_pop(&q, 1), -EINVAL);
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);
	ck_assert_uint_eq(chain.head, 2);
	ck_assert_int_eq(virtq_undo_pop(&q, 2), -EINVAL);
	ck_assert_int_eq(virtq_undo_pop(&q, 1), 0);
	ck_assert_uint_eq(virtq_next_avail(&q), 2);

	/* A queue set up again has popped nothing. */
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);
	ck_assert_int_eq(virtq_validate_layout(&q, &mem), 0);
	ck_assert_int_eq(virtq_undo_pop(&q, 1), -EINVAL);
}
END_TEST

START_TEST(undo_pop_at_most_a_ring)
{
	/* A driver that offers more while we push nothing: only the last
	 * ring's worth can be given back, their avail entries still there. */
	one_desc_chains(QSIZE);
	for (int lap = 0; lap < 2; lap++) {
		for (uint16_t i = 0; i < QSIZE; i++)
			offer((uint16_t)(QSIZE - 1 - i));
		for (uint16_t i = 0; i < QSIZE; i++)
			ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);
	}
	ck_assert_int_eq(virtq_undo_pop(&q, QSIZE + 1), -EINVAL);
	ck_assert_uint_eq(virtq_next_avail(&q), 2 * QSIZE);
	ck_assert_int_eq(virtq_undo_pop(&q, QSIZE), 0);
	ck_assert_uint_eq(virtq_next_avail(&q), QSIZE);
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);
	ck_assert_uint_eq(chain.head, QSIZE - 1);
}
END_TEST

START_TEST(undo_pop_wraps)
{
	q.last_avail_idx = 65534;
	drv_avail = 65534;
	set_avail_idx(65534);
	one_desc_chains(4);
	for (uint16_t i = 0; i < 4; i++)
		offer(i);
	for (uint16_t i = 0; i < 4; i++)
		ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);
	ck_assert_uint_eq(virtq_next_avail(&q), 2);
	ck_assert_int_eq(virtq_undo_pop(&q, 3), 0);
	ck_assert_uint_eq(virtq_next_avail(&q), 65535);
	ck_assert(virtq_avail_pending(&q));
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);
	ck_assert_uint_eq(chain.head, 1);
}
END_TEST

START_TEST(avail_pending)
{
	struct virtq t;

	virtq_reset(&t);
	ck_assert(!virtq_avail_pending(&t)); /* not ready */
	one_desc_chains(2);
	ck_assert(!virtq_avail_pending(&q));
	offer(0);
	offer(1);
	ck_assert(virtq_avail_pending(&q));
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);
	ck_assert(virtq_avail_pending(&q));
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);
	ck_assert(!virtq_avail_pending(&q)); /* all taken */
	ck_assert_int_eq(virtq_undo_pop(&q, 1), 0);
	ck_assert(virtq_avail_pending(&q)); /* one given back */
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);
	ck_assert(!virtq_avail_pending(&q));
	/* A malformed index is something to pop: the pop reports it. */
	set_avail_idx((uint16_t)(drv_avail + QSIZE + 1));
	ck_assert(virtq_avail_pending(&q));
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), -EINVAL);
}
END_TEST

/* Give back every chain of a ring run dry and wait for one more: the plain
 * enable-notify would ask for an index the driver has passed. */
static void run_dry_and_give_back(uint16_t nr)
{
	for (uint16_t i = 0; i < nr; i++)
		offer(i);
	for (uint16_t i = 0; i < nr; i++)
		ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 0);
	ck_assert_int_eq(virtq_undo_pop(&q, nr), 0);
}

START_TEST(enable_notify_at_event_idx)
{
	uint64_t avail_event_gpa = USED_GPA + 4 + 8 * QSIZE;
	uint16_t seen;

	q.event_idx = true;
	one_desc_chains(QSIZE);
	run_dry_and_give_back(3);
	seen = (uint16_t)(virtq_next_avail(&q) + 3);
	ck_assert_uint_eq(seen, drv_avail);
	ck_assert_int_eq(virtq_enable_notify_at(&q, seen), 0);
	ck_assert_uint_eq(rd16(avail_event_gpa), seen);
	/* The driver adding the next buffer must notify us. */
	ck_assert(vring_need_event(rd16(avail_event_gpa),
				   (uint16_t)(drv_avail + 1), drv_avail));
	offer(3);
	ck_assert_int_eq(virtq_enable_notify_at(&q, seen), 1);
	/* The plain one asks for the next chain to pop, passed already. */
	ck_assert(virtq_enable_notify(&q));
	ck_assert_uint_eq(rd16(avail_event_gpa), virtq_next_avail(&q));

	/* Outside [next_avail, next_avail + size]: refused, nothing
	 * written. */
	wr16(avail_event_gpa, 0x5555);
	ck_assert_int_eq(virtq_enable_notify_at(
				 &q, (uint16_t)(virtq_next_avail(&q) - 1)),
			 -EINVAL);
	ck_assert_int_eq(
		virtq_enable_notify_at(
			&q, (uint16_t)(virtq_next_avail(&q) + QSIZE + 1)),
		-EINVAL);
	ck_assert_uint_eq(rd16(avail_event_gpa), 0x5555);
	ck_assert_int_eq(virtq_enable_notify_at(
				 &q, (uint16_t)(virtq_next_avail(&q) + QSIZE)),
			 1);
	ck_assert_uint_eq(rd16(avail_event_gpa),
			  (uint16_t)(virtq_next_avail(&q) + QSIZE));
}
END_TEST

START_TEST(enable_notify_at_wraps)
{
	uint64_t avail_event_gpa = USED_GPA + 4 + 8 * QSIZE;

	q.event_idx = true;
	q.last_avail_idx = 65534;
	drv_avail = 65534;
	set_avail_idx(65534);
	one_desc_chains(QSIZE);
	run_dry_and_give_back(4);
	ck_assert_uint_eq(virtq_next_avail(&q), 65534);
	ck_assert_int_eq(virtq_enable_notify_at(&q, 2), 0);
	ck_assert_uint_eq(rd16(avail_event_gpa), 2);
	ck_assert_int_eq(virtq_enable_notify_at(&q, 65533), -EINVAL);
	offer(4);
	ck_assert_int_eq(virtq_enable_notify_at(&q, 2), 1);
}
END_TEST

START_TEST(enable_notify_at_no_event_idx)
{
	uint64_t avail_event_gpa = USED_GPA + 4 + 8 * QSIZE;
	struct virtq t;
	uint16_t seen;

	one_desc_chains(QSIZE);
	run_dry_and_give_back(2);
	seen = (uint16_t)(virtq_next_avail(&q) + 2);
	virtq_disable_notify(&q);
	ck_assert_uint_eq(rd16(USED_GPA), VIRTQ_USED_F_NO_NOTIFY);
	wr16(avail_event_gpa, 0x5555);
	ck_assert_int_eq(virtq_enable_notify_at(&q, seen), 0);
	ck_assert_uint_eq(rd16(USED_GPA), 0); /* notify every time */
	ck_assert_uint_eq(rd16(avail_event_gpa), 0x5555); /* untouched */
	offer(2);
	ck_assert_int_eq(virtq_enable_notify_at(&q, seen), 1);
	/* A refused index leaves the flags alone too. */
	virtq_disable_notify(&q);
	ck_assert_int_eq(virtq_enable_notify_at(&q, (uint16_t)(seen + QSIZE)),
			 -EINVAL);
	ck_assert_uint_eq(rd16(USED_GPA), VIRTQ_USED_F_NO_NOTIFY);

	virtq_reset(&t);
	ck_assert_int_eq(virtq_enable_notify_at(&t, 0), 0); /* not ready */
	ck_assert_int_eq(virtq_undo_pop(&t, 0), -EINVAL);
}
END_TEST

START_TEST(get_indexes)
{
	struct virtq_indexes ix;
	struct virtq t;

	virtq_reset(&t);
	t.size = 4;
	virtq_get_indexes(&t, &ix);
	ck_assert_uint_eq(ix.size, 4);
	ck_assert(!ix.ready);
	ck_assert(!ix.guest); /* no ring to read */
	ck_assert_uint_eq(ix.avail_idx, 0);

	q.event_idx = true;
	one_desc_chains(3);
	for (uint16_t i = 0; i < 3; i++)
		offer(i);
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);
	ck_assert_int_eq(virtq_push(&q, 0, 1), 0);
	ck_assert(virtq_needs_interrupt(&q));
	ck_assert_int_eq(virtq_push(&q, 1, 1), 0);
	ck_assert_int_eq(virtq_enable_notify_at(&q, 3), 0);
	wr16(AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT);
	wr16(AVAIL_GPA + 4 + 2 * QSIZE, 0x77); /* used_event */
	wr16(USED_GPA, VIRTQ_USED_F_NO_NOTIFY);
	virtq_get_indexes(&q, &ix);
	ck_assert_uint_eq(ix.size, QSIZE);
	ck_assert(ix.ready);
	ck_assert(ix.event_idx);
	ck_assert_uint_eq(ix.last_avail, 2);
	ck_assert_uint_eq(ix.used, 2);
	ck_assert_uint_eq(ix.signalled, 1);
	ck_assert(ix.guest);
	ck_assert_uint_eq(ix.avail_idx, 3);
	ck_assert_uint_eq(ix.avail_flags, VIRTQ_AVAIL_F_NO_INTERRUPT);
	ck_assert_uint_eq(ix.used_event, 0x77);
	ck_assert_uint_eq(ix.used_idx, 2);
	ck_assert_uint_eq(ix.used_flags, VIRTQ_USED_F_NO_NOTIFY);
	ck_assert_uint_eq(ix.avail_event, 3);
	/* Only read: the next pop is where it was. */
	ck_assert_uint_eq(virtq_next_avail(&q), 2);
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);
	ck_assert_uint_eq(chain.head, 2);
}
END_TEST

START_TEST(drop_layout)
{
	struct virtq_indexes ix;

	one_desc_chains(2);
	offer(0);
	offer(1);
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);
	virtq_drop_layout(&q);
	ck_assert(!virtq_is_ready(&q));
	ck_assert_uint_eq(virtq_size(&q), QSIZE);
	ck_assert_uint_eq(q.desc_gpa, DESC_GPA);
	ck_assert_uint_eq(q.avail_gpa, AVAIL_GPA);
	ck_assert_uint_eq(q.used_gpa, USED_GPA);
	ck_assert(!virtq_avail_pending(&q));
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 0);
	ck_assert_int_eq(virtq_push(&q, 0, 0), -EINVAL);
	ck_assert_int_eq(virtq_undo_pop(&q, 1), -EINVAL);
	virtq_get_indexes(&q, &ix);
	ck_assert(!ix.guest);
	/* Set up again, from index 0. */
	ck_assert_int_eq(virtq_validate_layout(&q, &mem), 0);
	ck_assert(virtq_is_ready(&q));
	ck_assert_uint_eq(virtq_next_avail(&q), 0);
	ck_assert_int_eq(virtq_pop(&q, &mem, &chain), 1);
	ck_assert_uint_eq(chain.head, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtq");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, layout_checks);
	tcase_add_test(tc, simple_chain);
	tcase_add_test(tc, zero_length_descriptors);
	tcase_add_test(tc, indirect_chain);
	tcase_add_test(tc, loops);
	tcase_add_test(tc, self_loop);
	tcase_add_test(tc, zero_length_loop);
	tcase_add_test(tc, long_chain_through_whole_table);
	tcase_add_test(tc, next_out_of_range);
	tcase_add_test(tc, head_out_of_range);
	tcase_add_test(tc, bad_addresses);
	tcase_add_test(tc, straddles_ram_end);
	tcase_add_test(tc, addr_len_overflow);
	tcase_add_test(tc, huge_length);
	tcase_add_test(tc, total_length_overflow);
	tcase_add_test(tc, readable_after_writable);
	tcase_add_test(tc, indirect_in_indirect);
	tcase_add_test(tc, indirect_with_next);
	tcase_add_test(tc, indirect_after_direct);
	tcase_add_test(tc, indirect_bad_tables);
	tcase_add_test(tc, avail_idx_too_far_ahead);
	tcase_add_test(tc, index_wrap_around);
	tcase_add_test(tc, need_event_formula);
	tcase_add_test(tc, event_idx_interrupts);
	tcase_add_test(tc, no_interrupt_flag);
	tcase_add_test(tc, not_ready_queue);
	tcase_add_test(tc, undo_pop);
	tcase_add_test(tc, undo_pop_at_most_a_ring);
	tcase_add_test(tc, undo_pop_wraps);
	tcase_add_test(tc, avail_pending);
	tcase_add_test(tc, enable_notify_at_event_idx);
	tcase_add_test(tc, enable_notify_at_wraps);
	tcase_add_test(tc, enable_notify_at_no_event_idx);
	tcase_add_test(tc, get_indexes);
	tcase_add_test(tc, drop_layout);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
