/*
 * dbheader.c — the 100-byte database header at the start of page 1.
 *
 * All integers are big-endian (src/btreeInt.h, "Database File Format"):
 *
 *   off size field                     rule
 *     0  16  magic "SQLite format 3\0"  else not a database (NOTADB)
 *    16   2  page size                  power of two 512..32768, or 1 = 65536
 *    18   1  write version              1 rollback, 2 WAL; >2 opens read-only
 *    19   1  read version               1 rollback, 2 WAL; >2 NOTADB
 *    20   1  reserved bytes per page    usable = page - reserved, must be >= 480
 *    21   1  max embedded payload frac  must be 64
 *    22   1  min embedded payload frac  must be 32
 *    23   1  leaf payload fraction      must be 32
 *    24   4  file change counter
 *    28   4  database size in pages     trusted only when non-zero and
 *                                       24..27 == 92..95 (lockBtree)
 *    32   4  first freelist trunk page
 *    36   4  freelist page count
 *    40   4  schema cookie
 *    44   4  schema format              1..4
 *    48   4  default page cache size
 *    52   4  largest root page          non-zero: auto-vacuum (ptrmap pages)
 *    56   4  text encoding              1 utf-8, 2 utf-16le, 3 utf-16be
 *    60   4  user version
 *    64   4  incremental vacuum flag
 *    68   4  application id
 *    72  20  reserved                   must be zero
 *    92   4  version-valid-for
 *    96   4  SQLITE_VERSION_NUMBER of the last writer
 *
 * The checks mirror lockBtree() in src/btree.c.  See docs/format-db.md.
 */
#include "dbheader.h"

#include <string.h>

#include "bytes.h"

enum {
	OFF_PAGE_SIZE = 16, OFF_WRITE_VERSION = 18, OFF_READ_VERSION = 19, OFF_RESERVED = 20,
	OFF_MAX_FRAC = 21, OFF_MIN_FRAC = 22, OFF_LEAF_FRAC = 23, OFF_CHANGE = 24, OFF_DB_SIZE = 28,
	OFF_FREE_TRUNK = 32, OFF_FREE_COUNT = 36, OFF_SCHEMA_COOKIE = 40, OFF_SCHEMA_FORMAT = 44,
	OFF_CACHE_SIZE = 48, OFF_LARGEST_ROOT = 52, OFF_ENCODING = 56, OFF_USER_VERSION = 60,
	OFF_INCR_VACUUM = 64, OFF_APP_ID = 68, OFF_RESERVED_AREA = 72, OFF_VALID_FOR = 92,
	OFF_SQLITE_VERSION = 96,
};

uint32_t dbh_decode_page_size(uint16_t raw)
{
	/* lockBtree: (b16<<8)|(b17<<16), so 1 means 65536. */
	uint32_t sz = raw == 1 ? 65536u : raw;
	return sz >= 512 && is_pow2_u32(sz) ? sz : 0;
}

const char *dbh_encoding_name(uint32_t enc)
{
	switch (enc) {
	case 1: return "utf-8";
	case 2: return "utf-16le";
	case 3: return "utf-16be";
	}
	return "invalid";
}

