/*
 * cmd_history.c — `waldo history`: every version of one page that the
 * files still hold — the database file's copy and each WAL frame carrying
 * the page, whatever the frame's state — with a short content hash, the
 * transaction that wrote it, and which one SQLite would read now.
 */
#include <getopt.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "json.h"
#include "model.h"
#include "report.h"
#include "salvage.h"

static const char usage[] =
	"usage: waldo history [--json] [--wal FILE] PATH PAGE\n"
	"\n"
	"List every version of page PAGE held by the database PATH and its WAL:\n"
	"the database file's copy, then each WAL frame holding the page (committed,\n"
	"uncommitted, behind a checksum break, or stale from an earlier WAL\n"
	"generation), each with the first 16 hex digits of its SHA-256, the\n"
	"transaction that wrote it, and which version SQLite would read now.\n"
	"`waldo page PATH PAGE --frame F` decodes one version.  Never writes.\n"
	"\n"
	"  --json       one JSON object: {path, page, page_size, versions:[...],\n"
	"               sqlite_reads, findings, status}\n"
	"  --wal FILE   use FILE as the WAL (saved apart from the database)\n"
	"\n"
	"Exit status: 0 nothing worse than info, 1 warnings, 2 errors (findings of\n"
	"the files, as `waldo inspect` reports them), 64 bad usage, 66 an input\n"
	"cannot be read.\n";

struct version {
	uint32_t frame;          /* 0 for the database file */
	uint64_t offset;         /* of the page in its file */
	const uint8_t *data;     /* page_size bytes (file) or the WAL's page size */
	const char *state;
	uint32_t commit;         /* transaction that wrote it, 0 if none */
	bool salvage;            /* commit is a salvage commit */
	bool reads;              /* SQLite reads this version now */
	char hash[17];
	char type[40];
};

/* Strict decimal page number in 1..UINT32_MAX. */
static int parse_pgno(const char *s, uint32_t *out)
{
	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 10)
		return -1;
	unsigned long long v = strtoull(s, NULL, 10);
	if (v == 0 || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static void hash16(const uint8_t *p, uint32_t n, char out[17])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (!EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) || len < 8) {
		snprintf(out, 17, "?");
		return;
	}
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The b-tree page type byte (offset 100 on page 1) and what it means. */
static void describe_type(const uint8_t *p, uint32_t pgno, uint32_t ps, char *buf, size_t n)
{
	uint32_t off = pgno == 1 ? 100 : 0;
	if (off >= ps) {
		snprintf(buf, n, "-");
		return;
	}
	const char *name = "not a b-tree page";
	switch (p[off]) {
	case 2: name = "interior index"; break;
	case 5: name = "interior table"; break;
	case 10: name = "leaf index"; break;
	case 13: name = "leaf table"; break;
	}
	snprintf(buf, n, "0x%02x %s", p[off], name);
}

/* Committed transaction holding frame f (1-based), by binary search. */
static uint32_t txn_of_frame(const struct model *m, uint32_t f)
{
	uint32_t lo = 0, hi = model_ncommits(m);
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (m->wal.txns[mid].last < f)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < model_ncommits(m) && m->wal.txns[lo].first <= f ? lo + 1 : 0;
}

/*
 * The versions of one page, visited one at a time so that memory stays
 * constant however many frames hold the page: index 0 is the database
 * file's copy (when the file holds the page), then every frame, ascending.
 */
struct walker {
	struct model *m;             /* not const: the INPUT_CHANGED check adds to its findings */
	const struct salvage *s;
	uint32_t pgno;
	const uint32_t *fv;          /* frames holding pgno */
	uint32_t nf;
	bool has_db;                 /* the database file holds the page */
	uint32_t cur;                /* version SQLite reads: frame, or 0 for the file */
	bool cur_ok;                 /* ... and it exists */
};

