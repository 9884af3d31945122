/*
 * cmd_verify.c — `waldo verify`: hash a state of a database again and
 * compare it, page by page, with a manifest written by `waldo hash -o`.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "json.h"
#include "model.h"
#include "pagehash.h"
#include "report.h"

static const char usage[] =
	"usage: waldo verify [--json] [--state STATE | --commit K] [-j N] DB MANIFEST\n"
	"\n"
	"Hash every page of a state of DB (as `waldo hash` does) and compare it with\n"
	"MANIFEST (docs/manifest.md).  Lists each page that differs, that the\n"
	"manifest has and the database state does not ('missing'), and that the\n"
	"database state has and the manifest does not ('extra'), then one result\n"
	"line.  The state of DB is chosen here (default: effective); the manifest's\n"
	"own 'state' line is only reported.  Never writes.\n"
	"\n"
	"  --state STATE    db, effective (default) or commit=K, as for `waldo hash`\n"
	"  --commit K       same as --state commit=K\n"
	"  -j, --jobs N     hash with N threads (default: the online CPUs)\n"
	"  --json           one JSON object: {path, manifest, state, identical,\n"
	"                   differ, missing, extra, ..., findings, status}\n"
	"\n"
	"Exit status: 0 identical (same page size, page count and every page),\n"
	"1 different, 2 the database or its WAL changed while it was read\n"
	"(INPUT_CHANGED: no verdict), 64 usage, 65 malformed manifest (message\n"
	"names file:line), 66 unreadable database or manifest, 70 internal error.\n";

enum { V_DIFFER = 0, V_MISSING, V_EXTRA, V_NKINDS };
static const char *const kind_name[V_NKINDS] = { "differ", "missing", "extra" };

struct vlist {
	uint32_t *v;
	size_t n, cap;
};

static int vlist_add(struct vlist *l, uint32_t pgno)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		uint32_t *nv = realloc(l->v, ncap * sizeof *nv);
		if (!nv)
			return -1;
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n++] = pgno;
	return 0;
}

/*
 * Compare page by page.  Only pages some side holds are visited, so a
 * forged page count on either side costs nothing; a page neither side
 * holds agrees (both say "missing").
 */
static int compare(const struct ph_hashes *h, const struct ph_manifest *mf, struct vlist out[V_NKINDS])
{
	uint32_t last = h->nheld;
	if (mf->nent && mf->pgno[mf->nent - 1] > last)
		last = mf->pgno[mf->nent - 1];
	uint32_t e = 0;              /* next manifest entry */
	for (uint64_t p = 1; p <= last; p++) {
		const uint8_t *dd = ph_page_digest(h, (uint32_t)p);
		const uint8_t *md = NULL;
		if (e < mf->nent && mf->pgno[e] == p)
			md = mf->digest[e++];
		int kind = -1;
		if (dd && md)
			kind = memcmp(dd, md, PH_DIGEST) ? V_DIFFER : -1;
		else if (md)
			kind = V_MISSING;
		else if (dd)
			kind = V_EXTRA;
		if (kind >= 0 && vlist_add(&out[kind], (uint32_t)p))
			return -1;
	}
	return 0;
}

static void print_text(const struct model *m, const struct ph_hashes *h, const char *state,
		       const char *mpath, const struct ph_manifest *mf, struct vlist l[V_NKINDS], bool same)
{
	char hex[2 * PH_DIGEST + 1], mhex[2 * PH_DIGEST + 1];
	printf("database %s: state %s (commit %u), %u pages of %u bytes\n", report_esc(m->files.db.path), state, h->commit,
	       h->npages, h->page_size);
	printf("manifest %s: state %s, %u pages of %u bytes, source %s\n", report_esc(mpath),
	       report_esc(mf->state_name ? mf->state_name : "?"), mf->npages, mf->page_size,
	       report_esc(mf->source ? mf->source : "?"));
	if (h->page_size != mf->page_size)
		printf("page size differs: database %u, manifest %u\n", h->page_size, mf->page_size);
	if (h->npages != mf->npages)
		printf("page count differs: database %u, manifest %u\n", h->npages, mf->npages);
	/* Page order, every kind interleaved, like a diff. */
	size_t i[V_NKINDS] = { 0 };
	for (;;) {
		int best = -1;
		for (int k = 0; k < V_NKINDS; k++)
			if (i[k] < l[k].n && (best < 0 || l[k].v[i[k]] < l[best].v[i[best]]))
				best = k;
		if (best < 0)
			break;
		uint32_t p = l[best].v[i[best]++];
		if (best == V_DIFFER) {
			ph_hex(ph_page_digest(h, p), hex);
			ph_hex(ph_manifest_digest(mf, p), mhex);
			printf("differ  %u  database %.16s  manifest %.16s\n", p, hex, mhex);
		} else if (best == V_MISSING) {
			printf("missing %u  %s\n", p, p > h->npages ? "beyond the database state's pages"
							    : "held by no file of the database");
		} else {
			printf("extra   %u  %s\n", p, p > mf->npages ? "beyond the manifest's pages"
							    : "listed as missing in the manifest");
		}
	}
	ph_hex(h->state_hash, hex);
	if (same)
		printf("identical: %u pages, state_hash %s\n", h->npages, hex);
	else
		printf("different: %zu differ, %zu missing, %zu extra\n", l[V_DIFFER].n, l[V_MISSING].n,
		       l[V_EXTRA].n);
}

