/*
 * ACPI tables for a hardware-reduced platform (no PM timer, no SCI, no
 * legacy fixed hardware): RSDP, XSDT, FADT (with a reset register), MADT
 * and a DSDT with \_S5, the
 * UART, RTC, a GED power button and the virtio-mmio devices.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/platform_ports.h"
#include "loader/loader_internal.h"

#define ACPI_OEM_ID "KVMLTE"
#define ACPI_OEM_TABLE_ID "KVMLITE "
#define ACPI_CREATOR_ID "KVML"

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum;
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP size");

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_header) == 36, "header size");

struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS size");

#define ACPI_GAS_SYSTEM_IO 1
#define ACPI_GAS_ACCESS_BYTE 1

/* FADT revision 6 (ACPI 6.x); only the fields we set are named. */
struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t unused1[109 - 44];
	uint16_t iapc_boot_arch; /* 109 */
	uint8_t reserved1;
	uint32_t flags; /* 112 */
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch; /* 129 */
	uint8_t minor_version;	/* 131 */
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt; /* 140 */
	struct acpi_gas x_unused[8];
	struct acpi_gas sleep_control; /* 244 */
	struct acpi_gas sleep_status;  /* 256 */
	char hypervisor_vendor[8];     /* 268 */
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT size");
_Static_assert(__builtin_offsetof(struct acpi_fadt, flags) == 112, "flags");
_Static_assert(__builtin_offsetof(struct acpi_fadt, x_dsdt) == 140, "x_dsdt");
_Static_assert(__builtin_offsetof(struct acpi_fadt, sleep_control) == 244,
	       "sleep control");

#define FADT_F_PWR_BUTTON (1u << 4) /* no fixed power button */
#define FADT_F_SLP_BUTTON (1u << 5) /* no fixed sleep button */
#define FADT_F_RESET_REG_SUP (1u << 10)
#define FADT_F_HW_REDUCED_ACPI (1u << 20)
#define FADT_BOOT_VGA_NOT_PRESENT (1u << 2)

struct acpi_madt {
	struct acpi_header h;
	uint32_t lapic_address;
	uint32_t flags;
} __attribute__((packed));

struct madt_lapic {
	uint8_t type;
	uint8_t length;
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags;
} __attribute__((packed));

struct madt_ioapic {
	uint8_t type;
	uint8_t length;
	uint8_t ioapic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));

#define MADT_TYPE_LAPIC 0
#define MADT_TYPE_IOAPIC 1
#define MADT_LAPIC_ENABLED 1

uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += b[i];
	return (uint8_t)-sum;
}

static void acpi_header_init(struct acpi_header *h, const char *sig,
			     uint32_t len, uint8_t rev)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = 1;
}

/* Bump allocator over [LAYOUT_ACPI, ACPI_TABLES_END). */
struct acpi_space {
	uint64_t next;
};

static int acpi_put(const struct guest_mem *m, struct acpi_space *s,
		    void *table, size_t len, uint64_t *addr)
{
	struct acpi_header *h = table;

	if (len > ACPI_TABLES_END - s->next)
		return -E2BIG;
	h->checksum = 0;
	h->checksum = acpi_checksum(table, len);
	*addr = s->next;
	s->next = (s->next + len + 15) & ~15ULL;
	return gmem_write(m, *addr, table, len);
}

