/*
 * cmd_rollback.c — `waldo rollback DB SET`: undo a checkpoint from the page
 * set `waldo checkpoint --save-undo SET` wrote (or any page set that
 * records the file it was saved from, FILE_HASH: docs/pageset.md).
 *
 * The pages go back the way SQLite writes pages: as a synthetic WAL whose
 * commit frame carries the old database size, applied by SQLite's own
 * checkpoint (wal-synth of `waldo repair`, with its undo file and
 * verification; repair/apply.h).  Success means one thing only: the
 * database file is byte for byte the pre-checkpoint file (its recorded
 * size and SHA-256), and with --keep-wal the WAL is byte for byte the
 * pre-checkpoint WAL, with no -shm beside it.
 *
 * Every run starts by finding out where things stand, so that a run after
 * any interruption — a kill at any write step, a crash inside SQLite's
 * checkpoint, or a manual rollback that wrote back only some pages or
 * forgot page 1 — goes on from there to the same verified state:
 *
 *   database file       pre-checkpoint already?  else: does the set laid
 *                       over it give the pre-checkpoint file?  (if not,
 *                       the file changed outside the saved pages since the
 *                       checkpoint, and nothing is written)
 *   WAL                 none, or adds nothing to the file; the rollback's
 *                       own synthetic WAL; the WAL the checkpoint copied
 *                       (its salts are the set's WAL_IDS and every page it
 *                       changes is in the set); or another WAL, whose
 *                       commits a rollback would throw away (refused
 *                       unless --force)
 *   kept WAL, -shm      with --keep-wal: already back, -shm gone?
 *
 * and then doing only what is left: the synthetic WAL when the database
 * file is not the pre-checkpoint one (or a WAL would re-apply the
 * checkpointed pages), then the kept WAL.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apply.h"
#include "ckpt_common.h"
#include "lockx.h"
#include "pageset.h"
#include "plan.h"
#include "../formats/dbheader.h"
#include "../inspect/cmd.h"
#include "../inspect/json.h"
#include "../inspect/model.h"

static const char usage[] =
	"usage: waldo rollback [--dry-run] [--keep-wal] [--force] [--json] DB SET\n"
	"\n"
	"Undo a checkpoint of the database DB: write back the pages 'waldo checkpoint\n"
	"--save-undo SET' saved, through a synthetic WAL that SQLite checkpoints, and\n"
	"verify that the database file is byte for byte the pre-checkpoint file.\n"
	"Refused while another process has DB open.  Safe to run again after an\n"
	"interruption: it goes on from wherever the files are.\n"
	"\n"
	"  --dry-run   show which pages would change and why; write nothing\n"
	"  --keep-wal  also put back the WAL kept with the set (SET.wal), so that the\n"
	"              pre-checkpoint database and WAL pair is complete\n"
	"  --force     throw away a WAL with commits the set does not account for;\n"
	"              replace a -wal that has other hard links\n"
	"  --json      one JSON object: {path, set, dry_run, set_info, before,\n"
	"              changes, prediction, result, verified, error, status, exit}\n"
	"\n"
	"Exit status: 0 the files are the pre-checkpoint files (now, or already);\n"
	"1 dry run: changes pending; 2 refused or failed (nothing written, or the\n"
	"undo file named puts the files back); 64 bad usage; 65 SET or SET.wal is\n"
	"damaged; 66 an input cannot be read; 73 a file cannot be written; 75 DB is\n"
	"in use, or on a file system other machines may share (NFS, SMB, FUSE, ...;\n"
	"WALDO_ALLOW_REMOTE=1 when nothing else uses it).\n";

#define LIST_TEXT 12          /* changed pages listed in the text output */

enum wal_kind { WK_NONE = 0, WK_NEUTRAL, WK_OURS, WK_CHECKPOINTED, WK_FOREIGN };
static const char *const wal_kind_names[] = { "none", "neutral", "synthetic", "checkpointed", "other" };

