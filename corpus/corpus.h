/*
 * corpus.h — the corpus generator's shared declarations.
 *
 * corpus-gen makes one folder per scenario: the files real libsqlite3 left
 * behind (db, db-wal, db-shm, db-journal, saved pages), sometimes damaged by
 * hand afterwards, and an expected.json that says what SQLite sees in them
 * and what `waldo inspect` must report.  docs/corpus.md is the reference.
 *
 * Modules:
 *   main.c      command line: generate, --check, --list
 *   det_vfs.c   the PRNG and the deterministic VFS shim (salts, time)
 *   fsutil.c    small file operations that die on error
 *   session.c   forked libsqlite3 sessions and the random workload
 *   walscan.c   an independent WAL walk, the big-endian rewrite, -shm edits
 *   view.c      what SQLite sees on a private copy (opens, integrity, hash)
 *   hash.c      the logical content hash (SHA-256 over schema and rows)
 *   expect.c    expected.json: writing it, reading it back, checking a case
 *   jsonread.c  a small JSON reader for expected.json
 *   scenarios.c / scen_*.c   the scenario table and the scenarios
 *
 * Generation problems are our own bugs or an unexpected libsqlite3: every
 * helper dies with a message naming the case instead of returning errors.
 */
#ifndef WALDO_CORPUS_H
#define WALDO_CORPUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#define CG_PATH_MAX 1024
#define CG_MAX_CODES 48

/* ---- det_vfs.c: randomness ---------------------------------------------- */

/* xoshiro256**, seeded through splitmix64: small, fast, and the same everywhere. */
struct prng {
	uint64_t s[4];
};

void prng_seed(struct prng *r, uint64_t seed);
uint64_t prng_next(struct prng *r);
/* Uniform in 0..n-1 (n > 0). */
uint32_t prng_below(struct prng *r, uint32_t n);
void prng_bytes(struct prng *r, void *p, size_t n);
/* FNV-1a of a string: a case's seed depends on its name, not its position. */
uint64_t hash_name(const char *s);

/*
 * Register the shim VFS "waldo-det" as the default.  It is SQLite's "unix"
 * VFS with xRandomness served from a PRNG and a fixed xCurrentTime, so WAL
 * salts, journal nonces and temporary names repeat from run to run.
 */
void det_vfs_install(void);
/* Reseed the VFS randomness and make SQLite draw its own PRNG state afresh. */
void det_vfs_reseed(uint64_t seed);

/* ---- fsutil.c ----------------------------------------------------------- */

void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* The case name die() prefixes its message with (NULL: none). */
void die_set_case(const char *name);
/* 1 in a forked child: die() then ends with _exit. */
extern int cg_in_child;

/* printf into a caller buffer of CG_PATH_MAX bytes; dies when it does not fit. */
char *pathf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint8_t *file_read(const char *path, size_t *n);          /* caller frees */
/* Like file_read, but NULL (and *n = 0) when the file does not exist. */
uint8_t *file_read_opt(const char *path, size_t *n);
void file_write(const char *path, const void *p, size_t n);
void file_copy(const char *src, const char *dst);
/* Copy when src exists; returns whether it did. */
bool file_copy_opt(const char *src, const char *dst);
bool file_exists(const char *path);
uint64_t file_size(const char *path);
void file_truncate(const char *path, uint64_t size);
void file_remove(const char *path);                       /* no error when absent */
void file_flip(const char *path, uint64_t off, uint8_t mask);
void file_patch(const char *path, uint64_t off, const void *p, size_t n);
void file_pread(const char *path, uint64_t off, void *p, size_t n);
void file_append(const char *path, const void *p, size_t n);
void dir_make(const char *path);                          /* mkdir -p */
void dir_remove(const char *path);                        /* rm -rf */
/* Copy every regular file of one folder into another (created). */
void dir_copy(const char *src, const char *dst);
/* A fresh private folder under $TMPDIR (or /tmp), removed by tmp_cleanup. */
const char *tmp_root(void);
void tmp_cleanup(void);
/* Sorted names of the regular files in a folder; returns the count (max cap). */
int dir_list(const char *dir, char names[][64], int cap, bool dirs);

/* ---- session.c: libsqlite3 sessions ------------------------------------- */

struct gen;
typedef void (*sess_fn)(struct gen *g, sqlite3 *h, void *arg);

enum sess_end {
	SESS_CRASH = 0,   /* _exit without closing: -wal and -shm stay as a crash leaves them */
	SESS_CLOSE = 1,   /* sqlite3_close: the last connection checkpoints and deletes the WAL */
};

/*
 * Open `db` in a forked child and run fn on the connection, then end as
 * `end` says.  The child's randomness (VFS and content) is reseeded from a
 * value drawn from the case PRNG, so every session is reproducible.
 * Auto-checkpoint is off; synchronous is OFF unless fn changes it.
 */
