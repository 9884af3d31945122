/*
 * shm.h — the wal-index (`-shm`): both 48-byte header copies, the
 * checkpoint info (nBackfill, aReadMark, lock bytes, nBackfillAttempted)
 * and the hash-table blocks.  Everything but aSalt is in the byte order of
 * the host that wrote it; the parser detects that order from iVersion.
 * Layout and rules: formats/shm.c and docs/format-shm.md.
 */
#ifndef WALDO_SHM_H
#define WALDO_SHM_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "diag.h"

struct wal_walk;

#define SHM_HDR_SIZE 136           /* two WalIndexHdr copies + WalCkptInfo */
#define SHM_HDR_COPY_SIZE 48
#define SHM_BLOCK_SIZE 32768       /* WALINDEX_PGSZ */
#define SHM_NPAGE 4096             /* HASHTABLE_NPAGE */
#define SHM_NPAGE_ONE 4062         /* HASHTABLE_NPAGE_ONE: block 0 after the header */
#define SHM_NSLOT 8192             /* HASHTABLE_NSLOT */
#define SHM_HASH_MULT 383          /* HASHTABLE_HASH_1 */
#define SHM_VERSION 3007000u
#define SHM_NREADER 5
#define SHM_READMARK_NOT_USED 0xffffffffu
#define SHM_LOCK_OFFSET 120        /* lock slot i is byte 120 + i */
#define SHM_DMS_OFFSET 128         /* dead-man switch byte */

struct shm_hdr {                   /* one WalIndexHdr copy, decoded */
	uint32_t version;
	uint32_t unused;
	uint32_t change;               /* iChange */
	uint8_t is_init;
	uint8_t big_end_cksum;         /* WAL checksum word order flag */
	uint16_t page_size_raw;
	uint32_t page_size;            /* decoded (1 means 65536) */
	uint32_t mx_frame;
	uint32_t n_page;
	uint32_t frame_cksum[2];
	uint8_t salt[8];               /* raw bytes: WAL header bytes 16..23 */
	uint32_t salt1, salt2;         /* the same, read big-endian */
	uint32_t cksum[2];             /* stored aCksum */
	uint32_t calc_cksum[2];        /* computed over bytes 0..39 */
	bool cksum_ok;
};

struct shm_info {
	uint64_t size;
	bool has_header;               /* size >= SHM_HDR_SIZE */
	bool big_endian;               /* byte order the file was written in */
	bool foreign_endian;           /* that order is not this host's */
	bool order_known;              /* iVersion matched in one order */
	struct shm_hdr hdr[2];
	bool copies_agree;             /* bytes 0..47 identical to 48..95 */
	bool hdr_ok;                   /* SQLite would accept the header (walIndexTryHdr) */
	uint32_t n_backfill;
	uint32_t read_mark[SHM_NREADER];
	uint8_t lock[8];
	uint32_t n_backfill_attempted;
	uint32_t not_used0;
	uint32_t nblocks;              /* 32 KiB blocks present (the last may be partial) */
};

/*
 * Decode the header and checkpoint info of a -shm image of `len` bytes.
 * Appends SHM_TRUNCATED, SHM_HEADER_INVALID, SHM_HEADER_MISMATCH,
 * SHM_BACKFILL_INVALID, SHM_READMARK_INVALID, SHM_FOREIGN_ENDIAN.
 */
int shm_parse(const uint8_t *buf, uint64_t len, struct shm_info *s, struct wd_diags *d);

/* Page number the index records for frame iFrame (1-based); 0 if none or out of range. */
uint32_t shm_frame_pgno(const uint8_t *buf, uint64_t len, const struct shm_info *s, uint32_t iFrame);

/*
 * The frame SQLite's walFindFrame would return for `pgno`: the newest frame
 * F with min_frame < F <= max_frame that the hash index maps to pgno; 0 if
 * none.  Probing is bounded by the table size even on corrupt tables.
 */
uint32_t shm_find_frame(const uint8_t *buf, uint64_t len, const struct shm_info *s,
			uint32_t pgno, uint32_t min_frame, uint32_t max_frame);

/*
 * Cross-check the -shm against a walk of the WAL on disk: mxFrame, nPage,
 * salts, page size, checksum flag and aFrameCksum (SHM_STALE), and the hash
 * index for frames 1..min(mxFrame, valid frames) (SHM_INDEX_MISMATCH).
 */
int shm_check_wal(const uint8_t *buf, uint64_t len, const struct shm_info *s,
		  const struct wal_walk *w, struct wd_diags *d);

/* Encode/decode the -shm page-size field. */
uint32_t shm_decode_page_size(uint16_t raw);
uint16_t shm_encode_page_size(uint32_t page_size);

/* Name of lock slot i (0..7): "WRITE", "CKPT", "RECOVER", "READ0".."READ4". */
const char *shm_lock_name(unsigned i);

#endif
