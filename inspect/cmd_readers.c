/*
 * cmd_readers.c — `waldo readers`: who has the database open right now,
 * holding which of SQLite's locks, and how far each reader holds the
 * checkpointer back.
 *
 * The lock holders come from locks_probe (/proc/locks on Linux, F_GETLK
 * elsewhere; no lock is ever taken).  The read marks come from the -shm's
 * checkpoint info.  What a checkpoint could do now is computed the way
 * SQLite's walCheckpoint does it: mxSafeFrame starts at mxFrame and drops
 * to aReadMark[i] for every slot i in 1..4 whose mark is lower and whose
 * READ(i) lock the checkpointer cannot take (someone holds it); a slot
 * nobody holds does not count, the checkpointer would simply reset it.
 * Backfilling also needs READ(0) exclusively, so a process holding READ0
 * (a reader that ignores the WAL) stops every backfill.
 *
 * Only the -shm is parsed: a live WAL can change under us and is not needed.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "checks.h"
#include "cmd.h"
#include "files.h"
#include "json.h"
#include "locks.h"
#include "report.h"
#include "../formats/shm.h"

static const char usage[] =
	"usage: waldo readers [--json] [--shm FILE] PATH\n"
	"\n"
	"Show which processes hold SQLite's locks on the database PATH and its\n"
	"-shm right now, with PIDs and command names: the write lock, the\n"
	"checkpoint lock, recovery, each read-mark slot READ0..READ4 with its\n"
	"aReadMark against mxFrame and nBackfill, and how many frames each reader\n"
	"keeps the checkpointer from copying into the database (as SQLite's\n"
	"walCheckpoint computes mxSafeFrame).  Locks are read from /proc/locks\n"
	"(F_GETLK elsewhere); none is taken and nothing is written.\n"
	"\n"
	"  --json       one JSON object: {path, shm, locks, slots, checkpoint,\n"
	"               processes, findings, status}\n"
	"  --shm FILE   use FILE as the -shm\n"
	"\n"
	"Exit status: 0 nobody holds locks, 1 some process does, or the database is\n"
	"on a file system other machines may share (FS_REMOTE: theirs are not seen),\n"
	"64 bad usage, 66 an input cannot be read.\n";

#define NSLOTS 8                       /* WRITE, CKPT, RECOVER, READ0..READ4 */

struct view {
	bool shm_ok;                       /* header decoded: marks mean something */
	uint32_t mx, nbackfill, attempted;
	uint32_t mark[SHM_NREADER];
	bool held[NSLOTS + 1];             /* + DMS */
	uint32_t pins[SHM_NREADER];        /* frames each READ slot keeps from backfill */
	uint32_t mx_safe;                  /* walCheckpoint's mxSafeFrame */
	uint32_t backfillable;             /* frames a checkpoint could copy now */
	uint32_t pinned;                   /* frames readers keep from it */
	bool read0_blocks;                 /* a READ0 holder blocks every backfill */
};

static bool covers(const struct lock_holder *h, uint64_t byte)
{
	return h->start <= byte && byte <= h->end;
}