struct rb_state {
	bool db_present;
	uint64_t db_size;
	uint8_t db_sha[RIO_SHA];
	bool db_match;               /* the pre-checkpoint file */
	bool wal_present;
	uint64_t wal_size;
	uint32_t wal_frames, wal_commits;
	enum wal_kind wk;
	uint32_t *lost;              /* committed pages a rollback would throw away (owned) */
	uint32_t nlost;
	bool wal_is_kept;            /* the -wal is byte for byte SET.wal */
	bool shm_present;
	struct ckpt_pred pred;
	bool have_pred;
};

struct rb {
	const char *path, *setpath;
	bool dry, keep_wal, force;
	char db[4096], walp[4200], shmp[4200];
	struct pageset set;
	bool set_open;               /* pageset_open was called (pageset_close is due) */
	bool set_ok;                 /* and the set is valid */
	uint64_t kept_size;
	uint8_t kept_sha[RIO_SHA];
	char kept_path[4200];
	struct rb_state before, after;
	bool have_after;
	bool need_synth, need_wal;
	char in_use[512];
	/* what was done */
	bool ran_synth;
	struct rp_outcome o;
	bool wal_restored;
	bool verified;
	char err[1024];
};

static void state_free(struct rb_state *s)
{
	free(s->lost);
	s->lost = NULL;
	if (s->have_pred)
		ckpt_pred_free(&s->pred);
	s->have_pred = false;
}

static bool sha_eq(const uint8_t *a, const uint8_t *b)
{
	return !memcmp(a, b, RIO_SHA);
}

static void add_lost(struct rb_state *s, uint32_t pg, uint32_t cap)
{
	if (s->nlost < cap)
		s->lost[s->nlost++] = pg;
}

/*
 * Which WAL is beside the database (see the top of this file).  Compares
 * the newest committed version of every page the WAL holds with the
 * database file and with the set.
 */
static int classify_wal(struct rb *r, const struct model *m, struct rb_state *s)
{
	uint32_t nc = model_ncommits(m);
	s->wal_commits = nc;
	if (!m->has_wal || !nc) {
		s->wk = WK_NONE;
		return 0;
	}
	const struct pageset_info *in = &r->set.info;
	uint32_t mx = model_commit_frame(m, MODEL_LAST), ps = m->page_size;
	s->lost = malloc(((size_t)m->idx_maxpg + 1) * sizeof *s->lost);
	uint32_t *outside = malloc(((size_t)m->idx_maxpg + 1) * sizeof *outside), nout = 0;
	if (!s->lost || !outside) {
		free(outside);
		ckpt_fmt(r->err, sizeof r->err, "out of memory");
		return -1;
	}
	/* Only the pages of the state SQLite reads count: a page past its last commit's size is not data. */
	uint32_t npw = model_npages(m, MODEL_LAST);
	bool neutral = npw == m->db_pages && m->files.db.size % ps == 0;
	bool ours = npw == in->db_pages && ps == in->page_size;
	bool ids = !(in->flags & PAGESET_F_WAL_IDS) || (m->wal.hdr.ckpt_seq == in->ckpt_seq &&
							m->wal.hdr.salt1 == in->salt1 && m->wal.hdr.salt2 == in->salt2);
	for (uint32_t pg = 1; pg <= m->idx_maxpg && pg <= npw; pg++) {
		uint32_t f = model_find_frame(m, pg, 0, mx);
		if (!f)
			continue;
		const uint8_t *fp = model_frame_page(m, f), *dp = model_db_page(m, pg);
		bool eq_db = fp && dp && !memcmp(fp, dp, ps);
		int64_t i = ps == in->page_size ? pageset_find(&r->set, pg) : -1;
		bool eq_set = false;
		uint8_t d[RIO_SHA];
		if (i >= 0 && fp && !rio_sha256(fp, ps, d))
			eq_set = sha_eq(d, r->set.digest[i]);
		neutral &= eq_db;
		ours &= eq_set;
		if (!eq_db) {
			add_lost(s, pg, m->idx_maxpg + 1);
			if (i < 0)
				outside[nout++] = pg;
		}
	}
	if (neutral)
		s->wk = WK_NEUTRAL;
	else if (ours)
		s->wk = WK_OURS;
	else if (!nout && ids)
		s->wk = WK_CHECKPOINTED;
	else
		s->wk = WK_FOREIGN;
	if (s->wk != WK_FOREIGN) {
		s->nlost = 0;
	} else if (ids) {
		/* Only the pages the set does not hold are lost; the others the rollback replaces anyway. */
		memcpy(s->lost, outside, (size_t)nout * sizeof *outside);
		s->nlost = nout;
	}
	free(outside);
	return 0;
}

