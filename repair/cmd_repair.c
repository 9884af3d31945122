/*
 * cmd_repair.c — `waldo repair`: plan a repair, and carry it out on a copy
 * (-o) or on the files themselves (--in-place) with an undo file, verifying
 * the result either way.  The plan, the policy and the actions are in
 * plan.c and actions.c; writing and verifying in apply.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apply.h"
#include "lockx.h"
#include "plan.h"
#include "../inspect/cmd.h"
#include "../inspect/report.h"

static const char usage[] =
	"usage: waldo repair [--json] [-o OUT | --in-place [--yes]] [--only ACTION,...]\n"
	"                    [--skip ACTION,...] [--salvage] [--pageset SET [--apply]] [--force] DB\n"
	"\n"
	"Plan the repair of the database DB and its -wal and -shm: for every action,\n"
	"the findings it addresses, each byte range it would change (file, offset,\n"
	"length) and why, and what data it gives up.  Without -o or --in-place\n"
	"nothing is written.\n"
	"\n"
	"  -o, --output OUT  write the repaired database to OUT (and OUT-wal when a\n"
	"                    WAL remains); the inputs stay untouched; refused while\n"
	"                    any process holds a lock on DB (copy it with waldo\n"
	"                    backup and repair the copy)\n"
	"  --in-place        repair DB itself: refused while any process holds a lock\n"
	"                    on it; holds SQLite's locks meanwhile; first writes the\n"
	"                    undo file DB.waldo-undo-TIMESTAMP (see waldo undo)\n"
	"  --yes             do not ask before changing the files (--in-place)\n"
	"  --only LIST       run only these actions (and actions that run only when\n"
	"                    named: checkpoint-offline, wal-detach of a WAL that is\n"
	"                    this database's)\n"
	"  --skip LIST       do not run these actions\n"
	"  --salvage         allow wal-rechain to make SQLite see frames it drops today\n"
	"  --pageset SET     wal-synth: write the pages of the page set SET\n"
	"                    (docs/pageset.md) as a synthetic WAL\n"
	"  --apply           with --pageset: let SQLite checkpoint that WAL at once\n"
	"  --force           replace OUT (and remove OUT-wal, OUT-shm, OUT-journal);\n"
	"                    in place: repair files that have other hard links too\n"
	"  --json            one JSON object: {path, mode, actions, unrepaired,\n"
	"                    expected, findings, result, status, exit} (docs/repair.md)\n"
	"\n"
	"Every write is verified: the pages SQLite sees afterwards are compared with\n"
	"the plan's by SHA-256, and PRAGMA integrity_check runs on the result; an\n"
	"in-place repair that fails is undone from its undo file.\n"
	"\n"
	"Exit status: 0 nothing to do, or repaired and verified; 1 a plan exists\n"
	"(dry run), or actions are held back (--salvage) or refused for now (a hot\n"
	"journal); 2 problems remain that no action repairs, an asked-for action\n"
	"cannot run, or the result failed verification (then put back); 64 bad\n"
	"usage; 66 an input cannot be read; 70 internal error; 73 an output cannot\n"
	"be written; 75 the database is in use, or on a file system other machines\n"
	"may share (NFS, SMB, FUSE, ...; WALDO_ALLOW_REMOTE=1 when nothing else uses it).\n";

static void print_help(void)
{
	fputs(usage, stdout);
	printf("\nActions (docs/repair.md):\n");
	for (size_t i = 0; i < rp_nactions; i++)
		printf("  %-19s %-8s %s\n", rp_actions[i].name, rp_safety_name(rp_actions[i].safety),
		       rp_actions[i].help);
}

enum mode { M_PLAN, M_COPY, M_IN_PLACE };

static bool confirm(const char *db, size_t n, bool yes, int *status)
{
	if (yes)
		return true;
	if (!isatty(STDIN_FILENO)) {
		cmd_error("refusing to change '%s' without --yes (standard input is not a terminal)", db);
		*status = EXIT_USAGE;
		return false;
	}
	fprintf(stderr, "apply %zu action%s to '%s' in place? [y/N] ", n, n == 1 ? "" : "s", db);
	char line[16];
	if (!fgets(line, sizeof line, stdin) || (line[0] != 'y' && line[0] != 'Y')) {
		fprintf(stderr, "nothing changed\n");
		*status = EXIT_OK;
		return false;
	}
	return true;
}

static void print_outcome_text(const struct rp_plan *p, const struct rp_outcome *o, enum mode mode)
{
	(void)p;
	if (!o->written && !o->msg[0])
		return;
	printf("\n%s:\n", mode == M_COPY ? "written" : "changed");
	for (int f = 0; f < RP_NFILES; f++) {
		if (!o->file[f].what || !o->file[f].path[0])
			continue;
		char hex[2 * RIO_SHA + 1];
		rio_hex(o->file[f].sha, hex);
		if (o->file[f].present)
			printf("  %-8s %s (%llu bytes, sha256 %.16s...)\n", o->file[f].what, o->file[f].path,
			       (unsigned long long)o->file[f].size, hex);
		else if (strcmp(o->file[f].what, "none") && strcmp(o->file[f].what, "kept"))
			printf("  %-8s %s\n", o->file[f].what, o->file[f].path);
	}
	if (o->undo[0])
		printf("  undo file %s%s\n", o->undo, o->restored ? " (used, and removed)" : "");
	if (o->applied)
		printf("  SQLite checkpointed the synthetic WAL\n");
	if (o->verified) {
		const struct rp_verify *v = &o->v;
		printf("verification: pages %s (%u expected, %u found", v->hashes_ok ? "as planned" : "DIFFER",
		       v->npages_expected, v->npages_found);
		if (v->nbad)
			printf(", %u differ from page %u", v->nbad, v->first_bad);
		printf("); integrity_check %s%s%s\n", v->integrity == 1 ? "ok" : v->integrity == 0 ? "FAILS" : "cannot run",
		       v->integrity == 1 ? "" : ": ", v->integrity == 1 ? "" : v->integrity_msg);
	}
	if (o->msg[0])
		printf("error: %s\n", o->msg);
	if (o->restored && mode == M_IN_PLACE)
		printf("the original files were put back\n");
	else if (o->restored)
		printf("the repaired copy was removed\n");
}

static void json_outcome(struct jw *j, const struct rp_outcome *o)
{
	jw_obj_begin(j, "result");
	jw_bool(j, "written", o->written);
	jw_str(j, "undo_file", o->undo[0] && !o->restored ? o->undo : NULL);
	jw_arr_begin(j, "files");
	for (int f = 0; f < RP_NFILES; f++) {
		if (!o->file[f].what || !o->file[f].path[0])
			continue;
		jw_obj_begin(j, NULL);
		jw_str(j, "file", rp_file_name((enum rp_file)f));
		jw_str(j, "path", o->file[f].path);
		jw_str(j, "what", o->file[f].what);
		jw_bool(j, "present", o->file[f].present);
		if (o->file[f].present) {
			jw_uint(j, "size", o->file[f].size);
			jw_hex(j, "sha256", o->file[f].sha, RIO_SHA);
		}
		jw_obj_end(j);
	}
	jw_arr_end(j);
	jw_bool(j, "applied", o->applied);
	if (o->verified) {
		const struct rp_verify *v = &o->v;
		jw_obj_begin(j, "verification");
		jw_bool(j, "ok", v->ok);
		jw_bool(j, "pages_as_planned", v->hashes_ok);
		jw_uint(j, "pages_expected", v->npages_expected);
		jw_uint(j, "pages_found", v->npages_found);
		jw_uint(j, "pages_differing", v->nbad);
		jw_str(j, "integrity", v->integrity == 1 ? "ok" : v->integrity == 0 ? "failed" : "error");
		jw_str(j, "integrity_message", v->integrity == 1 ? NULL : v->integrity_msg);
		jw_obj_end(j);
	} else {
		jw_null(j, "verification");
	}
	jw_bool(j, "restored", o->restored);
	jw_str(j, "error", o->msg[0] ? o->msg : NULL);
	jw_obj_end(j);
}

static void json_doc(const struct rp_plan *p, const char *path, enum mode mode, const struct rp_outcome *o,
		     int status)
{
	static const char *const modes[] = { "plan", "output", "in-place" };
	struct jw j;
	jw_init(&j, stdout);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "path", path);
	jw_str(&j, "mode", modes[mode]);
	rp_json_plan(&j, p);
	report_json(&j, &p->m->diags, &p->m->files);
	if (o)
		json_outcome(&j, o);
	else
		jw_null(&j, "result");
	jw_str(&j, "status", status == 0 ? "ok" : status == 1 ? "plan" : "error");
	jw_int(&j, "exit", status);
	jw_obj_end(&j);
	jw_finish(&j);
}

/* The exit status a plan implies before anything is written. */
static int plan_status(const struct rp_plan *p, enum mode mode)
{
	int st = EXIT_OK;
	if (mode == M_PLAN && rp_changes_anything(p))
		st = EXIT_WARNINGS;
	if (rp_count(p, RP_ST_NEEDS_SALVAGE))
		st = EXIT_WARNINGS;
	for (size_t i = 0; i < p->nprop; i++) {
		const struct rp_proposal *pr = &p->prop[i];
		if (pr->status != RP_ST_REFUSED)
			continue;
		if (pr->requested || (p->o->only & (1u << rp_action_index(pr->act))))
			st = EXIT_ERRORS;
		else if (st < EXIT_WARNINGS)
			st = EXIT_WARNINGS;      /* something to do, not now (a hot journal) */
	}
	if (rp_unrepaired_worst(p) == WD_ERROR)
		st = EXIT_ERRORS;
	return st;
}