static void compute(const struct shm_info *si, bool have_shm, const struct lock_report *r, struct view *v)
{
	memset(v, 0, sizeof *v);
	for (int i = 0; i < r->n; i++)
		for (unsigned s = 0; s <= NSLOTS; s++)
			if (r->h[i].file == 's' && covers(&r->h[i], SHM_LOCK_OFFSET + s))
				v->held[s] = true;
	v->shm_ok = have_shm && si->has_header && si->order_known;
	if (!v->shm_ok)
		return;
	v->mx = si->hdr[0].mx_frame;
	v->nbackfill = si->n_backfill;
	v->attempted = si->n_backfill_attempted;
	memcpy(v->mark, si->read_mark, sizeof v->mark);
	/* walCheckpoint: the lowest mark among slots 1..4 it cannot lock. */
	v->mx_safe = v->mx;
	for (unsigned i = 1; i < SHM_NREADER; i++)
		if (v->mx_safe > v->mark[i] && v->held[3 + i])
			v->mx_safe = v->mark[i];
	v->read0_blocks = v->held[3] && v->nbackfill < v->mx_safe;
	uint32_t done = v->nbackfill > v->mx ? v->mx : v->nbackfill;
	if (v->read0_blocks) {
		v->backfillable = 0;
		v->pinned = v->mx - done;
	} else {
		v->backfillable = v->mx_safe > done ? v->mx_safe - done : 0;
		v->pinned = v->mx - (v->mx_safe > done ? v->mx_safe : done);
	}
	for (unsigned i = 0; i < SHM_NREADER; i++) {
		if (!v->held[3 + i])
			continue;
		uint32_t from = i == 0 ? done : v->mark[i] > done ? v->mark[i] : done;
		v->pins[i] = i == 0 ? (v->read0_blocks ? v->mx - done : 0) : from < v->mx ? v->mx - from : 0;
	}
}

/* "pid (comm) shared, …" for the holders of shm byte `byte` (or every
 * holder of the database file when file == 'd'). */
static void holders(const struct lock_report *r, char file, uint64_t byte, char *buf, size_t n)
{
	size_t k = 0;
	buf[0] = '\0';
	for (int i = 0; i < r->n && k < n; i++) {
		const struct lock_holder *h = &r->h[i];
		if (h->file != file || (file == 's' && !covers(h, byte)))
			continue;
		char name[128];
		k += (size_t)snprintf(buf + k, n - k, "%s%s %s%s%s", k ? ", " : "",
				      locks_holder_name(h, name, sizeof name), h->exclusive ? "exclusive" : "shared",
				      file == 'd' ? " " : "", file == 'd' ? h->what : "");
	}
	if (!buf[0])
		snprintf(buf, n, "-");
}

static void add_findings(const struct lock_report *r, const struct view *v, struct wd_diags *d)
{
	locks_add_remote(r, d);
	if (!r->n)
		return;
	char pids[512];
	locks_pid_list(r, pids, sizeof pids);
	wd_add(d, WD_DB_IN_USE, r->h[0].file == 's' ? WD_F_SHM : WD_F_DB, WD_NONE, WD_NONE, WD_NONE,
	       "locks held by: %s", pids);
	if (v->pinned >= CKPT_STARVED_FRAMES) {
		struct lock_report readers = { 0 };
		for (int i = 0; i < r->n; i++)
			for (unsigned s = 0; s < SHM_NREADER; s++)
				if (r->h[i].file == 's' && covers(&r->h[i], SHM_LOCK_OFFSET + 3 + s) && v->pins[s] &&
				    readers.n < LOCKS_MAX)
					readers.h[readers.n++] = r->h[i];
		locks_pid_list(&readers, pids, sizeof pids);
		wd_add(d, WD_CKPT_STARVED, WD_F_SHM, 96, WD_NONE, WD_NONE,
		       "readers keep %u frames from being checkpointed (mxFrame %u, nBackfill %u, mxSafeFrame %u): %s",
		       v->pinned, v->mx, v->nbackfill, v->mx_safe, pids);
	}
}