static void walker_init(struct walker *w, struct model *m, const struct salvage *s, uint32_t pgno)
{
	memset(w, 0, sizeof *w);
	w->m = m;
	w->s = s;
	w->pgno = pgno;
	w->fv = model_page_frames(m, pgno, &w->nf);
	w->has_db = model_db_page(m, pgno) != NULL;
	if (pgno <= model_npages(m, MODEL_LAST))
		w->cur_ok = model_page(m, MODEL_LAST, pgno, &w->cur) != NULL;
}

static uint32_t walker_count(const struct walker *w)
{
	return w->nf + (w->has_db ? 1 : 0);
}

/* Fill version i (0 <= i < walker_count). */
static void walker_get(const struct walker *w, uint32_t i, struct version *x)
{
	const struct model *m = w->m;
	memset(x, 0, sizeof *x);
	uint32_t size = m->page_size;
	if (w->has_db && i == 0) {
		x->data = model_db_page(m, w->pgno);
		x->offset = (uint64_t)(w->pgno - 1) * m->page_size;
		x->state = "database file";
		x->reads = w->cur_ok && w->cur == 0;
	} else {
		uint32_t f = w->fv[i - (w->has_db ? 1 : 0)];
		x->frame = f;
		x->data = model_frame_page(m, f);
		x->offset = wal_frame_offset(m->wal.page_size, f) + WAL_FRAME_HDR_SIZE;
		x->state = wal_frame_state_name((enum wal_frame_state)m->wal.frames[f - 1].state);
		x->commit = txn_of_frame(m, f);
		if (!x->commit && (x->commit = salvage_commit_of_frame(w->s, f)) != 0)
			x->salvage = true;
		x->reads = w->cur_ok && w->cur == f;
		size = m->wal.page_size;            /* a mispaired WAL has its own page size */
	}
	if (!x->data) {                          /* cannot happen for indexed frames; be safe */
		snprintf(x->hash, sizeof x->hash, "-");
		snprintf(x->type, sizeof x->type, "-");
		return;
	}
	hash16(x->data, size, x->hash);
	describe_type(x->data, w->pgno, size, x->type, sizeof x->type);
}

static void print_text(const char *path, const struct walker *w)
{
	const struct model *m = w->m;
	const uint32_t pgno = w->pgno, n = walker_count(w);
	printf("waldo history %s %u\n", report_esc(path), pgno);
	printf("page %u (%u-byte pages): %u version%s\n", pgno, m->page_size, n, n == 1 ? "" : "s");
	if (m->has_wal && m->wal.page_size != m->page_size && w->nf)
		printf("note: the WAL's pages are %u bytes, the database's %u: the files are mispaired\n",
		       m->wal.page_size, m->page_size);
	if (n)
		printf("\n  source  frame  offset        state           commit        sha256/16         type\n");
	struct version x, r = { 0 };
	bool have_r = false;
	for (uint32_t i = 0; i < n; i++) {
		walker_get(w, i, &x);
		char fr[16] = "-", cm[32] = "-";
		if (x.frame)
			snprintf(fr, sizeof fr, "%u", x.frame);
		if (!x.frame)
			snprintf(cm, sizeof cm, "0");
		else if (x.commit)
			snprintf(cm, sizeof cm, "%u%s", x.commit, x.salvage ? " (salvage)" : "");
		printf("  %-6s  %5s  %-12llu  %-14s  %-12s  %s  %s%s\n", x.frame ? "wal" : "db", fr,
		       (unsigned long long)x.offset, x.frame ? x.state : "-", cm, x.hash, x.type,
		       x.reads ? "  <- SQLite reads this" : "");
		if (x.reads) {
			r = x;
			have_r = true;
		}
	}
	uint32_t npages = model_npages(m, MODEL_LAST), k = model_commit(m, MODEL_LAST);
	cmd_check_inputs(&w->m->files, CMD_IN_ALL, &w->m->diags, NULL);   /* after the versions were read */
	printf("\n");
	if (pgno > npages)
		printf("page %u is past the end of the current state (%u pages after commit %u): SQLite reads no "
		       "version of it\n", pgno, npages, k);
	else if (!have_r)
		printf("no file holds page %u of the current state (commit %u): SQLite would fail to read it\n",
		       pgno, k);
	else if (r.frame)
		printf("SQLite reads frame %u (commit %u); `waldo page %s %u --frame %u` decodes it\n", r.frame,
		       r.commit, report_esc(path), pgno, r.frame);
	else
		printf("SQLite reads the database file's copy; `waldo page %s %u` decodes it\n", report_esc(path), pgno);
	printf("status: %s (%zu finding%s; `waldo inspect` explains them)\n", report_status_name(&m->diags),
	       m->diags.n, m->diags.n == 1 ? "" : "s");
}