static int dsdt_build(struct aml_buf *b, const struct boot_mmio_dev *devs,
		      unsigned int nr_devs)
{
	size_t pkg, scope, dev, method;
	char name[5];

	/* S5 for both SLP_TYPa and SLP_TYPb: the guest writes
	 * (ACPI_SLP_TYP_S5 << 2) | SLP_EN to the sleep control register. */
	aml_name_decl(b, "_S5_");
	pkg = aml_package_open(b, 4);
	aml_integer(b, ACPI_SLP_TYP_S5);
	aml_integer(b, 0);
	aml_integer(b, 0);
	aml_integer(b, 0);
	aml_close(b, pkg);

	scope = aml_scope_open(b, "\\_SB_");
	/* COM1: with hardware-reduced ACPI Linux has no legacy IRQs, so the
	 * UART's interrupt only works once described here. */
	dev = aml_device_open(b, "COM1");
	aml_name_decl(b, "_HID");
	aml_eisaid(b, "PNP0501");
	aml_name_decl(b, "_UID");
	aml_integer(b, 0);
	aml_name_decl(b, "_CRS");
	aml_isa_resources(b, PORT_SERIAL0, 8, IRQ_SERIAL0);
	aml_close(b, dev);
	/* The CMOS clock, without its IRQ 8: we raise no RTC interrupts,
	 * and a platform device with one fails to probe here. */
	dev = aml_device_open(b, "RTC_");
	aml_name_decl(b, "_HID");
	aml_eisaid(b, "PNP0B00");
	aml_name_decl(b, "_CRS");
	aml_isa_resources(b, PORT_RTC, 2, -1);
	aml_close(b, dev);
	/* A power button the VMM can press: a hardware-reduced platform has
	 * no fixed one, so a Generic Event Device turns an interrupt into
	 * Notify(PWRB, 0x80), which the guest's ACPI button driver reports
	 * as KEY_POWER. */
	dev = aml_device_open(b, "PWRB");
	aml_name_decl(b, "_HID");
	aml_eisaid(b, "PNP0C0C");
	aml_name_decl(b, "_UID");
	aml_integer(b, 0);
	aml_close(b, dev);
	dev = aml_device_open(b, "GED0");
	aml_name_decl(b, "_HID");
	aml_string(b, "ACPI0013");
	aml_name_decl(b, "_UID");
	aml_integer(b, 0);
	aml_name_decl(b, "_CRS");
	aml_irq_resources(b, IRQ_GED);
	method = aml_method_open(b, "_EVT", 1);
	aml_notify(b, "\\_SB_PWRB", 0x80);
	aml_close(b, method);
	aml_close(b, dev);
	for (unsigned int i = 0; i < nr_devs; i++) {
		snprintf(name, sizeof(name), "V%03X", i & 0xfff);
		dev = aml_device_open(b, name);
		aml_name_decl(b, "_HID");
		aml_string(b, "LNRO0005");
		aml_name_decl(b, "_UID");
		aml_integer(b, i);
		aml_name_decl(b, "_CRS");
		aml_mmio_resources(b, (uint32_t)devs[i].base, devs[i].size,
				   devs[i].gsi);
		aml_close(b, dev);
	}
	aml_close(b, scope);
	return b->overflow ? -E2BIG : 0;
}

static int dsdt_write(const struct guest_mem *m, struct acpi_space *s,
		      const struct boot_mmio_dev *devs, unsigned int nr_devs,
		      uint64_t *addr)
{
	size_t cap = ACPI_TABLES_END - LAYOUT_ACPI;
	struct acpi_header *h;
	struct aml_buf b;
	uint8_t *buf;
	int ret;

	buf = calloc(1, cap);
	if (!buf)
		return -ENOMEM;
	aml_init(&b, buf, cap);
	b.len = sizeof(*h);
	ret = dsdt_build(&b, devs, nr_devs);
	if (ret)
		goto out;
	h = (struct acpi_header *)buf;
	/* Revision 2: integers are 64-bit. */
	acpi_header_init(h, "DSDT", (uint32_t)b.len, 2);
	ret = acpi_put(m, s, buf, b.len, addr);
out:
	free(buf);
	return ret;
}

static int fadt_write(const struct guest_mem *m, struct acpi_space *s,
		      uint64_t dsdt, uint64_t *addr)
{
	struct acpi_fadt f;

	memset(&f, 0, sizeof(f));
	acpi_header_init(&f.h, "FACP", sizeof(f), 6);
	f.dsdt = (uint32_t)dsdt;
	f.x_dsdt = dsdt;
	f.flags = FADT_F_HW_REDUCED_ACPI | FADT_F_PWR_BUTTON |
		  FADT_F_SLP_BUTTON | FADT_F_RESET_REG_SUP;
	/* No 8042 bit: Linux then leaves the i8042 driver alone. */
	f.iapc_boot_arch = FADT_BOOT_VGA_NOT_PRESENT;
	f.minor_version = 5;
	f.sleep_control = (struct acpi_gas){
		.space_id = ACPI_GAS_SYSTEM_IO,
		.bit_width = 8,
		.access_size = ACPI_GAS_ACCESS_BYTE,
		.address = PORT_ACPI_SLEEP_CTL,
	};
	f.sleep_status = (struct acpi_gas){
		.space_id = ACPI_GAS_SYSTEM_IO,
		.bit_width = 8,
		.access_size = ACPI_GAS_ACCESS_BYTE,
		.address = PORT_ACPI_SLEEP_STS,
	};
	/* Linux's reboot=acpi (and ACPI-first reboots) write reset_value
	 * here: the reset control port's hard reset. */
	f.reset_reg = (struct acpi_gas){
		.space_id = ACPI_GAS_SYSTEM_IO,
		.bit_width = 8,
		.access_size = ACPI_GAS_ACCESS_BYTE,
		.address = PORT_RESET_CTL,
	};
	f.reset_value = RESET_CTL_HARD_RESET;
	memcpy(f.hypervisor_vendor, "KVMLITE", 8);
	return acpi_put(m, s, &f, sizeof(f), addr);
}

