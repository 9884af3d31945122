/*
 * plan.h — what `waldo repair` would do, and how it does it.
 *
 * A repair starts with the same analysis as `waldo inspect` (model_open,
 * checks_run without libsqlite3).  Every action of the table in actions.c
 * looks at the model and, when it has something to do, makes a proposal:
 * the findings it addresses, every byte range it would change (file,
 * offset, length, why) and what data it gives up.  One function,
 * rp_policy, then decides which proposals run: safe and fixing actions by
 * default, salvage only with --salvage, whole-file rewrites only when asked
 * for, --only/--skip on top, and the conflicts between actions that touch
 * the same file.  Each selected action then says what each file becomes
 * (struct rp_fout) and what state SQLite will see afterwards (struct
 * rp_expect), which verification checks page by page.  Docs: docs/repair.md.
 */
#ifndef WALDO_PLAN_H
#define WALDO_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../inspect/checks.h"
#include "../inspect/json.h"
#include "../inspect/model.h"
#include "pageset.h"
#include "undo.h"

enum rp_file { RP_DB = 0, RP_WAL, RP_SHM, RP_NFILES };

enum rp_safety {
	RP_SAFE = 0,     /* SQLite reads the same state before and after */
	RP_FIX,          /* sets fields to the one value the evidence allows */
	RP_SALVAGE,      /* makes SQLite see frames it drops today (--salvage) */
	RP_REWRITE,      /* rewrites a whole file from other data (only when asked for) */
};

enum rp_status {
	RP_ST_APPLY = 0,      /* selected */
	RP_ST_NEEDS_SALVAGE,  /* held back until --salvage */
	RP_ST_ON_REQUEST,     /* available, runs only when named with --only */
	RP_ST_SKIPPED,        /* --skip, or left out of --only */
	RP_ST_SUBSUMED,       /* a selected action does this too */
	RP_ST_REFUSED,        /* cannot run here (note says why) */
};

enum rp_change_kind {
	RP_CH_PATCH = 0,      /* bytes overwritten */
	RP_CH_CUT,            /* the file cut at offset: length bytes go */
	RP_CH_REMOVE,         /* the whole file removed */
	RP_CH_CREATE,         /* a new file of length bytes */
	RP_CH_REWRITE,        /* the file rewritten; offset/length: the bytes that differ */
	RP_CH_FIELDS,         /* the same fields in many places (note explains) */
};

#define RP_MAX_CODES 8
#define RP_MAX_CHANGES 24
#define RP_MAX_PATCHES 8

struct rp_change {
	enum rp_file file;
	enum rp_change_kind kind;
	uint64_t offset, length;
	char what[256];
};

struct rp_patch {
	uint64_t off;
	uint32_t len;                /* at most 8 */
	uint8_t b[8];
};

struct rp_plan;
struct rp_proposal;

/*
 * Where new file content goes: written to fd (unless -1), hashed, and
 * compared with the original file so that the undo file can hold exactly
 * the original bytes that change (see repair/apply.c).
 */
struct rp_sink {
	int fd;                      /* -1: hash and compare only (a prediction) */
	uint64_t off;                /* bytes given so far */
	const uint8_t *orig;         /* the original file, NULL when there is none */
	uint64_t orig_size;
	struct rio_sha sha;
	struct undo_region *reg;     /* original ranges that differ (owned) */
	uint64_t nreg, cap;
	uint8_t *buf;                /* writes are gathered into RIO_CHUNK pieces */
	size_t nbuf;
	bool bad;                    /* a write failed or out of memory (errno kept) */
	int eno;                     /* errno of the failed write, 0 when none */
};
void rp_sink_write(struct rp_sink *s, const void *p, size_t n);

/* What one file becomes. */
enum rp_fmode { RP_FM_KEEP = 0, RP_FM_EDIT, RP_FM_GEN, RP_FM_DELETE };
struct rp_fout {
	enum rp_fmode mode;
	uint64_t size;               /* EDIT: the original's first `size` bytes… */
	struct rp_patch patch[RP_MAX_PATCHES];   /* …with these laid over them */
	int npatch;
	/* GEN: give the whole new content to the sink.  0, or -1 with err. */
	int (*gen)(struct rp_plan *p, struct rp_sink *s, char *err, size_t errlen);
	/* GEN by path instead: create `path` (it does not exist) and write it. */
	int (*gen_path)(struct rp_plan *p, const char *path, char *err, size_t errlen);
	bool by_sqlite;              /* GEN describes what libsqlite3 will write (wal-synth --apply):
				      * predicted for the undo file and verification, not written */
	const char *by;              /* the action that set this */
};

/*
 * The state SQLite must see after the repair: the database file with the
 * original WAL's frames 1..upto_frame laid over it (the newest frame of a
 * page wins), npages pages, page-1 patches, and the page set's pages over
 * everything (wal-synth).
 */
struct rp_expect {
	uint32_t upto_frame;
	uint32_t npages;
	struct rp_patch p1_db[RP_MAX_PATCHES];  /* over page 1 when it comes from the database file */
	int np1_db;
	struct rp_patch p1_any[RP_MAX_PATCHES]; /* over page 1 wherever it comes from */
	int np1_any;
	bool zero_missing;           /* pages no file holds are written as zeros */
	bool overlay_set;            /* the page set's pages replace the state's */
	bool same_as_before;         /* only state-preserving actions: must equal the current state */
};