static void print_text(const char *path, const struct wf_set *s, const struct lock_report *r,
		       const struct view *v, const struct wd_diags *d)
{
	char buf[1024];
	printf("waldo readers %s\n", report_esc(path));
	if (v->shm_ok)
		printf("shm %s: mxFrame %u, nBackfill %u, nBackfillAttempted %u\n", report_esc(s->shm.path), v->mx,
		       v->nbackfill, v->attempted);
	else if (s->shm.present)
		printf("shm %s: no usable header (%llu bytes): read marks unknown\n", report_esc(s->shm.path),
		       (unsigned long long)s->shm.size);
	else
		printf("shm: none (no connection has the database open in WAL mode)\n");
	printf("\n  lock         mark  %-40s  keeps from backfill\n", "holders");
	for (unsigned i = 0; i < NSLOTS; i++) {
		char mark[16] = "-";
		if (i >= 3 && v->shm_ok && v->mark[i - 3] != SHM_READMARK_NOT_USED)
			snprintf(mark, sizeof mark, "%u", v->mark[i - 3]);
		holders(r, 's', SHM_LOCK_OFFSET + i, buf, sizeof buf);
		if (i >= 3 && v->pins[i - 3])
			printf("  %-8s %8s  %-40s  %u frame%s\n", shm_lock_name(i), mark, report_esc(buf), v->pins[i - 3],
			       v->pins[i - 3] == 1 ? "" : "s");
		else
			printf("  %-8s %8s  %s\n", shm_lock_name(i), mark, report_esc(buf));
	}
	holders(r, 's', SHM_DMS_OFFSET, buf, sizeof buf);
	printf("  %-8s %8s  %s\n", "DMS", "-", report_esc(buf));
	holders(r, 'd', 0, buf, sizeof buf);
	printf("  database        -  %s\n", report_esc(buf));
	if (v->shm_ok) {
		printf("\ncheckpoint: mxSafeFrame %u", v->mx_safe);
		if (v->read0_blocks)
			printf("; READ0 is held, so no frame can be copied now");
		else
			printf("; a checkpoint now could copy %u frame%s", v->backfillable,
			       v->backfillable == 1 ? "" : "s");
		printf("; readers hold back %u frame%s\n", v->pinned, v->pinned == 1 ? "" : "s");
	}
	locks_pid_list(r, buf, sizeof buf);
	printf("processes: %s%s\n", r->n ? report_esc(buf) : "none", r->truncated ? " (more locks than listed)" : "");
	if (d->n) {
		printf("\nfindings:\n");
		report_text(stdout, d, s);
	}
	printf("\nstatus: %s\n", r->n ? "in use" : "idle");
}

static void json_holders(struct jw *j, const struct lock_report *r, uint64_t byte)
{
	jw_arr_begin(j, "holders");
	for (int i = 0; i < r->n; i++) {
		const struct lock_holder *h = &r->h[i];
		if (h->file != 's' || !covers(h, byte))
			continue;
		jw_obj_begin(j, NULL);
		jw_int(j, "pid", h->pid);
		jw_str(j, "comm", h->comm);
		jw_str(j, "mode", h->exclusive ? "exclusive" : "shared");
		jw_obj_end(j);
	}
	jw_arr_end(j);
}

