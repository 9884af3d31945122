/*
 * wal.h — the write-ahead log: 32-byte header, 24-byte frame headers, the
 * cumulative checksum chain in both word orders, and a walk that classifies
 * every frame exactly where SQLite's walIndexRecover would stop.
 * Layout and rules: formats/wal.c and docs/format-wal.md.
 */
#ifndef WALDO_WAL_H
#define WALDO_WAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "diag.h"

#define WAL_HDR_SIZE 32
#define WAL_FRAME_HDR_SIZE 24
#define WAL_MAGIC 0x377f0682u           /* | 1 when checksum words are big-endian */
#define WAL_VERSION 3007000u
#define WAL_MAX_FRAMES (1u << 26)       /* documented limit: frames waldo indexes (docs/limits.md) */
/* Past the valid end, a run of all-zero frame headers this long (at least
 * WAL_ZERO_RUN_MIN frames and WAL_ZERO_RUN_BYTES of file) ends the walk: a
 * hole or a zeroed tail (docs/limits.md). */
#define WAL_ZERO_RUN_BYTES (4u << 20)
#define WAL_ZERO_RUN_MIN 64u

struct wal_header {
	uint32_t magic, version, page_size, ckpt_seq, salt1, salt2, cksum1, cksum2;
	bool big_endian_cksum;   /* magic & 1: checksum input read as BE words */
	bool magic_ok;           /* (magic & ~1) == WAL_MAGIC */
	bool page_size_ok;       /* power of two in 512..65536 */
	bool cksum_ok;           /* header checksum over bytes 0..23 matches 24..31 */
	bool version_ok;         /* version == 3007000 */
	uint32_t calc_cksum1, calc_cksum2;  /* what the checksum should be */
	bool valid;              /* SQLite reads the frames: magic, page size and checksum ok */
};

/* Why the valid prefix of the WAL ended. */
enum wal_end {
	WAL_END_EOF = 0,     /* every whole frame is valid */
	WAL_END_NO_HEADER,   /* file ≤ 32 bytes or header invalid: no frames for SQLite */
	WAL_END_SALT,        /* a frame's salts differ from the header (stale generation) */
	WAL_END_PGNO,        /* a frame with page number 0 */
	WAL_END_CKSUM,       /* a checksum break */
	WAL_END_LIMIT,       /* WAL_MAX_FRAMES reached */
};

enum wal_frame_state {
	WAL_FR_COMMITTED = 0, /* valid, at or before the last valid commit frame */
	WAL_FR_UNCOMMITTED,   /* valid, after the last valid commit frame */
	WAL_FR_CKSUM_BREAK,   /* first invalid frame: salts match, checksum fails */
	WAL_FR_BAD_PGNO,      /* first invalid frame: salts match, page number 0 */
	WAL_FR_STALE,         /* past the valid end, salts differ from the header */
	WAL_FR_AFTER_BREAK,   /* past the valid end, salts match: cannot be validated */
};

struct wal_frame {           /* 28 bytes: memory per frame stays small */
	uint32_t pgno;
	uint32_t commit_size;    /* non-zero on commit frames: db size in pages */
	uint32_t salt1, salt2;
	uint32_t cksum1, cksum2; /* as stored */
	uint8_t state;           /* enum wal_frame_state */
};

struct wal_txn {             /* one committed transaction (commit group) */
	uint32_t first, last;    /* 1-based frame numbers; `last` is the commit frame */
	uint32_t db_size;        /* database size in pages after it */
};

