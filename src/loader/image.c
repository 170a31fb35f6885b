/*
 * The kernel and initrd files: mapped read-only (never blocking on a
 * FIFO), handed to the boot protocol, and every failure worded naming the
 * input at fault.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader/loader.h"

/*
 * Map a whole file read-only; an empty file is an error. Every failure is
 * -ENOEXEC (a kernel or initrd that cannot be used, KVMLITE_STATUS_BAD_IMAGE
 * in the command), with the errno text in the message.
 */
static int map_file(const char *path, const char *what, uint8_t **data,
		    size_t *size, char *err, size_t errlen)
{
	struct stat st;
	int fd, ret = -ENOEXEC;

	/* O_NONBLOCK: opening a FIFO (refused below) must not wait for a
	 * writer. The descriptor is only mapped, never read. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s %s: not a regular file", what, path);
		goto out;
	}
	if (st.st_size == 0) {
		snprintf(err, errlen, "%s %s: file is empty", what, path);
		goto out;
	}
	*data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (*data == MAP_FAILED) {
		*data = NULL;
		snprintf(err, errlen, "%s %s: cannot map it: %s", what, path,
			 strerror(errno));
		goto out;
	}
	*size = (size_t)st.st_size;
	ret = 0;
out:
	close(fd);
	return ret;
}

int boot_load_images(const struct guest_mem *m, const struct boot_images *in,
		     struct boot_entry *out, char *err, size_t errlen)
{
	uint8_t *kernel = NULL, *initrd = NULL;
	size_t ksize = 0, isize = 0;
	char why[400];
	struct boot_args a;
	int ret;

	ret = map_file(in->kernel_path, "kernel", &kernel, &ksize, err, errlen);
	if (ret)
		return ret;
	if (in->initrd_path) {
		ret = map_file(in->initrd_path, "initrd", &initrd, &isize, err,
			       errlen);
		if (ret)
			goto out;
	}
	a = (struct boot_args){
		.kernel = kernel,
		.kernel_size = ksize,
		.initrd = initrd ? initrd : in->initrd_data,
		.initrd_size = initrd ? isize : in->initrd_size,
		.cmdline = in->cmdline,
		.ncpus = in->ncpus,
		.mmio_devs = in->mmio_devs,
		.nr_mmio_devs = in->nr_mmio_devs,
	};
	why[0] = '\0';
	ret = arch_boot_prepare(m, &a, out, why, sizeof(why));
	if (ret) {
		if (ret == -EINVAL)
			ret = -ENOEXEC;
		if (!why[0])
			snprintf(why, sizeof(why), "%s", strerror(-ret));
		switch (out->culprit) {
		case BOOT_INPUT_INITRD:
			snprintf(err, errlen, "initrd %s: %s",
				 in->initrd_path   ? in->initrd_path
				 : in->initrd_name ? in->initrd_name
						   : "(in memory)",
				 why);
			break;
		case BOOT_INPUT_CMDLINE:
			snprintf(err, errlen, "--cmdline: %s", why);
			break;
		case BOOT_INPUT_KERNEL:
			snprintf(err, errlen, "kernel %s: %s", in->kernel_path,
				 why);
			break;
		}
	}
out:
	if (kernel)
		munmap(kernel, ksize);
	if (initrd)
		munmap(initrd, isize);
	return ret;
}
