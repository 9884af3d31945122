/*
 * cmd_hash.c — `waldo hash`: SHA-256 of every page of one state of a
 * database (the file alone, the effective state, or as of commit K), the
 * state hash, and the manifest that `waldo verify` checks against.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "cmd.h"
#include "json.h"
#include "model.h"
#include "pagehash.h"
#include "report.h"

static const char usage[] =
	"usage: waldo hash [--json] [--state STATE | --commit K] [-j N] [-o MANIFEST] DB\n"
	"\n"
	"SHA-256 of every page of one state of the database DB, hashed in parallel\n"
	"straight from the files, plus one state hash over all of them (see\n"
	"docs/manifest.md).  Without -o or --json the manifest is printed: a\n"
	"header (page size, page count, state hash, page-1 header fields) and one\n"
	"line 'PGNO SHA256' per page; pages no file holds read 'PGNO missing'.\n"
	"DB may also be the -wal or -shm beside the database.  Never writes DB.\n"
	"\n"
	"  --state STATE    db: the database file alone; effective (default): what\n"
	"                   SQLite would read, the database with the committed WAL\n"
	"                   frames applied; commit=K: as of the K-th commit of the WAL\n"
	"  --commit K       same as --state commit=K\n"
	"  -j, --jobs N     hash with N threads (default: the online CPUs)\n"
	"  -o, --output MANIFEST\n"
	"                   write the manifest to MANIFEST atomically (temporary file,\n"
	"                   fsync, rename; an existing file is replaced) and print a\n"
	"                   one-line summary\n"
	"  --json           one JSON object: {path, state, commit, page_size, pages,\n"
	"                   missing, state_hash, header, page_hashes, missing_ranges,\n"
	"                   findings, status}\n"
	"\n"
	"Exit status: 0 every page hashed, 1 some pages are held by no file (listed\n"
	"as missing), 2 the database or WAL changed while it was read (INPUT_CHANGED),\n"
	"64 usage, 66 unreadable input, 70 internal error, 73 the manifest cannot be\n"
	"written.\n";

static void print_json(const struct model *m, const struct ph_hashes *h, const char *state,
		       const struct db_header *hdr, bool hdr_ok, const char *manifest)
{
	char hex[2 * PH_DIGEST + 1];
	struct jw j;
	jw_init(&j, stdout);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "path", m->files.db.path);
	jw_str(&j, "state", state);
	jw_uint(&j, "commit", h->commit);
	jw_uint(&j, "commit_frame", model_commit_frame(m, h->commit));
	jw_uint(&j, "page_size", h->page_size);
	jw_uint(&j, "pages", h->npages);
	jw_uint(&j, "missing", h->nmissing);
	ph_hex(h->state_hash, hex);
	jw_str(&j, "state_hash", hex);
	jw_str(&j, "manifest", manifest);
	if (hdr_ok)
		report_json_db_header(&j, "header", hdr);
	else
		jw_null(&j, "header");
	jw_arr_begin(&j, "page_hashes");
	for (uint32_t p = 1; p <= h->nheld; p++) {
		if (h->missing[p - 1])
			continue;
		jw_obj_begin(&j, NULL);
		jw_uint(&j, "pgno", p);
		ph_hex(h->digest[p - 1], hex);
		jw_str(&j, "sha256", hex);
		jw_str(&j, "source", h->frame[p - 1] ? "wal" : "db");
		if (h->frame[p - 1])
			jw_uint(&j, "frame", h->frame[p - 1]);
		else
			jw_null(&j, "frame");
		jw_obj_end(&j);
	}
	jw_arr_end(&j);
	/* Ranges, not pages: a forged page count must not make the output huge. */
	jw_arr_begin(&j, "missing_ranges");
	uint32_t run = 0;
	for (uint64_t p = 1; p <= (uint64_t)h->nheld + 1; p++) {
		bool miss = p <= h->nheld ? h->missing[p - 1] : h->npages > h->nheld;
		if (miss && !run)
			run = (uint32_t)p;
		if (!miss && run) {
			jw_arr_begin(&j, NULL);
			jw_uint(&j, NULL, run);
			jw_uint(&j, NULL, p - 1);
			jw_arr_end(&j);
			run = 0;
		}
	}
	if (run) {
		jw_arr_begin(&j, NULL);
		jw_uint(&j, NULL, run);
		jw_uint(&j, NULL, h->npages);
		jw_arr_end(&j);
	}
	jw_arr_end(&j);
	report_json(&j, &m->diags, &m->files);
	jw_str(&j, "status", report_status_name(&m->diags));
	jw_obj_end(&j);
	jw_finish(&j);
}

