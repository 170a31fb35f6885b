/* Intel MultiProcessor Specification 1.4 tables, for guests booted without
 * ACPI (acpi=off) or that look for SMP information the old way. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loader/loader_internal.h"

struct mpf_intel {
	char signature[4];
	uint32_t physptr;
	uint8_t length; /* in 16-byte units */
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature1;
	uint8_t feature2;
	uint8_t feature3;
	uint8_t feature4;
	uint8_t feature5;
} __attribute__((packed));
_Static_assert(sizeof(struct mpf_intel) == 16, "floating pointer size");

struct mpc_table {
	char signature[4];
	uint16_t length;
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct mpc_table) == 44, "config table header size");

struct mpc_cpu {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t cpuflag;
	uint32_t cpufeature; /* CPUID signature */
	uint32_t featureflag;
	uint32_t reserved[2];
} __attribute__((packed));
_Static_assert(sizeof(struct mpc_cpu) == 20, "processor entry size");

struct mpc_bus {
	uint8_t type;
	uint8_t busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t flags;
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc {
	uint8_t type;
	uint8_t irqtype;
	uint16_t irqflag;
	uint8_t srcbus;
	uint8_t srcbusirq;
	uint8_t dstapic;
	uint8_t dstirq;
} __attribute__((packed));
_Static_assert(sizeof(struct mpc_intsrc) == 8, "interrupt entry size");

#define MP_PROCESSOR 0
#define MP_BUS 1
#define MP_IOAPIC 2
#define MP_INTSRC 3
#define MP_LINTSRC 4

#define MP_CPU_ENABLED 0x01
#define MP_CPU_BOOT_PROCESSOR 0x02
#define MP_IOAPIC_USABLE 0x01
#define MP_INT_TYPE_INT 0
#define MP_INT_TYPE_NMI 1
#define MP_INT_TYPE_EXTINT 3
#define MP_LAPIC_ALL 0xff

#define MP_APIC_VERSION 0x14
#define MP_IOAPIC_VERSION 0x11
/* Family 6, model 15, stepping 11; FPU and APIC present. */
#define MP_CPU_SIGNATURE 0x6fb
#define MP_CPU_FEATURES ((1u << 0) | (1u << 9))
#define MP_ISA_IRQS 16

static size_t mpc_length(unsigned int ncpus)
{
	return sizeof(struct mpc_table) + ncpus * sizeof(struct mpc_cpu) +
	       sizeof(struct mpc_bus) + sizeof(struct mpc_ioapic) +
	       (MP_ISA_IRQS + 2) * sizeof(struct mpc_intsrc);
}

static uint8_t *put(uint8_t *p, const void *entry, size_t len)
{
	memcpy(p, entry, len);
	return p + len;
}

int mptable_write(const struct guest_mem *m, unsigned int ncpus)
{
	size_t len = mpc_length(ncpus);
	uint8_t ioapic_id = (uint8_t)ncpus; /* CPUs use 0..ncpus-1 */
	struct mpf_intel mpf;
	struct mpc_table *mpc;
	uint16_t ebda_seg = LAYOUT_EBDA >> 4, base_kib = LAYOUT_EBDA >> 10;
	uint8_t *buf, *p;
	int ret;

	if (ncpus == 0 || ncpus > 255)
		return -EINVAL;
	if (len > LAYOUT_ACPI_END - MPTABLE_CONFIG_ADDR)
		return -E2BIG;
	buf = calloc(1, len);
	if (!buf)
		return -ENOMEM;

	mpc = (struct mpc_table *)buf;
	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = (uint16_t)len;
	mpc->spec = 4;
	memcpy(mpc->oem, "KVMLITE ", 8);
	memcpy(mpc->productid, "KVMLITE     ", 12);
	mpc->oemcount = (uint16_t)(ncpus + 1 + 1 + MP_ISA_IRQS + 2);
	mpc->lapic = (uint32_t)LAYOUT_LAPIC;
	p = buf + sizeof(*mpc);

	for (unsigned int i = 0; i < ncpus; i++) {
		struct mpc_cpu cpu = {
			.type = MP_PROCESSOR,
			.apicid = (uint8_t)i,
			.apicver = MP_APIC_VERSION,
			.cpuflag = MP_CPU_ENABLED |
				   (i == 0 ? MP_CPU_BOOT_PROCESSOR : 0),
			.cpufeature = MP_CPU_SIGNATURE,
			.featureflag = MP_CPU_FEATURES,
		};

		p = put(p, &cpu, sizeof(cpu));
	}

	struct mpc_bus bus = { .type = MP_BUS, .busid = 0 };

	memcpy(bus.bustype, "ISA   ", 6);
	p = put(p, &bus, sizeof(bus));

	struct mpc_ioapic ioapic = {
		.type = MP_IOAPIC,
		.apicid = ioapic_id,
		.apicver = MP_IOAPIC_VERSION,
		.flags = MP_IOAPIC_USABLE,
		.apicaddr = (uint32_t)LAYOUT_IOAPIC,
	};
	p = put(p, &ioapic, sizeof(ioapic));

	/* ISA IRQ n is IOAPIC pin n, as in KVM's default GSI routing. */
	for (unsigned int irq = 0; irq < MP_ISA_IRQS; irq++) {
		struct mpc_intsrc src = {
			.type = MP_INTSRC,
			.irqtype = MP_INT_TYPE_INT,
			.irqflag = 0, /* conforming polarity and trigger */
			.srcbus = 0,
			.srcbusirq = (uint8_t)irq,
			.dstapic = ioapic_id,
			.dstirq = (uint8_t)irq,
		};

		p = put(p, &src, sizeof(src));
	}

	struct mpc_intsrc lint0 = {
		.type = MP_LINTSRC,
		.irqtype = MP_INT_TYPE_EXTINT,
		.dstapic = MP_LAPIC_ALL,
		.dstirq = 0,
	};
	struct mpc_intsrc lint1 = {
		.type = MP_LINTSRC,
		.irqtype = MP_INT_TYPE_NMI,
		.dstapic = MP_LAPIC_ALL,
		.dstirq = 1,
	};
	p = put(p, &lint0, sizeof(lint0));
	put(p, &lint1, sizeof(lint1));
	mpc->checksum = acpi_checksum(buf, len);

	memset(&mpf, 0, sizeof(mpf));
	memcpy(mpf.signature, "_MP_", 4);
	mpf.physptr = (uint32_t)MPTABLE_CONFIG_ADDR;
	mpf.length = 1;
	mpf.specification = 4;
	mpf.checksum = acpi_checksum(&mpf, sizeof(mpf));

	ret = gmem_write(m, MPTABLE_CONFIG_ADDR, buf, len);
	if (!ret)
		ret = gmem_write(m, LAYOUT_EBDA, &mpf, sizeof(mpf));
	/* Linux finds the EBDA, and so the floating pointer, through the
	 * BIOS data area. */
	if (!ret)
		ret = gmem_write(m, BDA_EBDA_SEGMENT, &ebda_seg,
				 sizeof(ebda_seg));
	if (!ret)
		ret = gmem_write(m, BDA_BASE_MEM_KIB, &base_kib,
				 sizeof(base_kib));
	free(buf);
	return ret;
}
