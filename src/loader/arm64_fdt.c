/*
 * The arm64 machine's device tree, built with libfdt's sequential-write
 * calls: memory, the vCPUs (enable-method psci), PSCI 0.2 by HVC, the
 * GICv3, the architected timer, the 16550 UART, each virtio-mmio window
 * with its SPI, and chosen (bootargs, initrd, stdout-path). Addresses
 * and interrupts are arm64_layout.h's.
 */
#include <errno.h>
#include <stdio.h>

#include <libfdt.h>

#include "arm64_layout.h"
#include "loader/arm64.h"

#define GIC_PHANDLE 1
/* Interrupt specifiers (arm,gic-v3.yaml): type, number, flags. */
#define FDT_GIC_SPI 0
#define FDT_GIC_PPI 1
#define FDT_IRQ_EDGE_RISING 1
#define FDT_IRQ_LEVEL_HIGH 4

/* Every libfdt call's status; the first failure sticks. */
struct fdtw {
	void *fdt;
	int err;
};

static void chk(struct fdtw *w, int ret)
{
	if (ret < 0 && !w->err)
		w->err = ret;
}

static void prop_u32(struct fdtw *w, const char *name, uint32_t v)
{
	chk(w, fdt_property_u32(w->fdt, name, v));
}

static void prop_u64(struct fdtw *w, const char *name, uint64_t v)
{
	chk(w, fdt_property_u64(w->fdt, name, v));
}

static void prop_str(struct fdtw *w, const char *name, const char *s)
{
	chk(w, fdt_property_string(w->fdt, name, s));
}

static void prop_empty(struct fdtw *w, const char *name)
{
	chk(w, fdt_property(w->fdt, name, NULL, 0));
}

/* A property of big-endian cells. */
static void prop_cells(struct fdtw *w, const char *name, const uint32_t *c,
		       unsigned int n)
{
	fdt32_t be[16];

	for (unsigned int i = 0; i < n && i < 16; i++)
		be[i] = cpu_to_fdt32(c[i]);
	chk(w, fdt_property(w->fdt, name, be, (int)(n * sizeof(be[0]))));
}

/* reg = <addr size> with #address-cells = #size-cells = 2. */
static void prop_reg2(struct fdtw *w, uint64_t a, uint64_t s)
{
	const uint32_t c[4] = { (uint32_t)(a >> 32), (uint32_t)a,
				(uint32_t)(s >> 32), (uint32_t)s };

	prop_cells(w, "reg", c, 4);
}

static void begin(struct fdtw *w, const char *name)
{
	chk(w, fdt_begin_node(w->fdt, name));
}

static void end(struct fdtw *w)
{
	chk(w, fdt_end_node(w->fdt));
}

static void cpus_node(struct fdtw *w, unsigned int ncpus)
{
	char name[32];

	begin(w, "cpus");
	prop_u32(w, "#address-cells", 1);
	prop_u32(w, "#size-cells", 0);
	for (unsigned int i = 0; i < ncpus; i++) {
		uint32_t mpidr = arm64_cpu_mpidr(i);

		snprintf(name, sizeof(name), "cpu@%x", mpidr);
		begin(w, name);
		prop_str(w, "device_type", "cpu");
		prop_str(w, "compatible", "arm,arm-v8");
		prop_u32(w, "reg", mpidr);
		prop_str(w, "enable-method", "psci");
		end(w);
	}
	end(w);
}

static void gic_node(struct fdtw *w, unsigned int ncpus)
{
	char name[32];
	const uint32_t reg[8] = {
		0, (uint32_t)ARM64_GIC_DIST,
		0, (uint32_t)ARM64_GIC_DIST_SIZE,
		0, (uint32_t)ARM64_GIC_REDIST,
		0, (uint32_t)(ARM64_GIC_REDIST_PER_CPU * ncpus),
	};

	snprintf(name, sizeof(name), "intc@%llx",
		 (unsigned long long)ARM64_GIC_DIST);
	begin(w, name);
	prop_str(w, "compatible", "arm,gic-v3");
	prop_u32(w, "#interrupt-cells", 3);
	/* As QEMU's: room for an ITS child (dtc wants them on a provider). */
	prop_u32(w, "#address-cells", 2);
	prop_u32(w, "#size-cells", 2);
	prop_empty(w, "ranges");
	prop_empty(w, "interrupt-controller");
	prop_cells(w, "reg", reg, 8);
	prop_u32(w, "phandle", GIC_PHANDLE);
	end(w);
}