/*
 * Where things stand: the database file's hash, the WAL's kind, the kept
 * WAL, the -shm, and the prediction.  Returns 0, or an exit status.
 */
static int assess(struct rb *r, struct rb_state *s, bool predict)
{
	memset(s, 0, sizeof *s);
	struct model m;
	char err[1024];
	if (model_open(&m, r->db, NULL, NULL, err, sizeof err)) {
		ckpt_fmt(r->err, sizeof r->err, "%s", err);
		model_close(&m);
		return EXIT_NOINPUT;
	}
	int status = 0;
	s->db_present = m.files.db.present;
	s->wal_present = m.files.wal.present;
	s->wal_size = m.files.wal.size;
	s->wal_frames = m.has_wal ? m.wal.nframes : 0;
	s->shm_present = m.files.shm.present;
	if (!s->db_present) {
		ckpt_fmt(r->err, sizeof r->err, "no database file '%s'", r->db);
		status = EXIT_NOINPUT;
		goto out;
	}
	s->db_size = m.files.db.size;
	if (rio_sha256(m.files.db.data, (size_t)m.files.db.size, s->db_sha)) {
		ckpt_fmt(r->err, sizeof r->err, "SHA-256 failed");
		status = EXIT_SOFTWARE;
		goto out;
	}
	status = cmd_refuse_unreadable(&m.files, r->err, sizeof r->err);   /* the hash read every page */
	if (status)
		goto out;
	s->db_match = s->db_size == r->set.info.file_size && sha_eq(s->db_sha, r->set.info.file_sha256);
	if (m.db_ok && m.page_size != r->set.info.page_size) {
		ckpt_fmt(r->err, sizeof r->err, "'%s' has %u-byte pages, the page set %u-byte pages: it was not saved "
			 "from this database", r->db, m.page_size, r->set.info.page_size);
		status = EXIT_ERRORS;
		goto out;
	}
	if (classify_wal(r, &m, s)) {
		status = EXIT_SOFTWARE;
		goto out;
	}
	if (r->keep_wal && s->wal_present) {
		uint8_t d[RIO_SHA];
		s->wal_is_kept = s->wal_size == r->kept_size && !rio_sha256(m.files.wal.data, (size_t)s->wal_size, d) &&
				 sha_eq(d, r->kept_sha);
	}
	if (predict) {
		int rc = ckpt_predict(m.files.db.fd, m.files.db.size, &r->set, &s->pred, err, sizeof err);
		if (rc) {
			ckpt_fmt(r->err, sizeof r->err, "%s", err);
			status = rc == -2 ? EXIT_DATAERR : EXIT_NOINPUT;
			goto out;
		}
		s->have_pred = true;
	}
out:
	model_close(&m);
	return status;
}

/* Is the pair the pre-checkpoint state?  (The definition of success.) */
static bool state_final(const struct rb *r, const struct rb_state *s)
{
	if (!s->db_match)
		return false;
	if (r->keep_wal)
		return s->wal_is_kept && !s->shm_present;
	return s->wk == WK_NONE || s->wk == WK_NEUTRAL;
}

static const char *page_why(const struct rb *r, const struct rb_state *s, uint32_t pg)
{
	(void)r;
	if (pg > s->pred.file_pages)
		return "past the end of the file: the checkpoint cut it off";
	if (pg == 1)
		return "page 1 (database header) differs from the saved version";
	return "differs from the saved version: the checkpoint overwrote it";
}

/* ---- the two write phases ---- */

