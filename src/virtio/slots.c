/* The virtio slot table. See slots.h. */
#include "virtio/slots.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "board.h"
#include "err.h"
#include "kvm.h"
#include "snapfile.h"
#include "util.h"

/* Every kind of virtio device, in the order the guest sees them. */
static const struct virtio_kind *const kinds[] = {
	&virtio_blk_kind,   &virtio_net_kind, &virtio_rng_kind,
	&virtio_vsock_kind, &virtio_p9_kind,
};

int virtio_slots_create(struct virtio_slots *s, const struct virtio_slot_ctx *c,
			char *err, size_t errlen)
{
	for (size_t k = 0; k < ARRAY_LEN(kinds); k++) {
		unsigned int n = kinds[k]->count(c->cfg);

		for (unsigned int i = 0; i < n; i++) {
			struct virtio_slot *sl = &s->slot[s->nr];
			int ret;

			if (s->nr >= KVMLITE_MAX_DEVICES)
				return err_fmt(err, errlen, -EINVAL,
					       "more than %d virtio devices",
					       KVMLITE_MAX_DEVICES);
			*sl = (struct virtio_slot){ .kind = kinds[k],
						    .index = i };
			ret = kinds[k]->create(c, i, &sl->dev, err, errlen);
			if (ret)
				return ret;
			sl->mmio = kinds[k]->transport(sl->dev);
			board_virtio_window(s->nr, &sl->win);
			s->wins[s->nr] = sl->win;
			s->nr++;
		}
	}
	return 0;
}

int virtio_slots_attach(struct virtio_slots *s, struct bus *mmio, int vm_fd,
			char *err, size_t errlen)
{
	for (unsigned int i = 0; i < s->nr; i++) {
		const struct virtio_slot *sl = &s->slot[i];
		const char *name = sl->kind->name;
		int ret;

		ret = bus_register(mmio, sl->win.base, sl->win.size,
				   virtio_mmio_io, sl->mmio, name);
		if (ret)
			return err_fmt(err, errlen, ret, "%s window: %s", name,
				       strerror(-ret));
		/* A guest notify then wakes the device without an exit. */
		for (unsigned int q = 0; q < virtio_mmio_nr_queues(sl->mmio);
		     q++) {
			ret = kvm_ioeventfd(
				vm_fd, sl->win.base + VIRTIO_MMIO_QUEUE_NOTIFY,
				4, q, virtio_mmio_kick_fd(sl->mmio, q));
			if (ret)
				return err_fmt(err, errlen, ret,
					       "%s: KVM_IOEVENTFD: %s", name,
					       strerror(-ret));
		}
	}
	return 0;
}

/* Apart from virtio_slots_attach(): arm64's KVM refuses KVM_IRQFD
 * (EAGAIN) until the vGIC is initialized, which needs every vCPU. */
int virtio_slots_irqfds(struct virtio_slots *s, int vm_fd, char *err,
			size_t errlen)
{
	for (unsigned int i = 0; i < s->nr; i++) {
		const struct virtio_slot *sl = &s->slot[i];
		int ret = kvm_irqfd(vm_fd, virtio_mmio_call_fd(sl->mmio),
				    sl->win.gsi);

		if (ret)
			return err_fmt(err, errlen, ret, "%s: KVM_IRQFD: %s",
				       sl->kind->name, strerror(-ret));
	}
	return 0;
}

int virtio_slots_start(struct virtio_slots *s, char *err, size_t errlen)
{
	for (unsigned int i = 0; i < s->nr; i++) {
		int ret = s->slot[i].kind->start(s->slot[i].dev);

		if (ret)
			return err_fmt(err, errlen, ret,
				       "cannot start %s %u: %s",
				       s->slot[i].kind->name, s->slot[i].index,
				       strerror(-ret));
	}
	return 0;
}

void virtio_slots_dump(struct virtio_slots *s, struct dumpbuf *b)
{
	for (unsigned int i = 0; i < s->nr; i++) {
		char prefix[32];

		snprintf(prefix, sizeof(prefix), "virtio%u", i);
		virtio_mmio_dump(s->slot[i].mmio, prefix, b);
	}
}

void virtio_slots_quiesce(struct virtio_slots *s, bool hold)
{
	for (unsigned int i = 0; i < s->nr; i++)
		virtio_mmio_quiesce(s->slot[i].mmio, hold);
}

int virtio_slots_saveable(const struct virtio_slots *s, char *err,
			  size_t errlen)
{
	for (unsigned int i = 0; i < s->nr; i++) {
		const struct virtio_slot *sl = &s->slot[i];

		if (!sl->mmio->ops->save || !sl->mmio->ops->restore)
			return err_fmt(err, errlen, -EOPNOTSUPP,
				       "%s %u cannot be saved (its device "
				       "has no snapshot state)",
				       sl->kind->name, sl->index);
	}
	return 0;
}

int virtio_slots_save(struct virtio_slots *s, struct snap_writer *w,
		      const struct snap_files *files, char *err, size_t errlen)
{
	for (unsigned int i = 0; i < s->nr; i++) {
		const struct virtio_slot *sl = &s->slot[i];
		int ret;

		snap_begin(w, SNAP_VIRTIO, i);
		snap_put_str(w, sl->kind->name);
		snap_put_u32(w, sl->index);
		/* Never a transport without its device's state. */
		if (!sl->mmio->ops->save)
			ret = -EOPNOTSUPP;
		else
			ret = virtio_mmio_save(sl->mmio, w, files);
		snap_end(w);
		if (ret)
			return err_fmt(err, errlen, ret, "%s %u: %s",
				       sl->kind->name, sl->index,
				       strerror(-ret));
	}
	return 0;
}

int virtio_slots_restore(struct virtio_slots *s, const struct snapfile *f,
			 const struct snap_files *files, char *err,
			 size_t errlen)
{
	for (unsigned int i = 0; i < s->nr; i++) {
		const struct virtio_slot *sl = &s->slot[i];
		struct snap_reader r;
		char kind[64];
		int ret;

		if (snapfile_section(f, SNAP_VIRTIO, i, &r))
			return err_fmt(err, errlen, -EINVAL,
				       "no section for virtio slot %u (%s %u)",
				       i, sl->kind->name, sl->index);
		snap_get_str(&r, kind, sizeof(kind));
		if (r.err || strcmp(kind, sl->kind->name) ||
		    snap_get_u32(&r) != sl->index || r.err)
			return err_fmt(err, errlen, -EINVAL,
				       "virtio slot %u: the section is not "
				       "for %s %u",
				       i, sl->kind->name, sl->index);
		ret = virtio_mmio_restore(sl->mmio, &r, files);
		if (ret)
			return err_fmt(err, errlen, ret,
				       "virtio slot %u (%s %u): %s", i,
				       sl->kind->name, sl->index,
				       ret == -EINVAL ? "invalid state"
						      : strerror(-ret));
	}
	return 0;
}

void virtio_slots_counters(struct virtio_slots *s, struct dumpbuf *b)
{
	bool first = true;

	for (unsigned int i = 0; i < s->nr; i++) {
		const struct virtio_slot *sl = &s->slot[i];

		if (!sl->kind->counters)
			continue;
		dumpbuf_printf(b, "%s\"%s%u\":{", first ? "" : ",",
			       sl->kind->counter_name, sl->index);
		sl->kind->counters(sl->dev, b);
		dumpbuf_printf(b, "}");
		first = false;
	}
}

void virtio_slots_destroy(struct virtio_slots *s)
{
	for (unsigned int i = 0; i < s->nr; i++)
		s->slot[i].kind->destroy(s->slot[i].dev);
	s->nr = 0;
}
