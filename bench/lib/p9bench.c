/* bench/exec's guest side of the 9p throughput series: times, on the
 * guest's CLOCK_MONOTONIC, a sequential read of FILE (1 MiB reads), a walk
 * of TREE (readdir and an lstat of every entry, as find -ls or du do) and
 * the creation of COUNT files of 4 KiB in DIR (open O_CREAT|O_EXCL, one
 * write, close). Prints one line:
 * P9BENCH read_bytes=... read_secs=... walk_entries=... walk_secs=...
 *         create_files=... create_secs=... */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long walk(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	long n = 0;
	if (!d) {
		perror(path);
		exit(2);
	}
	while ((e = readdir(d))) {
		char sub[PATH_MAX];
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (lstat(sub, &st)) {
			perror(sub);
			exit(2);
		}
		n++;
		if (S_ISDIR(st.st_mode))
			n += walk(sub);
	}
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	static char buf[1 << 20];
	char name[PATH_MAX];
	long long bytes = 0;
	double t0, t_read, t_walk, t_create;
	long entries, count;
	ssize_t r;
	int fd;

	if (argc != 5) {
		fprintf(stderr, "usage: p9bench FILE TREE DIR COUNT\n");
		return 2;
	}
	count = atol(argv[4]);
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 2;
	}
	t0 = now();
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		bytes += r;
	t_read = now() - t0;
	close(fd);
	t0 = now();
	entries = walk(argv[2]);
	t_walk = now() - t0;
	memset(buf, 'x', 4096);
	t0 = now();
	for (long i = 0; i < count; i++) {
		snprintf(name, sizeof(name), "%s/f%ld", argv[3], i);
		fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0 || write(fd, buf, 4096) != 4096 || close(fd)) {
			perror(name);
			return 2;
		}
	}
	t_create = now() - t0;
	printf("P9BENCH read_bytes=%lld read_secs=%.4f walk_entries=%ld "
	       "walk_secs=%.4f create_files=%ld create_secs=%.4f\n",
	       bytes, t_read, entries, t_walk, count, t_create);
	return 0;
}
