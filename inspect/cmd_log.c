/*
 * cmd_log.c — `waldo log`: the transactions of a WAL, one line each, in
 * the order they were written: those SQLite sees, the unfinished tail, and
 * (clearly marked) commit groups past the point where SQLite stops reading,
 * which `waldo extract --salvage` can bring back.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "json.h"
#include "model.h"
#include "report.h"
#include "salvage.h"

static const char usage[] =
	"usage: waldo log [--json] [--wal FILE] PATH\n"
	"\n"
	"List the transactions in the WAL of the database PATH, one line each:\n"
	"commit number, first-last frame, frames, distinct pages touched, database\n"
	"size after it, and whether SQLite would see it.  Commit 0 is the database\n"
	"file alone.  Commit groups SQLite will NOT see (behind a checksum break,\n"
	"from an earlier WAL generation, or in a WAL whose header is invalid) are\n"
	"listed after them, numbered on, and marked; so is an uncommitted tail.\n"
	"Those numbers are what `waldo extract --commit K [--salvage]` takes.\n"
	"Never writes.\n"
	"\n"
	"  --json       one JSON object: {path, wal, commits:[...], uncommitted,\n"
	"               sqlite_stops_at, findings, status}\n"
	"  --wal FILE   use FILE as the WAL (saved apart from the database)\n"
	"\n"
	"Exit status: 0 nothing worse than info, 1 warnings, 2 errors, 64 bad usage,\n"
	"66 an input cannot be read.\n";

/* The valid frames after the last commit, unless a salvage group took them. */
static bool tail_range(const struct model *m, const struct salvage *s, uint32_t *first, uint32_t *last)
{
	const struct wal_walk *w = &m->wal;
	if (!w->hdr.valid || w->nvalid <= w->mx_frame)
		return false;
	if (s->ng && s->g[0].first == w->mx_frame + 1)
		return false;
	*first = w->mx_frame + 1;
	*last = w->nvalid;
	return true;
}

/* Where and why SQLite stops reading; 0 when it reads every whole frame. */
static uint32_t stop_frame(const struct model *m)
{
	const struct wal_walk *w = &m->wal;
	if (!m->has_wal || !w->nframes)
		return 0;
	if (!w->hdr.valid || (m->has_db && !m->db_ok))
		return 1;
	return w->nvalid < w->nframes ? w->nvalid + 1 : 0;
}

static const char *stop_reason(const struct model *m)
{
	if (m->has_db && !m->db_ok)
		return "the database file has no valid header: SQLite opens nothing";
	switch (m->wal.end) {
	case WAL_END_SALT: return "salts differ from the header (frames of an earlier WAL generation)";
	case WAL_END_PGNO: return "a frame with page number 0";
	case WAL_END_CKSUM: return "checksum break";
	case WAL_END_NO_HEADER: return "the WAL header is invalid: SQLite reads no frame";
	case WAL_END_LIMIT: return "waldo's frame limit";
	case WAL_END_EOF: break;
	}
	return "end of file";
}

static void print_text(const char *path, const struct model *m, const struct salvage *s)
{
	const struct wal_walk *w = &m->wal;
	printf("waldo log %s\n", report_esc(path));
	if (!m->has_wal) {
		printf("no WAL: SQLite sees the database file alone (commit 0, %u pages)\n", model_npages(m, 0));
	} else {
		printf("wal %s: %u-byte pages, %u frames (%u valid), salts %08x %08x\n", report_esc(m->files.wal.path),
		       w->page_size, w->nframes, w->nvalid, w->hdr.salt1, w->hdr.salt2);
		if (m->has_db && !m->db_ok)
			printf("note: the database file has no valid header, so SQLite opens nothing; the WAL's "
			       "commit groups are listed as salvage\n");
		else if (!m->wal_usable && w->hdr.valid)
			printf("note: this WAL does not fit the database (page size): waldo reads commit 0 only\n");
	}
	printf("\n commit  frames              n   pages  db pages  SQLite sees\n");
	printf(" %6u  %-17s %3s %7s %9u  yes (database file)\n", 0u, "-", "-", "-", model_npages(m, 0));
	uint32_t nc = model_ncommits(m);
	char fr[48];
	for (uint32_t k = 1; k <= nc; k++) {
		const struct wal_txn *t = &w->txns[k - 1];
		snprintf(fr, sizeof fr, "%u-%u", t->first, t->last);
		printf(" %6u  %-17s %3u %7u %9u  yes\n", k, fr, t->last - t->first + 1,
		       salvage_count_pages(m, t->first, t->last), t->db_size);
	}
	uint32_t a, b;
	if (tail_range(m, s, &a, &b)) {
		snprintf(fr, sizeof fr, "%u-%u", a, b);
		printf(" %6s  %-17s %3u %7u %9s  no: uncommitted (no commit frame follows)\n", "-", fr, b - a + 1,
		       salvage_count_pages(m, a, b), "-");
	}
	uint32_t stop = stop_frame(m);
	if (stop)
		printf(" ------  SQLite stops reading at frame %u: %s\n", stop, stop_reason(m));
	for (uint32_t i = 0; i < s->ng; i++) {
		const struct salvage_group *g = &s->g[i];
		uint32_t n = g->last - g->first + 1;
		snprintf(fr, sizeof fr, "%u-%u", g->first, g->last);
		printf(" %6u  %-17s %3u %7u %9u  NO: salvage, %s", s->base + i + 1, fr, n,
		       salvage_count_pages(m, g->first, g->last), g->db_size, salvage_kind_name(g->kind));
		if (g->kind == SALVAGE_STALE)
			printf(" (salts %08x %08x)", g->salt1, g->salt2);
		printf("; checksums verified %u/%u", g->nverified, n);
		if (!g->whole)
			printf("; its first frames may be overwritten");
		printf("\n");
	}
	if (s->nframes_outside && stop)
		printf(" %6s  %u frame%s past the last commit belong to no commit group\n", "", s->nframes_outside,
		       s->nframes_outside == 1 ? "" : "s");
	if (s->ng)
		printf("\nSalvage commits hold data SQLite drops; `waldo extract --salvage --commit K` writes "
		       "them out (see docs/timetravel.md).\n");
	if (m->diags.n) {
		printf("\nfindings:\n");
		report_text(stdout, &m->diags, &m->files);
	}
	printf("\nstatus: %s\n", report_status_name(&m->diags));
}

