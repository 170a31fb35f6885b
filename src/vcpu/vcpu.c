/* vCPU threads: KVM_RUN loop and exit dispatch. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "err.h"
#include "kvm.h"
#include "sandbox.h"
#include "vm.h"

int vcpu_create(struct kvmlite_vm *vm, struct vcpu *v, unsigned int id,
		char *err, size_t errlen)
{
	int mmap_size, ret;

	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->id = id;
	v->fd = kvm_create_vcpu(vm->vm_fd, id);
	if (v->fd < 0)
		return err_fmt(err, errlen, v->fd, "KVM_CREATE_VCPU %u: %s", id,
			       strerror(-v->fd));
	mmap_size = kvm_vcpu_mmap_size(vm->kvm_fd);
	if (mmap_size < 0)
		return err_fmt(err, errlen, mmap_size,
			       "KVM_GET_VCPU_MMAP_SIZE: %s",
			       strerror(-mmap_size));
	v->run = mmap(NULL, (size_t)mmap_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		ret = -errno;
		snprintf(err, errlen, "mmap of vCPU %u state: %s", id,
			 strerror(errno));
		return ret;
	}
	v->run_size = (size_t)mmap_size;

	return arch_vcpu_setup(vm, v, err, errlen);
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}

/* Only the kick signal is unblocked, and only inside KVM_RUN. */
static int vcpu_set_signal_mask(struct vcpu *v)
{
	struct {
		struct kvm_signal_mask hdr;
		uint8_t set[8];
	} m;
	sigset_t set;

	pthread_sigmask(SIG_SETMASK, NULL, &set);
	sigdelset(&set, v->vm->cfg.kick_signal);
	m.hdr.len = 8;
	memcpy(m.set, &set, 8);
	if (ioctl(v->fd, KVM_SET_SIGNAL_MASK, &m) < 0)
		return -errno;
	return 0;
}

static void set_state(struct vcpu *v, enum vcpu_state st)
{
	__atomic_store_n(&v->state, (int)st, __ATOMIC_RELAXED);
}

static void snapshot_take(struct vcpu *v, struct vcpu_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->taken_ns = now_ns();
	if (ioctl(v->fd, KVM_GET_MP_STATE, &s->mp) < 0)
		s->err = -errno;
	else
		arch_vcpu_state_read(v, s);
}

void vcpu_answer_dump(struct vcpu *v)
{
	struct kvmlite_vm *vm = v->vm;
	struct vcpu_snapshot s;
	unsigned int seq = __atomic_load_n(&vm->dump_seq, __ATOMIC_ACQUIRE);

	if (v->snap_seq == seq)
		return;
	snapshot_take(v, &s);
	pthread_mutex_lock(&vm->lock);
	v->snap = s;
	v->snap_seq = seq;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

/*
 * After a kick: take the pending kick signal (it would make every later
 * KVM_RUN return at once), answer a dump, re-arm KVM_RUN, and park if a
 * pause is asked.
 */
static void vcpu_kicked(struct vcpu *v)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, v->vm->cfg.kick_signal);
	while (sigtimedwait(&set, NULL, &zero) > 0)
		;
	vcpu_answer_dump(v);
	if (v->vm->stopping)
		return;
	if (vm_pause_wanted(v->vm)) {
		set_state(v, VCPU_PARKED);
		vm_park_vcpu(v->vm, v);
		set_state(v, VCPU_IN_EXIT);
	}
	__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
}

/* What the dump says about the last exit. */
static void note_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint64_t addr = 0;
	uint8_t wr = 0;

	if (run->exit_reason == KVM_EXIT_IO) {
		addr = run->io.port;
		wr = run->io.direction == KVM_EXIT_IO_OUT;
	} else if (run->exit_reason == KVM_EXIT_MMIO) {
		addr = run->mmio.phys_addr;
		wr = run->mmio.is_write;
	}
	__atomic_store_n(&v->last_exit, run->exit_reason, __ATOMIC_RELAXED);
	__atomic_store_n(&v->last_exit_addr, addr, __ATOMIC_RELAXED);
	__atomic_store_n(&v->last_exit_write, wr, __ATOMIC_RELAXED);
	__atomic_fetch_add(&v->exits, 1, __ATOMIC_RELAXED);
}

/* The thread is done with the guest (the console thread waits for it).
 * Its last state stays readable by a later dump. */
static void vcpu_exited(struct vcpu *v)
{
	struct kvmlite_vm *vm = v->vm;
	struct vcpu_snapshot s;

	snapshot_take(v, &s);
	pthread_mutex_lock(&vm->lock);
	v->snap = s;
	set_state(v, VCPU_DONE);
	vm->vcpus_running--;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct kvmlite_vm *vm = v->vm;
	int ret;

	ret = vcpu_set_signal_mask(v);
	if (ret) {
		vm_request_exit(vm, KVMLITE_EXIT_ERROR, 0,
				"vCPU %u: KVM_SET_SIGNAL_MASK: %s", v->id,
				strerror(-ret));
		vcpu_exited(v);
		return NULL;
	}
	/* Before the first guest instruction. */
	if (vm->cfg.seccomp > 0) {
		ret = sandbox_enter(SANDBOX_VCPU);
		if (ret) {
			vm_request_exit(vm, KVMLITE_EXIT_ERROR, 0,
					"vCPU %u: seccomp filter: %s", v->id,
					strerror(-ret));
			vcpu_exited(v);
			return NULL;
		}
	}
	pthread_mutex_lock(&vm->lock);
	v->self = pthread_self();
	v->kickable = true;
	if (v->id == 0)
		vm->t.first_run = now_ns();
	pthread_mutex_unlock(&vm->lock);
	while (!vm->stopping) {
		set_state(v, VCPU_IN_GUEST);
		ret = ioctl(v->fd, KVM_RUN, 0);
		set_state(v, VCPU_IN_EXIT);
		/* The guest's coalesced writes came before this exit. */
		coalesced_play(&vm->coal);
		if (ret < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				vcpu_kicked(v);
				continue;
			}
			vm_request_exit(vm, KVMLITE_EXIT_ERROR, 0,
					"vCPU %u: KVM_RUN: %s", v->id,
					strerror(errno));
			break;
		}
		note_exit(v);
		if (vcpu_handle_exit(v))
			break;
	}
	vcpu_exited(v);
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	sigset_t block, old;
	int ret;

	/* Threads inherit the mask: the kick stays blocked outside KVM_RUN,
	 * so it can never reach a handler (or kill the process). */
	sigemptyset(&block);
	sigaddset(&block, v->vm->cfg.kick_signal);
	pthread_mutex_lock(&v->vm->lock);
	v->vm->vcpus_running++;
	pthread_mutex_unlock(&v->vm->lock);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	ret = -pthread_create(&v->thread, NULL, vcpu_thread, v);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!ret)
		v->thread_started = true;
	else
		vcpu_exited(v);
	return ret;
}

/* Under vm->lock. A thread not yet kickable has not entered KVM_RUN: it
 * will see immediate_exit (or stopping) when it does. */
void vcpu_kick(struct vcpu *v)
{
	if (v->run)
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (v->kickable)
		pthread_kill(v->self, v->vm->cfg.kick_signal);
}
