/*
 * cmd_extract.c — `waldo extract`: write the state of a database as of one
 * commit of its WAL as a new, standalone rollback-mode database.
 *
 * The inputs are only mapped read-only; libsqlite3 never opens them.  The
 * state is assembled page by page (model_page / salvage_page) into a
 * temporary file beside the output, fsync'ed, renamed into place and the
 * folder fsync'ed (atomic.h), so a crash leaves either no output or a whole
 * one.  Only then does libsqlite3 open the output, for PRAGMA
 * integrity_check.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic.h"
#include "cmd.h"
#include "json.h"
#include "materialize.h"
#include "model.h"
#include "report.h"
#include "resetrace.h"
#include "salvage.h"


static const char usage[] =
	"usage: waldo extract [--json] [--wal FILE] PATH -o OUT [--commit K] [--salvage | --race] [--force]\n"
	"\n"
	"Write the state of the database PATH as of commit K of its WAL to OUT, a\n"
	"new standalone database in rollback-journal mode (no -wal needed).  K = 0\n"
	"is the database file alone; the default is the last commit SQLite would\n"
	"see (`waldo log` numbers them).  libsqlite3 never opens the inputs: pages\n"
	"are copied from the files, written to a temporary file beside OUT, synced\n"
	"and renamed; then PRAGMA integrity_check runs on OUT and is reported.\n"
	"\n"
	"  -o, --output OUT  the database to create (mode 0600)\n"
	"  --commit K        the commit whose state to write\n"
	"  --salvage         allow K past the commits SQLite sees: commit groups\n"
	"                    behind a checksum break, from an earlier WAL generation\n"
	"                    or in a WAL with an invalid header, laid over the last\n"
	"                    state SQLite sees (default K: the last such group).\n"
	"                    This is data SQLite would drop: check it.\n"
	"  --race            the last state SQLite sees plus the page versions that\n"
	"                    WAL_RESET_RACE lists as lost to the WAL-reset race\n"
	"                    (docs/cookbook.md); not with --commit or --salvage\n"
	"  --force           replace OUT if it exists\n"
	"  --wal FILE        use FILE as the WAL (saved apart from the database)\n"
	"  --json            one JSON object: {path, output, commit, salvage, pages,\n"
	"                    integrity, findings, status}\n"
	"\n"
	"Exit status: 0 written and integrity_check ok, 1 written with warnings\n"
	"(salvage data, pages no file holds written as zeros, WAL frames SQLite\n"
	"ignores left out, an input changed while it was read), 2 written but\n"
	"integrity_check fails or an input was cut short while it was read (its\n"
	"missing pages written as zeros), 64 bad usage or no such commit, 66 an\n"
	"input cannot be read or holds no database, 73 OUT exists or cannot be\n"
	"written.\n";

struct result {
	uint32_t k, visible, total, npages, missing, last_frame;
	uint32_t newer;          /* pages the file holds in a later version (checkpointed) */
	bool salvage;
	bool race;               /* --race: the lost versions of WAL_RESET_RACE included */
	uint32_t race_hidden;    /* lost versions in the WAL's current generation (in every state) */
	uint32_t race_pages;     /* lost versions from the previous generation, laid over */
	int integrity;
	char msg[512];
	uint64_t bytes;
};

