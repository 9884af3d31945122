/*
 * harness.c — runs every TEST() (or those whose names contain one of the
 * arguments), each in a forked child with a time limit, and prints
 * "ok N - name" / "not ok N - name" lines that tests/run.sh counts.
 */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

#define T(name) void test_##name(void);
#include "unit_list.h"
#undef T

static const struct { const char *name; void (*fn)(void); } tests[] = {
#define T(name) { #name, test_##name },
#include "unit_list.h"
#undef T
};

char tl_tmp_dir[4096];

_Noreturn void tl_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "# %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	exit(1);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	remove(p);
	return 0;
}

/* WALDO_TEST_SKIP: comma-separated names of tests that cannot run here
 * (make valgrind lists those valgrind itself cannot host). */
static int skipped(const char *name)
{
	const char *s = getenv("WALDO_TEST_SKIP");
	size_t n = strlen(name);
	while (s && *s) {
		const char *e = strchr(s, ',');
		size_t k = e ? (size_t)(e - s) : strlen(s);
		if (k == n && !strncmp(s, name, n))
			return 1;
		s = e ? e + 1 : NULL;
	}
	return 0;
}

static int selected(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (strstr(name, argv[i]))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	const char *base = getenv("TMPDIR");
	char root[2048];
	snprintf(root, sizeof root, "%s/waldo-unit-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 2;
	}
	unsigned timeout = getenv("WALDO_TEST_TIMEOUT") ? (unsigned)atoi(getenv("WALDO_TEST_TIMEOUT")) : 300;
	int n = 0, failed = 0;
	for (size_t i = 0; i < sizeof tests / sizeof *tests; i++) {
		if (!selected(tests[i].name, argc, argv))
			continue;
		n++;
		if (skipped(tests[i].name)) {
			printf("ok %d - %s # SKIP WALDO_TEST_SKIP\n", n, tests[i].name);
			continue;
		}
		snprintf(tl_tmp_dir, sizeof tl_tmp_dir, "%s/%s", root, tests[i].name);
		mkdir(tl_tmp_dir, 0700);
		fflush(stdout);
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 2;
		}
		if (pid == 0) {
			alarm(timeout);
			tests[i].fn();
			exit(0);
		}
		int st = 0;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
		if (!ok && WIFSIGNALED(st))
			fprintf(stderr, "# %s: killed by signal %d%s\n", tests[i].name, WTERMSIG(st),
				WTERMSIG(st) == SIGALRM ? " (time limit)" : "");
		printf("%s %d - %s\n", ok ? "ok" : "not ok", n, tests[i].name);
		failed += !ok;
		nftw(tl_tmp_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	}
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	fflush(stdout);
	return failed ? 1 : 0;
}
