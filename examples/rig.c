/*
 * A minimal test rig on libkvmlite: boot a kernel with an initramfs that
 * gives a shell on the console (tests/guest/initramfs --shell), wait for
 * the prompt, type a command, check its output, and let the guest end the
 * VM through the test-exit port. Prints a verdict; returns 0 on success.
 *
 *   rig [options] KERNEL INITRD
 *     --cmdline STR   kernel command line (default KVMLITE_DEFAULT_CMDLINE)
 *     --prompt STR    the shell prompt to wait for (default "# ")
 *     --command STR   the command to type
 *                     (default "echo RIG-OK $((6*7)); test_exit 7")
 *     --marker STR    what the command must print (default "RIG-OK 42")
 *     --exit N        the test-exit value expected (default 7)
 *     --timeout S     seconds for each step (default 240)
 *     --quiet         do not copy the guest console to stdout
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kvmlite.h>

static void usage(void)
{
	fprintf(stderr, "usage: rig [--cmdline STR] [--prompt STR] "
			"[--command STR] [--marker STR] [--exit N] "
			"[--timeout S] [--quiet] KERNEL INITRD\n");
	exit(2);
}

static int verdict(struct kvmlite_vm *vm, const char *what)
{
	printf("RIG-VERDICT: FAIL: %s\n", what);
	kvmlite_vm_destroy(vm);
	return 1;
}

int main(int argc, char **argv)
{
	const char *prompt = "# ", *marker = "RIG-OK 42";
	const char *command = "echo RIG-OK $((6*7)); test_exit 7";
	int want_exit = 7, timeout_ms = 240 * 1000, quiet = 0;
	struct kvmlite_config cfg;
	struct kvmlite_vm *vm = NULL;
	struct kvmlite_exit ex;
	char err[512], seen[4096], line[1024], msg[8192];
	int i, ret;

	kvmlite_config_init(&cfg);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *o = argv[i];

		if (!strcmp(o, "--quiet")) {
			quiet = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (!strcmp(o, "--cmdline"))
			cfg.cmdline = argv[++i];
		else if (!strcmp(o, "--prompt"))
			prompt = argv[++i];
		else if (!strcmp(o, "--command"))
			command = argv[++i];
		else if (!strcmp(o, "--marker"))
			marker = argv[++i];
		else if (!strcmp(o, "--exit"))
			want_exit = atoi(argv[++i]);
		else if (!strcmp(o, "--timeout"))
			timeout_ms = atoi(argv[++i]) * 1000;
		else
			usage();
	}
	if (argc - i != 2)
		usage();
	cfg.kernel_path = argv[i];
	cfg.initrd_path = argv[i + 1];
	cfg.memory = 256 << 20;
	if (!quiet)
		cfg.console_out_fd = STDOUT_FILENO;
	setvbuf(stdout, NULL, _IONBF, 0);

	printf("RIG: libkvmlite %s\n", kvmlite_version_string());
	ret = kvmlite_vm_create(&cfg, &vm, err, sizeof(err));
	if (ret) {
		printf("RIG-VERDICT: FAIL: create: %s (%s)\n", err,
		       strerror(-ret));
		return 1;
	}
	ret = kvmlite_vm_start(vm);
	if (ret)
		return verdict(vm, kvmlite_vm_last_error(vm));

	/* Linux drops console input that arrives before the shell opens
	 * the tty: type only once the prompt is there. */
	ret = kvmlite_vm_expect(vm, prompt, timeout_ms, seen, sizeof(seen));
	if (ret) {
		snprintf(msg, sizeof(msg),
			 "no prompt '%s' (%s); last output: %s", prompt,
			 strerror(-ret), seen);
		return verdict(vm, msg);
	}
	printf("\nRIG: got the prompt, typing: %s\n", command);
	snprintf(line, sizeof(line), "%s\n", command);
	if (kvmlite_vm_console_write(vm, line, strlen(line)) != strlen(line))
		return verdict(vm, "console write was cut short");

	ret = kvmlite_vm_expect(vm, marker, timeout_ms, seen, sizeof(seen));
	if (ret) {
		snprintf(msg, sizeof(msg), "no '%s' (%s); last output: %s",
			 marker, strerror(-ret), seen);
		return verdict(vm, msg);
	}
	printf("\nRIG: saw the marker '%s'\n", marker);

	ret = kvmlite_vm_wait(vm, timeout_ms);
	if (ret)
		return verdict(vm, "the guest did not exit");
	kvmlite_vm_exit_info(vm, &ex);
	if (ex.reason != KVMLITE_EXIT_TEST_EXIT ||
	    ex.test_exit_value != want_exit) {
		snprintf(msg, sizeof(msg),
			 "exit reason %d value %d (status %d), wanted "
			 "test-exit %d: %s",
			 ex.reason, ex.test_exit_value,
			 kvmlite_exit_status(&ex), want_exit, ex.detail);
		return verdict(vm, msg);
	}
	printf("RIG-VERDICT: PASS: marker seen, test-exit %d\n",
	       ex.test_exit_value);
	kvmlite_vm_destroy(vm);
	return 0;
}