static int parse_commit(const char *s, uint32_t *out)
{
	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 10)
		return -1;
	unsigned long long v = strtoull(s, NULL, 10);
	if (v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Why PATH cannot give any database, or NULL when it can.  A destroyed
 * database header still allows --salvage from the WAL. */
static const char *no_database(const struct model *m, bool salvage)
{
	if (m->has_db && !m->db_ok && !salvage)
		return m->has_wal && m->wal.nframes
			       ? "is not an SQLite database (no valid header); --salvage rebuilds it from its WAL's commits"
			       : "is not an SQLite database (no valid header)";
	if (!m->has_db && !(m->has_wal && m->wal.nframes))
		return "is empty and has no WAL frames: there is no database to extract";
	if (!m->page_size)
		return "has no page size in a database header or a WAL header";
	return NULL;
}

/* Refuse an output that is (or would become) one of the inputs. */
static bool hits_input(const char *out, const struct model *m)
{
	const struct wf_file *f[4] = { &m->files.db, &m->files.wal, &m->files.shm, &m->files.journal };
	for (int i = 0; i < 4; i++)
		if (f[i]->path && atomic_same_file(out, f[i]->path))
			return true;
	return false;
}

/* One finding per kind of salvage group the state includes. */
static void note_salvage(const struct salvage *s, uint32_t k, struct wd_diags *d)
{
	static const enum wd_code code[] = {
		[SALVAGE_AFTER_BREAK] = WD_WAL_CHECKSUM_MISMATCH,
		[SALVAGE_STALE] = WD_WAL_STALE_FRAMES,
		[SALVAGE_NO_HEADER] = WD_WAL_HEADER_INVALID,
		[SALVAGE_NO_DATABASE] = WD_DB_NOT_SQLITE,
	};
	for (int kind = SALVAGE_AFTER_BREAK; kind <= SALVAGE_NO_DATABASE; kind++) {
		uint32_t n = 0, a = 0, b = 0;
		for (uint32_t c = s->base + 1; c <= k; c++) {
			const struct salvage_group *g = salvage_group_of(s, c);
			if (!g || (int)g->kind != kind)
				continue;
			if (!n++)
				a = c;
			b = c;
		}
		if (n)
			wd_add_sev(d, code[kind], WD_WARNING, WD_F_WAL, WD_NONE, salvage_group_of(s, a)->first,
				   WD_NONE, "the output includes %u salvage commit%s (%u-%u) that SQLite drops: %s",
				   n, n == 1 ? "" : "s", a, b, salvage_kind_reason((enum salvage_kind)kind));
	}
}

static void print_text(const char *path, const char *out, const struct model *m, const struct salvage *s,
		       const struct result *r, const struct wd_diags *d)
{
	printf("waldo extract %s -> ", report_esc(path));
	printf("%s\n", report_esc(out));
	if (!r->salvage) {
		printf("  state      commit %u of the %u SQLite sees", r->k, r->visible);
		if (r->k)
			printf(" (frames 1-%u of %s)", r->last_frame, report_esc(m->files.wal.path));
		else
			printf(" (the database file alone)");
	} else {
		const struct salvage_group *g = salvage_group_of(s, r->k);
		printf("  state      SALVAGE commit %u: the %u commits SQLite sees plus salvage commits %u-%u "
		       "(through frame %u)\n", r->k, r->visible, r->visible + 1, r->k, g->last);
		printf("             DATA SQLITE WOULD DROP: check it before trusting it");
	}
	if (r->race)
		printf("\n  race       WAL_RESET_RACE: %u hidden page version%s (newest frames of this WAL, read\n"
		       "             here as SQLite reads them after rebuilding its -shm), %u from the previous\n"
		       "             WAL generation laid over the pages no later frame rewrote", r->race_hidden,
		       r->race_hidden == 1 ? "" : "s", r->race_pages);
	printf("\n             %u pages of %u bytes", r->npages, m->page_size);
	if (r->missing)
		printf(", %u of them in no file (written as zeros)", r->missing);
	if (r->newer)
		printf("\n  note       %u page%s come%s from the database file, which a checkpoint already updated "
		       "past commit %u:\n             they likely hold later data than commit %u had (see "
		       "docs/timetravel.md)", r->newer, r->newer == 1 ? "" : "s", r->newer == 1 ? "s" : "", r->k,
		       r->k);
	printf("\n  written    %s (%llu bytes), rollback journal mode\n", out, (unsigned long long)r->bytes);
	if (!r->salvage && r->total > r->visible)
		printf("  note       %u more commit%s past what SQLite sees can be salvaged: see `waldo log`, "
		       "--salvage\n", r->total - r->visible, r->total - r->visible == 1 ? "" : "s");
	if (r->integrity == 1)
		printf("  integrity  ok\n");
	else
		printf("  integrity  %s: %s\n", r->integrity == 0 ? "FAILED" : "SQLite cannot read it", r->msg);
	if (d->n) {
		printf("\nfindings:\n");
		report_text(stdout, d, &m->files);
	}
	printf("\nstatus: %s\n", report_status_name(d));
}

static void print_json(const char *path, const char *out, const struct model *m, const struct salvage *s,
		       const struct result *r, const struct wd_diags *d)
{
	struct jw j;
	jw_init(&j, stdout);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "path", path);
	jw_str(&j, "output", out);
	jw_uint(&j, "commit", r->k);
	jw_uint(&j, "commits_visible", r->visible);
	jw_uint(&j, "commits_total", r->total);
	jw_bool(&j, "salvage", r->salvage);
	jw_bool(&j, "race", r->race);
	jw_uint(&j, "race_hidden_pages", r->race_hidden);
	jw_uint(&j, "race_pages", r->race_pages);
	jw_arr_begin(&j, "salvage_commits");
	for (uint32_t c = s->base + 1; r->salvage && c <= r->k; c++) {
		const struct salvage_group *g = salvage_group_of(s, c);
		jw_obj_begin(&j, NULL);
		jw_uint(&j, "commit", c);
		jw_str(&j, "kind", salvage_kind_name(g->kind));
		jw_uint(&j, "first_frame", g->first);
		jw_uint(&j, "last_frame", g->last);
		jw_obj_end(&j);
	}
	jw_arr_end(&j);
	jw_uint(&j, "last_frame", r->last_frame);
	jw_uint(&j, "page_size", m->page_size);
	jw_uint(&j, "pages", r->npages);
	jw_uint(&j, "missing_pages", r->missing);
	jw_uint(&j, "pages_newer", r->newer);
	jw_uint(&j, "bytes", r->bytes);
	jw_str(&j, "integrity", r->integrity == 1 ? "ok" : r->msg);
	report_json(&j, d, &m->files);
	jw_str(&j, "status", report_status_name(d));
	jw_obj_end(&j);
	jw_finish(&j);
}

