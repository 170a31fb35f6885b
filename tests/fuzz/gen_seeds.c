/*
 * Writes the seed corpora of the fuzz targets:
 *
 *	gen_seeds OUTDIR	(normally tests/fuzz/corpus)
 *
 * OUTDIR/fuzz_virtq_blk: valid ring layouts with well-formed requests (and
 * one malformed ring); OUTDIR/fuzz_elf and OUTDIR/fuzz_bzimage: tiny
 * synthetic kernels (the same shapes as tests/unit/loader_fixtures.h);
 * OUTDIR/fuzz_cli: NUL-separated command lines. The stub guest ELF
 * (build/exit_stub.elf) is copied into corpus/fuzz_elf by hand.
 */
#include <asm/bootparam.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_layout.h"
#include "loader/arm64.h"
#include "virtio/blk.h"
#include "../unit/p9_client.h"
#include "virtio/virtq.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18

static const char *outdir;

static void put(const char *target, const char *name, const void *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* ---- virtqueue seeds ---- */

struct vq_seed {
	struct fuzz_layout l;
	uint8_t buf[16384]; /* the input: header, then memory from GPA 0 */
	size_t len;	    /* bytes used */
	uint64_t next;	    /* next free GPA for buffers */
	uint16_t ndesc, navail;
};

static uint8_t *gpa_ptr(struct vq_seed *s, uint64_t gpa, size_t n)
{
	if (FUZZ_VQ_HDR + gpa + n > sizeof(s->buf))
		abort();
	if (FUZZ_VQ_HDR + gpa + n > s->len)
		s->len = FUZZ_VQ_HDR + gpa + n;
	return s->buf + FUZZ_VQ_HDR + gpa;
}

static void vq_init(struct vq_seed *s, unsigned int log2size, uint8_t flags)
{
	memset(s, 0, sizeof(*s));
	fuzz_layout((uint8_t)log2size, flags, &s->l);
	s->buf[0] = (uint8_t)log2size;
	s->buf[1] = flags;
	s->len = FUZZ_VQ_HDR;
	(void)gpa_ptr(s, 0, s->l.end);
	s->next = (s->l.end + 15) & ~15ULL;
}

static uint64_t vq_alloc(struct vq_seed *s, size_t n)
{
	uint64_t gpa = s->next;

	(void)gpa_ptr(s, gpa, n);
	s->next = (gpa + n + 15) & ~15ULL;
	return gpa;
}

static void put_desc(uint8_t *table, uint16_t i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	struct virtq_desc d = { addr, len, flags, next };

	memcpy(table + 16 * i, &d, sizeof(d));
}

static uint64_t vq_hdr(struct vq_seed *s, uint32_t type, uint64_t sector)
{
	uint64_t gpa = vq_alloc(s, 16);
	uint8_t *p = gpa_ptr(s, gpa, 16);

	memcpy(p, &type, 4);
	memcpy(p + 8, &sector, 8);
	return gpa;
}

static void vq_offer(struct vq_seed *s, uint16_t head)
{
	uint8_t *avail = gpa_ptr(s, s->l.avail, 4 + 2ULL * s->l.size);
	uint16_t idx = s->navail % s->l.size;

	memcpy(avail + 4 + 2 * idx, &head, 2);
	s->navail++;
	memcpy(avail + 2, &s->navail, 2);
}

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* A direct chain of @n segments. */
static void vq_chain(struct vq_seed *s, const struct seg *g, int n)
{
	uint8_t *table = gpa_ptr(s, s->l.desc, 16ULL * s->l.size);
	uint16_t head = s->ndesc % s->l.size;

	for (int i = 0; i < n; i++) {
		uint16_t d = s->ndesc++ % s->l.size;

		put_desc(table, d, g[i].gpa, g[i].len,
			 (uint16_t)((g[i].write ? VIRTQ_DESC_F_WRITE : 0) |
				    (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
			 (uint16_t)(s->ndesc % s->l.size));
	}
	vq_offer(s, head);
}

/* One descriptor pointing at an indirect table of @n segments. */
static void vq_indirect(struct vq_seed *s, const struct seg *g, int n)
{
	uint8_t *table = gpa_ptr(s, s->l.desc, 16ULL * s->l.size);
	uint64_t itab = vq_alloc(s, 16ULL * n);
	uint16_t head = s->ndesc++ % s->l.size;

	for (int i = 0; i < n; i++)
		put_desc(gpa_ptr(s, itab, 16ULL * n), (uint16_t)i, g[i].gpa,
			 g[i].len,
			 (uint16_t)((g[i].write ? VIRTQ_DESC_F_WRITE : 0) |
				    (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
			 (uint16_t)(i + 1));
	put_desc(table, head, itab, (uint32_t)(16 * n), VIRTQ_DESC_F_INDIRECT,
		 0);
	vq_offer(s, head);
}

/* header + data + status, for IN/OUT/GET_ID/FLUSH. */
static void vq_simple(struct vq_seed *s, uint32_t type, uint64_t sector,
		      uint32_t data_len, bool indirect)
{
	bool in = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
	struct seg g[3];
	int n = 0;

	g[n++] = (struct seg){ vq_hdr(s, type, sector), 16, false };
	if (data_len) {
		uint64_t d = vq_alloc(s, data_len);

		if (!in)
			memset(gpa_ptr(s, d, data_len), 0xa5, data_len);
		g[n++] = (struct seg){ d, data_len, in };
	}
	g[n++] = (struct seg){ vq_alloc(s, 1), 1, true };
	if (indirect)
		vq_indirect(s, g, n);
	else
		vq_chain(s, g, n);
}

/* discard / write-zeroes with one segment. */
static void vq_dwz(struct vq_seed *s, uint32_t type, uint64_t sector,
		   uint32_t nr, uint32_t flags)
{
	uint64_t seg = vq_alloc(s, 16);
	uint8_t *p = gpa_ptr(s, seg, 16);
	struct seg g[3];

	memcpy(p, &sector, 8);
	memcpy(p + 8, &nr, 4);
	memcpy(p + 12, &flags, 4);
	g[0] = (struct seg){ vq_hdr(s, type, 0), 16, false };
	g[1] = (struct seg){ seg, 16, false };
	g[2] = (struct seg){ vq_alloc(s, 1), 1, true };
	vq_chain(s, g, 3);
}

static void vq_put(struct vq_seed *s, const char *name)
{
	put("fuzz_virtq_blk", name, s->buf, s->len);
}

static void virtq_seeds(void)
{
	static struct vq_seed s;

	vq_init(&s, 2, 0);
	vq_simple(&s, VIRTIO_BLK_T_IN, 0, 512, false);
	vq_put(&s, "read1");

	vq_init(&s, 3, FUZZ_VQ_EVENT_IDX);
	vq_simple(&s, VIRTIO_BLK_T_OUT, 2, 1024, false);
	vq_simple(&s, VIRTIO_BLK_T_FLUSH, 0, 0, false);
	vq_simple(&s, VIRTIO_BLK_T_GET_ID, 0, 20, false);
	vq_simple(&s, VIRTIO_BLK_T_IN, 63, 512, false);
	vq_put(&s, "write_flush_id_read");

	vq_init(&s, 4, FUZZ_VQ_INDIRECT);
	vq_simple(&s, VIRTIO_BLK_T_IN, 4, 512, true);
	vq_simple(&s, VIRTIO_BLK_T_OUT, 8, 512, true);
	vq_put(&s, "indirect");

	vq_init(&s, 1, FUZZ_VQ_EVENT_IDX | FUZZ_VQ_INDIRECT);
	vq_dwz(&s, VIRTIO_BLK_T_DISCARD, 8, 8, 0);
	vq_dwz(&s, VIRTIO_BLK_T_WRITE_ZEROES, 16, 4, 1);
	vq_put(&s, "discard_wz");

	vq_init(&s, 3, 0);
	vq_simple(&s, VIRTIO_BLK_T_IN, 64, 512, false); /* out of range */
	vq_simple(&s, 99, 0, 0, false);			/* unsupported */
	vq_simple(&s, VIRTIO_BLK_T_IN, 0, 100, false);	/* not a sector */
	vq_put(&s, "errors");

	/* A loop: the second descriptor points back at the first. */
	vq_init(&s, 2, 0);
	vq_simple(&s, VIRTIO_BLK_T_IN, 0, 512, false);
	{
		uint8_t *t = gpa_ptr(&s, s.l.desc, 64);
		struct virtq_desc d;

		memcpy(&d, t + 16, 16);
		d.next = 0;
		memcpy(t + 16, &d, 16);
	}
	vq_put(&s, "loop");

	vq_init(&s, 8, FUZZ_VQ_EVENT_IDX);
	for (int i = 0; i < 8; i++)
		vq_simple(&s, i & 1 ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN,
			  (uint64_t)i, 512, false);
	vq_put(&s, "size256");
}

/* ---- kernel seeds ---- */

static void bzimage_seed(const char *name, uint8_t setup_sects,
			 uint16_t version, size_t payload)
{
	size_t setup = ((size_t)setup_sects + 1) * 512;
	uint8_t *img = calloc(1, setup + payload);
	struct setup_header h;

	memset(&h, 0, sizeof(h));
	h.setup_sects = setup_sects;
	h.boot_flag = 0xaa55;
	h.jump = 0x66eb;
	h.header = 0x53726448;
	h.version = version;
	h.loadflags = LOADED_HIGH;
	h.cmdline_size = 2047;
	h.initrd_addr_max = 0x7fffffff;
	h.kernel_alignment = 0x200000;
	h.relocatable_kernel = 1;
	h.xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h.pref_address = 0x1000000;
	h.init_size = 0x800000;
	h.syssize = (uint32_t)(payload / 16);
	memcpy(img + 0x1f1, &h, sizeof(h));
	for (size_t i = 0; i < payload; i++)
		img[setup + i] = (uint8_t)(i * 7 + 3);
	put("fuzz_bzimage", name, img, setup + payload);
	free(img);
}

#define PADDR 0x1000000ULL
#define VADDR 0xffffffff81000000ULL
#define DATA_OFF 0x200

static void elf_seed(const char *name, bool pvh, uint32_t descsz,
		     uint64_t bss_paddr, uint64_t bss_size)
{
	size_t filesz = 1024;
	uint8_t *img = calloc(1, DATA_OFF + filesz);
	size_t note_off = sizeof(Elf64_Ehdr) + 3 * sizeof(Elf64_Phdr);
	uint64_t pvh_entry = PADDR + 0x40;
	Elf64_Ehdr eh = { 0 };
	Elf64_Phdr ph[3] = { 0 };
	Elf64_Nhdr nh = { 4, descsz, XEN_ELFNOTE_PHYS32_ENTRY };

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = VADDR + 0x10;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 3;
	ph[0] = (Elf64_Phdr){ PT_LOAD, PF_R | PF_X, DATA_OFF, VADDR,
			      PADDR,   filesz,	    8192,     0x200000 };
	if (bss_paddr)
		ph[1] = (Elf64_Phdr){ PT_LOAD,	 PF_R | PF_W,
				      DATA_OFF,	 bss_paddr + (VADDR - PADDR),
				      bss_paddr, 0,
				      bss_size,	 0x1000 };
	ph[2].p_type = pvh ? PT_NOTE : PT_NULL;
	ph[2].p_offset = note_off;
	ph[2].p_filesz = sizeof(nh) + 4 + descsz;
	ph[2].p_align = 4;
	memcpy(img, &eh, sizeof(eh));
	memcpy(img + sizeof(eh), ph, sizeof(ph));
	memcpy(img + note_off, &nh, sizeof(nh));
	memcpy(img + note_off + sizeof(nh), "Xen", 4);
	memcpy(img + note_off + sizeof(nh) + 4, &pvh_entry, descsz);
	for (size_t i = 0; i < filesz; i++)
		img[DATA_OFF + i] = (uint8_t)(i * 7 + 3);
	put("fuzz_elf", name, img, DATA_OFF + filesz);
	free(img);
}

/* ---- command lines ---- */

/* An arm64 Image: the 64-byte header (booting.rst) and a little code. */
static void arm64_image_seed(const char *name, uint64_t text_offset,
			     uint64_t image_size, uint64_t flags, size_t len)
{
	uint8_t buf[4096] = { 0 };

	if (len > sizeof(buf))
		len = sizeof(buf);
	le_put(buf, 4, 0x91005a4d); /* "MZ" + add x13, x18, #0x16 (EFI stub) */
	le_put(buf + 4, 4, 0x14000000 | (4096 / 4 - 1)); /* b to the code */
	le_put(buf + 8, 8, text_offset);
	le_put(buf + 16, 8, image_size);
	le_put(buf + 24, 8, flags);
	le_put(buf + 56, 4, ARM64_IMAGE_MAGIC);
	le_put(buf + 60, 4, 0x40); /* PE header offset */
	put("fuzz_arm64_image", name, buf, len);
}

static void cli_seed(const char *name, const char *const *args)
{
	char buf[1024];
	size_t n = 0;

	for (int i = 0; args[i]; i++) {
		size_t k = strlen(args[i]);

		if (i)
			buf[n++] = 0;
		memcpy(buf + n, args[i], k);
		n += k;
	}
	put("fuzz_cli", name, buf, n);
}

/* ---- 9P seeds: records of cap[2] len[2] message ---- */

static struct p9c p9m;
static uint8_t p9seed[16384];
static size_t p9len;

static void p9_rec_raw(uint16_t cap, const uint8_t *m, size_t n)
{
	if (p9len + 4 + n > sizeof(p9seed))
		return;
	le_put(p9seed + p9len, 2, cap);
	le_put(p9seed + p9len + 2, 2, n);
	memcpy(p9seed + p9len + 4, m, n);
	p9len += 4 + n;
}

static void p9_rec(size_t n)
{
	p9_rec_raw(8192, p9m.buf, n);
}

static void p9_walk1(uint32_t fid, uint32_t nfid, const char *a, const char *b)
{
	const char *names[2] = { a, b };

	p9_rec(p9c_walk(&p9m, fid, nfid, b ? 2 : 1, names));
}

static void p9_put(const char *name)
{
	put("fuzz_9p", name, p9seed, p9len);
	p9len = 0;
}

static void p9_seeds(void)
{
	size_t n;

	p9_walk1(0, 1, "hello.txt", NULL);
	p9_rec(p9c_lopen(&p9m, 1, P9_DOTL_RDONLY));
	p9_rec(p9c_read(&p9m, P9_TREAD, 1, 0, 4096));
	p9_rec(p9c_getattr(&p9m, 1));
	p9_rec(p9c_fid(&p9m, P9_TCLUNK, 1));
	p9_put("read");

	p9_walk1(0, 2, "sub", NULL);
	p9_rec(p9c_lcreate(&p9m, 2, "new", P9_DOTL_RDWR, 0644));
	p9_rec(p9c_write(&p9m, 2, 0, "written", 7));
	p9_rec(p9c_setattr(&p9m, 2,
			   P9_SETATTR_SIZE | P9_SETATTR_MODE |
				   P9_SETATTR_ATIME | P9_SETATTR_MTIME,
			   0600, 3));
	p9_rec(p9c_fsync(&p9m, 2));
	p9_rec(p9c_lock(&p9m, P9_TLOCK, 2));
	p9_rec(p9c_lock(&p9m, P9_TGETLOCK, 2));
	p9_rec(p9c_fid(&p9m, P9_TCLUNK, 2));
	p9_put("create_write");

	p9_rec(p9c_mkdir(&p9m, 0, "d"));
	p9_rec(p9c_symlink(&p9m, 0, "l", "/etc/passwd"));
	p9_walk1(0, 3, "l", NULL);
	p9_rec(p9c_fid(&p9m, P9_TREADLINK, 3));
	p9_rec(p9c_renameat(&p9m, 0, "l", 0, "l2"));
	p9_walk1(0, 4, "hello.txt", NULL);
	p9_rec(p9c_link(&p9m, 0, 4, "h2"));
	p9_rec(p9c_unlinkat(&p9m, 0, "h2", 0));
	p9_rec(p9c_unlinkat(&p9m, 0, "d", P9_DOTL_AT_REMOVEDIR));
	p9_put("names");

	p9_rec(p9c_walk(&p9m, 0, 5, 0, NULL));
	p9_rec(p9c_lopen(&p9m, 5, P9_DOTL_RDONLY));
	p9_rec(p9c_read(&p9m, P9_TREADDIR, 5, 0, 8192));
	p9_rec(p9c_read(&p9m, P9_TREADDIR, 5, 3, 100));
	p9_put("readdir");

	p9_walk1(0, 6, "etc", "passwd");
	p9_walk1(0, 6, "up", "outside");
	p9_walk1(0, 6, "..", NULL);
	p9_walk1(0, 6, "secret", NULL);
	p9_rec(p9c_lopen(&p9m, 6, P9_DOTL_RDONLY));
	p9_rec(p9c_lcreate(&p9m, 0, "secret", P9_DOTL_WRONLY, 0644));
	p9_put("confinement");

	p9_rec(p9c_fid(&p9m, P9_TSTATFS, 0));
	p9_rec(p9c_flush(&p9m, 1));
	p9_rec(p9c_xattrwalk(&p9m, 0, 7, "user.a"));
	p9_rec(p9c_xattrcreate(&p9m, 0, "user.a"));
	p9_rec(p9c_mknod(&p9m, 0, "fifo"));
	p9_rec(p9c_rename(&p9m, 0, 0, "x"));
	p9_walk1(0, 8, "sub", NULL);
	p9_rec(p9c_fid(&p9m, P9_TREMOVE, 8));
	p9_rec(p9c_version(&p9m, 4096, "9P2000.L"));
	p9_rec(p9c_attach(&p9m, 9));
	p9_put("misc");

	p9_walk1(0, 1, "sub", "inner.txt");
	p9_walk1(0, 2, "sub", NULL);
	p9_rec(p9c_rename(&p9m, 1, 0, "top.txt"));
	p9_rec(p9c_walk(&p9m, 1, 3, 0, NULL));
	p9_rec(p9c_rename(&p9m, 3, 2, "back.txt"));
	p9_rec(p9c_renameat(&p9m, 2, "back.txt", 0, "x"));
	p9_rec(p9c_fid(&p9m, P9_TREMOVE, 1));
	p9_rec(p9c_fid(&p9m, P9_TREMOVE, 3));
	p9_rec(p9c_mkdir(&p9m, 2, "d"));
	p9_walk1(2, 4, "d", NULL);
	p9_rec(p9c_fid(&p9m, P9_TREMOVE, 4));
	p9_put("rename_remove");

	/* Lying sizes: one more, one less, huge, below the header; a
	 * message cut short; tiny reply room. */
	n = p9c_walk(&p9m, 0, 1, 1, (const char *[]){ "hello.txt" });
	le_put(p9m.buf, 4, n + 1);
	p9_rec(n);
	le_put(p9m.buf, 4, n - 1);
	p9_rec(n);
	le_put(p9m.buf, 4, 0xfffffff0u);
	p9_rec(n);
	le_put(p9m.buf, 4, 3);
	p9_rec(n);
	le_put(p9m.buf, 4, n);
	p9_rec(n - 5);
	p9_rec_raw(10, p9m.buf, n);
	p9_rec_raw(0, p9m.buf, n);
	n = p9c_write(&p9m, 1, 0, "abc", 3);
	le_put(p9m.buf + 19, 4, 1000);
	p9_rec(n);
	p9_put("lying_sizes");
}

/* ---- modules.dep seeds: modules.dep, then NUL and modules.builtin ---- */

static void modules_seed(const char *name, const char *dep, const char *builtin)
{
	char buf[2048];
	size_t n = strlen(dep);

	memcpy(buf, dep, n);
	if (builtin) {
		buf[n++] = '\0';
		memcpy(buf + n, builtin, strlen(builtin));
		n += strlen(builtin);
	}
	put("fuzz_modules_dep", name, buf, n);
}

static void modules_seeds(void)
{
	static const char debian[] =
		"kernel/drivers/virtio/virtio_mmio.ko:\n"
		"kernel/net/9p/9pnet_virtio.ko.xz: kernel/net/9p/9pnet.ko.xz\n"
		"kernel/fs/9p/9p.ko.xz: kernel/fs/netfs/netfs.ko.xz "
		"kernel/net/9p/9pnet.ko.xz kernel/fs/fscache/fscache.ko.xz\n"
		"kernel/fs/fscache/fscache.ko.xz: kernel/fs/netfs/netfs.ko.xz\n"
		"kernel/fs/netfs/netfs.ko.xz:\n"
		"kernel/net/9p/9pnet.ko.xz:\n"
		"kernel/fs/overlayfs/overlay.ko.xz:\n";

	modules_seed("debian", debian, NULL);
	modules_seed("debian_builtin", debian,
		     "kernel/drivers/virtio/virtio_mmio.ko\n"
		     "kernel/fs/overlayfs/overlay.ko\n");
	modules_seed("all_builtin", "",
		     "kernel/drivers/virtio/virtio_mmio.ko\n"
		     "kernel/net/9p/9pnet_virtio.ko\nkernel/fs/9p/9p.ko\n"
		     "kernel/fs/overlayfs/overlay.ko\n");
	modules_seed("loop", "virtio_mmio.ko: 9p.ko\n9p.ko: virtio-mmio.ko\n",
		     NULL);
	modules_seed("missing_dep", "kernel/virtio_mmio.ko: kernel/nosuch.ko\n",
		     NULL);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 64;
	}
	outdir = argv[1];
	virtq_seeds();
	p9_seeds();
	modules_seeds();

	bzimage_seed("bzimage_2_15", 4, 0x020f, 8192);
	bzimage_seed("bzimage_2_12", 1, 0x020c, 4096);
	elf_seed("elf_pvh8", true, 8, 0, 0);
	elf_seed("elf_pvh4_bss", true, 4, 0x1400000, 0x10000);
	elf_seed("elf_linux64", false, 4, 0, 0);

	arm64_image_seed("image_6_1", 0, 0x2000000, 0xa, 4096);
	arm64_image_seed("image_text_offset", 0x80000, 0x1000000, 0x2, 256);
	arm64_image_seed("image_old", 0x80000, 0, 0, 64);
	arm64_image_seed("image_be", 0, 0x1000000, 0x1, 64);
	put("fuzz_arm64_image", "image_gz", "\x1f\x8b\x08\x00", 4);

	cli_seed("help", (const char *const[]){ "--help", NULL });
	cli_seed("version", (const char *const[]){ "--version", NULL });
	cli_seed("run_min",
		 (const char *const[]){ "run", "--kernel", "bzImage", NULL });
	cli_seed("run_all",
		 (const char *const[]){
			 "run", "--kernel", "vmlinux", "--initrd",
			 "initrd.cpio", "--cmdline", "console=ttyS0 quiet",
			 "--cpus", "4", "--memory", "512M", "--serial",
			 "file:/tmp/console.log", "--boot-timing=json", NULL });
	cli_seed("run_eq",
		 (const char *const[]){ "run", "--kernel=k", "--memory=2GiB",
					"--cpus=255", "--serial=none",
					"--boot-timing", NULL });
	cli_seed("run_disks",
		 (const char *const[]){
			 "run", "--kernel", "k", "--disk", "path=a.img",
			 "--disk", "path=b.img,ro=on,serial=disk-b", "--disk",
			 "path=/dev/vdb,ro=off", NULL });
	return 0;
}
