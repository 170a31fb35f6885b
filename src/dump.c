/*
 * The state dump: what a test prints when its guest hangs or crashes, so
 * that the failure can be attributed. Each vCPU reads its own state (KVM's
 * vCPU ioctls wait for KVM_RUN to return): the dump kicks them and waits a
 * bounded time; one that does not answer is reported as such, with where
 * it was. Device state is read without waiting for any lock a stuck
 * thread might hold.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "dumpbuf.h"
#include "vm.h"

#define DUMP_VCPU_WAIT_NS (200 * 1000000ULL)

static const char *exit_reason_name(enum kvmlite_exit_reason r)
{
	switch (r) {
	case KVMLITE_EXIT_NONE:
		return "running";
	case KVMLITE_EXIT_POWEROFF:
		return "poweroff";
	case KVMLITE_EXIT_REBOOT:
		return "reboot";
	case KVMLITE_EXIT_TEST_EXIT:
		return "test-exit";
	case KVMLITE_EXIT_CRASH:
		return "crash";
	case KVMLITE_EXIT_STOPPED:
		return "stopped";
	case KVMLITE_EXIT_ERROR:
		return "error";
	case KVMLITE_EXIT_EXEC_FAILED:
		return "exec-failed";
	}
	return "?";
}

static const char *vcpu_state_name(int st)
{
	static const char *const names[] = { "not-started", "in-guest",
					     "in-exit", "paused", "done" };

	return st >= 0 && st <= VCPU_DONE ? names[st] : "?";
}

const char *vcpu_mp_state_name(uint32_t mp)
{
	static const char *const names[] = {
		"runnable",	 "uninitialized", "init-received", "halted",
		"sipi-received", "stopped",	  "check-stop",	   "operating",
		"load",		 "ap-reset-hold", "suspended",
	};

	return mp < sizeof(names) / sizeof(names[0]) ? names[mp] : "?";
}

static void exit_name(uint32_t reason, uint64_t addr, bool wr,
		      struct dumpbuf *b)
{
	switch (reason) {
	case KVM_EXIT_IO:
		dumpbuf_printf(b, "io-%s:0x%llx", wr ? "out" : "in",
			       (unsigned long long)addr);
		break;
	case KVM_EXIT_MMIO:
		dumpbuf_printf(b, "mmio-%s:0x%llx", wr ? "write" : "read",
			       (unsigned long long)addr);
		break;
	case KVM_EXIT_INTR:
		dumpbuf_printf(b, "intr");
		break;
	case KVM_EXIT_SHUTDOWN:
		dumpbuf_printf(b, "shutdown");
		break;
	default:
		dumpbuf_printf(b, "%u", reason);
		break;
	}
}

static void dump_snapshot(const struct vcpu *v, const struct vcpu_snapshot *s,
			  uint64_t now, struct dumpbuf *b)
{
	if (!s->taken_ns) {
		dumpbuf_printf(b, "vcpu%u: no state read yet\n", v->id);
		return;
	}
	if (s->err) {
		dumpbuf_printf(b, "vcpu%u: state unreadable: %s\n", v->id,
			       strerror(-s->err));
		return;
	}
	arch_vcpu_state_dump(v->id, s, (double)(now - s->taken_ns) / 1e6, b);
}

/* Note where each vCPU thread is (@was, before the kick moves it), kick
 * every running one and wait (bounded) for each to read its own state.
 * Returns with vm->lock held. */
static unsigned int collect_snapshots(struct kvmlite_vm *vm, int *was)
{
	struct timespec ts;
	unsigned int seq;
	bool all;

	pthread_mutex_lock(&vm->lock);
	seq = __atomic_add_fetch(&vm->dump_seq, 1, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		was[i] = __atomic_load_n(&vm->vcpus[i].state, __ATOMIC_RELAXED);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		if (was[i] != VCPU_DONE)
			vcpu_kick(&vm->vcpus[i]);
	pthread_cond_broadcast(&vm->cond); /* parked ones answer too */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += (long)DUMP_VCPU_WAIT_NS;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	do {
		all = true;
		for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
			struct vcpu *v = &vm->vcpus[i];
			int st = __atomic_load_n(&v->state, __ATOMIC_RELAXED);

			if (v->thread_started && st != VCPU_DONE &&
			    v->snap_seq != seq)
				all = false;
		}
	} while (!all &&
		 pthread_cond_timedwait(&vm->cond, &vm->lock, &ts) == 0);
	return seq;
}

