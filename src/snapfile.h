/*
 * The snapshot's state file (docs/snapshot.md): a fixed header, then
 * sections, everything little-endian, with a CRC-32 (zlib's) over the
 * whole file (its own field read as zero). This module writes and parses the
 * container only; what a section holds is its owner's (each device saves and
 * restores its own).
 *
 * Writing: a growable buffer; snap_begin()/snap_end() frame a section,
 * snap_put_*() append to it. An allocation failure is sticky (w->err) and
 * reported once, by snap_finish().
 *
 * Reading: the file is host input, hostile like any other. snapfile_parse()
 * checks the header, the size, the checksum and that the sections tile
 * the payload exactly; snapfile_section() hands out a reader bounded to
 * one section, whose snap_get_*() calls never read past it (a short read
 * sets r->err, returns zeros, and every later read fails too). The owner
 * validates every value it reads before it uses it.
 */
#ifndef KVMLITE_SNAPFILE_H
#define KVMLITE_SNAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAP_MAGIC "KVMLSNAP"
#define SNAP_FORMAT 3 /* 3: the UART's held transmit FIFO */
#define SNAP_HEADER_BYTES 64
#define SNAP_VERSION_BYTES 16
#define SNAP_ID_BYTES 16
/* A state file larger than this is not one of ours (a disk overlay's map
 * of a 16 TiB disk is 32 MiB). */
#define SNAP_MAX_STATE_BYTES (256ULL << 20)
/* Strings in a section: paths, names. */
#define SNAP_MAX_STRING 4096

/* The memory file: a header page, then guest RAM from offset
 * SNAP_MEM_DATA_OFFSET, mapped privately by a restore. */
#define SNAP_MEM_MAGIC "KVMLMEM1"
#define SNAP_MEM_DATA_OFFSET 4096

/* Section tags. An index tells sections of one tag apart (the vCPU, the
 * virtio slot, the disk). */
enum snap_tag {
	SNAP_CONFIG = 1,   /* what the VM was built from */
	SNAP_VM = 2,	   /* x86: PIC, IOAPIC, PIT, kvm-clock */
	SNAP_VCPU = 3,	   /* one per vCPU */
	SNAP_UART = 4,	   /* the console's 16550A */
	SNAP_RTC = 5,	   /* CMOS RTC */
	SNAP_I8042 = 6,	   /* the PS/2 controller */
	SNAP_PLATFORM = 7, /* the ACPI sleep registers */
	SNAP_VIRTIO = 8,   /* one per virtio slot: transport and device */
};

/*
 * Files a section's owner keeps beside the state file (a disk overlay's
 * layer), named by the owner ("disk0.overlay"). open(opaque, NAME, true)
 * for a snapshot: a new empty file, read-write, that replaces any old
 * NAME once the snapshot is complete; open(opaque, NAME, false) for a
 * restore: NAME, read-only. An fd, or -errno.
 */
struct snap_files {
	int (*open)(void *opaque, const char *name, bool create);
	void *opaque;
};

struct snap_writer {
	uint8_t *buf;
	size_t len, cap;
	size_t section; /* offset of the open section's header, or 0 */
	uint32_t nr_sections;
	int err; /* sticky: -ENOMEM, or -EINVAL for a misuse */
};

void snap_writer_init(struct snap_writer *w);
void snap_writer_free(struct snap_writer *w);
void snap_begin(struct snap_writer *w, enum snap_tag tag, uint32_t index);
void snap_end(struct snap_writer *w);
void snap_put_u8(struct snap_writer *w, uint8_t v);
void snap_put_u16(struct snap_writer *w, uint16_t v);
void snap_put_u32(struct snap_writer *w, uint32_t v);
void snap_put_u64(struct snap_writer *w, uint64_t v);
void snap_put_bytes(struct snap_writer *w, const void *p, size_t len);
/* A length (u32) and the bytes; NULL is the empty string. */
void snap_put_str(struct snap_writer *w, const char *s);

/*
 * Put the header in front of what was written: @id (SNAP_ID_BYTES), the
 * library's version, the checksum. 0 and *@out / *@len (owned by @w), or
 * w's sticky error.
 */
int snap_finish(struct snap_writer *w, const uint8_t *id, const uint8_t **out,
		size_t *len);

/* One section's bytes, read in order. */
struct snap_reader {
	const uint8_t *p;
	size_t len, off;
	int err; /* -EINVAL once a read went past the end */
};

uint8_t snap_get_u8(struct snap_reader *r);
uint16_t snap_get_u16(struct snap_reader *r);
uint32_t snap_get_u32(struct snap_reader *r);
uint64_t snap_get_u64(struct snap_reader *r);
void snap_get_bytes(struct snap_reader *r, void *p, size_t len);
/* A string of at most @cap - 1 bytes into @buf, NUL-terminated; longer,
 * or holding a NUL, is an error. */
void snap_get_str(struct snap_reader *r, char *buf, size_t cap);
/* 0 when every read stayed inside the section and the section is used up;
 * else -EINVAL (the reader's owner says which section in its message). */
int snap_reader_done(const struct snap_reader *r);

struct snap_section {
	uint32_t tag, index;
	size_t off, len; /* of the payload, in the file */
};

struct snapfile {
	uint8_t *data; /* the whole file, owned */
	size_t len;
	uint8_t id[SNAP_ID_BYTES];
	char version[SNAP_VERSION_BYTES + 1];
	struct snap_section *sections;
	uint32_t nr_sections;
};

/*
 * Check and index a state file's bytes @data (@len), which the snapfile
 * takes over (free()d by snapfile_free(), also on failure). -EINVAL with a
 * reason ("truncated: 100 of 4096 bytes", "checksum mismatch", "made by
 * kvmlite 0.2.0, this is 0.3.0", ...) in @err.
 */
int snapfile_parse(struct snapfile *f, uint8_t *data, size_t len, char *err,
		   size_t errlen);
void snapfile_free(struct snapfile *f);
/* The section @tag / @index as a reader: 0, or -ENOENT when absent. */
int snapfile_section(const struct snapfile *f, enum snap_tag tag,
		     uint32_t index, struct snap_reader *r);

/* zlib's crc32 of @len bytes (the header's checksum is this over the
 * file with the checksum field zeroed). */
uint32_t snap_crc32(const void *p, size_t len);

#endif