static int do_synth(struct rb *r, struct lockx *lk)
{
	struct model m;
	char err[1024];
	if (model_open(&m, r->db, NULL, NULL, err, sizeof err)) {
		ckpt_fmt(r->err, sizeof r->err, "%s", err);
		model_close(&m);
		lockx_release(lk);
		return EXIT_NOINPUT;
	}
	struct rp_opts ro;
	memset(&ro, 0, sizeof ro);
	ro.pageset = r->setpath;
	ro.apply = true;
	ro.replace_wal = true;     /* the set is the state to go back to (the loss check is ours) */
	ro.locks = false;          /* our own locks would show up */
	ro.command = "rollback";
	char bad[64];
	rp_parse_actions("wal-synth", &ro.only, bad, sizeof bad);
	struct rp_plan p;
	int status = 0;
	if (rp_plan_make(&p, &m, &ro)) {
		ckpt_fmt(r->err, sizeof r->err, "%s", p.err);
		status = EXIT_NOINPUT;
	}
	const struct rp_proposal *pr = NULL;
	for (size_t i = 0; !status && i < p.nprop; i++)
		if (!strcmp(p.prop[i].act->name, "wal-synth"))
			pr = &p.prop[i];
	if (!status && (!pr || pr->status != RP_ST_APPLY)) {
		ckpt_fmt(r->err, sizeof r->err, "the synthetic WAL cannot be written: %s",
			 pr ? pr->note : "wal-synth made no proposal");
		status = EXIT_ERRORS;
	}
	if (!status) {
		r->ran_synth = true;
		status = rp_apply_in_place(&p, lk, &r->o);      /* releases lk */
		if (status)
			ckpt_fmt(r->err, sizeof r->err, "%s", r->o.msg[0] ? r->o.msg : "writing the synthetic WAL failed");
	}
	rp_plan_free(&p);
	model_close(&m);
	lockx_release(lk);
	return status;
}

static int do_wal(struct rb *r)
{
	char pids[512], err[1024];
	int rc = lockx_probe(r->db, pids, sizeof pids, err, sizeof err);
	if (rc) {
		ckpt_fmt(r->err, sizeof r->err, "cannot put the WAL back now: %s (run waldo rollback again)",
			 rc > 0 ? pids : err);
		return rc > 0 ? EXIT_TEMPFAIL : EXIT_NOINPUT;
	}
	struct lockx lk;
	lockx_init(&lk);
	rc = lockx_take(&lk, r->db, r->shmp, err, sizeof err);
	if (rc) {
		ckpt_fmt(r->err, sizeof r->err, "%s", err);
		return rc > 0 ? EXIT_TEMPFAIL : EXIT_CANTCREAT;
	}
	struct wf_file w;
	int status = 0;
	if (wf_open(&w, r->kept_path, err, sizeof err)) {
		ckpt_fmt(r->err, sizeof r->err, "%s", err);
		status = EXIT_NOINPUT;
	}
	uint8_t d[RIO_SHA];
	if (!status && (w.size != r->kept_size || rio_sha256(w.data, (size_t)w.size, d) || !sha_eq(d, r->kept_sha))) {
		ckpt_fmt(r->err, sizeof r->err, "the kept WAL '%s' changed since it was checked", r->kept_path);
		status = EXIT_DATAERR;
	}
	/* The -shm first: a wal-index of another WAL must never sit beside the restored one. */
	if (!status && rio_unlink(r->shmp, err, sizeof err)) {
		ckpt_fmt(r->err, sizeof r->err, "%s", err);
		status = EXIT_CANTCREAT;
	}
	if (!status && ckpt_write_file(r->walp, w.data, w.size, true, err, sizeof err)) {
		ckpt_fmt(r->err, sizeof r->err, "%s", err);
		status = EXIT_CANTCREAT;
	}
	if (!status)
		r->wal_restored = true;
	wf_close(&w);
	lockx_release(&lk);
	return status;
}

/* ---- output ---- */

