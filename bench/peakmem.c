/*
 * peakmem.c — `bench-peakmem RESULT CMD [ARGS...]`: peak memory of a command.
 *
 * Runs CMD (stdin, stdout and stderr inherited) and writes one line to the
 * file RESULT:
 *
 *   peak_anon_kb=N maxrss_kb=M seconds=S status=X
 *
 * maxrss_kb is the kernel's high-water mark of the resident set (what GNU
 * time -v calls "Maximum resident set size"); for waldo it counts every
 * mapped file page it touched, so an 800 MB WAL read through mmap shows as
 * 800 MB there although none of it is waldo's own memory.  peak_anon_kb is
 * the largest RssAnon (heap, stacks: the memory the program allocated)
 * seen by polling /proc/PID/status every 200 microseconds while CMD runs;
 * Linux keeps no high-water mark for it alone.  A polled peak can miss an
 * allocation that lives less than the interval, which is why the bench
 * quotes it for memory held for the whole run (per-frame records).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* RssAnon of pid in KiB, or -1 when the process is gone. */
static long rss_anon_kb(const char *status_path)
{
	FILE *f = fopen(status_path, "r");
	if (!f)
		return -1;
	char line[256];
	long kb = -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "RssAnon:", 8)) {
			kb = strtol(line + 8, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fputs("usage: bench-peakmem RESULT CMD [ARGS...]\n", stderr);
		return 64;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 71;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "bench-peakmem: cannot run '%s': %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	char status_path[64];
	snprintf(status_path, sizeof status_path, "/proc/%d/status", (int)pid);
	long peak = 0;
	int st = 0;
	struct rusage ru;
	for (;;) {
		pid_t r = wait4(pid, &st, WNOHANG, &ru);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			perror("wait4");
			return 71;
		}
		long kb = rss_anon_kb(status_path);
		if (kb > peak)
			peak = kb;
		struct timespec d = { 0, 200000 };
		nanosleep(&d, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	FILE *out = fopen(argv[1], "w");
	if (!out) {
		perror(argv[1]);
		return 73;
	}
	fprintf(out, "peak_anon_kb=%ld maxrss_kb=%ld seconds=%.6f status=%d\n", peak, ru.ru_maxrss,
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return fclose(out) == 0 ? 0 : 73;
}
