/*
 * cmd_bisect.c — `waldo bisect`: the first commit of the WAL after which
 * SQLite's PRAGMA integrity_check fails, and what that commit changed.
 *
 * Each state is materialised (materialize_state) into a private temporary
 * folder and checked by real libsqlite3; the inputs are never opened by
 * SQLite.  The database file alone (state 0) and the last commit are
 * checked first; the search between them assumes that a state stays broken
 * once broken, as `git bisect` does.  --all checks every state instead.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "json.h"
#include "materialize.h"
#include "model.h"
#include "report.h"
#include "salvage.h"

#define MAX_LOGGED 128       /* checks kept for the report (bisection needs ~34) */

static const char usage[] =
	"usage: waldo bisect [--json] [--all] [--wal FILE] PATH\n"
	"\n"
	"Find the first commit of the WAL of PATH after which SQLite's PRAGMA\n"
	"integrity_check fails, and name what that commit changed: its frames,\n"
	"and for each page it wrote the b-tree page type before and after.\n"
	"States are materialised into a private temporary folder (libsqlite3\n"
	"never opens the inputs).  State 0 (the database file alone) and the last\n"
	"commit are checked first, then a binary search between them, which\n"
	"assumes a state stays broken once broken.  Never writes to the inputs.\n"
	"\n"
	"  --all        check every state in order instead of bisecting\n"
	"  --json       one JSON object: {path, commits, checked:[...], first_bad,\n"
	"               state0_fails, change, findings, status}\n"
	"  --wal FILE   use FILE as the WAL (saved apart from the database)\n"
	"\n"
	"Exit status: 0 every state checked passes, 2 some state fails (the first\n"
	"bad commit, or state 0 already) or the database or its WAL changed while\n"
	"it was read (INPUT_CHANGED: no answer), 64 bad usage, 66 an input cannot be\n"
	"read or holds no database, 73 the temporary states cannot be written.\n";

struct check {
	uint32_t k;
	int result;                  /* sqlite_integrity: 1 ok, 0 fails, -1 unreadable */
	char msg[256];
};

struct bisect {
	const struct model *m;
	char dir[4096];
	struct check log[MAX_LOGGED];
	unsigned nlog;
	uint64_t nchecks;
	int8_t *seen;                /* per state: -2 unknown, else the result */
	char err[512];
	bool io_error;
};

/* integrity_check rows can hold newlines; keep reports one line each. */
static void flatten(char *msg)
{
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = *(p + 1) ? ' ' : '\0';
}

/* Materialise state k and ask SQLite.  Returns 1 ok, 0 fails, -1 unreadable;
 * sets io_error (and returns -1) when the state cannot be written. */
static int check_state(struct bisect *b, uint32_t k, char *msg, size_t n)
{
	const struct model *m = b->m;
	uint32_t npages = model_npages(m, k);
	msg[0] = '\0';
	if (npages == 0) {
		snprintf(msg, n, "empty database");
		return 1;                             /* SQLite treats an empty file as a new database */
	}
	if (!model_size_plausible(m, npages)) {
		snprintf(msg, n, "the state claims %u pages, far more than the files hold", npages);
		return 0;
	}
	char path[4200], err[512];
	snprintf(path, sizeof path, "%s/state-%u.db", b->dir, k);
	uint32_t missing;
	if (materialize_state(m, k, path, &missing, err, sizeof err)) {
		snprintf(b->err, sizeof b->err, "%s", err);
		b->io_error = true;
		return -1;
	}
	int rc = sqlite_integrity(path, msg, n);
	unlink(path);
	flatten(msg);
	return rc;
}

static int probe(struct bisect *b, uint32_t k)
{
	if (b->seen[k] != -2)
		return b->seen[k];
	char msg[256];
	int rc = check_state(b, k, msg, sizeof msg);
	b->seen[k] = (int8_t)rc;
	b->nchecks++;
	if (b->nlog < MAX_LOGGED) {
		struct check *c = &b->log[b->nlog++];
		c->k = k;
		c->result = rc;
		snprintf(c->msg, sizeof c->msg, "%s", msg);
	}
	return rc;
}