static void print_state(const struct rb *r, const struct rb_state *s, const char *title)
{
	char hex[2 * RIO_SHA + 1];
	rio_hex(s->db_sha, hex);
	printf("  %-11s database %llu bytes, sha256 %.16s...: %s\n", title, (unsigned long long)s->db_size, hex,
	       s->db_match ? "the pre-checkpoint file" : "not the pre-checkpoint file");
	if (!s->wal_present)
		printf("  %-11s no WAL\n", "");
	else if (r->keep_wal && s->wal_is_kept)
		printf("  %-11s WAL %llu bytes: the kept pre-checkpoint WAL\n", "", (unsigned long long)s->wal_size);
	else if (s->wk == WK_NONE)
		printf("  %-11s WAL %llu bytes, no commit SQLite would apply\n", "", (unsigned long long)s->wal_size);
	else
		printf("  %-11s WAL %llu bytes, %u commits: %s\n", "", (unsigned long long)s->wal_size, s->wal_commits,
		       s->wk == WK_NEUTRAL ? "every page it holds is already in the database file"
		       : s->wk == WK_OURS ? "the rollback's own synthetic WAL (an earlier run stopped)"
		       : s->wk == WK_CHECKPOINTED ? "the WAL the checkpoint copied: the rollback replaces it"
		       : "commits the page set does not account for");
	if (s->wk == WK_FOREIGN && s->nlost && !(r->keep_wal && s->wal_is_kept)) {
		printf("  %-11s pages only this WAL holds (lost by a rollback):", "");
		for (uint32_t i = 0; i < s->nlost && i < LIST_TEXT; i++)
			printf(" %u", s->lost[i]);
		if (s->nlost > LIST_TEXT)
			printf(" ... (%u in all)", s->nlost);
		putchar('\n');
	}
	if (r->keep_wal && s->wal_present && !s->wal_is_kept)
		printf("  %-11s the WAL is not the kept one\n", "");
	if (s->shm_present)
		printf("  %-11s a -shm is present\n", "");
}

static void print_text(const struct rb *r, int status)
{
	const struct pageset_info *in = &r->set.info;
	char hex[2 * RIO_SHA + 1];
	rio_hex(in->file_sha256, hex);
	printf("waldo rollback %s %s%s\n", r->db, r->setpath, r->dry ? " (dry run)" : "");
	printf("  page set    %u pages of %u bytes; pre-checkpoint file %u pages, %llu bytes, sha256 %.16s...\n",
	       r->set.n, in->page_size, in->db_pages, (unsigned long long)in->file_size, hex);
	if (r->keep_wal) {
		rio_hex(r->kept_sha, hex);
		printf("  kept WAL    %s, %llu bytes, sha256 %.16s...\n", r->kept_path, (unsigned long long)r->kept_size,
		       hex);
	}
	const struct rb_state *s = &r->before;
	print_state(r, s, "now");
	if (s->have_pred && r->need_synth) {
		const struct ckpt_pred *p = &s->pred;
		printf("  changes     %u of the set's pages (%u already hold their saved bytes)\n", p->nchanged, p->nsame);
		for (uint32_t i = 0; i < p->nchanged && i < LIST_TEXT; i++)
			printf("    page %-7u %s\n", p->changed[i], page_why(r, s, p->changed[i]));
		if (p->nchanged > LIST_TEXT)
			printf("    ... and %u more\n", p->nchanged - LIST_TEXT);
		if (p->ncut)
			printf("    pages %llu..%llu go: the checkpoint grew the file past the saved size\n",
			       (unsigned long long)in->db_pages + 1, (unsigned long long)p->file_pages);
		rio_hex(p->sha, hex);
		printf("  prediction  %llu bytes, sha256 %.16s...: %s\n", (unsigned long long)p->size, hex,
		       p->matches ? "the pre-checkpoint file" : "NOT the pre-checkpoint file");
	}
	if (r->dry) {
		if (r->need_synth)
			printf("  would       write a synthetic WAL of the set's pages and let SQLite checkpoint it\n");
		if (r->need_wal)
			printf("  would       put back the kept WAL and remove the -shm\n");
		if (!r->need_synth && !r->need_wal && !status)
			printf("  nothing to do: the files are the pre-checkpoint files\n");
		if (r->in_use[0])
			printf("  note        in use by %s: a real run would refuse now\n", r->in_use);
		return;
	}
	if (r->ran_synth) {
		printf("  rollback    synthetic WAL %s", r->o.applied ? "applied by SQLite's checkpoint" : "not applied");
		if (r->o.undo[0])
			printf("; undo file %s%s", r->o.undo, r->o.restored ? " (used, and removed)" : "");
		putchar('\n');
		if (r->o.verified)
			printf("              pages as planned: %s; integrity_check %s\n", r->o.v.hashes_ok ? "yes" : "NO",
			       r->o.v.integrity == 1 ? "ok" : r->o.v.integrity_msg);
	}
	if (r->wal_restored)
		printf("  WAL         put back from %s; -shm removed\n", r->kept_path);
	if (r->have_after && r->verified) {
		rio_hex(r->after.db_sha, hex);
		printf("  verified    %s is the pre-checkpoint file (sha256 %s)%s\n", r->db, hex,
		       r->keep_wal ? ", its WAL the kept WAL" : "");
	} else if (!r->need_synth && !r->need_wal && !status) {
		printf("  verified    nothing to do: the files are the pre-checkpoint files\n");
	}
}

