/*
 * The architecture seam: what the neutral core (vm.c, kvm.c, vcpu.c,
 * exit.c, dump.c, snapshot.c, guest_mem.c, loader/image.c) asks of the
 * machine's architecture. CMake builds one implementation by target:
 *   x86_64: kvm_x86.c, board_x86.c, snapshot_x86.c, vcpu/x86_*.c,
 *           loader/x86_*.c, the port-I/O devices (devices/i8042.c, rtc.c)
 *   arm64:  kvm_arm64.c, board_arm64.c, snapshot_arm64.c, vcpu/arm64*.c,
 *           loader/arm64_*.c
 * Headers that differ by architecture pick with KVMLITE_ARCH_*.
 */
#ifndef KVMLITE_ARCH_H
#define KVMLITE_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__)
#define KVMLITE_ARCH_X86 1
#define KVMLITE_ARCH_NAME "x86_64"
#elif defined(__aarch64__)
#define KVMLITE_ARCH_ARM64 1
#define KVMLITE_ARCH_NAME "arm64"
#else
#error "kvmlite builds for x86_64 and arm64 only"
#endif

struct dumpbuf;
struct guest_region;
struct kvmlite_vm;
struct snap_writer;
struct snapfile;
struct vcpu;
struct vcpu_snapshot;

/* ---- KVM (kvm_<arch>.c) ---- */

/* /dev/kvm has every capability this architecture's machine needs (its
 * table, through kvm_check_caps()): 0, or -ENODEV with the missing one
 * named. */
int arch_kvm_check_caps(int kvm_fd, char *err, size_t errlen);
/* KVM_CREATE_VM's type argument (arm64: the IPA size). */
unsigned long arch_kvm_vm_type(int kvm_fd);
/* Before guest memory's slots (x86: the TSS and identity map). */
int arch_kvm_pre_memory(int kvm_fd, int vm_fd, char *err, size_t errlen);
/* After them, before the vCPUs: the in-kernel interrupt controller
 * (x86: PIC, IOAPIC, PIT; arm64: the vGICv3 device, initialized later). */
int arch_kvm_irqchip(int vm_fd, unsigned int cpus, char *err, size_t errlen);

/* ---- The VM (vm.c's create_kvm_vm) ---- */

/* Once per VM before its vCPUs (x86: the CPUID model). 0 or -errno
 * with a message. */
int arch_vm_setup(struct kvmlite_vm *vm, char *err, size_t errlen);
/* vCPU @v, created and its run page mapped: its CPU model and boot
 * registers. 0 or -errno with a message. */
int arch_vcpu_setup(struct kvmlite_vm *vm, struct vcpu *v, char *err,
		    size_t errlen);
/* Every vCPU exists (arm64: the vGIC is initialized now). */
int arch_vcpus_created(struct kvmlite_vm *vm, char *err, size_t errlen);

/* ---- vCPU state for the dump (vcpu/<arch>_regs.c) ---- */

/* On @v's thread: read its state into @s (s->err on failure). */
void arch_vcpu_state_read(struct vcpu *v, struct vcpu_snapshot *s);
/* The dump's lines for a state read (valid: taken, no error). */
void arch_vcpu_state_dump(unsigned int id, const struct vcpu_snapshot *s,
			  double age_ms, struct dumpbuf *b);
/* The registers of a crashed vCPU, for the exit's detail. */
void arch_regs_dump(struct vcpu *v, char *buf, size_t len);
/* What a crash exit (KVM_EXIT_SHUTDOWN) means here. */
extern const char arch_shutdown_exit_name[];

/* ---- Guest memory's layout (guest_mem.c) ---- */

/* RAM of @size bytes at host @base, as guest-physical regions (at most
 * GMEM_MAX_REGIONS): x86 below the 32-bit hole and from 4 GiB; arm64 one
 * region from ARM64_RAM_BASE. */
int arch_ram_regions(uint64_t size, uint8_t *base, struct guest_region *r);

/* ---- Snapshots (snapshot_<arch>.c) ---- */

/* Whether this architecture's snapshots are built. */
extern const bool arch_snapshots_supported;
/* The VM-level and per-vCPU sections (SNAP_VM, SNAP_VCPU i). The VM is
 * paused. 0 or -errno with a message. */
int arch_snapshot_save(struct kvmlite_vm *vm, struct snap_writer *w, char *err,
		       size_t errlen);
struct arch_cpu_state;
/* Decode those sections and check them against this VM (unless
 * @in_place): *out for arch_snapshot_apply(), then
 * arch_snapshot_free(). -EINVAL with a message for a bad snapshot. */
int arch_snapshot_decode(struct kvmlite_vm *vm, const struct snapfile *f,
			 bool in_place, struct arch_cpu_state **out, char *err,
			 size_t errlen);
int arch_snapshot_apply(struct kvmlite_vm *vm, struct arch_cpu_state *s,
			char *err, size_t errlen);
void arch_snapshot_free(struct kvmlite_vm *vm, struct arch_cpu_state *s);

#endif