static const char *type_name(uint8_t t)
{
	switch (t) {
	case 2: return "interior index";
	case 5: return "interior table";
	case 10: return "leaf index";
	case 13: return "leaf table";
	}
	return "not a b-tree page";
}

/* Type byte of page pgno in state k, or -1 when the state has no such page. */
static int page_type(const struct model *m, uint32_t k, uint32_t pgno)
{
	if (pgno > model_npages(m, k))
		return -1;
	const uint8_t *p = model_page(m, k, pgno, NULL);
	uint32_t off = pgno == 1 ? 100 : 0;
	return p && off < m->page_size ? p[off] : -1;
}

struct changed {
	uint32_t pgno, frame;
	int type, before;
};

/* Pages commit k wrote, each with its newest frame in the commit. */
static uint32_t changes(const struct model *m, uint32_t k, struct changed **out)
{
	const struct wal_txn *t = &m->wal.txns[k - 1];
	uint32_t n = 0, nf = t->last - t->first + 1;
	struct changed *c = calloc(nf, sizeof *c);
	*out = c;
	if (!c)
		return 0;
	for (uint32_t f = t->first; f <= t->last; f++) {
		uint32_t p = m->wal.frames[f - 1].pgno;
		if (model_find_frame(m, p, f, t->last))
			continue;                      /* a later frame of this commit wins */
		c[n].pgno = p;
		c[n].frame = f;
		c[n].type = page_type(m, k, p);
		c[n].before = page_type(m, k - 1, p);
		n++;
	}
	return n;
}

static const char *result_name(int r)
{
	return r == 1 ? "ok" : r == 0 ? "fails" : "unreadable";
}

static void print_text(const char *path, const struct bisect *b, uint32_t n, int first_bad,
		       const struct changed *c, uint32_t nc, const struct wd_diags *d)
{
	const struct model *m = b->m;
	printf("waldo bisect %s\n", report_esc(path));
	printf("states 0..%u (0 = the database file alone, %u = the last commit SQLite sees)\n", n, n);
	for (unsigned i = 0; i < b->nlog; i++) {
		const struct check *x = &b->log[i];
		if (x->result == 1)
			printf("  commit %-6u ok\n", x->k);
		else
			printf("  commit %-6u %-10s %s\n", x->k, result_name(x->result), report_esc(x->msg));
	}
	if (b->nchecks > b->nlog)
		printf("  (%llu more checks not listed)\n", (unsigned long long)(b->nchecks - b->nlog));
	printf("\n");
	if (first_bad < 0) {
		printf("every state checked passes integrity_check%s\n",
		       b->nchecks < (uint64_t)n + 1 ? " (states between them are assumed fine; --all checks each)" : "");
	} else if (first_bad == 0) {
		printf("the database file alone (state 0) already fails integrity_check: the damage predates "
		       "the WAL\n");
	} else {
		const struct wal_txn *t = &m->wal.txns[first_bad - 1];
		printf("first bad commit: %d (frames %u-%u, %u frame%s, database %u -> %u pages)\n", first_bad,
		       t->first, t->last, t->last - t->first + 1, t->first == t->last ? "" : "s",
		       model_npages(m, (uint32_t)first_bad - 1), t->db_size);
		printf("\n   page   frame  type after                 type before\n");
		for (uint32_t i = 0; i < nc; i++) {
			char after[48], before[48];
			if (c[i].type < 0)
				snprintf(after, sizeof after, "-");
			else
				snprintf(after, sizeof after, "0x%02x %s", c[i].type, type_name((uint8_t)c[i].type));
			if (c[i].before < 0)
				snprintf(before, sizeof before, "(new page)");
			else
				snprintf(before, sizeof before, "0x%02x %s", c[i].before, type_name((uint8_t)c[i].before));
			printf("  %5u  %6u  %-24s %s%s%s\n", c[i].pgno, c[i].frame, after, before,
			       c[i].pgno == 1 ? "  page 1: header + schema" : "",
			       c[i].type >= 0 && c[i].before >= 0 && c[i].type != c[i].before ? "  TYPE CHANGED" : "");
		}
		printf("\n`waldo page %s N --frame F` decodes a page as this commit wrote it;\n"
		       "`waldo extract %s -o OUT --commit %d` writes the last good state.\n", report_esc(path), report_esc(path),
		       first_bad - 1);
	}
	if (d->n) {
		printf("\nfindings:\n");
		report_text(stdout, d, &m->files);
	}
	printf("\nstatus: %s\n", report_status_name(d));
}