static void json_state(struct jw *j, const char *key, const struct rb_state *s, bool keep_wal)
{
	jw_obj_begin(j, key);
	jw_uint(j, "db_bytes", s->db_size);
	jw_hex(j, "db_sha256", s->db_sha, RIO_SHA);
	jw_bool(j, "db_is_pre_checkpoint", s->db_match);
	jw_obj_begin(j, "wal");
	jw_bool(j, "present", s->wal_present);
	jw_uint(j, "bytes", s->wal_size);
	jw_uint(j, "frames", s->wal_frames);
	jw_uint(j, "commits", s->wal_commits);
	jw_str(j, "kind", wal_kind_names[s->wk]);
	jw_arr_begin(j, "lost_pages");
	for (uint32_t i = 0; i < s->nlost; i++)
		jw_uint(j, NULL, s->lost[i]);
	jw_arr_end(j);
	if (keep_wal)
		jw_bool(j, "is_kept_wal", s->wal_is_kept);
	jw_obj_end(j);
	jw_bool(j, "shm_present", s->shm_present);
	jw_obj_end(j);
}

static void print_json(const struct rb *r, int status)
{
	const struct pageset_info *in = &r->set.info;
	struct jw j;
	jw_init(&j, stdout);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "path", r->db[0] ? r->db : r->path);
	jw_str(&j, "set", r->setpath);
	jw_bool(&j, "dry_run", r->dry);
	if (r->set_ok) {
		jw_obj_begin(&j, "set_info");
		jw_uint(&j, "pages", r->set.n);
		jw_uint(&j, "page_size", in->page_size);
		jw_uint(&j, "db_pages", in->db_pages);
		jw_uint(&j, "file_size", in->file_size);
		jw_hex(&j, "file_sha256", in->file_sha256, RIO_SHA);
		if (r->keep_wal) {
			jw_obj_begin(&j, "kept_wal");
			jw_str(&j, "path", r->kept_path);
			jw_uint(&j, "bytes", r->kept_size);
			jw_hex(&j, "sha256", r->kept_sha, RIO_SHA);
			jw_obj_end(&j);
		}
		jw_obj_end(&j);
	} else {
		jw_null(&j, "set_info");
	}
	const struct rb_state *s = &r->before;
	if (s->db_present) {
		json_state(&j, "before", s, r->keep_wal);
		jw_arr_begin(&j, "changes");
		for (uint32_t i = 0; s->have_pred && r->need_synth && i < s->pred.nchanged; i++) {
			jw_obj_begin(&j, NULL);
			jw_uint(&j, "page", s->pred.changed[i]);
			jw_str(&j, "why", page_why(r, s, s->pred.changed[i]));
			jw_obj_end(&j);
		}
		jw_arr_end(&j);
		if (s->have_pred) {
			jw_obj_begin(&j, "prediction");
			jw_uint(&j, "unchanged_pages", s->pred.nsame);
			jw_uint(&j, "pages_removed", s->pred.ncut);
			jw_uint(&j, "bytes", s->pred.size);
			jw_hex(&j, "sha256", s->pred.sha, RIO_SHA);
			jw_bool(&j, "matches", s->pred.matches);
			jw_obj_end(&j);
		} else {
			jw_null(&j, "prediction");
		}
	} else {
		jw_null(&j, "before");
		jw_arr_begin(&j, "changes");
		jw_arr_end(&j);
		jw_null(&j, "prediction");
	}
	jw_obj_begin(&j, "result");
	jw_bool(&j, "synthetic_wal", r->ran_synth);
	jw_bool(&j, "applied", r->o.applied);
	jw_str(&j, "undo_file", r->o.undo[0] && !r->o.restored ? r->o.undo : NULL);
	jw_bool(&j, "wal_restored", r->wal_restored);
	if (r->have_after)
		json_state(&j, "after", &r->after, r->keep_wal);
	else
		jw_null(&j, "after");
	jw_obj_end(&j);
	jw_bool(&j, "verified", r->verified);
	jw_str(&j, "error", r->err[0] ? r->err : NULL);
	jw_str(&j, "status", status == 0 ? "ok" : status == 1 ? "pending" : "error");
	jw_int(&j, "exit", status);
	jw_obj_end(&j);
	jw_finish(&j);
}

