/* Fakes of what devices call out to, for the unit tests: they record. */
#ifndef KVMLITE_TESTS_FAKES_H
#define KVMLITE_TESTS_FAKES_H

#include "platform.h"

#define FAKE_PLATFORM_MAX_EVENTS 16

/*
 * Stands in for the VM behind a struct platform_ops: records the events
 * a device raises, the first FAKE_PLATFORM_MAX_EVENTS of them.
 */
struct fake_platform {
	int nr; /* events raised, recorded or not */
	enum platform_event ev[FAKE_PLATFORM_MAX_EVENTS];
	int val[FAKE_PLATFORM_MAX_EVENTS];
};

/* The platform_ops event hook; @opaque is a struct fake_platform. */
static inline void fake_platform_event(void *opaque, enum platform_event ev,
				       int value)
{
	struct fake_platform *p = opaque;

	if (p->nr < FAKE_PLATFORM_MAX_EVENTS) {
		p->ev[p->nr] = ev;
		p->val[p->nr] = value;
	}
	p->nr++;
}

#endif