/* Everything after the model is open; returns the exit status. */
static int extract(const char *path, const char *out, struct model *m, bool have_k, uint32_t k,
		   bool salvage, bool race, bool force, bool json)
{
	char err[1024];
	const char *why = no_database(m, salvage);
	if (why) {
		cmd_error("'%s' %s", path, why);
		return EXIT_NOINPUT;
	}
	struct salvage s;
	if (salvage_find(m, &s, err, sizeof err)) {
		cmd_error("%s", err);
		salvage_free(&s);
		return EXIT_SOFTWARE;
	}
	if (m->has_db && !m->db_ok && !s.ng) {
		cmd_error("'%s' is not an SQLite database (no valid header) and its WAL holds no commit to rebuild "
			  "it from", path);
		salvage_free(&s);
		return EXIT_NOINPUT;
	}
	struct result r = { .visible = model_ncommits(m), .total = salvage_ncommits(&s), .salvage = false };
	int status = EXIT_OK;
	struct atomic_out a;
	struct wd_diags d = { 0 };
	struct resetrace rr = { 0 };
	if (race && (salvage || have_k)) {
		cmd_error("--race writes the last state SQLite sees: not with --commit or --salvage");
		status = EXIT_USAGE;
		goto out;
	}
	if (race && resetrace_analyze(m, &rr)) {
		cmd_error("out of memory");
		status = EXIT_SOFTWARE;
		goto out;
	}
	r.race = race;
	r.race_hidden = rr.nlost_rule[0] + rr.nlost_rule[1];
	r.race_pages = rr.nlost_rule[2];
	if (!have_k)
		k = salvage ? r.total : r.visible;
	if (k > r.visible && !salvage) {
		cmd_error("commit %u is past the %u commit%s SQLite sees%s", k, r.visible, r.visible == 1 ? "" : "s",
			  r.total > r.visible ? "; add --salvage for the commits SQLite drops (see `waldo log`)" : "");
		status = EXIT_USAGE;
		goto out;
	}
	if (k > r.total) {
		cmd_error("there is no commit %u: SQLite sees %u, and %u more can be salvaged (see `waldo log`)", k,
			  r.visible, r.total - r.visible);
		status = EXIT_USAGE;
		goto out;
	}
	r.k = k;
	r.salvage = k > r.visible;
	r.npages = salvage_npages(&s, k);
	r.last_frame = r.salvage ? salvage_group_of(&s, k)->last : model_commit_frame(m, k);
	if (!r.npages) {
		cmd_error("the state of '%s' as of commit %u has no pages (an empty database): nothing to write",
			  path, k);
		status = EXIT_NOINPUT;
		goto out;
	}
	/* A size no file can back would make us write gigabytes of zeros. */
	if (!model_size_plausible(m, r.npages)) {
		cmd_error("the state of '%s' as of commit %u claims %u pages, far more than the database file "
			  "(%llu pages) and the WAL (%u frames) hold: a damaged size field", path, k, r.npages,
			  (unsigned long long)m->db_pages, m->wal.nframes);
		status = EXIT_NOINPUT;
		goto out;
	}
	if (hits_input(out, m)) {
		cmd_error("'%s' is one of the inputs (or their -wal/-shm/-journal): refusing to write it", out);
		status = EXIT_CANTCREAT;
		goto out;
	}
	char jpath[ATOMIC_PATH_MAX + 16];
	snprintf(jpath, sizeof jpath, "%s-journal", out);
	if (access(jpath, F_OK) == 0) {
		cmd_error("'%s' exists: SQLite would roll it back into the new '%s'; move it away first", jpath, out);
		status = EXIT_CANTCREAT;
		goto out;
	}
	int rc = atomic_prepare(&a, out, force, err, sizeof err);
	if (rc != ATOMIC_OK) {
		cmd_error("%s", err);
		status = EXIT_CANTCREAT;
		goto out;
	}
	rc = r.salvage ? salvage_materialize(&s, k, a.tmp, &r.missing, err, sizeof err)
	   : race ? resetrace_materialize(m, &rr, a.tmp, &r.missing, err, sizeof err)
		  : materialize_state(m, k, a.tmp, &r.missing, err, sizeof err);
	if (rc || atomic_commit(&a, err, sizeof err) != ATOMIC_OK) {
		cmd_error("%s", err);
		atomic_abort(&a);
		status = EXIT_CANTCREAT;
		goto out;
	}
	r.bytes = (uint64_t)r.npages * m->page_size;
	if (!r.salvage)
		r.newer = salvage_count_newer_pages(m, k);
	r.integrity = sqlite_integrity(out, r.msg, sizeof r.msg);
	for (char *q = r.msg; *q; q++)         /* integrity_check rows can hold newlines */
		if (*q == '\n' || *q == '\r')
			*q = ' ';

	if (r.salvage)
		note_salvage(&s, k, &d);
	else if (r.race_pages)
		wd_add_sev(&d, WD_WAL_RESET_RACE, WD_WARNING, WD_F_WAL, WD_NONE, WD_NONE, WD_NONE,
			   "the output includes %u page version%s from earlier-generation frames that no reader saw "
			   "(rule wrapped): check them", r.race_pages, r.race_pages == 1 ? "" : "s");
	else if (m->has_wal && m->wal.nframes && !m->wal_usable && m->db_ok) {
		/* The WAL's frames are not in the output: say so, and why. */
		if (!m->wal.hdr.valid)
			wd_add_sev(&d, WD_WAL_HEADER_INVALID, WD_WARNING, WD_F_WAL, WD_NONE, WD_NONE, WD_NONE,
				   "the output leaves out all %u WAL frames, as SQLite would (invalid WAL header); "
				   "--salvage includes them", m->wal.nframes);
		else
			wd_add_sev(&d, WD_WAL_PAGE_SIZE_MISMATCH, WD_WARNING, WD_F_WAL, WD_NONE, WD_NONE, WD_NONE,
				   "the output leaves out the WAL: its %u-byte pages do not fit the database's %u",
				   m->wal.page_size, m->page_size);
	}
	if (r.missing)
		wd_add_sev(&d, WD_DB_FILE_TRUNCATED, WD_WARNING, WD_F_NONE, WD_NONE, WD_NONE, WD_NONE,
			   "%u of the %u pages of commit %u are in neither the database file nor the WAL; "
			   "written as zeros", r.missing, r.npages, k);
	if (r.integrity != 1)
		wd_add(&d, WD_SQLITE_INTEGRITY_FAILED, WD_F_NONE, WD_NONE, WD_NONE, WD_NONE, "%s '%s': %.150s",
		       r.integrity == 0 ? "PRAGMA integrity_check fails on" : "SQLite cannot read", out, r.msg);
	/* The output file was written from the mappings: a cut under them wrote zeros. */
	cmd_check_inputs(&m->files, CMD_IN_DB | CMD_IN_WAL, &d, NULL);
	if (json)
		print_json(path, out, m, &s, &r, &d);
	else
		print_text(path, out, m, &s, &r, &d);
	status = report_exit_status(&d, 0);
out:
	wd_diags_free(&d);
	resetrace_free(&rr);
	salvage_free(&s);
	return status;
}

