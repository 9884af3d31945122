/*
 * cmd_dbhash.c — `waldo dbhash`: the logical content hash of SQLite's
 * dbhash tool, over a materialised private copy of a state of each DB.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "dbhash.h"
#include "json.h"
#include "model.h"
#include "pagehash.h"
#include "report.h"

static const char usage[] =
	"usage: waldo dbhash [--json] [--schema-only | --without-schema] [--like PATTERN]\n"
	"                    [--state STATE | --commit K] DB...\n"
	"\n"
	"SHA-1 of the schema and the content of each database DB, computed exactly\n"
	"as SQLite's dbhash tool computes it (docs/dbhash.md), so that the hashes\n"
	"compare with ones that tool printed.  Free space, page size, encoding and\n"
	"layout do not change it.  SQLite reads a private copy of the files of\n"
	"the state, never DB: by default the database with its -wal and -journal,\n"
	"which SQLite recovers or rolls back on the copy just as dbhash would on\n"
	"the originals.  Prints one line 'HASH PATH' per database, as dbhash does.\n"
	"\n"
	"  --schema-only     hash the schema only, not the table content\n"
	"  --without-schema  hash the table content only, not the schema\n"
	"  --like PATTERN    only tables (and schema rows) whose name is LIKE PATTERN\n"
	"  --state STATE     db, effective (default) or commit=K, as for `waldo hash`\n"
	"  --commit K        same as --state commit=K\n"
	"  --json            one JSON object per database and line: {path, state,\n"
	"                    commit, mode, like, sha1, error, findings, status}\n"
	"\n"
	"Exit status: 0 hashed; 2 SQLite cannot read the state (no hash), or\n"
	"stopped inside a table (the hash printed is the one dbhash prints: over\n"
	"the rows before the error), or the database or its WAL changed while it\n"
	"was read (INPUT_CHANGED: the hash may mix two versions); 64 usage; 66\n"
	"unreadable input.\n";

static const char *mode_name(enum dbhash_mode m)
{
	return m == DBHASH_SCHEMA_ONLY ? "schema-only" : m == DBHASH_WITHOUT_SCHEMA ? "without-schema" : "all";
}

/* Hash one database; returns its exit status. */
static int one(const char *path, const struct ph_state *st, const struct dbhash_opts *o, int json)
{
	struct model m;
	char err[1024], state[64], hex[2 * DBHASH_DIGEST + 1];
	if (model_open(&m, path, NULL, NULL, err, sizeof err)) {
		cmd_error("%s", err);
		model_close(&m);
		return EXIT_NOINPUT;
	}
	if (ph_state_check(st, &m, err, sizeof err)) {
		cmd_error("%s", err);
		model_close(&m);
		return EXIT_USAGE;
	}
	uint8_t d[DBHASH_DIGEST];
	uint32_t k = ph_state_k(st);
	int rc = dbhash_state(&m, k, o, d, err, sizeof err);
	struct wd_diags changes = { 0 };
	bool changed = cmd_check_inputs(&m.files, CMD_IN_DB | CMD_IN_WAL | CMD_IN_STRICT, &changes,
					json ? NULL : stderr) != EXIT_OK;
	int status = rc == DBHASH_OK && !changed ? EXIT_OK : EXIT_ERRORS;
	bool have = rc == DBHASH_OK || rc == DBHASH_PARTIAL;
	if (have)
		dbhash_hex(d, hex);
	ph_state_name(st, state, sizeof state);
	if (json) {
		struct jw j;
		jw_init(&j, stdout);
		jw_obj_begin(&j, NULL);
		jw_str(&j, "path", path);
		jw_str(&j, "state", state);
		jw_uint(&j, "commit", model_commit(&m, k));
		jw_str(&j, "mode", mode_name(o->mode));
		jw_str(&j, "like", o->like ? o->like : "%");
		jw_str(&j, "sha1", have ? hex : NULL);
		jw_str(&j, "error", err[0] && rc != DBHASH_OK ? err : NULL);
		report_json(&j, &changes, &m.files);
		jw_str(&j, "status", changed ? "error" : rc == DBHASH_OK ? "ok" : rc == DBHASH_PARTIAL ? "partial" : "error");
		jw_obj_end(&j);
		jw_finish(&j);
	} else {
		if (have)
			printf("%s %s\n", hex, report_esc(path));
		if (rc != DBHASH_OK)
			cmd_error("'%s': %s", path, err);
	}
	wd_diags_free(&changes);
	model_close(&m);
	return status;
}

int cmd_dbhash(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "schema-only", no_argument, NULL, 'S' },
		{ "without-schema", no_argument, NULL, 'W' },
		{ "like", required_argument, NULL, 'l' },
		{ "state", required_argument, NULL, 's' },
		{ "commit", required_argument, NULL, 'c' },
		{ 0, 0, 0, 0 },
	};
	if (cmd_wants_help(argc, argv, usage))
		return EXIT_OK;
	int json = 0, c, nstate = 0, schema_only = 0, without_schema = 0;
	struct dbhash_opts o = { .mode = DBHASH_ALL, .like = NULL };
	struct ph_state st = { .kind = PH_STATE_EFFECTIVE };
	char buf[64];
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'J':
			json = 1;
			break;
		case 'S':
			schema_only = 1;
			break;
		case 'W':
			without_schema = 1;
			break;
		case 'l':
			if (o.like)
				return cmd_usage_error("dbhash", usage, "only one --like allowed");
			o.like = optarg;
			break;
		case 's':
		case 'c':
			if (c == 'c')
				snprintf(buf, sizeof buf, "commit=%s", optarg);
			if (nstate++ || ph_state_parse(c == 'c' ? buf : optarg, &st))
				return cmd_usage_error("dbhash", usage, nstate > 1 ? "only one state can be hashed"
							: "bad state '%s' (db, effective or commit=K)", optarg);
			break;
		default:
			return cmd_usage_error("dbhash", usage, "unknown option or missing argument '%s'",
					       argv[optind - 1]);
		}
	}
	if (schema_only && without_schema)
		return cmd_usage_error("dbhash", usage, "only one of --schema-only and --without-schema allowed");
	if (schema_only)
		o.mode = DBHASH_SCHEMA_ONLY;
	if (without_schema)
		o.mode = DBHASH_WITHOUT_SCHEMA;
	if (argc - optind < 1)
		return cmd_usage_error("dbhash", usage, "expected at least one DB path");
	int worst = EXIT_OK;
	for (int i = optind; i < argc; i++) {
		int s = one(argv[i], &st, &o, json);
		/* 66 and 64 outrank 2 and 1: the worst kind of failure wins. */
		if (s > worst)
			worst = s;
	}
	return worst;
}