static void print_json(const char *path, const struct walker *w)
{
	const struct model *m = w->m;
	const uint32_t n = walker_count(w);
	struct jw j;
	jw_init(&j, stdout);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "path", path);
	jw_uint(&j, "page", w->pgno);
	jw_uint(&j, "page_size", m->page_size);
	jw_uint(&j, "current_commit", model_commit(m, MODEL_LAST));
	jw_uint(&j, "current_pages", model_npages(m, MODEL_LAST));
	jw_arr_begin(&j, "versions");
	struct version x;
	for (uint32_t i = 0; i < n; i++) {
		walker_get(w, i, &x);
		jw_obj_begin(&j, NULL);
		jw_str(&j, "source", x.frame ? "wal" : "db");
		if (x.frame)
			jw_uint(&j, "frame", x.frame);
		else
			jw_null(&j, "frame");
		jw_uint(&j, "offset", x.offset);
		jw_str(&j, "state", x.frame ? x.state : "database-file");
		if (x.frame && !x.commit)
			jw_null(&j, "commit");
		else
			jw_uint(&j, "commit", x.commit);
		jw_bool(&j, "salvage", x.salvage);
		jw_str(&j, "sha256_16", x.hash);
		jw_str(&j, "type", x.type);
		jw_bool(&j, "sqlite_reads", x.reads);
		jw_obj_end(&j);
	}
	jw_arr_end(&j);
	if (w->cur_ok) {
		jw_obj_begin(&j, "sqlite_reads");
		jw_str(&j, "source", w->cur ? "wal" : "db");
		if (w->cur)
			jw_uint(&j, "frame", w->cur);
		else
			jw_null(&j, "frame");
		jw_obj_end(&j);
	} else {
		jw_null(&j, "sqlite_reads");
	}
	cmd_check_inputs(&w->m->files, CMD_IN_ALL, &w->m->diags, NULL);   /* after the versions were read */
	report_json(&j, &m->diags, &m->files);
	jw_str(&j, "status", report_status_name(&m->diags));
	jw_obj_end(&j);
	jw_finish(&j);
}

int cmd_history(int argc, char **argv)
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
			return cmd_usage_error("history", usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return cmd_usage_error("history", usage, "expected PATH and PAGE");
	const char *path = argv[optind];
	uint32_t pgno;
	if (parse_pgno(argv[optind + 1], &pgno))
		return cmd_usage_error("history", usage, "'%s' is not a page number (1..4294967295)",
				       argv[optind + 1]);
	struct model m;
	struct salvage s = { 0 };
	char err[512];
	if (model_open(&m, path, wal, NULL, err, sizeof err)) {
		cmd_error("%s", err);
		model_close(&m);
		return EXIT_NOINPUT;
	}
	if (!m.page_size) {
		cmd_error("'%s': no page size in the database header or the WAL: no page can be located", path);
		model_close(&m);
		return EXIT_NOINPUT;
	}
	int status;
	if (salvage_find(&m, &s, err, sizeof err)) {
		cmd_error("%s", err);
		status = EXIT_SOFTWARE;
	} else {
		struct walker w;
		walker_init(&w, &m, &s, pgno);
		if (json)
			print_json(path, &w);
		else
			print_text(path, &w);
		status = report_exit_status(&m.diags, 0);
	}
	salvage_free(&s);
	model_close(&m);
	return status;
}