static void print_json(const char *path, const struct bisect *b, uint32_t n, int first_bad,
		       const struct changed *c, uint32_t nc, const struct wd_diags *d)
{
	const struct model *m = b->m;
	struct jw j;
	jw_init(&j, stdout);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "path", path);
	jw_uint(&j, "commits", n);
	jw_uint(&j, "checks", b->nchecks);
	jw_arr_begin(&j, "checked");
	for (unsigned i = 0; i < b->nlog; i++) {
		jw_obj_begin(&j, NULL);
		jw_uint(&j, "commit", b->log[i].k);
		jw_str(&j, "result", result_name(b->log[i].result));
		jw_str(&j, "message", b->log[i].msg);
		jw_obj_end(&j);
	}
	jw_arr_end(&j);
	if (first_bad >= 0)
		jw_uint(&j, "first_bad", (uint64_t)first_bad);
	else
		jw_null(&j, "first_bad");
	jw_bool(&j, "state0_fails", first_bad == 0);
	if (first_bad > 0) {
		const struct wal_txn *t = &m->wal.txns[first_bad - 1];
		jw_obj_begin(&j, "change");
		jw_uint(&j, "commit", (uint64_t)first_bad);
		jw_uint(&j, "first_frame", t->first);
		jw_uint(&j, "last_frame", t->last);
		jw_uint(&j, "frames", t->last - t->first + 1);
		jw_uint(&j, "db_size", t->db_size);
		jw_uint(&j, "db_size_before", model_npages(m, (uint32_t)first_bad - 1));
		jw_arr_begin(&j, "pages");
		for (uint32_t i = 0; i < nc; i++) {
			jw_obj_begin(&j, NULL);
			jw_uint(&j, "page", c[i].pgno);
			jw_uint(&j, "frame", c[i].frame);
			jw_bool(&j, "page1", c[i].pgno == 1);
			if (c[i].type >= 0) {
				jw_uint(&j, "type", (uint64_t)c[i].type);
				jw_str(&j, "type_name", type_name((uint8_t)c[i].type));
			} else {
				jw_null(&j, "type");
				jw_null(&j, "type_name");
			}
			if (c[i].before >= 0)
				jw_uint(&j, "type_before", (uint64_t)c[i].before);
			else
				jw_null(&j, "type_before");
			jw_obj_end(&j);
		}
		jw_arr_end(&j);
		jw_obj_end(&j);
	} else {
		jw_null(&j, "change");
	}
	report_json(&j, d, &m->files);
	jw_str(&j, "status", report_status_name(d));
	jw_obj_end(&j);
	jw_finish(&j);
}

/* The bisection proper: -1 when every state checked passes, else the first
 * failing state.  b->io_error aborts. */
