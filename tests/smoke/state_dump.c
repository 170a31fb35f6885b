/*
 * kvmlite_vm_dump(): every vCPU answers with its own state (running,
 * paused, stopped), devices report their queues, a short buffer gets a
 * truncated, terminated text and the full length.
 * Usage: state_dump HANG_STUB (on the local /dev/kvm).
 */
#include <errno.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "kvmlite.h"

static int fails;
static char text[65536];

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "FAIL: " __VA_ARGS__);                 \
			fprintf(stderr, "\n");                                 \
			fails++;                                               \
		}                                                              \
	} while (0)

/* Some line of the dump matches the extended regex @re. */
static void expect_line(const char *when, const char *re)
{
	regex_t r;
	bool hit = false;
	char *save = NULL, *copy = strdup(text);

	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB)) {
		CHECK(0, "bad regex %s", re);
		return;
	}
	for (char *l = strtok_r(copy, "\n", &save); l && !hit;
	     l = strtok_r(NULL, "\n", &save))
		hit = regexec(&r, l, 0, NULL, 0) == 0;
	regfree(&r);
	free(copy);
	CHECK(hit, "%s: no line /%s/ in:\n%s", when, re, text);
}

/* KVM_CAP_COALESCED_PIO on this /dev/kvm. */
static bool kvm_coalesces_pio(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm, n = 0;

	if (kvm < 0)
		return false;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm >= 0) {
		n = ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_PIO);
		close(vm);
	}
	close(kvm);
	return n > 0;
}

static void dump(struct kvmlite_vm *vm)
{
	int n = kvmlite_vm_dump(vm, text, sizeof(text));

	CHECK(n > 0 && (size_t)n < sizeof(text), "dump returned %d", n);
	CHECK(strlen(text) == (size_t)n, "length %zu vs %d", strlen(text), n);
}

int main(int argc, char **argv)
{
	struct kvmlite_config cfg;
	struct kvmlite_disk disk = { 0 };
	struct kvmlite_vm *vm;
	char err[256], path[] = "/tmp/kvmlite-dump-XXXXXX", small[64];
	int fd, n, n2;

	if (argc != 2)
		return 2;
	if (access("/dev/kvm", R_OK | W_OK)) {
		fprintf(stderr,
			"SKIP: state_dump: /dev/kvm is not usable here\n");
		return 77;
	}
	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, 1 << 20))
		return 1;
	close(fd);
	disk.path = path;
	kvmlite_config_init(&cfg);
	cfg.kernel_path = argv[1];
	cfg.cpus = 2;
	cfg.memory = 32 << 20;
	cfg.name = "dumped";
	cfg.disks = &disk;
	cfg.nr_disks = 1;
	if (kvmlite_vm_create(&cfg, &vm, err, sizeof(err))) {
		fprintf(stderr, "FAIL: create: %s\n", err);
		return 1;
	}
	/* Before start: nothing runs, nothing to wait for. */
	dump(vm);
	expect_line("created", "^vm: name=dumped exit=running started=0 ");
	expect_line("created", "^vcpu0: thread=not-started exits=0");

	CHECK(kvmlite_vm_start(vm) == 0, "start");
	CHECK(kvmlite_vm_expect(vm, "hello", 10000, NULL, 0) == 0, "hello");
	usleep(100000);
	dump(vm);
	/* The stub halts in 32-bit code near its entry (0x100000). Its
	 * greeting went to KVM's coalesced ring, without an exit, and the
	 * console thread's tick played it (the expect above saw it); where
	 * KVM cannot coalesce, each byte was an exit. */
	CHECK(!kvm_coalesces_pio() || strstr(text, "\ncoalesced: "),
	      "KVM can coalesce I/O port writes, the UART's are not");
	if (strstr(text, "\ncoalesced: ")) {
		expect_line("running", "^vcpu0: thread=in-guest exits=0 ");
		expect_line("running", "^coalesced: played=27 queued=0$");
	} else {
		expect_line("running",
			    "^vcpu0: thread=in-guest exits=[1-9][0-9]* "
			    "last_exit=io-out:0x3f8$");
	}
	expect_line("running", "^vcpu0: read [0-9.]+ ms ago: mp_state=halted "
			       "rip=0x1000[0-9a-f]{2} .* cr0=0x11 ");
	expect_line("running", "^vcpu0: pending: interrupt=- .*lapic_irr=- ");
	/* The AP never got INIT/SIPI. */
	expect_line("running",
		    "^vcpu1: read .* mp_state=uninitialized rip=0xfff0 ");
	expect_line("running", "^ioapic: irr=0x[0-9a-f]+");
	expect_line("running", "^uart: ier=0x00 iir=0x01 lsr=0x60 ");
	expect_line("running",
		    "^console: written=0 dropped=0 queued=0 stalls=0 "
		    "blocked=0 dropping=0 out_error=-$");
	expect_line("running", "^virtio0: device=2 status=0x00 ");
	expect_line("running", "^virtio0: q0 size=0 ready=0 ");
	expect_line("running", "^virtio0: blk capacity=2048 read_only=0 ");

	/* A short buffer: truncated, terminated, the full length returned. */
	n = kvmlite_vm_dump(vm, small, sizeof(small));
	CHECK(n > (int)sizeof(small), "short dump returned %d", n);
	CHECK(strlen(small) == sizeof(small) - 1, "short dump length %zu",
	      strlen(small));
	/* Times and counters change between two dumps: about as long. */
	n2 = kvmlite_vm_dump(vm, NULL, 0);
	CHECK(n2 > n - 64 && n2 < n + 64, "length-only dump: %d vs %d", n2, n);

	/* Paused vCPUs answer too. */
	CHECK(kvmlite_vm_pause(vm) == 0, "pause");
	dump(vm);
	expect_line("paused", "^vm: .* paused=1 ");
	expect_line("paused", "^vcpu0: thread=paused ");
	expect_line("paused", "^vcpu1: thread=paused ");
	expect_line("paused", "^vcpu0: read [0-9.]+ ms ago: mp_state=halted ");
	CHECK(!strstr(text, "NOT ANSWERING"), "a paused vCPU did not answer");
	CHECK(kvmlite_vm_resume(vm) == 0, "resume");

	/* After the stop: the state each vCPU left with. */
	kvmlite_vm_stop(vm);
	CHECK(kvmlite_vm_wait(vm, 5000) == 0, "wait");
	dump(vm);
	expect_line("stopped", "^vm: name=dumped exit=stopped .* finished=1 "
			       "vcpus=2 running=0");
	expect_line("stopped", "^vcpu0: thread=done ");
	expect_line("stopped", "^vcpu0: read .* mp_state=halted rip=0x1000");
	kvmlite_vm_destroy(vm);
	unlink(path);
	if (!fails)
		printf("PASS: state_dump\n");
	return fails ? 1 : 0;
}