static void timer_node(struct fdtw *w)
{
	const uint32_t irqs[12] = {
		FDT_GIC_PPI, ARM64_PPI_TIMER_SEC,  FDT_IRQ_LEVEL_HIGH,
		FDT_GIC_PPI, ARM64_PPI_TIMER_PHYS, FDT_IRQ_LEVEL_HIGH,
		FDT_GIC_PPI, ARM64_PPI_TIMER_VIRT, FDT_IRQ_LEVEL_HIGH,
		FDT_GIC_PPI, ARM64_PPI_TIMER_HYP,  FDT_IRQ_LEVEL_HIGH,
	};

	begin(w, "timer");
	prop_str(w, "compatible", "arm,armv8-timer");
	prop_cells(w, "interrupts", irqs, 12);
	prop_empty(w, "always-on");
	end(w);
}

static void uart_node(struct fdtw *w, const char *name)
{
	const uint32_t irq[3] = { FDT_GIC_SPI, ARM64_SPI_UART,
				  FDT_IRQ_LEVEL_HIGH };

	begin(w, name);
	prop_str(w, "compatible", "ns16550a");
	prop_reg2(w, ARM64_UART, ARM64_UART_SIZE);
	prop_cells(w, "interrupts", irq, 3);
	prop_u32(w, "clock-frequency", ARM64_UART_CLOCK);
	end(w);
}

static void virtio_node(struct fdtw *w, const struct boot_mmio_dev *d)
{
	char name[40];
	const uint32_t irq[3] = { FDT_GIC_SPI, d->gsi, FDT_IRQ_EDGE_RISING };

	snprintf(name, sizeof(name), "virtio_mmio@%llx",
		 (unsigned long long)d->base);
	begin(w, name);
	prop_str(w, "compatible", "virtio,mmio");
	prop_reg2(w, d->base, d->size);
	prop_cells(w, "interrupts", irq, 3);
	prop_empty(w, "dma-coherent");
	end(w);
}

int arm64_fdt_build(void *buf, size_t size, const struct arm64_fdt_args *a)
{
	struct fdtw w = { buf, 0 };
	char name[48], uart[40];

	if (size > INT32_MAX)
		size = INT32_MAX;
	chk(&w, fdt_create(buf, (int)size));
	chk(&w, fdt_finish_reservemap(buf));
	begin(&w, "");
	prop_str(&w, "compatible", "linux,dummy-virt");
	prop_str(&w, "model", "kvmlite arm64");
	prop_u32(&w, "#address-cells", 2);
	prop_u32(&w, "#size-cells", 2);
	prop_u32(&w, "interrupt-parent", GIC_PHANDLE);

	snprintf(uart, sizeof(uart), "uart@%llx",
		 (unsigned long long)ARM64_UART);
	begin(&w, "chosen");
	prop_str(&w, "bootargs", a->cmdline);
	snprintf(name, sizeof(name), "/%s", uart);
	prop_str(&w, "stdout-path", name);
	if (a->initrd_end > a->initrd_start) {
		prop_u64(&w, "linux,initrd-start", a->initrd_start);
		prop_u64(&w, "linux,initrd-end", a->initrd_end);
	}
	end(&w);

	snprintf(name, sizeof(name), "memory@%llx",
		 (unsigned long long)a->ram_base);
	begin(&w, name);
	prop_str(&w, "device_type", "memory");
	prop_reg2(&w, a->ram_base, a->ram_size);
	end(&w);

	cpus_node(&w, a->ncpus);
	begin(&w, "psci");
	prop_str(&w, "compatible", "arm,psci-0.2");
	prop_str(&w, "method", "hvc");
	end(&w);
	gic_node(&w, a->ncpus);
	timer_node(&w);
	uart_node(&w, uart);
	for (unsigned int i = 0; i < a->nr_mmio_devs; i++)
		virtio_node(&w, &a->mmio_devs[i]);
	end(&w);
	chk(&w, fdt_finish(buf));
	if (w.err == -FDT_ERR_NOSPACE)
		return -E2BIG;
	return w.err ? -EINVAL : 0;
}