struct wal_walk {
	struct wal_header hdr;
	uint64_t file_size;
	uint32_t page_size;      /* frame geometry used (header's, or the hint) */
	uint32_t nframes;        /* frames with a record: the whole frames in the file, capped at
				  * WAL_MAX_FRAMES and at zero_from - 1 */
	uint64_t nwhole;         /* whole frames in the file (no cap) */
	uint32_t zero_from;      /* first frame of the run of zero frame headers that ended the walk
				  * (a hole or zeroed tail), 0 if none; frames from here on are not read */
	uint32_t partial_bytes;  /* bytes of a trailing partial frame */
	uint32_t nvalid;         /* frames 1..nvalid pass salt, page-number and checksum tests */
	uint32_t mx_frame;       /* last valid commit frame (SQLite's mxFrame), 0 if none */
	uint32_t npage;          /* commit size of mx_frame (SQLite's nPage), 0 if none */
	uint32_t cksum_mx[2];    /* running checksum at mx_frame (-shm aFrameCksum) */
	enum wal_end end;
	struct wal_frame *frames;/* nframes entries, owned; NULL when nframes == 0 */
	struct wal_txn *txns;    /* ntxn committed transactions, owned */
	uint32_t ntxn;
};

/* Frame iFrame (1-based) starts here; 64-bit so that no geometry wraps. */
static inline uint64_t wal_frame_offset(uint32_t page_size, uint64_t iFrame)
{
	return WAL_HDR_SIZE + (iFrame - 1) * ((uint64_t)page_size + WAL_FRAME_HDR_SIZE);
}

/*
 * Extend the running checksum (s[0], s[1]) over n bytes (n a multiple of 8),
 * reading 32-bit words big-endian when `big` is non-zero, else little-endian.
 * Mirrors SQLite's walChecksumBytes.
 */
void wal_checksum(int big, const uint8_t *p, size_t n, uint32_t s[2]);

/* Decode and check the 32-byte header.  Appends WAL_TORN_HEADER,
 * WAL_HEADER_INVALID or WAL_VERSION_INVALID (WAL_EMPTY when n is 0).
 * Returns WD_FATAL when SQLite cannot use the header, else WD_OK. */
int wal_parse_header(const uint8_t *p, size_t n, struct wal_header *h, struct wd_diags *d);

/* Recompute and store the header checksum (bytes 24..31) from bytes 0..23. */
void wal_header_seal(uint8_t hdr[WAL_HDR_SIZE]);

/*
 * Walk a whole WAL image of `len` bytes.  `page_size_hint` (0 for none) is
 * used to delimit frames only when the header's page size is unusable.
 * Classifies every whole frame up to WAL_MAX_FRAMES and up to a run of
 * all-zero frame headers past the valid end (zero_from; WAL_LIMIT_EXCEEDED,
 * a warning, says where), records the committed transactions and appends
 * WAL_EMPTY, WAL_UNCOMMITTED_TAIL, WAL_PARTIAL_FRAME,
 * WAL_CHECKSUM_MISMATCH, WAL_FRAME_INVALID, WAL_STALE_FRAMES,
 * WAL_LIMIT_EXCEEDED as they apply.  The caller frees with wal_walk_free
 * (also after a failure).  Returns WD_OK/WD_WARN/WD_FATAL.
 */
int wal_walk(const uint8_t *buf, uint64_t len, uint32_t page_size_hint,
	     struct wal_walk *w, struct wd_diags *d);
void wal_walk_free(struct wal_walk *w);

/*
 * Extend the running checksum over one frame as walDecodeFrame does: frame
 * header bytes 0..7 (page number, commit size), then the page_size bytes of
 * the page at frame + 24.  The caller guarantees 24 + page_size bytes.
 */
void wal_frame_checksum(int big, const uint8_t *frame, uint32_t page_size, uint32_t s[2]);

/* Frames in a run of zero frame headers that ends the walk, for this page size. */
uint32_t wal_zero_run_frames(uint32_t page_size);

/* A page size the WAL header may carry: power of two in 512..65536. */
bool wal_page_size_ok(uint32_t sz);

/* Short lowercase name of a frame state ("committed", "stale", …). */
const char *wal_frame_state_name(enum wal_frame_state s);
const char *wal_end_name(enum wal_end e);

#endif
