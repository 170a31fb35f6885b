/* Just enough AML byte code for the DSDT: names, packages, devices. */
#include <string.h>

#include "loader/loader_internal.h"

#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_DUAL_NAME_PREFIX 0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_ROOT_CHAR 0x5c
#define AML_EXT_OP_PREFIX 0x5b
#define AML_DEVICE_OP 0x82
#define AML_METHOD_OP 0x14
#define AML_NOTIFY_OP 0x86

/* PkgLength can describe at most 28 bits. */
#define AML_PKG_LENGTH_MAX 0x0fffffffULL

void aml_init(struct aml_buf *b, uint8_t *data, size_t cap)
{
	b->data = data;
	b->len = 0;
	b->cap = cap;
	b->overflow = false;
}

void aml_bytes(struct aml_buf *b, const void *p, size_t len)
{
	if (b->overflow || len > b->cap - b->len) {
		b->overflow = true;
		return;
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
}

void aml_byte(struct aml_buf *b, uint8_t v)
{
	aml_bytes(b, &v, 1);
}

static void aml_le(struct aml_buf *b, uint64_t v, unsigned int nbytes)
{
	for (unsigned int i = 0; i < nbytes; i++)
		aml_byte(b, (uint8_t)(v >> (8 * i)));
}

/* Name segments are exactly 4 chars; callers pass literal, valid names. */
void aml_name(struct aml_buf *b, const char *path)
{
	size_t nseg;

	if (*path == '\\') {
		aml_byte(b, AML_ROOT_CHAR);
		path++;
	}
	nseg = strlen(path) / 4;
	if (strlen(path) % 4 || nseg == 0 || nseg > 255) {
		b->overflow = true;
		return;
	}
	if (nseg == 2)
		aml_byte(b, AML_DUAL_NAME_PREFIX);
	else if (nseg > 2) {
		aml_byte(b, AML_MULTI_NAME_PREFIX);
		aml_byte(b, (uint8_t)nseg);
	}
	aml_bytes(b, path, nseg * 4);
}

void aml_integer(struct aml_buf *b, uint64_t v)
{
	if (v == 0) {
		aml_byte(b, AML_ZERO_OP);
	} else if (v == 1) {
		aml_byte(b, AML_ONE_OP);
	} else if (v <= 0xff) {
		aml_byte(b, AML_BYTE_PREFIX);
		aml_le(b, v, 1);
	} else if (v <= 0xffff) {
		aml_byte(b, AML_WORD_PREFIX);
		aml_le(b, v, 2);
	} else if (v <= 0xffffffff) {
		aml_byte(b, AML_DWORD_PREFIX);
		aml_le(b, v, 4);
	} else {
		aml_byte(b, AML_QWORD_PREFIX);
		aml_le(b, v, 8);
	}
}

void aml_string(struct aml_buf *b, const char *s)
{
	aml_byte(b, AML_STRING_PREFIX);
	aml_bytes(b, s, strlen(s) + 1);
}

void aml_name_decl(struct aml_buf *b, const char *path)
{
	aml_byte(b, AML_NAME_OP);
	aml_name(b, path);
}

/* The mark is where the PkgLength goes; aml_close() inserts it there. */
static size_t aml_pkg_open(struct aml_buf *b)
{
	return b->len;
}

void aml_close(struct aml_buf *b, size_t mark)
{
	size_t body, total, n;
	uint8_t enc[4];

	if (b->overflow || mark > b->len) {
		b->overflow = true;
		return;
	}
	body = b->len - mark;
	/* PkgLength counts its own bytes: 1 byte holds < 0x40 in 6 bits, and
	 * n bytes hold 4 + 8 * (n - 1) bits. */
	if (body + 1 < 0x40)
		n = 1;
	else if (body + 2 < (1ULL << 12))
		n = 2;
	else if (body + 3 < (1ULL << 20))
		n = 3;
	else if (body + 4 <= AML_PKG_LENGTH_MAX)
		n = 4;
	else {
		b->overflow = true;
		return;
	}
	if (n > b->cap - b->len) {
		b->overflow = true;
		return;
	}
	total = body + n;
	if (n == 1) {
		enc[0] = (uint8_t)total;
	} else {
		enc[0] = (uint8_t)(((n - 1) << 6) | (total & 0x0f));
		for (size_t i = 1; i < n; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	memmove(b->data + mark + n, b->data + mark, body);
	memcpy(b->data + mark, enc, n);
	b->len += n;
}

size_t aml_scope_open(struct aml_buf *b, const char *path)
{
	size_t mark;

	aml_byte(b, AML_SCOPE_OP);
	mark = aml_pkg_open(b);
	aml_name(b, path);
	return mark;
}

size_t aml_device_open(struct aml_buf *b, const char *path)
{
	size_t mark;

	aml_byte(b, AML_EXT_OP_PREFIX);
	aml_byte(b, AML_DEVICE_OP);
	mark = aml_pkg_open(b);
	aml_name(b, path);
	return mark;
}

size_t aml_method_open(struct aml_buf *b, const char *name,
		       unsigned int nr_args)
{
	size_t mark;

	aml_byte(b, AML_METHOD_OP);
	mark = aml_pkg_open(b);
	aml_name(b, name);
	aml_byte(b, (uint8_t)(nr_args & 7)); /* not serialized, sync level 0 */
	return mark;
}

void aml_notify(struct aml_buf *b, const char *target, uint64_t value)
{
	aml_byte(b, AML_NOTIFY_OP);
	aml_name(b, target);
	aml_integer(b, value);
}

size_t aml_package_open(struct aml_buf *b, uint8_t nr_elements)
{
	size_t mark;

	aml_byte(b, AML_PACKAGE_OP);
	mark = aml_pkg_open(b);
	aml_byte(b, nr_elements);
	return mark;
}

size_t aml_buffer_open(struct aml_buf *b, uint64_t nr_bytes)
{
	size_t mark;

	aml_byte(b, AML_BUFFER_OP);
	mark = aml_pkg_open(b);
	aml_integer(b, nr_bytes);
	return mark;
}

/* Large resource descriptors (ACPI 6.x, 6.4.3). */
#define RES_MEMORY32_FIXED 0x86
#define RES_EXTENDED_IRQ 0x89
#define RES_END_TAG 0x79
#define RES_MEM_READ_WRITE 0x01
/*
 * Extended Interrupt flags: consumer (bit 0), edge-triggered (bit 1), active
 * high (bit 2 clear), exclusive (bit 3 clear). virtio-mmio interrupts are
 * injected with KVM_IRQFD, which delivers a pulse: they are edges.
 */
#define RES_IRQ_CONSUMER_EDGE 0x03

void aml_mmio_resources(struct aml_buf *b, uint32_t base, uint32_t size,
			uint32_t gsi)
{
	size_t mark = aml_buffer_open(b, 12 + 9 + 2);

	aml_byte(b, RES_MEMORY32_FIXED);
	aml_le(b, 9, 2);
	aml_byte(b, RES_MEM_READ_WRITE);
	aml_le(b, base, 4);
	aml_le(b, size, 4);

	aml_byte(b, RES_EXTENDED_IRQ);
	aml_le(b, 6, 2);
	aml_byte(b, RES_IRQ_CONSUMER_EDGE);
	aml_byte(b, 1); /* one interrupt number follows */
	aml_le(b, gsi, 4);

	/* Checksum 0 means "treat as correct". */
	aml_byte(b, RES_END_TAG);
	aml_byte(b, 0);
	aml_close(b, mark);
}

void aml_irq_resources(struct aml_buf *b, uint32_t gsi)
{
	size_t mark = aml_buffer_open(b, 9 + 2);

	aml_byte(b, RES_EXTENDED_IRQ);
	aml_le(b, 6, 2);
	aml_byte(b, RES_IRQ_CONSUMER_EDGE);
	aml_byte(b, 1);
	aml_le(b, gsi, 4);
	aml_byte(b, RES_END_TAG);
	aml_byte(b, 0);
	aml_close(b, mark);
}

/* EISA ID "PNP0501" as the compressed DWORD that _HID takes. */
void aml_eisaid(struct aml_buf *b, const char *id)
{
	uint32_t v;

	v = (uint32_t)((id[0] & 0x1f) << 2 | (id[1] & 0x1f) >> 3);
	v |= (uint32_t)(((id[1] & 0x1f) << 5 | (id[2] & 0x1f)) & 0xff) << 8;
	for (int i = 0; i < 4; i++) {
		char c = id[3 + i];
		uint32_t d =
			(uint32_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);

		v |= (d & 0xf) << (16 + (i ^ 1) * 4);
	}
	aml_integer(b, v);
}

/* Small resource descriptors for a legacy ISA device: I/O ports and, when
 * irq >= 0, an edge-triggered, active-high IRQ (ACPI 6.x, 6.4.2). */
#define RES_IRQ_NOFLAGS 0x22
#define RES_IO 0x47

void aml_isa_resources(struct aml_buf *b, uint16_t port, uint8_t nports,
		       int irq)
{
	size_t mark = aml_buffer_open(b, 8 + (irq >= 0 ? 3 : 0) + 2);

	aml_byte(b, RES_IO);
	aml_byte(b, 1); /* 16-bit decode */
	aml_le(b, port, 2);
	aml_le(b, port, 2);
	aml_byte(b, 1); /* alignment */
	aml_byte(b, nports);
	if (irq >= 0) {
		aml_byte(b, RES_IRQ_NOFLAGS);
		aml_le(b, 1u << (irq & 15), 2);
	}
	aml_byte(b, RES_END_TAG);
	aml_byte(b, 0);
	aml_close(b, mark);
}