static void print_json(const char *path, const struct wf_set *s, const struct lock_report *r,
		       const struct view *v, const struct wd_diags *d)
{
	struct jw j;
	jw_init(&j, stdout);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "path", path);
	if (v->shm_ok) {
		jw_obj_begin(&j, "shm");
		jw_str(&j, "path", s->shm.path);
		jw_uint(&j, "mxFrame", v->mx);
		jw_uint(&j, "nBackfill", v->nbackfill);
		jw_uint(&j, "nBackfillAttempted", v->attempted);
		jw_obj_end(&j);
	} else {
		jw_null(&j, "shm");
	}
	jw_bool(&j, "reliable", r->reliable);
	jw_bool(&j, "truncated", r->truncated);
	jw_arr_begin(&j, "locks");
	for (int i = 0; i < r->n; i++) {
		const struct lock_holder *h = &r->h[i];
		jw_obj_begin(&j, NULL);
		jw_int(&j, "pid", h->pid);
		jw_str(&j, "comm", h->comm);
		jw_str(&j, "file", h->file == 's' ? "shm" : "db");
		jw_str(&j, "lock", h->what);
		jw_str(&j, "mode", h->exclusive ? "exclusive" : "shared");
		jw_uint(&j, "start", h->start);
		if (h->end == UINT64_MAX)
			jw_null(&j, "end");
		else
			jw_uint(&j, "end", h->end);
		jw_obj_end(&j);
	}
	jw_arr_end(&j);
	jw_arr_begin(&j, "slots");
	for (unsigned i = 0; i < NSLOTS; i++) {
		jw_obj_begin(&j, NULL);
		jw_str(&j, "slot", shm_lock_name(i));
		jw_uint(&j, "byte", SHM_LOCK_OFFSET + i);
		if (i >= 3 && v->shm_ok)
			jw_uint(&j, "mark", v->mark[i - 3]);
		else
			jw_null(&j, "mark");
		json_holders(&j, r, SHM_LOCK_OFFSET + i);
		jw_uint(&j, "pinned_frames", i >= 3 ? v->pins[i - 3] : 0);
		jw_obj_end(&j);
	}
	jw_arr_end(&j);
	jw_obj_begin(&j, "dms");
	json_holders(&j, r, SHM_DMS_OFFSET);
	jw_obj_end(&j);
	if (v->shm_ok) {
		jw_obj_begin(&j, "checkpoint");
		jw_uint(&j, "mx_safe_frame", v->mx_safe);
		jw_uint(&j, "backfillable_frames", v->backfillable);
		jw_uint(&j, "pinned_frames", v->pinned);
		jw_bool(&j, "blocked_by_read0", v->read0_blocks);
		jw_obj_end(&j);
	} else {
		jw_null(&j, "checkpoint");
	}
	jw_arr_begin(&j, "processes");
	for (int i = 0; i < r->n; i++) {
		bool dup = false;
		for (int k = 0; k < i; k++)
			dup |= r->h[k].pid == r->h[i].pid;
		if (dup)
			continue;
		jw_obj_begin(&j, NULL);
		jw_int(&j, "pid", r->h[i].pid);
		jw_str(&j, "comm", r->h[i].comm);
		jw_obj_end(&j);
	}
	jw_arr_end(&j);
	report_json(&j, d, s);
	jw_str(&j, "status", r->n ? "in-use" : "idle");
	jw_obj_end(&j);
	jw_finish(&j);
}

int cmd_readers(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "shm", required_argument, NULL, 'm' },
		{ 0, 0, 0, 0 },
	};
	if (cmd_wants_help(argc, argv, usage))
		return EXIT_OK;
	int json = 0, c;
	const char *shm = NULL;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'm': shm = optarg; break;
		default:
			return cmd_usage_error("readers", usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cmd_usage_error("readers", usage, "expected one PATH");
	const char *path = argv[optind];
	struct wf_set s;
	char err[512];
	if (wf_set_open(&s, path, NULL, shm, err, sizeof err)) {
		cmd_error("%s", err);
		wf_set_close(&s);
		return EXIT_NOINPUT;
	}
	if (!s.db.present && !s.shm.present) {
		cmd_error("no database or -shm file for '%s'", path);
		wf_set_close(&s);
		return EXIT_NOINPUT;
	}
	struct shm_info si;
	struct wd_diags scratch = { 0 }, d = { 0 };
	memset(&si, 0, sizeof si);
	if (s.shm.present)
		shm_parse(s.shm.data, s.shm.size, &si, &scratch);
	wd_diags_free(&scratch);
	static struct lock_report r;       /* ~40 KiB: keep it off the stack */
	locks_probe(&s, &r);
	struct view v;
	compute(&si, s.shm.present, &r, &v);
	add_findings(&r, &v, &d);
	cmd_check_inputs(&s, CMD_IN_SHM, &d, NULL);      /* the read marks come from the -shm alone */
	if (json)
		print_json(path, &s, &r, &v, &d);
	else
		print_text(path, &s, &r, &v, &d);
	int status = r.n || r.remote ? EXIT_WARNINGS : EXIT_OK;
	wd_diags_free(&d);
	wf_set_close(&s);
	return status;
}
