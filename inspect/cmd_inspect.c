/*
 * cmd_inspect.c — `waldo inspect`: the first command to run on a damaged
 * database.  A summary of every file and a list of findings; never writes
 * to its inputs and never lets libsqlite3 open them (the integrity check
 * runs on a materialised copy in a private folder).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "checks.h"
#include "cmd.h"
#include "json.h"
#include "model.h"
#include "report.h"

static const char usage[] =
	"usage: waldo inspect [--json] [--strict] [--wal FILE] [--shm FILE] [--no-sqlite] [--no-locks] PATH\n"
	"\n"
	"Diagnose a database and its -wal, -shm and -journal.  PATH is the database\n"
	"(siblings are found by name), or a lone WAL or -shm file (recognised by\n"
	"content).  Prints a summary and every finding with its stable code,\n"
	"severity, file, byte offset / frame / page, message and suggested action.\n"
	"Nothing is ever written to the inputs.\n"
	"\n"
	"  --json        one JSON object (schema: docs/inspect.md)\n"
	"  --strict      treat warnings as errors in the exit status\n"
	"  --wal FILE    use FILE as the WAL (saved apart from the database)\n"
	"  --shm FILE    use FILE as the -shm\n"
	"  --no-sqlite   skip PRAGMA integrity_check on the materialised state\n"
	"  --no-locks    do not look for processes holding locks\n"
	"\n"
	"Exit status: 0 nothing worse than info, 1 warnings, 2 errors, 64 bad usage,\n"
	"66 an input cannot be read.\n";

static void print_json(const char *path, const struct model *m, const struct check_result *r)
{
	struct jw j;
	jw_init(&j, stdout);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "path", path);
	report_json_inspect(&j, m, r);
	jw_obj_end(&j);
	jw_finish(&j);
}

static void print_text(const char *path, const struct model *m, const struct check_result *r)
{
	printf("waldo inspect %s\n", report_esc(path));
	if (m->files.db.present) {
		if (m->db_ok)
			printf("  database  %s: %llu bytes, %u-byte pages, %llu pages in the file, header size %u (%s), %s mode\n",
			       report_esc(m->files.db.path), (unsigned long long)m->files.db.size, m->dbh.page_size,
			       (unsigned long long)m->db_pages, m->dbh.db_size,
			       m->dbh.size_valid ? "trusted" : "not trusted", m->dbh.wal_mode ? "WAL" : "rollback");
		else
			printf("  database  %s: %llu bytes, no valid SQLite header\n", report_esc(m->files.db.path),
			       (unsigned long long)m->files.db.size);
	} else {
		printf("  database  (none)\n");
	}
	if (m->has_wal) {
		const struct wal_walk *w = &m->wal;
		printf("  wal       %s: %llu bytes, %u frames (%u valid), %u commits, last commit frame %u",
		       report_esc(m->files.wal.path), (unsigned long long)m->files.wal.size, w->nframes, w->nvalid,
		       w->ntxn, w->mx_frame);
		if (w->nvalid > w->mx_frame)
			printf(", %u uncommitted", w->nvalid - w->mx_frame);
		if (w->file_size >= WAL_HDR_SIZE)
			printf(", %s checksums, salts %08x %08x", w->hdr.big_endian_cksum ? "big-endian" : "little-endian",
			       w->hdr.salt1, w->hdr.salt2);
		printf("\n");
	} else {
		printf("  wal       (none)\n");
	}
	if (m->has_shm) {
		const struct shm_info *s = &m->shm;
		if (s->has_header && s->order_known) {
			uint32_t mx = s->hdr[0].mx_frame;
			printf("  shm       %s: mxFrame %u, nBackfill %u (%u%% checkpointed), read marks",
			       report_esc(m->files.shm.path), mx, s->n_backfill,
			       mx ? (unsigned)((uint64_t)s->n_backfill * 100 / mx) : 100);
			for (int i = 0; i < SHM_NREADER; i++) {
				if (s->read_mark[i] == SHM_READMARK_NOT_USED)
					printf(" -");
				else
					printf(" %u", s->read_mark[i]);
			}
			printf("\n");
		} else {
			printf("  shm       %s: %llu bytes, no usable header\n", report_esc(m->files.shm.path),
			       (unsigned long long)m->files.shm.size);
		}
	}
	if (m->has_journal)
		printf("  journal   %s: %llu bytes\n", report_esc(m->files.journal.path), (unsigned long long)m->files.journal.size);
	uint32_t k = model_commit(m, MODEL_LAST);
	if (m->has_wal && !m->wal_usable && m->wal.ntxn)
		printf("  state     the WAL cannot be combined with this database; shown: the database file alone, %u pages",
		       model_npages(m, MODEL_LAST));
	else
		printf("  state     SQLite sees %s: %u pages", k ? "the WAL's last commit" : "the database file alone",
		       model_npages(m, MODEL_LAST));
	if (k)
		printf(" after commit %u", k);
	if (r->integrity == 1)
		printf(", integrity_check ok");
	printf("\n  readers   ");
	if (!r->locks.n) {
		printf("none\n");
	} else {
		char pids[512];
		locks_pid_list(&r->locks, pids, sizeof pids);
		printf("%s\n", pids);
	}
	if (m->diags.n) {
		printf("\nfindings (%zu):\n", m->diags.n + m->diags.dropped);
		report_text(stdout, &m->diags, &m->files);
	}
	printf("\nstatus: %s\n", report_status_name(&m->diags));
}

int cmd_inspect(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "strict", no_argument, NULL, 's' },
		{ "wal", required_argument, NULL, 'w' },
		{ "shm", required_argument, NULL, 'm' },
		{ "no-sqlite", no_argument, NULL, 'Q' },
		{ "no-locks", no_argument, NULL, 'L' },
		{ 0, 0, 0, 0 },
	};
	if (cmd_wants_help(argc, argv, usage))
		return EXIT_OK;
	int json = 0, strict = 0, c;
	const char *wal = NULL, *shm = NULL;
	struct check_opts o = { .sqlite = true, .locks = true };
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 's': strict = 1; break;
		case 'w': wal = optarg; break;
		case 'm': shm = optarg; break;
		case 'Q': o.sqlite = false; break;
		case 'L': o.locks = false; break;
		default:
			return cmd_usage_error("inspect", usage, "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cmd_usage_error("inspect", usage, "expected one PATH");
	const char *path = argv[optind];
	struct model m;
	char err[512];
	if (model_open(&m, path, wal, shm, err, sizeof err)) {
		cmd_error("%s", err);
		model_close(&m);
		return EXIT_NOINPUT;
	}
	struct check_result r;
	checks_run(&m, &o, &r);
	if (json)
		print_json(path, &m, &r);
	else
		print_text(path, &m, &r);
	int status = report_exit_status(&m.diags, strict);
	model_close(&m);
	return status;
}