static void json_range(struct jw *j, const struct model *m, uint32_t k, uint32_t first, uint32_t last,
		       uint32_t db_size)
{
	jw_uint(j, "commit", k);
	jw_uint(j, "first_frame", first);
	jw_uint(j, "last_frame", last);
	jw_uint(j, "frames", last - first + 1);
	jw_uint(j, "pages", salvage_count_pages(m, first, last));
	jw_uint(j, "db_size", db_size);
}

static void print_json(const char *path, const struct model *m, const struct salvage *s)
{
	const struct wal_walk *w = &m->wal;
	struct jw j;
	jw_init(&j, stdout);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "path", path);
	if (m->has_wal) {
		jw_obj_begin(&j, "wal");
		jw_str(&j, "path", m->files.wal.path);
		jw_uint(&j, "page_size", w->page_size);
		jw_uint(&j, "frames_total", w->nframes);
		jw_uint(&j, "frames_valid", w->nvalid);
		jw_uint(&j, "last_commit_frame", w->mx_frame);
		jw_uint(&j, "salt1", w->hdr.salt1);
		jw_uint(&j, "salt2", w->hdr.salt2);
		jw_str(&j, "end", wal_end_name(w->end));
		jw_bool(&j, "usable", m->wal_usable);
		jw_obj_end(&j);
	} else {
		jw_null(&j, "wal");
	}
	jw_uint(&j, "database_pages", model_npages(m, 0));
	jw_uint(&j, "commits_visible", model_ncommits(m));
	jw_arr_begin(&j, "commits");
	for (uint32_t k = 1; k <= model_ncommits(m); k++) {
		const struct wal_txn *t = &w->txns[k - 1];
		jw_obj_begin(&j, NULL);
		json_range(&j, m, k, t->first, t->last, t->db_size);
		jw_bool(&j, "sqlite_sees", true);
		jw_str(&j, "kind", "committed");
		jw_obj_end(&j);
	}
	for (uint32_t i = 0; i < s->ng; i++) {
		const struct salvage_group *g = &s->g[i];
		jw_obj_begin(&j, NULL);
		json_range(&j, m, s->base + i + 1, g->first, g->last, g->db_size);
		jw_bool(&j, "sqlite_sees", false);
		jw_str(&j, "kind", salvage_kind_name(g->kind));
		jw_uint(&j, "salt1", g->salt1);
		jw_uint(&j, "salt2", g->salt2);
		jw_uint(&j, "frames_verified", g->nverified);
		jw_bool(&j, "start_known", g->whole);
		jw_obj_end(&j);
	}
	jw_arr_end(&j);
	uint32_t a, b;
	if (tail_range(m, s, &a, &b)) {
		jw_obj_begin(&j, "uncommitted");
		jw_uint(&j, "first_frame", a);
		jw_uint(&j, "last_frame", b);
		jw_uint(&j, "frames", b - a + 1);
		jw_uint(&j, "pages", salvage_count_pages(m, a, b));
		jw_obj_end(&j);
	} else {
		jw_null(&j, "uncommitted");
	}
	uint32_t stop = stop_frame(m);
	if (stop) {
		jw_uint(&j, "sqlite_stops_at", stop);
		jw_str(&j, "stop_reason", m->has_db && !m->db_ok ? "no-database" : wal_end_name(w->end));
	} else {
		jw_null(&j, "sqlite_stops_at");
		jw_null(&j, "stop_reason");
	}
	jw_uint(&j, "frames_outside_groups", stop ? s->nframes_outside : 0);
	report_json(&j, &m->diags, &m->files);
	jw_str(&j, "status", report_status_name(&m->diags));
	jw_obj_end(&j);
	jw_finish(&j);
}

int cmd_log(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "wal", required_argument, NULL, 'w' },
		{ 0, 0, 0, 0 },
	};
	if (cmd_wants_help(argc, argv, usage))
		return EXIT_OK;
	int json = 0, c;
	const char *wal = NULL;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'w': wal = optarg; break;
		default:
			return cmd_usage_error("log", usage, "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cmd_usage_error("log", usage, "expected one PATH");
	const char *path = argv[optind];
	struct model m;
	struct salvage s = { 0 };
	char err[512];
	if (model_open(&m, path, wal, NULL, err, sizeof err)) {
		cmd_error("%s", err);
		model_close(&m);
		return EXIT_NOINPUT;
	}
	if (salvage_find(&m, &s, err, sizeof err)) {
		cmd_error("%s", err);
		salvage_free(&s);
		model_close(&m);
		return EXIT_SOFTWARE;
	}
	cmd_check_inputs(&m.files, CMD_IN_ALL, &m.diags, NULL);   /* the output reads records, not the files */
	if (json)
		print_json(path, &m, &s);
	else
		print_text(path, &m, &s);
	int status = report_exit_status(&m.diags, 0);
	salvage_free(&s);
	model_close(&m);
	return status;
}
