/*
 * pagehash.h — SHA-256 of every page of one state of a database, computed
 * in parallel straight from the mapped files, and the manifest: the text
 * form of those hashes that `waldo hash -o` writes and `waldo verify` reads.
 * The manifest format and the state hash are specified in docs/manifest.md.
 */
#ifndef WALDO_PAGEHASH_H
#define WALDO_PAGEHASH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"

#define PH_DIGEST 32                 /* SHA-256 */
#define PH_NO_FRAME UINT32_MAX       /* ph_hashes.frame[] of a page no file holds */
#define PH_MAX_THREADS 256
#define PH_MANIFEST_MAGIC "waldo-manifest"
#define PH_MANIFEST_VERSION 1

/* Which state of a database: what `--state` names. */
enum ph_state_kind { PH_STATE_DB = 0, PH_STATE_EFFECTIVE, PH_STATE_COMMIT };

struct ph_state {
	enum ph_state_kind kind;
	uint32_t commit;                 /* PH_STATE_COMMIT: the K given */
};

/*
 * The page hashes of one state.  Pages 1..nheld have an entry; a page whose
 * entry is marked missing, and every page in nheld+1..npages, is held by no
 * file.  nheld never exceeds the pages the files can really hold, so a
 * forged page count cannot make us allocate.
 */
struct ph_hashes {
	uint32_t page_size;
	uint32_t npages;                 /* pages in the state */
	uint32_t nheld;                  /* entries in digest/frame/missing */
	uint32_t nmissing;               /* pages of 1..npages no file holds */
	uint32_t commit;                 /* resolved commit number (0: database file alone) */
	uint8_t (*digest)[PH_DIGEST];    /* owned; digest[pgno-1] */
	uint32_t *frame;                 /* owned: WAL frame the page came from, 0 file, PH_NO_FRAME */
	uint8_t *missing;                /* owned: 1 when no file holds the page */
	uint8_t state_hash[PH_DIGEST];
};

/*
 * A manifest as read back: only the pages it lists with a hash, ascending
 * (sparse, so a manifest naming a huge missing run costs nothing).
 */
struct ph_manifest {
	uint32_t page_size;
	uint32_t npages;
	uint32_t nmissing;
	uint32_t nent;
	uint32_t *pgno;                  /* owned, nent ascending page numbers */
	uint8_t (*digest)[PH_DIGEST];    /* owned, nent digests */
	uint8_t state_hash[PH_DIGEST];
	char *state_name;                /* owned: the "state" value as written, or NULL */
	char *source;                    /* owned: the "source" value as written, or NULL */
};

/*
 * Parse a --state argument: "db", "effective" or "commit=K".  Returns 0, or
 * -1 when the text is none of these.
 */
int ph_state_parse(const char *s, struct ph_state *st);
/* The commit number to pass to model_page etc. (MODEL_LAST for effective). */
uint32_t ph_state_k(const struct ph_state *st);
/*
 * Check a state against a model: commit=K must be ≤ the number of commits
 * SQLite sees.  Returns 0, or -1 with err set.
 */
int ph_state_check(const struct ph_state *st, const struct model *m, char *err, size_t errlen);
/* "db", "effective" or "commit=K" into buf. */
const char *ph_state_name(const struct ph_state *st, char *buf, size_t n);

/*
 * Decode the header at the start of page 1 of the state as of commit k.
 * Returns true when page 1 exists and carries the SQLite magic.
 */
bool ph_state_header(const struct model *m, uint32_t k, struct db_header *h);

/*
 * Parse a -j argument: 1..PH_MAX_THREADS.  Returns 0 or -1.
 */
int ph_threads_parse(const char *s, unsigned *n);

/* Online CPUs, at least 1, at most PH_MAX_THREADS. */
unsigned ph_default_threads(void);

/*
 * Hash every page of the state as of commit k of m (0 file alone,
 * MODEL_LAST the effective state) with `nthreads` threads, each hashing a
 * contiguous run of pages straight from the mapping.  Fills h (free with
 * ph_hashes_free, also after a failure).  Returns 0, or -1 with err set
 * (out of memory, a thread or OpenSSL failure).
 */
int ph_hash_state(const struct model *m, uint32_t k, unsigned nthreads, struct ph_hashes *h,
		  char *err, size_t errlen);
void ph_hashes_free(struct ph_hashes *h);

/* Digest of page pgno, NULL when the page is missing or out of range. */
const uint8_t *ph_page_digest(const struct ph_hashes *h, uint32_t pgno);

/*
 * The state hash (docs/manifest.md): SHA-256 over, for every held page in
 * ascending order, its 4-byte big-endian number and its 32-byte digest,
 * followed by the 4-byte big-endian page count and page size.  Stored in
 * h->state_hash by ph_hash_state; this recomputes it for a manifest.
 * Returns 0 or -1 on an OpenSSL failure.
 */
int ph_manifest_state_hash(const struct ph_manifest *mf, uint8_t out[PH_DIGEST]);

/* 64 lowercase hex digits and a NUL into out. */
void ph_hex(const uint8_t d[PH_DIGEST], char out[2 * PH_DIGEST + 1]);

/*
 * Write the manifest of h to f.  `source` is the path hashed, `state` its
 * state name, `hdr` the decoded header of page 1 of the state (NULL when
 * page 1 is missing or not an SQLite header).
 */
void ph_manifest_write(FILE *f, const struct ph_hashes *h, const char *source, const char *state,
		       const struct db_header *hdr);

/*
 * Write the manifest to `path` atomically: a temporary file beside it,
 * fsync, rename.  Returns 0, or -1 with err set.
 */
int ph_manifest_save(const char *path, const struct ph_hashes *h, const char *source,
		     const char *state, const struct db_header *hdr, char *err, size_t errlen);

/*
 * Read a manifest.  Returns 0; -1 when the file cannot be read (exit 66);
 * -2 when it is malformed (exit 65), err then reads "PATH:LINE: what".  The
 * state hash in the file is checked against its page lines.  Free with
 * ph_manifest_free (also after a failure).
 */
int ph_manifest_read(const char *path, struct ph_manifest *mf, char *err, size_t errlen);
void ph_manifest_free(struct ph_manifest *mf);
/* Digest of page pgno in the manifest, NULL when it lists none (binary search). */
const uint8_t *ph_manifest_digest(const struct ph_manifest *mf, uint32_t pgno);

#endif
