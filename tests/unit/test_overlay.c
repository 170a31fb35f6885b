/*
 * Unit tests for the disk overlay (src/virtio/overlay.c): reads come from
 * the top layer holding each cluster, partial writes copy the rest of
 * their cluster up, a reset goes back to the snapshot's layer (or the
 * image), a saved layer restores in another overlay, and the image is
 * never written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapfile.h"
#include "unit.h"
#include "virtio/overlay.h"

/* Three clusters and a partial one. */
#define DISK_BYTES (3 * OVERLAY_CLUSTER + 4096)

/* Each save writes a new layer file, as a snapshot does (the old one
 * stays in use until the overlay takes the new one). */
static char img[64], layer[2][64];
static int saves;
static int base_fd;
static uint8_t *want; /* what the disk should read */

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 13 + off / 4096);
}

static void setup(void)
{
	uint8_t *buf = malloc(DISK_BYTES);
	int fd;

	for (uint64_t i = 0; i < DISK_BYTES; i++)
		buf[i] = pattern(i);
	snprintf(img, sizeof(img), "/tmp/kvmlite-overlay-XXXXXX");
	fd = mkstemp(img);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, DISK_BYTES), DISK_BYTES);
	close(fd);
	base_fd = open(img, O_RDONLY);
	ck_assert_int_ge(base_fd, 0);
	want = buf;
	for (int i = 0; i < 2; i++) {
		snprintf(layer[i], sizeof(layer[i]),
			 "/tmp/kvmlite-layer-XXXXXX");
		fd = mkstemp(layer[i]);
		ck_assert_int_ge(fd, 0);
		close(fd);
	}
	saves = 0;
}

static void teardown(void)
{
	close(base_fd);
	unlink(img);
	unlink(layer[0]);
	unlink(layer[1]);
	free(want);
}

static void rw(struct overlay *o, uint64_t off, void *buf, size_t len,
	       bool write)
{
	struct iovec v[2] = { { buf, len / 2 },
			      { (uint8_t *)buf + len / 2, len - len / 2 } };

	ck_assert_int_eq(overlay_rw(o, v, 2, off, len, write), (ssize_t)len);
}

static void write_at(struct overlay *o, uint64_t off, size_t len, uint8_t c)
{
	uint8_t *buf = malloc(len);

	memset(buf, c, len);
	rw(o, off, buf, len, true);
	memset(want + off, c, len);
	free(buf);
}

/* The whole disk reads as @want. */
static void check_disk(struct overlay *o)
{
	uint8_t *buf = malloc(DISK_BYTES);

	rw(o, 0, buf, DISK_BYTES, false);
	for (uint64_t i = 0; i < DISK_BYTES; i++)
		if (buf[i] != want[i])
			ck_abort_msg("byte %llu: 0x%02x, want 0x%02x",
				     (unsigned long long)i, buf[i], want[i]);
	free(buf);
}

static void check_image_untouched(void)
{
	uint8_t *buf = malloc(DISK_BYTES);

	ck_assert_int_eq(pread(base_fd, buf, DISK_BYTES, 0), DISK_BYTES);
	for (uint64_t i = 0; i < DISK_BYTES; i++)
		if (buf[i] != pattern(i))
			ck_abort_msg("the image changed at byte %llu",
				     (unsigned long long)i);
	free(buf);
}

static void reset_want(void)
{
	for (uint64_t i = 0; i < DISK_BYTES; i++)
		want[i] = pattern(i);
}

START_TEST(writes_and_reset)
{
	struct overlay o;

	ck_assert_int_eq(overlay_open(&o, base_fd, DISK_BYTES), 0);
	check_disk(&o);
	/* Across clusters 0 and 1, partial at both ends. */
	write_at(&o, OVERLAY_CLUSTER - 10, 100, 0xa1);
	/* All of cluster 2; into the partial last one. */
	write_at(&o, 2 * OVERLAY_CLUSTER, OVERLAY_CLUSTER, 0xb2);
	write_at(&o, 3 * OVERLAY_CLUSTER + 100, 512, 0xc3);
	/* Again into a cluster already copied up. */
	write_at(&o, 10, 20, 0xd4);
	check_disk(&o);
	check_image_untouched();
	ck_assert_int_eq(overlay_reset(&o), 0);
	reset_want();
	check_disk(&o);
	/* Out of range. */
	{
		uint8_t b[512];
		struct iovec v = { b, sizeof(b) };

		ck_assert_int_eq(
			overlay_rw(&o, &v, 1, DISK_BYTES - 256, 512, true),
			-EINVAL);
	}
	overlay_close(&o);
	check_image_untouched();
}
END_TEST