int cmd_hash(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "state", required_argument, NULL, 's' },
		{ "commit", required_argument, NULL, 'c' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ 0, 0, 0, 0 },
	};
	if (cmd_wants_help(argc, argv, usage))
		return EXIT_OK;
	int json = 0, c, nstate = 0;
	unsigned threads = ph_default_threads();
	const char *out = NULL;
	struct ph_state st = { .kind = PH_STATE_EFFECTIVE };
	char buf[64];
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "j:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'J':
			json = 1;
			break;
		case 's':
		case 'c':
			if (c == 'c')
				snprintf(buf, sizeof buf, "commit=%s", optarg);
			if (nstate++ || ph_state_parse(c == 'c' ? buf : optarg, &st))
				return cmd_usage_error("hash", usage, nstate > 1 ? "only one state can be hashed"
							: "bad state '%s' (db, effective or commit=K)", optarg);
			break;
		case 'j':
			if (ph_threads_parse(optarg, &threads))
				return cmd_usage_error("hash", usage, "bad thread count '%s' (1..%d)", optarg,
						       PH_MAX_THREADS);
			break;
		case 'o':
			out = optarg;
			break;
		default:
			return cmd_usage_error("hash", usage, "unknown option or missing argument '%s'",
					       argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cmd_usage_error("hash", usage, "expected one DB path");

	struct model m;
	char err[1024];
	if (model_open(&m, argv[optind], NULL, NULL, err, sizeof err)) {
		cmd_error("%s", err);
		model_close(&m);
		return EXIT_NOINPUT;
	}
	if (ph_state_check(&st, &m, err, sizeof err)) {
		model_close(&m);
		return cmd_usage_error("hash", usage, "%s", err);
	}
	if (out && m.files.db.path && atomic_same_file(out, m.files.db.path)) {
		cmd_error("refusing to write the manifest over '%s' or its -wal/-shm/-journal", m.files.db.path);
		model_close(&m);
		return EXIT_USAGE;
	}
	uint32_t k = ph_state_k(&st);
	struct ph_hashes h;
	if (ph_hash_state(&m, k, threads, &h, err, sizeof err)) {
		cmd_error("%s", err);
		ph_hashes_free(&h);
		int noinput = !m.page_size;
		model_close(&m);
		return noinput ? EXIT_NOINPUT : EXIT_SOFTWARE;
	}
	struct db_header hdr;
	bool hdr_ok = ph_state_header(&m, k, &hdr);
	ph_state_name(&st, buf, sizeof buf);
	const char *source = m.files.db.path ? m.files.db.path : argv[optind];

	int changed = cmd_check_inputs(&m.files, CMD_IN_DB | CMD_IN_WAL | CMD_IN_STRICT, &m.diags, json ? NULL : stderr);
	int status = changed ? changed : h.nmissing ? EXIT_WARNINGS : EXIT_OK;
	if (out && ph_manifest_save(out, &h, source, buf, hdr_ok ? &hdr : NULL, err, sizeof err)) {
		cmd_error("%s", err);
		status = EXIT_CANTCREAT;
	} else if (json) {
		print_json(&m, &h, buf, &hdr, hdr_ok, out);
	} else if (out) {
		char hex[2 * PH_DIGEST + 1];
		ph_hex(h.state_hash, hex);
		printf("%s: %u pages of %u bytes (%u missing), state %s (commit %u), state_hash %s\n", report_esc(out),
		       h.npages, h.page_size, h.nmissing, buf, h.commit, hex);
	} else {
		ph_manifest_write(stdout, &h, source, buf, hdr_ok ? &hdr : NULL);
	}
	if (h.nmissing && !json)
		fprintf(stderr, "waldo: warning: %u page%s of the state held by no file (listed as missing)\n",
			h.nmissing, h.nmissing == 1 ? "" : "s");
	ph_hashes_free(&h);
	model_close(&m);
	return status;
}