static void dump_vcpus(struct kvmlite_vm *vm, unsigned int seq, const int *was,
		       struct dumpbuf *b)
{
	uint64_t now = now_ns();

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		int st = was[i];
		bool answered = __atomic_load_n(&v->state, __ATOMIC_RELAXED) ==
					VCPU_DONE ||
				v->snap_seq == seq;

		dumpbuf_printf(b, "vcpu%u: thread=%s exits=%llu last_exit=", i,
			       vcpu_state_name(st),
			       (unsigned long long)__atomic_load_n(
				       &v->exits, __ATOMIC_RELAXED));
		exit_name(
			__atomic_load_n(&v->last_exit, __ATOMIC_RELAXED),
			__atomic_load_n(&v->last_exit_addr, __ATOMIC_RELAXED),
			__atomic_load_n(&v->last_exit_write, __ATOMIC_RELAXED),
			b);
		if (v->thread_started && !answered)
			dumpbuf_printf(b,
				       " NOT ANSWERING: did not leave %s "
				       "within %llu ms of a kick",
				       st == VCPU_IN_GUEST ? "KVM_RUN"
							   : "its exit",
				       DUMP_VCPU_WAIT_NS / 1000000ULL);
		dumpbuf_printf(b, "\n");
		if (v->thread_started)
			dump_snapshot(v, &v->snap, now, b);
	}
}

static void dump_console(const char *name, struct console *c, struct dumpbuf *b)
{
	struct console_stats cs;

	console_get_stats(c, &cs);
	dumpbuf_printf(b,
		       "%s: written=%llu dropped=%llu queued=%zu stalls=%llu "
		       "blocked=%d dropping=%d out_error=%s\n",
		       name, (unsigned long long)cs.written,
		       (unsigned long long)cs.dropped, cs.queued,
		       (unsigned long long)cs.stalls, cs.blocked, cs.dropping,
		       cs.out_error ? strerror(cs.out_error) : "-");
}

int kvmlite_vm_dump(struct kvmlite_vm *vm, char *buf, size_t len)
{
	struct dumpbuf b = { .buf = buf, .size = len };
	int was[KVMLITE_MAX_CPUS];
	unsigned int seq;
	uint64_t now = now_ns();

	if (!vm)
		return -EINVAL;
	if (buf && len)
		buf[0] = '\0';
	seq = collect_snapshots(vm, was);
	dumpbuf_printf(&b,
		       "vm: name=%s exit=%s started=%d stopping=%d paused=%d "
		       "finished=%d vcpus=%u running=%u",
		       vm->name ? vm->name : "-",
		       exit_reason_name(vm->exit.reason), vm->started,
		       vm->stopping, vm->pause_requested, vm->finished,
		       vm->nr_vcpus, vm->vcpus_running);
	if (vm->t.first_run)
		dumpbuf_printf(&b, " uptime_ms=%.1f",
			       (double)(now - vm->t.first_run) / 1e6);
	if (vm->last_error[0])
		dumpbuf_printf(&b, " last_error=\"%s\"", vm->last_error);
	dumpbuf_printf(&b, "\n");
	dump_vcpus(vm, seq, was, &b);
	pthread_mutex_unlock(&vm->lock);

	board_dump(vm, &b);
	if (vm->console_ready)
		dump_console("console", &vm->console, &b);
	if (vm->console_err_ready)
		dump_console("console_err", &vm->console_err, &b);
	coalesced_dump(&vm->coal, &b);
	if (vm->exec)
		dumpbuf_printf(&b,
			       "exec: demux_state=%d frame_type=0x%02x "
			       "frame_left=%u\n",
			       vm->demux.state, vm->demux.type,
			       (unsigned int)vm->demux.left);
	virtio_slots_dump(&vm->virtio, &b);
	return b.need > (size_t)2147483647 ? -E2BIG : (int)b.need;
}