static int madt_write(const struct guest_mem *m, struct acpi_space *s,
		      unsigned int ncpus, uint64_t *addr)
{
	size_t len = sizeof(struct acpi_madt) +
		     ncpus * sizeof(struct madt_lapic) +
		     sizeof(struct madt_ioapic);
	struct madt_ioapic io = {
		.type = MADT_TYPE_IOAPIC,
		.length = sizeof(io),
		.ioapic_id = (uint8_t)ncpus, /* not a CPU's APIC id */
		.address = (uint32_t)LAYOUT_IOAPIC,
		.gsi_base = 0,
	};
	struct acpi_madt *t;
	uint8_t *buf, *p;
	int ret;

	buf = calloc(1, len);
	if (!buf)
		return -ENOMEM;
	t = (struct acpi_madt *)buf;
	acpi_header_init(&t->h, "APIC", (uint32_t)len, 5);
	t->lapic_address = (uint32_t)LAYOUT_LAPIC;
	t->flags = 0;
	p = buf + sizeof(*t);
	for (unsigned int i = 0; i < ncpus; i++) {
		struct madt_lapic l = {
			.type = MADT_TYPE_LAPIC,
			.length = sizeof(l),
			.processor_uid = (uint8_t)i,
			.apic_id = (uint8_t)i,
			.flags = MADT_LAPIC_ENABLED,
		};

		memcpy(p, &l, sizeof(l));
		p += sizeof(l);
	}
	memcpy(p, &io, sizeof(io));
	ret = acpi_put(m, s, buf, len, addr);
	free(buf);
	return ret;
}

static int xsdt_write(const struct guest_mem *m, struct acpi_space *s,
		      uint64_t fadt, uint64_t madt, uint64_t *addr)
{
	struct {
		struct acpi_header h;
		uint64_t entry[2];
	} __attribute__((packed)) x;

	acpi_header_init(&x.h, "XSDT", sizeof(x), 1);
	x.entry[0] = fadt;
	x.entry[1] = madt;
	return acpi_put(m, s, &x, sizeof(x), addr);
}

int acpi_tables_write(const struct guest_mem *m, unsigned int ncpus,
		      const struct boot_mmio_dev *devs, unsigned int nr_devs,
		      uint64_t *rsdp_addr, char *err, size_t errlen)
{
	struct acpi_space s = { .next = LAYOUT_ACPI + 64 };
	uint64_t dsdt, fadt, madt, xsdt;
	struct acpi_rsdp r;
	int ret;

	for (unsigned int i = 0; i < nr_devs; i++) {
		const struct boot_mmio_dev *d = &devs[i];

		/* Memory32Fixed: the window must sit below 4 GiB. */
		if (d->base > UINT32_MAX || d->size == 0 ||
		    d->size > (1ULL << 32) - d->base)
			return err_fmt(err, errlen, -EINVAL,
				       "virtio-mmio window %u (0x%llx, %u "
				       "bytes) is not a 32-bit range",
				       i, (unsigned long long)d->base, d->size);
	}
	if (nr_devs > 0x1000)
		return err_fmt(
			err, errlen, -E2BIG,
			"too many virtio-mmio devices for ACPI: %u (max 4096)",
			nr_devs);

	ret = dsdt_write(m, &s, devs, nr_devs, &dsdt);
	if (!ret)
		ret = fadt_write(m, &s, dsdt, &fadt);
	if (!ret)
		ret = madt_write(m, &s, ncpus, &madt);
	if (!ret)
		ret = xsdt_write(m, &s, fadt, madt, &xsdt);
	if (ret == -E2BIG)
		return err_fmt(err, errlen, ret,
			       "ACPI tables for %u CPUs and %u virtio-mmio "
			       "devices do not fit in 0x%llx-0x%llx",
			       ncpus, nr_devs, LAYOUT_ACPI, ACPI_TABLES_END);
	if (ret)
		return err_fmt(err, errlen, ret,
			       "cannot write ACPI tables to guest memory");

	memset(&r, 0, sizeof(r));
	memcpy(r.signature, "RSD PTR ", 8);
	memcpy(r.oem_id, ACPI_OEM_ID, 6);
	r.revision = 2;
	r.length = sizeof(r);
	r.xsdt_address = xsdt;
	r.checksum = acpi_checksum(&r, 20);
	r.extended_checksum = acpi_checksum(&r, sizeof(r));
	ret = gmem_write(m, LAYOUT_ACPI, &r, sizeof(r));
	if (ret)
		return err_fmt(err, errlen, ret,
			       "cannot write ACPI RSDP to guest memory");
	*rsdp_addr = LAYOUT_ACPI;
	return 0;
}
