/*
 * cmd_undo.c — `waldo undo UNDOFILE`: put back the files an in-place
 * repair changed, byte for byte, from the undo file it wrote first
 * (format: undo.h, docs/repair.md).  Safe to run again: files already as
 * they were are left alone.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lockx.h"
#include "undo.h"
#include "../inspect/cmd.h"
#include "../inspect/json.h"

static const char usage[] =
	"usage: waldo undo [--json] [--force] UNDOFILE\n"
	"\n"
	"Restore the database, -wal and -shm that `waldo repair --in-place` changed\n"
	"to their exact original bytes and sizes, from the undo file it wrote before\n"
	"changing anything (DB.waldo-undo-TIMESTAMP).  Refused while any process\n"
	"holds a lock on the database or its -shm; SQLite's locks are held meanwhile.\n"
	"Each file is replaced through a temporary file, fsync and rename.  A file\n"
	"already as it was is left alone, so running it again changes nothing.\n"
	"\n"
	"  --force   also restore a database or -wal changed since the repair (their\n"
	"            changes are lost; refused when the undo file cannot rebuild them)\n"
	"  --json    one JSON object: {undo_file, created, note, files, status, exit}\n"
	"\n"
	"Exit status: 0 restored, or already as before; 2 a file changed since the\n"
	"repair (nothing written; see --force) or cannot be restored; 64 bad usage;\n"
	"66 the undo file cannot be read or is damaged; 73 a file cannot be written;\n"
	"75 the database is in use, or on a file system other machines may share\n"
	"(NFS, SMB, FUSE, ...; WALDO_ALLOW_REMOTE=1 when nothing else uses it).\n";

static int lock_tmp(void *ctx, const char *tmp)
{
	char e[256];
	return lockx_add_db(ctx, tmp, e, sizeof e);
}

static void print_json(const struct undo_doc *u, const enum undo_state *st, const char *action,
		       const char *msg, int status)
{
	struct jw j;
	jw_init(&j, stdout);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "undo_file", u->path);
	jw_uint(&j, "created", u->created);
	jw_str(&j, "note", u->note);
	jw_arr_begin(&j, "files");
	for (size_t i = 0; i < u->n; i++) {
		char path[4400];
		jw_obj_begin(&j, NULL);
		jw_str(&j, "name", u->r[i].name);
		jw_str(&j, "path", undo_rec_path(u, i, path, sizeof path));
		jw_str(&j, "state", st ? undo_state_name(st[i]) : NULL);
		jw_uint(&j, "original_size", u->r[i].orig_size);
		jw_bool(&j, "originally_present", u->r[i].flags & UNDO_ORIG_PRESENT);
		jw_hex(&j, "original_sha256", u->r[i].orig_sha, RIO_SHA);
		jw_obj_end(&j);
	}
	jw_arr_end(&j);
	jw_str(&j, "action", action);
	jw_str(&j, "error", msg && msg[0] ? msg : NULL);
	jw_str(&j, "status", status ? "error" : "ok");
	jw_int(&j, "exit", status);
	jw_obj_end(&j);
	jw_finish(&j);
}

int cmd_undo(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "force", no_argument, NULL, 'f' },
		{ 0, 0, 0, 0 },
	};
	if (cmd_wants_help(argc, argv, usage))
		return EXIT_OK;
	bool json = false, force = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 'f')
			force = true;
		else
			return cmd_usage_error("undo", usage, "unknown option '%s'", argv[optind - 1]);
	}
	if (argc - optind != 1)
		return cmd_usage_error("undo", usage, "expected one UNDOFILE");
	const char *path = argv[optind];
	char err[1024];
	struct undo_doc u;
	if (undo_open(&u, path, err, sizeof err)) {
		cmd_error("%s", err);
		undo_close(&u);
		return EXIT_NOINPUT;
	}
	size_t dbi = u.n;
	for (size_t i = 0; i < u.n; i++)
		if (u.r[i].role == 0)
			dbi = i;
	if (dbi == u.n) {
		cmd_error("'%s' names no database file", path);
		undo_close(&u);
		return EXIT_NOINPUT;
	}
	char db[4400], shm[4500], pids[512];
	undo_rec_path(&u, dbi, db, sizeof db);
	snprintf(shm, sizeof shm, "%s-shm", db);
	int rc = lockx_probe(db, pids, sizeof pids, err, sizeof err);
	if (rc) {
		if (rc > 0)
			cmd_error("'%s' is in use by %s: refusing to change it", db, pids);
		else
			cmd_error("%s", err);
		undo_close(&u);
		return rc > 0 ? EXIT_TEMPFAIL : EXIT_NOINPUT;
	}
	struct lockx lk;
	lockx_init(&lk);
	rc = lockx_take(&lk, db, shm, err, sizeof err);
	if (rc) {
		cmd_error("%s", err);
		undo_close(&u);
		return rc > 0 ? EXIT_TEMPFAIL : EXIT_CANTCREAT;
	}
	enum undo_state st[UNDO_MAX_FILES];
	for (size_t i = 0; i < u.n; i++)
		if (undo_state_of(&u, i, &st[i], err, sizeof err)) {
			cmd_error("%s", err);
			lockx_release(&lk);
			undo_close(&u);
			return EXIT_NOINPUT;
		}
	struct undo_result res;
	rc = undo_restore(&u, force, lock_tmp, &lk, &res, err, sizeof err);
	lockx_release(&lk);
	int status = rc == 0 ? EXIT_OK : rc == -2 ? EXIT_ERRORS : EXIT_CANTCREAT;
	const char *action = rc ? "refused" : res.restored ? "restored" : "nothing to do";
	if (json) {
		print_json(&u, st, action, rc ? err : NULL, status);
	} else {
		char when[64] = "";
		time_t t = (time_t)u.created;
		struct tm tm;
		if (gmtime_r(&t, &tm))
			strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
		printf("undo file %s (%s)\n  %s\n", u.path, when, u.note);
		for (size_t i = 0; i < u.n; i++) {
			char p[4400];
			bool vol = st[i] == UNDO_ST_OTHER && (u.r[i].flags & UNDO_VOLATILE);
			printf("  %-8s %s: %s%s\n", u.r[i].role == 0 ? "database" : u.r[i].role == 1 ? "wal" : "shm",
			       undo_rec_path(&u, i, p, sizeof p), vol ? "rewritten by SQLite since the repair"
								      : undo_state_name(st[i]),
			       vol ? " (restored all the same: SQLite rebuilds it)" : "");
		}
		if (rc)
			printf("error: %s\n", err);   /* and on stderr, below */
		else if (res.restored)
			printf("restored %zu file%s to their original bytes\n", res.restored,
			       res.restored == 1 ? "" : "s");
		else
			printf("nothing to do: every file is already as it was before the repair\n");
	}
	if (rc)
		cmd_error("%s", err);
	undo_close(&u);
	return status;
}