/* ---- the command ---- */

static int links_ok(struct rb *r)
{
	const char *p[3] = { r->db, r->walp, r->shmp };
	for (int i = 0; i < 3; i++) {
		struct stat ls;
		if (lstat(p[i], &ls))
			continue;
		if (S_ISLNK(ls.st_mode)) {
			ckpt_fmt(r->err, sizeof r->err, "'%s' is a symbolic link: renaming over it would replace the "
				 "link, not the file (roll back the path it points to)", p[i]);
			return EXIT_CANTCREAT;
		}
		/* SQLite writes the database file in place; the -wal is replaced by a rename. */
		if (p[i] == r->walp && ls.st_nlink > 1 && !r->force) {
			ckpt_fmt(r->err, sizeof r->err, "'%s' has %lu hard links: the other names would keep the old "
				 "bytes (use --force)", p[i], (unsigned long)ls.st_nlink);
			return EXIT_CANTCREAT;
		}
	}
	return 0;
}

static int run(struct rb *r)
{
	char err[1024];
	struct wf_set fs;
	if (wf_set_open(&fs, r->path, NULL, NULL, err, sizeof err)) {
		ckpt_fmt(r->err, sizeof r->err, "%s", err);
		return EXIT_NOINPUT;
	}
	bool present = fs.db.present;
	ckpt_fmt(r->db, sizeof r->db, "%s", fs.db.path ? fs.db.path : r->path);
	wf_set_close(&fs);
	if (!present) {
		ckpt_fmt(r->err, sizeof r->err, "no database file for '%s'", r->path);
		return EXIT_NOINPUT;
	}
	ckpt_fmt(r->walp, sizeof r->walp, "%s-wal", r->db);
	ckpt_fmt(r->shmp, sizeof r->shmp, "%s-shm", r->db);

	int rc = pageset_open(&r->set, r->setpath, err, sizeof err);
	r->set_open = true;
	if (rc) {
		ckpt_fmt(r->err, sizeof r->err, "%s", err);
		return rc == -2 ? EXIT_DATAERR : EXIT_NOINPUT;
	}
	r->set_ok = true;
	if (!(r->set.info.flags & PAGESET_F_FILE_HASH)) {
		ckpt_fmt(r->err, sizeof r->err, "the page set '%s' does not record the file it was saved from "
			 "(FILE_HASH): a rollback could not prove it got there (write it back with waldo repair "
			 "--pageset)", r->setpath);
		return EXIT_ERRORS;
	}
	rc = pageset_verify(&r->set, err, sizeof err);
	if (rc) {
		ckpt_fmt(r->err, sizeof r->err, "%s", err);
		return rc == -2 ? EXIT_DATAERR : EXIT_NOINPUT;
	}
	if (r->keep_wal) {
		char sum[4200];
		ckpt_walcopy_paths(r->setpath, r->kept_path, sizeof r->kept_path, sum, sizeof sum);
		rc = ckpt_walcopy_check(r->setpath, &r->kept_size, r->kept_sha, err, sizeof err);
		if (rc) {
			ckpt_fmt(r->err, sizeof r->err, "%s", err);
			return rc == -2 ? EXIT_DATAERR : EXIT_NOINPUT;
		}
	}

	char pids[512];
	rc = lockx_probe(r->db, pids, sizeof pids, err, sizeof err);
	if (rc < 0) {
		ckpt_fmt(r->err, sizeof r->err, "%s", err);
		return EXIT_NOINPUT;
	}
	if (rc > 0) {
		ckpt_fmt(r->in_use, sizeof r->in_use, "%s", pids);
		if (!r->dry) {
			ckpt_fmt(r->err, sizeof r->err, "'%s' is in use by %s: refusing to roll it back (stop them first)",
				 r->db, pids);
			return EXIT_TEMPFAIL;
		}
	}
	struct lockx lk;
	lockx_init(&lk);
	if (!r->dry) {
		rc = lockx_take(&lk, r->db, r->shmp, err, sizeof err);
		if (rc) {
			ckpt_fmt(r->err, sizeof r->err, "%s%s", err, rc > 0 ? ": the database is in use" : "");
			return rc > 0 ? EXIT_TEMPFAIL : EXIT_CANTCREAT;
		}
		if ((rc = links_ok(r))) {
			lockx_release(&lk);
			return rc;
		}
	}

	int status = assess(r, &r->before, true);
	if (status) {
		lockx_release(&lk);
		return status;
	}
	struct rb_state *s = &r->before;
	r->need_synth = !s->db_match || (!r->keep_wal && s->wk != WK_NONE && s->wk != WK_NEUTRAL);
	r->need_wal = r->keep_wal && (!s->wal_is_kept || s->shm_present);
	if (!r->need_synth && !r->need_wal) {
		lockx_release(&lk);
		r->verified = !r->dry;
		return 0;
	}
	if (s->wk == WK_FOREIGN && !r->force) {
		ckpt_fmt(r->err, sizeof r->err, "the WAL beside '%s' holds commits the page set does not account for "
			 "(%u pages only it holds): a rollback would throw them away (--force to do so)", r->db,
			 s->nlost);
		lockx_release(&lk);
		return EXIT_ERRORS;
	}
	if (r->need_synth && !s->pred.matches) {
		ckpt_fmt(r->err, sizeof r->err, "the page set laid over '%s' does not give the pre-checkpoint file: the "
			 "file changed outside the saved pages since the checkpoint (or the set is another file's); "
			 "nothing written", r->db);
		lockx_release(&lk);
		return EXIT_ERRORS;
	}
	if (r->dry)
		return EXIT_WARNINGS;

	if (r->need_synth) {
		status = do_synth(r, &lk);     /* releases lk */
		if (status)
			return status;
	} else {
		lockx_release(&lk);
	}
	if (r->need_wal) {
		status = do_wal(r);
		if (status)
			return status;
	}
	/* The only success: the files are the pre-checkpoint files. */
	status = assess(r, &r->after, false);
	r->have_after = !status;
	if (status)
		return status;
	r->verified = state_final(r, &r->after);
	if (!r->verified) {
		ckpt_fmt(r->err, sizeof r->err, "after the rollback '%s' is not the pre-checkpoint %s%s", r->db,
			 r->after.db_match ? "state (its WAL or -shm)" : "file",
			 r->o.undo[0] && !r->o.restored ? "; waldo undo with the undo file puts the files back" : "");
		return EXIT_ERRORS;
	}
	return 0;
}

int cmd_rollback(int argc, char **argv)
{
	if (cmd_wants_help(argc, argv, usage))
		return EXIT_OK;
	enum { O_DRY = 1000, O_KEEP, O_FORCE, O_JSON };
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, O_DRY },
		{ "keep-wal", no_argument, NULL, O_KEEP },
		{ "force", no_argument, NULL, O_FORCE },
		{ "json", no_argument, NULL, O_JSON },
		{ 0, 0, 0, 0 },
	};
	struct rb r;
	memset(&r, 0, sizeof r);
	bool json = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "n", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
		case O_DRY: r.dry = true; break;
		case O_KEEP: r.keep_wal = true; break;
		case O_FORCE: r.force = true; break;
		case O_JSON: json = true; break;
		default:
			return cmd_usage_error("rollback", usage, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return cmd_usage_error("rollback", usage, "expected DB and SET");
	r.path = argv[optind];
	r.setpath = argv[optind + 1];
	int status = run(&r);
	if (json)
		print_json(&r, status);
	else if (r.before.db_present)
		print_text(&r, status);
	if (r.err[0])
		cmd_error("%s", r.err);
	state_free(&r.before);
	state_free(&r.after);
	if (r.set_open)
		pageset_close(&r.set);
	return status;
}
