/*
 * kvmlite exec through the library alone (kvmlite_config.exec, no
 * command line): a command that does not exist ends the VM with
 * KVMLITE_EXIT_EXEC_FAILED, status KVMLITE_EXEC_NOT_FOUND, the init's line
 * in the detail and on the stderr fd, nothing on stdout
 * (tests/boot/test_exec.sh).
 *
 *   exec KERNEL MODULES_DIR WORKDIR
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kvmlite.h"

static int fails;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "FAIL: exec: " __VA_ARGS__);           \
			fprintf(stderr, "\n");                                 \
			fails++;                                               \
		}                                                              \
	} while (0)

static size_t slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

int main(int argc, char **argv)
{
	static const char *const cmd[] = { "/no/such/command", "arg", NULL };
	static const char line[] =
		"kvmlite exec: /no/such/command: No such file or directory";
	struct kvmlite_config cfg;
	struct kvmlite_vm *vm = NULL;
	struct kvmlite_exit ex;
	char out_path[512], err_path[512], err[512], buf[4096];
	int out_fd, err_fd, ret;

	if (argc != 4) {
		fprintf(stderr, "usage: exec KERNEL MODULES_DIR WORKDIR\n");
		return 2;
	}
	snprintf(out_path, sizeof(out_path), "%s/lib.out", argv[3]);
	snprintf(err_path, sizeof(err_path), "%s/lib.err", argv[3]);
	out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	err_fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(out_fd >= 0 && err_fd >= 0, "cannot create the output files");

	kvmlite_config_init(&cfg);
	cfg.kernel_path = argv[1];
	cfg.memory = 512ULL << 20;
	cfg.console_out_fd = out_fd;
	cfg.exec.argv = cmd;
	cfg.exec.modules_dir = argv[2];
	cfg.exec.stderr_fd = err_fd;
	ret = kvmlite_vm_create(&cfg, &vm, err, sizeof(err));
	CHECK(!ret, "create: %s", err);
	if (ret)
		return 1;
	ret = kvmlite_vm_start(vm);
	CHECK(!ret, "start: %d", ret);
	ret = kvmlite_vm_wait(vm, 100000);
	CHECK(!ret, "the VM did not end within 100 s");
	kvmlite_vm_exit_info(vm, &ex);
	CHECK(ex.reason == KVMLITE_EXIT_EXEC_FAILED, "reason %d (%s)",
	      ex.reason, ex.detail);
	CHECK(ex.test_exit_value == KVMLITE_EXEC_NOT_FOUND, "value %d",
	      ex.test_exit_value);
	CHECK(kvmlite_exit_status(&ex) == KVMLITE_EXEC_NOT_FOUND, "status %d",
	      kvmlite_exit_status(&ex));
	CHECK(!strcmp(ex.detail, line), "detail '%s'", ex.detail);
	kvmlite_vm_destroy(vm);
	close(out_fd);
	close(err_fd);
	CHECK(slurp(out_path, buf, sizeof(buf)) == 0, "stdout has '%s'", buf);
	slurp(err_path, buf, sizeof(buf));
	CHECK(!strncmp(buf, line, sizeof(line) - 1) &&
		      buf[sizeof(line) - 1] == '\n' && !buf[sizeof(line)],
	      "stderr is '%s'", buf);
	if (!fails)
		printf("LIBTEST-EXEC-OK\n");
	return fails ? 1 : 0;
}