/* Save the overlay's layers into the layer file: the map in @f. */
static int save_layer(struct overlay *o, struct snapfile *f)
{
	static const uint8_t id[SNAP_ID_BYTES];
	struct snap_writer w;
	const uint8_t *out;
	uint8_t *copy;
	size_t len;
	int fd = open(layer[saves++ % 2], O_RDWR | O_TRUNC), ret;

	ck_assert_int_ge(fd, 0);
	snap_writer_init(&w);
	snap_begin(&w, SNAP_CONFIG, 0);
	ret = overlay_save(o, fd, &w);
	snap_end(&w);
	if (ret) {
		close(fd);
		snap_writer_free(&w);
		return ret;
	}
	ck_assert_int_eq(snap_finish(&w, id, &out, &len), 0);
	copy = malloc(len);
	memcpy(copy, out, len);
	snap_writer_free(&w);
	return snapfile_parse(f, copy, len, NULL, 0);
}

START_TEST(snapshot_layer)
{
	struct overlay o, o2;
	struct snapfile f;
	struct snap_reader r;
	uint8_t *at_snapshot = malloc(DISK_BYTES);
	int fd;

	ck_assert_int_eq(overlay_open(&o, base_fd, DISK_BYTES), 0);
	write_at(&o, 5000, 3000, 0x11);
	write_at(&o, 3 * OVERLAY_CLUSTER, 4096, 0x22);
	ck_assert_int_eq(save_layer(&o, &f), 0);
	memcpy(at_snapshot, want, DISK_BYTES);
	check_disk(&o); /* nothing changed for the guest */
	/* Written after the snapshot, gone at a reset. */
	write_at(&o, 0, 2 * OVERLAY_CLUSTER, 0x33);
	check_disk(&o);
	ck_assert_int_eq(snapfile_section(&f, SNAP_CONFIG, 0, &r), 0);
	ck_assert(overlay_map_matches(&o, &r));
	ck_assert_int_eq(overlay_reset(&o), 0);
	memcpy(want, at_snapshot, DISK_BYTES);
	check_disk(&o);

	/* The layer restores in another overlay of the same image. */
	ck_assert_int_eq(overlay_open(&o2, base_fd, DISK_BYTES), 0);
	fd = open(layer[0], O_RDONLY);
	ck_assert_int_eq(snapfile_section(&f, SNAP_CONFIG, 0, &r), 0);
	ck_assert_int_eq(overlay_restore(&o2, fd, &r), 0);
	check_disk(&o2);
	/* A second snapshot keeps both generations' clusters. */
	write_at(&o2, 2 * OVERLAY_CLUSTER + 7, 9, 0x44);
	snapfile_free(&f);
	ck_assert_int_eq(save_layer(&o2, &f), 0);
	ck_assert_int_eq(overlay_reset(&o2), 0);
	check_disk(&o2);
	overlay_close(&o2);
	overlay_close(&o);
	check_image_untouched();
	snapfile_free(&f);
	free(at_snapshot);
}
END_TEST

START_TEST(bad_maps_refused)
{
	struct overlay o, small;
	struct snapfile f;
	struct snap_reader r;
	uint8_t buf[64];
	int fd;

	ck_assert_int_eq(overlay_open(&o, base_fd, DISK_BYTES), 0);
	write_at(&o, 0, 1, 0x55);
	ck_assert_int_eq(save_layer(&o, &f), 0);
	/* A disk of another size. */
	ck_assert_int_eq(overlay_open(&small, base_fd, OVERLAY_CLUSTER), 0);
	ck_assert_int_eq(snapfile_section(&f, SNAP_CONFIG, 0, &r), 0);
	ck_assert(!overlay_map_matches(&small, &r));
	ck_assert_int_eq(snapfile_section(&f, SNAP_CONFIG, 0, &r), 0);
	ck_assert_int_eq(overlay_restore(&small, -1, &r), -EINVAL);
	overlay_close(&small);
	/* A bit past the last cluster. */
	ck_assert_int_eq(snapfile_section(&f, SNAP_CONFIG, 0, &r), 0);
	memcpy(buf, r.p, r.len);
	buf[8] |= 0x80; /* cluster 7 of a 4-cluster disk */
	r.p = buf;
	ck_assert_int_eq(overlay_restore(&o, -1, &r), -EINVAL);
	/* A map with clusters but no layer, or a layer too short. */
	ck_assert_int_eq(snapfile_section(&f, SNAP_CONFIG, 0, &r), 0);
	ck_assert_int_eq(overlay_restore(&o, -1, &r), -EINVAL);
	ck_assert_int_eq(truncate(layer[1], 4096), 0);
	fd = open(layer[1], O_RDONLY);
	ck_assert_int_eq(snapfile_section(&f, SNAP_CONFIG, 0, &r), 0);
	ck_assert_int_eq(overlay_restore(&o, fd, &r), -EINVAL);
	close(fd);
	/* Nothing changed. */
	check_disk(&o);
	overlay_close(&o);
	snapfile_free(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("overlay");
	TCase *tc = tcase_create("overlay");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, writes_and_reset);
	tcase_add_test(tc, snapshot_layer);
	tcase_add_test(tc, bad_maps_refused);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
