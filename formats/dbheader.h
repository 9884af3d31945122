/*
 * dbheader.h — the 100-byte SQLite database header (start of page 1).
 * Layout and validity rules: formats/dbheader.c and docs/format-db.md.
 */
#ifndef WALDO_DBHEADER_H
#define WALDO_DBHEADER_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "diag.h"

#define DBH_SIZE 100
#define DBH_MAGIC "SQLite format 3"       /* 16 bytes with its NUL */
#define SQLITE_PENDING_BYTE 0x40000000u   /* first byte of the lock-byte page */

struct db_header {
	bool magic_ok;
	uint16_t page_size_raw;    /* offset 16, as stored */
	uint32_t page_size;        /* decoded (1 means 65536); 0 when invalid */
	bool page_size_ok;
	uint8_t write_version;     /* 18 */
	uint8_t read_version;      /* 19 */
	uint8_t reserved_bytes;    /* 20 */
	uint8_t max_payload_frac;  /* 21, must be 64 */
	uint8_t min_payload_frac;  /* 22, must be 32 */
	uint8_t leaf_payload_frac; /* 23, must be 32 */
	uint32_t change_counter;   /* 24 */
	uint32_t db_size;          /* 28, in pages */
	uint32_t freelist_trunk;   /* 32 */
	uint32_t freelist_count;   /* 36 */
	uint32_t schema_cookie;    /* 40 */
	uint32_t schema_format;    /* 44 */
	uint32_t default_cache_size; /* 48 */
	uint32_t largest_root;     /* 52, non-zero: auto-vacuum */
	uint32_t text_encoding;    /* 56: 1 utf-8, 2 utf-16le, 3 utf-16be */
	uint32_t user_version;     /* 60 */
	uint32_t incremental_vacuum; /* 64 */
	uint32_t application_id;   /* 68 */
	bool reserved_zero;        /* 72..91 all zero */
	uint32_t version_valid_for;/* 92 */
	uint32_t sqlite_version;   /* 96 */
	/* derived */
	uint32_t usable_size;      /* page_size - reserved_bytes, 0 when page size invalid */
	bool size_valid;           /* db_size trusted (lockBtree): non-zero and 24..27 == 92..95 */
	bool wal_mode;             /* read and write versions both 2 */
	bool auto_vacuum;          /* largest_root != 0 */
};

/*
 * Decode the header from the first `n` bytes of a database file.  Appends
 * DB_EMPTY, DB_NOT_SQLITE, DB_PAGE_SIZE_INVALID, DB_HEADER_INVALID,
 * DB_RESERVED_BYTES or DB_NOT_WAL_MODE diagnostics (file WD_F_DB, offset of
 * the field).  Returns WD_FATAL when the bytes are not an SQLite header
 * (fields are then unreliable), WD_WARN when some field is out of rules,
 * WD_OK otherwise.
 */
int dbh_parse(const uint8_t *p, size_t n, struct db_header *h, struct wd_diags *d);

/* Decode a 2-byte header page-size field (1 = 65536); 0 when invalid. */
uint32_t dbh_decode_page_size(uint16_t raw);

/* Page number of the lock-byte page for `page_size` (never holds data). */
static inline uint32_t dbh_lock_byte_page(uint32_t page_size)
{
	return page_size ? SQLITE_PENDING_BYTE / page_size + 1 : 0;
}

/* Name of a text encoding value ("utf-8", …, "invalid"). */
const char *dbh_encoding_name(uint32_t enc);

#endif