static int64_t search(struct bisect *b, uint32_t n, bool all)
{
	if (probe(b, 0) != 1)
		return b->io_error ? -2 : 0;
	if (all) {
		for (uint32_t k = 1; k <= n; k++) {
			if (probe(b, k) != 1)
				return b->io_error ? -2 : (int64_t)k;
		}
		return -1;
	}
	if (n == 0 || probe(b, n) == 1)
		return -1;
	if (b->io_error)
		return -2;
	uint32_t lo = 0, hi = n;                  /* lo passes, hi fails */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		int r = probe(b, mid);
		if (b->io_error)
			return -2;
		if (r == 1)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

int cmd_bisect(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "wal", required_argument, NULL, 'w' },
		{ 0, 0, 0, 0 },
	};
	if (cmd_wants_help(argc, argv, usage))
		return EXIT_OK;
	int json = 0, all = 0, c;
	const char *wal = NULL;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'a': all = 1; break;
		case 'w': wal = optarg; break;
		default:
			return cmd_usage_error("bisect", usage, "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cmd_usage_error("bisect", usage, "expected one PATH");
	const char *path = argv[optind];
	struct model m;
	char err[512];
	if (model_open(&m, path, wal, NULL, err, sizeof err)) {
		cmd_error("%s", err);
		model_close(&m);
		return EXIT_NOINPUT;
	}
	if ((m.has_db && !m.db_ok) || !m.page_size || (!m.has_db && !model_ncommits(&m))) {
		cmd_error("'%s' %s", path,
			  m.has_db && !m.db_ok ? "is not an SQLite database (no valid header)"
					       : "holds no database: no database file and no committed WAL frames");
		model_close(&m);
		return EXIT_NOINPUT;
	}
	uint32_t n = model_ncommits(&m);
	struct bisect *b = calloc(1, sizeof *b);
	int8_t *seen = malloc((size_t)n + 1);
	if (!b || !seen) {
		cmd_error("out of memory");
		free(b);
		free(seen);
		model_close(&m);
		return EXIT_SOFTWARE;
	}
	memset(seen, -2, (size_t)n + 1);
	b->m = &m;
	b->seen = seen;
	int status;
	if (tmpdir_make(b->dir, sizeof b->dir, err, sizeof err)) {
		cmd_error("%s", err);
		status = EXIT_CANTCREAT;
		goto done;
	}
	int64_t first_bad = search(b, n, all);
	tmpdir_remove(b->dir);
	if (first_bad == -2) {
		cmd_error("cannot materialise a state: %s", b->err);
		status = EXIT_CANTCREAT;
		goto done;
	}
	struct changed *ch = NULL;
	uint32_t nch = first_bad > 0 ? changes(&m, (uint32_t)first_bad, &ch) : 0;
	struct wd_diags d = { 0 };
	if (first_bad == 0) {
		wd_add(&d, WD_SQLITE_INTEGRITY_FAILED, WD_F_DB, WD_NONE, WD_NONE, WD_NONE,
		       "integrity_check fails on the database file alone (state 0): %.150s", b->log[0].msg);
	} else if (first_bad > 0) {
		const struct wal_txn *t = &m.wal.txns[first_bad - 1];
		const char *msg = "";
		for (unsigned i = 0; i < b->nlog; i++)
			if (b->log[i].k == (uint32_t)first_bad)
				msg = b->log[i].msg;
		wd_add(&d, WD_SQLITE_INTEGRITY_FAILED, WD_F_WAL, (int64_t)wal_frame_offset(m.wal.page_size, t->first),
		       t->first, WD_NONE, "integrity_check first fails after commit %lld (frames %u-%u): %.120s",
		       (long long)first_bad, t->first, t->last, msg);
	}
	/* Any change voids the answer (CMD_IN_STRICT): the states tested may mix two versions. */
	cmd_check_inputs(&m.files, CMD_IN_DB | CMD_IN_WAL | CMD_IN_STRICT, &d, NULL);
	if (json)
		print_json(path, b, n, (int)first_bad, ch, nch, &d);
	else
		print_text(path, b, n, (int)first_bad, ch, nch, &d);
	status = report_exit_status(&d, 0);
	wd_diags_free(&d);
	free(ch);
done:
	free(seen);
	free(b);
	model_close(&m);
	return status;
}