static void print_json(const struct model *m, const struct ph_hashes *h, const char *state,
		       const char *mpath, const struct ph_manifest *mf, struct vlist l[V_NKINDS], bool same)
{
	char hex[2 * PH_DIGEST + 1];
	struct jw j;
	jw_init(&j, stdout);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "path", m->files.db.path);
	jw_str(&j, "manifest", mpath);
	jw_str(&j, "state", state);
	jw_uint(&j, "commit", h->commit);
	jw_str(&j, "manifest_state", mf->state_name);
	jw_str(&j, "manifest_source", mf->source);
	jw_uint(&j, "page_size", h->page_size);
	jw_uint(&j, "manifest_page_size", mf->page_size);
	jw_uint(&j, "pages", h->npages);
	jw_uint(&j, "manifest_pages", mf->npages);
	ph_hex(h->state_hash, hex);
	jw_str(&j, "state_hash", hex);
	ph_hex(mf->state_hash, hex);
	jw_str(&j, "manifest_state_hash", hex);
	jw_bool(&j, "identical", same);
	for (int k = 0; k < V_NKINDS; k++) {
		jw_arr_begin(&j, kind_name[k]);
		for (size_t i = 0; i < l[k].n; i++)
			jw_uint(&j, NULL, l[k].v[i]);
		jw_arr_end(&j);
	}
	report_json(&j, &m->diags, &m->files);
	jw_str(&j, "status", report_status_name(&m->diags));
	jw_obj_end(&j);
	jw_finish(&j);
}

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "state", required_argument, NULL, 's' },
		{ "commit", required_argument, NULL, 'c' },
		{ "jobs", required_argument, NULL, 'j' },
		{ 0, 0, 0, 0 },
	};
	if (cmd_wants_help(argc, argv, usage))
		return EXIT_OK;
	int json = 0, c, nstate = 0;
	unsigned threads = ph_default_threads();
	struct ph_state st = { .kind = PH_STATE_EFFECTIVE };
	char buf[64];
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "j:", opts, NULL)) != -1) {
		switch (c) {
		case 'J':
			json = 1;
			break;
		case 's':
		case 'c':
			if (c == 'c')
				snprintf(buf, sizeof buf, "commit=%s", optarg);
			if (nstate++ || ph_state_parse(c == 'c' ? buf : optarg, &st))
				return cmd_usage_error("verify", usage, nstate > 1 ? "only one state can be verified"
							: "bad state '%s' (db, effective or commit=K)", optarg);
			break;
		case 'j':
			if (ph_threads_parse(optarg, &threads))
				return cmd_usage_error("verify", usage, "bad thread count '%s' (1..%d)", optarg,
						       PH_MAX_THREADS);
			break;
		default:
			return cmd_usage_error("verify", usage, "unknown option or missing argument '%s'",
					       argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return cmd_usage_error("verify", usage, "expected DB and MANIFEST");
	const char *dbpath = argv[optind], *mpath = argv[optind + 1];

	char err[1024];
	struct ph_manifest mf;
	int rc = ph_manifest_read(mpath, &mf, err, sizeof err);
	if (rc) {
		cmd_error("%s", err);
		ph_manifest_free(&mf);
		return rc == -2 ? EXIT_DATAERR : EXIT_NOINPUT;
	}
	struct model m;
	if (model_open(&m, dbpath, NULL, NULL, err, sizeof err)) {
		cmd_error("%s", err);
		model_close(&m);
		ph_manifest_free(&mf);
		return EXIT_NOINPUT;
	}
	int status = EXIT_SOFTWARE;
	struct ph_hashes h;
	struct vlist l[V_NKINDS];
	memset(l, 0, sizeof l);
	memset(&h, 0, sizeof h);
	if (ph_state_check(&st, &m, err, sizeof err)) {
		status = cmd_usage_error("verify", usage, "%s", err);
		goto out;
	}
	if (ph_hash_state(&m, ph_state_k(&st), threads, &h, err, sizeof err)) {
		cmd_error("%s", err);
		status = m.page_size ? EXIT_SOFTWARE : EXIT_NOINPUT;
		goto out;
	}
	if (compare(&h, &mf, l)) {
		cmd_error("out of memory comparing '%s' with '%s'", dbpath, mpath);
		goto out;
	}
	bool same = h.page_size == mf.page_size && h.npages == mf.npages && !l[V_DIFFER].n &&
		    !l[V_MISSING].n && !l[V_EXTRA].n;
	/* The state hash covers exactly what was compared: the two must agree. */
	if (same != !memcmp(h.state_hash, mf.state_hash, PH_DIGEST)) {
		cmd_error("internal error: page comparison and state hash disagree");
		goto out;
	}
	ph_state_name(&st, buf, sizeof buf);
	/* Pages hashed from a file that changed under us prove nothing either way. */
	int changed = cmd_check_inputs(&m.files, CMD_IN_DB | CMD_IN_WAL | CMD_IN_STRICT, &m.diags, json ? NULL : stderr);
	if (json)
		print_json(&m, &h, buf, mpath, &mf, l, same);
	else
		print_text(&m, &h, buf, mpath, &mf, l, same);
	status = changed ? EXIT_ERRORS : same ? EXIT_OK : EXIT_WARNINGS;
out:
	for (int k = 0; k < V_NKINDS; k++)
		free(l[k].v);
	ph_hashes_free(&h);
	model_close(&m);
	ph_manifest_free(&mf);
	return status;
}
