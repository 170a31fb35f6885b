/*
 * Test-exit, boot-timer, snapshot, ACPI sleep and reset control ports. See
 * platform_ports.h.
 */
#include <errno.h>
#include <string.h>

#include "devices/platform_ports.h"
#include "snapfile.h"

static void read_ones(uint8_t *data, uint32_t len, bool is_write)
{
	if (!is_write)
		memset(data, 0xff, len);
}

void test_exit_port_init(struct test_exit_port *t,
			 const struct platform_ops *plat)
{
	memset(t, 0, sizeof(*t));
	t->event = PLATFORM_TEST_EXIT;
	if (plat)
		t->plat = *plat;
}

void test_exit_port_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		       bool is_write)
{
	struct test_exit_port *t = opaque;

	if (!t || !data || !len)
		return;
	read_ones(data, len, is_write);
	if (is_write && len == 1 && off == 0)
		platform_raise(&t->plat, t->event, data[0]);
}

void boot_timer_port_init(struct boot_timer_port *b,
			  const struct platform_ops *plat)
{
	memset(b, 0, sizeof(*b));
	if (plat)
		b->plat = *plat;
}

void boot_timer_port_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
			bool is_write)
{
	struct boot_timer_port *b = opaque;

	(void)off; /* one-byte port */
	if (!b || !data || !len)
		return;
	read_ones(data, len, is_write);
	if (is_write)
		platform_raise(&b->plat, PLATFORM_BOOT_MARK, data[0]);
}

void snapshot_port_init(struct snapshot_port *p,
			const struct platform_ops *plat, bool enabled)
{
	memset(p, 0, sizeof(*p));
	if (plat)
		p->plat = *plat;
	p->enabled = enabled;
	atomic_init(&p->restored, 0);
}

void snapshot_port_set_restored(struct snapshot_port *p)
{
	atomic_store(&p->restored, 1);
}

void snapshot_port_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		      bool is_write)
{
	struct snapshot_port *p = opaque;

	if (!p || !data || !len)
		return;
	if (!is_write) {
		memset(data, 0, len);
		if (off == 0)
			data[0] = atomic_load(&p->restored);
		return;
	}
	if (p->enabled && off == 0)
		platform_raise(&p->plat, PLATFORM_SNAPSHOT, data[0]);
}

void acpi_sleep_port_init(struct acpi_sleep_port *a,
			  const struct platform_ops *plat)
{
	memset(a, 0, sizeof(*a));
	if (plat)
		a->plat = *plat;
	atomic_init(&a->status, 0);
}

/* Returns true when the write requests S5 (soft off). */
static bool sleep_ctl_write(uint8_t v)
{
	unsigned int typ = (v & ACPI_SLP_TYP_MASK) >> ACPI_SLP_TYP_SHIFT;

	/* S1..S4 requests are not supported: ignored, the guest carries on. */
	return (v & ACPI_SLP_EN) && typ == ACPI_SLP_TYP_S5;
}

void acpi_sleep_port_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
			bool is_write)
{
	struct acpi_sleep_port *a = opaque;
	bool poweroff = false;
	uint64_t reg;
	uint32_t i;

	if (!a || !data || !len)
		return;

	for (i = 0; i < len; i++) {
		reg = off + i;
		if (reg < off || reg >= ACPI_SLEEP_NR_REGS) {
			/* Past the registers (or wrapped). */
			if (!is_write)
				data[i] = 0xff;
			continue;
		}
		if (reg == ACPI_SLEEP_CTL_OFF) {
			if (is_write)
				poweroff |= sleep_ctl_write(data[i]);
			else
				data[i] = 0; /* SLP_EN/SLP_TYP are write-only */
		} else {
			if (is_write)
				atomic_fetch_and(&a->status, (uint8_t)~data[i]);
			else
				data[i] = atomic_load(&a->status);
		}
	}

	if (poweroff)
		platform_raise(&a->plat, PLATFORM_POWEROFF, 0);
}

void acpi_sleep_port_save(struct acpi_sleep_port *a, struct snap_writer *w)
{
	snap_put_u8(w, atomic_load(&a->status));
}

int acpi_sleep_port_restore(struct acpi_sleep_port *a, struct snap_reader *r)
{
	uint8_t status = snap_get_u8(r);

	if (snap_reader_done(r))
		return -EINVAL;
	atomic_store(&a->status, status);
	return 0;
}

void reset_ctl_port_init(struct reset_ctl_port *r,
			 const struct platform_ops *plat)
{
	memset(r, 0, sizeof(*r));
	if (plat)
		r->plat = *plat;
	atomic_init(&r->value, 0);
}

void reset_ctl_port_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		       bool is_write)
{
	struct reset_ctl_port *r = opaque;

	if (!r || !data || !len)
		return;
	read_ones(data, len, is_write);
	if (off != 0 || len != 1)
		return;
	if (!is_write) {
		data[0] = atomic_load(&r->value);
		return;
	}
	atomic_store(&r->value, (uint8_t)(data[0] & ~RESET_CTL_RST_CPU));
	if (data[0] & RESET_CTL_RST_CPU)
		platform_raise(&r->plat, PLATFORM_REBOOT, 0);
}