int dbh_parse(const uint8_t *p, size_t n, struct db_header *h, struct wd_diags *d)
{
	memset(h, 0, sizeof *h);
	if (n == 0) {
		wd_add(d, WD_DB_EMPTY, WD_F_DB, 0, WD_NONE, WD_NONE,
		       "database file is empty (0 bytes)");
		return WD_WARN;
	}
	if (n < 16 || memcmp(p, DBH_MAGIC, 16)) {
		wd_add(d, WD_DB_NOT_SQLITE, WD_F_DB, 0, WD_NONE, WD_NONE,
		       "bytes 0..15 are not \"SQLite format 3\\0\"");
		return WD_FATAL;
	}
	if (n < DBH_SIZE) {
		wd_add(d, WD_DB_NOT_SQLITE, WD_F_DB, (int64_t)n, WD_NONE, WD_NONE,
		       "file ends at byte %zu, inside the 100-byte header", n);
		return WD_FATAL;
	}
	h->magic_ok = true;
	h->page_size_raw = rd_be16(p + OFF_PAGE_SIZE);
	h->page_size = dbh_decode_page_size(h->page_size_raw);
	h->page_size_ok = h->page_size != 0;
	h->write_version = p[OFF_WRITE_VERSION];
	h->read_version = p[OFF_READ_VERSION];
	h->reserved_bytes = p[OFF_RESERVED];
	h->max_payload_frac = p[OFF_MAX_FRAC];
	h->min_payload_frac = p[OFF_MIN_FRAC];
	h->leaf_payload_frac = p[OFF_LEAF_FRAC];
	h->change_counter = rd_be32(p + OFF_CHANGE);
	h->db_size = rd_be32(p + OFF_DB_SIZE);
	h->freelist_trunk = rd_be32(p + OFF_FREE_TRUNK);
	h->freelist_count = rd_be32(p + OFF_FREE_COUNT);
	h->schema_cookie = rd_be32(p + OFF_SCHEMA_COOKIE);
	h->schema_format = rd_be32(p + OFF_SCHEMA_FORMAT);
	h->default_cache_size = rd_be32(p + OFF_CACHE_SIZE);
	h->largest_root = rd_be32(p + OFF_LARGEST_ROOT);
	h->text_encoding = rd_be32(p + OFF_ENCODING);
	h->user_version = rd_be32(p + OFF_USER_VERSION);
	h->incremental_vacuum = rd_be32(p + OFF_INCR_VACUUM);
	h->application_id = rd_be32(p + OFF_APP_ID);
	h->reserved_zero = true;
	for (int i = OFF_RESERVED_AREA; i < OFF_VALID_FOR; i++)
		if (p[i])
			h->reserved_zero = false;
	h->version_valid_for = rd_be32(p + OFF_VALID_FOR);
	h->sqlite_version = rd_be32(p + OFF_SQLITE_VERSION);
	h->size_valid = h->db_size != 0 && h->change_counter == h->version_valid_for;
	h->wal_mode = h->read_version == 2 && h->write_version == 2;
	h->auto_vacuum = h->largest_root != 0;

	int rc = WD_OK;
	if (!h->page_size_ok) {
		wd_add(d, WD_DB_PAGE_SIZE_INVALID, WD_F_DB, OFF_PAGE_SIZE, WD_NONE, 1,
		       "page size field is %u: not a power of two in 512..65536 (1 means 65536)",
		       h->page_size_raw);
		rc = WD_FATAL;
	} else {
		h->usable_size = h->page_size - h->reserved_bytes;
		if (h->usable_size < 480) {
			wd_add(d, WD_DB_HEADER_INVALID, WD_F_DB, OFF_RESERVED, WD_NONE, 1,
			       "%u reserved bytes leave %u usable bytes per page; SQLite needs at least 480",
			       h->reserved_bytes, h->usable_size);
			rc = WD_FATAL;
		} else if (h->reserved_bytes) {
			wd_add(d, WD_DB_RESERVED_BYTES, WD_F_DB, OFF_RESERVED, WD_NONE, 1,
			       "%u bytes reserved at the end of every page (e.g. cksumvfs uses 8)",
			       h->reserved_bytes);
		}
	}
	if (h->read_version > 2) {
		wd_add(d, WD_DB_HEADER_INVALID, WD_F_DB, OFF_READ_VERSION, WD_NONE, 1,
		       "read version %u: SQLite refuses to read this file (only 1 and 2 exist)",
		       h->read_version);
		rc = WD_FATAL;
	} else if (h->write_version > 2) {
		wd_add_sev(d, WD_DB_HEADER_INVALID, WD_WARNING, WD_F_DB, OFF_WRITE_VERSION, WD_NONE, 1,
			   "write version %u: SQLite opens this file read-only", h->write_version);
		if (rc == WD_OK)
			rc = WD_WARN;
	}
	if (h->read_version == 0 || h->write_version == 0) {
		wd_add(d, WD_DB_HEADER_INVALID, WD_F_DB,
		       h->write_version == 0 ? OFF_WRITE_VERSION : OFF_READ_VERSION, WD_NONE, 1,
		       "file format version bytes are %u/%u; only 1 (rollback) and 2 (WAL) exist",
		       h->write_version, h->read_version);
		if (rc == WD_OK)
			rc = WD_WARN;
	}
	if (h->max_payload_frac != 64 || h->min_payload_frac != 32 || h->leaf_payload_frac != 32) {
		wd_add(d, WD_DB_HEADER_INVALID, WD_F_DB, OFF_MAX_FRAC, WD_NONE, 1,
		       "payload fractions are %u/%u/%u; SQLite requires 64/32/32 and reports corruption",
		       h->max_payload_frac, h->min_payload_frac, h->leaf_payload_frac);
		rc = WD_FATAL;
	}
	if (h->text_encoding > 3) {
		wd_add(d, WD_DB_HEADER_INVALID, WD_F_DB, OFF_ENCODING, WD_NONE, 1,
		       "text encoding %u is not 1 (utf-8), 2 (utf-16le) or 3 (utf-16be)",
		       h->text_encoding);
		if (rc == WD_OK)
			rc = WD_WARN;
	}
	if (h->schema_format > 4) {
		wd_add(d, WD_DB_HEADER_INVALID, WD_F_DB, OFF_SCHEMA_FORMAT, WD_NONE, 1,
		       "schema format %u is not 1..4: SQLite reports 'unsupported file format'",
		       h->schema_format);
		if (rc == WD_OK)
			rc = WD_WARN;
	}
	if (!h->reserved_zero) {
		wd_add_sev(d, WD_DB_HEADER_INVALID, WD_WARNING, WD_F_DB, OFF_RESERVED_AREA, WD_NONE, 1,
			   "reserved header bytes 72..91 are not zero");
		if (rc == WD_OK)
			rc = WD_WARN;
	}
	if (!h->wal_mode && h->read_version >= 1 && h->read_version <= 2 &&
	    h->write_version >= 1 && h->write_version <= 2)
		wd_add(d, WD_DB_NOT_WAL_MODE, WD_F_DB, OFF_WRITE_VERSION, WD_NONE, 1,
		       "file format versions are %u/%u (rollback journal mode)",
		       h->write_version, h->read_version);
	return rc;
}
