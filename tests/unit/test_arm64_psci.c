/* PSCI's ends (vcpu/exit.c): KVM handles PSCI 0.2 in the kernel and hands
 * SYSTEM_OFF and SYSTEM_RESET back as KVM_EXIT_SYSTEM_EVENT; they end the
 * VM as a power-off (the command's status 0) and a reboot (80). */
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "vm.h"

static struct kvmlite_vm *fake_vm(void)
{
	struct kvmlite_vm *vm = calloc(1, sizeof(*vm));

	ck_assert_ptr_nonnull(vm);
	vm->kvm_fd = vm->vm_fd = vm->exit_fd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	console_log_init(&vm->con);
	return vm;
}

static void free_vm(struct kvmlite_vm *vm)
{
	console_log_free(&vm->con);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

static enum kvmlite_exit_reason event(uint32_t type)
{
	struct kvmlite_vm *vm = fake_vm();
	struct kvm_run *run = calloc(1, sizeof(*run));
	struct vcpu v = { .vm = vm, .run = run, .run_size = sizeof(*run) };
	enum kvmlite_exit_reason r;

	run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
	run->system_event.type = type;
	ck_assert_int_eq(vcpu_handle_exit(&v), 1);
	r = vm->exit.reason;
	free(run);
	free_vm(vm);
	return r;
}

START_TEST(system_off_and_reset)
{
	ck_assert_int_eq(event(KVM_SYSTEM_EVENT_SHUTDOWN),
			 KVMLITE_EXIT_POWEROFF);
	ck_assert_int_eq(event(KVM_SYSTEM_EVENT_RESET), KVMLITE_EXIT_REBOOT);
	/* Anything else (a crash event) is a crash, not a clean end. */
	ck_assert_int_eq(event(KVM_SYSTEM_EVENT_CRASH), KVMLITE_EXIT_CRASH);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("arm64_psci");
	TCase *tc = tcase_create("psci");

	tcase_add_test(tc, system_off_and_reset);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
