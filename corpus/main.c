/*
 * main.c — corpus-gen's command line.
 *
 *   corpus-gen --seed N --out DIR [--only NAME[,NAME...]]   generate cases
 *   corpus-gen --check DIR [--only NAME[,NAME...]]          re-verify them
 *   corpus-gen --list                                       name and group of each
 *
 * Generation writes DIR/CASE/ for each scenario (replacing what was there).
 * --check prints one TAP-style line per case ("ok N - corpus: CASE" or
 * "not ok N - corpus: CASE: reason") and exits 1 when any case fails.
 * Exit status 64 for bad usage, as in waldo.
 */
#include "corpus.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: corpus-gen --seed N --out DIR [--only NAME[,NAME...]]\n"
	"       corpus-gen --check DIR [--only NAME[,NAME...]]\n"
	"       corpus-gen --list\n";

/* Is `name` in the comma-separated list (NULL: everything)? */
static bool selected(const char *only, const char *name)
{
	if (!only)
		return true;
	size_t n = strlen(name);
	for (const char *p = only; *p;) {
		const char *e = strchr(p, ',');
		size_t k = e ? (size_t)(e - p) : strlen(p);
		if (k == n && !strncmp(p, name, n))
			return true;
		p += k + (e ? 1 : 0);
	}
	return false;
}

/* Every name in --only must exist (in the table, or in the folder for --check). */
static int unknown_only(const char *only, char names[][64], int nnames)
{
	if (!only)
		return 0;
	int bad = 0;
	char buf[CG_PATH_MAX];
	snprintf(buf, sizeof buf, "%s", only);
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		bool found = false;
		if (names) {
			for (int i = 0; i < nnames && !found; i++)
				found = !strcmp(names[i], t);
		} else {
			found = scenario_find(t) != NULL;
		}
		if (!found) {
			fprintf(stderr, "corpus-gen: unknown case '%s'\n", t);
			bad = 1;
		}
	}
	return bad;
}

static void generate_one(const struct scenario *sc, uint64_t seed, const char *out)
{
	struct gen g;
	memset(&g, 0, sizeof g);
	g.sc = sc;
	g.seed = seed;
	g.exit_status = -1;
	g.want_opens = -1;
	g.want_integrity_ok = -1;
	die_set_case(sc->name);
	/* The case's randomness depends on the seed and its name only, so
	 * --only NAME makes the same bytes as a full run. */
	prng_seed(&g.rng, seed * 0x9e3779b97f4a7c15ull ^ hash_name(sc->name));
	det_vfs_reseed(prng_next(&g.rng));
	pathf(g.work, "%s/%s", tmp_root(), sc->name);
	pathf(g.dir, "%s/case", g.work);
	dir_remove(g.work);
	dir_make(g.dir);
	pathf(g.db, "%s/db", g.dir);
	pathf(g.wal, "%s/db-wal", g.dir);
	pathf(g.shm, "%s/db-shm", g.dir);
	pathf(g.journal, "%s/db-journal", g.dir);

	sc->build(&g);

	char dst[CG_PATH_MAX];
	pathf(dst, "%s/%s", out, sc->name);
	dir_remove(dst);
	dir_copy(g.dir, dst);
	expect_write(&g, dst);
	dir_remove(g.work);
	die_set_case(NULL);
}

static int generate(uint64_t seed, const char *out, const char *only)
{
	if (unknown_only(only, NULL, 0))
		return 1;
	dir_make(out);
	int n = 0;
	for (int i = 0; i < nscenarios; i++) {
		if (!selected(only, scenarios[i].name))
			continue;
		generate_one(&scenarios[i], seed, out);
		printf("corpus: %s\n", scenarios[i].name);
		n++;
	}
	printf("corpus: %d cases in %s\n", n, out);
	return 0;
}

static int check(const char *dir, const char *only)
{
	static char names[256][64];
	char casedir[CG_PATH_MAX], why[512];
	int n = dir_list(dir, names, 256, true);
	if (n < 0) {
		fprintf(stderr, "corpus-gen: cannot read '%s'\n", dir);
		return 1;
	}
	int failed = unknown_only(only, names, n), k = 0;
	for (int i = 0; i < n; i++) {
		if (!selected(only, names[i]))
			continue;
		pathf(casedir, "%s/%s", dir, names[i]);
		die_set_case(names[i]);
		k++;
		if (expect_check(casedir, names[i], why, sizeof why)) {
			printf("not ok %d - corpus: %s: %s\n", k, names[i], why);
			failed = 1;
		} else {
			printf("ok %d - corpus: %s\n", k, names[i]);
		}
		fflush(stdout);
	}
	if (k == 0) {
		printf("not ok 1 - corpus: no cases in %s\n", dir);
		failed = 1;
	}
	return failed;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "only", required_argument, NULL, 'n' },
		{ "check", required_argument, NULL, 'c' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *only = NULL, *checkdir = NULL, *seedarg = NULL;
	bool list = false;
	int c;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 's': seedarg = optarg; break;
		case 'o': out = optarg; break;
		case 'n': only = optarg; break;
		case 'c': checkdir = optarg; break;
		case 'l': list = true; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 64;
		}
	}
	if (optind != argc || (list + !!checkdir + !!out) != 1 || (out && !seedarg) ||
	    (seedarg && !out)) {
		fputs(usage, stderr);
		return 64;
	}
	if (list) {
		for (int i = 0; i < nscenarios; i++)
			if (selected(only, scenarios[i].name))
				printf("%-32s %-10s %s\n", scenarios[i].name, scenarios[i].group,
				       scenarios[i].description);
		return 0;
	}
	uint64_t seed = 0;
	if (seedarg) {
		char *end;
		seed = strtoull(seedarg, &end, 10);
		if (*seedarg < '0' || *seedarg > '9' || *end) {
			fprintf(stderr, "corpus-gen: --seed wants a decimal number, not '%s'\n", seedarg);
			return 64;
		}
	}
	det_vfs_install();
	int rc = checkdir ? check(checkdir, only) : generate(seed, out, only);
	tmp_cleanup();
	return rc;
}