int cmd_extract(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "commit", required_argument, NULL, 'k' },
		{ "salvage", no_argument, NULL, 'S' },
		{ "race", no_argument, NULL, 'r' },
		{ "force", no_argument, NULL, 'f' },
		{ "wal", required_argument, NULL, 'w' },
		{ 0, 0, 0, 0 },
	};
	if (cmd_wants_help(argc, argv, usage))
		return EXIT_OK;
	int json = 0, salvage = 0, race = 0, force = 0, have_k = 0, c;
	uint32_t k = 0;
	const char *out = NULL, *wal = NULL;
	optind = 1;
	opterr = 0;
	/* Options may follow PATH ("waldo extract app.db -o out.db"): no "+". */
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'o': out = optarg; break;
		case 'k':
			if (parse_commit(optarg, &k))
				return cmd_usage_error("extract", usage, "'%s' is not a commit number", optarg);
			have_k = 1;
			break;
		case 'S': salvage = 1; break;
		case 'r': race = 1; break;
		case 'f': force = 1; break;
		case 'w': wal = optarg; break;
		default:
			return cmd_usage_error("extract", usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cmd_usage_error("extract", usage, "expected one PATH");
	if (!out || !*out)
		return cmd_usage_error("extract", usage, "-o OUT is required");
	const char *path = argv[optind];
	struct model m;
	char err[512];
	if (model_open(&m, path, wal, NULL, err, sizeof err)) {
		cmd_error("%s", err);
		model_close(&m);
		return EXIT_NOINPUT;
	}
	int status = extract(path, out, &m, have_k, k, salvage, race, force, json);
	model_close(&m);
	return status;
}