int cmd_repair(int argc, char **argv)
{
	enum { O_JSON = 1000, O_IN_PLACE, O_YES, O_ONLY, O_SKIP, O_SALVAGE, O_PAGESET, O_APPLY, O_FORCE };
	static const struct option opts[] = {
		{ "json", no_argument, NULL, O_JSON },
		{ "output", required_argument, NULL, 'o' },
		{ "in-place", no_argument, NULL, O_IN_PLACE },
		{ "yes", no_argument, NULL, O_YES },
		{ "only", required_argument, NULL, O_ONLY },
		{ "skip", required_argument, NULL, O_SKIP },
		{ "salvage", no_argument, NULL, O_SALVAGE },
		{ "pageset", required_argument, NULL, O_PAGESET },
		{ "apply", no_argument, NULL, O_APPLY },
		{ "force", no_argument, NULL, O_FORCE },
		{ 0, 0, 0, 0 },
	};
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			print_help();
			return EXIT_OK;
		}
	bool json = false, yes = false, force = false;
	const char *out = NULL;
	enum mode mode = M_PLAN;
	struct rp_opts ro = { 0 };
	ro.locks = true;
	char bad[64];
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case O_JSON: json = true; break;
		case 'o': out = optarg; break;
		case O_IN_PLACE: mode = M_IN_PLACE; break;
		case O_YES: yes = true; break;
		case O_SALVAGE: ro.salvage = true; break;
		case O_PAGESET: ro.pageset = optarg; break;
		case O_APPLY: ro.apply = true; break;
		case O_FORCE: force = true; break;
		case O_ONLY:
		case O_SKIP:
			if (rp_parse_actions(optarg, c == O_ONLY ? &ro.only : &ro.skip, bad, sizeof bad))
				return cmd_usage_error("repair", usage, "unknown action '%s' (see waldo repair --help)", bad);
			break;
		default:
			return cmd_usage_error("repair", usage, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cmd_usage_error("repair", usage, "expected one DB path");
	if (out && mode == M_IN_PLACE)
		return cmd_usage_error("repair", usage, "-o and --in-place exclude each other");
	if (out)
		mode = M_COPY;
	if (ro.apply && !ro.pageset)
		return cmd_usage_error("repair", usage, "--apply needs --pageset");
	const char *path = argv[optind];
	char err[1024];

	struct lockx lk;
	lockx_init(&lk);
	char dbpath[4096];
	snprintf(dbpath, sizeof dbpath, "%s", path);
	if (mode != M_PLAN) {
		/*
		 * Both writing modes refuse a database in use.  In place, obviously; -o
		 * because the files of a live database change while they are read (a
		 * writer appends frames, a checkpoint rewrites pages, a new connection
		 * truncates the -shm), and a repaired copy of a mix of states is worse
		 * than none.  The locks taken next keep any SQLite connection out
		 * until the files are read (-o: when the files can be opened for
		 * writing, which the locks need; read-only evidence is read as it is).
		 */
		struct wf_set s;
		if (wf_set_open(&s, path, NULL, NULL, err, sizeof err)) {
			cmd_error("%s", err);
			return EXIT_NOINPUT;
		}
		if (!s.db.present) {
			cmd_error("no database file for '%s'", path);
			wf_set_close(&s);
			return EXIT_NOINPUT;
		}
		snprintf(dbpath, sizeof dbpath, "%s", s.db.path);
		wf_set_close(&s);
		char pids[512], shm[4200];
		int rc = lockx_probe(dbpath, pids, sizeof pids, err, sizeof err);
		if (rc < 0) {
			cmd_error("%s", err);
			return EXIT_NOINPUT;
		}
		if (rc > 0 && mode == M_IN_PLACE) {
			cmd_error("'%s' is in use by %s: refusing to change it (stop them, or repair a copy with -o)",
				  dbpath, pids);
			return EXIT_TEMPFAIL;
		}
		if (rc > 0) {
			cmd_error("'%s' is in use by %s: refusing to read it for a repaired copy while it may change "
				  "(stop them, or take a consistent copy with 'waldo backup' and repair that)", dbpath, pids);
			return EXIT_TEMPFAIL;
		}
		snprintf(shm, sizeof shm, "%s-shm", dbpath);
		if (mode == M_IN_PLACE || access(dbpath, W_OK) == 0) {
			rc = lockx_take(&lk, dbpath, shm, err, sizeof err);
			if (rc > 0 || (rc < 0 && mode == M_IN_PLACE)) {
				cmd_error("%s%s", err, rc > 0 ? ": the database is in use" : "");
				return rc > 0 ? EXIT_TEMPFAIL : EXIT_CANTCREAT;
			}
			ro.locks = rc != 0;  /* our own locks would show up */
		}
	}

	struct model m;
	if (model_open(&m, dbpath, NULL, NULL, err, sizeof err)) {
		cmd_error("%s", err);
		model_close(&m);
		lockx_release(&lk);
		return EXIT_NOINPUT;
	}
	if (!m.files.db.present) {
		cmd_error("no database file for '%s'", path);
		model_close(&m);
		lockx_release(&lk);
		return EXIT_NOINPUT;
	}
	if (mode == M_IN_PLACE && !force) {
		/* A rename gives the name a new inode: other hard links would keep the old bytes. */
		const struct wf_file *fs[3] = { &m.files.db, &m.files.wal, &m.files.shm };
		for (int i = 0; i < 3; i++) {
			struct stat ls;
			if (fs[i]->path && !lstat(fs[i]->path, &ls) && S_ISLNK(ls.st_mode)) {
				cmd_error("'%s' is a symbolic link: renaming over it would replace the link, not the "
					  "file (repair the path it points to)", fs[i]->path);
				model_close(&m);
				lockx_release(&lk);
				return EXIT_CANTCREAT;
			}
			if (fs[i]->present && fs[i]->st.st_nlink > 1) {
				cmd_error("'%s' has %lu hard links: repairing it in place would leave the other names "
					  "with the old bytes (use --force, or repair a copy with -o)", fs[i]->path,
					  (unsigned long)fs[i]->st.st_nlink);
				model_close(&m);
				lockx_release(&lk);
				return EXIT_CANTCREAT;
			}
		}
	}
	struct rp_plan p;
	if (rp_plan_make(&p, &m, &ro)) {
		cmd_error("%s", p.err);
		rp_plan_free(&p);
		model_close(&m);
		lockx_release(&lk);
		return EXIT_NOINPUT;
	}
	int status = plan_status(&p, mode);
	if (!json)
		rp_print_plan(stdout, &p);
	if (mode != M_PLAN && cmd_refuse_unreadable(&m.files, err, sizeof err)) {
		cmd_error("%s", err);     /* the analysis read every page the repair would write from */
		if (json)
			json_doc(&p, dbpath, mode, NULL, EXIT_NOINPUT);
		rp_plan_free(&p);
		model_close(&m);
		lockx_release(&lk);
		return EXIT_NOINPUT;
	}
	bool act = mode != M_PLAN && rp_changes_anything(&p);
	struct rp_outcome o;
	memset(&o, 0, sizeof o);
	bool ran = false;
	if (mode != M_PLAN && !rp_changes_anything(&p)) {
		if (!json)
			printf("\nnothing to do: no file changes\n");
		lockx_release(&lk);
	} else if (act && mode == M_IN_PLACE && !confirm(dbpath, rp_count(&p, RP_ST_APPLY), yes, &status)) {
		lockx_release(&lk);
	} else if (act) {
		ran = true;
		int st = mode == M_COPY ? rp_apply_copy(&p, out, force, &o) : rp_apply_in_place(&p, &lk, &o);
		if (st && o.msg[0])
			cmd_error("%s", o.msg);      /* stderr too: a script sees why it failed */
		if (st)
			status = st;
		else if (status == EXIT_WARNINGS && !rp_count(&p, RP_ST_NEEDS_SALVAGE))
			status = EXIT_OK;
	} else if (!json) {
		if (rp_changes_anything(&p))
			printf("\ndry run: nothing written (-o OUT writes a repaired copy, --in-place repairs DB)\n");
		else
			printf("\nnothing to do\n");
	}
	if (json)
		json_doc(&p, dbpath, mode, ran ? &o : NULL, status);
	else if (ran)
		print_outcome_text(&p, &o, mode);
	rp_plan_free(&p);
	model_close(&m);
	lockx_release(&lk);
	return status;
}
