/* How a device raises an interrupt line without knowing about KVM. */
#ifndef KVMLITE_IRQ_H
#define KVMLITE_IRQ_H

struct irq_line {
	/* level: 1 asserted, 0 deasserted. Safe to call from any thread. */
	void (*set_level)(void *opaque, unsigned int gsi, int level);
	void *opaque;
	unsigned int gsi;
};

static inline void irq_line_set(const struct irq_line *l, int level)
{
	if (l && l->set_level)
		l->set_level(l->opaque, l->gsi, level);
}

#endif