void sess_run(struct gen *g, const char *db, enum sess_end end, sess_fn fn, void *arg);

sqlite3 *db_open(const char *path);
void sql(sqlite3 *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
long long sql_int(sqlite3 *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Create an empty database: page size, auto_vacuum (0 none, 1 full, 2 incremental), WAL or not. */
void db_create(sqlite3 *h, unsigned page_size, int auto_vacuum, bool wal);

/* The workload: a small shop with an index, overflow rows and deletions. */
void wl_schema(sqlite3 *h);
/* One committed transaction of random inserts/updates/deletes. */
void wl_commit(struct gen *g, sqlite3 *h);
/* n of them. */
void wl_commits(struct gen *g, sqlite3 *h, int n);
/* A transaction's worth of changes without BEGIN/COMMIT (caller brackets it). */
void wl_changes(struct gen *g, sqlite3 *h, int nrows);
/* Insert a doc whose body needs overflow pages. */
void wl_big_doc(struct gen *g, sqlite3 *h);
/* Insert a doc with a body of len bytes. */
void wl_doc(struct gen *g, sqlite3 *h, size_t len);
/* Delete roughly `pct` percent of the items: freelist pages. */
void wl_delete_some(struct gen *g, sqlite3 *h, int pct);
/* Checkpoint in the given mode ("PASSIVE", "FULL", "RESTART", "TRUNCATE"). */
void wl_checkpoint(sqlite3 *h, const char *mode);

/* ---- walscan.c ---------------------------------------------------------- */

/* An independent reading of a WAL, mirroring walIndexRecover's rules. */
struct walscan {
	bool present;
	uint64_t size;
	uint32_t magic;
	bool header_valid;         /* magic, page size and header checksum ok */
	bool big_endian;           /* magic & 1 */
	uint32_t page_size;        /* geometry used to delimit frames (0: none) */
	uint32_t frames_total;     /* whole frames in the file */
	uint32_t frames_valid;     /* 1..frames_valid pass salt, pgno and checksum */
	uint32_t commits;          /* commit frames among the valid ones */
	uint32_t last_commit;      /* SQLite's mxFrame */
	uint32_t npage;            /* its commit size */
	uint32_t partial_bytes;    /* bytes of a trailing partial frame */
	uint32_t uncommitted;      /* valid frames after the last commit */
	uint32_t stale;            /* frames after the valid end with other salts */
	uint32_t salt1, salt2;
};

/* Walk `n` bytes of WAL; page_size_hint is used only when the header's page size is unusable. */
void walscan(const uint8_t *p, uint64_t n, uint32_t page_size_hint, struct walscan *w);
/* Walk a WAL file; w->present false when the file does not exist. */
void walscan_file(const char *path, uint32_t page_size_hint, struct walscan *w);
/* Page number of frame i (1-based) in a WAL image, 0 if out of range. */
uint32_t wal_frame_pgno(const uint8_t *p, uint64_t n, uint32_t page_size, uint32_t i);
/* Offset of the first byte of frame i (1-based). */
uint64_t wal_frame_off(uint32_t page_size, uint32_t i);

/*
 * Rewrite a healthy little-endian-checksum WAL file as a big-endian host
 * would have written it: magic 0x377f0683, header checksum and the
 * checksum of every valid frame recomputed with big-endian words.
 */
void wal_make_big_endian(const char *path);
/*
 * Set the big-endian header field at `off` (0..20) of a valid WAL to v,
 * then reseal the header and re-chain the frames that were valid, as if
 * the writer had written that value.
 */
void wal_patch_header(const char *path, unsigned off, uint32_t v);
/*
 * The repair for a header whose checksum fails although its magic and
 * page size are sound: reseal it and re-chain the frames that chain from
 * the stored checksum (what `wal-rechain` does).
 */
void wal_repair_header(const char *path);

/* -shm geometry (src/wal.c). */
#define SHMX_HDR 136
#define SHMX_BLOCK 32768
#define SHMX_NPAGE_ONE 4062
#define SHMX_NPAGE 4096
#define SHMX_NSLOT 8192
enum {
	SHMX_OFF_VERSION = 0, SHMX_OFF_CHANGE = 8, SHMX_OFF_ISINIT = 12, SHMX_OFF_BIGEND = 13,
	SHMX_OFF_PGSZ = 14, SHMX_OFF_MXFRAME = 16, SHMX_OFF_NPAGE = 20, SHMX_OFF_FRAMECK = 24,
	SHMX_OFF_SALT = 32, SHMX_OFF_CKSUM = 40, SHMX_COPY = 48,
	SHMX_OFF_BACKFILL = 96, SHMX_OFF_READMARK = 100, SHMX_OFF_LOCK = 120,
	SHMX_OFF_ATTEMPTED = 128,
};
/* Native-endian -shm fields (this host wrote them). */
uint32_t shm_get32(const uint8_t *shm, size_t off);
void shm_put32(uint8_t *shm, size_t off, uint32_t v);
/* Recompute the aCksum of the header copy at `copy` (0 or 48) in byte order `big`. */
void shm_reseal_copy(uint8_t *shm, size_t copy, int big);
/* Byte-swap every native field of a -shm image, as a host of the other order would hold it. */
void shm_swap_endian(uint8_t *shm, size_t n);

/* ---- hash.c / view.c: what SQLite sees ---------------------------------- */

#define CG_MAX_TABLES 16
struct sqlview {
	bool opens;                /* the schema can be read */
	char error[256];           /* why not, when !opens */
	bool integrity_known;
	char integrity[256];       /* first line of PRAGMA integrity_check */
	bool content_known;
	char content_sha256[65];
	char content_error[256];
	int ntables;
	char table[CG_MAX_TABLES][64];
	long long rows[CG_MAX_TABLES];   /* -1: count failed */
	long long mx_frame;        /* wal_checkpoint's log size: SQLite's mxFrame; -1 unknown */
};

/*
 * SQLite's view of the files in `dir` (db plus db-wal and db-journal when
 * present, never the -shm): copied to a private folder first, because
 * opening them would recover, checkpoint and delete the WAL.
 */
void view_dir(const char *dir, struct sqlview *v);
/* Content hash of an open connection; returns 0 or an SQLite error code with msg filled. */
int content_hash(sqlite3 *h, char hex[65], char *msg, size_t msgsz);

/* ---- the case being generated ------------------------------------------ */

struct gen {
	const struct scenario *sc;
	uint64_t seed;             /* --seed */
	struct prng rng;           /* content and session seeds, from seed and case name */
	char work[CG_PATH_MAX];    /* private work folder of this case */
	char dir[CG_PATH_MAX];     /* work/case: the files the case ships */
	char db[CG_PATH_MAX], wal[CG_PATH_MAX], shm[CG_PATH_MAX], journal[CG_PATH_MAX];

	/* expectations the scenario states */
	const char *must[CG_MAX_CODES];
	int nmust;
	const char *must_not[CG_MAX_CODES * 2];
	int nmust_not;
	int exit_status;
	const char *lowered;       /* a must code this case expects below its default severity */
	bool have_orig;            /* work/orig holds the files before hand damage */
	bool have_repair;          /* work/repair holds what a correct repair yields */
	bool repair_impossible;    /* damaged, but nothing can bring the content back */
	char repair_note[600];
	char note[600];            /* extra remark in expected.json (optional) */

	/* self-checks on SQLite's view, made at generation time */
	int want_opens;            /* 1, 0, or -1 for "don't care" */
	int want_integrity_ok;     /* 1, 0, -1 */
};

/* Codes: intact component groups expand to the findings that cannot apply. */
enum {
	INTACT_DB = 1,        /* db file structurally sound, header valid */
	INTACT_DBSIZE = 2,    /* size field and file length agree with the database */
	INTACT_WAL = 4,       /* WAL valid wherever it has frames, pairs with the db */
	INTACT_SHM = 8,       /* -shm (if any) describes the WAL on disk */
	INTACT_OTHER = 16,    /* no journal, no readers pinning, no limits */
	INTACT_ALL = 31,
};
void expect_must(struct gen *g, const char *code);
void expect_must_not(struct gen *g, const char *code);
void expect_intact(struct gen *g, int groups);
/* Every warning and error code in the catalogue must stay silent. */
void expect_healthy(struct gen *g);
/* Snapshot the case files into work/orig (before damaging them). */
void gen_snapshot_orig(struct gen *g);
/* A copy of the case files in work/repair to apply the reference repair to. */
const char *gen_repair_dir(struct gen *g, const char *note_fmt, ...)
	__attribute__((format(printf, 2, 3)));
void gen_repair_impossible(struct gen *g, const char *note);

/* ---- scenarios ---------------------------------------------------------- */

struct scenario {
	const char *name;
	const char *group;
	const char *description;   /* what the files are */
	const char *models;        /* the real-world event */
	void (*build)(struct gen *g);
};

extern const struct scenario scenarios[];
extern const int nscenarios;
const struct scenario *scenario_find(const char *name);

/* ---- expect.c ----------------------------------------------------------- */

/* Compute SQLite's view, self-check it, and write dir/expected.json. */
void expect_write(struct gen *g, const char *outdir);
/*
 * Re-verify the case in `casedir` against its expected.json.  Returns 0
 * when it holds, else 1 with a one-line reason in `why`.
 */
int expect_check(const char *casedir, const char *name, char *why, size_t whysz);

#endif