struct rp_proposal {
	const struct rp_action *act;
	enum rp_safety safety;       /* the action's, or what this proposal really is */
	enum rp_status status;
	bool requested;              /* the user asked for it by another option (--pageset) */
	char note[256];              /* why held back, refused or subsumed */
	enum wd_code codes[RP_MAX_CODES];   /* the findings it addresses */
	int ncodes;
	char summary[320];           /* what it does */
	char why[320];               /* why that is right */
	char gives_up[400];          /* data given up, "" for none */
	struct rp_change ch[RP_MAX_CHANGES];
	int nch;
	uint64_t nmore;              /* changes not listed */
	uint64_t a[6];               /* action-private values */
};

struct rp_action {
	const char *name;
	enum rp_safety safety;
	const char *help;            /* one line for --help and docs */
	/* Make a proposal: 1 made, 0 nothing to do, -1 error (p->err). */
	int (*plan)(struct rp_plan *p, struct rp_proposal *pr);
	/* For a selected proposal: set p->fout[] and p->exp. */
	void (*build)(struct rp_plan *p, const struct rp_proposal *pr);
};

extern const struct rp_action rp_actions[];
extern const size_t rp_nactions;
/* The action named `name`, or NULL. */
const struct rp_action *rp_action_find(const char *name);
/* Index of a in rp_actions. */
size_t rp_action_index(const struct rp_action *a);

struct rp_opts {
	uint32_t only;               /* bit i: action i named in --only (0: no --only) */
	uint32_t skip;               /* bit i: action i named in --skip */
	bool salvage;
	const char *pageset;         /* --pageset SET: wal-synth's input */
	bool apply;                  /* --apply: wal-synth runs the checkpoint at once */
	bool replace_wal;            /* wal-synth: replace a WAL even when some of its committed pages
				      * are not in the database file (for waldo rollback, whose set is
				      * the state to go back to); the plan lists them as given up */
	bool locks;                  /* probe lock holders during analysis */
	const char *command;         /* what the undo file says made it (default "repair --in-place") */
};
/*
 * Parse a comma-separated action list into a bit mask.  Returns 0, or -1
 * with the unknown name in bad.
 */
int rp_parse_actions(const char *list, uint32_t *mask, char *bad, size_t n);

/* What wal-rechain found (act_walrechain.c). */
struct rechain {
	int big;                     /* checksum word order of the output */
	uint32_t ps;
	uint32_t t0[2];              /* chain value the verification started from */
	uint32_t nverified;          /* frames 1..nverified are vouched for */
	uint32_t nfield;             /* of them, frames with a damaged checksum field */
	uint32_t last_commit;        /* last commit frame among them, 0 if none */
	uint32_t commit_size;        /* its database size */
	uint32_t ncommits;
	char stop[160];              /* why verification stopped */
};
/*
 * Verify the frames of m's WAL (both chain starts, both word orders when
 * the magic is damaged) and keep the longest vouched-for prefix.  Returns
 * 1 when it ends in a commit frame, else 0.
 */
int rechain_scan(const struct model *m, struct rechain *r);

/* What wal-synth will write (walsynth.c). */
struct synth {
	uint32_t ckpt_seq, salt1, salt2;
	int big;
	bool page1_from_db;          /* page 1 is not in the set: the file's, size patched */
	uint32_t nframes;
};

struct rp_plan {
	struct model *m;
	const struct rp_opts *o;
	struct check_result cr;
	struct rp_proposal prop[16];
	size_t nprop;
	struct rp_fout fout[RP_NFILES];
	struct rp_expect exp;
	struct pageset set;          /* wal-synth's page set, when --pageset */
	bool have_set;
	char path[RP_NFILES][4096];  /* the files: database, -wal, -shm */
	bool hot_journal;
	struct rechain rechain;
	struct synth synth;
	char err[512];
};

/*
 * Analyse m (opened by the caller) and make the plan: proposals, policy,
 * file outputs and the expected state.  Returns 0, or -1 with p->err set
 * (an input that cannot be read, out of memory: exit 66/70).  Always call
 * rp_plan_free.
 */
int rp_plan_make(struct rp_plan *p, struct model *m, const struct rp_opts *o);
void rp_plan_free(struct rp_plan *p);

/* The one place that decides which proposals run (see the top of this file). */
void rp_policy(struct rp_plan *p);

/* Number of proposals with this status. */
size_t rp_count(const struct rp_plan *p, enum rp_status st);
/* Does any file change? */
bool rp_changes_anything(const struct rp_plan *p);
/*
 * Is finding i of the model addressed: 2 by a selected proposal, 1 only by
 * one held back (salvage, on request, skipped), 0 by none.
 */
int rp_addressed(const struct rp_plan *p, size_t i);
/* Worst severity among findings nothing addresses (-1 none). */
int rp_unrepaired_worst(const struct rp_plan *p);

/* Helpers for the actions. */
void rp_change(struct rp_proposal *pr, enum rp_file f, enum rp_change_kind k, uint64_t off, uint64_t len,
	       const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void rp_codes(struct rp_proposal *pr, const struct rp_plan *p, const enum wd_code *codes, int n);
bool rp_has_code(const struct rp_plan *p, enum wd_code c);
void rp_patch_add(struct rp_patch *v, int *n, uint64_t off, const uint8_t *b, uint32_t len);
void rp_patch_u32(struct rp_patch *v, int *n, uint64_t off, uint32_t val);

const char *rp_file_name(enum rp_file f);
const char *rp_safety_name(enum rp_safety s);
const char *rp_status_name(enum rp_status s);
const char *rp_change_kind_name(enum rp_change_kind k);

/* The plan for people, and as the "plan" members of the JSON object. */
void rp_print_plan(FILE *out, const struct rp_plan *p);
void rp_json_plan(struct jw *j, const struct rp_plan *p);

#endif
